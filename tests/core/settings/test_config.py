"""CHATLAB_HOME, config.toml validation and round trip, presets, and keys: keychain, then
environment, never a file; a missing keychain is reported, not worked around on disk."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring

from chatlab.core.settings.apikeys import KeyStore, NoKeychain
from chatlab.core.settings.config import PRESETS, ConfigError, load_config, parse_config, paths, save_config


def test_chatlab_home_relocates_everything(home: Path) -> None:
    p = paths()
    assert p.config_file == home / "config.toml"
    assert p.data_dir.is_relative_to(home) and p.cache_dir.is_relative_to(home)


def test_presets() -> None:
    config = load_config()  # no file: presets only
    assert config.provider("openai").kind == "openai-responses"
    assert config.provider("anthropic").kind == "anthropic"
    assert config.provider("deepseek").kind == config.provider("openrouter").kind == "openai-chat"
    ollama = config.provider("ollama")
    assert ollama.base_url == "http://localhost:11434/v1" and not ollama.needs_key
    cloud = {"openai", "anthropic", "gemini", "openrouter", "deepseek", "xai", "mistral", "groq", "together"}
    cloud |= {"fireworks", "cerebras", "alibaba", "moonshot", "azure"}
    local = {"ollama", "lmstudio", "llamacpp", "vllm", "sglang"}
    assert set(PRESETS) == cloud | local | {"demo"}
    assert all(not PRESETS[name].needs_key and PRESETS[name].hint for name in local)
    assert config.provider("alibaba").base_url == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"


def test_config_file_adds_and_overrides_providers(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        '[providers.rc]\nkind = "openai-chat"\nbase_url = "http://127.0.0.1:8080/v1"\n'
        'api_key_env = "MY_KEY"\n'
        '[providers.openai]\nbase_url = "http://proxy.local/v1"\n'
        '[prices."rc:gpt-4o"]\ninput = 0.55\ncached_input = 0.14\noutput = 2.19\n'
    )
    config = load_config()
    rc = config.provider("rc")
    assert (rc.kind, rc.base_url, rc.env_candidates) == (
        "openai-chat",
        "http://127.0.0.1:8080/v1",
        ("MY_KEY",),
    )
    openai = config.provider("openai")
    assert openai.base_url == "http://proxy.local/v1" and openai.kind == "openai-responses"
    assert config.prices["rc:gpt-4o"].cached_input == 0.14


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[providers.x\nkind=1", "invalid TOML"),
        ('[providers.x]\nkind = "grpc"', "kind must be one of"),
        ('[providers.x]\nkind = "anthropic"\ncolour = "red"', "unknown key 'colour'"),
        ('[prices."a:b"]\ninput = "cheap"', "must be a number"),
        ("[prices.nomodel]\ninput = 1", "PROVIDER:MODEL"),
        ('[presets."p"]\nlanes = [{ provider = "demo" }]', '[presets."p"] lanes[0] model must be'),
    ],
)
def test_bad_config_is_one_clear_line(home: Path, text: str, needle: str) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert needle in message and "\n" not in message and "config.toml" in message


def test_save_and_load_round_trip_text_toml_must_escape(home: Path) -> None:
    odd = 'tab\t "quote" back\\slash del\x7f bell\x07 ünï'
    config = parse_config(
        {
            "rater": odd,
            "providers": {
                "odd name": {"kind": "anthropic", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "K"},
                "openai": {"base_url": "http://proxy.local/v1"},
            },
            "prices": {"odd name:model ü": {"input": 1.5, "output": 2}},
        }
    )
    path = save_config(config)
    assert path == home / "config.toml"
    loaded = load_config()
    # A name is one printable line (votes carry it): the control characters went on reading.
    assert config.rater == loaded.rater == 'tab "quote" back\\slash del bell ünï'
    assert loaded.providers == config.providers and loaded.prices == config.prices


def test_key_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config({"providers": {"rc": {"kind": "openai-chat", "api_key_env": "MY_KEY"}}})
    store = KeyStore()
    openai = config.provider("openai")
    assert store.resolve(openai) == (None, store.source(openai)) and not store.source(openai).found
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert store.resolve(openai)[0] == "sk-env" and store.source(openai).where == "env:OPENAI_API_KEY"
    store.set("openai", "sk-keychain")
    assert store.resolve(openai)[0] == "sk-keychain" and store.source(openai).where == "keychain"
    monkeypatch.setenv("MY_KEY", "custom")
    assert store.resolve(config.provider("rc"))[0] == "custom"
    assert store.delete("openai") and store.resolve(openai)[0] == "sk-env"


def test_no_keychain_is_reported_and_session_keys_stay_in_memory(home: Path) -> None:
    keyring.set_keyring(NoKeyring())
    store = KeyStore()
    assert not store.keychain_available()
    with pytest.raises(NoKeychain, match="no usable OS keychain"):
        store.set("openai", "sk-secret-value")
    store.set_for_session("openai", "sk-secret-value")
    assert store.resolve(PRESETS["openai"]) == ("sk-secret-value", store.source(PRESETS["openai"]))
    assert store.source(PRESETS["openai"]).where == "session"
    # Nothing was written anywhere under CHATLAB_HOME.
    written = [p for p in home.rglob("*") if p.is_file()] if home.exists() else []
    assert not any(b"sk-secret-value" in p.read_bytes() for p in written)
