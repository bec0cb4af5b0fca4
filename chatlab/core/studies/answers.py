"""Answer keys: a suite prompt's ``answer`` table, and grading an answer against it by
code, with no model involved.

A key is one of five kinds (a table may combine ``contains_all`` and ``contains_none``):

* ``exact = "…"`` with an optional ``normalize`` list (``case``, ``space``, ``punct``,
  ``markdown``: strip ``**``, backticks and ``$``). It matches the whole answer, its
  ``\\boxed{…}``, or its last non-empty line;
* ``regex = "…"`` (Python syntax, at most :data:`MAX_PATTERN` characters, searched with a
  time limit of :data:`REGEX_TIMEOUT_S`, so a hostile suite can't hang chatlab);
* ``number = 42`` with ``tolerance`` (absolute) or ``relative_tolerance``, read from the
  answer's ``\\boxed{…}`` when it has one, else from its final number;
* ``choice = "B"``: one letter of A–H, read from ``\\boxed{…}``, an "answer: B" line, or
  the last letter standing alone;
* ``contains_all = [...]`` / ``contains_none = [...]`` (case-insensitive).

:func:`grade` reads the answer text only, never the reasoning, and returns a
:class:`Grade` whose ``detail`` says what was expected and what was found. A finished
answer with no text is wrong ("found no answer"), not left out: a model that spent its
tokens thinking did not answer. It runs on the event loop as a study's answer ends, so
it takes time in proportion to the answer: ``exact``, ``number`` and ``choice`` read at
most an answer's last :data:`READ` characters (the detail says so when it was longer),
``regex`` has its time limit. A key is checked when its suite is read
(:func:`parse_key`), so a bad one names its place.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field
from typing import Any

import regex

from chatlab.core.data.model import Grade, Response, Status

__all__ = ["AnswerKey", "AnswerKeyError", "Grade", "grade", "grade_response", "parse_key"]

KINDS = ("exact", "regex", "number", "choice", "contains_all", "contains_none")
NORMALIZE = ("case", "space", "punct", "markdown")
MAX_PATTERN = 1_000  # characters of a regex key
MAX_LIST = 64  # strings in contains_all / contains_none
MAX_TEXT = 10_000  # characters of any expected string
REGEX_TIMEOUT_S = 0.25
SHOWN = 60  # characters of an answer quoted in a grade's detail
READ = 100_000  # characters from an answer's end that exact, number and choice keys read

_BOXED = re.compile(r"\\boxed\{|[{}]")
_MINUS = "−－﹣"  # the minus sign, and the full-width and small hyphen-minus of CJK text
_NUMBER_HEAD = re.compile(rf"[\d.,eE+\-{_MINUS}]+")  # a number the window may have cut
_NUMBER = re.compile(
    rf"[-+{_MINUS}]?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+{_MINUS}]?\.\d+"
)
_AS_ASCII = str.maketrans({",": None, **dict.fromkeys(_MINUS, "-")})  # what float() reads
# "Answer", "ANSWER" or "answer", then the letter itself in capitals: "the answer is a" is an article.
_CHOICE_LINE = re.compile(r"(?i:\banswer\b)[^A-Za-z0-9]{0,12}(?i:is\s+)?\(?([A-H])\)?(?![A-Za-z])")
_LONE_LETTER = re.compile(r"(?<![A-Za-z])\(?([A-H])\)?(?![A-Za-z])")
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’«»…–—")


class AnswerKeyError(ValueError):
    """An answer table that isn't a key; the message says what is wrong."""


@dataclass(frozen=True)
class AnswerKey:
    """One prompt's key, as read from its ``answer`` table (``raw`` keeps the table, so a
    study's snapshot writes it back as it came)."""

    kind: str
    expected: Any
    normalize: tuple[str, ...] = ()
    tolerance: float = 0.0
    relative: bool = False
    none_of: tuple[str, ...] = ()  # contains_none, beside contains_all
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AnswerKeyError(f"{what} must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise AnswerKeyError(f"{what} is longer than {MAX_TEXT:,} characters")
    return value


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise AnswerKeyError(f"{what} must be a list of 1 to {MAX_LIST} strings")
    return tuple(_text(v, f"{what} item") for v in value)


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnswerKeyError(f"{what} must be a finite number")
    try:
        number = float(value)  # an integer of 400 digits is no float: OverflowError
    except OverflowError:
        raise AnswerKeyError(f"{what} must be a finite number") from None
    if not math.isfinite(number):
        raise AnswerKeyError(f"{what} must be a finite number")
    return number


def parse_key(raw: Any) -> AnswerKey:
    """The key an ``answer`` table describes; :class:`AnswerKeyError` says what is wrong."""
    if not isinstance(raw, dict):
        raise AnswerKeyError("must be a table, e.g. answer = { number = 42 }")
    kinds = [k for k in KINDS if k in raw]
    if not kinds:
        raise AnswerKeyError(f"needs one of {', '.join(KINDS)}")
    if len(kinds) > 1 and set(kinds) != {"contains_all", "contains_none"}:
        raise AnswerKeyError(
            f"has {' and '.join(kinds)}: give one kind (contains_all may go with contains_none)"
        )
    allowed = {*kinds, "normalize", "tolerance", "relative_tolerance"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise AnswerKeyError(f"has unknown key {unknown[0]!r}")
    kind = kinds[0]
    if "normalize" in raw and kind != "exact":
        raise AnswerKeyError("normalize goes with exact only")
    if ("tolerance" in raw or "relative_tolerance" in raw) and kind != "number":
        raise AnswerKeyError("tolerance goes with number only")
    if kind == "exact":
        normalize = raw.get("normalize", [])
        if not isinstance(normalize, list) or any(n not in NORMALIZE for n in normalize):
            raise AnswerKeyError(f"normalize must be a list of {', '.join(NORMALIZE)}")
        return AnswerKey("exact", _text(raw["exact"], "exact"), normalize=tuple(normalize), raw=raw)
    if kind == "regex":
        pattern = _text(raw["regex"], "regex")
        if len(pattern) > MAX_PATTERN:
            raise AnswerKeyError(f"regex is longer than {MAX_PATTERN:,} characters")
        try:
            regex.compile(pattern, regex.VERSION0)
        except (regex.error, RecursionError, OverflowError, ValueError) as exc:  # ValueError: (?V1), (?a)(?u)
            raise AnswerKeyError(f"regex doesn't compile: {exc}") from None
        return AnswerKey("regex", pattern, raw=raw)
    if kind == "number":
        expected = _finite(raw["number"], "number")
        if "tolerance" in raw and "relative_tolerance" in raw:
            raise AnswerKeyError("give tolerance or relative_tolerance, not both")
        relative = "relative_tolerance" in raw
        tolerance = _finite(raw.get("relative_tolerance" if relative else "tolerance", 0), "tolerance")
        if tolerance < 0 or (relative and tolerance >= 1):
            raise AnswerKeyError("tolerance must be at least 0 (a relative one below 1)")
        return AnswerKey("number", expected, tolerance=tolerance, relative=relative, raw=raw)
    if kind == "choice":
        letter = raw["choice"]
        if not isinstance(letter, str) or len(letter) != 1 or letter.upper() not in "ABCDEFGH":
            raise AnswerKeyError("choice must be one letter of A to H")
        return AnswerKey("choice", letter.upper(), raw=raw)
    expected_all = _strings(raw["contains_all"], "contains_all") if "contains_all" in raw else ()
    none_of = _strings(raw["contains_none"], "contains_none") if "contains_none" in raw else ()
    return AnswerKey("contains", expected_all, none_of=none_of, raw=raw)


# -- reading an answer ---------------------------------------------------------------------


def boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{…}`` (nested braces counted), or None. One pass
    over the braces: ten thousand ``\\boxed{`` never closed cost no more than one."""
    open_at: list[int] = []  # each open brace: where its \\boxed content starts, or -1
    found: tuple[int, int] | None = None
    for m in _BOXED.finditer(text):
        if m.group() == "}":
            start = open_at.pop() if open_at else -1
            if start >= 0 and (found is None or start > found[0]):
                found = (start, m.start())
        else:
            open_at.append(m.end() if m.group() != "{" else -1)
    return text[found[0] : found[1]] if found else None


def final_number(text: str) -> float | None:
    """The number an answer gives: its ``\\boxed{…}``'s, else its last one."""
    where = boxed(text)
    for source in ([where] if where is not None else []) + [text]:
        last = None
        for m in _NUMBER.finditer(source):
            last = m.group()
        if last is not None:
            try:
                value = float(last.translate(_AS_ASCII))
            except ValueError:
                continue
            if math.isfinite(value):
                return value
    return None


def final_choice(text: str) -> str | None:
    """The letter an answer chooses: its ``\\boxed{…}``, an "answer: X" phrase (the last),
    else the last letter A–H standing alone."""
    inside = boxed(text)
    if inside is not None and (m := _LONE_LETTER.search(inside.strip())):
        return m.group(1)
    phrases = _CHOICE_LINE.findall(text)
    if phrases:
        return str(phrases[-1])
    letters = _LONE_LETTER.findall(text[-2_000:])
    return str(letters[-1]) if letters else None


def normalized(text: str, how: tuple[str, ...]) -> str:
    if "markdown" in how:
        text = text.replace("**", "").replace("`", "").replace("$", "")
    if "punct" in how:
        text = text.translate(_PUNCT)
    if "space" in how:
        text = " ".join(text.split())
    if "case" in how:
        text = text.casefold()
    return text.strip()


def _shown(value: str | None) -> str:
    if value is None:
        return "nothing"
    one = " ".join(value.split(None, SHOWN))  # the first SHOWN words: a 10 MB match is not split whole
    return repr(one if len(one) <= SHOWN else one[: SHOWN - 1] + "…")


def _number(value: float) -> str:
    return f"{value + 0.0:g}"  # + 0.0: -0.0 reads "0"


def _pattern(pattern: str) -> str:
    """A regex key as a grade's detail quotes it: one line, its controls made visible."""
    return repr(pattern[:SHOWN])[1:-1]


def _tail(answer: str) -> tuple[str, bool]:
    """The part of ``answer`` that exact, number and choice keys read: its last
    :data:`READ` characters, without a number or line the cut began inside; and whether
    it was cut."""
    if len(answer) <= READ:
        return answer, False
    tail = answer[-READ:]
    head = _NUMBER_HEAD.match(tail)
    return (tail[head.end() :] if head else tail), True


def grade(key: AnswerKey, answer: str) -> Grade:
    """``answer`` (the answer text only, never the reasoning) checked against ``key``."""
    if not answer.strip():
        return Grade(False, "found no answer")
    if key.kind in ("regex", "contains"):
        return _grade_whole(key, answer)
    text, cut = _tail(answer)
    found = _grade_tail(key, answer if not cut else None, text)
    if cut:
        found = Grade(found.correct, f"{found.detail} (read in its last {READ:,} characters)")
    return found


def _grade_tail(key: AnswerKey, whole: str | None, text: str) -> Grade:
    """``exact``, ``number`` and ``choice``, on ``text`` (the answer, or its last
    characters: then ``whole`` is None, and its first line, perhaps cut, is no candidate)."""
    if key.kind == "exact":
        want = normalized(key.expected, key.normalize)
        lines = [line for line in text.splitlines() if line.strip()]
        last = lines[-1] if lines and (whole is not None or len(lines) > 1) else None
        candidates = [whole, boxed(text), last]
        for found in candidates:
            if found is not None and normalized(found, key.normalize) == want:
                return Grade(True, f"expected {_shown(key.expected)}, found it")
        return Grade(False, f"expected {_shown(key.expected)}, found {_shown(last)}")
    if key.kind == "number":
        number = final_number(text)
        target = float(key.expected)
        if number is None:
            return Grade(False, f"expected {_number(target)}, found no number")
        allowed = key.tolerance * abs(target) if key.relative else key.tolerance
        within = f" (±{_number(allowed)})" if allowed else ""
        return Grade(
            abs(number - target) <= allowed, f"expected {_number(target)}{within}, found {_number(number)}"
        )
    letter = final_choice(text)
    return Grade(letter == key.expected, f"expected {key.expected}, found {letter or 'no letter'}")


def _grade_whole(key: AnswerKey, answer: str) -> Grade:
    """``regex`` (with its time limit) and ``contains``, on the whole answer."""
    if key.kind == "regex":
        try:
            hit = regex.search(key.expected, answer, regex.VERSION0, timeout=REGEX_TIMEOUT_S)
        except TimeoutError:
            return Grade(
                False, f"the regex took longer than {REGEX_TIMEOUT_S:g} s on this answer: not graded as right"
            )
        if hit is not None:
            return Grade(True, f"matches /{_pattern(key.expected)}/: {_shown(hit.group())}")
        return Grade(False, f"doesn't match /{_pattern(key.expected)}/")
    folded = answer.casefold()
    missing = [s for s in key.expected if s.casefold() not in folded]
    present = [s for s in key.none_of if s.casefold() in folded]
    if missing or present:
        parts = ([f"missing {', '.join(_shown(s) for s in missing)}"] if missing else []) + (
            [f"contains {', '.join(_shown(s) for s in present)}"] if present else []
        )
        return Grade(False, "; ".join(parts))
    return Grade(True, "has every required string and none of the forbidden ones")


def grade_response(resp: Response, key: AnswerKey | None) -> bool:
    """Grade ``resp`` by ``key`` (its answer text only) when it finished; one that
    finished with no answer text is wrong. An answer that failed, or a prompt with no
    key, has no key grade. True if the grade changed."""
    before = resp.grade_by("key")
    after = None
    if key is not None and resp.status is Status.OK:
        try:
            after = grade(key, resp.text)
        except Exception as exc:  # a grader's bug must not cost the answer: it stays ungraded, said
            note = f"not graded: {type(exc).__name__}: {exc}"[:200]
            if note not in resp.notes:
                resp.notes.append(note)
    if after == before:
        return False
    resp.set_grade(after)
    return True
