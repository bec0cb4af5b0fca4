"""A judge's response schema goes, on the wire, where the provider's API takes it, and
nowhere else: the real SDKs send to the loopback server, which logs the JSON it got."""

from __future__ import annotations

from typing import Any

import pytest

from chatlab.core.data.model import Lane, LaneParams, ResponseSchema, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.builtin import PRESETS, STRUCTURED_OUTPUT
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.providers.common import schema_sent
from tests.conftest import run_turn

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "scores": {
            "type": "object",
            "properties": {
                "A": {"type": "object", "properties": {"clarity": {"type": "number", "minimum": 0}}}
            },
            "required": ["A"],
            "additionalProperties": False,
        },
        "choice": {"type": "string", "enum": ["A", "B", "tie"]},
        "reason": {"type": "string"},
    },
    "required": ["scores", "choice", "reason"],
    "additionalProperties": False,
}
SENT = {k: v for k, v in SCHEMA.items() if k != "$schema"}
VERDICT = ResponseSchema("verdict", SCHEMA)


def sent(server: DemoServer, name: str, table: dict[str, Any], model: str) -> dict[str, Any]:
    """The body the loopback server got for one turn of ``model`` on provider ``name``
    (a preset's name keeps the preset's rules), asked to follow :data:`VERDICT`."""
    server.add(model, server.scripts["demo-fast"])
    config = parse_config({"providers": {name: {"needs_key": False, **table}}})
    _, turn = run_turn(
        Runner(config, KeyStore(), make_adapter),
        [Lane(name, model, LaneParams())],
        response_schema=VERDICT,
    )
    assert [r.status for r in turn.responses.values()] == [Status.OK]
    body = server.log[-1].body
    assert body is not None
    return body


def test_chat_sends_response_format_to_a_provider_that_takes_it(server: DemoServer) -> None:
    body = sent(server, "demo", {"base_url": server.openai_base_url}, "judge-model")
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": SENT, "strict": False},
    }


@pytest.mark.parametrize("preset", ["mistral", "azure", "vllm", "ollama"])
def test_chat_presets_that_take_a_schema_are_sent_one(server: DemoServer, preset: str) -> None:
    table: dict[str, Any] = {"base_url": server.openai_base_url}
    if preset == "azure":  # Azure's client: its endpoint is the server, the deployment in the path
        table["base_url"] = server.openai_base_url.removesuffix("/v1")
    body = sent(server, preset, table, "judge-model")
    assert body["response_format"]["json_schema"]["schema"] == SENT


@pytest.mark.parametrize(
    "preset", ["deepseek", "groq", "openrouter", "together", "alibaba", "moonshot", "llamacpp"]
)
def test_chat_presets_that_may_refuse_a_schema_are_sent_none(server: DemoServer, preset: str) -> None:
    body = sent(server, preset, {"base_url": server.openai_base_url}, "judge-model")
    assert "response_format" not in body
    assert "json_schema" not in str(body)


def test_a_provider_of_ones_own_is_sent_no_schema(server: DemoServer) -> None:
    table = {"kind": "openai-chat", "base_url": server.openai_base_url, "vendor": "openai"}
    body = sent(server, "mine", table, "judge-model")
    assert "response_format" not in body


def test_responses_sends_text_format(server: DemoServer) -> None:
    body = sent(server, "openai", {"base_url": server.openai_base_url}, "gpt-4.1")
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "verdict", "schema": SENT, "strict": False}
    }


def test_responses_sends_nothing_to_a_provider_of_ones_own(server: DemoServer) -> None:
    table = {"kind": "openai-responses", "base_url": server.openai_base_url}
    body = sent(server, "mine", table, "gpt-4.1")
    assert "text" not in body


def test_gemini_sends_a_json_schema_to_2_5_and_later(server: DemoServer) -> None:
    for model in ("gemini-2.5-flash", "gemini-3-pro-preview"):
        body = sent(server, "gemini", {"base_url": server.gemini_base_url}, model)
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        assert config["responseJsonSchema"] == SENT


@pytest.mark.parametrize("model", ["gemini-2.0-flash", "gemma-3-27b-it"])
def test_gemini_sends_none_to_older_models_and_gemma(server: DemoServer, model: str) -> None:
    body = sent(server, "gemini", {"base_url": server.gemini_base_url}, model)
    config = body.get("generationConfig", {})
    assert "responseJsonSchema" not in config and "responseMimeType" not in config


def test_gemini_sends_none_to_a_provider_of_ones_own(server: DemoServer) -> None:
    table = {"kind": "gemini", "base_url": server.gemini_base_url, "vendor": "google"}
    body = sent(server, "mine", table, "gemini-2.5-flash")
    assert "responseJsonSchema" not in body.get("generationConfig", {})


def test_anthropic_is_never_sent_a_schema(server: DemoServer) -> None:
    body = sent(server, "anthropic", {"base_url": server.anthropic_base_url}, "claude-sonnet-4-5")
    assert "output_config" not in body and "output_format" not in body


def test_without_a_schema_nothing_is_sent(server: DemoServer) -> None:
    server.add("judge-model", server.scripts["demo-fast"])
    config = parse_config({"providers": {"demo": {"base_url": server.openai_base_url, "needs_key": False}}})
    run_turn(Runner(config, KeyStore(), make_adapter), [Lane("demo", "judge-model", LaneParams())])
    body = server.log[-1].body
    assert body is not None and "response_format" not in body


def test_the_table_names_presets_and_only_the_presets_flagged() -> None:
    assert set(PRESETS) >= STRUCTURED_OUTPUT
    assert {n for n, p in PRESETS.items() if p.structured_output} == STRUCTURED_OUTPUT
    assert not PRESETS["anthropic"].structured_output  # never sent: see chatlab.providers.anthropic
    # A preset overridden in config.toml keeps its rule.
    config = parse_config({"providers": {"mistral": {"base_url": "http://127.0.0.1:9/v1"}}})
    assert config.provider("mistral").structured_output


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dot.ted"])
def test_a_schema_name_openai_would_refuse_is_refused_here(name: str) -> None:
    with pytest.raises(ValueError):
        ResponseSchema(name, SCHEMA)


def test_dollar_schema_is_not_sent_but_kept() -> None:
    assert schema_sent(VERDICT) == SENT and "$schema" in VERDICT.schema
