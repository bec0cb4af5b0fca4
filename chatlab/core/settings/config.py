"""Where chatlab keeps its files, which providers exist, and the user's ``config.toml``.

``CHATLAB_HOME`` relocates everything (config, data, cache) under one folder, for tests
and portable use; otherwise platformdirs decides. The config file is a contract: its
``[providers.NAME]``, ``[prices."NAME:MODEL"]`` and ``[presets."NAME"]`` tables are only
ever extended, and so are its top-level keys (``think_instruction``, the instruction a
``think = "prompted"`` lane sends: see :mod:`chatlab.core.settings.prompted`). Built-in
presets (:mod:`chatlab.core.settings.builtin`: the cloud vendors, Azure OpenAI, the local
servers and the demo) can be overridden by a table of the same name; Azure's takes
``api_version`` and ``deployment`` too. A ``[presets."NAME"]`` table holds the user's saved lane
presets as ``lanes = [{provider = …, model = …, label = …, params = {…}}, …]`` (see
:mod:`chatlab.core.settings.presets`). Errors are :class:`ConfigError` with one line
that names the problem, so the CLI can print it without a traceback.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from chatlab.core.data import safety
from chatlab.core.data.constants import REASONING_DIALECTS
from chatlab.core.data.model import LaneParams
from chatlab.core.settings.builtin import PRESETS as PRESETS
from chatlab.core.settings.builtin import ProviderConfig as ProviderConfig
from chatlab.core.settings.prompted import instruction_problem

APP_NAME = "chatlab"
KINDS = ("openai-chat", "openai-responses", "anthropic", "gemini")
MAX_PRESET_LANES = 8  # as many lanes as the window shows
MAX_PRESET_NAME = 60


class ConfigError(Exception):
    """A usage or configuration problem, described in one line (line breaks and other
    control characters in it are shown escaped, and a long message is cut)."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_MESSAGE = 400


def one_line(message: str) -> str:
    text = _BREAKS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(message))
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _show(value: Any) -> str:
    return safety.show(value, 60)


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"


def paths() -> Paths:
    """Resolve the folders, honouring ``CHATLAB_HOME``."""
    home = os.environ.get("CHATLAB_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root, root / "data", root / "cache")
    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME)),
        Path(platformdirs.user_data_dir(APP_NAME)),
        Path(platformdirs.user_cache_dir(APP_NAME)),
    )


@dataclass(frozen=True)
class PriceOverride:
    input: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None
    output: float | None = None


@dataclass(frozen=True)
class PresetLane:
    """One lane of a lane preset: what a new :class:`~chatlab.core.data.model.Lane` is made from."""

    provider: str
    model: str
    params: LaneParams = field(default_factory=LaneParams)
    label: str = ""

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.model}"


@dataclass(frozen=True)
class Config:
    providers: dict[str, ProviderConfig]
    prices: dict[str, PriceOverride] = field(default_factory=dict)
    rater: str | None = None  # the rater's display name ([rater] name, or an older top-level rater)
    source: Path | None = None
    presets: dict[str, tuple[PresetLane, ...]] = field(default_factory=dict)  # the user's, by name
    rater_id: str | None = None  # this installation's rater id ([rater] id; see chatlab.core.settings.raters)
    # The instruction a ``think = "prompted"`` lane sends (top-level ``think_instruction``);
    # None: the shipped one (see chatlab.core.settings.prompted).
    think_instruction: str | None = None

    def provider(self, name: str) -> ProviderConfig:
        try:
            return self.providers[name]
        except KeyError:
            known = ", ".join(sorted(self.providers))
            raise ConfigError(f"unknown provider {_show(name)} (known: {known})") from None


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {_show(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ConfigError(f"{where} is too large, got {_show(value)}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be a finite number, got {_show(value)}")
    if number < 0:
        raise ConfigError(f"{where} must not be negative")
    return number


def check_lane_params(params: LaneParams) -> None:
    """Raise ValueError with the reason when ``params`` can't be sent as they are."""
    params.validate()
    budget, most = params.thinking_budget, params.max_output_tokens
    if budget and most and most <= budget:
        raise ValueError("max output tokens must be larger than the thinking budget")


def preset_name_problem(name: object) -> str | None:
    """Why ``name`` can't name a lane preset, or None."""
    if not isinstance(name, str) or not name.strip():
        return "a preset needs a name"
    if name != name.strip():
        return "a preset name must not start or end with spaces"
    if len(name) > MAX_PRESET_NAME:
        return f"a preset name has at most {MAX_PRESET_NAME} characters"
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or 0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        return "a preset name must not contain control characters"
    return None


_PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "system": (str,),
    "temperature": (int, float),
    "max_output_tokens": (int,),
    "reasoning_effort": (str,),
    "thinking_budget": (int,),
    "think": (str,),
    "reasoning": (str, int),
}


def preset_lane(value: Any, where: str) -> PresetLane:
    """One lane table (provider, model, label, params), checked; raises ConfigError."""
    if not isinstance(value, dict):
        raise ConfigError(f'{where} must be a table like {{provider = "…", model = "…"}}')
    unknown = sorted(set(value) - {"provider", "model", "label", "params"})
    if unknown:
        raise ConfigError(f"{where} has unknown key {_show(unknown[0])}")
    provider, model = value.get("provider"), value.get("model")
    if not isinstance(provider, str) or not provider or ":" in provider:
        raise ConfigError(f"{where} provider must be a provider's name (non-empty, no ':')")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"{where} model must be a non-empty string")
    label = value.get("label", "")
    if not isinstance(label, str):
        raise ConfigError(f"{where} label must be a string")
    raw = value.get("params", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} params must be a table")
    for key, param in raw.items():
        types = _PARAM_TYPES.get(key)
        if types is None:
            raise ConfigError(f"{where} params has unknown key {_show(key)}")
        if isinstance(param, bool) or not isinstance(param, types):
            kind = {(str,): "a string", (int,): "an integer", (str, int): "a level or a token budget"}.get(
                types, "a number"
            )
            raise ConfigError(f"{where} params {key} must be {kind}, got {_show(param)}")
        if isinstance(param, float) and not math.isfinite(param):
            raise ConfigError(f"{where} params {key} must be a finite number, got {_show(param)}")
    params = LaneParams.from_dict(raw)
    if params.temperature is not None:
        params = replace(params, temperature=float(params.temperature))
    try:
        check_lane_params(params)
    except ValueError as exc:
        raise ConfigError(f"{where} params: {exc}") from None
    return PresetLane(provider=provider, model=model.strip(), params=params, label=label)


def parse_presets(raw: Any, where: str) -> dict[str, tuple[PresetLane, ...]]:
    """The ``[presets]`` table: ``{name: {lanes = [...]}}``; raises :class:`ConfigError`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [presets] must be a table")
    presets: dict[str, tuple[PresetLane, ...]] = {}
    for name, table in raw.items():
        problem = preset_name_problem(name)
        if problem:
            raise ConfigError(f"{where}: preset {_show(name)}: {problem}")
        at = f"{where}: [presets.{_toml_str(name)}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{at} must be a table")
        unknown = sorted(set(table) - {"lanes"})
        if unknown:
            raise ConfigError(f"{at} has unknown key {_show(unknown[0])}")
        lanes = table.get("lanes")
        if not isinstance(lanes, list) or not 1 <= len(lanes) <= MAX_PRESET_LANES:
            raise ConfigError(f"{at} lanes must be a list of 1 to {MAX_PRESET_LANES} lanes")
        presets[name] = tuple(preset_lane(lane, f"{at} lanes[{i}]") for i, lane in enumerate(lanes))
    return presets


# An Azure deployment name or API version: it becomes part of the request's URL (a path
# segment, a query value), so a '/', '?', '#', '%' or '..' in it would send the request elsewhere.
_AZURE_NAME = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._-]{1,64}\Z")


def url_problem(url: str) -> str | None:
    """Why ``url`` can't be a provider's endpoint, or None."""
    from urllib.parse import urlsplit

    if any(ch.isspace() or ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http:// or https:// URL, got {url[:60]!r}"
    if port == 0:
        return "has port 0"
    return None


# The keys a [providers.NAME] table may set, in the order config.toml is written.
PROVIDER_KEYS = (
    "kind",
    "base_url",
    "api_key_env",
    "needs_key",
    "vendor",
    "max_retries",
    "reasoning",
    "api_version",
    "deployment",
)


def _provider_from_table(name: str, table: Any, where: str) -> ProviderConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [providers.{name}] must be a table")
    unknown = sorted(set(table) - set(PROVIDER_KEYS))
    if unknown:
        raise ConfigError(f"{where}: [providers.{name}] has unknown key {_show(unknown[0])}")
    base = PRESETS.get(name)
    kind = table.get("kind", base.kind if base else None)
    if kind not in KINDS:
        raise ConfigError(
            f"{where}: [providers.{name}] kind must be one of {', '.join(KINDS)}, got {_show(kind)}"
        )
    for key in ("base_url", "api_key_env", "vendor", "reasoning", "api_version", "deployment"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{where}: [providers.{name}] {key} must be a string")
    if "base_url" in table:
        problem = url_problem(table["base_url"])
        if problem:
            raise ConfigError(f"{where}: [providers.{name}] base_url {problem}")
    for key in ("api_version", "deployment"):
        if key in table and not _AZURE_NAME.fullmatch(table[key]):
            raise ConfigError(
                f"{where}: [providers.{name}] {key} must be 1 to 64 letters, digits, '.', '_' or '-' "
                f"(not '.' or '..'), got {_show(table[key])}"
            )
    if "reasoning" in table and table["reasoning"] not in REASONING_DIALECTS:
        raise ConfigError(
            f"{where}: [providers.{name}] reasoning must be one of {', '.join(REASONING_DIALECTS)}, "
            f"got {_show(table['reasoning'])}"
        )
    if "needs_key" in table and not isinstance(table["needs_key"], bool):
        raise ConfigError(f"{where}: [providers.{name}] needs_key must be true or false")
    retries = table.get("max_retries", base.max_retries if base else ProviderConfig.max_retries)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise ConfigError(f"{where}: [providers.{name}] max_retries must be an integer from 0 to 10")
    if "deployment" in table and not table.get("api_version", base.api_version if base else None):
        raise ConfigError(f"{where}: [providers.{name}] deployment is for Azure: it needs an api_version")
    if base is not None:
        return replace(
            base,
            kind=kind,
            base_url=table.get("base_url", base.base_url),
            api_key_env=table.get("api_key_env", base.api_key_env),
            needs_key=table.get("needs_key", base.needs_key),
            vendor=table.get("vendor", base.vendor),
            max_retries=retries,
            reasoning=table.get("reasoning", base.reasoning),
            api_version=table.get("api_version", base.api_version),
            deployment=table.get("deployment", base.deployment),
        )
    return ProviderConfig(
        name=name,
        kind=kind,
        base_url=table.get("base_url"),
        api_key_env=table.get("api_key_env"),
        needs_key=table.get("needs_key", True),
        vendor=table.get("vendor"),
        max_retries=retries,
        reasoning=table.get("reasoning"),
        api_version=table.get("api_version"),
        deployment=table.get("deployment"),
    )


def parse_config(data: dict[str, Any], source: Path | None = None) -> Config:
    where = str(source) if source else "config"
    providers = dict(PRESETS)
    raw_providers = data.get("providers", {})
    if not isinstance(raw_providers, dict):
        raise ConfigError(f"{where}: [providers] must be a table")
    for name, table in raw_providers.items():
        if ":" in name or not name:
            raise ConfigError(f"{where}: provider name {_show(name)} must be non-empty and contain no ':'")
        providers[name] = _provider_from_table(name, table, where)

    prices: dict[str, PriceOverride] = {}
    raw_prices = data.get("prices", {})
    if not isinstance(raw_prices, dict):
        raise ConfigError(f"{where}: [prices] must be a table")
    for key, table in raw_prices.items():
        if ":" not in key or not isinstance(table, dict):
            raise ConfigError(f'{where}: price entries look like [prices."PROVIDER:MODEL"], got {_show(key)}')
        fields = {"input", "cached_input", "cache_write", "output"}
        unknown = sorted(set(table) - fields)
        if unknown:
            raise ConfigError(f'{where}: [prices."{key}"] has unknown key {_show(unknown[0])}')
        values = {k: _float(v, f'{where}: [prices."{key}"] {k}') for k, v in table.items()}
        prices[key] = PriceOverride(**values)

    rater, rater_id = _rater(data.get("rater"), where)
    presets = parse_presets(data.get("presets", {}), where)
    think = data.get("think_instruction")
    if think is not None and (problem := instruction_problem(think)):
        raise ConfigError(f"{where}: think_instruction {problem}")
    return Config(
        providers=providers,
        prices=prices,
        rater=rater,
        source=source,
        presets=presets,
        rater_id=rater_id,
        think_instruction=think,
    )


MAX_NAME = 200  # what the session document allows
_RATER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def id_problem(value: object) -> str | None:
    """Why ``value`` can't be an installation's rater id (a derived ``name:`` id can't)."""
    if not isinstance(value, str) or not _RATER_ID.match(value):
        return "must be 1 to 64 letters, digits, '.', '_' or '-' (chatlab makes one: leave it out)"
    return None


def clean_name(name: str) -> str:
    """A display name on one line, without control characters, at most MAX_NAME long."""
    text = "".join(ch if ch.isprintable() else " " for ch in name)
    return " ".join(text.split())[:MAX_NAME]


def _rater(raw: Any, where: str) -> tuple[str | None, str | None]:
    """(name, id) from ``[rater] id = …, name = …``, or from an older ``rater = "name"``.
    A name is shown on one line and carried by every vote: control characters become
    spaces and it is cut to what a session document allows (an edited file can't make
    every vote unexportable)."""
    if raw is None or isinstance(raw, str):
        return (clean_name(raw) or None) if isinstance(raw, str) else None, None
    if not isinstance(raw, dict):
        raise ConfigError(f'{where}: rater must be a table like [rater] name = "…" (or a name)')
    unknown = sorted(set(raw) - {"id", "name"})
    if unknown:
        raise ConfigError(f"{where}: [rater] has unknown key {_show(unknown[0])}")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{where}: [rater] name must be a string")
    rater_id = raw.get("id")
    if rater_id is not None:
        problem = id_problem(rater_id)
        if problem:
            raise ConfigError(f"{where}: [rater] id {problem}")
    return (clean_name(name) or None) if name is not None else None, rater_id


def load_config(path: Path | None = None) -> Config:
    """Read ``config.toml`` (missing is fine: presets only)."""
    path = path or paths().config_file
    if not path.exists():
        return parse_config({}, None)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        return parse_config(data, path)
    except (RecursionError, OverflowError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: a value chatlab can't use ({type(exc).__name__})") from None


def _toml_str(text: str) -> str:
    # JSON string escapes are valid TOML; TOML also wants DEL escaped, which JSON leaves.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _toml_str(str(value))


def _toml_lane(lane: PresetLane) -> str:
    parts = [f"provider = {_toml_str(lane.provider)}", f"model = {_toml_str(lane.model)}"]
    if lane.label:
        parts.append(f"label = {_toml_str(lane.label)}")
    params = lane.params.to_dict()
    if params:
        inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in params.items())
        parts.append(f"params = {{ {inner} }}")
    return "{ " + ", ".join(parts) + " }"


def dump_config(config: Config) -> str:
    """The TOML for ``config``: custom providers, changed presets, price overrides and
    the user's lane presets.

    Keys never appear here: they live in the keychain or the environment.
    """
    lines = ["# chatlab configuration (written by chatlab; see README for the format)", ""]
    if config.think_instruction is not None:  # top-level keys come before the first table
        lines += [f"think_instruction = {_toml_str(config.think_instruction)}", ""]
    if config.rater_id:
        lines += ["[rater]", f"id = {_toml_str(config.rater_id)}"]
        lines += [f"name = {_toml_str(config.rater)}"] if config.rater else []
        lines.append("")
    elif config.rater:
        lines += [f"rater = {_toml_value(config.rater)}", ""]
    for name, provider in sorted(config.providers.items()):
        preset = PRESETS.get(name)
        changed = [f for f in PROVIDER_KEYS if preset is None or getattr(provider, f) != getattr(preset, f)]
        if not changed:
            continue
        lines.append(f"[providers.{_toml_str(name)}]")
        for f in changed:
            value = getattr(provider, f)
            if value is not None:
                lines.append(f"{f} = {_toml_value(value)}")
        lines.append("")
    for key, price in sorted(config.prices.items()):
        lines.append(f"[prices.{_toml_str(key)}]")
        for f in ("input", "cached_input", "cache_write", "output"):
            value = getattr(price, f)
            if value is not None:
                lines.append(f"{f} = {_toml_value(value)}")
        lines.append("")
    for name, lanes in sorted(config.presets.items()):
        lines.append(f"[presets.{_toml_str(name)}]")
        lines.append("lanes = [")
        lines += [f"    {_toml_lane(lane)}," for lane in lanes]
        lines += ["]", ""]
    return "\n".join(lines)


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write ``config.toml`` atomically (a temporary file, then a rename)."""
    path = path or paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump_config(config)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError("the settings hold text that is not valid Unicode; nothing was saved") from None
    parse_config(tomllib.loads(text), path)  # never write a file we could not read back
    tmp = path.with_suffix(".toml.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
