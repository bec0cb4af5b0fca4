"""A judge's verdict: the JSON a model answers with when it judges a blind comparison,
read strictly, and the JSON Schema it is asked to follow.

The judge sees a prompt and N answers under neutral letters (``A``, ``B``, ``C``… or
``1``, ``2``, ``3``) and answers ``{"scores": {LETTER: {CRITERION: 0–10}}, "choice":
LETTER | "tie", "reason": "…"}`` (:func:`VERDICT_SCHEMA`; no ``scores`` when there are no
criteria). :func:`parse_verdict` turns its text into a :class:`Verdict`; a text it cannot
read without guessing is *no verdict* (``choice`` None) with a one-line ``problem``:

- The verdict is the one JSON object in the text: the whole text, one fenced block, or
  one object with prose around it. Two candidate objects (two blocks, or two top-level
  objects with a verdict key) are ambiguous; an object with none of ``choice``,
  ``scores``, ``reason`` (an example in the prose) is not a candidate, and neither is
  one that does not parse (a trailing comma): but one that had begun naming a
  ``"choice"`` beside a valid one is ambiguous too. A repeated key is no verdict (JSON
  readers keep the last one: a guess).
- Keys are exactly the schema's: an unknown key, or a missing ``choice``, ``reason`` or
  score, is no verdict. Scores are finite numbers from 0 to 10 (true/false, "7", NaN and
  Infinity are not).
- A letter is normalised only to one of the given letters: surrounding spaces, a leading
  "Model", "Answer", "Response", "Option" or "Candidate", lower case and full-width forms
  (``Ｂ``, from a CJK keyboard) are forgiven; a letter of another scheme ("Model B" when
  the letters are 1–3) or a look-alike (Cyrillic ``В``) is not. ``"tie"`` in any case is
  ``"tie"``; an integer choice is read as a digit letter.
- Untrusted size: a text over :data:`MAX_TEXT` characters is read only in its last
  :data:`TAIL` characters. Objects are found with ``json.JSONDecoder.raw_decode`` from
  each ``{`` that can open one (``{"`` or ``{}``, so ``{{{`` and code cost no try), on a
  slice of the text that grows only while the object does, at most :data:`MAX_ATTEMPTS`
  times and within a scanning budget proportional to the text: hostile input (megabytes
  of ``{``, deep nesting, unclosed strings) costs linear time.
- No JSON and words of refusal ("I can't…") is "the judge gave no verdict: <its first 200
  characters>"; an empty text is "the answer was empty".
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import jsonschema.validators

from chatlab.core.data.safety import clean_text, show, visible_controls

TIE = "tie"
MAX_REASON = 2_000  # characters of the judge's reason kept
MAX_TEXT = 1_000_000  # characters; a longer answer is read only in its tail
TAIL = 200_000  # characters of a long answer that are read
MAX_ATTEMPTS = 10_000  # tries at a '{' at most (a try whose slice grows decodes again)
SCAN_BUDGET = 8  # characters decoded at most, per character of the text read (plus one try)
SNIPPET = 200  # characters of a refusal quoted in the problem
KEYS = ("scores", "choice", "reason")
_PREFIX = re.compile(r"^(?:model|answer|response|option|candidate)\s+", re.IGNORECASE)
_REFUSAL = (
    "i can't",
    "i can’t",
    "i cannot",
    "i can not",
    "i won't",
    "i won’t",
    "i will not",
    "i'm not able",
    "i’m not able",
    "i am not able",
    "i'm unable",
    "i’m unable",
    "i am unable",
    "unable to",
    "as an ai",
    "i must decline",
    "i decline",
    "i refuse",
    "i'm sorry",
    "i’m sorry",
    "i am sorry",
    "i apologize",
    "i apologise",
    "not comfortable",
)


@dataclass(frozen=True)
class Verdict:
    """What the judge decided: ``choice`` is a letter, ``"tie"``, or None for no verdict
    (then ``problem`` says why, one line, and ``scores`` is empty)."""

    choice: str | None
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    reason: str = ""
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.choice is not None


@functools.lru_cache(maxsize=64)
def _validator(letters: tuple[str, ...], criteria: tuple[str, ...]) -> Any:
    """A checked validator of the schema for these letters and criteria, built once (a
    study judges many comparisons with the same ones)."""
    schema = VERDICT_SCHEMA(letters, criteria)
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


def VERDICT_SCHEMA(letters: Sequence[str], criteria: Sequence[str]) -> dict[str, Any]:
    """The JSON Schema of a verdict over ``letters`` and ``criteria`` (for structured output)."""
    letters, criteria = _check_letters(letters), _check_criteria(criteria)
    properties: dict[str, Any] = {}
    required = []
    if criteria:
        per_letter = {
            "type": "object",
            "properties": {c: {"type": "number", "minimum": 0, "maximum": 10} for c in criteria},
            "required": list(criteria),
            "additionalProperties": False,
        }
        properties["scores"] = {
            "type": "object",
            "properties": {letter: per_letter for letter in letters},
            "required": list(letters),
            "additionalProperties": False,
        }
        required.append("scores")
    properties["choice"] = {"type": "string", "enum": [*letters, TIE]}
    properties["reason"] = {"type": "string"}
    required += ["choice", "reason"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def parse_verdict(text: str, letters: Sequence[str], criteria: Sequence[str]) -> Verdict:
    """The judge's verdict in ``text``, read strictly (see the module's rules)."""
    letters, criteria = _check_letters(letters), _check_criteria(criteria)
    if not text.strip():
        return _none("the answer was empty")
    window, cut = text, ""
    if len(text) > MAX_TEXT:
        window = text[-TAIL:]
        cut = f" in the last {TAIL:,} characters of a {len(text):,}-character answer"
    found = _objects(window)
    if found.gave_up:
        return _none(f"gave up looking for JSON after {found.gave_up}{cut}")
    if len(found.candidates) == 1 and found.broken:
        return _none(f"a JSON answer beside one that does not parse ({found.error}){cut}: ambiguous")
    if len(found.candidates) > 1:
        n = len(found.candidates)
        return _none(("two" if n == 2 else f"{n}") + f" JSON answers{cut}, not one")
    if not found.candidates:
        if found.error:
            return _none(f"no valid JSON found{cut} ({found.error})")
        if found.others:
            return _none(f"no verdict in the JSON (it has none of {', '.join(KEYS)}){cut}")
        if _looks_like_refusal(window):
            return _none(f"the judge gave no verdict: {_snippet(window)}")
        return _none(f"no JSON found{cut}")
    return _read(found.candidates[0], letters, criteria)


# -- finding the JSON ---------------------------------------------------------------------


class _Repeated(dict[str, Any]):
    """A JSON object that named a key twice (``key`` is the first such)."""

    key: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out and not isinstance(out, _Repeated):
            out = _Repeated(out)
            out.key = key
        out[key] = value
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs)
_OPENING = re.compile(r'\{\s*["}]')  # where an object can start: not "{x}", "{{", "{ y();"
CHUNK = 4_096  # characters decoded at first from each '{'
_BROKEN_CHOICE = '"choice"'  # in an object that does not parse: it was a verdict too


@dataclass
class _Found:
    candidates: list[dict[str, Any]] = field(default_factory=list)
    others: int = 0  # objects with no verdict key
    error: str = ""  # why the first '{' that looked like an object did not parse
    broken: int = 0  # objects that did not parse but had begun naming a choice
    gave_up: str = ""


def _objects(text: str) -> _Found:
    """The top-level JSON objects in ``text``: raw_decode from each '{' that can open one
    (``{`` then ``"`` or ``}``) and is not inside one already read, within
    :data:`MAX_ATTEMPTS` tries and a budget of :data:`SCAN_BUDGET` characters decoded per
    character of ``text``."""
    found = _Found()
    budget = SCAN_BUDGET * len(text)
    attempts = 0
    match = _OPENING.search(text)
    while match is not None:
        if attempts >= MAX_ATTEMPTS:
            found.gave_up = f"{MAX_ATTEMPTS:,} tries at a '{{'"
            return found
        if budget < 0:
            found.gave_up = f"{attempts:,} tries at a '{{' (too much to scan)"
            return found
        attempts += 1
        i = match.start()
        value, end, cost, error = _decode(text, i)
        budget -= cost
        if value is None:
            found.error = found.error or error
            found.broken += _BROKEN_CHOICE in text[i : i + max(cost, 0)]
            match = _OPENING.search(text, i + 1)
            continue
        if any(key in value for key in KEYS):
            found.candidates.append(value)
        else:
            found.others += 1
        match = _OPENING.search(text, end)
    return found


def _decode(text: str, i: int) -> tuple[dict[str, Any] | None, int, int, str]:
    """The object from ``text[i]``: (it or None, where it ends, characters scanned, why not).

    Decoding a slice (:data:`CHUNK` characters, doubled while the object runs past its end)
    keeps a failed try cheap: a JSONDecodeError counts the lines of everything before it."""
    size = CHUNK
    while True:
        chunk = text[i : i + size]
        whole = i + size >= len(text)
        try:
            value, end = _DECODER.raw_decode(chunk)
        except json.JSONDecodeError as e:
            ran_out = e.pos >= len(chunk) - 8 or e.msg.startswith("Unterminated string")
            if ran_out and not whole:
                size *= 2
                continue
            cost = len(chunk) if ran_out or size > CHUNK else max(1, e.pos)  # what was read
            return None, 0, cost, f"{e.msg} at character {e.pos} of the object"
        except RecursionError:
            return None, 0, len(text) - i, "nested too deep"  # hostile: one try spends the budget
        except ValueError as e:  # an integer too long to read
            return None, 0, len(chunk), show(str(e), 80)
        return (value if isinstance(value, dict) else None), i + end, end, ""


def _looks_like_refusal(text: str) -> bool:
    head = text[:2_000].lower()
    return any(words in head for words in _REFUSAL)


def _snippet(text: str) -> str:
    one_line = " ".join(text[: SNIPPET * 10].split())
    cut = one_line[:SNIPPET] + ("…" if len(one_line) > SNIPPET else "")
    return visible_controls(clean_text(cut))


# -- reading the verdict ------------------------------------------------------------------


def _read(obj: dict[str, Any], letters: tuple[str, ...], criteria: tuple[str, ...]) -> Verdict:
    if isinstance(obj, _Repeated):
        return _none(f"the verdict names {show(obj.key)} twice")
    allowed = KEYS if criteria else KEYS[1:]
    extra = sorted(k for k in obj if k not in allowed)
    if extra:
        return _none(f"unexpected key {show(extra[0])} in the verdict")
    if "choice" not in obj:
        return _none("the verdict has no choice")
    choice = _letter(obj["choice"], letters, tie=True)
    if choice is None:
        return _none(f"choice {show(obj['choice'])} is not one of {_listed(letters)} or 'tie'")
    if "reason" not in obj:
        return _none("the verdict has no reason")
    if not isinstance(obj["reason"], str):
        return _none(f"the reason is {show(obj['reason'])}, not text")
    scores: dict[str, dict[str, float]] = {}
    if criteria:
        got = _scores(obj.get("scores"), letters, criteria)
        if isinstance(got, str):
            return _none(got)
        scores = got
    reason = clean_text(obj["reason"][:MAX_REASON])
    normal = {"choice": choice, "reason": reason} | ({"scores": scores} if criteria else {})
    # The schema is the contract: what is returned always satisfies it.
    try:
        _validator(tuple(letters), tuple(criteria)).validate(normal)
    except jsonschema.ValidationError as e:
        return _none(f"the verdict does not fit the schema: {show(e.message, 120)}")
    return Verdict(choice=choice, scores=scores, reason=reason)


def _scores(
    raw: Any, letters: tuple[str, ...], criteria: tuple[str, ...]
) -> dict[str, dict[str, float]] | str:
    """The scores, or why there are none (one line)."""
    if raw is None:
        return "the verdict has no scores"
    if not isinstance(raw, Mapping):
        return f"scores is {show(raw)}, not an object"
    if isinstance(raw, _Repeated):
        return f"scores names {show(raw.key)} twice"
    by_letter: dict[str, Mapping[str, Any]] = {}
    for key, per in raw.items():
        letter = _letter(key, letters, tie=False)
        if letter is None:
            return f"scores name {show(key)}, not one of {_listed(letters)}"
        if letter in by_letter:
            return f"scores name {letter} twice"
        if not isinstance(per, Mapping):
            return f"the scores for {letter} are {show(per)}, not an object"
        if isinstance(per, _Repeated):
            return f"the scores for {letter} name {show(per.key)} twice"
        by_letter[letter] = per
    out: dict[str, dict[str, float]] = {}
    for letter in letters:
        if letter not in by_letter:
            return f"no scores for {letter}"
        per = by_letter[letter]
        extra = sorted(k for k in per if k not in criteria)
        if extra:
            return f"unexpected criterion {show(extra[0])} for {letter}"
        out[letter] = {}
        for criterion in criteria:
            if criterion not in per:
                return f"no score for {letter} {criterion}"
            value = per[criterion]
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"score for {letter} {criterion} is {_number(value)}, not a number"
            if not (isinstance(value, int) or math.isfinite(value)) or not 0 <= value <= 10:
                return f"score for {letter} {criterion} is {_number(value)}, not 0–10"
            out[letter][criterion] = float(value)
    return out


def _letter(value: Any, letters: tuple[str, ...], *, tie: bool) -> str | None:
    """The given letter (or "tie") ``value`` names, or None: never a guess."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**6:
        value = str(value)
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = _PREFIX.sub("", _halfwidth(value).strip(), count=1).strip()
    if not text.isascii():
        return None
    if tie and text.lower() == TIE:
        return TIE
    for letter in letters:
        if text.upper() == letter.upper():
            return letter
    return None


def _halfwidth(text: str) -> str:
    """Full-width ASCII forms (U+FF01–U+FF5E, and the ideographic space) as ASCII."""
    return "".join(
        " " if ch == "\u3000" else chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in text
    )


def _number(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bool):
        return "true" if value else "false"
    return show(value)


def _listed(letters: tuple[str, ...]) -> str:
    return ", ".join(letters)


def _none(problem: str) -> Verdict:
    return Verdict(choice=None, problem=" ".join(problem.split()))


def _check_letters(letters: Sequence[str]) -> tuple[str, ...]:
    out = tuple(letters)
    if not out:
        raise ValueError("a verdict needs at least one letter")
    for letter in out:
        if not (isinstance(letter, str) and letter.isascii() and letter.isalnum()):
            raise ValueError(f"a letter is ASCII letters or digits, not {letter!r}")
        if letter.lower() == TIE:
            raise ValueError("'tie' cannot be a letter")
    if len({letter.upper() for letter in out}) != len(out):
        raise ValueError(f"letters repeat: {out!r}")
    return out


def _check_criteria(criteria: Sequence[str]) -> tuple[str, ...]:
    out = tuple(criteria)
    if any(not isinstance(c, str) or not c for c in out):
        raise ValueError(f"a criterion is a non-empty string: {out!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"criteria repeat: {out!r}")
    return out
