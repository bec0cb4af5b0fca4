"""Plans the order of a blind rating queue: which comparison comes next and where each contender sits.

Raters judge study comparisons later without knowing which model wrote which answer, and the
queue itself must neither leak nor bias that judgement: people favour some screen positions, so
every contender has to visit every position about equally often; the same prompt twice in a row
invites comparing across items; an order a rater can guess (from a fixed pattern, or from the
names revealed after earlier votes) tells them where a model sits; and hidden repeats are needed
to measure how consistent a rater is. This module turns a list of comparisons into such a queue,
deterministically for a seed and a rater (so a plan can be rebuilt to resume it instead of being
stored), with the standard library only and no Qt.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter

__all__ = ["REDRAW_BOUND", "Item", "Slot", "plan", "position_counts", "remaining", "tolerance"]

# The most the balance check may change a contender set's screen orders: the chance that the
# independent draws are redrawn at all (see plan). It is also their total variation distance
# from orders drawn independently and uniformly, so no rater strategy gains more than this.
REDRAW_BOUND = 1e-3

_TABLE_MAX = 8  # up to 8! = 40320 orders, one draw is an index into the table of all of them


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
    """The rating queue for ``items``: interleaved, blind, position-balanced, with optional hidden repeats.

    Order: items of one group are never adjacent when possible, and otherwise adjacent as seldom
    as possible, reaching ``max(0, 2*largest_group - total - 1)`` pairs (greedy: the group with
    the most items left that is not the previous one, random tie-breaks).

    Positions, blind: every item's screen order is drawn on its own, uniformly among all n!
    orders of its contenders, never derived from another item's order, so neither the names
    revealed after earlier votes nor a recognised style tells anything about the next item's
    order. Balance is then checked over the whole queue, per contender set (its non-repeat
    slots, in queue order): with m items and n >= 2 contenders, after every prefix of k of
    them, every (contender, position) count must lie within ``tolerance(m, n) / n`` of k/n.
    If not, all the set's orders are drawn again (seeded). The tolerance is set so that this
    happens with probability at most ``REDRAW_BOUND`` (Freedman's inequality, a union bound
    over the n² pairs and both sides), which puts a set's orders within 0.001 in total
    variation of fully independent ones: whatever a rater does with what they saw (predict
    the next order, link answers across items), the chance that it works moves by at most
    0.001, their expected number of right guesses is at most chance / 0.999, and all they can
    learn from the balancing is -log2(0.999) = 0.0015 bits per set, over the whole queue.

    Balance guaranteed: the bound above, for the whole queue and for every prefix of it (a
    rater who stops halfway saw no more than that imbalance). It grows like sqrt(m), at 4.3 to
    5 standard deviations of a count for 1,000 items or more: 2 contenders x 1,000 items, each
    count 500 ± 70; x 200,000 items, 100,000 ± 951; 8 contenders x 200,000 items, 25,000 ± 721.
    Small sets get no bound beyond randomisation (it cannot bind below 30 items of 2, 20 of 3,
    13 of 8). What one sees is well inside it: the largest deviation of any count at the end
    is typically 0.6 (2 contenders) to 2.5 (8 contenders) standard deviations. A tighter bound
    would make late items predictable from earlier ones: exact balance forces a set's last
    order.

    A single contender is shown as is.

    Repeats: ``round(repeats * len(items))`` items (Python's round, half to even; at least one
    when ``repeats > 0`` and there are two items or more, none for a single item) come a second
    time, flagged ``repeat=True``, at least ``min_gap`` positions after the original (1 means
    "right after") or as far as the queue allows, with no contender in its original position
    when n >= 2 (a random such order). Each repeat goes, among the positions with the longest
    gap up to ``min_gap``, to a random one that adds the fewest same-group neighbours (or
    splits an existing pair), so it sits next to its group only when unavoidable; the gap wins
    over that when they conflict. Repeats are not counted in the position balance, which is
    about the originals only.

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


def tolerance(m: int, n: int) -> int:
    """The balance tolerance W for a contender set of ``n`` contenders and ``m`` items.

    In every prefix of k items, each (contender, position) count c has ``|n*c - k| <= W``.
    W is the smallest integer for which independent uniform orders break that with probability
    at most ``REDRAW_BOUND``: with t = (W + 1) / n and V = m (n - 1) / n², Freedman's
    inequality bounds the chance that one pair's count ever reaches t above (or below) its mean
    by exp(-t² / (2 (V + t/3))), and there are n² pairs and two sides.
    """
    if n < 2 or m < 1:
        return 0
    log_term = math.log(2 * n * n / REDRAW_BOUND)
    variance = m * (n - 1) / (n * n)
    t = log_term / 3 + math.sqrt(log_term * log_term / 9 + 2 * log_term * variance)
    return math.ceil(n * t) - 1


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


# --- interleaving -------------------------------------------------------------------------------


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


def _below(rng: random.Random, k: int) -> int:
    """A uniform integer in [0, k), exactly (rejection on random bits), for k >= 1."""
    bits = k.bit_length()
    r = rng.getrandbits(bits)
    while r >= k:
        r = rng.getrandbits(bits)
    return r


# --- positions ----------------------------------------------------------------------------------


@cache
def _orders_table(n: int) -> tuple[tuple[int, ...], ...]:
    return tuple(itertools.permutations(range(n)))


def _assign_positions(ordered: Sequence[Item], rng: random.Random) -> list[Slot]:
    """An independent uniform order for every item, redrawn per set while out of balance."""
    by_set: dict[tuple[str, ...], list[int]] = {}
    for index, item in enumerate(ordered):
        by_set.setdefault(tuple(sorted(item.contenders)), []).append(index)
    shown: list[tuple[str, ...]] = [item.contenders for item in ordered]
    for contenders in sorted(by_set):
        indices = by_set[contenders]
        if len(contenders) < 2:
            continue
        names: dict[tuple[int, ...], tuple[str, ...]] = {}
        for index, order in zip(indices, _balanced_orders(len(contenders), len(indices), rng), strict=True):
            named = names.get(order)
            if named is None:
                named = names[order] = tuple(contenders[c] for c in order)
            shown[index] = named
    return [Slot(item.key, item.group, order) for item, order in zip(ordered, shown, strict=True)]


def _balanced_orders(n: int, m: int, rng: random.Random) -> list[tuple[int, ...]]:
    """``m`` independent uniform orders of ``range(n)``, drawn again while out of balance.

    No order depends on another: the only link is the whole-set check, whose redraw
    probability is at most ``REDRAW_BOUND`` (see :func:`tolerance`).
    """
    limit = tolerance(m, n)
    vacuous = limit >= (n - 1) * m  # |n*c - k| <= (n - 1) * k always
    while True:
        if n <= _TABLE_MAX:
            table = _orders_table(n)
            size = len(table)
            orders = [table[_below(rng, size)] for _ in range(m)]
        else:
            orders = [tuple(rng.sample(range(n), n)) for _ in range(m)]
        if vacuous or _within(orders, n, limit):
            return orders


def _within(orders: Sequence[tuple[int, ...]], n: int, limit: int) -> bool:
    """Whether every prefix of k orders keeps each (contender, position) count c within
    ``|n*c - k| <= limit``.

    Checked in steps: with the margins to the limit at prefix k, the next item can raise
    n*c - k by at most n - 1 and lower it by at most 1, so a step as long as the margins allow
    cannot break the limit inside it, and only its end needs counting (in C, with Counter).
    """
    counts = [0] * (n * n)  # cell contender * n + position
    positions = [itemgetter(position) for position in range(n)]
    k, m = 0, len(orders)
    while True:
        up = limit - (n * max(counts) - k)
        down = limit + (n * min(counts) - k)
        if up < 0 or down < 0:
            return False
        if k == m:
            return True
        step = max(1, min(up // (n - 1), down, m - k))
        chunk = orders[k : k + step]
        for position, getter in enumerate(positions):
            for contender, count in Counter(map(getter, chunk)).items():
                counts[contender * n + position] += count
        k += step


# --- hidden repeats -----------------------------------------------------------------------------


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
