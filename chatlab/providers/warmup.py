"""Build the SDKs' lazily-built pydantic models once, off the event loop.

Both SDKs defer building their response models until the first event of each type is
parsed; for the Responses API that first parse costs over a second of CPU, which would
freeze the UI and inflate the first lane's time-to-first-token. ``warm_up(kind)`` parses
one small sample of every event type chatlab reads, under a lock, so callers can run it
in a worker thread (``asyncio.to_thread``) before the lanes' clocks start.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_done: set[str] = set()

_CHAT = [
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": "x", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1,
            "completion_tokens": 1,
            "total_tokens": 2,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    },
]

_RESPONSE = {
    "id": "r",
    "object": "response",
    "created_at": 0,
    "model": "m",
    "status": "completed",
    "output": [],
    "error": None,
    "incomplete_details": None,
    "usage": {
        "input_tokens": 1,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2,
    },
}
_ITEM = {"item_id": "i", "output_index": 0, "sequence_number": 0}
_RESPONSES: list[dict[str, Any]] = [
    {"type": "response.created", "sequence_number": 0, "response": _RESPONSE},
    {"type": "response.in_progress", "sequence_number": 0, "response": _RESPONSE},
    {
        "type": "response.output_item.added",
        "output_index": 0,
        "sequence_number": 0,
        "item": {"id": "i", "type": "reasoning", "summary": []},
    },
    {
        "type": "response.output_item.added",
        "output_index": 0,
        "sequence_number": 0,
        "item": {"id": "i", "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
    },
    {
        "type": "response.reasoning_summary_part.added",
        **_ITEM,
        "summary_index": 0,
        "part": {"type": "summary_text", "text": ""},
    },
    {"type": "response.reasoning_summary_text.delta", **_ITEM, "summary_index": 0, "delta": "x"},
    {"type": "response.reasoning_summary_text.done", **_ITEM, "summary_index": 0, "text": "x"},
    {
        "type": "response.reasoning_summary_part.done",
        **_ITEM,
        "summary_index": 0,
        "part": {"type": "summary_text", "text": "x"},
    },
    {"type": "response.reasoning_text.delta", **_ITEM, "content_index": 0, "delta": "x"},
    {
        "type": "response.content_part.added",
        **_ITEM,
        "content_index": 0,
        "part": {"type": "output_text", "annotations": [], "text": ""},
    },
    {"type": "response.output_text.delta", **_ITEM, "content_index": 0, "delta": "x", "logprobs": []},
    {"type": "response.output_text.done", **_ITEM, "content_index": 0, "text": "x", "logprobs": []},
    {
        "type": "response.content_part.done",
        **_ITEM,
        "content_index": 0,
        "part": {"type": "output_text", "annotations": [], "text": "x"},
    },
    {
        "type": "response.output_item.done",
        "output_index": 0,
        "sequence_number": 0,
        "item": {
            "id": "i",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "text": "x"}],
        },
    },
    {"type": "response.refusal.delta", **_ITEM, "content_index": 0, "delta": "x"},
    {"type": "response.completed", "sequence_number": 0, "response": _RESPONSE},
    {"type": "error", "sequence_number": 0, "code": "x", "message": "x", "param": None},
]

_ANTHROPIC: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "redacted_thinking", "data": "x"}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "x"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "x"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 1, "output_tokens_details": {"thinking_tokens": 0}},
    },
    {"type": "message_stop"},
]


def _touch(obj: Any) -> None:
    """Access nested attributes so nested models are built too."""
    for name in ("delta", "response", "item", "part", "content_block", "message", "usage", "choices"):
        value = getattr(obj, name, None)
        if isinstance(value, list):
            for v in value:
                _touch(v)
        elif value is not None and hasattr(value, "__dict__"):
            _touch(value)


def warm_up(kind: str) -> None:
    with _lock:
        if kind in _done:
            return
        if kind == "openai-chat":
            from openai._models import construct_type as oc
            from openai.types.chat import ChatCompletionChunk

            for sample in _CHAT:
                _touch(oc(value=sample, type_=ChatCompletionChunk))
        elif kind == "openai-responses":
            from openai._models import construct_type as oc
            from openai.types.responses import ResponseStreamEvent

            for sample in _RESPONSES:
                _touch(oc(value=sample, type_=ResponseStreamEvent))
        elif kind == "anthropic":
            from anthropic._models import construct_type as ac
            from anthropic.types import RawMessageStreamEvent

            for sample in _ANTHROPIC:
                _touch(ac(value=sample, type_=RawMessageStreamEvent))
        _done.add(kind)
