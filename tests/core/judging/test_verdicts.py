"""parse_verdict reads a judge's JSON strictly (one object, given letters, scores 0–10, no
guess) and cheaply on hostile input; VERDICT_SCHEMA is the contract it returns."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from chatlab.core.judging import verdicts
from chatlab.core.judging.verdicts import MAX_ATTEMPTS, VERDICT_SCHEMA, Verdict, parse_verdict

ABC = ("A", "B", "C")
DIGITS = ("1", "2", "3")
CRIT = ("clarity", "accuracy")


def body(choice: Any = "B", reason: str = "B is clearer.", **over: Any) -> dict[str, Any]:
    scores = {x: {"clarity": 5, "accuracy": 6.5} for x in ABC}
    out: dict[str, Any] = {"scores": scores, "choice": choice, "reason": reason}
    out.update(over)
    return out


def text(choice: Any = "B", **over: Any) -> str:
    return json.dumps(body(choice, **over))


def read(answer: str, letters: tuple[str, ...] = ABC, criteria: tuple[str, ...] = CRIT) -> Verdict:
    return parse_verdict(answer, letters, criteria)


def no_verdict(answer: str, letters: tuple[str, ...] = ABC, criteria: tuple[str, ...] = CRIT) -> str:
    v = read(answer, letters, criteria)
    assert v.choice is None and not v.ok and v.scores == {} and v.reason == ""
    assert v.problem and "\n" not in v.problem
    return v.problem


# -- where the JSON is --------------------------------------------------------------------


def test_the_whole_text() -> None:
    v = read(text())
    assert v == Verdict(
        choice="B",
        scores={x: {"clarity": 5.0, "accuracy": 6.5} for x in ABC},
        reason="B is clearer.",
        problem=None,
    )
    assert v.ok and all(isinstance(s, float) for per in v.scores.values() for s in per.values())


def test_one_fenced_block_with_prose() -> None:
    answer = f"Here is my judgement.\n\n```json\n{text()}\n```\n\nHope that helps {{:}}"
    assert read(answer).choice == "B"


def test_one_object_with_prose_around_it() -> None:
    assert read(f"After weighing both, {text('A')} is my call.").choice == "A"


def test_braces_inside_strings() -> None:
    v = read(text(reason='use {x} and } and {"choice": "C"}'))
    assert v.choice == "B" and v.reason == 'use {x} and } and {"choice": "C"}'


def test_two_fenced_blocks_are_ambiguous() -> None:
    answer = f"```json\n{text('A')}\n```\nOn second thought:\n```json\n{text('B')}\n```"
    assert no_verdict(answer).startswith("two JSON answers")


def test_two_top_level_objects_are_ambiguous_even_when_they_agree() -> None:
    assert no_verdict(f"{text()} {text()}").startswith("two JSON answers")


def test_an_example_object_in_the_prose_is_not_a_candidate() -> None:
    assert read(f'Scores look like {{"x": 1}}. Mine: {text("C")}').choice == "C"


def test_no_json() -> None:
    assert no_verdict("B is better, clearly.") == "no JSON found"


def test_an_object_without_verdict_keys() -> None:
    assert no_verdict('{"winner": "B"}').startswith("no verdict in the JSON")


def test_a_trailing_comma_is_no_verdict() -> None:
    answer = text()[:-1] + ", }"
    problem = no_verdict(answer)
    assert problem.startswith("no valid JSON found")
    # the nested scores object parses on its own; it is not taken for the verdict
    assert no_verdict(f"```json\n{answer}\n```").startswith("no valid JSON found")


def test_a_broken_verdict_beside_a_valid_one_is_ambiguous() -> None:
    broken = text("A")[:-1] + ", }"
    problem = no_verdict(f"{broken}\nFixed:\n{text('B')}")
    assert problem.startswith("a JSON answer beside one that does not parse (") and problem.endswith(
        "ambiguous"
    )
    # a broken example with no choice in it is only prose
    assert read(f'Not {{"scores": 1,}} but {text("B")}').choice == "B"


def test_a_repeated_key_is_no_verdict() -> None:
    answer = text()[:-1] + ', "choice": "A"}'
    assert no_verdict(answer) == "the verdict names 'choice' twice"
    repeated = '{"scores": {"A": {"clarity": 1, "clarity": 9}}, "choice": "A", "reason": ""}'
    assert no_verdict(repeated, ("A",), ("clarity",)) == "the scores for A name 'clarity' twice"


def test_not_an_object() -> None:
    assert no_verdict('["B"]') == "no JSON found"
    assert no_verdict('"B"') == "no JSON found"


# -- the choice ---------------------------------------------------------------------------


@pytest.mark.parametrize("said", ["B", "b", " B ", "Model B", "Answer B", "answer b", "Response  B"])
def test_letters_normalise_to_a_given_letter(said: str) -> None:
    assert read(text(said)).choice == "B"


@pytest.mark.parametrize("said", ["tie", "TIE", "Tie", " tie "])
def test_tie(said: str) -> None:
    assert read(text(said)).choice == "tie"


def test_a_letter_that_does_not_exist() -> None:
    assert no_verdict(text("D")) == "choice 'D' is not one of A, B, C or 'tie'"


def test_a_letter_of_another_scheme() -> None:
    scores = {x: {"clarity": 5, "accuracy": 5} for x in DIGITS}
    answer = json.dumps({"scores": scores, "choice": "Model B", "reason": ""})
    assert no_verdict(answer, DIGITS) == "choice 'Model B' is not one of 1, 2, 3 or 'tie'"
    assert read(answer.replace("Model B", "Answer 2"), DIGITS).choice == "2"
    assert read(answer.replace('"Model B"', "2"), DIGITS).choice == "2"  # an integer for a digit letter
    assert no_verdict(answer.replace('"Model B"', "4"), DIGITS).startswith("choice 4 is not")
    assert no_verdict(text(2)).startswith("choice 2 is not")


@pytest.mark.parametrize(
    "said", [None, True, ["B"], {"x": "B"}, "", "B.", "B or C", "Model", "Model Model B", "Banswer "]
)
def test_choices_that_are_not_a_letter(said: Any) -> None:
    assert no_verdict(text(said)).startswith("choice ")


def test_full_width_letters_normalise_lookalikes_do_not() -> None:
    # Decision: full-width ASCII forms (a CJK keyboard's Ｂ, ２) are the same letter;
    # other scripts' look-alikes (Cyrillic В, dotless ı upper-casing to I) are not.
    assert read(text("Ｂ")).choice == "B"
    assert read(text("Ｍｏｄｅｌ\u3000Ｂ")).choice == "B"
    assert no_verdict(text("\u0412")).startswith("choice 'В' is not one of")
    assert no_verdict(text("ı"), ("H", "I")).startswith("choice 'ı'")
    assert read('{"choice": "２", "reason": ""}', DIGITS, ()).choice == "2"
    assert no_verdict('{"choice": "²", "reason": ""}', DIGITS, ()).startswith("choice '²'")


def test_no_choice() -> None:
    answer = body()
    del answer["choice"]
    assert no_verdict(json.dumps(answer)) == "the verdict has no choice"


# -- the scores and the reason ------------------------------------------------------------


def with_score(value: str, letter: str = "A", criterion: str = "clarity") -> str:
    answer = text()
    per = json.dumps(body()["scores"][letter])
    changed = per.replace('"clarity": 5', f'"{criterion}": {value}')
    return answer.replace(f'"{letter}": {per}', f'"{letter}": {changed}', 1)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("11", "score for A clarity is 11, not 0–10"),
        ("-0.5", "score for A clarity is -0.5, not 0–10"),
        ("NaN", "score for A clarity is NaN, not 0–10"),
        ("Infinity", "score for A clarity is Infinity, not 0–10"),
        ("-Infinity", "score for A clarity is -Infinity, not 0–10"),
        ("1e999", "score for A clarity is Infinity, not 0–10"),
        ("true", "score for A clarity is true, not a number"),
        ('"7"', "score for A clarity is '7', not a number"),
        ("null", "score for A clarity is None, not a number"),
        ("1" + "0" * 30, "score for A clarity is a 31-digit integer, not 0–10"),
    ],
)
def test_bad_scores(value: str, problem: str) -> None:
    assert no_verdict(with_score(value)) == problem


def test_scores_at_the_edges() -> None:
    v = read(with_score("0", "A").replace('"accuracy": 6.5', '"accuracy": 10', 1))
    assert v.scores["A"] == {"clarity": 0.0, "accuracy": 10.0}


def test_a_missing_score_is_no_verdict() -> None:
    answer = body()
    del answer["scores"]["C"]["accuracy"]
    assert no_verdict(json.dumps(answer)) == "no score for C accuracy"
    del answer["scores"]["C"]
    assert no_verdict(json.dumps(answer)) == "no scores for C"
    del answer["scores"]
    assert no_verdict(json.dumps(answer)) == "the verdict has no scores"


def test_score_letters_normalise_and_must_be_given() -> None:
    answer = body()
    answer["scores"] = {f"Model {k.lower()}": v for k, v in answer["scores"].items()}
    assert read(json.dumps(answer)).scores["A"] == {"clarity": 5.0, "accuracy": 6.5}
    answer["scores"]["D"] = answer["scores"]["Model a"]
    assert no_verdict(json.dumps(answer)) == "scores name 'D', not one of A, B, C"
    del answer["scores"]["D"]
    answer["scores"]["A"] = answer["scores"]["Model a"]
    assert no_verdict(json.dumps(answer)) == "scores name A twice"


def test_an_unknown_criterion_or_key_is_no_verdict() -> None:
    answer = body()
    answer["scores"]["B"]["style"] = 3
    assert no_verdict(json.dumps(answer)) == "unexpected criterion 'style' for B"
    assert no_verdict(text(confidence=0.9)) == "unexpected key 'confidence' in the verdict"


def test_no_criteria_no_scores() -> None:
    answer = '{"choice": "A", "reason": "short"}'
    assert read(answer, ABC, ()) == Verdict(choice="A", scores={}, reason="short")
    assert no_verdict(text(), ABC, ()) == "unexpected key 'scores' in the verdict"


def test_the_reason() -> None:
    assert len(read(text(reason="x" * 5_000)).reason) == 2_000
    assert no_verdict(text(reason=3)) == "the reason is 3, not text"
    answer = body()
    del answer["reason"]
    assert no_verdict(json.dumps(answer)) == "the verdict has no reason"
    # a lone surrogate from a JSON escape becomes U+FFFD, never a crash later
    assert read(text().replace("B is clearer.", "bad \\\\ud800 char").replace("\\\\u", "\\u")).reason == (
        "bad \ufffd char"
    )


# -- refusals and empty answers -----------------------------------------------------------


@pytest.mark.parametrize("answer", ["", "   \n\t "])
def test_empty(answer: str) -> None:
    assert no_verdict(answer) == "the answer was empty"


def test_a_refusal() -> None:
    answer = "I'm sorry, but I can't\njudge these answers.\n" + "Really. " * 100
    problem = no_verdict(answer)
    assert problem.startswith(
        "the judge gave no verdict: I'm sorry, but I can't judge these answers. Really."
    )
    assert len(problem) <= len("the judge gave no verdict: ") + 201


def test_a_refusal_with_a_verdict_is_a_verdict() -> None:
    assert read("I can't be certain, but: " + text()).choice == "B"


# -- size and hostile input ---------------------------------------------------------------


class Counting(json.JSONDecoder):
    calls = 0

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        Counting.calls += 1
        return super().raw_decode(s, idx)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[Counting]:
    Counting.calls = 0
    monkeypatch.setattr(verdicts, "_DECODER", Counting(object_pairs_hook=verdicts._pairs))
    return Counting


def test_a_1mb_answer_with_the_json_at_the_end(counted: type[Counting]) -> None:
    answer = "Let me think about this carefully. " * 40_000 + text("C")
    assert len(answer) > verdicts.MAX_TEXT
    assert read(answer).choice == "C"
    assert counted.calls == 1


def test_a_long_answer_is_read_in_its_tail_and_says_so() -> None:
    answer = text("C") + " and then I kept writing." * 60_000
    problem = no_verdict(answer)
    assert problem.startswith("no JSON found in the last 200,000 characters of a 1,500,")


def test_10mb_of_open_braces_is_bounded(counted: type[Counting]) -> None:
    # a '{' that can't open an object ("{{", "{x}", "{ y();") is not tried at all
    problem = no_verdict("{" * 10_000_000)
    assert problem == "no JSON found in the last 200,000 characters of a 10,000,000-character answer"
    assert counted.calls == 0
    assert no_verdict("if (x) { y(); }\n" * 60_000) == "no JSON found"
    assert counted.calls == 0


def test_10mb_of_object_openings_is_capped(counted: type[Counting]) -> None:
    problem = no_verdict('{"' * 5_000_000)
    assert problem.startswith("gave up looking for JSON after 10,000 tries")
    assert counted.calls == MAX_ATTEMPTS


def test_nested_arrays_cost_a_bounded_scan(counted: type[Counting]) -> None:
    # each '{' starts an object whose value runs to the end of the text: without the
    # scanning budget every try would read the rest (quadratic)
    unit = '{"a": [' + "1," * 50
    answer = unit * 10_000
    assert no_verdict(answer).startswith("gave up looking for JSON after")
    assert counted.calls < 100


def test_an_unterminated_string_then_many_objects_is_capped(counted: type[Counting]) -> None:
    # the first try reads to the end (its string never closes); each "{}" after it is one try
    answer = '{"a": "' + "{}x" * 60_000
    assert no_verdict(answer).startswith("gave up looking for JSON after 10,000 tries")
    # the first try grew its slice (4 KB, doubled to the whole text): a few calls more
    assert MAX_ATTEMPTS < counted.calls <= MAX_ATTEMPTS + 8


def test_deep_nesting_is_charged_the_rest_of_the_text(counted: type[Counting]) -> None:
    # a try that nests too deep is charged everything after it: a few tries, not thousands
    problem = no_verdict('{"a":' * 200_000)
    assert problem == "gave up looking for JSON after 9 tries at a '{' (too much to scan)"
    assert counted.calls <= 2 * 9


def test_a_long_reason_is_read_whole() -> None:
    # longer than the first slice decoded from a '{': the slice grows
    assert read(text(reason="ok " * 30_000)).reason == ("ok " * 30_000)[:2_000]


def test_deep_nesting_and_long_numbers_do_not_crash() -> None:
    assert no_verdict('{"choice": ' + "[" * 100_000).startswith(("no JSON", "no valid JSON", "gave up"))
    assert no_verdict('{"choice": "A", "reason": "", "n": ' + "9" * 10_000 + "}").startswith(
        ("no JSON", "no valid JSON")
    )


# -- the schema ---------------------------------------------------------------------------


def test_a_valid_verdict_fits_the_schema() -> None:
    schema = VERDICT_SCHEMA(ABC, CRIT)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(body(), schema)
    jsonschema.validate({"choice": "tie", "reason": ""}, VERDICT_SCHEMA(DIGITS, ()))
    assert schema["properties"]["choice"]["enum"] == ["A", "B", "C", "tie"]
    assert schema["properties"]["scores"]["required"] == list(ABC)


@pytest.mark.parametrize(
    "bad",
    [
        body(confidence=1),
        body("D"),
        {k: v for k, v in body().items() if k != "reason"},
        body(scores={x: {"clarity": 5, "accuracy": 11} for x in ABC}),
        body(scores={x: {"clarity": 5, "accuracy": 5, "style": 1} for x in ABC}),
        body(scores={x: {"clarity": 5} for x in ABC}),
        body(scores={x: {"clarity": 5, "accuracy": 5} for x in (*ABC, "D")}),
        body(scores={x: {"clarity": True, "accuracy": 5} for x in ABC}),
    ],
)
def test_what_the_schema_refuses(bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, VERDICT_SCHEMA(ABC, CRIT))
    assert read(json.dumps(bad)).choice is None


def test_the_schema_is_strict_where_the_reader_forgives() -> None:
    # structured output holds the judge to the exact letters; free text gets the
    # forgiving reading of the module's rules (what it returns still fits the schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body("Model B"), VERDICT_SCHEMA(ABC, CRIT))
    assert read(text("Model B")).choice == "B"


def test_what_parse_verdict_returns_always_fits_the_schema() -> None:
    for answer in (text(), text("tie"), text("Model c"), f"```json\n{text('Ｂ')}\n```"):
        v = read(answer)
        jsonschema.validate(
            {"scores": v.scores, "choice": v.choice, "reason": v.reason}, VERDICT_SCHEMA(ABC, CRIT)
        )


@pytest.mark.parametrize(
    ("letters", "criteria"),
    [((), CRIT), (("A", "a"), CRIT), (("A", "tie"), CRIT), (("A B",), CRIT), (ABC, ("x", "x")), (ABC, ("",))],
)
def test_bad_letters_or_criteria_are_the_caller_s_error(
    letters: tuple[str, ...], criteria: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError):
        VERDICT_SCHEMA(letters, criteria)
    with pytest.raises(ValueError):
        parse_verdict(text(), letters, criteria)
