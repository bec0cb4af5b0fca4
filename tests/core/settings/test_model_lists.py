"""The model-list cache: a provider's list kept with the time it was fetched, read back
for the same address only; a corrupt, huge or odd file ignored, never an error; the ids
made fit to show; and the words beside each model (does it reason, which settings)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from chatlab.core.settings import model_lists
from chatlab.core.settings.config import PRESETS, ProviderConfig, paths
from chatlab.core.settings.model_lists import ModelListCache, fetched_words, known_reasoner, marker

LOCAL = ProviderConfig("lm studio", "openai-chat", base_url="http://localhost:1234/v1", needs_key=False)


def test_a_list_is_kept_with_its_time_and_read_back(home: Path) -> None:
    cache = ModelListCache()
    assert cache.get(LOCAL) is None
    kept = cache.put(LOCAL, ["qwen3-8b", "gemma-3-4b"], fetched=1_700_000_000.0)
    assert cache.folder == paths().cache_dir / "models" and cache.path(LOCAL.name).parent == cache.folder
    again = ModelListCache().get(LOCAL)
    assert again == kept and again.models == ("qwen3-8b", "gemma-3-4b") and again.fetched == 1_700_000_000.0
    newer = cache.put(LOCAL, ["qwen3-8b"])
    assert cache.get(LOCAL) == newer and newer.fetched > 1_700_000_000.0


def test_a_list_from_another_address_or_provider_is_not_shown(tmp_path: Path) -> None:
    cache = ModelListCache(tmp_path)
    cache.put(LOCAL, ["a"])
    assert cache.get(dataclasses.replace(LOCAL, base_url="http://localhost:8080/v1")) is None
    assert cache.get(dataclasses.replace(LOCAL, name="other")) is None
    assert cache.path("a/b") != cache.path("a_b")  # similar names, separate files
    assert cache.path("../../etc").parent == tmp_path


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"version": 1, "provider": "lm studio", "base_url": "http://localhost:1234/v1", "fetched": "x", '
        b'"models": []}',
        b'{"version": 1, "provider": "lm studio", "base_url": "http://localhost:1234/v1", "fetched": 1e308, '
        b'"models": []}',
        b'{"version": 1, "provider": "lm studio", "base_url": "http://localhost:1234/v1", "fetched": 1, '
        b'"models": {"a": 1}}',
        b'{"version": 99, "provider": "lm studio", "base_url": "http://localhost:1234/v1", "fetched": 1, '
        b'"models": []}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["not-json", "not-utf8", "a-list", "time-text", "time-huge", "models-object", "version", "deep"],
)
def test_a_corrupt_file_is_ignored(tmp_path: Path, content: bytes) -> None:
    cache = ModelListCache(tmp_path)
    cache.path(LOCAL.name).write_bytes(content)
    assert cache.get(LOCAL) is None
    assert cache.put(LOCAL, ["fresh"]).models == ("fresh",)  # and replaced by the next fetch
    assert cache.get(LOCAL) is not None


def test_a_huge_file_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ModelListCache(tmp_path)
    cache.put(LOCAL, ["m"] * 3 + [f"model-{i}" for i in range(2000)])
    assert cache.get(LOCAL) is not None
    monkeypatch.setattr(model_lists, "MAX_BYTES", cache.path(LOCAL.name).stat().st_size - 1)
    assert cache.get(LOCAL) is None


def test_a_folder_that_cant_be_written_still_gives_the_list(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    cache = ModelListCache(blocked / "models")  # its parent is a file
    assert cache.put(LOCAL, ["a"]).models == ("a",)
    assert cache.get(LOCAL) is None


def test_ids_are_made_fit_to_show(tmp_path: Path) -> None:
    kept = ModelListCache(tmp_path).put(
        LOCAL, ["a\nb", "a b", "", "  ", 7, None, "x" * 400, "bad\ud800", "\u202egpt"]
    )
    assert kept.models[:2] == ("a b", "x" * model_lists.MAX_ID_CHARS)
    assert all(m.isprintable() for m in kept.models) and len(kept.models) == len(set(kept.models))
    data = json.loads(ModelListCache(tmp_path).path(LOCAL.name).read_text(encoding="utf-8"))
    assert data["models"] == list(kept.models)


def test_fetched_words() -> None:
    assert fetched_words(1000.0, 1030.0) == "just now"
    assert fetched_words(1000.0, 1000.0 + 5 * 60) == "5 min ago"
    assert fetched_words(1000.0, 1000.0 + 3 * 3600) == "3 h ago"
    assert fetched_words(1000.0, 1000.0 + 86400) == "1 day ago"
    assert fetched_words(1000.0, 1000.0 + 9 * 86400) == "9 days ago"
    assert fetched_words(2000.0, 1000.0) == "just now"  # a clock set back


@pytest.mark.parametrize(
    "model, reasons",
    [
        ("o4-mini", True),
        ("openai/gpt-5-mini", True),
        ("gpt-4.1", False),
        ("deepseek/deepseek-r1", True),
        ("anthropic/claude-sonnet-4.5", True),
        ("claude-3-5-haiku-latest", False),
        ("google/gemini-2.5-flash", True),
        ("google/gemini-2.0-flash-001", False),
        ("qwen/qwq-32b", True),
        ("qwen3-8b", True),
        ("qwen/qwen3-coder", False),
        ("mistralai/magistral-medium-2506", True),
        ("openai/gpt-oss-120b", True),
        ("moonshotai/kimi-k2-thinking", True),
        ("meta-llama/llama-3.3-70b-instruct", False),
        ("demo-reasoner", True),
        ("demo-fast", False),
    ],
)
def test_known_reasoners_by_name(model: str, reasons: bool) -> None:
    assert known_reasoner(model) is reasons


def test_the_words_beside_a_model_say_whether_it_reasons_and_what_it_takes() -> None:
    openai, claude, openrouter = PRESETS["openai"], PRESETS["anthropic"], PRESETS["openrouter"]
    assert marker(openai, "o4-mini")[0] == "reasons · low/medium/high"
    beside, tip = marker(openai, "gpt-4.1")
    assert beside == "" and "doesn't reason" in tip
    beside, tip = marker(claude, "claude-sonnet-4-5")
    assert (
        beside == "reasons · off/low/medium/high · budget" and "budget 1,024–63,999: a thinking budget" in tip
    )
    assert marker(claude, "claude-opus-4-6")[0] == "reasons · off/low/medium/high"
    # OpenRouter passes the knob on for any model: the name says whether it reasons, and
    # the settings (the same for every model) are in the tooltip only.
    beside, tip = marker(openrouter, "deepseek/deepseek-r1")
    assert beside == "reasons" and "off/low/medium/high · budget 1–128,000" in tip
    beside, tip = marker(openrouter, "meta-llama/llama-3.3-70b-instruct")
    assert beside == "" and "not known to reason" in tip
