"""demo-judge: its verdicts parse as chatlab reads them, over every wire format, and its
scripted biases are what chatlab's order swaps measure (a simulation with the expected
rates computed here, independently of the judge's code)."""

from __future__ import annotations

import json
import math

import pytest

from chatlab.core.judging.orders import combine, orders
from chatlab.core.judging.prompt import Shown, judge_messages
from chatlab.core.judging.rubrics import find_rubric
from chatlab.core.judging.verdicts import parse_verdict
from chatlab.demo import judge
from chatlab.demo.server import DemoServer
from tests.demo.wire import FORMATS, ask


def _verdict(answers: list[Shown], order: tuple[int, ...], rubric: str = "general") -> str:
    rb = find_rubric(rubric)
    _, user = judge_messages(rb, "Write a haiku about rain.", answers, order, show_reasoning=False)
    return judge.verdict(user)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_demo_judge_answers_over_the_wire_with_a_verdict_chatlab_reads(
    server: DemoServer, fmt: str
) -> None:
    rubric = find_rubric("writing")
    answers = [Shown("Rain on the tin roof"), Shown("Cold drops on tin, a drum"), Shown("Wet.")]
    system, user = judge_messages(
        rubric, "Write a haiku about rain.", answers, (1, 2, 0), show_reasoning=False
    )
    reply = ask(server, fmt, "demo-judge@tps=0", user, system=system)
    verdict = parse_verdict(reply.text, ("A", "B", "C"), rubric.criterion_names)
    assert verdict.ok, verdict.problem
    assert set(verdict.scores) == {"A", "B", "C"} and set(verdict.scores["A"]) == set(rubric.criterion_names)
    assert rubric.choose(verdict.scores, verdict.choice) == verdict.choice  # scores agree with the choice


def test_a_request_it_cant_read_gets_no_json() -> None:
    assert parse_verdict(judge.verdict("Which is better, tea or coffee?"), ("A", "B"), ()).choice is None


def _expected_consistency(first_len: int, second_len: int, first_best: bool) -> float:
    """P(both orders pick the same answer), from the scripted rates alone. Answer 0 is
    shown first in order 1 and second in order 2. Each order takes the first place with
    probability p, on its own draw; otherwise it gives the judge's one view of the
    answers (O), the same in both orders. Consistent: neither took its first place, or
    exactly one did and O is the answer it put there; both taking it pick different
    answers. So (1-p)² + p(1-p)·[P(O=0) + P(O=1)] = 1 - p, whatever the lengths."""
    p, q, a = judge.POSITION_BIAS, judge.LENGTH_BIAS, judge.AGREEMENT
    q_view = q / (1 - p)  # the view's length branch, given no position pick
    longest0 = first_len > second_len
    truth0 = a if first_best else 1 - a
    view0 = q_view * longest0 + (1 - q_view) * truth0  # P(O = answer 0)
    return (1 - p) ** 2 + p * (1 - p) * view0 + (1 - p) * p * (1 - view0)


def test_order_swaps_measure_the_scripted_position_bias_within_its_interval() -> None:
    """600 two-answer comparisons, each judged both ways round: the share of consistent
    outcomes matches what the scripted position and length biases imply, within 4
    standard errors; a judge without position bias would be far more consistent."""
    consistent, expected = 0, []
    for i in range(600):
        a, b = Shown(f"answer {i} " + "x" * (i % 7)), Shown(f"other {i} " + "y" * (i % 5))
        answers = [a, b]
        choices, problems = [], []
        for order in orders(2):
            v = parse_verdict(_verdict(answers, order), ("A", "B"), ("quality", "clarity"))
            choices.append(v.choice)
            problems.append(v.problem)
        outcome = combine(orders(2), choices, problems)
        assert outcome.choice is not None
        consistent += outcome.consistent
        first_best = judge.quality(a.text) > judge.quality(b.text)
        expected.append(_expected_consistency(len(a.text), len(b.text), first_best))
    mean = sum(expected) / len(expected)
    se = math.sqrt(sum(e * (1 - e) for e in expected)) / len(expected)
    assert abs(consistent / 600 - mean) < 4 * se, (consistent / 600, mean, se)
    assert mean < 0.9  # the bias is large enough that a test could miss it no other way


def test_the_length_bias_shows_as_the_longer_answer_winning_more_than_truth_alone_gives() -> None:
    """Among comparisons where the longer answer is not the better one, it still wins at
    about LENGTH_BIAS + its share of the other branches."""
    wins = n = 0
    for i in range(800):
        short, long_ = Shown(f"s{i}"), Shown(f"l{i} " + "z" * 40)
        if judge.quality(long_.text) > judge.quality(short.text):
            continue
        v = json.loads(_verdict([short, long_], (0, 1)))
        n += 1
        wins += v["choice"] == "B"
    p, q, a = judge.POSITION_BIAS, judge.LENGTH_BIAS, judge.AGREEMENT
    want = q + (1 - p - q) * (1 - a)  # B is second (never the position pick) and not the best
    se = math.sqrt(want * (1 - want) / n)
    assert abs(wins / n - want) < 4 * se, (wins / n, want, n)
