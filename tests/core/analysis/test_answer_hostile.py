"""The answer card under data built to make it say something wrong: no difference at all
from a handful of prompts (each with many samples or votes), prompts that all say the
same thing (every answer right, every answer wrong, every vote a tie), and numbers that
round to nothing. Under the null an interval may exclude zero about 5% of the time, an
interval never shrinks to a point that reads as certainty, and every interval a
sentence states is in the JSON, written without "-0", "+-" or "nan"."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chatlab.core.analysis.answer import (
    UNIFORM,
    Help,
    Open,
    Verifiable,
    levels,
    more_prompts,
    open_gap,
    verifiable,
)
from chatlab.core.analysis.card import answer_card, headline
from chatlab.core.analysis.report import Report, analyse
from chatlab.core.analysis.votes import collect
from chatlab.core.data.events import Usage
from chatlab.core.data.model import LaneParams, Session, Status
from chatlab.core.data.votes import Vote
from tests.core.analysis.test_answer import HIGH, LOW, comparison

pytestmark = pytest.mark.hostile

LANES = [("m", HIGH), ("m", LaneParams())]


def null_keyed(
    rng: np.random.Generator, prompts: int, with_samples: int, without_samples: int
) -> list[Session]:
    """Keyed prompts of random difficulty where reasoning changes nothing; each contender
    answers each prompt its own number of times."""
    out = []
    for k in range(prompts):
        chance = 1 / (1 + np.exp(-rng.normal(0.0, 1.5)))
        for s in range(max(with_samples, without_samples)):
            right = [
                bool(rng.random() < chance) if s < with_samples else None,
                bool(rng.random() < chance) if s < without_samples else None,
            ]
            out.append(comparison(k, LANES, right=right, reasoning=[200, 0], sample=s))
    return out


@pytest.mark.parametrize(("with_samples", "without_samples"), [(1, 1), (8, 8), (8, 1)])
def test_from_five_prompts_no_difference_is_found_about_5_percent_of_the_time(
    with_samples: int, without_samples: int
) -> None:
    """The plain percentile interval excluded zero 12% of the time here (5 prompts, 8
    samples each): a bootstrap of 5 values is too narrow unless widened."""
    rng = np.random.default_rng(5)
    found = 0
    studies = 400
    for i in range(studies):
        result = verifiable(collect(null_keyed(rng, 5, with_samples, without_samples)), 0, 1, seed=i)
        assert result is not None and result.prompts == 5
        assert (result.ci95 is None) == (result.note == UNIFORM)
        found += result.ci95 is not None and not result.ci95[0] <= 0 <= result.ci95[1]
    assert found / studies <= 0.08, found


def test_from_five_open_prompts_no_difference_is_found_about_5_percent_of_the_time() -> None:
    """Three votes on each of 5 open prompts, a coin deciding each: the plain percentile
    interval of the refitted gap excluded zero 15% of the time."""
    rng = np.random.default_rng(3)
    found = 0
    studies = 400
    for i in range(studies):
        sessions = [
            comparison(k, LANES, winner=int(rng.random() < 0.5), sample=s, tags=("w",), reasoning=[9, 0])
            for k in range(5)
            for s in range(3)
        ]
        gap = open_gap(collect(sessions), 0, 1, seed=i)
        assert gap is not None
        found += gap.ci95 is not None and not gap.ci95[0] <= 0 <= gap.ci95[1]
    assert found / studies <= 0.08, found


def test_the_interval_is_widened_for_few_prompts_and_not_for_many() -> None:
    lo, hi = levels(5)
    assert 0.05 < lo < 0.15 and hi == pytest.approx(100 - lo)
    assert levels(1_000) == pytest.approx((2.5, 97.5), abs=0.05)
    assert levels(5)[0] < levels(10)[0] < levels(30)[0] < 2.5


@pytest.mark.parametrize(
    ("right", "diff"),
    [([True, True], 0.0), ([False, False], 0.0), ([True, False], 1.0), ([False, True], -1.0)],
    ids=["every answer right", "every answer wrong", "reasoner always right", "reasoner always wrong"],
)
def test_prompts_that_all_say_the_same_give_no_interval_and_say_why(right: list[bool], diff: float) -> None:
    """Every resample of identical prompts is the same: a zero-width interval ("95 % CI
    +100 to +100" from 6 prompts) read as certainty."""
    sessions = [comparison(k, LANES, right=right, reasoning=[9, 0], winner=0) for k in range(6)]
    report = analyse(sessions, rounds=200)
    [h] = report.reasoning_help
    assert h.verifiable is not None
    assert (h.verifiable.diff, h.verifiable.ci95, h.verifiable.note) == (diff, None, UNIFORM)
    assert report.to_dict()["reasoning_help"][0]["verifiable"]["note"] == UNIFORM
    lines = [line for s in answer_card(report) for line in s.lines]
    assert any("too uniform for an interval; more graded prompts would give one" in line for line in lines)
    assert not any("95 % CI" in line and "points" in line for line in lines)
    assert "too few prompts" not in (headline(report) or "")


def test_dropping_the_one_prompt_that_differs_does_not_shrink_the_interval_to_a_point() -> None:
    sessions = [comparison(k, LANES, right=[True, k == 0], reasoning=[9, 0]) for k in range(10)]
    full = verifiable(collect(sessions), 0, 1)
    assert full is not None and full.ci95 is not None and full.ci95[1] - full.ci95[0] > 0
    fewer = verifiable(collect(sessions[1:]), 0, 1)
    assert fewer is not None and fewer.ci95 is None and fewer.note == UNIFORM


def test_open_prompts_whose_every_vote_is_a_tie_give_no_interval() -> None:
    sessions = []
    for k in range(6):
        s = comparison(k, LANES, tags=("w",), reasoning=[9, 0])
        s.turns[0].votes.append(Vote("tie", rater="ann", shown_order=[lane.id for lane in s.lanes]))
        sessions.append(s)
    report = analyse(sessions, rounds=200)
    [h] = report.reasoning_help
    assert h.open is not None and h.open.ci95 is None and h.open.note is not None
    lines = [line for s in answer_card(report) for line in s.lines]
    assert not any("CI" in line for line in lines)
    assert any("rating: too uniform for an interval" in line for line in lines)


def card_of(v: Verifiable | None, o: Open | None) -> list[str]:
    report = Report(
        votes=0,
        sighted_left_out=0,
        prompts=0,
        warning=None,
        contenders=[],
        reasoning_help=[Help(base="demo:m", with_="w", without="p", verifiable=v, open=o)],
    )
    report.reasoning_help[0].by_tag["t"] = report.reasoning_help[0]  # type: ignore[assignment]
    return [headline(report) or "", *(line for s in answer_card(report) for line in s.lines)]


@pytest.mark.parametrize("x", [-0.004, -0.0, 0.0, 0.004, -0.4 / 100])
def test_numbers_that_round_to_nothing_read_0_never_minus_0(x: float) -> None:
    v = Verifiable(accuracy_with=0.5, accuracy_without=0.5, diff=x, ci95=(x, 0.3), prompts=9)
    o = Open(rating_diff=x * 100, ci95=(x * 100, 40.0), prompts=9)
    for line in card_of(v, o):
        assert not re.search(r"-0\b|\+0\b|\+-|-\+|nan|inf", line, re.IGNORECASE), line
        if "95 % CI 0 to" in line and "By tag" not in line and "Reasoning (" not in line:
            assert "the interval includes zero" in line, line


def test_every_interval_a_sentence_states_is_the_one_in_the_json() -> None:
    rng = np.random.default_rng(11)
    for prompts in (3, 5, 9, 20):
        sessions = []
        for k in range(prompts):
            chance = [0.8, 0.4]
            right = [bool(rng.random() < c) for c in chance]
            sessions.append(
                comparison(k, LANES, right=right, reasoning=[50, 0], winner=int(rng.random() < 0.4))
            )
        report = analyse(sessions, rounds=300)
        doc = report.to_dict()["reasoning_help"]
        for h, line in zip(
            doc, (s.lines[0] for s in answer_card(report) if s.heading.startswith("Reasoning:")), strict=True
        ):
            ci = h["verifiable"]["ci95"]
            stated = re.search(r"95 % CI ([+-]?\d+) to ([+-]?\d+)", line)
            if ci is None:
                assert stated is None, line
            else:
                assert stated is not None, line
                assert (int(stated[1]), int(stated[2])) == (round(ci[0] * 100), round(ci[1] * 100)), line
            assert f"{h['verifiable']['accuracy_with']:.0%} right with reasoning" in line


@pytest.mark.parametrize(
    ("prompts", "ci"),
    [(0, None), (0, (0.0, 1.0)), (7, (0.3, 0.3)), (7, (float("nan"), 0.5)), (7, (-1.0, 1.0))],
)
def test_more_prompts_gives_a_count_or_nothing_and_never_raises(
    prompts: int, ci: tuple[float, float] | None
) -> None:
    found = more_prompts(prompts, ci, 0.1)
    assert found is None or (isinstance(found, int) and found >= 1)


def test_plain_settings_that_differ_in_temperature_are_no_dose_of_thinking() -> None:
    """Three plain temperatures made a "More thinking, better answers?" section of three
    settings that all think 0 tokens; one reasoner beside two of them did too."""
    temps = [("m", LaneParams()), ("m", LaneParams(temperature=0.0)), ("m", LaneParams(temperature=1.0))]
    sessions = [comparison(k, temps, right=[True, False, k % 2 == 0], winner=k % 3) for k in range(6)]
    report = analyse(sessions, rounds=50)
    assert report.dose_response == []
    assert not any(s.heading.startswith("More thinking") for s in answer_card(report))
    one = [("m", HIGH), ("m", LaneParams()), ("m", LaneParams(temperature=1.0))]
    sessions = [comparison(k, one, reasoning=[500, 0, 0], winner=k % 3) for k in range(6)]
    assert analyse(sessions, rounds=50).dose_response == []
    ladder = [("m", HIGH), ("m", LOW), ("m", LaneParams())]  # two that reason: a dose, the plain one in it
    sessions = [comparison(k, ladder, reasoning=[900, 90, 0], winner=k % 3) for k in range(6)]
    [dose] = analyse(sessions, rounds=50).dose_response
    assert [p.median_reasoning_tokens for p in dose.points] == [0, 90, 900]


def test_reasoning_tokens_from_a_provider_that_reported_no_usage_are_marked_estimated() -> None:
    """An answer whose provider sent no usage has every count estimated by chatlab (≈),
    its reasoning too, though ``reasoning_estimated`` is not set."""
    sessions = [comparison(k, LANES, reasoning=[500, 0], winner=0) for k in range(6)]
    for s in sessions[:1]:
        for resp in s.turns[0].responses.values():
            resp.usage = Usage(5, 600, reasoning_tokens=resp.usage.reasoning_tokens, estimated=True)
    report = analyse(sessions, rounds=50)
    assert report.reasoning_tokens["demo:m {reasoning_effort=high}"]["all"].estimated
    [line] = [
        line for s in answer_card(report) if s.heading == "Reasoning tokens per answer" for line in s.lines
    ]
    assert "median ≈500" in line and "most ≈500" in line


def _placebo(sessions: list[Session], place: int) -> list[Session]:
    for s in sessions:
        s.lanes[place].placebo = True
    return sessions


def _failed(sessions: list[Session], place: int) -> list[Session]:
    for s in sessions:
        resp = s.turns[0].responses[s.lanes[place].id]
        resp.status, resp.text_parts, resp.grades = Status.ERROR, [], []
    return sessions


NATIVE_PROMPTED = LaneParams(reasoning_effort="high", think="prompted")
DEGENERATE = {
    "one prompt": lambda: [comparison(0, LANES, right=[True, False], reasoning=[9, 0], winner=0)],
    "no plain contender": lambda: [
        comparison(k, [("m", HIGH), ("m", LOW)], right=[True, k % 2 == 0], reasoning=[90, 9], winner=k % 2)
        for k in range(7)
    ],
    "a reasoner asked to think as well": lambda: [
        comparison(
            k,
            [("m", NATIVE_PROMPTED), ("m", LaneParams())],
            right=[k % 3 != 0, k % 2 == 0],
            reasoning=[90, 0],
        )
        for k in range(7)
    ],
    "placebo twin of the plain model": lambda: _placebo(
        [
            comparison(
                k,
                [*LANES, ("m", LaneParams())],
                right=[True, k % 2 == 0, k % 3 == 0],
                reasoning=[9, 0, 0],
                winner=k % 3,
            )
            for k in range(7)
        ],
        2,
    ),
    "two plain settings": lambda: [
        comparison(
            k,
            [*LANES, ("m", LaneParams(temperature=1.0))],
            right=[True, k % 2 == 0, False],
            reasoning=[9, 0, 0],
            winner=k % 3,
        )
        for k in range(7)
    ],
    "every plain answer failed": lambda: _failed(
        [comparison(k, LANES, right=[k % 2 == 0, False], reasoning=[9, 0], winner=0) for k in range(7)], 1
    ),
    "grades, no votes": lambda: [
        comparison(k, LANES, right=[k % 2 == 0, k % 3 == 0], reasoning=[9, 0]) for k in range(7)
    ],
    "votes, no grades": lambda: [
        comparison(k, LANES, reasoning=[9, 0], winner=k % 2, tags=("w",)) for k in range(7)
    ],
}


@pytest.mark.parametrize("case", DEGENERATE, ids=list(DEGENERATE))
def test_degenerate_studies_give_an_honest_card_and_a_json_without_nan(case: str) -> None:
    import json

    report = analyse(DEGENERATE[case](), rounds=200)
    doc = report.to_dict()
    json.dumps(doc, allow_nan=False)  # no NaN or infinity anywhere in the document
    lines = [headline(report) or "", *(line for s in answer_card(report) for line in s.lines)]
    for line in lines:
        assert not re.search(r"-0\b|\+0\b|\+-|-\+|nan|inf\b|None", line), line
    for h, section in zip(
        doc["reasoning_help"],
        (s for s in answer_card(report) if s.heading.startswith("Reasoning:")),
        strict=True,
    ):
        said = " ".join(section.lines)
        for side in ("verifiable", "open"):
            found = h[side]
            if found is None or found["ci95"] is None:
                continue
            lo, hi = found["ci95"]
            if side == "verifiable":
                lo, hi = lo * 100, hi * 100
            assert f"95 % CI {round(lo):+d}".replace("+0", "0") in said or round(lo) == 0, (side, said)
        assert h["with"] != h["without"]
    twins = [c["id"] for c in doc["contenders"] if "(placebo" in c["id"]]
    assert not any(t in (h["with"], h["without"]) for h in doc["reasoning_help"] for t in twins)
