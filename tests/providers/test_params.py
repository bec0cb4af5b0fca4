"""A parameter a model family rejects is not sent; what each family gets, checked on the
wire (the loopback server logs the JSON the real SDK sent)."""

from __future__ import annotations

import pytest

from chatlab.core.data.events import ErrorKind
from chatlab.core.data.model import Lane, LaneParams, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings import families
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from tests.conftest import run_turn


def sent(server: DemoServer, kind: str, vendor: str | None, model: str, params: LaneParams) -> dict:
    base = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
    table: dict[str, object] = {"kind": kind, "base_url": base, "needs_key": False}
    if vendor:
        table["vendor"] = vendor
    server.add(model, server.scripts["demo-fast"])
    config = parse_config({"providers": {"p": table}})
    run_turn(Runner(config, KeyStore(), make_adapter), [Lane("p", model, params)])
    body = server.log[-1].body
    assert body is not None
    return body


ALL = LaneParams(
    system="be brief", temperature=0.3, max_output_tokens=3000, reasoning_effort="high", thinking_budget=None
)


def test_openai_reasoning_model_gets_effort_and_summary_not_temperature(server: DemoServer) -> None:
    body = sent(server, "openai-responses", "openai", "o4-mini", ALL)
    assert body["reasoning"] == {"summary": "auto", "effort": "high"}
    assert "temperature" not in body
    assert body["instructions"] == "be brief" and body["max_output_tokens"] == 3000
    assert body["store"] is False


def test_openai_plain_model_gets_temperature_not_reasoning(server: DemoServer) -> None:
    body = sent(server, "openai-responses", "openai", "gpt-4.1", ALL)
    assert body["temperature"] == 0.3 and "reasoning" not in body


def test_chat_openai_reasoning_uses_max_completion_tokens(server: DemoServer) -> None:
    body = sent(server, "openai-chat", "openai", "o3-mini", ALL)
    assert body["reasoning_effort"] == "high" and body["max_completion_tokens"] == 3000
    assert "temperature" not in body and "max_tokens" not in body
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][0] == {"role": "system", "content": "be brief"}


def test_deepseek_reasoner_drops_temperature_and_effort(server: DemoServer) -> None:
    body = sent(server, "openai-chat", "deepseek", "deepseek-reasoner", ALL)
    assert "temperature" not in body and "reasoning_effort" not in body and body["max_tokens"] == 3000


def test_openrouter_reasoning_goes_in_its_own_field(server: DemoServer) -> None:
    body = sent(server, "openai-chat", "openrouter", "anthropic/claude-sonnet-4.5", ALL)
    assert body["reasoning"] == {"effort": "high"} and body["temperature"] == 0.3


def test_claude_budget_thinking_for_older_models(server: DemoServer) -> None:
    body = sent(
        server,
        "anthropic",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        LaneParams(thinking_budget=2048, temperature=0.5),
    )
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] > 2048 and "temperature" not in body  # thinking requires the default


def test_claude_adaptive_thinking_for_newer_models(server: DemoServer) -> None:
    body = sent(
        server,
        "anthropic",
        "anthropic",
        "claude-opus-4-6",
        LaneParams(reasoning_effort="medium", temperature=0.5),
    )
    assert body["thinking"] == {"type": "adaptive"} and body["output_config"] == {"effort": "medium"}
    assert "temperature" not in body


def test_claude_temperature_only_where_accepted(server: DemoServer) -> None:
    old = sent(server, "anthropic", "anthropic", "claude-3-7-sonnet-20250219", LaneParams(temperature=0.5))
    assert old["temperature"] == 0.5 and "thinking" not in old
    new = sent(server, "anthropic", "anthropic", "claude-sonnet-5", LaneParams(temperature=0.5))
    assert "temperature" not in new


def test_thinking_budget_larger_than_max_tokens_is_a_clear_lane_error(server: DemoServer) -> None:
    config = parse_config(
        {"providers": {"p": {"kind": "anthropic", "base_url": server.anthropic_base_url, "needs_key": False}}}
    )
    _, turn = run_turn(
        Runner(config, KeyStore(), make_adapter),
        [Lane("p", "claude-sonnet-4-5", LaneParams(thinking_budget=4000, max_output_tokens=1000))],
    )
    r = next(iter(turn.responses.values()))
    assert r.status is Status.ERROR and r.error is not None and r.error.kind is ErrorKind.BAD_REQUEST
    assert "thinking budget" in r.error.message


@pytest.mark.parametrize(
    "model,form",
    [
        ("claude-opus-4-6", "adaptive"),
        ("claude-opus-5", "adaptive"),
        ("claude-sonnet-4-5-20250929", "budget"),
        ("claude-3-7-sonnet-latest", "budget"),
        ("claude-mythos-preview", "adaptive"),
    ],
)
def test_thinking_form(model: str, form: str) -> None:
    assert families.claude_thinking_form(model) == form


def test_claude_effort_none_means_thinking_off(server: DemoServer) -> None:
    body = sent(server, "anthropic", "anthropic", "claude-opus-4-6", LaneParams(reasoning_effort="none"))
    assert "thinking" not in body and "output_config" not in body
