"""Study suites: a fixed set of prompts, the lanes that answer them, and how many times.

A suite is a TOML file (its JSON Schema is ``resources/suite.schema.json``): a name,
prompts with ids and tags, lanes (or a lane preset's name), ``samples`` per prompt and
lane, per-provider ``concurrency``, a ``budget_usd``, a ``seed`` and an optional
``placebo`` (the first lane run twice under two blind identities, a noise floor for the
analysis). Loading checks the file against the schema and then what a schema can't
say (unique prompt ids, lanes or a preset, parameters a lane can send) and refuses a
bad file with one line naming the place. :meth:`Suite.units` lists the work as units
with stable ids, one per (prompt, lane, sample), so a study can be resumed exactly.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from chatlab.core import safety
from chatlab.core.config import MAX_PRESET_LANES, Config, ConfigError, PresetLane, one_line, preset_lane

DEFAULT_CONCURRENCY = 4


class SuiteError(ValueError):
    """A suite that can't be used; ``path`` names the place (``prompts[3].tags``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(one_line(f"{path}: {message}"))
        self.path = path


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    tags: tuple[str, ...] = ()
    verifiable: bool = False
    system: str | None = None


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

    from chatlab.core.pricing import resources_dir

    schema = json.loads((resources_dir() / "suite.schema.json").read_text("utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def parse_suite(data: Any, config: Config | None = None) -> Suite:
    """A suite from its parsed TOML; raises :class:`SuiteError` naming the place."""
    import jsonschema

    from chatlab.core.export import schema_problem

    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        raise SuiteError(*schema_problem(error))
    ids: set[str] = set()
    prompts = []
    for i, raw in enumerate(data["prompts"]):
        if raw["id"] in ids:
            raise SuiteError(f"prompts[{i}].id", f"repeats the id {safety.show(raw['id'], 60)}")
        ids.add(raw["id"])
        text = safety.clean_text(raw["text"])
        if not text.strip():
            raise SuiteError(f"prompts[{i}].text", "is empty")
        system = raw.get("system")
        prompts.append(
            Prompt(
                raw["id"],
                text,
                tuple(raw.get("tags", ())),
                raw.get("verifiable", False),
                safety.clean_text(system) if system and system.strip() else None,
            )
        )
    lanes = _lanes(data, config)
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
    )


def _lanes(data: dict[str, Any], config: Config | None) -> tuple[PresetLane, ...]:
    if ("lanes" in data) == ("preset" in data):
        raise SuiteError("lanes", "give either lanes or a preset's name, not both or neither")
    if "preset" in data:
        from chatlab.core.presets import all_presets, shipped

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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError(str(path), f"cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SuiteError(str(path), f"is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(str(path), f"invalid TOML: {exc}") from None
    except (RecursionError, ValueError) as exc:  # nesting, or an integer Python won't convert
        raise SuiteError(str(path), f"invalid TOML ({type(exc).__name__})") from None
    try:
        return parse_suite(data, config)
    except SuiteError as exc:
        raise SuiteError(f"{path}: {exc.path}", str(exc).removeprefix(f"{exc.path}: ")) from None


def shipped_suites() -> list[Path]:
    """The suites that come with chatlab (``resources/suites``)."""
    from chatlab.core.pricing import resources_dir

    return sorted((resources_dir() / "suites").glob("*.toml"))
