"""The demo server's Chat Completions encoder, read by :mod:`chatlab.providers.openai_chat`.

A script's answer goes out as ``chat.completion.chunk`` events: a first chunk with the
role, the reasoning in the field the script names (``reasoning_content``, ``reasoning``,
``reasoning_details`` or inline ``<think>`` tags in the content), the answer in
``delta.content`` (``delta.refusal`` for a refusal), a chunk with ``finish_reason``, the
usage in a last chunk without choices when the request asked for it
(``stream_options.include_usage``), and ``[DONE]``. Also here: the same answer as one
``chat.completion`` object, the error a fault sends mid-stream, and OpenAI's error
object for an HTTP error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

from chatlab.demo.common import Plan, chunks, cost, input_count, output_count, sse, usage_object
from chatlab.demo.scripts import Script

MALFORMED = b'data: {"id": "broken", "choices": [{"delta": {"content": "x"\n\n'


def events(s: Script, plan: Plan, body: dict[str, Any], ids: Iterator[int]) -> Iterator[tuple[bytes, bool]]:
    cid = f"chatcmpl-demo{next(ids)}"
    model = body.get("model", "")
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(
            {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
        )

    yield chunk({"role": "assistant", "content": ""}), False
    field_ = s.reasoning_field
    if field_ == "think" and plan.reasoning:
        tagged = chunks("<think>\n" + "".join(plan.reasoning) + "\n</think>\n\n", 1, 3, random.Random(7))
        for piece in tagged:
            yield chunk({"content": piece}), True
    else:
        for piece in plan.reasoning:
            if field_ == "reasoning_details":
                d: dict[str, Any] = {
                    "content": "",
                    "reasoning": None,
                    "reasoning_details": [
                        {"type": "reasoning.text", "text": piece, "format": "unknown", "index": 0}
                    ],
                }
            else:
                d = {"content": None, field_: piece}
            yield chunk(d), True
    key = "refusal" if s.refusal else "content"
    for piece in plan.answer:
        yield chunk({key: piece}), True
    yield chunk({}, "stop"), False
    if (body.get("stream_options") or {}).get("include_usage"):
        usage: dict[str, Any] = {
            "prompt_tokens": input_count(s, plan.input_tokens),
            "completion_tokens": output_count(s, plan.output_tokens),
            "total_tokens": plan.input_tokens + plan.output_tokens,
            "prompt_tokens_details": {"cached_tokens": s.cached_input_tokens},
            "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        }
        if cost(s) is not None:
            usage["cost"] = cost(s)
        yield (
            sse(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage_object(s, usage),
                }
            ),
            False,
        )
    yield b"data: [DONE]\n\n", False


def whole(s: Script, plan: Plan, model: str) -> dict[str, Any]:
    """The answer as one complete ``chat.completion`` object."""
    reasoning = "".join(plan.reasoning)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.answer)}
    if reasoning:
        message["reasoning_content"] = reasoning
    return {
        "id": "chatcmpl-whole",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": input_count(s, plan.input_tokens),
            "completion_tokens": plan.output_tokens,
            "total_tokens": plan.input_tokens + plan.output_tokens,
            "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        },
    }


def fault_event(fault: str, seq: int, said: str) -> bytes:
    """A malformed JSON line, or an error object where a chunk belongs (as OpenRouter sends)."""
    if fault == "malformed":
        return MALFORMED
    return sse(
        {
            "error": {
                "message": "The upstream provider is overloaded." + said,
                "type": "server_error",
                "code": "server_is_overloaded",
            }
        }
    )


def error_body(status: int, etype: str, code: str, message: str) -> dict[str, Any]:
    """OpenAI's error object (the Responses API sends the same)."""
    otype = "invalid_request_error" if status < 500 and status != 429 else "server_error"
    if status == 429:
        otype = "requests"
    return {"error": {"message": message, "type": otype, "param": None, "code": code}}
