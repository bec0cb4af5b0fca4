"""Adapter for the Chat Completions wire format (OpenAI and every compatible server).

Runs ``AsyncOpenAI.chat.completions.create(stream=True)`` with
``stream_options={"include_usage": true}`` and turns chunks into core events. Reasoning
is read from ``delta.reasoning_content`` (DeepSeek, xAI, Alibaba DashScope),
``delta.reasoning`` (OpenRouter, vLLM, Ollama, Groq) or ``delta.reasoning_details[].text``
(OpenRouter), first found wins so nothing is counted twice; a reasoning field that is
neither a string nor null is content chatlab can't read (below). ``content`` is a string, or
(Mistral's Magistral) a list of parts: ``{"type": "text"}`` parts are answer,
``{"type": "thinking", "thinking": [text parts] or a string}`` parts reasoning (skipped
when the same delta has a reasoning field, which wins). Inline ``<think>`` blocks are
split live; their tokens, and a thinking part's, are counted as estimated reasoning
tokens when the provider reported none (see :class:`~chatlab.providers.think.InlineThink`).
Content of a shape chatlab can't read never vanishes: a stream (or message) that brought
nothing else ends in an error, else a note says what was left out.

Usage is ``usage`` (or Groq's ``x_groq.usage`` when that is all a chunk has; an empty
``usage`` object reports nothing), with
``completion_tokens_details.reasoning_tokens`` and ``prompt_tokens_details.cached_tokens``
(or DeepSeek's ``prompt_cache_hit_tokens``). OpenAI counts reasoning inside
``completion_tokens``; xAI's Grok outside it: where prompt + completion + reasoning
equals ``total_tokens`` (reasoning > 0) the output is completion + reasoning, decided by
the arithmetic, never by the vendor's name (:func:`output_tokens`). A provider's cost is
``usage.cost`` (OpenRouter, LiteLLM) or ``usage.cost_in_usd_ticks`` (xAI, 1e-10 USD a
tick); a LiteLLM proxy's ``x-litellm-response-cost`` header is read by
:class:`~chatlab.providers.base.SDKAdapter` for reports that carry none. ``[DONE]``
ends the reading, but a ``finish_reason`` is this format's end marker. A server that
answers with one complete ``chat.completion`` JSON object instead of a stream is read as
the whole answer, by the same rules.

A request with a response schema (a judge's call) sends it as ``response_format``
(``json_schema``, not strict) only to a provider whose API takes it
(``ProviderConfig.structured_output``, :data:`~chatlab.core.settings.builtin.STRUCTURED_OUTPUT`);
to any other, nothing: the prompt asks for JSON, and the answer is read strictly either way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from chatlab.core.data import safety
from chatlab.core.data.events import (
    Done,
    ErrorKind,
    Notice,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from chatlab.core.data.model import Request
from chatlab.core.settings import families
from chatlab.core.settings.config import ProviderConfig
from chatlab.core.settings.prompted import PROMPTED
from chatlab.core.settings.reasoning import KnobError, translate
from chatlab.providers import sse
from chatlab.providers.base import SDKAdapter
from chatlab.providers.common import (
    END,
    body_error,
    get,
    is_record,
    no_end_marker,
    not_a_record,
    openai_event,
    output_tokens,
    schema_sent,
    text_of,
    usage_events,
)
from chatlab.providers.errors import map_exception
from chatlab.providers.think import InlineThink


def odd_reasoning(delta: dict[str, Any]) -> str | None:
    """A description of a reasoning field chatlab can't read (neither a string nor null,
    e.g. an object or a number), or None: such reasoning is never dropped in silence."""
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if value is not None and not isinstance(value, str):
            return f"{key} {safety.show(value)}"
    details = delta.get("reasoning_details")
    if details is not None and not isinstance(details, list):
        return f"reasoning_details {safety.show(details)}"
    return None


def reasoning_of(delta: Any) -> str | None:
    extra = delta if isinstance(delta, dict) else None
    if not extra:
        return None
    for key in ("reasoning_content", "reasoning"):
        value = extra.get(key)
        if isinstance(value, str) and value:
            return value
    details = extra.get("reasoning_details")
    if details:
        parts = []
        for item in details if isinstance(details, list) else ():
            kind = get(item, "type")
            if kind == "reasoning.text":
                parts.append(text_of(get(item, "text")))
            elif kind == "reasoning.summary":
                parts.append(text_of(get(item, "summary")))
        joined = "".join(parts)
        return joined or None
    return None


Piece = tuple[bool, str]  # (is reasoning, text)


def _odd(value: Any) -> str:
    """A short, safe description of content chatlab can't read, for a note or an error."""
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str):
            return f"a content part of type {safety.show(kind)}"
        return f"a content part {safety.show(value)}"
    return f"content {safety.show(value)}"


def _thinking(value: Any) -> tuple[list[str], str | None]:
    """The text of a Mistral ``thinking`` part (a list of text parts, or a string)."""
    if isinstance(value, str):
        return [value], None
    if not isinstance(value, list):
        return [], f"thinking {safety.show(value)}"
    texts: list[str] = []
    odd = None
    for part in value:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            odd = odd or f"thinking {safety.show(part)}"
    return texts, odd


def content_of(content: Any, thinking: bool = True) -> tuple[list[Piece], str | None]:
    """The pieces of a ``content`` field, and a description of the first thing in it that
    chatlab can't read (None when it read it all).

    ``content`` is a string, or (Mistral's Magistral) a list of parts: ``{"type": "text"}``
    is answer, ``{"type": "thinking", "thinking": [text parts] or a string}`` reasoning.
    With ``thinking`` False (the message also has a reasoning field, which wins) thinking
    parts are skipped, so reasoning is never counted twice."""
    if content is None:
        return [], None
    if isinstance(content, str):
        return ([(False, content)] if content else []), None
    if not isinstance(content, list):
        return [], _odd(content)
    pieces: list[Piece] = []
    odd = None
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        text = part.get("text") if isinstance(part, dict) else None
        if kind == "text" and isinstance(text, str):
            pieces.append((False, text))
        elif kind == "thinking" and isinstance(part, dict):
            if thinking:
                texts, bad = _thinking(part.get("thinking"))
                pieces.extend((True, t) for t in texts)
                odd = odd or bad
        else:
            odd = odd or _odd(part)
    return [p for p in pieces if p[1]], odd


def usage_of(raw: Any) -> list[StreamEvent]:
    """The usage report (or a notice that it was unbelievable) from a ``usage`` object."""
    if not is_record(raw):
        return [not_a_record("usage", raw)]
    cached = get(get(raw, "prompt_tokens_details"), "cached_tokens")
    if cached is None:
        cached = get(raw, "prompt_cache_hit_tokens")  # DeepSeek's own field
    prompt = get(raw, "prompt_tokens")
    completion = get(raw, "completion_tokens")
    reasoning = get(get(raw, "completion_tokens_details"), "reasoning_tokens")
    counts = {
        "input_tokens": prompt,
        "cached_input_tokens": cached,
        "output_tokens": output_tokens(prompt, completion, reasoning, get(raw, "total_tokens")),
        "reasoning_tokens": reasoning,
    }
    return usage_events(counts, get(raw, "cost"), get(raw, "cost_in_usd_ticks"))


def raw_usage(body: dict[str, Any]) -> Any:
    """A chunk's or message's ``usage``, or Groq's ``x_groq.usage`` when that is all it has."""
    found = body.get("usage")
    if found is None or found == {}:  # an empty usage object reports nothing
        groq = body.get("x_groq")
        found = groq.get("usage") if isinstance(groq, dict) else None
    return None if found == {} else found


def unreadable(odd: str, anything: bool) -> StreamEvent:
    """Content chatlab could not read: an error when nothing else was read (never an empty
    "ok"), else a note kept with the answer."""
    if not anything:
        return StreamError(ErrorKind.PROTOCOL, f"the provider sent an answer chatlab can't read ({odd})")
    return Notice(f"Part of the answer came in a form chatlab can't read and is not shown ({odd}).")


def whole_message(body: dict[str, Any], model: str = "", prompted: bool = False) -> list[StreamEvent]:
    """The events of a complete ``chat.completion`` object (a server that did not stream)."""
    error = body_error(body)
    if error is not None:
        return [error]
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    if choice is None:
        return [StreamError(ErrorKind.PROTOCOL, "the server answered with JSON that holds no answer")]
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    out: list[StreamEvent] = []
    reasoning = reasoning_of(message)
    if reasoning:
        out.append(ReasoningDelta(reasoning))
    pieces, odd = content_of(message.get("content"), thinking=not reasoning)
    odd = odd or (None if reasoning else odd_reasoning(message))
    think = InlineThink(model, prompted=prompted)
    out.extend(think.reasoned(text) for is_reasoning, text in pieces if is_reasoning)
    out.extend(think.feed("".join(text for is_reasoning, text in pieces if not is_reasoning)))
    out.extend(think.flush())
    if text_of(message.get("refusal")):
        out.append(TextDelta(message["refusal"], refusal=True))
    anything = any(isinstance(ev, TextDelta | ReasoningDelta) and ev.text for ev in out)
    usage = raw_usage(body)
    if usage is not None:
        out.extend(think.usage(ev) if isinstance(ev, UsageReport) else ev for ev in usage_of(usage))
    if odd is not None:
        out.append(unreadable(odd, anything))
        if not anything:
            return out
    out.append(Done(text_of(choice.get("finish_reason")) or "stop"))
    return out


def build_kwargs(provider: ProviderConfig, request: Request) -> dict[str, Any]:
    """The SDK's arguments for ``request``; the lane's reasoning knob is turned into the
    provider's own fields (:func:`chatlab.core.settings.reasoning.translate`, which raises
    :class:`~chatlab.core.settings.reasoning.KnobError` for a setting the model can't honour)."""
    knob = request.params.reasoning is not None
    sent = translate(provider, request.model, request.params)
    p = sent.params
    messages: list[dict[str, str]] = []
    if p.system:
        messages.append({"role": "system", "content": p.system})
    messages.extend({"role": m.role, "content": m.content} for m in request.messages)
    kwargs: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    vendor = provider.vendor
    model = request.model
    extra: dict[str, Any] = {}
    reasoning_model = (vendor == "openai" and families.is_openai_reasoning(model)) or (
        vendor == "deepseek" and families.is_deepseek_reasoner(model)
    )
    if p.temperature is not None and not reasoning_model:
        kwargs["temperature"] = p.temperature
    if p.max_output_tokens is not None:
        key = "max_completion_tokens" if vendor == "openai" else "max_tokens"
        kwargs[key] = p.max_output_tokens
    if vendor == "openrouter":
        reasoning: dict[str, Any] = {}
        if p.reasoning_effort:
            reasoning["effort"] = p.reasoning_effort
        elif p.thinking_budget:
            reasoning["max_tokens"] = p.thinking_budget
        if reasoning:
            extra["reasoning"] = reasoning
    elif vendor == "openai":
        if p.reasoning_effort and families.is_openai_reasoning(model):
            kwargs["reasoning_effort"] = p.reasoning_effort
    elif (vendor in (None, "demo") or knob) and p.reasoning_effort:
        kwargs["reasoning_effort"] = p.reasoning_effort
    extra.update(sent.body)
    if extra:
        kwargs["extra_body"] = extra
    wanted = request.response_schema
    if wanted is not None and provider.structured_output:
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": wanted.name, "schema": schema_sent(wanted), "strict": False},
        }
    return kwargs


class OpenAIChatAdapter(SDKAdapter):
    resource = "chat"

    def whole_message(self, body: dict[str, Any], request: Request) -> list[StreamEvent]:
        return whole_message(body, request.model, request.params.think == PROMPTED)

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        try:
            kwargs = build_kwargs(self.provider, request)
        except KnobError as exc:  # refused before sending
            yield StreamError(ErrorKind.BAD_REQUEST, str(exc), started=False)
            return
        stream = await self.open(self.client.chat.completions.create(**kwargs), request)
        if isinstance(stream, list):
            for ev in stream:
                yield ev
            return
        async for ev in self.read(stream, _Reader(self.url, request.model, request.params.think == PROMPTED)):
            yield ev


class _Reader:
    """One Chat Completions stream, chunk by chunk (see :class:`~chatlab.providers.base.Reader`)."""

    def __init__(self, url: str, model: str = "", prompted: bool = False) -> None:
        self.url = url
        self.think = InlineThink(model, prompted=prompted)
        self.finish: str | None = None
        self.usage: UsageReport | None = None  # the last usage reported, as the provider sent it
        self.anything = False  # some text, reasoning or refusal was read
        self.odd: str | None = None  # the first content chatlab could not read

    def feed(self, item: sse.Event, out: list[StreamEvent]) -> bool:
        chunk = openai_event(item)
        if not isinstance(chunk, dict):
            return chunk == END  # nothing to read, or [DONE]
        usage = raw_usage(chunk)
        if usage is not None:
            for ev in usage_of(usage):
                if isinstance(ev, UsageReport):
                    self.usage = ev
                    ev = self.think.usage(ev, exact=False)  # some servers send usage in every chunk
                out.append(ev)
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict) or choice.get("index"):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._delta(delta, out)
            reason = choice.get("finish_reason")
            if reason:
                self.finish = reason if isinstance(reason, str) else json.dumps(reason)
        return False

    def _delta(self, delta: dict[str, Any], out: list[StreamEvent]) -> None:
        reasoning = reasoning_of(delta)
        if reasoning:
            out.append(ReasoningDelta(reasoning))
            self.anything = True
        pieces, odd = content_of(delta.get("content"), thinking=not reasoning)
        odd = odd or (None if reasoning else odd_reasoning(delta))
        for is_reasoning, text in pieces:
            out.extend([self.think.reasoned(text)] if is_reasoning else self.think.feed(text))
            self.anything = True
        self.odd = self.odd or odd
        refusal = delta.get("refusal")
        if refusal and isinstance(refusal, str):
            out.append(TextDelta(refusal, refusal=True))
            self.anything = True

    def _held(self, out: list[StreamEvent]) -> None:
        """The end of the stream: text the splitter held, and the usage again if reasoning
        was split after it came (counted with all of it)."""
        out.extend(self.think.flush())
        if self.usage is not None and not self.think.settled:
            out.append(self.think.usage(self.usage))

    def end(self, out: list[StreamEvent]) -> None:
        self._held(out)
        if self.odd is not None:
            out.append(unreadable(self.odd, self.anything))
            if not self.anything:
                return
        if self.finish is None:
            out.append(no_end_marker("no finish_reason"))
        else:
            out.append(Done(self.finish))

    def fail(self, exc: Exception, out: list[StreamEvent]) -> None:
        self._held(out)
        if self.odd is not None:
            out.append(unreadable(self.odd, True))  # a note: the failure is the final word
        out.append(map_exception(exc, self.url))
