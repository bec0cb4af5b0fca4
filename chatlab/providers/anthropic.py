"""Adapter for Anthropic's Messages API (``AsyncAnthropic.messages.create(stream=True)``).

Thinking is enabled per lane in the form the model accepts: ``adaptive`` (Claude 4.6
and later; the lane's effort goes in ``output_config``) or ``enabled`` with a token
budget (earlier models; an effort is turned into a budget). ``thinking_delta`` becomes
reasoning, ``text_delta`` the answer, and a ``redacted_thinking`` block a visible
placeholder. Usage: total input = ``input_tokens`` + cache reads + cache writes, cached
input = cache reads, output = ``output_tokens``; reasoning tokens come from
``output_tokens_details.thinking_tokens`` or, when absent, are estimated from the
thinking text and flagged. A ``think = "prompted"`` lane's ``<think>`` block in the
answer is split into reasoning and counted the same way (estimated, flagged).
``message_stop`` is the end marker; an ``error`` event mid-stream (e.g.
``overloaded_error``) ends the lane with the text kept. A server that answers with one
complete message instead of a stream (LiteLLM's proxy does) is read as the whole
answer. The SDK no longer takes ``temperature``; it is sent through ``extra_body`` only
to Claude 4.5 and earlier with thinking off, and dropped otherwise.

A response schema (a judge's call) is never sent: the SDK's ``output_config.format``
(structured outputs, no beta header) is taken by Claude 4.5 and later only, and its
schemas may not hold keywords the verdict's schema uses (``minimum``, ``maximum``), so a
400 could cost a whole judge run. The prompt asks for JSON, and the verdict is read
strictly whatever comes back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from chatlab.core.costs.tokens import count_tokens
from chatlab.core.data import safety
from chatlab.core.data.constants import REDACTED_THINKING
from chatlab.core.data.events import (
    Done,
    ErrorKind,
    Notice,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.core.data.model import Request
from chatlab.core.settings import families, reasoning
from chatlab.core.settings.config import ProviderConfig
from chatlab.core.settings.prompted import PROMPTED
from chatlab.providers import sse
from chatlab.providers.base import SDKAdapter
from chatlab.providers.common import body_error, counts, get, is_record, no_end_marker, not_a_record, text_of
from chatlab.providers.errors import StreamFailure, event_error, map_exception, not_an_object
from chatlab.providers.think import InlineThink

REDACTED = REDACTED_THINKING
DEFAULT_MAX_TOKENS = 8192


class ParamError(ValueError):
    pass


CLAUDE = ProviderConfig("anthropic", "anthropic", vendor="anthropic")


def build_kwargs(request: Request, provider: ProviderConfig = CLAUDE) -> dict[str, Any]:
    """The SDK's arguments for ``request``; the lane's reasoning knob is turned into a
    thinking budget or an adaptive effort (:func:`chatlab.core.settings.reasoning.translate`,
    which raises :class:`~chatlab.core.settings.reasoning.KnobError` for a setting the
    model can't honour). Raises :class:`ParamError` for a budget the output can't hold."""
    sent = reasoning.translate(provider, request.model, request.params)
    p = sent.params
    model = request.model
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": True,
    }
    if p.system:
        kwargs["system"] = p.system
    thinking_on = bool(p.thinking_budget) or (
        p.reasoning_effort not in (None, "none") and p.thinking_budget != 0
    )
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
    if sent.body:
        kwargs["extra_body"] = {**kwargs.get("extra_body", {}), **sent.body}
    kwargs["max_tokens"] = max_tokens or DEFAULT_MAX_TOKENS
    return kwargs


_USAGE_FIELDS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")


class _Usage:
    """Usage as it builds up over ``message_start`` and ``message_delta`` (raw values,
    checked once at the end: a provider's numbers are untrusted)."""

    def __init__(self) -> None:
        self.raw: dict[str, Any] = {}
        self.thinking: Any = None
        self.bad: Notice | None = None

    def update(self, u: Any, first: bool) -> None:
        if u is None:
            return
        if not is_record(u):
            self.bad = not_a_record("usage", u)
            return
        for name in _USAGE_FIELDS:
            value = get(u, name)
            if value is not None or (first and name not in self.raw):
                self.raw[name] = value
        thinking = get(get(u, "output_tokens_details"), "thinking_tokens")
        if thinking is not None:
            self.thinking = thinking

    def events(self, thinking_text: str, model: str, think: InlineThink) -> list[StreamEvent]:
        """The usage, checked, with ``think``'s prompted reasoning counted in."""
        if self.bad is not None:
            return [self.bad]
        if "input_tokens" not in self.raw:  # no message_start usage: nothing to believe
            return [Notice(safety.usage_note("input_tokens was missing"))]
        n = counts({**self.raw, "thinking_tokens": self.thinking})
        if isinstance(n, Notice):
            return [n]
        estimated = self.thinking is None
        thinking = count_tokens(thinking_text, model).tokens if estimated else n["thinking_tokens"]
        read, write, output = (
            n["cache_read_input_tokens"],
            n["cache_creation_input_tokens"],
            n["output_tokens"],
        )
        report = UsageReport(
            Usage(
                input_tokens=n["input_tokens"] + read + write,
                cached_input_tokens=read,
                cache_write_input_tokens=write,
                output_tokens=output,
                reasoning_tokens=min(thinking, output),
                reasoning_estimated=estimated and thinking > 0,
            )
        )
        return [think.usage(report)]


def whole_message(body: dict[str, Any], model: str, prompted: bool = False) -> list[StreamEvent]:
    """The events of a complete ``message`` object (a server that did not stream)."""
    error = body_error(body)
    if error is not None:
        return [error]
    if body.get("type") != "message":
        return [StreamError(ErrorKind.PROTOCOL, "the server answered with JSON that is not a message")]
    out: list[StreamEvent] = []
    thinking: list[str] = []
    think = InlineThink(model, on=prompted, prompted=True)
    blocks = 0
    content = body.get("content")
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype in ("thinking", "redacted_thinking"):
            if blocks:
                out.append(ReasoningDelta("\n\n"))
            blocks += 1
            text = REDACTED if btype == "redacted_thinking" else text_of(block.get("thinking"))
            if btype == "thinking":
                thinking.append(text)
            if text:
                out.append(ReasoningDelta(text))
        elif btype == "text" and text_of(block.get("text")):
            out.extend(think.feed(block["text"]))
    out.extend(think.flush())
    stop = text_of(body.get("stop_reason")) or "end_turn"
    if stop == "refusal":
        out.append(TextDelta("", refusal=True))
    usage = _Usage()
    usage.update(body.get("usage") or {}, first=True)
    out.extend(usage.events("".join(thinking), model, think))
    out.append(Done(stop))
    return out


def _error_event(data: str, status: int) -> StreamError:
    """An ``error`` event mid-stream, read as the SDK reads it (and :func:`map_exception`
    then classifies it): JSON if it parses, else the raw text."""
    body: Any = data
    try:
        body = json.loads(data)
        message = f"{body}"
    except Exception:
        message = data or f"Error code: {status}"
    return event_error(body, message)


# The Messages stream's own event types. Before message_start, any other is a sign the
# server speaks some other format; after it, one is skipped (a newer event).
_MESSAGES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    }
)


def _messages_event(data: str | bytes) -> bool:
    """Whether a nameless event's data is still a Messages event (its ``type`` one of
    ours): skipped unread, as the SDK skips it. A chat chunk or a Responses event is not."""
    try:
        found = json.loads(data)
    except ValueError:
        return False
    return isinstance(found, dict) and found.get("type") in _MESSAGES


def _foreign(what: str) -> StreamError:
    """A stream that isn't the Messages format: at once, never retried (a protocol error),
    keeping whatever text came before."""
    return StreamError(
        ErrorKind.PROTOCOL,
        f"the server's stream is not Anthropic Messages events ({what} before message_start): "
        "is this endpoint Anthropic-compatible?",
    )


class AnthropicAdapter(SDKAdapter):
    resource = "messages"

    def whole_message(self, body: dict[str, Any], request: Request) -> list[StreamEvent]:
        return whole_message(body, request.model, request.params.think == PROMPTED)

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        try:
            kwargs = build_kwargs(request, self.provider)
        except (ParamError, reasoning.KnobError) as exc:  # refused before sending
            yield StreamError(ErrorKind.BAD_REQUEST, str(exc), started=False)
            return
        stream = await self.open(self.client.messages.create(**kwargs), request)
        if isinstance(stream, list):
            for ev in stream:
                yield ev
            return
        reader = _Reader(
            self.url, request.model, stream.response.status_code, request.params.think == PROMPTED
        )
        async for ev in self.read(stream, reader):
            yield ev


class _Reader:
    """One Messages stream, event by event (see :class:`~chatlab.providers.base.Reader`)."""

    def __init__(self, url: str, model: str, status: int, prompted: bool = False) -> None:
        self.url = url
        self.model = model
        self.status = status
        self.think = InlineThink(model, on=prompted, prompted=True)  # the answer's <think> block
        self.usage = _Usage()
        self.thinking: list[str] = []
        self.stop_reason: str | None = None
        self.blocks = 0
        self.ended = False
        self.started = False  # message_start arrived: this is a Messages stream

    def feed(self, item: sse.Event, out: list[StreamEvent]) -> bool:
        name = item.event
        if name is None and item.data and not self.started and not _messages_event(item.data):
            raise StreamFailure(_foreign("an event with no name"))
        if name is None or name == "ping":  # skipped unread, as the SDK skips them
            item.check()
            return False
        if name == "error":
            raise StreamFailure(_error_event(item.text(), self.status))
        if not item.data:
            item.check()
            return False
        event = item.json()
        if not isinstance(event, dict):
            raise StreamFailure(not_an_object(event))
        kind = event.get("type")
        if not self.started and kind not in _MESSAGES:
            raise StreamFailure(_foreign(f"a {text_of(kind) or text_of(name) or 'nameless'!r} event"))
        if kind == "content_block_delta":
            delta = event.get("delta")
            dtype = get(delta, "type")
            if dtype == "text_delta":
                out.extend(self.think.feed(text_of(get(delta, "text"))))
            elif dtype == "thinking_delta":
                piece = text_of(get(delta, "thinking"))
                self.thinking.append(piece)
                out.append(ReasoningDelta(piece))
        elif kind == "content_block_start":
            btype = get(event.get("content_block"), "type")
            if btype in ("thinking", "redacted_thinking"):
                if self.blocks:
                    out.append(ReasoningDelta("\n\n"))
                self.blocks += 1
                if btype == "redacted_thinking":
                    out.append(ReasoningDelta(REDACTED))
        elif kind == "message_start":
            self.started = True
            self.usage.update(get(event.get("message"), "usage"), first=True)
        elif kind == "message_delta":
            self.usage.update(event.get("usage"), first=False)
            self.stop_reason = text_of(get(event.get("delta"), "stop_reason")) or self.stop_reason
            if self.stop_reason == "refusal":
                out.append(TextDelta("", refusal=True))
        elif kind == "message_stop":
            out.extend(self.think.flush())
            out.extend(self.usage.events("".join(self.thinking), self.model, self.think))
            out.append(Done(self.stop_reason))
            self.ended = True
            return True
        return False

    def end(self, out: list[StreamEvent]) -> None:
        if not self.ended:
            out.extend(self.think.flush())  # a block never closed stays reasoning
            out.append(no_end_marker("message_stop"))

    def fail(self, exc: Exception, out: list[StreamEvent]) -> None:
        out.extend(self.think.flush())
        out.append(map_exception(exc, self.url))
