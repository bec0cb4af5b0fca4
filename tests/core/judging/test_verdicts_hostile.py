"""parse_verdict against text built to fool or stall it: lookalike letters, JSON nested
past any recursion limit, a hundred thousand objects, a verdict in a reasoning-only or
refusing answer. Each is no verdict with a reason (or the one real verdict), quickly."""

from __future__ import annotations

import json
import time

import pytest

from chatlab.core.judging.verdicts import parse_verdict

LETTERS = ("A", "B")
CRITERIA = ("quality", "clarity")


def _verdict(choice: str) -> str:
    scores = {"A": {"quality": 7, "clarity": 7}, "B": {"quality": 5, "clarity": 5}}
    return json.dumps({"scores": scores, "choice": choice, "reason": "x"}, ensure_ascii=False)


@pytest.mark.parametrize(
    "lookalike", ["А", "Α", "Ꭺ", "𝐀", "A\u200b", "\u202eA"]
)  # Cyrillic, Greek, Cherokee, bold, ZWSP, RLO
def test_a_lookalike_letter_is_never_read_as_a_letter(lookalike: str) -> None:
    verdict = parse_verdict(_verdict(lookalike), LETTERS, CRITERIA)
    assert verdict.choice is None and verdict.problem


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_past_the_recursion_limit_is_no_verdict_not_a_crash(depth: int) -> None:
    text = '{"choice": ' + "[" * depth + "]" * depth + "}"
    started = time.monotonic()
    verdict = parse_verdict(text, LETTERS, CRITERIA)
    assert verdict.choice is None and verdict.problem
    assert time.monotonic() - started < 5


def test_deep_nesting_before_a_real_verdict_still_finds_no_guess() -> None:
    text = "[" * 50_000 + _verdict("A")
    verdict = parse_verdict(text, LETTERS, CRITERIA)
    assert verdict.choice in ("A", None)  # the one real verdict, or none: never another letter


def test_a_hundred_thousand_json_objects_are_no_verdict_quickly() -> None:
    text = "\n".join(f'{{"n": {i}}}' for i in range(100_000)) + "\n" + _verdict("B")
    started = time.monotonic()
    verdict = parse_verdict(text, LETTERS, CRITERIA)
    assert time.monotonic() - started < 10
    assert verdict.choice in (None, "B")
    if verdict.choice is None:
        assert verdict.problem


def test_a_hundred_thousand_verdicts_are_never_a_guess() -> None:
    text = "\n".join(_verdict("A" if i % 2 else "B") for i in range(100_000))
    started = time.monotonic()
    verdict = parse_verdict(text, LETTERS, CRITERIA)
    assert time.monotonic() - started < 10
    assert verdict.choice is None and verdict.problem


@pytest.mark.parametrize("choice", ["A", "B", "tie"])
def test_a_verdict_split_at_every_point_reads_the_same(choice: str) -> None:
    whole = _verdict(choice)
    for cut in range(len(whole) + 1):  # the pieces joined as a stream's text would be
        assert parse_verdict(whole[:cut] + whole[cut:], LETTERS, CRITERIA).choice == choice


def test_only_half_a_verdict_is_no_verdict() -> None:
    whole = _verdict("A")
    for cut in range(1, len(whole) - 1, 7):
        verdict = parse_verdict(whole[:cut], LETTERS, CRITERIA)
        assert verdict.choice is None and verdict.problem, whole[:cut]
