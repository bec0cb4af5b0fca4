"""Answer keys and answers written to break the grader: it runs on the event loop as a
study's answer ends, so a 10 MB answer of braces, digits or ``\\boxed{`` must grade in a
blink; keys Python can't hold (a 400-digit number, regex flags that can't go together)
are refused naming their place; and what a grade reads is what the model answered (an
article after "the answer is" is no choice, an answer that is all thinking is wrong)."""

from __future__ import annotations

import time
import tomllib
from typing import Any

import pytest

from chatlab.core.data.model import Grade, Response, Status
from chatlab.core.studies.answers import (
    READ,
    AnswerKeyError,
    boxed,
    final_choice,
    grade,
    grade_response,
    parse_key,
)
from chatlab.core.studies.suites import SuiteError, parse_suite

pytestmark = pytest.mark.hostile

MB10 = 10_000_000
KEYS: dict[str, dict[str, Any]] = {
    "exact": {"exact": "42", "normalize": ["case", "space", "punct", "markdown"]},
    "number": {"number": 42},
    "choice": {"choice": "B"},
    "contains": {"contains_all": ["x"], "contains_none": ["y"]},
    "regex": {"regex": r"final: \d+"},
}
ANSWERS = {
    "digits": "1" * MB10,
    "numbers": "12 " * (MB10 // 3),
    "thousands": "1,000" * (MB10 // 5),
    "braces": "{" * MB10,
    "closing braces": "}" * MB10,
    "boxed never closed": "\\boxed{" * (MB10 // 7),
    "boxed 10,000 deep": "\\boxed{" * 10_000 + "42",
    "lines": "\n" * MB10,
    "letters": "A " * (MB10 // 2),
    "answer phrases": "answer: " * (MB10 // 8),
}


def suite(answer: str) -> dict[str, Any]:
    return tomllib.loads(
        f'name = "x"\n[[prompts]]\nid = "p"\ntext = "t"\nanswer = {{ {answer} }}\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast"\n'
    )


@pytest.mark.parametrize("answer", ANSWERS, ids=list(ANSWERS))
def test_a_10_mb_hostile_answer_is_graded_well_under_a_second_by_every_kind(answer: str) -> None:
    text = ANSWERS[answer]
    for kind, raw in KEYS.items():
        key = parse_key(raw)
        start = time.process_time()  # CPU time: other work on the machine doesn't count
        found = grade(key, text)
        spent = time.process_time() - start
        assert spent < 0.5, (answer, kind, spent)
        assert len(found.detail) < 300 and "\n" not in found.detail


def test_boxed_nested_10_000_deep_reads_the_innermost_and_unclosed_reads_nothing() -> None:
    deep = "\\boxed{" * 10_000 + "42" + "}" * 10_000
    assert boxed(deep) == "42"
    assert grade(parse_key({"number": 42}), deep).correct
    assert boxed("\\boxed{" * 10_000 + "42") is None
    assert boxed("}}} \\boxed{{7}} {{") == "{7}"  # stray braces around it change nothing


def test_a_long_answer_is_read_in_its_last_characters_and_says_so() -> None:
    answer = "\\boxed{41}\n" + "filler words " * 20_000 + "\nSo the answer is 42."
    found = grade(parse_key({"number": 42}), answer)
    assert found.correct and f"last {READ:,} characters" in found.detail
    # The window cuts no number and no line in half: a cut one is not the answer.
    cut = "9" * (READ + 5)
    assert grade(parse_key({"number": 99999}), cut).detail.startswith("expected 99999, found no number")
    one_line = "x" * READ + " 42"
    assert not grade(parse_key({"exact": "42", "normalize": ["space"]}), " " * READ + "nope 42").correct
    assert not grade(parse_key({"exact": "x 42"}), one_line).correct


def test_a_regex_with_flags_that_cannot_go_together_is_refused_naming_its_place() -> None:
    for pattern in ("(?V1)a", "(?a)(?u)a"):
        with pytest.raises(AnswerKeyError, match="regex doesn't compile"):
            parse_key({"regex": pattern})
        with pytest.raises(SuiteError, match=r"prompts\[0\]\.answer"):
            parse_suite(suite(f'regex = "{pattern}"'))


@pytest.mark.parametrize("answer", ["number = 1" + "0" * 400, "number = 1, tolerance = 1" + "0" * 400])
def test_a_number_key_no_float_can_hold_is_refused_naming_its_place(answer: str) -> None:
    with pytest.raises(SuiteError, match=r"prompts\[0\]\.answer: .*must be a finite number"):
        parse_suite(suite(answer))


def test_an_article_after_answer_is_not_read_as_the_choice() -> None:
    assert final_choice("The answer is a tricky one, but I'd go with C.") == "C"
    assert grade(parse_key({"choice": "C"}), "The answer is a tricky one, but I'd go with C.").correct
    assert final_choice("ANSWER: (D)") == "D"


def test_an_answer_that_finished_with_no_text_is_wrong_not_left_out() -> None:
    """A reasoner that spent every token thinking (or a prompted model whose <think>
    never closed) answered nothing; leaving it ungraded would count only its answers."""
    key = parse_key({"contains_none": ["pickle"]})
    for text in ("", "  \n "):
        resp = Response("lane", Status.OK, reasoning_parts=["the answer is 42"], text_parts=[text])
        assert grade_response(resp, key)
        assert resp.grades == [Grade(False, "found no answer")]
    failed = Response("lane", Status.ERROR)
    assert not grade_response(failed, key) and failed.grades == []


def test_a_grades_detail_is_one_line_whatever_the_key_or_answer() -> None:
    key = parse_key({"regex": "a\nb|\x1b\\[2J"})
    detail = grade(key, "nothing").detail
    assert "\n" not in detail and "\x1b" not in detail
    assert grade(parse_key({"number": -0.0}), "0").detail == "expected 0, found 0"
    hit = grade(parse_key({"regex": "(?s).*"}), "word " * 2_000_000)
    assert hit.correct and len(hit.detail) < 200


@pytest.mark.parametrize(
    ("answer", "number"),
    [
        ("－42", -42),
        ("﹣42", -42),
        ("−42", -42),
        ("\u200f-42\u200f", -42),
        ("４２", 42),
        ("٤٢", 42),
        ("-４２", -42),
    ],
    ids=[
        "full-width minus",
        "small minus",
        "minus sign",
        "RTL marks",
        "full-width digits",
        "Arabic-Indic",
        "mixed",
    ],
)
def test_a_number_in_another_script_keeps_its_sign(answer: str, number: int) -> None:
    """A full-width minus (CJK text) was no sign: '－42' read as 42, so a key of 42
    called it right and a key of -42 called it wrong."""
    assert grade(parse_key({"number": number}), f"So the answer is {answer}").correct
    assert not grade(parse_key({"number": -number}), f"So the answer is {answer}").correct
