"""Plans the order of a blind rating queue: which comparison comes next and where each contender sits.

Raters judge study comparisons later without knowing which model wrote which answer, and the
queue itself must neither leak nor bias that judgement: people favour some screen positions, so
every contender has to visit every position about equally often; the same prompt twice in a row
invites comparing across items; a fixed or guessable order lets a rater learn where a model sits;
and hidden repeats are needed to measure how consistent a rater is. This module turns a list of
comparisons into such a queue, deterministically for a seed and a rater (so a plan can be rebuilt
to resume it instead of being stored), with the standard library only and no Qt.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

__all__ = ["Item", "Slot", "plan", "position_counts", "remaining"]


@dataclass(frozen=True)
class Item:
    """One comparison to be rated."""

    key: str  # the comparison's id (a turn id)
    group: str  # its prompt id: items of one group are never adjacent when avoidable
    contenders: tuple[str, ...]  # stable contender ids, canonical order


@dataclass(frozen=True)
class Slot:
    """One entry of the rating queue."""

    key: str
    group: str
    shown: tuple[str, ...]  # the contenders in screen order (position 0 = "Model A")
    repeat: bool = False  # a hidden repeat of an earlier slot with the same key


def plan(
    items: Sequence[Item],
    seed: int = 0,
    rater: str = "",
    repeats: float = 0.0,
    min_gap: int = 5,
) -> list[Slot]:
    """The rating queue for ``items``: interleaved, position-balanced, with optional hidden repeats.

    Order: items of one group are never adjacent when possible, and otherwise adjacent as seldom
    as possible, reaching ``max(0, 2*largest_group - total - 1)`` pairs (greedy: the group with
    the most items left that is not the previous one, random tie-breaks).

    Positions: among the non-repeat slots sharing a contender set, the counts of any two
    (contender, position) pairs differ by at most one, for the whole queue and for every prefix
    of it (a rater who stops halfway still saw a balanced queue), and are equal when the set's
    item count is a multiple of its size n. Randomised Latin squares in blocks of n: a random
    permutation, its n cyclic rotations, dealt in random order to the set's next n items in
    queue order. A single contender is shown as is.

    Repeats: ``round(repeats * len(items))`` items (Python's round, half to even; at least one
    when ``repeats > 0`` and there are two items or more, none for a single item) come a second
    time, flagged ``repeat=True``, at least ``min_gap`` positions after the original (1 means
    "right after") or as far as the queue allows, with no contender in its original position
    when n >= 2. Each repeat goes, among the positions with the longest gap up to ``min_gap``,
    to a random one that adds the fewest same-group neighbours (or splits an existing pair), so
    it sits next to its group only when unavoidable; the gap wins over that when they conflict.
    Repeats are not counted in the position balance, which is about the originals only.

    Determinism: the result depends on the set of items (not the order they are passed in),
    ``seed``, ``rater``, ``repeats`` and ``min_gap``, through a ``random.Random`` seeded from a
    SHA-256 of ``f"{seed}:{rater}"``, so it is the same in every process and differs per rater.

    Raises ValueError for duplicate keys, an item without contenders or with a contender listed
    twice, ``repeats`` outside [0, 0.5] and ``min_gap`` below 1.
    """
    _validate(items, repeats, min_gap)
    rng = _rng(seed, rater)
    ordered = _interleave(sorted(items, key=lambda it: it.key), rng)
    slots = _assign_positions(ordered, rng)
    count = _repeat_count(len(slots), repeats)
    if count:
        slots = _insert_repeats(slots, count, min_gap, rng)
    return slots


def remaining(slots: Sequence[Slot], done: Collection[tuple[str, bool]]) -> list[Slot]:
    """The slots whose ``(key, repeat)`` is not in ``done``, in plan order."""
    finished = set(done)
    return [s for s in slots if (s.key, s.repeat) not in finished]


def position_counts(slots: Sequence[Slot]) -> dict[tuple[str, ...], dict[tuple[str, int], int]]:
    """For each contender set (sorted tuple), how often each (contender, position) occurs
    among non-repeat slots.

    Every pair of a set is present, with 0 when it never occurs, so ``max - min`` of the values
    is the set's imbalance.
    """
    counts: dict[tuple[str, ...], dict[tuple[str, int], int]] = {}
    for slot in slots:
        if slot.repeat:
            continue
        contenders = tuple(sorted(slot.shown))
        table = counts.get(contenders)
        if table is None:
            n = len(contenders)
            table = counts[contenders] = {(c, p): 0 for c in contenders for p in range(n)}
        for position, contender in enumerate(slot.shown):
            table[(contender, position)] += 1
    return counts


def _validate(items: Sequence[Item], repeats: float, min_gap: int) -> None:
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            raise ValueError(f"duplicate item key {item.key!r}")
        seen.add(item.key)
        if not item.contenders:
            raise ValueError(f"item {item.key!r} has no contenders")
        if len(set(item.contenders)) != len(item.contenders):
            raise ValueError(f"item {item.key!r} lists a contender twice: {item.contenders!r}")
    if not 0.0 <= repeats <= 0.5:  # also rejects NaN
        raise ValueError(f"repeats must be between 0 and 0.5, not {repeats!r}")
    if min_gap < 1:
        raise ValueError(f"min_gap must be at least 1, not {min_gap!r}")


def _rng(seed: int, rater: str) -> random.Random:
    # hash() of a str is salted per process; a digest is the same everywhere.
    digest = hashlib.sha256(f"{seed}:{rater}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _interleave(items: Sequence[Item], rng: random.Random) -> list[Item]:
    """Greedy: the group with the most items left that is not the previous one, random tie-breaks."""
    by_group: dict[str, list[Item]] = {}
    for item in items:
        by_group.setdefault(item.group, []).append(item)
    active = sorted(by_group)
    for name in active:
        rng.shuffle(by_group[name])
    out: list[Item] = []
    last: str | None = None
    while active:
        pool = [g for g in active if g != last] or active  # only the last group left: forced repeat
        most = max(len(by_group[g]) for g in pool)
        group = rng.choice([g for g in pool if len(by_group[g]) == most])
        out.append(by_group[group].pop())
        if not by_group[group]:
            active.remove(group)
        last = group
    return out


def _assign_positions(ordered: Sequence[Item], rng: random.Random) -> list[Slot]:
    """Deal rows of randomised Latin squares to each contender set's items, in queue order."""
    pending: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    slots: list[Slot] = []
    for item in ordered:
        contenders = tuple(sorted(item.contenders))
        rows = pending.get(contenders)
        if not rows:
            perm = list(contenders)
            rng.shuffle(perm)
            rows = [tuple(perm[k:] + perm[:k]) for k in range(len(perm))]
            rng.shuffle(rows)
            pending[contenders] = rows
        slots.append(Slot(item.key, item.group, rows.pop()))
    return slots


def _repeat_count(total: int, fraction: float) -> int:
    if fraction <= 0.0 or total < 2:
        return 0
    return min(total, max(1, round(fraction * total)))


def _insert_repeats(slots: Sequence[Slot], count: int, min_gap: int, rng: random.Random) -> list[Slot]:
    total = len(slots)
    # An original at p can always get min_gap by going to the end if total - p >= min_gap.
    roomy = [p for p in range(total) if total - p >= min_gap]
    chosen = rng.sample(roomy, count) if len(roomy) >= count else list(range(count))
    queue = list(slots)
    for p in sorted(chosen, reverse=True):
        original = slots[p]
        at = queue.index(original)
        best: list[int] = []
        best_score: tuple[int, int] | None = None
        for j in range(at + 1, len(queue) + 1):
            # Insertions never shrink a gap already placed, so the greedy choice stays valid.
            score = (-min(j - at, min_gap), _adjacency_change(queue, j, original.group))
            if best_score is None or score < best_score:
                best_score, best = score, [j]
            elif score == best_score:
                best.append(j)
        shown = _rearranged(original.shown, rng)
        queue.insert(rng.choice(best), Slot(original.key, original.group, shown, repeat=True))
    return queue


def _adjacency_change(queue: Sequence[Slot], j: int, group: str) -> int:
    """How inserting an item of ``group`` before index ``j`` changes the same-group adjacent pairs."""
    before = queue[j - 1].group if j > 0 else None
    after = queue[j].group if j < len(queue) else None
    created = (before == group) + (after == group)
    broken = before is not None and before == after
    return created - broken


def _rearranged(shown: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """A random order of ``shown`` in which no contender keeps its position (for two or more)."""
    if len(shown) < 2:
        return shown
    while True:  # a random permutation is a derangement with probability about 1/e
        perm = list(shown)
        rng.shuffle(perm)
        if all(a != b for a, b in zip(perm, shown, strict=True)):
            return tuple(perm)
