"""Blind means blind: no rater can predict a screen order from what the queue showed before.

With ``reveal = "each"`` a rater learns, after every vote, who sat where. Each predictor below
sees every earlier order of the same contender set (all of them revealed) and knows the
planner's rules, and guesses the next item's order (or who is "Model A"). Over many seeded
queues, an exact one-sided binomial test at alpha = 0.01 must not find it right more often
than chance: 1/n! for a full order, 1/n for position A, 1/(n-1) for "the model after X".
When orders are independent and uniform, whatever a predictor does, its hits are exactly
binomial at chance, so the test is exact; the planner's balance check may move them by at
most its redraw bound (0.1 %), far below what these sample sizes can see.

The queue planner before these tests dealt the n rotations of one random order to each block
of n items (the last item of a block forced; with two contenders, every second item): they
all failed on it with p far below 0.01, except ``same_as_previous`` (it never repeated an order
inside a block: below chance, which ``rotation_successor`` and ``balancing`` exploit) and the
uniformity check.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from scipy.stats import binomtest

from chatlab.core.studies.queue_plan import Item, plan

ALPHA = 0.01
Order = tuple[int, ...]


@dataclass
class Seen:
    """What a rater knows before an item: every earlier order of the set, and running counts."""

    n: int
    history: list[Order] = field(default_factory=list)
    cells: Counter[tuple[int, int]] = field(default_factory=Counter)  # (contender, position)
    orders: Counter[Order] = field(default_factory=Counter)

    def add(self, order: Order) -> None:
        self.history.append(order)
        self.cells.update((c, p) for p, c in enumerate(order))
        self.orders[order] += 1

    def weight(self, order: Order) -> int:
        """How often the pairs of ``order`` were seen: the lower, the more it evens the counts."""
        return sum(self.cells[(c, p)] for p, c in enumerate(order))


Predictor = Callable[[Seen], Order | None]


def histories(n: int, queues: int, sizes: Sequence[int], repeats: float = 0.0) -> list[list[Order]]:
    """For each seeded queue: the screen orders of its items in queue order, as contender indices."""
    names = tuple(f"model-{i}" for i in range(n))
    index = {name: i for i, name in enumerate(names)}
    out = []
    for q in range(queues):
        count = sizes[q % len(sizes)]
        items = [Item(f"t{i:04d}", f"p{i % max(1, count // 3)}", names) for i in range(count)]
        slots = plan(items, seed=q, rater=f"rater-{q % 5}", repeats=repeats)
        out.append([tuple(index[c] for c in s.shown) for s in slots if not s.repeat])
    return out


def rotations(order: Order) -> list[Order]:
    return [order[k:] + order[:k] for k in range(len(order))]


def every_order(n: int) -> list[Order]:
    return list(itertools.permutations(range(n)))


# --- predictors of the full order ---------------------------------------------------------------


def balancing(seen: Seen) -> Order:
    """The order that most reduces the imbalance: its (contender, position) pairs have been
    seen least so far (ties: the first). The natural exploit of any balancing scheme: it finds
    the forced last order of an exactly balanced block, and leans the way a tolerance pushes."""
    return min(every_order(seen.n), key=seen.weight)


def block_completion(seen: Seen) -> Order:
    """Knows the old rule (blocks of n rotations) and guesses a rotation not used yet in the block."""
    started = len(seen.history) % seen.n
    if not started:
        return balancing(seen)
    block = seen.history[-started:]
    return next(r for r in rotations(block[0]) if r not in block)


def rotation_successor(seen: Seen) -> Order | None:
    """The previous order shifted by one place (for two contenders: the other order)."""
    return rotations(seen.history[-1])[1] if seen.history else None


def same_as_previous(seen: Seen) -> Order | None:
    return seen.history[-1] if seen.history else None


def most_balanced_unseen(seen: Seen) -> Order:
    """The order seen least often so far (ties: the most balancing one): exploits any rule that
    spreads whole orders evenly, like dealing every rotation once."""
    return min(every_order(seen.n), key=lambda o: (seen.orders[o], seen.weight(o)))


def fewest_in_a(seen: Seen) -> int:
    """Who is "Model A": the contender seen least often there so far (ties: the first)."""
    return min(range(seen.n), key=lambda c: seen.cells[(c, 0)])


ORDER_PREDICTORS: dict[str, Predictor] = {
    "balancing": balancing,
    "block_completion": block_completion,
    "rotation_successor": rotation_successor,
    "same_as_previous": same_as_previous,
    "most_balanced_unseen": most_balanced_unseen,
}


def accuracy(
    guess: Callable[[Seen], object], n: int, queues: Sequence[Sequence[Order]], of: Callable[[Order], object]
) -> tuple[int, int]:
    """Hits and trials of ``guess`` against ``of(actual order)``, item by item, each queue afresh."""
    hits = trials = 0
    for queue in queues:
        seen = Seen(n)
        for actual in queue:
            g = guess(seen)
            if g is not None:
                trials += 1
                hits += g == of(actual)
            seen.add(actual)
    return hits, trials


def whole(order: Order) -> Order:
    return order


def assert_chance(hits: int, trials: int, chance: float, what: str) -> None:
    p = binomtest(hits, trials, chance, alternative="greater").pvalue
    assert p >= ALPHA, (
        f"{what}: {hits}/{trials} = {hits / trials:.3f} against chance {chance:.3f}, p = {p:.2g}"
    )


# Sizes mix multiples of n with others; 2 contenders also get sets large enough for the balance
# check to bind now and then (it has no effect below 30 items of 2).
CASES = {2: (300, (8, 13, 24, 40, 101, 400)), 3: (300, (9, 14, 24, 31, 60)), 4: (250, (8, 12, 21, 36, 48))}


@pytest.fixture(scope="module")
def queues() -> dict[int, list[list[Order]]]:
    return {n: histories(n, count, sizes) for n, (count, sizes) in CASES.items()}


@pytest.mark.parametrize("name", sorted(ORDER_PREDICTORS))
@pytest.mark.parametrize("n", sorted(CASES))
def test_no_predictor_knows_the_next_order(queues: dict[int, list[list[Order]]], n: int, name: str) -> None:
    hits, trials = accuracy(ORDER_PREDICTORS[name], n, queues[n], whole)
    assert trials > 5000
    assert_chance(hits, trials, 1 / len(every_order(n)), f"{name}, n={n}")


@pytest.mark.parametrize("n", sorted(CASES))
def test_no_predictor_knows_model_a(queues: dict[int, list[list[Order]]], n: int) -> None:
    hits, trials = accuracy(fewest_in_a, n, queues[n], lambda order: order[0])
    assert_chance(hits, trials, 1 / n, f"fewest in position A, n={n}")


def test_the_last_item_of_a_set_is_not_forced() -> None:
    # The sharpest case: two contenders, an even set; exact balance would force the last order.
    for count in (2, 12, 40):
        last_hits = 0
        queues = histories(2, 600, (count,))
        for queue in queues:
            seen = Seen(2)
            for order in queue[:-1]:
                seen.add(order)
            last_hits += balancing(seen) == queue[-1]
        assert_chance(last_hits, len(queues), 1 / 2, f"last of {count}")


@pytest.mark.parametrize("n", [3, 4])
def test_recognising_one_model_links_no_other(queues: dict[int, list[list[Order]]], n: int) -> None:
    # reveal = "end": a rater who recognises model 0's style in every item guesses that the
    # answer just after it (cyclically) is by the same model as in the previous item. Rotations
    # of one order made that true inside a block; independent orders make it 1/(n - 1).
    def after_0(order: Order) -> int:
        return order[(order.index(0) + 1) % n]

    hits = trials = 0
    for queue in queues[n]:
        for before, order in itertools.pairwise(queue):
            trials += 1
            hits += after_0(before) == after_0(order)
    assert_chance(hits, trials, 1 / (n - 1), f"linking, n={n}")


def test_hidden_repeats_do_not_change_the_originals_orders() -> None:
    # The repeats draw from the same generator: the originals must stay unpredictable.
    queues = histories(3, 200, (12, 30), repeats=0.3)
    for name in ("balancing", "rotation_successor", "block_completion"):
        hits, trials = accuracy(ORDER_PREDICTORS[name], 3, queues, whole)
        assert_chance(hits, trials, 1 / 6, f"{name} with repeats")


def test_orders_are_uniform() -> None:
    # Not predictable also means no favourite: every order of 3 equally often as Model A..C.
    from scipy.stats import chisquare

    counts = Counter(order for queue in histories(3, 200, (9, 24)) for order in queue)
    assert set(counts) == set(itertools.permutations(range(3)))
    assert chisquare(list(counts.values())).pvalue >= ALPHA
