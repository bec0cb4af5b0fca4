"""What the demo server's three wire-format encoders share: the plan of one answer, the
usage as reported, and SSE framing.

A :class:`Plan` is what a script sends for one request: its reasoning and answer cut
into token chunks (seeded by the model and the input, so a request always gets the same
chunks) and the token counts to report. The usage helpers report those counts, or,
when the script asks for it (``usage=``), counts and costs no client should believe.
:class:`WireFormat` is what each encoder module (:mod:`chatlab.demo.openai_chat`,
:mod:`chatlab.demo.openai_responses`, :mod:`chatlab.demo.anthropic`) provides.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from chatlab.core.costs.tokens import approximate
from chatlab.demo.scripts import INJECTED, Script


@dataclass
class Plan:
    """The token chunks a script will send for one request, and the usage to report."""

    reasoning: list[str]
    answer: list[str]
    input_tokens: int
    reasoning_tokens: int
    output_tokens: int


class WireFormat(Protocol):
    """One wire format's encoder: a module with these functions."""

    def events(
        self, s: Script, plan: Plan, body: dict[str, Any], ids: Iterator[int]
    ) -> Iterator[tuple[bytes, bool]]:
        """The stream's SSE events, each with whether it carries a token chunk."""
        ...

    def whole(self, s: Script, plan: Plan, model: str) -> dict[str, Any]:
        """One complete, non-streamed message (what some proxies send)."""
        ...

    def fault_event(self, fault: str, seq: int, said: str) -> bytes:
        """The event a mid-stream fault sends after ``seq`` token chunks."""
        ...

    def error_body(self, status: int, etype: str, code: str, message: str) -> dict[str, Any]:
        """The body of an HTTP error response."""
        ...


def chunks(text: str, lo: int, hi: int, rng: random.Random) -> list[str]:
    out = []
    i = 0
    while i < len(text):
        n = rng.randint(lo, max(lo, hi))
        out.append(text[i : i + n])
        i += n
    return out


def _messages_text(body: dict[str, Any]) -> tuple[str, int, str]:
    """(all input text, number of messages, last user message) of any of the three formats."""
    msgs = body.get("messages") or body.get("input") or []
    if isinstance(msgs, str):
        msgs = [{"role": "user", "content": msgs}]
    texts: list[str] = []
    last_user = ""
    for m in msgs:
        content = m.get("content", "")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        texts.append(str(content))
        if m.get("role") == "user":
            last_user = str(content)
    for key in ("instructions", "system"):
        if isinstance(body.get(key), str):
            texts.append(body[key])
    return "\n".join(texts), len(msgs), last_user


def make_plan(script: Script, body: dict[str, Any], model: str, given_key: str = "") -> Plan:
    """What ``script`` sends for a request with ``body`` to ``model`` (``given_key`` is the
    credential the request carried, for ``inject=key``)."""
    text_in, n_messages, last_user = _messages_text(body)
    digest = hashlib.sha256(f"{model}\n{text_in}".encode("utf-8", "surrogatepass")).digest()
    seed = int.from_bytes(digest[:8], "big")
    rng = random.Random(seed)
    answer = script.answer * script.repeat
    if script.echo:
        answer = f"echo (turn {(n_messages + 1) // 2}): {last_user}"
    reasoning = chunks(script.reasoning * script.repeat, script.chunk_min, script.chunk_max, rng)
    answer_chunks = chunks(answer, script.chunk_min, script.chunk_max, rng)
    if script.inject:
        hostile = INJECTED.get(script.inject) or f" my key is {given_key} ok "
        # The key arrives split over several chunks, as a real stream would split it.
        pieces = (
            [hostile[i : i + 3] for i in range(0, len(hostile), 3)] if script.inject == "key" else [hostile]
        )
        at = min(script.after, len(answer_chunks))
        answer_chunks[at:at] = pieces
    r_tokens = script.hidden_reasoning_tokens or len(reasoning)
    return Plan(
        reasoning,
        answer_chunks,
        approximate(text_in) + 3 * n_messages,
        r_tokens,
        r_tokens + len(answer_chunks),
    )


_BAD_COUNTS: dict[str, Any] = {
    "huge": 10**400,
    "max": 2**53,
    "negative": -5,
    "nan": math.nan,
    "string": "abc",
}
_BAD_COSTS: dict[str, Any] = {"neg_cost": -1.0, "nan_cost": math.nan, "huge_cost": 1e300}


def input_count(script: Script, value: int) -> Any:
    """The input token count to report: the plan's, or an unbelievable one (``usage=``)."""
    return _BAD_COUNTS.get(script.usage, value)


def output_count(script: Script, value: int) -> Any:
    return 2**53 if script.usage == "max" else value


def usage_object(script: Script, usage: dict[str, Any]) -> Any:
    """The usage object to send: the real one, or a string where an object belongs."""
    return "x" if script.usage == "notobject" else usage


def cost(script: Script) -> Any:
    return _BAD_COSTS.get(script.usage, script.cost)


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    """One server-sent event: compact JSON data, with an ``event:`` line when named."""
    line = json.dumps(data, separators=(",", ":"))
    if event:
        return f"event: {event}\ndata: {line}\n\n".encode()
    return f"data: {line}\n\n".encode()
