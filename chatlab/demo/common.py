"""What the demo server's wire-format encoders share: what a request asks of a demo
model (:func:`asked`: the reasoning effort and whether its system prompt says
``<think>``, wherever its wire format carries them), the plan of one answer, the usage
as reported, and SSE framing.

A :class:`Plan` is what a script sends for one request: its reasoning and answer cut
into token chunks (seeded by the model and the input, so a request always gets the same
chunks) and the token counts to report. The usage helpers report those counts, or,
when the script asks for it (``usage=``), counts and costs no client should believe.
:class:`WireFormat` is what each encoder module (:mod:`chatlab.demo.openai_chat`,
:mod:`chatlab.demo.openai_responses`, :mod:`chatlab.demo.anthropic`,
:mod:`chatlab.demo.gemini`) provides.
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
from chatlab.demo.scripts import EFFORTS, INJECTED, Asked, Script


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
    """(all input text, number of messages, last user message) of any of the formats
    (Gemini's ``contents`` hold ``parts``, its system prompt is ``systemInstruction``)."""
    msgs = body.get("messages") or body.get("input") or body.get("contents") or []
    if isinstance(msgs, str):
        msgs = [{"role": "user", "content": msgs}]
    msgs = [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []
    texts: list[str] = []
    last_user = ""
    for m in msgs:
        content = m.get("content", m.get("parts", ""))
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        texts.append(str(content))
        if m.get("role") == "user":
            last_user = str(content)
    for key in ("instructions", "system"):
        if isinstance(body.get(key), str):
            texts.append(body[key])
    system = proto_field(body, "systemInstruction", "system_instruction")
    if isinstance(system, dict):
        texts.append(_text_of(system.get("parts")))
    return "\n".join(texts), len(msgs), last_user


def _text_of(content: Any) -> str:
    """A message's text: a string, or the text of its parts (blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _effort_for_budget(budget: Any) -> str:
    """A thinking budget (tokens) as an effort: small, medium or large."""
    if isinstance(budget, bool) or not isinstance(budget, int | float):
        return "medium"
    return "low" if budget < 4096 else "medium" if budget < 12288 else "high"


def _effort(value: Any) -> str | None:
    """An effort as the demo models know it: none, low, medium or high (None: unknown)."""
    if not isinstance(value, str):
        return None
    value = {"minimal": "low", "xhigh": "high", "max": "high"}.get(value, value)
    return value if value == "none" or value in EFFORTS else None


def proto_field(obj: Any, camel: str, snake: str) -> Any:
    """A field of a Google request, named either way (its JSON takes ``thinkingConfig``
    and ``thinking_config`` alike, and the SDK sends nested types' fields in snake case)."""
    if not isinstance(obj, dict):
        return None
    return obj.get(camel, obj.get(snake))


def gemini_thinking(body: dict[str, Any]) -> dict[str, Any]:
    """A Gemini request's ``generationConfig.thinkingConfig`` ({} when absent)."""
    config = proto_field(body, "generationConfig", "generation_config")
    think = proto_field(config, "thinkingConfig", "thinking_config")
    return think if isinstance(think, dict) else {}


def _gemini_effort(body: dict[str, Any]) -> str | None:
    """Gemini's ``generationConfig.thinkingConfig``: a ``thinkingLevel``, or a
    ``thinkingBudget`` as low, medium or high (0: none; -1, dynamic: medium)."""
    think = gemini_thinking(body)
    level = proto_field(think, "thinkingLevel", "thinking_level")
    if isinstance(level, str):
        return _effort(level.lower())
    budget = proto_field(think, "thinkingBudget", "thinking_budget")
    if budget == 0:
        return "none"
    if budget == -1:
        return "medium"
    return _effort_for_budget(budget) if budget is not None else None


def asked(fmt: str, body: dict[str, Any]) -> Asked:
    """What a request of wire format ``fmt`` (chat, responses, anthropic, gemini) asks of a
    demo model: the effort (chat ``reasoning_effort`` or OpenRouter's ``reasoning``;
    Responses ``reasoning.effort``, medium when only ``reasoning`` is given; Anthropic
    ``thinking``: a budget as low, medium or high, ``adaptive`` at
    ``output_config.effort``, high by default; Gemini's ``thinkingConfig``), whether a
    system prompt (chat system or developer messages, Responses ``instructions`` or
    system input, Anthropic ``system``, Gemini ``systemInstruction``) contains
    ``<think>``, and the last user message."""
    effort: str | None = None
    reasoning = body.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, dict) else None
    if fmt == "chat":
        effort = _effort(body.get("reasoning_effort"))
        if effort is None and reasoning is not None:
            effort = _effort(reasoning.get("effort"))
            if effort is None and "max_tokens" in reasoning:
                effort = _effort_for_budget(reasoning["max_tokens"])
    elif fmt == "responses":
        if reasoning is not None:
            effort = _effort(reasoning.get("effort")) or "medium"
    elif fmt == "gemini":
        effort = _gemini_effort(body)
    else:
        thinking = body.get("thinking")
        thinking = thinking if isinstance(thinking, dict) else {}
        kind = thinking.get("type")
        if kind == "enabled":
            effort = _effort_for_budget(thinking.get("budget_tokens"))
        elif kind == "adaptive":
            config = body.get("output_config")
            effort = (_effort(config.get("effort")) if isinstance(config, dict) else None) or "high"
    systems: list[str] = []
    for key in ("system", "instructions"):
        if fmt != "chat" and key in body:
            systems.append(_text_of(body[key]))
    system = proto_field(body, "systemInstruction", "system_instruction") if fmt == "gemini" else None
    if isinstance(system, dict):
        systems.append(_text_of(system.get("parts")))
    messages = body.get("messages") if fmt not in ("responses", "gemini") else body.get("input")
    for m in messages if isinstance(messages, list) else []:
        if isinstance(m, dict) and m.get("role") in ("system", "developer"):
            systems.append(_text_of(m.get("content")))
    _, _, last_user = _messages_text(body)
    return Asked(effort or "none", any("<think>" in s for s in systems), last_user)


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
    if reasoning and script.reasoning_tokens > r_tokens:  # the trace is a summary of more
        r_tokens = script.reasoning_tokens
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
