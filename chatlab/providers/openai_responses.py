"""Adapter for OpenAI's Responses API (``AsyncOpenAI.responses.create(stream=True)``).

Reasoning models are asked for reasoning summaries (``reasoning={"summary": "auto"}``
plus the lane's effort); ``response.reasoning_summary_text.delta`` and
``response.reasoning_text.delta`` become reasoning, ``response.output_text.delta`` the
answer and ``response.refusal.delta`` answer text flagged as a refusal. Usage (input,
cached input, output, reasoning) comes from the final response object. The end marker
is ``response.completed``; ``response.failed``, ``response.incomplete`` and ``error``
end the lane with an error while keeping what was streamed. Each part's ``.done`` event
is the provider's final word: a delta that went missing is added, and a final text that
disagrees with what was streamed replaces it (a :class:`Revision`, with a note). A server
that answers with one complete response object instead of a stream is read as the whole
answer. A ``think = "prompted"`` lane's ``<think>`` block in the answer is split into
reasoning and counted as estimated reasoning tokens (see
:class:`~chatlab.providers.think.InlineThink`). Requests are sent with ``store=False``:
chatlab keeps its own history. A response schema (a judge's call) is sent as
``text.format`` (``json_schema``, not strict) only to a provider whose API takes it
(``ProviderConfig.structured_output``).
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
    Revision,
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
from chatlab.providers.errors import kind_for_code, map_exception
from chatlab.providers.think import InlineThink

_DONE_KINDS = {
    "response.output_text.done": ("t", "content_index"),
    "response.reasoning_summary_text.done": ("s", "summary_index"),
    "response.reasoning_text.done": ("r", "content_index"),
}


def usage_of(raw: Any) -> list[StreamEvent]:
    if not is_record(raw):
        return [not_a_record("usage", raw)]
    given, reasoning = get(raw, "input_tokens"), get(get(raw, "output_tokens_details"), "reasoning_tokens")
    counts = {
        "input_tokens": given,
        "cached_input_tokens": get(get(raw, "input_tokens_details"), "cached_tokens"),
        # reasoning inside the output (OpenAI) or outside it (xAI): the total decides
        "output_tokens": output_tokens(given, get(raw, "output_tokens"), reasoning, get(raw, "total_tokens")),
        "reasoning_tokens": reasoning,
    }
    return usage_events(counts, get(raw, "cost"), get(raw, "cost_in_usd_ticks"))


def build_kwargs(provider: ProviderConfig, request: Request) -> dict[str, Any]:
    """The SDK's arguments for ``request``; the lane's reasoning knob is turned into the
    provider's own fields (:func:`chatlab.core.settings.reasoning.translate`, which raises
    :class:`~chatlab.core.settings.reasoning.KnobError` for a setting the model can't honour)."""
    sent = translate(provider, request.model, request.params)
    p = sent.params
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
    if sent.body:
        kwargs["extra_body"] = dict(sent.body)
    wanted = request.response_schema
    if wanted is not None and provider.structured_output:
        fmt = {"type": "json_schema", "name": wanted.name, "schema": schema_sent(wanted), "strict": False}
        kwargs["text"] = {"format": fmt}
    return kwargs


_TERMINAL = ("response.completed", "response.incomplete", "response.failed", "error")


def _terminal(
    kind: str, response: Any, event: Any = None, think: InlineThink | None = None
) -> list[StreamEvent]:
    """The billed usage (if any; a prompted ``<think>`` block counted in) and the final
    event for one of the ``_TERMINAL`` kinds."""
    if kind == "error":
        code = get(event, "code")
        message = get(event, "message") or code
        return [
            StreamError(
                kind_for_code(code, ErrorKind.SERVER),
                str(message) if message else "the provider reported an error",
            )
        ]
    out: list[StreamEvent] = []
    if get(response, "usage") is not None:
        usage = usage_of(get(response, "usage"))
        out.extend(think.usage(ev) if think and isinstance(ev, UsageReport) else ev for ev in usage)
    if kind == "response.completed":
        out.append(Done(text_of(get(response, "status")) or "completed"))
    elif kind == "response.incomplete":
        reason = get(get(response, "incomplete_details"), "reason") or "unknown"
        out.append(StreamError(ErrorKind.BAD_REQUEST, f"response incomplete: {reason}"))
    else:
        err = get(response, "error")
        message = get(err, "message") or "response failed"
        out.append(StreamError(kind_for_code(get(err, "code"), ErrorKind.SERVER), str(message)))
    return out


def whole_message(body: dict[str, Any], model: str = "", prompted: bool = False) -> list[StreamEvent]:
    """The events of a complete response object (a server that did not stream)."""
    error = body_error(body)
    if error is not None and body.get("object") != "response":
        return [error]
    out: list[StreamEvent] = []
    think = InlineThink(model, on=prompted, prompted=True)
    output = body.get("output")
    for item in output if isinstance(output, list) else ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "reasoning":
            for part in item.get("summary") or []:
                if isinstance(part, dict) and text_of(part.get("text")):
                    out.append(ReasoningDelta(part["text"]))
        elif item.get("type") == "message":
            for part in item.get("content") or []:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "output_text" and text_of(part.get("text")):
                    out.extend(think.feed(part["text"]))
                elif part.get("type") == "refusal" and text_of(part.get("refusal")):
                    out.append(TextDelta(part["refusal"], refusal=True))
    out.extend(think.flush())
    status = body.get("status")
    kind = {"incomplete": "response.incomplete", "failed": "response.failed"}.get(
        status if isinstance(status, str) else "", "response.completed"
    )
    return out + _terminal(kind, body, think=think)


class OpenAIResponsesAdapter(SDKAdapter):
    resource = "responses"

    def whole_message(self, body: dict[str, Any], request: Request) -> list[StreamEvent]:
        return whole_message(body, request.model, request.params.think == PROMPTED)

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        try:
            kwargs = build_kwargs(self.provider, request)
        except KnobError as exc:  # refused before sending
            yield StreamError(ErrorKind.BAD_REQUEST, str(exc), started=False)
            return
        stream = await self.open(self.client.responses.create(**kwargs), request)
        if isinstance(stream, list):
            for ev in stream:
                yield ev
            return
        async for ev in self.read(stream, _Reader(self.url, request.model, request.params.think == PROMPTED)):
            yield ev


class _Reader:
    """One Responses stream, event by event (see :class:`~chatlab.providers.base.Reader`)."""

    def __init__(self, url: str, model: str = "", prompted: bool = False) -> None:
        self.url = url
        self.parts = _Parts()
        self.think = InlineThink(model, on=prompted, prompted=True)  # the answer's <think> block
        self.ended = False

    def _answer(self, events: list[StreamEvent], out: list[StreamEvent]) -> None:
        """What :class:`_Parts` made of the answer's raw text, through the ``<think>`` splitter."""
        if not self.think.on:
            out.extend(events)
            return
        for ev in events:
            if isinstance(ev, TextDelta) and not ev.refusal:
                out.extend(self.think.feed(ev.text))
            elif isinstance(ev, Revision) and not ev.reasoning:
                # The final answer differs from the stream: split it afresh, and put its
                # block after the provider's own reasoning.
                thought, answer = self.think.restart(ev.text)
                out.append(Revision(answer))
                out.append(Revision("".join(self.parts.reasoning) + thought, reasoning=True))
            elif isinstance(ev, Revision):  # the provider's own reasoning, revised: the block stays
                out.append(Revision(ev.text + self.think.text, reasoning=True))
            else:
                out.append(ev)

    def feed(self, item: sse.Event, out: list[StreamEvent]) -> bool:
        event = openai_event(item)
        if not isinstance(event, dict):
            return event == END  # nothing to read, or [DONE]
        kind = event.get("type")
        if not isinstance(kind, str):
            return False  # not an event type at all: skipped, as an unknown one is
        parts = self.parts
        if kind == "response.output_text.delta":
            key = ("t", _id(event.get("item_id")), _id(event.get("content_index") or 0))
            self._answer([parts.add(key, text_of(event.get("delta")))], out)
        elif kind == "response.reasoning_summary_text.delta":
            out.append(
                parts.add(
                    ("s", _id(event.get("item_id")), _id(event.get("summary_index") or 0)),
                    text_of(event.get("delta")),
                )
            )
        elif kind == "response.reasoning_text.delta":
            out.append(
                parts.add(
                    ("r", _id(event.get("item_id")), _id(event.get("content_index") or 0)),
                    text_of(event.get("delta")),
                )
            )
        elif kind in _DONE_KINDS:
            tag, index_field = _DONE_KINDS[kind]
            key = (tag, _id(event.get("item_id")), _id(event.get(index_field) or 0))
            self._answer(parts.done(key, text_of(event.get("text"))), out)
        elif kind == "response.reasoning_summary_part.added" and event.get("summary_index"):
            out.append(parts.add(("s", _id(event.get("item_id")), -1), "\n\n"))
        elif kind == "response.refusal.delta":
            out.append(TextDelta(text_of(event.get("delta")), refusal=True))
        elif kind in _TERMINAL:
            out.extend(self.think.flush())
            out.extend(_terminal(kind, event.get("response"), event, self.think))
            self.ended = True
            return True
        return False

    def end(self, out: list[StreamEvent]) -> None:
        if not self.ended:
            out.extend(self.think.flush())  # a block never closed stays reasoning
            out.append(no_end_marker("response.completed"))

    def fail(self, exc: Exception, out: list[StreamEvent]) -> None:
        out.extend(self.think.flush())
        out.append(map_exception(exc, self.url))


Key = tuple[str, str | int | float | None, str | int | float | None]


def _id(value: Any) -> str | int | float | None:
    """A part's item id or index as a dict key (untrusted JSON may send a list)."""
    return value if value is None or isinstance(value, str | int | float) else json.dumps(value)


class _Parts:
    """What was streamed, per part, to reconcile with each part's ``.done`` event."""

    def __init__(self) -> None:
        self.text: list[str] = []  # the whole answer as streamed
        self.reasoning: list[str] = []
        self.chars = {"t": 0, "r": 0}
        self.spans: dict[Key, list[int]] = {}  # key -> [start, length]

    def add(self, key: Key, piece: str) -> StreamEvent:
        channel = "t" if key[0] == "t" else "r"
        span = self.spans.setdefault(key, [self.chars[channel], 0])
        span[1] += len(piece)
        self.chars[channel] += len(piece)
        (self.text if channel == "t" else self.reasoning).append(piece)
        return TextDelta(piece) if channel == "t" else ReasoningDelta(piece)

    def done(self, key: Key, full: str) -> list[StreamEvent]:
        channel = "t" if key[0] == "t" else "r"
        store = self.text if channel == "t" else self.reasoning
        start, length = self.spans.get(key, [self.chars[channel], 0])
        whole = "".join(store)
        streamed = whole[start : start + length]
        joined = safety.clean_text(streamed)  # JSON joins a surrogate pair the deltas split
        if not full or full in (streamed, joined):
            return []
        if full.startswith(joined) and start + length == len(whole):
            return [self.add(key, full[len(joined) :])]  # a delta went missing: add the rest
        # The final text disagrees with the stream: the provider's final word wins.
        revised = whole[:start] + full + whole[start + length :]
        store[:] = [revised]
        self.spans[key] = [start, len(full)]
        self.chars[channel] = len(revised)
        what = "answer" if channel == "t" else "reasoning"
        return [
            Revision(revised, reasoning=channel == "r"),
            Notice(
                f"The provider's final {what} differs from what it streamed "
                f"({length:,} characters streamed, {len(full):,} final); chatlab shows the final text."
            ),
        ]
