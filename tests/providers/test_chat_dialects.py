"""OpenAI-compatible reasoning dialects, replayed byte for byte from recorded real streams
(tests/fixtures/chat, sources in tests/fixtures/README.md) over loopback HTTP through the
real openai SDK and the Chat adapter, at several write sizes: Mistral's content-part lists,
xAI's reasoning outside ``completion_tokens`` and its cost in ticks, Groq's ``reasoning``
and ``x_groq.usage``, Alibaba DashScope's ``reasoning_content``, a LiteLLM proxy's cost
header, and OpenAI's own usage left as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatlab.core.data.model import Lane, Response, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from tests.conftest import run_turn

CHAT = Path(__file__).parent.parent / "fixtures" / "chat"
JSON = {"Content-Type": "application/json"}
SIZES = [5, 97, 4096]
BIG_SIZES = [61, 4096]  # the Groq and DashScope recordings are long: 5-byte writes add nothing


def replay(
    server: DemoServer,
    fixture: str | bytes,
    model: str,
    chunk: int = 97,
    vendor: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = fixture if isinstance(fixture, bytes) else (CHAT / fixture).read_bytes()
    server.add_replay(model, body, chunk_size=chunk, headers=headers)
    provider: dict[str, object] = {
        "kind": "openai-chat",
        "base_url": server.openai_base_url,
        "needs_key": False,
    }
    if vendor:
        provider["vendor"] = vendor
    config = parse_config({"providers": {"p": provider}})
    _, turn = run_turn(Runner(config, KeyStore(), make_adapter), [Lane("p", model)])
    return next(iter(turn.responses.values()))


def counts(r: Response) -> tuple[int, int, int, int]:
    u = r.usage
    assert not u.estimated
    return (u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens)


def joined(fixture: str, key: str) -> tuple[str, str]:
    """The fixture's reasoning field and content strings, joined independently of chatlab."""
    reasoning, text = [], []
    for block in (CHAT / fixture).read_text(encoding="utf-8").split("\n\n"):
        if not block.startswith("data: {"):
            continue
        for choice in json.loads(block[6:]).get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning.append(delta.get(key) or "")
            text.append(delta.get("content") or "")
    return "".join(reasoning), "".join(text)


# -- Mistral (Magistral): content as a list of parts -------------------------------------


@pytest.mark.parametrize("chunk", SIZES)
def test_mistral_magistral_thinking_parts_stream(server: DemoServer, chunk: int) -> None:
    r = replay(server, "mistral_magistral_thinking.sse", "magistral-medium-2507", chunk)
    assert r.status is Status.OK and r.finish_reason == "stop"
    assert r.reasoning == "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    assert r.text == "2 + 2 = 4"
    assert counts(r)[:3] == (10, 0, 46)
    # Mistral reports no reasoning count: the thinking is estimated as reasoning, flagged ≈.
    assert r.usage.reasoning_estimated and 0 < r.usage.reasoning_tokens < 46
    assert r.cost_usd is None and r.cost_source is None  # no price for it: "no price", never $0
    assert r.notes == []


@pytest.mark.parametrize("chunk", SIZES)
def test_mistral_thinking_parts_whole_message(server: DemoServer, chunk: int) -> None:
    r = replay(server, "mistral_large4_thinking.json", "mistral-large-4", chunk, headers=JSON)
    assert r.status is Status.OK and r.finish_reason == "stop"
    assert r.reasoning.startswith('The user is asking "How many r are in strawberry? Be brief."')
    assert r.reasoning.endswith("Answer: 3") and len(r.reasoning) == 333
    assert r.text == "3"
    assert counts(r)[:3] == (26, 0, 112)
    assert r.usage.reasoning_estimated and 0 < r.usage.reasoning_tokens < 112


# -- xAI (Grok): reasoning outside completion_tokens, cost in ticks ----------------------


@pytest.mark.parametrize("chunk", SIZES)
def test_xai_grok_reasoning_usage_and_ticks(server: DemoServer, chunk: int) -> None:
    r = replay(server, "xai_grok_reasoning_usage.sse", "grok-3-mini", chunk)
    assert r.status is Status.OK and r.finish_reason == "stop"
    assert r.reasoning == "First, the user said"
    assert r.text == "Hello"
    # completion_tokens 1 + reasoning 290 = output 291 (12 + 1 + 290 = total 303).
    assert counts(r) == (12, 11, 291, 290) and not r.usage.reasoning_estimated
    assert r.cost_usd == pytest.approx(1466250e-10) and r.cost_source == "provider"
    # The ticks agree with grok-3-mini's rates: 1 input, 11 cached, 291 output tokens.
    assert r.cost_usd == pytest.approx((1 * 0.30 + 11 * 0.075 + 291 * 0.50) / 1e6)


@pytest.mark.parametrize("chunk", SIZES)
def test_xai_grok_whole_message(server: DemoServer, chunk: int) -> None:
    r = replay(server, "xai_grok_reasoning.json", "grok-3-mini", chunk, headers=JSON)
    assert r.status is Status.OK and r.finish_reason == "stop"
    assert r.text == "Grok"
    assert r.reasoning.startswith('First, the user said: "Say a single word."')
    assert r.reasoning.endswith("So, my response will be: Grok") and len(r.reasoning) == 1367
    assert counts(r) == (12, 2, 322, 320)
    assert r.cost_usd == pytest.approx(1641500e-10) and r.cost_source == "provider"


# -- Groq (Qwen3): the reasoning field, usage in x_groq ----------------------------------


@pytest.mark.parametrize("chunk", BIG_SIZES)
def test_groq_qwen3_reasoning_stream(server: DemoServer, chunk: int) -> None:
    r = replay(server, "groq_qwen3_reasoning.sse", "qwen/qwen3-32b", chunk)
    reasoning, text = joined("groq_qwen3_reasoning.sse", "reasoning")
    assert r.status is Status.OK and r.finish_reason == "stop"
    assert r.reasoning == reasoning and len(reasoning) == 2952
    assert r.reasoning.startswith("Okay, let me try to figure out how many times the letter 'r'")
    assert r.text == text and len(text) == 347 and r.text.endswith("**Final Answer**: $\\boxed{3}$")
    assert "<think>" not in r.text
    assert counts(r) == (17, 0, 1107, 963)  # 17 + 1107 = 1124: reasoning inside completion
    assert r.cost_source is None


def test_groq_usage_only_in_x_groq(server: DemoServer) -> None:
    """Groq long sent usage only as ``x_groq.usage`` in the final chunk: the recording's
    final chunk with its top-level ``usage`` removed is read the same."""
    body = (CHAT / "groq_qwen3_reasoning.sse").read_bytes()
    blocks = body.split(b"\n\n")
    final = next(
        i for i, b in enumerate(blocks) if b'"x_groq":{"id":"req_01kh52nmbjem9bfhxdbabnjv0x","usage"' in b
    )
    chunk = json.loads(blocks[final][6:])
    del chunk["usage"]
    blocks[final] = b"data: " + json.dumps(chunk).encode()
    r = replay(server, b"\n\n".join(blocks), "qwen/qwen3-32b", 4096)
    assert r.status is Status.OK
    assert counts(r) == (17, 0, 1107, 963)


@pytest.mark.parametrize("chunk", SIZES)
def test_groq_qwen3_whole_message(server: DemoServer, chunk: int) -> None:
    r = replay(server, "groq_qwen3_reasoning.json", "qwen/qwen3-32b", chunk, headers=JSON)
    assert r.status is Status.OK and r.finish_reason == "stop"
    assert r.reasoning.startswith('Okay, so the user is asking how many times the letter "r"')
    assert len(r.reasoning) == 1724 and r.text.endswith("**Answer:** 3.") and len(r.text) == 206
    assert counts(r) == (17, 0, 649, 570)


# -- Alibaba DashScope (Qwen3): reasoning_content ----------------------------------------


@pytest.mark.parametrize("chunk", BIG_SIZES)
def test_dashscope_qwen3_reasoning_content(server: DemoServer, chunk: int) -> None:
    r = replay(server, "dashscope_qwen3_reasoning_content.sse", "qwen3-max", chunk)
    reasoning, text = joined("dashscope_qwen3_reasoning_content.sse", "reasoning_content")
    assert r.status is Status.OK and r.finish_reason == "stop"
    assert r.reasoning == reasoning and len(reasoning) == 3301
    assert r.reasoning.startswith("We are asked: \"How many 'r's are in the word 'strawberry'?\"")
    assert r.text == text and len(text) == 816 and r.text.endswith("**Answer: 3**")
    assert counts(r) == (24, 0, 1355, 1084)  # 24 + 1355 = 1379: reasoning inside completion


# -- OpenAI's own usage, and a LiteLLM proxy's cost header -------------------------------


@pytest.mark.parametrize("chunk", SIZES)
def test_openai_style_usage_unchanged(server: DemoServer, chunk: int) -> None:
    r = replay(server, "azure_gpt5_nano_reasoning_usage.sse", "gpt-5-nano-2025-08-07", chunk, "openai")
    assert r.status is Status.OK and r.text == "Capital of Denmark." and r.reasoning == ""
    assert counts(r) == (15, 0, 78, 64)  # 15 + 78 = 93: reasoning already inside the 78
    assert r.cost_usd == pytest.approx((15 * 0.05 + 78 * 0.40) / 1e6) and r.cost_source == "price"


@pytest.mark.parametrize("chunk", SIZES)
def test_litellm_cost_header_on_a_stream(server: DemoServer, chunk: int) -> None:
    headers = {"x-litellm-response-cost": "3.12e-05"}
    r = replay(
        server, "azure_gpt5_nano_reasoning_usage.sse", "gpt-5-nano-2025-08-07", chunk, "openai", headers
    )
    assert r.status is Status.OK and r.text == "Capital of Denmark."
    assert counts(r) == (15, 0, 78, 64)
    assert r.cost_usd == pytest.approx(3.12e-05) and r.cost_source == "provider" and r.notes == []


def test_litellm_cost_header_on_a_whole_message(server: DemoServer) -> None:
    headers = {**JSON, "x-litellm-response-cost": "0.0009884999999999998"}
    r = replay(server, "groq_qwen3_reasoning.json", "qwen/qwen3-32b", 97, headers=headers)
    assert r.status is Status.OK and r.text.endswith("**Answer:** 3.")
    assert r.cost_usd == pytest.approx(0.0009884999999999998) and r.cost_source == "provider"


def test_cost_in_the_body_wins_over_the_header(server: DemoServer) -> None:
    r = replay(
        server, "xai_grok_reasoning_usage.sse", "grok-3-mini", 97, headers={"x-litellm-response-cost": "5"}
    )
    assert r.cost_usd == pytest.approx(1466250e-10) and r.cost_source == "provider"


@pytest.mark.parametrize("value", ["nan", "-0.5", "1e400", "abc", "0x10", "1_000", "", "inf", "2e9"])
def test_unbelievable_cost_header_is_dropped_with_a_note(server: DemoServer, value: str) -> None:
    headers = {"x-litellm-response-cost": value}
    r = replay(server, "azure_gpt5_nano_reasoning_usage.sse", "gpt-5-nano-2025-08-07", 97, "openai", headers)
    assert r.status is Status.OK and r.text == "Capital of Denmark."
    assert r.cost_source == "price" and r.cost_usd == pytest.approx((15 * 0.05 + 78 * 0.40) / 1e6)
    assert len(r.notes) == 1 and "x-litellm-response-cost" in r.notes[0]


def test_unreadable_content_is_an_error_over_loopback(server: DemoServer) -> None:
    """A stream whose only content is of a shape chatlab can't read is never an empty ok."""
    body = (CHAT / "mistral_magistral_thinking.sse").read_bytes()
    body = body.replace(b'"type":"thinking"', b'"type":"thought"').replace(
        b'"type":"text","text":"2', b'"type":"x","x":"2'
    )
    r = replay(server, body, "magistral-medium-2507", 97)
    assert r.status is Status.ERROR and r.error is not None and r.error.kind == "protocol"
    assert "can't read" in r.error.message and "'thought'" in r.error.message
    assert r.text == "" and r.reasoning == ""
