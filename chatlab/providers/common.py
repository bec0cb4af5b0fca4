"""Helpers every adapter shares: reading SDK objects or dicts, usage that can't crash a
lane, and answers that arrive as something other than an event stream.

Provider data is untrusted, so usage is read leniently: a count that is not a whole
number from 0 to 2**53 (a string, a float NaN, ``10**400``, a negative) makes the whole
report be dropped with a :class:`Notice`, so the lane keeps its estimate, marked ≈, and
says why. A cost that is not finite and non-negative is dropped the same way, whether it
came in USD (``usage.cost``), in xAI's ticks (``cost_in_usd_ticks``, 1e-10 USD) or in a
LiteLLM proxy's ``x-litellm-response-cost`` header (:func:`header_cost`). When a
server answers a streaming request with one complete JSON message (some proxies do),
:func:`sniff` hands the adapter that message to convert; an HTML page or another
non-stream body becomes a clear error that says what arrived. A judge's response schema
is sent without ``$schema`` (:func:`schema_sent`).
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from chatlab.core.data import safety
from chatlab.core.data.events import (
    ErrorKind,
    Notice,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)

if TYPE_CHECKING:
    from chatlab.core.data.model import ResponseSchema
    from chatlab.providers import sse


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` for a dict, ``obj.key`` for an SDK object, None when absent."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def is_record(value: Any) -> bool:
    """True for a JSON object or an SDK object with fields; False for a string, a number,
    a list: a ``usage`` that is not a record holds no counts to believe."""
    return value is not None and not isinstance(value, str | bytes | int | float | bool | list | tuple)


def not_a_record(name: str, value: Any) -> Notice:
    return Notice(safety.usage_note(f"{name} was {safety.show(value)}, not an object"))


def counts(raw: dict[str, Any]) -> dict[str, int] | Notice:
    """Raw token counts as ints (a missing one is 0), or a :class:`Notice` naming the first
    one that can't be believed."""
    clean: dict[str, int] = {}
    for name, value in raw.items():
        problem = None if value is None else safety.count_problem(value)
        if problem:
            return Notice(safety.usage_note(f"{name}: {problem}"))
        clean[name] = 0 if value is None else int(value)
    return clean


TICKS_PER_USD = 10**10  # xAI's ``cost_in_usd_ticks``: 1 tick is 1e-10 USD
_MAX_TICKS = 10**30  # past this a tick count is junk (and would overflow a float)
COST_HEADER = "x-litellm-response-cost"  # LiteLLM proxy: the response's cost in USD
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?")


def ticks_usd(ticks: Any) -> float | str:
    """A cost in xAI's ticks as USD, or why it can't be believed."""
    if isinstance(ticks, bool) or not isinstance(ticks, int | float):
        return f"{safety.show(ticks)} is not a number"
    if isinstance(ticks, float) and not math.isfinite(ticks):
        return f"{safety.show(ticks)} is not finite"
    if abs(ticks) > _MAX_TICKS:
        return f"{safety.show(ticks)} is out of range"
    usd = ticks / TICKS_PER_USD
    return safety.cost_problem(usd) or usd


def header_cost(headers: Any) -> float | Notice | None:
    """The cost a proxy put in the response's headers (:data:`COST_HEADER`, a decimal
    string in USD), a :class:`Notice` when it can't be believed, or None when absent."""
    try:
        value = headers.get(COST_HEADER) if headers is not None else None
    except Exception:
        return None
    if value is None:
        return None
    text = str(value).strip()
    problem = None if _DECIMAL.fullmatch(text) else f"{safety.show(text)} is not a number"
    if problem is None:
        cost = float(text)
        problem = safety.cost_problem(cost)
    if problem:
        return Notice(safety.cost_note(f"{COST_HEADER}: {problem}"))
    return cost


def with_cost(events: list[StreamEvent], cost: float | None) -> list[StreamEvent]:
    """``events`` with ``cost`` given to each usage report that carries none of its own
    (a cost in the body wins over one in a header)."""
    if cost is None:
        return events
    return [
        UsageReport(ev.usage, cost) if isinstance(ev, UsageReport) and ev.cost_usd is None else ev
        for ev in events
    ]


def usage_events(raw: dict[str, Any], cost: Any = None, ticks: Any = None) -> list[StreamEvent]:
    """A :class:`UsageReport` from raw counts (missing ones are 0) and an optional cost
    (in USD, or in xAI's ticks), or a :class:`Notice` saying which value could not be
    believed. Each cost that can't be believed is dropped with a :class:`Notice`; the
    first that can (``cost``, then ``ticks``) is the report's."""
    clean = counts(raw)
    if isinstance(clean, Notice):
        return [clean]
    out: list[StreamEvent] = []
    cost_usd: float | None = None
    if cost is not None:
        problem = safety.cost_problem(cost)
        if problem:
            out.append(Notice(safety.cost_note(f"cost: {problem}")))
        else:
            cost_usd = float(cost)
    if ticks is not None and cost_usd is None:
        usd = ticks_usd(ticks)
        if isinstance(usd, str):
            out.append(Notice(safety.cost_note(f"cost_in_usd_ticks: {usd}")))
        else:
            cost_usd = usd
    usage = Usage(
        input_tokens=clean.get("input_tokens", 0),
        cached_input_tokens=clean.get("cached_input_tokens", 0),
        output_tokens=clean.get("output_tokens", 0),
        reasoning_tokens=clean.get("reasoning_tokens", 0),
        cache_write_input_tokens=clean.get("cache_write_input_tokens", 0),
    )
    out.append(UsageReport(usage, cost_usd))
    return out


def output_tokens(prompt: Any, completion: Any, reasoning: Any, total: Any) -> Any:
    """The output count, reasoning included. OpenAI counts reasoning inside
    ``completion_tokens`` (total = prompt + completion); xAI's Grok counts it outside
    (total = prompt + completion + reasoning). The arithmetic decides, never the vendor's
    name: only when the three add up to the total, with reasoning > 0, is reasoning
    added; otherwise ``completion`` is passed on as it came (and checked later)."""
    values = (prompt, completion, reasoning, total)
    if not all(v is not None and safety.count_problem(v) is None for v in values):
        return completion
    p, c, r, t = (int(v) for v in values)  # whole numbers, ints or floats like 20.0 (as counts() reads them)
    if r > 0 and p + c + r == t:
        return c + r
    return completion


async def sniff(stream: Any) -> dict[str, Any] | StreamError | None:
    """Look at what the server answered a streaming request with.

    None: an event stream (or something to try as one). A dict: one complete JSON
    message, to be converted by the adapter. A :class:`StreamError`: HTML, or JSON that
    can't be read, described by what arrived.
    """
    response = get(stream, "response")
    headers = get(response, "headers")
    if headers is None:
        return None
    ctype = str(headers.get("content-type") or "").split(";")[0].strip().lower()
    if not ctype or "event-stream" in ctype:
        return None
    if ctype.endswith("json"):
        raw = await response.aread()
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return StreamError(
                ErrorKind.PROTOCOL, f"the server answered with {ctype} that is not JSON ({exc})"
            )
        except RecursionError:
            return StreamError(ErrorKind.PROTOCOL, f"the server answered with {ctype} nested too deeply")
        if not isinstance(body, dict):
            return StreamError(
                ErrorKind.PROTOCOL, f"the server answered with {ctype}, not an event stream or a message"
            )
        return body
    if ctype.startswith("text/html") or ctype == "text/plain":
        return StreamError(ErrorKind.PROTOCOL, f"the server answered with {ctype}, not an event stream")
    return None


def body_error(body: dict[str, Any]) -> StreamError | None:
    """The error a JSON body reports (``{"error": {...}}`` or ``{"type": "error", ...}``)."""
    from chatlab.providers.errors import kind_for_code

    err = body.get("error")
    if not isinstance(err, dict) and body.get("type") != "error":
        return None
    if not isinstance(err, dict):
        err = {}
    kind = kind_for_code(err.get("code"), kind_for_code(err.get("type"), ErrorKind.SERVER))
    message = err.get("message")
    if not isinstance(message, str) or not message:
        message = "the provider reported an error"
    return StreamError(kind, message)


END = "[DONE]"


def openai_event(item: sse.Event) -> dict[str, Any] | str | None:
    """One event of an OpenAI stream (Chat Completions or Responses), read as the OpenAI
    SDK reads it: None when it holds no data (an ``id`` or ``retry`` alone), :data:`END`
    for ``[DONE]``, else its JSON object. Data that is not an object, or that carries an
    ``error``, raises :class:`~chatlab.providers.errors.StreamFailure`."""
    from chatlab.providers.errors import StreamFailure, not_an_object, stream_error

    if not item.lines and item.error is None:
        return None
    if item.data[:6] == b"[DONE]":
        return END
    event = item.json()
    if not isinstance(event, dict):
        raise StreamFailure(not_an_object(event))
    if event.get("error"):
        raise StreamFailure(stream_error(event["error"]))
    return event


def no_end_marker(marker: str) -> StreamError:
    """The body ended before the format's end marker: interrupted, the text so far kept."""
    return StreamError(ErrorKind.NETWORK, f"the stream ended before the provider's end marker ({marker})")


def text_of(value: Any) -> str:
    """A text field from untrusted JSON: a string, or nothing."""
    return value if isinstance(value, str) else ""


Piece = TextDelta | ReasoningDelta


def coalesce(events: list[StreamEvent]) -> list[StreamEvent]:
    """Adjacent pieces of answer (or of reasoning) joined into one event: a network read
    that brought ten tokens passes through the core and the window as one piece."""
    if len(events) < 2:
        return events
    out: list[StreamEvent] = []
    run: list[Piece] = []  # consecutive pieces of one kind

    def close() -> None:
        if len(run) == 1:
            out.append(run[0])
        elif run:
            text = "".join(p.text for p in run)
            first = run[0]
            out.append(
                TextDelta(text, first.refusal) if isinstance(first, TextDelta) else ReasoningDelta(text)
            )

    for ev in events:
        if run and _same(run[-1], ev):
            run.append(ev)  # type: ignore[arg-type]  # _same() checked its type
            continue
        close()
        run = []
        if isinstance(ev, TextDelta | ReasoningDelta):
            run.append(ev)
        else:
            out.append(ev)
    close()
    return out


def _same(a: Piece, b: StreamEvent) -> bool:
    if isinstance(a, TextDelta):
        return isinstance(b, TextDelta) and a.refusal == b.refusal
    return isinstance(b, ReasoningDelta)


def schema_sent(wanted: ResponseSchema) -> dict[str, Any]:
    """A response schema as sent: without ``$schema`` (a keyword some APIs refuse)."""
    return {k: v for k, v in wanted.schema.items() if k != "$schema"}
