"""Every captured real-provider stream in ../shared/fixtures/sse, replayed byte for byte
over loopback HTTP through the real SDK, yields the right reasoning, text, usage and cost."""

from __future__ import annotations

import pytest

from chatlab.core.data.model import Lane, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from tests.conftest import FIXTURES, run_turn

pytestmark = [
    pytest.mark.golden,
    pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared SSE fixtures not present"),
]


def replay(server: DemoServer, fixture: str, kind: str, vendor: str, model: str, chunk: int = 97):
    server.add_replay(model, (FIXTURES / fixture).read_bytes(), chunk_size=chunk)
    base = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
    config = parse_config(
        {"providers": {"p": {"kind": kind, "base_url": base, "needs_key": False, "vendor": vendor}}}
    )
    _, turn = run_turn(Runner(config, KeyStore(), make_adapter), [Lane("p", model)])
    return next(iter(turn.responses.values()))


@pytest.mark.parametrize("chunk", [5, 97, 4096])
def test_openai_chat_with_usage(server: DemoServer, chunk: int) -> None:
    r = replay(
        server, "openai_chat_completions_usage.sse", "openai-chat", "openai", "gpt-4o-2024-08-06", chunk
    )
    assert r.status is Status.OK and r.finish_reason == "stop"
    assert r.text.startswith("I'm unable to provide real-time weather updates.")
    assert r.text.endswith("weather app.") and len(r.text) == 159
    assert r.reasoning == ""
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens, u.estimated) == (14, 30, 0, False)
    assert r.price is not None and r.price.input == 2.50  # the gpt-4o entry, via the dated snapshot
    assert r.cost_usd == pytest.approx((14 * 2.50 + 30 * 10.00) / 1e6)


def test_openai_responses_reasoning_summary(server: DemoServer) -> None:
    r = replay(
        server, "openai_responses_reasoning_summary.sse", "openai-responses", "openai", "o4-mini-2025-04-16"
    )
    assert r.status is Status.OK
    assert r.reasoning == "**Calculating a simple sum**"
    assert r.text == "The sum of the first 5 positive integers is 15."
    u = r.usage
    assert (u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens) == (17, 0, 122, 64)
    assert not u.estimated
    assert r.cost_usd == pytest.approx((17 * 1.10 + 122 * 4.40) / 1e6)


def test_anthropic_thinking(server: DemoServer) -> None:
    r = replay(
        server, "anthropic_messages_thinking.sse", "anthropic", "anthropic", "claude-sonnet-4-20250514"
    )
    assert r.status is Status.OK and r.finish_reason == "end_turn"
    assert r.reasoning.startswith("This is a straightforward question about pedestrian safety.")
    assert len(r.reasoning) == 202
    assert r.text.startswith("Here are the basic steps for safely crossing the s") and len(r.text) == 1021
    u = r.usage
    assert (u.input_tokens, u.cached_input_tokens, u.output_tokens) == (43, 0, 282)
    assert not u.estimated
    # No thinking_tokens in this capture: reasoning is estimated from the text, and flagged.
    assert u.reasoning_estimated and 0 < u.reasoning_tokens < 282
    assert r.cost_usd == pytest.approx((43 * 3.00 + 282 * 15.00) / 1e6)


def test_deepseek_reasoning_content(server: DemoServer) -> None:
    r = replay(
        server, "deepseek_reasoner_reasoning_content.sse", "openai-chat", "deepseek", "deepseek-reasoner"
    )
    assert r.status is Status.OK
    assert r.reasoning.startswith('Hmm, the user just said "Hello".') and len(r.reasoning) == 882
    assert r.text == "Hello there! 😊 How can I help you today?"
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens, u.cached_input_tokens) == (6, 212, 198, 0)
    # DeepSeek's price since 2025-09-29, which corrects genai-prices' older one.
    assert r.price is not None and r.price.source.endswith("correcting genai-prices")
    assert (r.price.input, r.price.cached_input, r.price.output) == (0.28, 0.028, 0.42)
    assert r.cost_usd == pytest.approx((6 * r.price.input + 212 * r.price.output) / 1e6)


def test_openrouter_reasoning_details_not_doubled(server: DemoServer) -> None:
    r = replay(
        server,
        "openrouter_claude_reasoning_details.sse",
        "openai-chat",
        "openrouter",
        "anthropic/claude-sonnet-4.5",
    )
    assert r.status is Status.OK
    # Both delta.reasoning and delta.reasoning_details carry the text; it must appear once.
    assert r.reasoning == "This is a simple arithmetic question. 2+2 equals 4."
    assert r.text == "2 + 2 = 4"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.reasoning_tokens) == (43, 36, 13)
    assert r.cost_usd == pytest.approx(0.000669) and r.cost_reported


def test_openrouter_o3_reported_cost(server: DemoServer) -> None:
    r = replay(server, "openrouter_openai_o3_usage_cost.sse", "openai-chat", "openrouter", "openai/o3")
    assert r.status is Status.OK
    assert r.text.startswith("I’m ChatGPT") and len(r.text) == 446
    assert r.reasoning == ""  # encrypted reasoning has no text
    assert (r.usage.input_tokens, r.usage.output_tokens) == (9, 104)
    assert r.cost_usd == pytest.approx(0.00085) and r.cost_reported
