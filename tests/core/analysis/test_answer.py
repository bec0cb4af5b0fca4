"""The answer card's numbers: which contenders pair up, the paired bootstrap for the
accuracy difference (against scipy's bootstrap, and by simulation: coverage over 200
simulated studies, false positives under the null), the open-prompt rating gap,
reasoning tokens, the dose-response list, and the card's sentences."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from scipy import stats

from chatlab.core.analysis.answer import (
    MIN_PROMPTS,
    more_prompts,
    paired_bootstrap,
    pairs,
    reasoning_help,
    verifiable,
)
from chatlab.core.analysis.card import answer_card, headline
from chatlab.core.analysis.report import analyse
from chatlab.core.analysis.votes import collect
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Grade, Lane, LaneParams, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Vote

HIGH = LaneParams(reasoning_effort="high")
LOW = LaneParams(reasoning_effort="low")
PROMPTED = LaneParams(think="prompted")


def comparison(
    k: int,
    lanes: list[tuple[str, LaneParams]],
    *,
    right: Sequence[bool | None] | None = None,
    winner: int | None = None,
    tags: tuple[str, ...] = ("math",),
    sample: int = 0,
    reasoning: list[int] | None = None,
    study: str = "s",
) -> Session:
    """One study comparison of prompt ``p{k}``: each lane answers, graded when ``right``
    says so, with ``reasoning[i]`` reasoning tokens; ``winner`` gets the one vote."""
    ls = [
        Lane("demo", model, params, id=f"{study}{k}-{sample}-{i}") for i, (model, params) in enumerate(lanes)
    ]
    turn = Turn(prompt=f"p{k}", id=f"t{study}{k}-{sample}")
    for i, lane in enumerate(ls):
        spent = reasoning[i] if reasoning else 0
        resp = Response(
            lane.id,
            Status.OK,
            reasoning_parts=["thinking"] if spent and lane.params.think else [],
            text_parts=["answer"],
            usage=Usage(
                input_tokens=5,
                output_tokens=20 + spent,
                reasoning_tokens=spent,
                reasoning_estimated=bool(lane.params.think and spent),
            ),
        )
        if right is not None and right[i] is not None:
            resp.grades = [Grade(bool(right[i]), "")]
        turn.responses[lane.id] = resp
    if winner is not None:
        turn.votes.append(Vote(ls[winner].id, rater="ann", shown_order=[x.id for x in ls]))
    return Session(
        lanes=ls,
        turns=[turn],
        blind=True,
        id=f"{study}{k}-{sample}",
        study=StudyRef(study, "S", f"p{k}", sample, tags),
    )


# -- pairs -----------------------------------------------------------------------------------


def test_a_base_pairs_each_reasoning_setting_with_its_plain_setting_only() -> None:
    lanes = [("m", HIGH), ("m", LaneParams()), ("m", PROMPTED), ("other", LaneParams())]
    sessions = [comparison(k, lanes, reasoning=[300, 0, 0, 0], winner=0) for k in range(3)]
    data = collect(sessions)
    kinds = dict(zip(data.contenders, data.kinds, strict=True))
    assert kinds == {
        "demo:m {reasoning_effort=high}": "native",
        "demo:m": "plain",
        "demo:m {think=prompted}": "prompted",
        "demo:other": "plain",
    }
    found = {(base, data.contenders[w], data.contenders[p]) for base, w, p in pairs(data)}
    assert found == {
        ("demo:m", "demo:m {reasoning_effort=high}", "demo:m"),
        ("demo:m", "demo:m {think=prompted}", "demo:m"),
    }


# -- the paired bootstrap ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [6, 15, 40])
def test_the_paired_bootstrap_agrees_with_scipys(n: int) -> None:
    rng = np.random.default_rng(n)
    diffs = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], size=n, p=[0.1, 0.1, 0.4, 0.2, 0.2])
    ours = paired_bootstrap(diffs, rounds=20_000, seed=1)
    # Widened for few prompts (answer.levels): the percentile interval at t's tails.
    tail = stats.norm.cdf(-math.sqrt(n / (n - 1)) * stats.t.ppf(0.975, n - 1))
    level = 1 - 2 * tail
    theirs = stats.bootstrap(
        (diffs,), np.mean, n_resamples=20_000, method="percentile", random_state=2, confidence_level=level
    )
    low, high = theirs.confidence_interval
    assert ours == pytest.approx((low, high), abs=0.03)


def _study(
    rng: np.random.Generator, effect: float, prompts: int = 30, samples: int = 2
) -> tuple[Session, ...]:
    """Prompts of random difficulty; the reasoner's chance of a right answer is the plain
    model's shifted by ``effect`` on the log-odds scale."""
    out = []
    lanes = [("m", HIGH), ("m", LaneParams())]
    for k in range(prompts):
        ease = rng.normal(0.0, 1.5)
        chance = [1 / (1 + np.exp(-(ease + effect))), 1 / (1 + np.exp(-ease))]
        for s in range(samples):
            right = [bool(rng.random() < c) for c in chance]
            out.append(comparison(k, lanes, right=right, reasoning=[200, 0], sample=s))
    return tuple(out)


def _truth(effect: float) -> float:
    """The population's accuracy difference for ``effect`` (by simulation, once)."""
    ease = np.random.default_rng(0).normal(0.0, 1.5, 2_000_000)
    return float(np.mean(1 / (1 + np.exp(-(ease + effect))) - 1 / (1 + np.exp(-ease))))


def test_the_accuracy_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(21)
    truth = _truth(0.8)
    covered = 0
    studies = 200
    for i in range(studies):
        data = collect(_study(rng, 0.8))
        found = verifiable(data, 0, 1, rounds=1000, seed=i)
        assert found is not None and found.ci95 is not None and found.prompts == 30
        covered += found.ci95[0] <= truth <= found.ci95[1]
    # 200 studies: one standard error of a 95 % rate is 1.5 points.
    assert 0.90 <= covered / studies <= 0.99, covered


def test_no_difference_is_found_about_5_percent_of_the_time_when_there_is_none() -> None:
    rng = np.random.default_rng(7)
    found_one = 0
    studies = 200
    for i in range(studies):
        data = collect(_study(rng, 0.0))
        result = verifiable(data, 0, 1, rounds=1000, seed=i)
        assert result is not None and result.ci95 is not None
        found_one += not result.ci95[0] <= 0 <= result.ci95[1]
    assert found_one / studies <= 0.09, found_one


def test_the_difference_is_taken_over_prompts_both_answered() -> None:
    lanes = [("m", HIGH), ("m", LaneParams())]
    sessions = [comparison(k, lanes, right=[True, k % 2 == 0], reasoning=[9, 0]) for k in range(6)]
    # A prompt only the reasoner was graded on is not part of the paired difference.
    sessions.append(comparison(6, lanes, right=[True, None], reasoning=[9, 0]))
    found = verifiable(collect(sessions), 0, 1)
    assert found is not None
    assert (found.prompts, found.accuracy_with, found.accuracy_without, found.diff) == (6, 1.0, 0.5, 0.5)
    assert found.ci95 is not None and found.ci95[0] <= 0.5 <= found.ci95[1]


def test_fewer_than_five_prompts_give_no_interval_and_say_how_many_more() -> None:
    lanes = [("m", HIGH), ("m", LaneParams())]
    sessions = [comparison(k, lanes, right=[True, False], reasoning=[9, 0], winner=0) for k in range(3)]
    report = analyse(sessions, rounds=100)
    [h] = report.reasoning_help
    assert h.verifiable is not None and h.verifiable.ci95 is None and h.verifiable.prompts == 3
    lines = [line for s in answer_card(report) for line in s.lines]
    assert any("too few for an interval (2 more graded prompts would give one)" in line for line in lines)
    assert (
        headline(report)
        == "Where does reasoning help? Too few prompts yet to say: every comparison below needs more."
    )


def test_more_prompts_follows_the_square_root_rule() -> None:
    assert more_prompts(10, (-0.2, 0.2), 0.1) == 30  # ±0.2 from 10 prompts: 40 give ±0.1
    assert more_prompts(10, (-0.05, 0.05), 0.1) is None
    assert more_prompts(3, None, 0.1) == MIN_PROMPTS - 3


# -- open prompts, tags, tokens, dose ------------------------------------------------------------


def test_open_prompts_give_a_rating_gap_and_keyed_prompts_stay_out_of_it() -> None:
    lanes = [("m", HIGH), ("m", LaneParams())]
    open_ = [
        comparison(k, lanes, winner=0 if k % 3 else 1, tags=("writing",), reasoning=[9, 0]) for k in range(9)
    ]
    # Keyed prompts that the plain model always wins: they must not move the open gap.
    keyed = [comparison(k + 20, lanes, right=[False, True], winner=1, reasoning=[9, 0]) for k in range(6)]
    data = collect([*open_, *keyed])
    [h] = reasoning_help(data, [*open_, *keyed], rounds=200)
    alone = reasoning_help(collect(open_), open_, rounds=200)[0]
    assert h.open is not None and alone.open is not None
    assert h.open.prompts == 9 and h.open.rating_diff == alone.open.rating_diff > 0
    assert h.verifiable is not None and h.verifiable.diff == -1.0
    # Each tag with five prompts or more has its own line; "writing" has 9, "math" 6.
    assert set(h.by_tag) == {"writing", "math"}
    assert h.by_tag["writing"].verifiable is None and h.by_tag["math"].open is None


def test_reasoning_tokens_are_counted_per_tag_and_an_estimate_says_so() -> None:
    lanes = [("m", PROMPTED), ("m", LaneParams())]
    spent = [100, 200, 300, 400, 1000]
    sessions = [
        comparison(k, lanes, reasoning=[n, 0], tags=("math",) if k < 3 else ("writing",), winner=0)
        for k, n in enumerate(spent)
    ]
    report = analyse(sessions, rounds=50)
    tokens = report.reasoning_tokens["demo:m {think=prompted}"]
    want = np.percentile(spent, [25, 50, 75])
    every = tokens["all"]
    assert (every.p25, every.median, every.p75, every.max, every.n) == (*want.tolist(), 1000, 5)
    assert every.estimated and tokens["math"].n == 3 and tokens["writing"].max == 1000
    assert not report.reasoning_tokens["demo:m"]["all"].estimated
    lines = [
        line for s in answer_card(report) if s.heading == "Reasoning tokens per answer" for line in s.lines
    ]
    assert lines == ["demo:m {think=prompted}: median ≈300 (middle half ≈200–400, most ≈1,000), 5 answers."]


def test_dose_response_needs_several_settings_and_orders_them_by_tokens() -> None:
    ladder = [("h", HIGH), ("h", LaneParams()), ("h", LOW)]
    sessions = [
        comparison(k, ladder, right=[True, k % 2 == 0, k % 3 != 0], reasoning=[3000, 0, 300], winner=k % 3)
        for k in range(8)
    ]
    report = analyse(sessions, rounds=100)
    [dose] = report.dose_response
    assert dose.base == "demo:h"
    assert [p.id for p in dose.points] == [
        "demo:h",
        "demo:h {reasoning_effort=low}",
        "demo:h {reasoning_effort=high}",
    ]
    assert [p.median_reasoning_tokens for p in dose.points] == [0, 300, 3000]
    assert dose.points[2].accuracy == 1.0 and dose.points[2].accuracy_ci95 is not None
    # On and off alone is the reasoning-help pair, not a dose.
    pair = [comparison(k, ladder[:2], reasoning=[3000, 0], winner=0) for k in range(3)]
    assert analyse(pair, rounds=20).dose_response == []


def test_a_wide_interval_says_how_many_more_prompts_would_narrow_it() -> None:
    lanes = [("m", HIGH), ("m", LaneParams())]
    right = [[True, False], [True, True], [False, False], [True, False], [True, False]]
    sessions = [comparison(k, lanes, right=r, reasoning=[9, 0], winner=0) for k, r in enumerate(right)]
    report = analyse(sessions, rounds=2000)
    [h] = report.reasoning_help
    assert h.verifiable is not None and h.verifiable.ci95 is not None
    half = (h.verifiable.ci95[1] - h.verifiable.ci95[0]) / 2
    want = math.ceil(5 * (half / 0.10) ** 2) - 5
    line = next(line for s in answer_card(report) for line in s.lines if line.startswith("On prompts with"))
    assert line.endswith(f" {want} more graded prompts would make this interval about ±10 points."), line


def test_the_card_names_no_test() -> None:
    lanes = [("m", HIGH), ("m", LaneParams())]
    sessions = [
        comparison(k, lanes, right=[True, k % 2 == 0] if k < 8 else None, reasoning=[9, 0], winner=k % 2)
        for k in range(16)
    ]
    for s in sessions:
        s.turns[0].votes[0].guessed = [s.lanes[0].id]
    report = analyse(sessions, rounds=100)
    text = " ".join(
        [headline(report) or "", *(line for s in answer_card(report) for line in [s.heading, *s.lines])]
    )
    assert "Could raters tell which answer came from a reasoner?" in text
    for word in ("Fisher", "Krippendorff", "χ²", "permutation", "binomial", "p ="):
        assert word not in text


def test_one_sided_open_votes_give_no_interval_and_say_why() -> None:
    """The plain model never wins an open prompt: its rating rests on the prior, and
    every bootstrap round is the same one-sided data (it read "+930, 95% CI +740 to
    +1018" on the demo study, and "+0, CI +0 to +0" for two that never won)."""
    lanes = [("m", HIGH), ("m", LaneParams()), ("x", LaneParams())]
    sessions = [
        comparison(k, lanes, winner=0 if k % 2 else 2, tags=("writing",), reasoning=[9, 0, 0])
        for k in range(8)
    ]
    [h] = analyse(sessions, rounds=200).reasoning_help
    assert h.open is not None and h.open.ci95 is None
    assert h.open.note == "demo:m never won in its 8 votes here: too one-sided for an interval"
    report = analyse(sessions, rounds=200)
    line = next(line for s in answer_card(report) for line in s.lines if line.startswith("On open prompts"))
    assert "too one-sided for an interval" in line and "+" not in line


def test_the_headline_states_only_the_differences_an_interval_supports() -> None:
    lanes = [("m", HIGH), ("m", LaneParams()), ("n", PROMPTED), ("n", LaneParams())]
    # m: reasoning always right, plain wrong on every other prompt; n: no difference.
    sessions = [
        comparison(
            k, lanes, right=[True, k % 2 == 0, k % 4 < 2, k % 2 == 0], reasoning=[9, 0, 5, 0], winner=k % 4
        )
        for k in range(12)
    ]
    report = analyse(sessions, rounds=500)
    line = headline(report)
    assert line is not None and line.startswith(
        "Where does reasoning help? Where answers can be checked, reasoning made a clear difference: "
        "demo:m {reasoning_effort=high} vs demo:m +50 points"
    )
    assert "demo:n" not in line  # its interval includes zero: not a finding
    for h in report.reasoning_help:
        if h.with_ == "demo:n {think=prompted}":
            assert h.verifiable is not None and h.verifiable.ci95 is not None
            assert h.verifiable.ci95[0] <= 0 <= h.verifiable.ci95[1]
