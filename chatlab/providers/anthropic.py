"""Adapter for Anthropic's Messages API (``AsyncAnthropic.messages.create(stream=True)``).

Thinking is enabled per lane in the form the model accepts: ``adaptive`` (Claude 4.6
and later; the lane's effort goes in ``output_config``) or ``enabled`` with a token
budget (earlier models; an effort is turned into a budget). ``thinking_delta`` becomes
reasoning, ``text_delta`` the answer, and a ``redacted_thinking`` block a visible
placeholder. Usage: total input = ``input_tokens`` + cache reads + cache writes, cached
input = cache reads, output = ``output_tokens``; reasoning tokens come from
``output_tokens_details.thinking_tokens`` or, when absent, are estimated from the
thinking text and flagged. ``message_stop`` is the end marker; an ``error`` event
mid-stream (e.g. ``overloaded_error``) ends the lane with the text kept. The SDK no
longer takes ``temperature``; it is sent through ``extra_body`` only to Claude 4.5 and
earlier with thinking off, and dropped otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

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
from chatlab.core.tokens import count_tokens
from chatlab.providers import families
from chatlab.providers.base import SDKAdapter
from chatlab.providers.errors import map_exception
from chatlab.providers.openai_chat import _get

REDACTED = "[redacted thinking: the provider returned this block encrypted]"
DEFAULT_MAX_TOKENS = 8192


class ParamError(ValueError):
    pass


def build_kwargs(request: Request) -> dict[str, Any]:
    p = request.params
    model = request.model
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": True,
    }
    if p.system:
        kwargs["system"] = p.system
    thinking_on = bool(p.thinking_budget) or (p.reasoning_effort is not None and p.thinking_budget != 0)
    max_tokens = p.max_output_tokens
    if thinking_on:
        if families.claude_thinking_form(model) == "adaptive":
            kwargs["thinking"] = {"type": "adaptive"}
            if p.reasoning_effort:
                kwargs["output_config"] = {"effort": p.reasoning_effort}
            max_tokens = max_tokens or DEFAULT_MAX_TOKENS * 2
        else:
            budget = p.thinking_budget or families.EFFORT_BUDGETS.get(p.reasoning_effort or "medium", 8192)
            budget = max(budget, families.MIN_THINKING_BUDGET)
            if max_tokens is None:
                max_tokens = budget + DEFAULT_MAX_TOKENS
            elif max_tokens <= budget:
                raise ParamError(
                    f"max output tokens ({max_tokens}) must be larger than the thinking budget ({budget})"
                )
            kwargs["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif p.temperature is not None and families.claude_accepts_temperature(model):
        kwargs["extra_body"] = {"temperature": p.temperature}
    kwargs["max_tokens"] = max_tokens or DEFAULT_MAX_TOKENS
    return kwargs


class AnthropicAdapter(SDKAdapter):
    resource = "messages"

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        try:
            kwargs = build_kwargs(request)
        except ParamError as exc:
            yield StreamError(ErrorKind.BAD_REQUEST, str(exc))
            return
        try:
            stream = await self.client.messages.create(**kwargs)
        except Exception as exc:
            yield map_exception(exc)
            return
        input_tokens = cache_read = cache_write = output_tokens = 0
        thinking_tokens: int | None = None
        thinking_parts: list[str] = []
        stop_reason: str | None = None
        blocks = 0
        try:
            async for event in stream:
                kind = event.type
                if kind == "content_block_delta":
                    delta = event.delta
                    dtype = delta.type
                    if dtype == "text_delta":
                        yield TextDelta(delta.text)
                    elif dtype == "thinking_delta":
                        thinking_parts.append(delta.thinking)
                        yield ReasoningDelta(delta.thinking)
                elif kind == "content_block_start":
                    btype = event.content_block.type
                    if btype in ("thinking", "redacted_thinking"):
                        if blocks:
                            yield ReasoningDelta("\n\n")
                        blocks += 1
                        if btype == "redacted_thinking":
                            yield ReasoningDelta(REDACTED)
                elif kind == "message_start":
                    u = event.message.usage
                    input_tokens = u.input_tokens or 0
                    cache_read = u.cache_read_input_tokens or 0
                    cache_write = u.cache_creation_input_tokens or 0
                    output_tokens = u.output_tokens or 0
                elif kind == "message_delta":
                    u = event.usage
                    if u.input_tokens is not None:
                        input_tokens = u.input_tokens
                    if u.cache_read_input_tokens is not None:
                        cache_read = u.cache_read_input_tokens
                    if u.cache_creation_input_tokens is not None:
                        cache_write = u.cache_creation_input_tokens
                    output_tokens = u.output_tokens
                    details = _get(u, "output_tokens_details")
                    if _get(details, "thinking_tokens") is not None:
                        thinking_tokens = int(_get(details, "thinking_tokens"))
                    stop_reason = event.delta.stop_reason or stop_reason
                    if stop_reason == "refusal":
                        yield TextDelta("", refusal=True)
                elif kind == "message_stop":
                    estimated = thinking_tokens is None
                    if thinking_tokens is None:
                        thinking_tokens = count_tokens("".join(thinking_parts), request.model).tokens
                    yield UsageReport(
                        Usage(
                            input_tokens=input_tokens + cache_read + cache_write,
                            cached_input_tokens=cache_read,
                            cache_write_input_tokens=cache_write,
                            output_tokens=output_tokens,
                            reasoning_tokens=min(thinking_tokens, output_tokens),
                            reasoning_estimated=estimated and thinking_tokens > 0,
                        )
                    )
                    yield Done(stop_reason)
                    return
            yield StreamError(
                ErrorKind.NETWORK, "the stream ended before the provider's end marker (message_stop)"
            )
        except Exception as exc:
            yield map_exception(exc)
        finally:
            await stream.close()
