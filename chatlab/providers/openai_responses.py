"""Adapter for OpenAI's Responses API (``AsyncOpenAI.responses.create(stream=True)``).

Reasoning models are asked for reasoning summaries (``reasoning={"summary": "auto"}``
plus the lane's effort); ``response.reasoning_summary_text.delta`` and
``response.reasoning_text.delta`` become reasoning, ``response.output_text.delta`` the
answer and ``response.refusal.delta`` answer text flagged as a refusal. Usage (input,
cached input, output, reasoning) comes from the final response object. The end marker
is ``response.completed``; ``response.failed``, ``response.incomplete`` and ``error``
end the lane with an error while keeping what was streamed. Requests are sent with
``store=False``: chatlab keeps its own history.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from chatlab.core.config import ProviderConfig
from chatlab.core.events import (
    Done,
    ErrorKind,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.core.model import Request
from chatlab.providers import families
from chatlab.providers.base import SDKAdapter
from chatlab.providers.errors import kind_for_code, map_exception
from chatlab.providers.openai_chat import _get

_DONE_KINDS = {
    "response.output_text.done": ("t", "content_index"),
    "response.reasoning_summary_text.done": ("s", "summary_index"),
    "response.reasoning_text.done": ("r", "content_index"),
}


def usage_of(raw: Any) -> UsageReport:
    usage = Usage(
        input_tokens=int(_get(raw, "input_tokens") or 0),
        cached_input_tokens=int(_get(_get(raw, "input_tokens_details"), "cached_tokens") or 0),
        output_tokens=int(_get(raw, "output_tokens") or 0),
        reasoning_tokens=int(_get(_get(raw, "output_tokens_details"), "reasoning_tokens") or 0),
    )
    cost = _get(raw, "cost")
    return UsageReport(usage, float(cost) if isinstance(cost, int | float) else None)


def build_kwargs(provider: ProviderConfig, request: Request) -> dict[str, Any]:
    p = request.params
    kwargs: dict[str, Any] = {
        "model": request.model,
        "input": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": True,
        "store": False,
    }
    if p.system:
        kwargs["instructions"] = p.system
    reasoning_model = families.is_openai_reasoning(request.model) or (
        provider.vendor not in ("openai",) and p.reasoning_effort is not None
    )
    if reasoning_model:
        reasoning: dict[str, Any] = {"summary": "auto"}
        if p.reasoning_effort:
            reasoning["effort"] = p.reasoning_effort
        kwargs["reasoning"] = reasoning
    elif p.temperature is not None:
        kwargs["temperature"] = p.temperature
    if p.max_output_tokens is not None:
        kwargs["max_output_tokens"] = p.max_output_tokens
    return kwargs


_TERMINAL = ("response.completed", "response.incomplete", "response.failed", "error")


def _terminal(event: Any) -> list[StreamEvent]:
    """The billed usage (if any) and the final event for one of the ``_TERMINAL`` kinds."""
    if event.type == "error":
        code = _get(event, "code")
        return [StreamError(kind_for_code(code, ErrorKind.SERVER), str(_get(event, "message") or code))]
    response = event.response
    out: list[StreamEvent] = []
    if _get(response, "usage") is not None:
        out.append(usage_of(response.usage))
    if event.type == "response.completed":
        out.append(Done(_get(response, "status") or "completed"))
    elif event.type == "response.incomplete":
        reason = _get(_get(response, "incomplete_details"), "reason") or "unknown"
        out.append(StreamError(ErrorKind.BAD_REQUEST, f"response incomplete: {reason}"))
    else:
        err = _get(response, "error")
        message = _get(err, "message") or "response failed"
        out.append(StreamError(kind_for_code(_get(err, "code"), ErrorKind.SERVER), str(message)))
    return out


class OpenAIResponsesAdapter(SDKAdapter):
    resource = "responses"

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        try:
            stream = await self.client.responses.create(**build_kwargs(self.provider, request))
        except Exception as exc:
            yield map_exception(exc)
            return
        ended = False
        # Text streamed per part, to reconcile with each part's ``.done`` event: if a
        # delta went missing, the difference is emitted then, so nothing is lost.
        streamed: dict[tuple[str, str, int], int] = {}
        try:
            async for event in stream:
                kind = event.type
                if kind == "response.output_text.delta":
                    key = ("t", event.item_id, event.content_index)
                    streamed[key] = streamed.get(key, 0) + len(event.delta)
                    yield TextDelta(event.delta)
                elif kind == "response.reasoning_summary_text.delta":
                    key = ("s", event.item_id, event.summary_index)
                    streamed[key] = streamed.get(key, 0) + len(event.delta)
                    yield ReasoningDelta(event.delta)
                elif kind == "response.reasoning_text.delta":
                    key = ("r", event.item_id, event.content_index)
                    streamed[key] = streamed.get(key, 0) + len(event.delta)
                    yield ReasoningDelta(event.delta)
                elif kind in _DONE_KINDS:
                    tag, index_field = _DONE_KINDS[kind]
                    full = _get(event, "text") or ""
                    seen = streamed.get((tag, event.item_id, _get(event, index_field) or 0), 0)
                    if len(full) > seen:
                        missing = full[seen:]
                        yield TextDelta(missing) if tag == "t" else ReasoningDelta(missing)
                elif kind == "response.reasoning_summary_part.added" and _get(event, "summary_index"):
                    yield ReasoningDelta("\n\n")
                elif kind == "response.refusal.delta":
                    yield TextDelta(event.delta, refusal=True)
                elif kind in _TERMINAL:
                    for out in _terminal(event):
                        yield out
                    ended = True
                    break
            if not ended:
                yield StreamError(
                    ErrorKind.NETWORK,
                    "the stream ended before the provider's end marker (response.completed)",
                )
        except Exception as exc:
            yield map_exception(exc)
        finally:
            await stream.close()
