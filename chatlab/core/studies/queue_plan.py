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
from heapq import heapify, heappop, heappush
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

    Time: O(items x contenders) expected, with a log factor for the interleaving; 200,000
    items plan in about 2 s.

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
    """Greedy: the group with the most items left that is not the previous one, random tie-breaks.

    Groups sit in buckets by how many items they have left, and a heap holds the bucket sizes
    in use, so each step is O(log groups) instead of a scan of every group.
    """
    by_name: dict[str, list[Item]] = {}
    for item in items:
        by_name.setdefault(item.group, []).append(item)
    pools = [by_name[name] for name in sorted(by_name)]  # a group is its index from here on
    for pool in pools:
        rng.shuffle(pool)
    largest = max((len(pool) for pool in pools), default=0)
    buckets: list[list[int]] = [[] for _ in range(largest + 1)]  # items left -> groups
    where = [0] * len(pools)  # a group's index in its bucket
    for group, pool in enumerate(pools):
        where[group] = len(buckets[len(pool)])
        buckets[len(pool)].append(group)
    heap = [-size for size in range(1, largest + 1) if buckets[size]]  # sizes in use, lazily
    heapify(heap)
    out: list[Item] = []
    last = -1
    while True:
        while heap and not buckets[-heap[0]]:
            heappop(heap)
        if not heap:
            break
        size = -heap[0]
        bucket = buckets[size]
        if last < 0 or len(pools[last]) != size:
            index = _below(rng, len(bucket))
        elif len(bucket) > 1:  # a random group of this size other than the last one
            index = _below(rng, len(bucket) - 1)
            index += index >= where[last]
        else:  # the last group alone has the most: the next size down, unless it is the only one
            top = size
            heappop(heap)
            while heap and (-heap[0] == top or not buckets[-heap[0]]):
                heappop(heap)
            if heap:
                size = -heap[0]
                bucket = buckets[size]
                index = _below(rng, len(bucket))
            else:
                index = 0
            heappush(heap, -top)
        group = bucket[index]
        moved = bucket[-1]  # swap-remove the group from its bucket...
        bucket[index] = moved
        where[moved] = index
        bucket.pop()
        if size > 1:  # ...and put it in the next one down
            lower = buckets[size - 1]
            if not lower:
                heappush(heap, 1 - size)
            where[group] = len(lower)
            lower.append(group)
        out.append(pools[group].pop())
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
    roomy = total - min_gap + 1
    chosen = rng.sample(range(roomy), count) if roomy >= count else list(range(count))
    return _Placer(slots, min_gap, rng).place(sorted(chosen, reverse=True))


class _Placer:
    """Puts repeats in, latest original first, in O(1) expected per repeat (times the few
    groups that crowd the region, if any).

    The queue is a linked list of nodes (originals 0..total-1, then repeats), and an insertion
    point is "after node X". Repeats are placed latest original first, and each goes at least
    min_gap after its original, so when the repeat of original p is placed, everything before
    original p + min_gap is still originals only: its candidate points are those after the
    nodes from original p + min_gap - 1 on, the region. The region only grows (p falls), so
    it is an append-only list, with per-group counts and the same-group pairs inside it, from
    which the best candidates are counted and drawn without a scan: a pair of another group
    to split if there is one, else a random point with no neighbour of the group (by random
    tries; for a group that crowds the region, from a list of such points kept up to date),
    else any point. Each is uniform among the points with the best score, as the old scan.
    """

    def __init__(self, slots: Sequence[Slot], min_gap: int, rng: random.Random) -> None:
        self.slots: list[Slot] = list(slots)
        self.total = len(slots)
        self.min_gap = min_gap
        self.rng = rng
        ids: dict[str, int] = {}
        self.group = [ids.setdefault(s.group, len(ids)) for s in slots]
        self.nxt = [*range(1, self.total), -1]
        self.prv = [-1, *range(self.total - 1)]
        self.tail = self.total - 1
        self.front = self.total  # the region is every node from original `front` on
        self.region: list[int] = []
        self.first = -1  # the region's first node
        self.in_region = [0] * len(ids)  # nodes per group in the region
        self.pairs: dict[int, list[int]] = {}  # group -> nodes X in the region with X, next(X) of it
        self.pair_index: dict[int, int] = {}
        self.pair_total = 0
        # For a group that crowds the region (rejection failed): its free points, kept up to date.
        self.free: dict[int, tuple[list[int], dict[int, int]]] = {}
        self.late = 0  # repeats that went after the last original before the region began

    def place(self, originals: Sequence[int]) -> list[Slot]:
        for p in originals:
            original = self.slots[p]
            node = len(self.slots)
            shown = _rearranged(original.shown, self.rng)
            self.slots.append(Slot(original.key, original.group, shown, repeat=True))
            self.group.append(self.group[p])
            self.nxt.append(-1)
            self.prv.append(-1)
            start = p + self.min_gap - 1  # the node the first candidate point follows
            if start < self.total:
                self._grow(start)
                self._link(self._choose(self.group[p]), node)
            else:
                self._place_late(p, node)
        out: list[Slot] = []
        at = 0 if self.total else -1
        while at >= 0:
            out.append(self.slots[at])
            at = self.nxt[at]
        return out

    # -- the region --------------------------------------------------------------------------------

    def _grow(self, start: int) -> None:
        if self.front == self.total and self.late:  # the late repeats after the last original
            at = self.nxt[self.total - 1]
            self.first = at
            while at >= 0:
                self._enter(at)
                at = self.nxt[at]
        while self.front > start:
            self.front -= 1
            self.first = self.front
            self._enter(self.front)

    def _enter(self, node: int) -> None:
        self.region.append(node)
        self.in_region[self.group[node]] += 1
        after = self.nxt[node]
        if after >= 0 and self.group[after] == self.group[node]:
            self._add_pair(node)
        self._refresh(node)

    def _is_free(self, node: int, group: int) -> bool:
        """Whether the point after ``node`` has no neighbour of ``group``."""
        after = self.nxt[node]
        return self.group[node] != group and (after < 0 or self.group[after] != group)

    def _refresh(self, node: int) -> None:
        """Keep the point after ``node`` right in the free sets kept."""
        for group, (members, index) in self.free.items():
            free = self._is_free(node, group)
            if free and node not in index:
                index[node] = len(members)
                members.append(node)
            elif not free and node in index:
                at = index.pop(node)
                moved = members.pop()
                if moved != node:
                    members[at] = moved
                    index[moved] = at

    def _add_pair(self, node: int) -> None:
        members = self.pairs.setdefault(self.group[node], [])
        self.pair_index[node] = len(members)
        members.append(node)
        self.pair_total += 1

    def _drop_pair(self, node: int) -> None:
        group = self.group[node]
        members = self.pairs[group]
        index = self.pair_index.pop(node)
        moved = members.pop()
        if moved != node:
            members[index] = moved
            self.pair_index[moved] = index
        if not members:
            del self.pairs[group]
        self.pair_total -= 1

    def _choose(self, group: int) -> int:
        """A random point of the region with the lowest adjacency change for ``group``."""
        rng = self.rng
        others = self.pair_total - len(self.pairs.get(group, ()))
        if others:  # splitting a pair of another group removes one: the best there is
            index = _below(rng, others)
            for name, members in self.pairs.items():
                if name == group:
                    continue
                if index < len(members):
                    return members[index]
                index -= len(members)
        region, nodes_of, nxt = self.region, self.group, self.nxt
        own = self.in_region[group]
        followed = own - (nodes_of[self.first] == group)  # points just before a node of the group
        free = len(region) - own - followed + len(self.pairs.get(group, ()))
        if free <= 0:  # every point touches the group: each adds exactly one neighbour
            return region[_below(rng, len(region))]
        kept = self.free.get(group)
        if kept is None:
            for _ in range(64):  # uniform over the free points by rejection...
                node = region[_below(rng, len(region))]
                after = nxt[node]
                if nodes_of[node] != group and (after < 0 or nodes_of[after] != group):
                    return node
            # ...unless the group crowds the region: then its free points are listed once and
            # kept up to date from here on (few groups can crowd a region at a time).
            members = [node for node in region if self._is_free(node, group)]
            kept = self.free[group] = (members, {node: i for i, node in enumerate(members)})
        return kept[0][_below(rng, len(kept[0]))]

    def _link(self, before: int, node: int) -> None:
        """Insert ``node`` after ``before`` (a region node) and keep the region's books."""
        after = self.nxt[before]
        if before in self.pair_index:
            self._drop_pair(before)
        self.nxt[before], self.prv[node] = node, before
        self.nxt[node] = after
        if after >= 0:
            self.prv[after] = node
        else:
            self.tail = node
        self.region.append(node)
        group = self.group[node]
        self.in_region[group] += 1
        if self.group[before] == group:
            self._add_pair(before)
        if after >= 0 and self.group[after] == group:
            self._add_pair(node)
        self._refresh(before)
        self._refresh(node)

    # -- before the region: the last min_gap - 1 originals, when repeats must come that late --------

    def _place_late(self, p: int, node: int) -> None:
        """The old exact scan, over the repeats after the last original (few: < min_gap of them)."""
        queue: list[int] = []
        at = self.nxt[self.total - 1]
        while at >= 0:
            queue.append(at)
            at = self.nxt[at]
        # queue index of original p is p; late repeats follow original total - 1
        length = self.total + len(queue)
        group = self.group[node]

        def node_at(j: int) -> int:
            return j if j < self.total else queue[j - self.total]

        best: list[int] = []
        best_score: tuple[int, int] | None = None
        for j in range(max(p + 1, self.total), length + 1):
            before = self.group[node_at(j - 1)]
            after = self.group[node_at(j)] if j < length else None
            change = (before == group) + (after == group) - (before == after)
            score = (-min(j - p, self.min_gap), change)
            if best_score is None or score < best_score:
                best_score, best = score, [j]
            elif score == best_score:
                best.append(j)
        j = best[_below(self.rng, len(best))]
        before_node = node_at(j - 1)
        after_node = self.nxt[before_node]
        self.nxt[before_node], self.prv[node], self.nxt[node] = node, before_node, after_node
        if after_node >= 0:
            self.prv[after_node] = node
        else:
            self.tail = node
        self.late += 1


def _rearranged(shown: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """A random order of ``shown`` in which no contender keeps its position (for two or more)."""
    if len(shown) < 2:
        return shown
    while True:  # a random permutation is a derangement with probability about 1/e
        perm = list(shown)
        rng.shuffle(perm)
        if all(a != b for a, b in zip(perm, shown, strict=True)):
            return tuple(perm)
