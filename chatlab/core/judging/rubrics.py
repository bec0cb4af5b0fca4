"""Rubrics: what a judge model is told, and how its criterion scores make its choice.

A rubric is a TOML file: a ``name``, a ``description``, the judge's ``instruction``,
``criteria`` (each a ``name``, a ``weight``, a ``description`` and ``anchors``: what a 0,
a 5 and a 10 look like, as EQ-Bench's creative-writing criteria have), and ``choice``,
how the scores become the choice: ``"weighted"`` (the answer with the highest weighted
mean wins; within ``tie_margin`` of it is a tie) or ``"judge"`` (the judge's own choice,
the scores kept as ratings). Shipped rubrics are in ``resources/rubrics/`` (``writing``,
``advice``, ``general``); the user's, in ``rubrics/`` in the config folder, win over a
shipped one of the same name. A bad file is refused with one line naming the place
("writing.toml: criteria[2].weight must be a positive number, got -1"). Nothing here
imports Qt or an SDK.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlab.core.data import safety
from chatlab.core.data.resources import resources_dir
from chatlab.core.settings.config import ConfigError, paths

CHOICES = ("weighted", "judge")
MAX_CRITERIA = 12
MAX_INSTRUCTION = 8_000
MAX_TEXT = 1_000
MAX_FILE = 256 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_KEYS = {"name", "description", "instruction", "criteria", "choice", "tie_margin"}
_CRITERION_KEYS = {"name", "weight", "description", "anchors"}


@dataclass(frozen=True)
class Criterion:
    name: str
    weight: float
    description: str
    anchors: tuple[tuple[int, str], ...]  # (score 0–10, what it looks like), in order


@dataclass(frozen=True)
class Rubric:
    name: str
    description: str
    instruction: str
    criteria: tuple[Criterion, ...]
    choice: str = "weighted"
    tie_margin: float = 0.5  # weighted means this close are a tie
    source: str = ""  # the file it came from, for messages

    @property
    def criterion_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.criteria)

    def choose(self, scores: Mapping[str, Mapping[str, float]], judges_choice: str | None) -> str | None:
        """The rubric's choice among the letters of ``scores``: by weighted mean (a tie
        when the best two are within ``tie_margin``), or the judge's own."""
        if self.choice == "judge" or not self.criteria:
            return judges_choice
        total = sum(c.weight for c in self.criteria)
        means = {
            letter: sum(c.weight * float(given[c.name]) for c in self.criteria) / total
            for letter, given in scores.items()
        }
        if not means:
            return None
        ranked = sorted(means.items(), key=lambda kv: kv[1], reverse=True)
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] <= self.tie_margin:
            return "tie"
        return ranked[0][0]


def _where(source: str, place: str) -> str:
    return f"{source}: {place}" if place else source


def _text(value: Any, source: str, place: str, limit: int, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ConfigError(f"{_where(source, place)} must be {'a' if empty else 'a non-empty'} string")
    if safety.clean_text(value) != value or _CONTROL.search(value):
        raise ConfigError(f"{_where(source, place)} is not valid Unicode text (or holds control characters)")
    if len(value) > limit:
        raise ConfigError(f"{_where(source, place)} has {len(value):,} characters, at most {limit:,}")
    return value.strip()


def _number(value: Any, source: str, place: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{_where(source, place)} must be a number, got {safety.show(value, 40)}")
    number = float(value)
    if not math.isfinite(number) or number <= 0 or number > 100:
        raise ConfigError(
            f"{_where(source, place)} must be a positive number up to 100, got {safety.show(value, 40)}"
        )
    return number


def _name(value: Any, source: str, place: str) -> str:
    """A rubric's or a criterion's name, checked."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(f"{_where(source, place)} must be 1–40 lower-case letters, digits, '_' or '-'")
    return value


def _criterion(raw: Any, source: str, place: str) -> Criterion:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(source, place)} must be a table with name, weight, description, anchors")
    unknown = sorted(set(raw) - _CRITERION_KEYS)
    if unknown:
        raise ConfigError(f"{_where(source, place)} has unknown key {safety.show(unknown[0], 40)}")
    name = _name(raw.get("name"), source, f"{place}.name")
    weight = _number(raw.get("weight", 1.0), source, f"{place}.weight")
    description = _text(raw.get("description"), source, f"{place}.description", MAX_TEXT)
    anchors_raw = raw.get("anchors", {})
    if not isinstance(anchors_raw, dict) or not anchors_raw:
        raise ConfigError(
            f'{_where(source, place + ".anchors")} must be a table like {{"0" = "…", "10" = "…"}}'
        )
    anchors = []
    for key, text in anchors_raw.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and 0 <= int(key) <= 10):
            raise ConfigError(
                f"{_where(source, place + '.anchors')} keys are scores 0 to 10, got {safety.show(key, 20)}"
            )
        anchors.append((int(key), _text(text, source, f"{place}.anchors.{key}", MAX_TEXT)))
    return Criterion(name, weight, description, tuple(sorted(anchors)))


def parse_rubric(data: Any, source: str) -> Rubric:
    """A rubric from a TOML document's data; raises :class:`ConfigError` naming the place."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a rubric is a TOML table")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key {safety.show(unknown[0], 40)}")
    name = _name(data.get("name"), source, "name")
    description = _text(data.get("description", ""), source, "description", MAX_TEXT, empty=True)
    instruction = _text(data.get("instruction"), source, "instruction", MAX_INSTRUCTION)
    choice = data.get("choice", "weighted")
    if choice not in CHOICES:
        raise ConfigError(
            f"{source}: choice must be one of {', '.join(CHOICES)}, got {safety.show(choice, 40)}"
        )
    margin = data.get("tie_margin", 0.5)
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 <= margin <= 10:
        raise ConfigError(
            f"{source}: tie_margin must be a number from 0 to 10, got {safety.show(margin, 40)}"
        )
    raw = data.get("criteria", [])
    if not isinstance(raw, list) or len(raw) > MAX_CRITERIA:
        raise ConfigError(
            f"{source}: criteria must be a list of at most {MAX_CRITERIA} tables ([[criteria]])"
        )
    if not raw and choice == "weighted":
        raise ConfigError(f'{source}: a rubric with choice = "weighted" needs criteria')
    criteria = tuple(_criterion(c, source, f"criteria[{i}]") for i, c in enumerate(raw))
    names = [c.name for c in criteria]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(f"{source}: criteria[{i}].name {n!r} is given twice")
    return Rubric(name, description, instruction, criteria, choice, float(margin), source)


def load_rubric(path: Path) -> Rubric:
    """A rubric file, checked; raises :class:`ConfigError` with one line."""
    source = path.name
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE + 1)
    except OSError as exc:
        raise ConfigError(f"{source}: can't be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE:
        raise ConfigError(f"{source}: is over {MAX_FILE // 1024} KB; a rubric is a short text")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: is not valid TOML ({exc})") from None
    rubric = parse_rubric(data, source)
    if rubric.name != path.stem:
        raise ConfigError(f"{source}: name {rubric.name!r} must match the file's name ({path.stem!r})")
    return rubric


def shipped_dir() -> Path:
    return resources_dir() / "rubrics"


def user_dir() -> Path:
    return paths().config_dir / "rubrics"


def find_rubric(name: str) -> Rubric:
    """The rubric called ``name``: the user's (config folder ``rubrics/NAME.toml``) or else
    the shipped one. Raises :class:`ConfigError` naming those there are."""
    if not _NAME.match(name):
        raise ConfigError(
            f"no rubric {safety.show(name, 40)}: a rubric's name is lower-case letters, digits, '_' or '-'"
        )
    for folder in (user_dir(), shipped_dir()):
        path = folder / f"{name}.toml"
        if path.is_file():
            return load_rubric(path)
    known = sorted(
        {p.stem for folder in (user_dir(), shipped_dir()) if folder.is_dir() for p in folder.glob("*.toml")}
    )
    raise ConfigError(f"no rubric {name!r} (known: {', '.join(known) or 'none'})")
