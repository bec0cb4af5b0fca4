"""The demo server's Anthropic Messages encoder, read by :mod:`chatlab.providers.anthropic`.

A script's answer goes out as named events: ``message_start`` with the input usage
(cached input as cache reads), a ``redacted_thinking`` block when the script's
reasoning is hidden or redacted, a ``thinking`` block with its deltas, a ``ping`` and a
signature when it reasons, a ``text`` block with the answer, ``message_delta`` with the
stop reason and output usage, and ``message_stop``. Also here: the same answer as one
complete message, the ``error`` event a fault sends mid-stream, and Anthropic's error
object for an HTTP error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chatlab.demo.common import Plan, input_count, output_count, sse, usage_object
from chatlab.demo.scripts import Script

MALFORMED = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index"\n\n'


def events(s: Script, plan: Plan, body: dict[str, Any], ids: Iterator[int]) -> Iterator[tuple[bytes, bool]]:
    mid = f"msg_demo{next(ids)}"
    cached = s.cached_input_tokens
    uncached = max(plan.input_tokens - cached, 0)
    start_usage = {
        "input_tokens": uncached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": 1,
    }
    yield (
        sse(
            {
                "type": "message_start",
                "message": {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model", ""),
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
            "message_start",
        ),
        False,
    )

    def start(index: int, block: dict[str, Any]) -> tuple[bytes, bool]:
        return sse(
            {"type": "content_block_start", "index": index, "content_block": block}, "content_block_start"
        ), False

    def delta(index: int, body: dict[str, Any], token: bool) -> tuple[bytes, bool]:
        return sse(
            {"type": "content_block_delta", "index": index, "delta": body}, "content_block_delta"
        ), token

    def end(index: int) -> tuple[bytes, bool]:
        return sse({"type": "content_block_stop", "index": index}, "content_block_stop"), False

    idx = 0
    if s.redacted or s.hidden_reasoning_tokens:
        yield start(idx, {"type": "redacted_thinking", "data": "EncryptedDemoBlob=="})
        yield end(idx)
        idx += 1
    if plan.reasoning:
        yield start(idx, {"type": "thinking", "thinking": "", "signature": ""})
        yield b'event: ping\ndata: {"type": "ping"}\n\n', False
        for piece in plan.reasoning:
            yield delta(idx, {"type": "thinking_delta", "thinking": piece}, True)
        yield delta(idx, {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}, False)
        yield end(idx)
        idx += 1
    yield start(idx, {"type": "text", "text": ""})
    for piece in plan.answer:
        yield delta(idx, {"type": "text_delta", "text": piece}, True)
    yield end(idx)
    delta_usage: dict[str, Any] = {
        "input_tokens": input_count(s, uncached),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": output_count(s, plan.output_tokens),
    }
    if plan.reasoning_tokens:
        delta_usage["output_tokens_details"] = {"thinking_tokens": plan.reasoning_tokens}
    stop = "refusal" if s.refusal else "end_turn"
    yield (
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": usage_object(s, delta_usage),
            },
            "message_delta",
        ),
        False,
    )
    yield sse({"type": "message_stop"}, "message_stop"), False


def whole(s: Script, plan: Plan, model: str) -> dict[str, Any]:
    """The answer as one complete message (LiteLLM's proxy sends one)."""
    reasoning = "".join(plan.reasoning)
    content: list[dict[str, Any]] = []
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": "c2ln"})
    content.append({"type": "text", "text": "".join(plan.answer)})
    return {
        "id": "msg_whole",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn",
        "usage": {"input_tokens": input_count(s, plan.input_tokens), "output_tokens": plan.output_tokens},
    }


def fault_event(fault: str, seq: int, said: str) -> bytes:
    """A malformed JSON line, or an ``overloaded_error`` event."""
    if fault == "malformed":
        return MALFORMED
    return sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded" + said}},
        "error",
    )


def error_body(status: int, etype: str, code: str, message: str) -> dict[str, Any]:
    """Anthropic's error object."""
    return {"type": "error", "error": {"type": etype, "message": message}}
