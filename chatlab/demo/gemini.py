"""The demo server's Gemini encoder (``streamGenerateContent?alt=sse``), read by
:mod:`chatlab.providers.gemini`.

A script's answer goes out as ``GenerateContentResponse`` chunks, each with the usage so
far in ``usageMetadata`` (as Gemini sends it): the reasoning as parts marked
``thought`` when the request asked for thought summaries (``includeThoughts``) and the
script's reasoning is visible (hidden reasoning is a ``thoughtsTokenCount`` only), the
answer as text parts (the first carrying a ``thoughtSignature`` after reasoning), and a
last chunk with ``finishReason`` (``SAFETY`` for a refusal, with no answer) and the
final usage. Also here: the same answer as one complete response, the error chunk a
fault sends mid-stream, and Google's error object for an HTTP error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chatlab.demo.common import (
    Plan,
    gemini_thinking,
    input_count,
    output_count,
    proto_field,
    sse,
    usage_object,
)
from chatlab.demo.scripts import Script

MALFORMED = b'data: {"candidates": [{"content": {"parts": [{"text": "x"\n\n'
SIGNATURE = "c2lnbmF0dXJl"
# HTTP status -> Google's status word (google.rpc.Code)
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def wants_thoughts(body: dict[str, Any]) -> bool:
    """The request asked for thought summaries (``generationConfig.thinkingConfig.includeThoughts``)."""
    return proto_field(gemini_thinking(body), "includeThoughts", "include_thoughts") is True


def _usage(s: Script, plan: Plan, candidates: int, thoughts: int, final: bool) -> Any:
    usage: dict[str, Any] = {
        "promptTokenCount": input_count(s, plan.input_tokens) if final else plan.input_tokens,
        "candidatesTokenCount": output_count(s, candidates) if final else candidates,
        "totalTokenCount": plan.input_tokens + candidates + thoughts,
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if s.cached_input_tokens:
        usage["cachedContentTokenCount"] = s.cached_input_tokens
    return usage_object(s, usage) if final else usage


def _chunk(parts: list[dict[str, Any]], usage: Any, finish: str | None = None) -> bytes:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return sse({"candidates": [candidate], "usageMetadata": usage, "modelVersion": "chatlab-demo"})


def events(s: Script, plan: Plan, body: dict[str, Any], ids: Iterator[int]) -> Iterator[tuple[bytes, bool]]:
    next(ids)
    visible = wants_thoughts(body) and not s.hidden_reasoning_tokens
    thoughts = 0
    if visible:
        for piece in plan.reasoning:
            thoughts += 1
            yield _chunk([{"text": piece, "thought": True}], _usage(s, plan, 0, thoughts, False)), True
    answer = [] if s.refusal else plan.answer
    for i, piece in enumerate(answer):
        part: dict[str, Any] = {"text": piece}
        if i == 0 and plan.reasoning_tokens:
            part["thoughtSignature"] = SIGNATURE
        yield _chunk([part], _usage(s, plan, i + 1, plan.reasoning_tokens, False)), True
    final = 0 if s.refusal else plan.output_tokens - plan.reasoning_tokens
    finish = "SAFETY" if s.refusal else "STOP"
    yield _chunk([{"text": ""}], _usage(s, plan, final, plan.reasoning_tokens, True), finish), False


def whole(s: Script, plan: Plan, model: str) -> dict[str, Any]:
    """The answer as one complete ``GenerateContentResponse`` (``generateContent``)."""
    parts: list[dict[str, Any]] = []
    reasoning = "".join(plan.reasoning)
    if reasoning:
        parts.append({"text": reasoning, "thought": True})
    parts.append({"text": "".join(plan.answer)})
    final = plan.output_tokens - plan.reasoning_tokens
    return {
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": _usage(s, plan, final, plan.reasoning_tokens, True),
        "modelVersion": model,
    }


def fault_event(fault: str, seq: int, said: str) -> bytes:
    """A malformed JSON line, or an error chunk (Gemini's overloaded 503)."""
    if fault == "malformed":
        return MALFORMED
    return sse(
        {
            "error": {
                "code": 503,
                "message": "The model is overloaded. Please try again later." + said,
                "status": "UNAVAILABLE",
            }
        }
    )


def error_body(status: int, etype: str, code: str, message: str) -> dict[str, Any]:
    """Google's error object."""
    return {"error": {"code": status, "message": message, "status": STATUS.get(status, "UNKNOWN")}}
