"""Lane presets: a named set of lanes to start a session with, shipped or saved by the user.

A preset is a name and a list of :class:`~chatlab.core.settings.config.PresetLane` (provider,
model, parameters, label). The shipped presets set up the experiments chatlab is for:
the same base model with reasoning on and off (Claude with and without a thinking
budget, an o-series model at high and low effort, DeepSeek's thinking and non-thinking
modes), the prompted-reasoning control (each reasoner beside its plain sibling asked to
think first, ``think = "prompted"``), the demo's "which one reasoned?" and the demo's
effort ladder (demo-hybrid at effort none, low and high). A lane can
also come from the command line's ``-m PROVIDER:MODEL{key=value, …}``
(:func:`lane_from_spec`). The user's presets live in ``config.toml``
under ``[presets."NAME"]``; :func:`save_preset` and :func:`remove_preset` return a new
:class:`~chatlab.core.settings.config.Config` for the caller to save. Nothing here imports Qt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chatlab.core.data import safety
from chatlab.core.data.model import Lane, LaneParams
from chatlab.core.settings.config import (
    _PARAM_TYPES,
    MAX_PRESET_LANES,
    Config,
    ConfigError,
    PresetLane,
    check_lane_params,
    preset_lane,
    preset_name_problem,
)

__all__ = [
    "Preset",
    "PresetLane",
    "all_presets",
    "lane_from_spec",
    "name_problem",
    "remove_preset",
    "save_preset",
    "shipped",
]

DEMO_PRESET = "demo: which one reasoned?"
DEMO_LADDER_PRESET = "demo: reasoning effort none, low, high"


@dataclass(frozen=True)
class Preset:
    """A named list of lanes; ``builtin`` presets ship with chatlab and can't be removed."""

    name: str
    entries: tuple[PresetLane, ...]
    builtin: bool = False

    def lanes(self) -> list[Lane]:
        """New lanes (each with a new id) for a session started from this preset."""
        return [Lane(e.provider, e.model, e.params, e.label) for e in self.entries]

    def specs(self) -> list[str]:
        """``PROVIDER:MODEL`` of each lane, in order."""
        return [e.spec for e in self.entries]

    def missing_providers(self, providers: Collection[str]) -> list[str]:
        """The providers this preset uses that are not in ``providers``, in order of use."""
        out: list[str] = []
        for e in self.entries:
            if e.provider not in providers and e.provider not in out:
                out.append(e.provider)
        return out


_SHIPPED = (
    Preset(
        "Claude Sonnet 4.5: thinking on vs off",
        (
            PresetLane(
                "anthropic",
                "claude-sonnet-4-5",
                LaneParams(thinking_budget=8192, max_output_tokens=16384),
                "thinking on (8k budget)",
            ),
            PresetLane("anthropic", "claude-sonnet-4-5", LaneParams(), "thinking off"),
        ),
        builtin=True,
    ),
    Preset(
        "o4-mini: reasoning effort high vs low",
        (
            PresetLane("openai", "o4-mini", LaneParams(reasoning_effort="high"), "effort high"),
            PresetLane("openai", "o4-mini", LaneParams(reasoning_effort="low"), "effort low"),
        ),
        builtin=True,
    ),
    Preset(
        "DeepSeek V3.2: thinking vs non-thinking mode",
        (
            PresetLane("deepseek", "deepseek-reasoner", LaneParams(), "thinking mode"),
            PresetLane("deepseek", "deepseek-chat", LaneParams(), "non-thinking mode"),
        ),
        builtin=True,
    ),
    # The prompted-reasoning control: a trained reasoner beside its plain sibling asked to
    # think first (think = "prompted"), so a vote says whether the training matters or
    # thinking first is enough.
    Preset(
        "Claude Sonnet 4.5: thinking vs asked to think",
        (
            PresetLane(
                "anthropic",
                "claude-sonnet-4-5",
                LaneParams(thinking_budget=8192, max_output_tokens=16384),
                "thinking on (8k budget)",
            ),
            PresetLane(
                "anthropic",
                "claude-sonnet-4-5",
                LaneParams(think="prompted", max_output_tokens=16384),
                "thinking off, asked to think",
            ),
        ),
        builtin=True,
    ),
    Preset(
        "o4-mini vs gpt-4.1 asked to think",
        (
            PresetLane("openai", "o4-mini", LaneParams(), "o4-mini (reasoner)"),
            PresetLane("openai", "gpt-4.1", LaneParams(think="prompted"), "gpt-4.1, asked to think"),
        ),
        builtin=True,
    ),
    Preset(
        "DeepSeek V3.2: thinking mode vs asked to think",
        (
            PresetLane("deepseek", "deepseek-reasoner", LaneParams(), "thinking mode"),
            PresetLane(
                "deepseek", "deepseek-chat", LaneParams(think="prompted"), "non-thinking mode, asked to think"
            ),
        ),
        builtin=True,
    ),
    Preset(
        DEMO_PRESET,
        (
            PresetLane("demo", "demo-reasoner", LaneParams(), "Visible reasoner"),
            PresetLane("demo", "demo-fast", LaneParams(), "No reasoning"),
            PresetLane("demo", "demo-hidden", LaneParams(), "Hidden reasoner"),
        ),
        builtin=True,
    ),
    Preset(
        DEMO_LADDER_PRESET,
        tuple(
            PresetLane("demo", "demo-hybrid", LaneParams(reasoning_effort=effort), f"effort {effort}")
            for effort in ("none", "low", "high")
        ),
        builtin=True,
    ),
)


def shipped() -> list[Preset]:
    """The presets chatlab ships with."""
    return list(_SHIPPED)


def all_presets(config: Config) -> list[Preset]:
    """The shipped presets, then the user's by name. A user preset with a shipped
    preset's name (only possible by editing the file) takes the shipped one's place."""
    user = {name: Preset(name, lanes) for name, lanes in config.presets.items()}
    out = [user.pop(p.name, p) for p in _SHIPPED]
    return out + sorted(user.values(), key=lambda p: p.name.casefold())


def name_problem(name: str, config: Config | None = None) -> str | None:
    """Why ``name`` can't be used for a new user preset, or None (an existing user
    preset of that name may be replaced)."""
    problem = preset_name_problem(name)
    if problem:
        return problem
    if any(p.name == name for p in _SHIPPED) and (config is None or name not in config.presets):
        return f"{name!r} is a shipped preset: choose another name"
    return None


def save_preset(config: Config, name: str, lanes: Sequence[Lane]) -> Config:
    """``config`` with the preset ``name`` holding ``lanes`` (replacing a user preset of
    that name). Lane ids are not kept. Raises :class:`ConfigError` with the reason."""
    problem = name_problem(name, config)
    if problem:
        raise ConfigError(problem)
    if not 1 <= len(lanes) <= MAX_PRESET_LANES:
        raise ConfigError(f"a preset holds 1 to {MAX_PRESET_LANES} lanes, got {len(lanes)}")
    entries = []
    for i, lane in enumerate(lanes, 1):
        where = f"lane {i} ({lane.spec})"
        if not lane.provider or ":" in lane.provider or not lane.model.strip():
            raise ConfigError(f"{where}: a lane needs a provider and a model")
        try:
            check_lane_params(lane.params)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        texts = (lane.provider, lane.model, lane.label, lane.params.system or "")
        if any(0xD800 <= ord(ch) <= 0xDFFF for text in texts for ch in text):
            raise ConfigError(f"{where}: text that is not valid Unicode can't be saved")
        entries.append(PresetLane(lane.provider, lane.model.strip(), lane.params, lane.label))
    return replace(config, presets={**config.presets, name: tuple(entries)})


def remove_preset(config: Config, name: str) -> Config:
    """``config`` without the user preset ``name``; raises :class:`ConfigError` for a
    shipped preset or an unknown name."""
    if name not in config.presets:
        if any(p.name == name for p in _SHIPPED):
            raise ConfigError(f"{name!r} is a shipped preset and can't be removed")
        raise ConfigError(f"there is no saved preset {name!r}")
    return replace(config, presets={k: v for k, v in config.presets.items() if k != name})


_KEY = re.compile(r"\s*([A-Za-z_]+)\s*=\s*")
SPEC_HELP = "PROVIDER:MODEL, optionally with parameters: openai:gpt-4.1{think=prompted, temperature=0.7}"


def lane_from_spec(spec: str) -> PresetLane:
    """A lane from the command line's ``-m``: ``PROVIDER:MODEL``, optionally followed by
    ``{key=value, …}`` with the parameters of a preset lane (``think``, ``system``,
    ``temperature``, ``max_output_tokens``, ``reasoning``, ``reasoning_effort``,
    ``thinking_budget``) and
    ``label``; a value with a comma or a brace is written as a JSON string
    (``system="Be brief, please."``). A contender id as ``chatlab stats`` prints it
    (``openai:o3 {reasoning_effort=high}``) reads back as its lane. Raises
    :class:`ConfigError` naming what is wrong."""
    where = f"model {safety.show(spec, 80)}"
    head, brace, tail = spec.partition("{")
    if brace and not tail.rstrip().endswith("}"):
        raise ConfigError(f"{where}: the parameters in {{…}} need their closing }}")
    provider, colon, model = head.strip().partition(":")
    if not colon or not provider or not model.strip():
        raise ConfigError(f"malformed {where}: expected {SPEC_HELP}")
    raw = _spec_params(tail.rstrip()[:-1], where) if brace else {}
    label = raw.pop("label", "")
    return preset_lane({"provider": provider, "model": model, "label": label, "params": raw}, where)


def _spec_params(text: str, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    i = 0
    while text[i:].strip():
        found = _KEY.match(text, i)
        if found is None:
            got = safety.show(text[i:].strip(), 40)
            raise ConfigError(f"{where}: expected key=value in {{…}}, got {got}")
        key, i = found.group(1), found.end()
        if key in out:
            raise ConfigError(f"{where}: {key} is given twice")
        value: Any
        if text.startswith('"', i):
            try:
                value, i = json.JSONDecoder().raw_decode(text, i)
            except ValueError:
                raise ConfigError(f"{where}: {key}'s quoted value is not a JSON string") from None
        else:
            end = text.find(",", i)
            end = len(text) if end < 0 else end
            value, i = _typed(key, text[i:end].strip(), where), end
        rest = text[i:].lstrip()
        if rest and not rest.startswith(","):
            raise ConfigError(f"{where}: expected a comma after {key}'s value")
        i = len(text) - len(rest) + 1
        out[key] = value
    return out


def _typed(key: str, value: str, where: str) -> Any:
    """A bare value as its parameter's type (a number where one is wanted)."""
    types = _PARAM_TYPES.get(key, (str,))
    if types == (str, int):  # reasoning: a level, or a token budget
        # ASCII digits only: str.isdigit() is True for '²' (which int() refuses) and '٣'
        return int(value) if value.isascii() and value.isdigit() else value
    try:
        if types == (int,):
            return int(value)
        if float in types:
            return float(value)
    except ValueError:
        kind = "an integer" if types == (int,) else "a number"
        raise ConfigError(f"{where}: {key} must be {kind}, got {safety.show(value, 40)}") from None
    return value
