"""Study suites: a fixed set of prompts, the lanes that answer them, and how many times.

A suite is a TOML file (its JSON Schema is ``resources/suite.schema.json``): a name,
prompts with ids and tags, lanes (or a lane preset's name), ``samples`` per prompt and
lane, per-provider ``concurrency``, a ``budget_usd``, a ``seed`` and an optional
``placebo`` (the first lane run twice under two blind identities, a noise floor for the
analysis), and for the rating queue a ``reveal`` policy, a share of hidden ``repeats``
and ``show_reasoning`` (each answer's reasoning shown, so the guess is about the thinking).
Loading checks the file against the schema and then what a schema can't
say (unique prompt ids, lanes or a preset, parameters a lane can send) and refuses a
bad file with one line naming the place. :meth:`Suite.units` lists the work as units
with stable ids, one per (prompt, lane, sample), so a study can be resumed exactly.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from chatlab.core.data import safety
from chatlab.core.data.constants import STUDY_IDLE_TIMEOUT_S
from chatlab.core.settings.config import (
    MAX_PRESET_LANES,
    Config,
    ConfigError,
    PresetLane,
    one_line,
    preset_lane,
)
from chatlab.core.studies.answers import AnswerKey, AnswerKeyError, parse_key

DEFAULT_CONCURRENCY = 4


class SuiteError(ValueError):
    """A suite that can't be used; ``path`` names the place (``prompts[3].tags``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(one_line(f"{path}: {message}"))
        self.path = path
        self.message = message


MAX_FILE_BYTES = 50_000_000
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line_text(value: str, where: str) -> str:
    """A name, provider, model or label: one line of valid Unicode, not blank."""
    if not value.strip():
        raise SuiteError(where, "is blank")
    if _LINE_BREAKS.search(value):
        raise SuiteError(where, "must be one line without control characters")
    if safety.clean_text(value) != value:
        raise SuiteError(where, "is not valid Unicode")
    return value


def _whole(value: Any, where: str) -> int:
    """JSON Schema counts 2.0 as an integer; chatlab wants it written as 2."""
    if type(value) is not int:
        raise SuiteError(
            where, f"must be a whole number written without a decimal point, got {safety.show(value, 40)}"
        )
    return value


def _huge_number(value: Any, where: str, depth: int = 0) -> str | None:
    """The place of an integer too long to print (over about 4,200 digits), if any."""
    if isinstance(value, int) and not isinstance(value, bool):
        return where if value.bit_length() > 14_000 else None
    if depth > 64:
        return None
    if isinstance(value, dict):
        items: Any = ((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for place, item in items:
        found = _huge_number(item, place, depth + 1)
        if found is not None:
            return found
    return None


def _short_path(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else "…" + text[-110:]


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    tags: tuple[str, ...] = ()
    verifiable: bool = False
    system: str | None = None
    answer: AnswerKey | None = None  # checked by code; a keyed prompt is verifiable


@dataclass(frozen=True)
class Unit:
    """One answer to get: a prompt, a lane (its index in :attr:`Suite.lanes`), a sample."""

    prompt_id: str
    lane: int
    sample: int

    @property
    def id(self) -> str:
        return f"{self.prompt_id}/{self.lane}/{self.sample}"


@dataclass(frozen=True)
class Suite:
    name: str
    prompts: tuple[Prompt, ...]
    lanes: tuple[PresetLane, ...]  # with the placebo's twin appended when ``placebo``
    samples: int = 1
    seed: int = 0
    budget_usd: float | None = None
    placebo: bool = False
    concurrency: dict[str, int] = field(default_factory=dict)
    description: str = ""
    preset: str | None = None
    reveal: str = "end"  # identities shown to a rater at the end of the queue, or after each vote
    repeats: float = 0.0  # share of comparisons shown again, hidden, in each rater's queue
    show_reasoning: bool = False  # each answer's reasoning on show in the blind queue
    # A request that sends nothing for this long is given up as a timeout (and tried once
    # more at the end of the run, as any transient failure).
    idle_timeout_s: float = STUDY_IDLE_TIMEOUT_S

    def limit(self, provider: str) -> int:
        """Requests in flight at once for ``provider``."""
        return self.concurrency.get(provider, DEFAULT_CONCURRENCY)

    def units(self) -> list[Unit]:
        """Every answer the study needs, prompt by prompt, in a stable order."""
        return [
            Unit(prompt.id, lane, sample)
            for prompt in self.prompts
            for sample in range(self.samples)
            for lane in range(len(self.lanes))
        ]


@cache
def _validator() -> Any:
    import jsonschema

    from chatlab.core.data.resources import resources_dir

    schema = json.loads((resources_dir() / "suite.schema.json").read_text("utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def parse_suite(data: Any, config: Config | None = None) -> Suite:
    """A suite from its parsed TOML; raises :class:`SuiteError` naming the place."""
    import jsonschema

    from chatlab.core.data.export import schema_problem

    huge = _huge_number(data, "")
    if huge is not None:
        raise SuiteError(huge or "(document)", "is a number far too large")
    try:
        error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
        problem = schema_problem(error) if error is not None else None
    except (ValueError, RecursionError):  # a number of more digits than Python will print
        raise SuiteError("(document)", "holds a value too large to check") from None
    if problem is not None:
        raise SuiteError(*problem)
    _one_line_text(data["name"], "name")
    if safety.clean_text(data.get("description", "")) != data.get("description", ""):
        raise SuiteError("description", "is not valid Unicode")
    budget = data.get("budget_usd")
    if budget is not None and not math.isfinite(budget):
        raise SuiteError("budget_usd", "must be a finite number of dollars")
    if not math.isfinite(data.get("repeats", 0.0)):
        raise SuiteError("repeats", "must be a share from 0 to 0.5")
    if data.get("repeats", 0.0) and data.get("reveal", "end") == "each":
        raise SuiteError(
            "repeats", 'need reveal = "end": a repeat shown after its answers were revealed measures nothing'
        )
    for key in ("samples", "seed"):
        if key in data:
            _whole(data[key], key)
    ids: set[str] = set()
    prompts = []
    for i, raw in enumerate(data["prompts"]):
        if not _ID.fullmatch(raw["id"]):
            raise SuiteError(f"prompts[{i}].id", "letters, digits, '_', '.' and '-' only (at most 64)")
        for t, tag in enumerate(raw.get("tags", ())):
            if not _TAG.fullmatch(tag):
                raise SuiteError(f"prompts[{i}].tags[{t}]", "lower-case letters, digits, '_' and '-' only")
        if raw["id"] in ids:
            raise SuiteError(f"prompts[{i}].id", f"repeats the id {safety.show(raw['id'], 60)}")
        ids.add(raw["id"])
        text = safety.clean_text(raw["text"])
        if not text.strip():
            raise SuiteError(f"prompts[{i}].text", "is empty")
        system = raw.get("system")
        answer = None
        if "answer" in raw:
            try:
                answer = parse_key(raw["answer"])
            except AnswerKeyError as exc:
                raise SuiteError(f"prompts[{i}].answer", str(exc)) from None
        prompts.append(
            Prompt(
                raw["id"],
                text,
                tuple(raw.get("tags", ())),
                raw.get("verifiable", answer is not None),
                safety.clean_text(system) if system and system.strip() else None,
                answer,
            )
        )
    lanes = _lanes(data, config)
    for i, lane in enumerate(lanes):
        for key in ("provider", "model", "label"):
            value = getattr(lane, key)
            if value or key != "label":
                _one_line_text(value, f"lanes[{i}].{key}")
        if lane.params.system and safety.clean_text(lane.params.system) != lane.params.system:
            raise SuiteError(f"lanes[{i}].params.system", "is not valid Unicode")
    providers = {lane.provider for lane in lanes}
    for key, limit in data.get("concurrency", {}).items():
        where = f"concurrency.{key}"
        _whole(limit, where)
        if key not in providers:
            raise SuiteError(where, "names a provider no lane of this suite uses")
    placebo = bool(data.get("placebo", False))
    if placebo:
        if len(lanes) + 1 > MAX_PRESET_LANES:
            raise SuiteError("placebo", f"needs room for one more lane (at most {MAX_PRESET_LANES} in all)")
        first = lanes[0]
        twin = PresetLane(
            first.provider, first.model, first.params, (first.label or first.spec) + " (placebo)"
        )
        lanes = (*lanes, twin)
    return Suite(
        name=data["name"],
        prompts=tuple(prompts),
        lanes=lanes,
        samples=data.get("samples", 1),
        seed=data.get("seed", 0),
        budget_usd=float(data["budget_usd"]) if "budget_usd" in data else None,
        placebo=placebo,
        concurrency=dict(data.get("concurrency", {})),
        description=data.get("description", ""),
        preset=data.get("preset"),
        reveal=data.get("reveal", "end"),
        repeats=float(data.get("repeats", 0.0)),
        show_reasoning=bool(data.get("show_reasoning", False)),
        idle_timeout_s=float(data.get("idle_timeout_s", STUDY_IDLE_TIMEOUT_S)),
    )


def _lanes(data: dict[str, Any], config: Config | None) -> tuple[PresetLane, ...]:
    if ("lanes" in data) == ("preset" in data):
        raise SuiteError("lanes", "give either lanes or a preset's name, not both or neither")
    if "preset" in data:
        from chatlab.core.settings.presets import all_presets, shipped

        presets = all_presets(config) if config is not None else shipped()
        found = next((p for p in presets if p.name == data["preset"]), None)
        if found is None:
            raise SuiteError("preset", f"there is no preset {safety.show(data['preset'], 60)}")
        return found.entries
    out = []
    for i, raw in enumerate(data["lanes"]):
        try:
            out.append(preset_lane(raw, f"lanes[{i}]"))
        except ConfigError as exc:
            raise SuiteError(f"lanes[{i}]", str(exc).removeprefix(f"lanes[{i}]").strip()) from None
    return tuple(out)


def load_suite(path: Path, config: Config | None = None) -> Suite:
    """Read and check a suite file; every problem is one :class:`SuiteError` line."""
    name = _short_path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SuiteError(name, f"is larger than {MAX_FILE_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError(name, f"cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # a byte order mark (Notepad) is fine
    except UnicodeDecodeError as exc:
        raise SuiteError(name, f"is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(name, f"invalid TOML: {exc}") from None
    except (RecursionError, ValueError) as exc:  # nesting, or an integer Python won't convert
        raise SuiteError(name, f"invalid TOML ({type(exc).__name__})") from None
    try:
        return parse_suite(data, config)
    except SuiteError as exc:
        raise SuiteError(f"{name}: {exc.path}", exc.message) from None


def shipped_suites() -> list[Path]:
    """The suites that come with chatlab (``resources/suites``)."""
    from chatlab.core.data.resources import resources_dir

    return sorted((resources_dir() / "suites").glob("*.toml"))
