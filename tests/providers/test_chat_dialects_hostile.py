"""Hostile Chat Completions streams for the reasoning dialects, replayed over loopback
through the real openai SDK and the Chat adapter: a reasoning field of a shape chatlab
can't read is never dropped in silence, an empty ``usage`` object does not hide Groq's
``x_groq.usage`` nor report zero tokens as exact, and whole-number floats in usage are
counts for xAI's arithmetic as they are everywhere else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatlab.core.data.model import Status
from chatlab.demo.server import DemoServer
from chatlab.providers.openai_chat import whole_message
from tests.providers.test_chat_dialects import JSON, replay


def sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "model": "m", "choices": []}
    if delta is not None or finish is not None:
        body["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    body.update(extra)
    return body


@pytest.mark.parametrize("chunk_size", [7, 4096])
def test_reasoning_object_alone_is_an_error_not_an_empty_ok(server: DemoServer, chunk_size: int) -> None:
    body = sse(chunk({"role": "assistant", "reasoning_content": {"text": "hmm"}}), chunk({}, "stop"))
    r = replay(server, body, "odd-reasoning", chunk_size)
    assert r.status is Status.ERROR and r.error is not None
    assert "reasoning_content" in r.error.message


def test_reasoning_number_beside_an_answer_leaves_a_note(server: DemoServer) -> None:
    body = sse(chunk({"reasoning": 42}), chunk({"content": "hi"}), chunk({}, "stop"))
    r = replay(server, body, "odd-reasoning-note")
    assert r.status is Status.OK and r.text == "hi"
    assert any("reasoning 42" in n for n in r.notes)


def test_whole_message_reasoning_object_is_not_lost() -> None:
    body = {"choices": [{"message": {"role": "assistant", "reasoning": ["x"]}, "finish_reason": "stop"}]}
    out = whole_message(body)
    assert [type(e).__name__ for e in out] == ["StreamError"]


def test_readable_reasoning_wins_over_an_odd_one_in_the_same_delta(server: DemoServer) -> None:
    delta = {"reasoning_content": "R", "reasoning": {"x": 1}, "content": "A"}
    r = replay(server, sse(chunk(delta), chunk({}, "stop")), "odd-reasoning-beside")
    assert (r.status, r.reasoning, r.text, r.notes) == (Status.OK, "R", "A", [])


def test_empty_usage_does_not_hide_groq_usage(server: DemoServer) -> None:
    groq = {"usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}
    body = sse(chunk({"content": "hi"}, usage={}), chunk({}, "stop", usage={}, x_groq=groq))
    r = replay(server, body, "empty-usage-groq")
    assert r.status is Status.OK and not r.usage.estimated
    assert (r.usage.input_tokens, r.usage.output_tokens) == (5, 7)


def test_empty_usage_alone_is_no_report_of_zero(server: DemoServer) -> None:
    r = replay(
        server, sse(chunk({"content": "hello there"}, usage={}), chunk({}, "stop", usage={})), "empty-usage"
    )
    assert r.status is Status.OK
    assert r.usage.estimated and r.usage.output_tokens > 0  # chatlab's estimate, marked ≈, not an exact 0


@pytest.mark.parametrize("headers", [None, JSON])
def test_xai_arithmetic_with_whole_floats(server: DemoServer, headers: dict[str, str] | None) -> None:
    usage = {
        "prompt_tokens": 10.0,
        "completion_tokens": 5.0,
        "total_tokens": 35.0,
        "completion_tokens_details": {"reasoning_tokens": 20.0},
    }
    if headers:
        message = {"role": "assistant", "content": "hi"}
        body = json.dumps(
            {"choices": [{"message": message, "finish_reason": "stop"}], "usage": usage}
        ).encode()
    else:
        body = sse(chunk({"content": "hi"}), chunk({}, "stop", usage=usage))
    r = replay(server, body, f"xai-floats-{bool(headers)}", headers=headers)
    assert r.status is Status.OK and not r.usage.estimated
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.reasoning_tokens) == (10, 25, 20)
