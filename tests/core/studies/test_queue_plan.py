"""The blind rating queue: position balance, interleaving, hidden repeats, determinism, resume.

Properties are checked with counts computed here, not with the module's own helpers."""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from scipy.stats import binomtest

from chatlab.core.studies.queue_plan import (
    REDRAW_BOUND,
    Item,
    Slot,
    plan,
    position_counts,
    remaining,
    tolerance,
)

ROOT = Path(__file__).resolve().parents[3]  # the checkout


def make_items(count: int, n: int, groups: int | None = None, prefix: str = "t") -> list[Item]:
    contenders = tuple(str(i) for i in range(n))
    groups = groups or count
    return [Item(f"{prefix}{i:03d}", f"p{i % groups}", contenders) for i in range(count)]


def prompts(prompt_count: int, samples: int, n: int = 3) -> list[Item]:
    contenders = tuple(str(i) for i in range(n))
    return [Item(f"p{p}s{s}", f"p{p}", contenders) for p in range(prompt_count) for s in range(samples)]


def imbalance(slots: Sequence[Slot]) -> dict[frozenset[str], int]:
    """max - min over every (contender, position) pair of each contender set, originals only."""
    tables: dict[frozenset[str], Counter[tuple[str, int]]] = {}
    for slot in slots:
        if not slot.repeat:
            table = tables.setdefault(frozenset(slot.shown), Counter())
            for position, contender in enumerate(slot.shown):
                table[(contender, position)] += 1
    out = {}
    for contenders, table in tables.items():
        values = [table[(c, p)] for c in contenders for p in range(len(contenders))]
        out[contenders] = max(values) - min(values)
    return out


def adjacent_pairs(slots: Sequence[Slot]) -> int:
    return sum(a.group == b.group for a, b in itertools.pairwise(slots))


def originals(slots: Sequence[Slot]) -> list[Slot]:
    return [s for s in slots if not s.repeat]


# --- position balance ---------------------------------------------------------------------------


def prefix_deviations(slots: Sequence[Slot]) -> dict[frozenset[str], int]:
    """Per contender set: the largest |n*count - k| of any (contender, position) pair after any
    prefix of k of the set's originals, in queue order."""
    tables: dict[frozenset[str], Counter[tuple[str, int]]] = {}
    seen: Counter[frozenset[str]] = Counter()
    worst: dict[frozenset[str], int] = {}
    for slot in originals(slots):
        contenders = frozenset(slot.shown)
        n = len(contenders)
        table = tables.setdefault(contenders, Counter())
        seen[contenders] += 1
        for position, contender in enumerate(slot.shown):
            table[(contender, position)] += 1
        k = seen[contenders]
        here = max(abs(n * table[(c, p)] - k) for c in contenders for p in range(n))
        worst[contenders] = max(worst.get(contenders, 0), here)
    return worst


def freedman_tolerance(m: int, n: int) -> int:
    """The smallest W with 2 n^2 exp(-t^2 / (2 (V + t/3))) <= 1e-3 for t = (W + 1) / n,
    V = m (n - 1) / n^2: found by search here, not by the module's closed form."""
    variance = m * (n - 1) / n**2
    w = 0
    while 2 * n * n * math.exp(-(((w + 1) / n) ** 2) / (2 * (variance + (w + 1) / n / 3))) > 1e-3:
        w += 1
    return w


def test_tolerance_is_the_documented_bound() -> None:
    assert REDRAW_BOUND == 1e-3
    for n in (2, 3, 4, 8):
        for m in (1, 2, 5, 12, 30, 100, 1000, 20000):
            assert tolerance(m, n) == freedman_tolerance(m, n), (m, n)
    assert tolerance(5, 1) == 0 and tolerance(0, 3) == 0
    # It grows like sqrt(m): 4 to 5 standard deviations of a count once sets are large.
    for n in (2, 3, 8):
        for m in (1000, 200_000):
            sd = math.sqrt(m * (n - 1)) / n
            assert 4.2 < tolerance(m, n) / n / sd < 5.3, (m, n)
    assert tolerance(200_000, 2) / 2 < 952  # 100,000 +- 951 of 200,000 items of 2


def test_balance_within_the_tolerance_for_every_size_and_prefix() -> None:
    for n in range(1, 9):
        for count in sorted({1, 2, 3, n, n + 1, 2 * n, 3 * n, 13, 40}):
            items = make_items(count, n, groups=7)
            for seed in range(3):
                slots = plan(items, seed=seed, rater="r")
                assert len(slots) == count
                for slot, item in zip(sorted(slots, key=lambda s: s.key), items, strict=True):
                    assert sorted(slot.shown) == sorted(item.contenders)
                (worst,) = prefix_deviations(slots).values()
                assert worst <= tolerance(count, n), (n, count, seed)


def test_large_sets_are_balanced() -> None:
    # Where the tolerance binds: thousands of items, checked at every prefix.
    for n, count in ((2, 20_000), (3, 6_000), (8, 4_000)):
        items = make_items(count, n, groups=count // 3)
        for seed in range(2):
            slots = plan(items, seed=seed, repeats=0.1)
            (worst,) = prefix_deviations(slots).values()
            assert worst <= tolerance(count, n), (n, count, seed)
            (spread,) = imbalance(slots).values()
            assert spread <= 2 * tolerance(count, n) / n


def test_independent_orders_seldom_break_the_tolerance() -> None:
    # The redraw that enforces balance must be rare, or it would make late orders predictable:
    # orders drawn independently here break the tolerance at most REDRAW_BOUND of the time.
    rng = random.Random(2024)
    for n, m, runs in ((2, 60, 3000), (3, 40, 2000), (5, 30, 1000)):
        limit = tolerance(m, n)
        broken = 0
        for _ in range(runs):
            table: Counter[tuple[int, int]] = Counter()
            for k in range(1, m + 1):
                order = rng.sample(range(n), n)
                table.update((c, p) for p, c in enumerate(order))
                if any(abs(n * table[(c, p)] - k) > limit for c in range(n) for p in range(n)):
                    broken += 1
                    break
        assert binomtest(broken, runs, REDRAW_BOUND, alternative="greater").pvalue >= 0.01, (n, m, broken)


def test_mixed_contender_sets_are_balanced_per_set() -> None:
    items = []
    for i in range(31):
        if i % 3 == 0:
            items.append(Item(f"k{i}", f"g{i % 5}", ("a", "b")))
        elif i % 3 == 1:
            items.append(Item(f"k{i}", f"g{i % 5}", ("a", "b", "c")))
        else:  # the same set as above, listed in another canonical order
            items.append(Item(f"k{i}", f"g{i % 5}", ("c", "a", "b")))
    for seed in range(10):
        slots = plan(items, seed=seed, repeats=0.2)
        worst = prefix_deviations(slots)
        assert set(worst) == {frozenset("ab"), frozenset("abc")}
        assert worst[frozenset("ab")] <= tolerance(11, 2)  # 11 items of 2
        assert worst[frozenset("abc")] <= tolerance(20, 3)  # 20 items of 3


def test_single_contender_is_shown_as_is() -> None:
    items = [Item("x", "g", ("only",)), Item("y", "h", ("only",)), Item("z", "g", ("a", "b"))]
    slots = plan(items, repeats=0.5)
    for slot in slots:
        if slot.key != "z":
            assert slot.shown == ("only",)


def test_order_is_not_one_cyclic_order_for_the_whole_study() -> None:
    # A fixed cyclic order would make a contender's neighbour on screen always the same.
    def cyclic_class(row: tuple[str, ...]) -> tuple[str, ...]:
        k = row.index("0")
        return row[k:] + row[:k]

    slots = plan(make_items(40, 4, groups=40), seed=1)
    assert len({cyclic_class(s.shown) for s in slots}) > 1
    # ...and the rows of one block come in a random order, not always the same rotation first.
    firsts = {plan(make_items(4, 4), seed=seed)[0].shown for seed in range(30)}
    assert len(firsts) > 4


def test_position_counts_matches_own_count() -> None:
    items = [*make_items(10, 3, groups=4), Item("two", "px", ("x", "y"))]
    slots = plan(items, seed=3, repeats=0.3)
    counts = position_counts(slots)
    assert set(counts) == {("0", "1", "2"), ("x", "y")}
    assert sum(counts[("0", "1", "2")].values()) == 10 * 3  # repeats are left out
    (two,) = [s for s in originals(slots) if s.key == "two"]
    assert counts[("x", "y")] == {(c, p): int(two.shown[p] == c) for c in "xy" for p in range(2)}
    mine: Counter[tuple[str, int]] = Counter()
    for slot in originals(slots):
        if len(slot.shown) == 3:
            mine.update((c, p) for p, c in enumerate(slot.shown))
    assert counts[("0", "1", "2")] == {(c, p): mine[(c, p)] for c in "012" for p in range(3)}


# --- interleaving -------------------------------------------------------------------------------


def test_no_prompt_twice_in_a_row() -> None:
    items = prompts(24, 3)
    for seed in range(10):
        for rater in ("", "ana", "bo"):
            slots = plan(items, seed=seed, rater=rater)
            assert adjacent_pairs(slots) == 0, (seed, rater)


def test_prompt_order_is_shuffled() -> None:
    # Ties between prompts are broken at random: the prompt order itself differs between seeds.
    items = prompts(24, 3)
    orders = {tuple(s.group for s in plan(items, seed=seed)) for seed in range(5)}
    assert len(orders) == 5


def test_one_dominant_group_gets_the_fewest_possible_adjacencies() -> None:
    rng = random.Random(42)
    cases = [[10, 2, 1], [20, 3, 3, 1], [5], [7, 1], [6, 6], [9, 4, 4]]
    cases += [[rng.randint(1, 9) for _ in range(rng.randint(1, 5))] for _ in range(200)]
    for i, sizes in enumerate(cases):
        items = [Item(f"g{g}i{k}", f"g{g}", ("a", "b")) for g, size in enumerate(sizes) for k in range(size)]
        bound = max(0, 2 * max(sizes) - sum(sizes) - 1)
        slots = plan(items, seed=i)
        assert adjacent_pairs(slots) == bound, sizes


def test_every_item_once_as_original() -> None:
    items = prompts(9, 4, n=5)
    slots = plan(items, seed=8, repeats=0.25)
    assert sorted(s.key for s in originals(slots)) == sorted(it.key for it in items)
    by_key = {it.key: it for it in items}
    for slot in slots:
        assert slot.group == by_key[slot.key].group
        assert sorted(slot.shown) == sorted(by_key[slot.key].contenders)


# --- hidden repeats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "fraction", "expected"),
    [(72, 0.1, 7), (40, 0.5, 20), (10, 0.26, 3), (3, 0.01, 1), (2, 0.1, 1), (1, 0.5, 0), (30, 0.0, 0)],
)
def test_repeat_count(count: int, fraction: float, expected: int) -> None:
    slots = plan(make_items(count, 3, groups=max(1, count // 2)), seed=1, repeats=fraction)
    flagged = [s for s in slots if s.repeat]
    assert len(flagged) == expected
    assert len(slots) == count + expected
    assert len({s.key for s in flagged}) == expected  # each repeated at most once


def test_repeats_are_late_enough_reordered_and_not_next_to_their_prompt() -> None:
    items = prompts(24, 3, n=3)
    for seed in range(10):
        for min_gap in (1, 5, 12):
            slots = plan(items, seed=seed, rater="r", repeats=0.1, min_gap=min_gap)
            index = {(s.key, s.repeat): i for i, s in enumerate(slots)}
            repeated = [s for s in slots if s.repeat]
            assert len(repeated) == 7
            for rep in repeated:
                first = index[(rep.key, False)]
                assert index[(rep.key, True)] - first >= min_gap
                shown_first = slots[first].shown
                assert sorted(rep.shown) == sorted(shown_first)
                assert all(a != b for a, b in zip(rep.shown, shown_first, strict=True))
            assert adjacent_pairs(slots) == 0, (seed, min_gap)


def test_two_contender_repeat_is_swapped() -> None:
    slots = plan(make_items(20, 2, groups=10), seed=5, repeats=0.5)
    shown = {(s.key, s.repeat): s.shown for s in slots}
    for slot in slots:
        if slot.repeat:
            assert slot.shown == shown[(slot.key, False)][::-1]


def test_repeat_gap_in_a_short_queue_is_as_long_as_allowed() -> None:
    for count in range(2, 9):
        for seed in range(5):
            slots = plan(make_items(count, 3), seed=seed, repeats=0.5, min_gap=5)
            first_order = [s.key for s in originals(slots)]
            for i, slot in enumerate(slots):
                if slot.repeat:
                    first = next(j for j, s in enumerate(slots) if s.key == slot.key)
                    p = first_order.index(slot.key)
                    # placed at the end of the originals it would be count - p after its original
                    assert i - first >= min(5, count - p), (count, seed)


def test_dominant_group_with_repeats_stays_at_the_lower_bound() -> None:
    items = [Item(f"d{i}", "dom", ("a", "b", "c")) for i in range(12)]
    items += [Item(f"o{i}", f"o{i % 3}", ("a", "b", "c")) for i in range(6)]
    for seed in range(10):
        slots = plan(items, seed=seed, repeats=0.2, min_gap=2)
        assert adjacent_pairs(originals(slots)) == 2 * 12 - 18 - 1
        # A repeat of "dom" cannot avoid a neighbour of its group; any other repeat can split a pair.
        groups = Counter(s.group for s in slots)
        assert adjacent_pairs(slots) == max(0, 2 * groups["dom"] - len(slots) - 1), seed


def test_a_group_as_large_as_all_others_still_gets_the_fewest_adjacencies() -> None:
    # Half the items in one group: almost every place touches it, so its repeats find the few
    # free places through the crowded-group bookkeeping rather than by random tries.
    for dom, other, groups in ((30, 30, 7), (40, 38, 5), (25, 26, 26)):
        items = [Item(f"d{i:03d}", "dom", ("a", "b", "c")) for i in range(dom)]
        items += [Item(f"o{i:03d}", f"o{i % groups}", ("a", "b", "c")) for i in range(other)]
        for seed in range(15):
            slots = plan(items, seed=seed, repeats=0.3, min_gap=2)
            sizes = Counter(s.group for s in slots)
            assert adjacent_pairs(slots) == max(0, 2 * sizes["dom"] - len(slots) - 1), (dom, seed)
            index = {(s.key, s.repeat): i for i, s in enumerate(slots)}
            assert all(index[(s.key, True)] - index[(s.key, False)] >= 2 for s in slots if s.repeat)


# --- determinism --------------------------------------------------------------------------------


def test_same_inputs_same_plan_and_rater_changes_it() -> None:
    items = prompts(12, 3, n=4)
    base = plan(items, seed=7, rater="ana", repeats=0.1)
    assert plan(items, seed=7, rater="ana", repeats=0.1) == base
    assert plan(list(reversed(items)), seed=7, rater="ana", repeats=0.1) == base  # input order
    assert plan(items, seed=7, rater="bo", repeats=0.1) != base
    assert plan(items, seed=8, rater="ana", repeats=0.1) != base


_CHILD = """
import json, sys
from chatlab.core.studies.queue_plan import Item, plan
items = [Item(f"p{p}s{s}", f"p{p}", ("a", "b", "c")) for p in range(8) for s in range(3)]
slots = plan(items, seed=11, rater="rater-x", repeats=0.2)
print(json.dumps([[s.key, s.group, list(s.shown), s.repeat] for s in slots]))
"""


def test_plan_is_the_same_in_another_process() -> None:
    # hash() of a str differs between processes; the plan must not.
    items = [Item(f"p{p}s{s}", f"p{p}", ("a", "b", "c")) for p in range(8) for s in range(3)]
    here = [
        [s.key, s.group, list(s.shown), s.repeat] for s in plan(items, seed=11, rater="rater-x", repeats=0.2)
    ]
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout) == here


# --- resume -------------------------------------------------------------------------------------


def test_remaining_keeps_order_and_skips_done() -> None:
    slots = plan(prompts(6, 2), seed=2, repeats=0.5)
    repeated = next(s for s in slots if s.repeat and s.key not in (slots[0].key, slots[3].key))
    done = {(slots[0].key, False), (slots[3].key, slots[3].repeat), (repeated.key, True)}
    left = remaining(slots, done)
    assert left == [s for s in slots if (s.key, s.repeat) not in done]  # same order
    assert slots[0] not in left and slots[3] not in left and repeated not in left
    assert len(left) == len(slots) - 3
    # the original of a repeated item is still pending while only its repeat is done
    assert any(s.key == repeated.key and not s.repeat for s in left)
    assert remaining(slots, list(done)) == left
    assert remaining(slots, set()) == slots
    assert remaining(slots, {(s.key, s.repeat) for s in slots}) == []
    assert remaining(slots, {("unknown", False)}) == slots


# --- validation ---------------------------------------------------------------------------------


def test_duplicate_key_is_rejected_by_name() -> None:
    items = [Item("a", "g", ("x", "y")), Item("turn-42", "g", ("x",)), Item("turn-42", "h", ("x",))]
    with pytest.raises(ValueError, match="turn-42"):
        plan(items)


def test_item_without_contenders_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty-one"):
        plan([Item("ok", "g", ("x",)), Item("empty-one", "g", ())])


def test_contender_listed_twice_is_rejected() -> None:
    with pytest.raises(ValueError, match="twice"):
        plan([Item("k", "g", ("x", "x"))])


@pytest.mark.parametrize("fraction", [-0.01, 0.51, 1.0, float("nan"), float("inf")])
def test_repeats_outside_range_is_rejected(fraction: float) -> None:
    with pytest.raises(ValueError, match="repeats"):
        plan(make_items(4, 2), repeats=fraction)


def test_repeat_bounds_are_accepted_and_min_gap_checked() -> None:
    assert len(plan(make_items(4, 2), repeats=0.0)) == 4
    assert len(plan(make_items(4, 2), repeats=0.5)) == 6
    with pytest.raises(ValueError, match="min_gap"):
        plan(make_items(4, 2), min_gap=0)


def test_empty_input_is_an_empty_plan() -> None:
    assert plan([], repeats=0.5) == []
    assert position_counts([]) == {}


def test_the_balance_check_redraws_until_the_tolerance_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    # With a loose redraw bound the tolerance is tight enough to bind often: every plan still
    # keeps it, and redraws really happened.
    import chatlab.core.studies.queue_plan as queue_plan

    checks = Counter[bool]()
    within = queue_plan._within

    def counted(orders: Sequence[tuple[int, ...]], n: int, limit: int) -> bool:
        ok = within(orders, n, limit)
        checks[ok] += 1
        return ok

    monkeypatch.setattr(queue_plan, "REDRAW_BOUND", 0.9)
    monkeypatch.setattr(queue_plan, "_within", counted)
    for n, count in ((2, 80), (3, 60), (4, 50)):
        assert tolerance(count, n) < freedman_tolerance(count, n)
        items = make_items(count, n, groups=9)
        for seed in range(40):
            (worst,) = prefix_deviations(plan(items, seed=seed)).values()
            assert worst <= tolerance(count, n), (n, count, seed)
    assert checks[True] == 3 * 40 and checks[False] > 0
