"""Accuracy on keyed prompts: the exact (Clopper–Pearson) interval checked against an
independent computation (the binomial tails, summed by hand and solved by bisection),
its coverage simulated, and the degenerate cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chatlab.core.analysis.accuracy import accuracy
from chatlab.core.analysis.exact import clopper_pearson
from chatlab.core.analysis.votes import collect
from chatlab.core.data.model import Grade, Lane, Response, Session, Status, StudyRef


def _tail_at_least(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


def _solve(f: object, target: float) -> float:
    """The p in [0, 1] where the increasing function ``f`` reaches ``target`` (bisection)."""
    lo, hi = 0.0, 1.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if f(mid) < target:  # type: ignore[operator]
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (3, 7), (0, 12), (12, 12), (17, 40), (1, 60)])
def test_the_exact_interval_matches_the_binomial_tails_solved_by_hand(k: int, n: int) -> None:
    low, high = clopper_pearson(k, n)
    # The lower end is where P(X >= k) = 2.5%, the upper where P(X <= k) = 2.5%.
    want_low = 0.0 if k == 0 else _solve(lambda p: _tail_at_least(k, n, p), 0.025)
    want_high = 1.0 if k == n else _solve(lambda p: -(1 - _tail_at_least(k + 1, n, p)), -0.025)
    assert low == pytest.approx(want_low, abs=1e-9) and high == pytest.approx(want_high, abs=1e-9)


def test_the_interval_covers_the_truth_at_least_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(21)
    for p in (0.03, 0.3, 0.5, 0.85):
        for n in (5, 20, 60):
            hits = rng.binomial(n, p, size=2000)
            bounds = {k: clopper_pearson(int(k), n) for k in set(hits.tolist())}
            covered = np.mean([bounds[k][0] <= p <= bounds[k][1] for k in hits.tolist()])
            # Exact intervals are conservative: 95% at least, less only by Monte Carlo noise
            # (2000 draws: one standard error is 0.5 points).
            assert covered >= 0.94, (p, n, covered)


def test_degenerate_counts() -> None:
    assert clopper_pearson(0, 5)[0] == 0.0 and clopper_pearson(5, 5)[1] == 1.0
    assert clopper_pearson(0, 0) == (0.0, 1.0)  # no trials: nothing is known


def _session(k: int, marks: dict[str, bool | None], tags: tuple[str, ...] = ("math",)) -> Session:
    lanes = [Lane("demo", name, id=f"{name}{k}") for name in marks]
    session = Session(lanes=lanes, blind=True, study=StudyRef("s", "S", f"p{k}", 0, tags))
    turn = session.new_turn(f"q{k}")
    for lane, right in zip(lanes, marks.values(), strict=True):
        resp = turn.responses[lane.id]
        resp.status, resp.text_parts = Status.OK, ["x"]
        if right is not None:
            resp.grades = [Grade(right, "")]
    return session


def test_accuracy_counts_graded_answers_per_contender_voted_or_not() -> None:
    sessions = [_session(k, {"a": k % 2 == 0, "b": True, "c": None}) for k in range(6)]
    failed = _session(9, {"a": None, "b": True, "c": None})
    failed.turns[0].responses["a9"] = Response("a9", Status.ERROR)  # failed: no grade, not counted
    data = collect([*sessions, failed])
    rows = {row.id: row for row in accuracy(data)}
    assert set(rows) == {"demo:a", "demo:b"}  # "c" was never graded: not listed
    assert (rows["demo:a"].correct, rows["demo:a"].graded, rows["demo:a"].accuracy) == (3, 6, 0.5)
    assert (rows["demo:b"].correct, rows["demo:b"].graded) == (7, 7)
    assert rows["demo:b"].ci95 == (round(clopper_pearson(7, 7)[0], 4), 1.0)
    # The tag filter applies as it does to votes.
    assert accuracy(collect(sessions, tags=["code"])) == []
