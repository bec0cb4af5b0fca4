"""The demo server's Responses encoder, read by :mod:`chatlab.providers.openai_responses`.

A script's answer goes out as typed, numbered events (``sequence_number``):
``response.created`` and ``response.in_progress``, a reasoning item with its summary
deltas when the script reasons (an empty one when its reasoning is hidden), a message
item with ``response.output_text.delta`` (``response.refusal.delta`` for a refusal)
and each part's ``.done`` (which disagrees with the deltas under ``done_text=differs``),
and ``response.completed`` carrying the usage. Also here: the same answer as one
response object, the events a fault sends mid-stream (``response.failed``,
``response.incomplete``, an ``error`` event), and the HTTP error body, OpenAI's error
object as Chat Completions sends it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

from chatlab.demo import openai_chat
from chatlab.demo.common import Plan, cost, input_count, output_count, sse, usage_object
from chatlab.demo.scripts import Script

MALFORMED = b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta",\n\n'


def events(s: Script, plan: Plan, body: dict[str, Any], ids: Iterator[int]) -> Iterator[tuple[bytes, bool]]:
    rid = f"resp_demo{next(ids)}"
    seq = itertools.count()
    model = body.get("model", "")
    base = {
        "id": rid,
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "output": [],
        "error": None,
        "incomplete_details": None,
        "usage": None,
    }

    def ev(kind: str, **data: Any) -> bytes:
        return sse({"type": kind, "sequence_number": next(seq), **data}, kind)

    yield ev("response.created", response={**base, "status": "in_progress"}), False
    yield ev("response.in_progress", response={**base, "status": "in_progress"}), False
    idx = 0
    if plan.reasoning or s.hidden_reasoning_tokens:
        rs = f"rs_{rid}"
        yield (
            ev(
                "response.output_item.added",
                output_index=idx,
                item={"id": rs, "type": "reasoning", "summary": []},
            ),
            False,
        )
        if plan.reasoning:
            yield (
                ev(
                    "response.reasoning_summary_part.added",
                    item_id=rs,
                    output_index=idx,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                ),
                False,
            )
            for piece in plan.reasoning:
                yield (
                    ev(
                        "response.reasoning_summary_text.delta",
                        item_id=rs,
                        output_index=idx,
                        summary_index=0,
                        delta=piece,
                    ),
                    True,
                )
            text = "".join(plan.reasoning)
            yield (
                ev(
                    "response.reasoning_summary_text.done",
                    item_id=rs,
                    output_index=idx,
                    summary_index=0,
                    text=text,
                ),
                False,
            )
        yield (
            ev(
                "response.output_item.done",
                output_index=idx,
                item={"id": rs, "type": "reasoning", "summary": []},
            ),
            False,
        )
        idx += 1
    mid = f"msg_{rid}"
    yield (
        ev(
            "response.output_item.added",
            output_index=idx,
            item={
                "id": mid,
                "type": "message",
                "status": "in_progress",
                "content": [],
                "role": "assistant",
            },
        ),
        False,
    )
    part = "refusal" if s.refusal else "output_text"
    yield (
        ev(
            "response.content_part.added",
            item_id=mid,
            output_index=idx,
            content_index=0,
            part={"type": part, "annotations": [], "text": ""},
        ),
        False,
    )
    for piece in plan.answer:
        kind = "response.refusal.delta" if s.refusal else "response.output_text.delta"
        yield ev(kind, item_id=mid, output_index=idx, content_index=0, delta=piece, logprobs=[]), True
    answer = "".join(plan.answer)
    if s.done_text == "differs":
        answer = "The provider's final text, which differs from the stream."
    yield (
        ev(
            "response.output_text.done",
            item_id=mid,
            output_index=idx,
            content_index=0,
            text=answer,
            logprobs=[],
        ),
        False,
    )
    yield (
        ev(
            "response.output_item.done",
            output_index=idx,
            item={
                "id": mid,
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": part, "annotations": [], "text": answer}],
            },
        ),
        False,
    )
    usage = {
        "input_tokens": input_count(s, plan.input_tokens),
        "input_tokens_details": {"cached_tokens": s.cached_input_tokens},
        "output_tokens": output_count(s, plan.output_tokens),
        "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        "total_tokens": plan.input_tokens + plan.output_tokens,
    }
    if cost(s) is not None:
        usage["cost"] = cost(s)
    yield (
        ev(
            "response.completed",
            response={**base, "status": "completed", "usage": usage_object(s, usage)},
        ),
        False,
    )


def whole(s: Script, plan: Plan, model: str) -> dict[str, Any]:
    """The answer as one complete response object."""
    reasoning = "".join(plan.reasoning)
    answer = "".join(plan.answer)
    output: list[dict[str, Any]] = []
    if reasoning:
        output.append(
            {"id": "rs_w", "type": "reasoning", "summary": [{"type": "summary_text", "text": reasoning}]}
        )
    output.append(
        {
            "id": "msg_w",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": answer, "annotations": []}],
        }
    )
    return {
        "id": "resp_whole",
        "object": "response",
        "status": "completed",
        "model": model,
        "output": output,
        "usage": {
            "input_tokens": input_count(s, plan.input_tokens),
            "output_tokens": plan.output_tokens,
            "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        },
    }


def fault_event(fault: str, seq: int, said: str) -> bytes:
    """A malformed JSON line, ``response.failed``, ``response.incomplete`` (its usage counts
    the ``seq`` chunks sent) or an ``error`` event."""
    if fault == "malformed":
        return MALFORMED
    if fault == "failed":
        return sse(
            {
                "type": "response.failed",
                "sequence_number": seq,
                "response": {
                    "id": "resp_fault",
                    "object": "response",
                    "status": "failed",
                    "output": [],
                    "error": {"code": "server_error", "message": "The model failed to finish."},
                    "usage": None,
                },
            },
            "response.failed",
        )
    if fault == "incomplete":
        return sse(
            {
                "type": "response.incomplete",
                "sequence_number": seq,
                "response": {
                    "id": "resp_fault",
                    "object": "response",
                    "status": "incomplete",
                    "output": [],
                    "incomplete_details": {"reason": "max_output_tokens"},
                    "usage": {
                        "input_tokens": 10,
                        "input_tokens_details": {"cached_tokens": 0},
                        "output_tokens": seq,
                        "output_tokens_details": {"reasoning_tokens": 0},
                        "total_tokens": 10 + seq,
                    },
                },
            },
            "response.incomplete",
        )
    return sse(
        {
            "type": "error",
            "sequence_number": seq,
            "code": "server_is_overloaded",
            "message": "The server is overloaded." + said,
            "param": None,
        },
        "error",
    )


error_body = openai_chat.error_body  # the same error object as Chat Completions
