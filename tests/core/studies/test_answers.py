"""Answer keys graded by code: each of the five kinds, right and wrong, read from the
answer text alone; keys in a suite, kept in a study's snapshot; and hostile keys and
answers (a catastrophic regex, a 10 MB answer, NaN tolerances, a number only in the
reasoning) that must neither hang nor pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatlab.core.studies.answers import (
    REGEX_TIMEOUT_S,
    AnswerKeyError,
    boxed,
    final_choice,
    final_number,
    grade,
    parse_key,
)
from chatlab.core.studies.study import suite_data
from chatlab.core.studies.suites import SuiteError, load_suite, parse_suite


def check(raw: dict[str, Any], answer: str) -> bool:
    return grade(parse_key(raw), answer).correct


@pytest.mark.parametrize(
    ("raw", "answer", "right"),
    [
        ({"exact": "Paris"}, "Paris", True),
        ({"exact": "Paris"}, "paris", False),
        ({"exact": "Paris", "normalize": ["case"]}, "PARIS", True),
        ({"exact": "Paris", "normalize": ["case", "punct", "space"]}, "The capital is:\n  paris.", True),
        ({"exact": "x = 2", "normalize": ["markdown", "space"]}, "So the answer:\n**`x  = 2`**", True),
        ({"exact": "17"}, "Working...\n\\boxed{17}", True),
        ({"exact": "17"}, "17 is close but the answer is 18", False),
        ({"regex": r"\bO\(n log n\)"}, "It runs in O(n log n) time.", True),
        ({"regex": r"^def \w+\("}, "no function here", False),
        ({"number": 42}, "The answer is 42.", True),
        ({"number": 42}, "First 41, then after checking: 43", False),
        ({"number": 1234.5}, "Total: 1,234.50 dollars", True),
        ({"number": -3}, "x = −3", True),
        ({"number": 0.5, "tolerance": 0.01}, "about 0.505", True),
        ({"number": 100, "relative_tolerance": 0.02}, "roughly 98.5", True),
        ({"number": 100, "relative_tolerance": 0.01}, "roughly 98.5", False),
        ({"number": 7}, "I tried 3 and 5; \\boxed{7} is it. Then 12 steps.", True),  # boxed wins
        ({"choice": "C"}, "Let me think... The answer is (C).", True),
        ({"choice": "c"}, "Answer: C", True),
        ({"choice": "B"}, "A is wrong, C is wrong, so B", True),
        ({"choice": "B"}, "Answer: D. (B was tempting.)", False),
        ({"choice": "E"}, "\\boxed{E}", True),
        ({"contains_all": ["with open", "encoding"]}, "Use `with open(p, encoding='utf-8')`.", True),
        ({"contains_all": ["with open", "encoding"]}, "Use open(p).", False),
        ({"contains_none": ["eval("]}, "Parse it with ast.literal_eval.", True),
        ({"contains_none": ["eval("]}, "just eval(s)", False),
        ({"contains_all": ["json"], "contains_none": ["pickle"]}, "json, not pickle", False),
    ],
)
def test_each_kind_grades_right_and_wrong_answers(raw: dict[str, Any], answer: str, right: bool) -> None:
    assert check(raw, answer) is right


def test_a_grade_says_what_was_expected_and_found() -> None:
    result = grade(parse_key({"number": 42}), "I get 41.")
    assert not result.correct and result.detail == "expected 42, found 41"
    assert result.to_dict() == {"grader": "key", "correct": False, "detail": "expected 42, found 41"}
    assert grade(parse_key({"number": 42}), "no idea").detail == "expected 42, found no number"
    assert grade(parse_key({"choice": "A"}), "none").detail == "expected A, found no letter"


def test_the_reasoning_is_never_read() -> None:
    """grade() takes the answer text only: a number that appears in the reasoning but not
    in the answer finds nothing."""
    reasoning = "the sum is 42"
    answer = "I'd rather not say."
    assert final_number(reasoning) == 42
    assert not check({"number": 42}, answer)


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"exact": ""},
        {"exact": "a", "regex": "a"},
        {"exact": "a", "normalize": ["shout"]},
        {"exact": "a", "tolerance": 1},
        {"number": float("nan")},
        {"number": float("inf")},
        {"number": 1, "tolerance": float("nan")},
        {"number": 1, "tolerance": -1},
        {"number": 1, "relative_tolerance": 1.5},
        {"number": 1, "tolerance": 1, "relative_tolerance": 0.1},
        {"number": True},
        {"number": "42"},
        {"choice": "Z"},
        {"choice": "AB"},
        {"regex": "("},
        {"regex": "a" * 1_001},
        {"contains_all": []},
        {"contains_all": ["x"] * 65},
        {"contains_none": [""]},
        {"number": 1, "why": "typo"},
        "42",
    ],
)
def test_a_bad_key_is_refused_with_a_reason(raw: Any) -> None:
    with pytest.raises(AnswerKeyError) as caught:
        parse_key(raw)
    assert str(caught.value) and "\n" not in str(caught.value)


def test_a_catastrophic_regex_is_stopped_by_its_time_limit_and_not_graded_right() -> None:
    key = parse_key({"regex": r"^(a|aa)+$"})
    result = grade(key, "a" * 50_000 + "!")
    assert not result.correct and f"longer than {REGEX_TIMEOUT_S:g} s" in result.detail


def test_a_10_mb_answer_is_graded_by_every_kind() -> None:
    huge = "lorem ipsum " * 900_000 + "\nfinal: 42 (B)"
    assert len(huge) > 10_000_000
    assert check({"number": 42}, huge)
    assert check({"choice": "B"}, huge)
    assert check({"regex": r"final: 42"}, huge)
    assert check({"contains_all": ["final: 42"]}, huge)
    assert not check({"exact": "42"}, huge)
    assert len(grade(parse_key({"exact": "x"}), huge).detail) < 200  # the detail quotes a short piece


def test_numbers_that_are_not_finite_are_not_an_answer() -> None:
    assert final_number("1e999") is None  # overflows to inf: no number
    assert final_number("1e999, so 7") == 7
    assert not check({"number": 1}, "inf or nan, then 1e999")


def test_boxed_counts_nested_braces_and_takes_the_last() -> None:
    assert boxed("\\boxed{\\frac{1}{2}} then \\boxed{3}") == "3"
    assert boxed("\\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert boxed("\\boxed{never closed") is None
    assert final_choice("\\boxed{ (D) }") == "D"


SUITE = """
name = "Keys"
[[prompts]]
id = "sum"
text = "What is 19 + 23?"
answer = { number = 42 }
[[prompts]]
id = "capital"
text = "Capital of France?"
answer = { exact = "Paris", normalize = ["case", "punct"] }
[[prompts]]
id = "poem"
text = "A poem about rain."
[[lanes]]
provider = "demo"
model = "demo-fast"
"""


def test_a_suites_answer_keys_are_read_and_kept_in_the_studys_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(SUITE)
    suite = load_suite(path)
    keyed = {p.id: p for p in suite.prompts}
    assert keyed["sum"].answer is not None and keyed["sum"].verifiable
    assert keyed["poem"].answer is None and not keyed["poem"].verifiable
    assert grade(keyed["capital"].answer, "paris.").correct  # type: ignore[arg-type]
    again = parse_suite(json.loads(json.dumps(suite_data(suite))))  # what a study keeps
    assert [p.answer for p in again.prompts] == [p.answer for p in suite.prompts]


def test_a_bad_key_in_a_suite_names_its_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SUITE.replace("answer = { number = 42 }", "answer = { number = 42, tolerance = nan }"))
    with pytest.raises(SuiteError, match=r"prompts\[0\]\.answer.*tolerance must be a finite number"):
        load_suite(path)
