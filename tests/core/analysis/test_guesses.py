"""The two quizzes never share a vote: ``discrimination`` (the answer quiz) counts only
sessions that hid the reasoning, ``discrimination_reasoning`` (the thinking quiz) only
those that showed it, where the truth is "trained to reason" (a prompted lane reasoned
but was not trained to). Its exact p-value is checked against scipy's binomial test and
a hand enumeration, and coin-flipping raters are simulated: it rejects at most 5 % of
the time. Every simulation is seeded."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import binomtest

from chatlab.core.analysis.guesses import discrimination, discrimination_reasoning, judgements
from chatlab.core.analysis.report import analyse, summary
from chatlab.core.analysis.votes import collect
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Lane, LaneParams, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Vote


def comparison(
    k: int, answers: int, show: bool = True, prompted: bool = True, all_prompted: bool = False
) -> Session:
    """One study comparison of ``answers`` lanes: a native reasoner (its reasoning from
    the provider), a plain model prompted to think (``think = "prompted"``, reasoning
    text too; unless not ``prompted``) and plain models (``all_prompted``: every other
    lane is prompted, so every pane shows reasoning text). No votes yet."""
    second = Lane("demo", "plain", LaneParams(think="prompted"), label="Prompted")
    others = [
        Lane("demo", f"plain{i}", LaneParams(think="prompted") if all_prompted else LaneParams())
        for i in range(answers)
    ]
    lanes = [
        Lane("demo", "thinker", LaneParams(reasoning_effort="high"), label="Thinker"),
        *([second] if prompted else []),
        *others,
    ][:answers]
    turn = Turn(prompt=f"p{k}", id=f"t{k}-{answers}-{show}")
    for i, lane in enumerate(lanes):
        reasoning = ["let me think"] if i == 0 or lane.params.think else []
        usage = Usage(5, 60, reasoning_tokens=40) if i == 0 else Usage(5, 30 + i, reasoning_tokens=0)
        turn.responses[lane.id] = Response(
            lane.id, Status.OK, reasoning_parts=reasoning, text_parts=["x"], usage=usage
        )
    return Session(
        lanes=lanes,
        turns=[turn],
        blind=True,
        study=StudyRef("s", "S", f"p{k}", 0, ("t",)),
        show_reasoning=show,
    )


def guess(session: Session, place: int, rng: np.random.Generator | None = None) -> None:
    """One rater's vote: a tie, the answers in a shuffled order, one lane named as the
    one trained to reason (``place`` in the lane list)."""
    ids = [lane.id for lane in session.lanes]
    order = list(rng.permutation(ids)) if rng is not None else ids
    turn = session.turns[0]
    turn.votes = [Vote("tie", guessed=[ids[place]], rater="ann", shown_order=[str(x) for x in order])]


def test_the_truth_is_trained_to_reason_and_a_prompted_lane_was_not() -> None:
    sessions = [comparison(k, 3) for k in range(4)]
    for k, s in enumerate(sessions):
        guess(s, 1 if k == 0 else 0)  # once the prompted lane, three times the native reasoner
    data = collect(sessions)
    assert all(v.trained and len(v.trained) == 1 and len(v.reasoners) == 2 for v in data.votes)
    found = discrimination_reasoning(data.votes)
    # The plain lane's pane reads "reasoning not shown": the pick is between two panes.
    assert (
        found is not None
        and (found.trials, found.correct) == (4, 3)
        and found.chance == pytest.approx(1 / 2, abs=1e-4)
    )
    # Two reasoners: no single-guess trial of the answer quiz, and these votes are not its anyway.
    assert discrimination(data.votes) is None and judgements(data.votes) is None


def test_the_two_quizzes_never_share_a_vote() -> None:
    shown = [comparison(k, 2, show=True) for k in range(6)]
    hidden = [comparison(k, 2, show=False, prompted=False) for k in range(6, 16)]
    for s in shown + hidden:
        guess(s, 0)
    report = analyse(shown + hidden, rounds=20)
    assert report.discrimination is not None and report.discrimination_reasoning is not None
    assert (report.discrimination.trials, report.discrimination_reasoning.trials) == (10, 6)
    assert report.judgements is not None and sum(map(sum, report.judgements.table)) == 20  # 10 votes × 2
    doc = report.to_dict()
    assert list(doc).index("discrimination_reasoning") == list(doc).index("discrimination") + 1
    assert set(doc["discrimination_reasoning"]) == set(doc["discrimination"])  # the same fields
    [line] = [s for s in summary(report) if "trained to reason" in s]
    assert "6 of 6 right" in line and "p = 0.0156" in line  # ½⁶
    only_hidden = analyse(hidden, rounds=20)
    assert only_hidden.discrimination_reasoning is None
    assert not any("trained to reason" in s for s in summary(only_hidden))
    assert only_hidden.to_dict()["discrimination_reasoning"] is None


@pytest.mark.parametrize(("n", "right"), [(1, 1), (12, 9), (20, 10), (30, 20), (25, 25), (40, 13)])
def test_the_p_value_equals_scipys_binomial_test(n: int, right: int) -> None:
    sessions = [comparison(k, 2) for k in range(n)]
    for k, s in enumerate(sessions):
        guess(s, 0 if k < right else 1)
    found = discrimination_reasoning(collect(sessions).votes)
    assert found is not None and (found.trials, found.correct) == (n, right)
    expected = binomtest(right, n, 0.5, alternative="greater")
    assert found.p_value == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-15)
    lo, hi = binomtest(right, n, 0.5).proportion_ci(0.95, method="exact")  # two-sided: Clopper–Pearson
    assert found.accuracy_ci95 == (round(lo, 4), round(hi, 4))


def test_the_p_value_equals_a_hand_enumeration_when_chances_differ() -> None:
    # Ten votes of 2, 3 or 4 answers (chance 1/2, 1/3, 1/4), six right.
    sizes = [2, 3, 4, 2, 3, 4, 2, 3, 4, 4]
    sessions = [comparison(k, m, all_prompted=True) for k, m in enumerate(sizes)]
    rights = [True, False, True, True, False, True, False, True, True, False]
    for s, ok in zip(sessions, rights, strict=True):
        guess(s, 0 if ok else 1)
    found = discrimination_reasoning(collect(sessions).votes)
    assert found is not None and found.correct == sum(rights) and found.trials == len(sizes)
    chances = [1 / m for m in sizes]
    tail = 0.0
    for outcome in itertools.product((0, 1), repeat=len(chances)):
        if sum(outcome) >= found.correct:
            tail += math.prod(p if hit else 1 - p for p, hit in zip(chances, outcome, strict=True))
    assert found.p_value == pytest.approx(tail, rel=1e-12)
    assert found.chance == pytest.approx(float(np.mean(chances)), abs=1e-4)


def test_coin_flipping_raters_are_told_apart_from_chance_at_most_5_percent_of_the_time() -> None:
    """2,000 simulated studies of 30 votes of 2–4 answers, each rater naming one answer
    at random from a shuffled screen: the exact test rejects at α = 0.05 at most 5 % of
    the time (it is exact, so conservative where the count is lumpy)."""
    rng = np.random.default_rng(2121)
    sizes = [2, 3, 4] * 10
    sessions = [comparison(k, m, all_prompted=True) for k, m in enumerate(sizes)]
    rejected = 0
    studies = 2000
    for _ in range(studies):
        for s in sessions:
            guess(s, int(rng.integers(len(s.lanes))), rng)
        found = discrimination_reasoning(collect(sessions).votes)
        assert found is not None and found.trials == 30
        rejected += found.p_value <= 0.05
    size = rejected / studies
    assert 0.02 <= size <= 0.05, size


def test_chatlab_stats_says_the_thinking_quiz_in_one_line_and_writes_it_in_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from chatlab import cli
    from chatlab.store.db import Store, default_path

    sessions = [comparison(k, 2) for k in range(8)]
    for k, s in enumerate(sessions):
        guess(s, 0 if k < 7 else 1)
    default_path().parent.mkdir(parents=True, exist_ok=True)
    store = Store(default_path())
    try:
        store.create_study("s", "S", {}, sessions)
    finally:
        store.close()
    capsys.readouterr()
    assert cli.main(["stats"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if "trained to reason" in x]
    assert lines == [
        "With the reasoning shown, could you tell which one was trained to reason? 7 of 8 right "
        "(88%, 95 % CI 47%–100%) against 50% by chance, p = 0.0352."
    ]
    assert cli.main(["stats", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["discrimination_reasoning"]["correct"] == 7 and doc["discrimination"] is None


def test_several_reasoners_on_screen_count_at_their_share_of_chance() -> None:
    """Seven answers, four of them from reasoners (the demo study): one guess is right
    when it names any of the four, so chance is 4/7 a vote, and the p-value is the
    binomial test at that chance. A vote where every answer reasoned says nothing."""
    from chatlab.core.analysis.exact import exact_p
    from chatlab.core.analysis.votes import Vote as Fitted

    votes = [
        Fitted(
            "p",
            list(range(7)),
            [1.0] + [0.0] * 6,
            guessed=[k % 7],
            reasoners=[0, 1, 2, 3],
            answer_tokens=[1] * 7,
        )
        for k in range(21)
    ]
    votes.append(Fitted("q", [0, 1], [1.0, 0.0], guessed=[0], reasoners=[0, 1], answer_tokens=[1, 2]))
    d = discrimination(votes)
    assert d is not None and (d.trials, d.correct, d.chance) == (21, 12, round(4 / 7, 4))
    assert d.p_value == pytest.approx(binomtest(12, 21, 4 / 7, alternative="greater").pvalue)
    assert d.p_value == pytest.approx(exact_p(12, [4 / 7] * 21))


def test_coin_flips_among_several_reasoners_are_called_skilled_at_most_5_percent_of_the_time() -> None:
    from chatlab.core.analysis.votes import Vote as Fitted

    rng = np.random.default_rng(11)
    called = 0
    studies = 1000
    for _ in range(studies):
        votes = []
        for _ in range(20):
            n = int(rng.integers(2, 8))
            truths = sorted(rng.choice(n, int(rng.integers(1, n)), replace=False).tolist())
            votes.append(
                Fitted(
                    "p",
                    list(range(n)),
                    [1.0] + [0.0] * (n - 1),
                    guessed=[int(rng.integers(n))],
                    reasoners=truths,
                    answer_tokens=[1] * n,
                )
            )
        d = discrimination(votes)
        called += d is not None and d.p_value < 0.05
    assert called / studies <= 0.05, called
