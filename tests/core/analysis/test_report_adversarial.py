"""Adversarial: ``chatlab stats`` on data a real lab produces — raters' agreement
(Krippendorff's α) when comparisons don't all show the same contenders, and the
"could you tell which one reasoned?" tests when one model sits in two lanes.
Every simulation is seeded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chatlab import cli
from chatlab.core.analysis.agreement import agreement
from chatlab.core.analysis.report import compute
from chatlab.core.analysis.votes import collect
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Lane, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Vote
from chatlab.store.db import Store, default_path

pytestmark = pytest.mark.hostile


def comparisons(count: int, models: list[str], study: str) -> list[Session]:
    """``count`` one-turn comparisons of ``models`` (fresh lanes each), as a study makes them."""
    out = []
    for k in range(count):
        lanes = [Lane("demo", m, label=m.upper()) for m in models]
        turn = Turn(prompt=f"{study} prompt {k}")
        for lane in lanes:
            turn.responses[lane.id] = Response(
                lane.id, Status.OK, text_parts=["x"], usage=Usage(input_tokens=1, output_tokens=10)
            )
        out.append(
            Session(
                lanes=lanes,
                turns=[turn],
                blind=True,
                study=StudyRef(study, study.upper(), f"p{k}", 0, ("t",)),
            )
        )
    return out


def coin_flips(sessions: list[Session], raters: int, rng: np.random.Generator) -> None:
    """Every rater picks one of the answers that came back (status ok), uniformly at random."""
    for s in sessions:
        turn = s.turns[0]
        ok = [lane for lane in s.lanes if turn.responses[lane.id].status is Status.OK]
        picks = rng.integers(0, len(ok), raters)
        turn.votes = [
            Vote(ok[p].id, rater=f"r{r}", shown_order=[lane.id for lane in ok]) for r, p in enumerate(picks)
        ]


def test_coin_flip_raters_over_two_studies_with_different_models_agree_at_about_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``chatlab stats`` over the whole database (its default): study S1 compares models a
    and b, study S2 compares c and d, two raters flip a coin on each of 400 comparisons.
    Expected: Krippendorff's α ≈ 0 (the fix's claim: coin-flipping raters give α ≈ 0).
    Actual: α ≈ 0.33. Within a comparison two coin-flippers agree half the time, but the
    expected agreement is taken from the pooled margins over four contenders (1/4), so
    α = 1 − 0.5/0.75: chance agreement reads as real agreement, and would be published."""
    sessions = comparisons(200, ["a", "b"], "s1") + comparisons(200, ["c", "d"], "s2")
    coin_flips(sessions, 2, np.random.default_rng(11))
    store = Store(default_path())
    try:
        for s in sessions:
            store.save_session(s)
    finally:
        store.close()
    capsys.readouterr()
    assert cli.main(["stats", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    a = doc["agreement"]
    assert a is not None and a["items"] == 400 and a["raters"] == 2
    assert abs(a["votes_alpha"]) < 0.1, a


def test_coin_flip_raters_on_a_round_robin_of_pairs_agree_at_about_zero() -> None:
    """Four models in pairs (every pair of a, b, c, d, 30 comparisons each), two raters
    flipping a coin. Expected: mean α over 100 seeded runs within ±0.05 of 0.
    Actual: about 0.32."""
    pairs = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
    sessions = [s for i, pair in enumerate(pairs) for s in comparisons(30, list(pair), f"s{i}")]
    rng = np.random.default_rng(12)
    alphas = []
    for _ in range(100):
        coin_flips(sessions, 2, rng)
        found = agreement(collect(sessions))
        assert found is not None and found.votes_alpha is not None
        alphas.append(found.votes_alpha)
    assert abs(float(np.mean(alphas))) < 0.05, np.mean(alphas)


def test_coin_flip_raters_in_one_study_with_failed_lanes_agree_at_about_zero() -> None:
    """One study of three models, 150 comparisons; in about half of them one lane failed
    for good (status error), and the queue shows those with the two answers that came
    back (rating.not_ready allows an error). Two raters flip a coin among the answers
    shown. Expected: mean α over 100 seeded runs within ±0.05 of 0. Actual: about 0.13,
    because comparisons of two are pooled with comparisons of three."""
    sessions = comparisons(150, ["a", "b", "c"], "s")
    fail = np.random.default_rng(5)
    for s in sessions:
        if fail.random() < 0.5:
            lane = s.lanes[int(fail.integers(0, 3))]
            s.turns[0].responses[lane.id] = Response(lane.id, Status.ERROR)
    rng = np.random.default_rng(13)
    alphas = []
    for _ in range(100):
        coin_flips(sessions, 2, rng)
        found = agreement(collect(sessions))
        assert found is not None and found.votes_alpha is not None
        alphas.append(found.votes_alpha)
    assert abs(float(np.mean(alphas))) < 0.05, np.mean(alphas)


def _twin_session(k: int) -> tuple[Session, Lane, Lane, Lane]:
    """One model in two lanes (same provider, model and parameters) beside another model;
    this time the first lane reasoned and the second did not."""
    first, second, other = (
        Lane("demo", "m", label="M1"),
        Lane("demo", "m", label="M2"),
        Lane("demo", "o", label="O"),
    )
    turn = Turn(prompt=f"p{k}")
    turn.responses[first.id] = Response(
        first.id,
        Status.OK,
        text_parts=["x"],
        reasoning_parts=["thinking"],
        usage=Usage(input_tokens=1, output_tokens=50, reasoning_tokens=40),
    )
    for lane in (second, other):
        turn.responses[lane.id] = Response(
            lane.id, Status.OK, text_parts=["x"], usage=Usage(input_tokens=1, output_tokens=10)
        )
    session = Session(
        lanes=[first, second, other], turns=[turn], blind=True, study=StudyRef("s", "S", f"p{k}", 0, ())
    )
    return session, first, second, other


def test_a_guess_of_the_plain_lane_of_a_model_shown_twice_is_not_counted_right() -> None:
    """A model in two lanes (allowed: stats counts "a model present twice"), one of its
    answers reasoned and the other not. The rater always marks the lane that did NOT
    reason. Expected: 0 of 20 right in "could you tell?" and in the "reasoned?" table.
    Actual: every guess counts as right (20 of 20, p ≈ 3e-10), because guesses and
    reasoners are mapped to the contender, and both lanes are one contender."""
    sessions = []
    for k in range(20):
        session, _first, second, _other = _twin_session(k)
        session.turns[0].votes = [Vote(second.id, guessed=[second.id], rater="ann")]
        sessions.append(session)
    doc = compute(sessions, rounds=20)
    d = doc["discrimination"]
    assert d is not None and d["correct"] == 0, d
    tp = doc["judgements"]["table"][0][0]
    assert tp == 0, doc["judgements"]
