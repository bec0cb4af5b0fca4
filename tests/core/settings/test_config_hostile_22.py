"""Hostile values for the provider fields of config.toml that reach a request's URL or the
client: an Azure ``deployment`` or ``api_version`` with '/', '?', '#', '%', '..', '&',
a line break, Unicode or 10,000 characters is a one-line ConfigError (the SDK would put
it in the URL's path or query and send the request elsewhere on the host); a
``deployment`` without an ``api_version`` would be silently ignored and is refused too;
and every field round-trips through dump_config and load_config, strange-but-valid
values included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatlab.core.settings.config import ConfigError, dump_config, load_config, parse_config

AZURE = "https://res.example.com"


def azure(**fields: Any) -> dict[str, Any]:
    return {
        "providers": {"az": {"kind": "openai-chat", "base_url": AZURE, "api_version": "2024-10-21", **fields}}
    }


BAD = [
    "a/../../evil",
    "a?x=1",
    "a#frag",
    "..",
    ".",
    "a%2F..%2Fb",
    "a&b=c",
    "x\ny",
    "dép",
    "a b",
    "",
    "d" * 10_000,
]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("key", ["deployment", "api_version"])
def test_url_parts_are_refused_in_one_line(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(azure(**{key: value}))
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    assert key in message


@pytest.mark.parametrize("preset", [False, True])
def test_deployment_without_api_version_is_refused(preset: bool) -> None:
    table: dict[str, Any] = {"deployment": "gpt4o"}
    if not preset:
        table |= {"kind": "openai-chat", "base_url": AZURE}
    name = "openai" if preset else "custom"
    with pytest.raises(ConfigError, match="needs an api_version"):
        parse_config({"providers": {name: table}})


def test_azure_preset_takes_a_deployment() -> None:
    config = parse_config({"providers": {"azure": {"base_url": AZURE, "deployment": "gpt-4o.mini_2"}}})
    assert config.providers["azure"].deployment == "gpt-4o.mini_2"


@pytest.mark.parametrize(
    "fields",
    [
        {"api_version": "2025-04-01-preview", "deployment": "my-dep.v2_x"},
        {"vendor": 'qu"o\\te\u2028\x7f', "api_key_env": "ÉNV_KEY"},
        {"reasoning": "llama.cpp", "max_retries": 0, "needs_key": False},
    ],
)
def test_each_field_round_trips(tmp_path: Path, fields: dict[str, Any]) -> None:
    data = azure(**fields)
    if "api_version" not in fields:
        del data["providers"]["az"]["api_version"]
    config = parse_config(data)
    path = tmp_path / "config.toml"
    path.write_text(dump_config(config), encoding="utf-8")
    again = load_config(path)
    assert again.providers["az"] == config.providers["az"]
    for key, value in fields.items():
        assert getattr(again.providers["az"], key) == value
