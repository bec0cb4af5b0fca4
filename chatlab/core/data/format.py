"""Human-readable figures shared by the CLI and the window, so both say the same thing.

Estimates carry ``≈``; an unknown price reads "no price", never $0; hidden reasoning
reads "N reasoning tokens, text not returned"; times in one column share one unit, and
a label with its id says each word once.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence

from chatlab.core.data.events import ErrorKind, Usage
from chatlab.core.data.model import LaneParams, Response, Status

_RETRY_REASONS = {
    ErrorKind.RATE_LIMIT: "rate limited",
    ErrorKind.OVERLOADED: "overloaded",
    ErrorKind.SERVER: "server error",
    ErrorKind.NETWORK: "connection failed",
    ErrorKind.TIMEOUT: "timed out",
}


def cost(value: float | None, estimated: bool = False) -> str:
    """Dollars to 2 significant digits below $1 ($0.0023), cents above ($1.25), and
    "< $0.0001" for anything smaller than a hundredth of a cent (but not nothing; its
    "<" already says it is not exact, so an estimate has no "≈" besides)."""
    if value is None:
        return "no price"
    mark = "≈" if estimated else ""
    if value == 0:
        return f"{mark}$0"
    if value < 0.0001:
        return "< $0.0001"
    rounded = float(f"{value:.2g}")
    if rounded >= 1:
        return f"{mark}${value:,.2f}"
    digits = max(2, -math.floor(math.log10(rounded)) + 1)
    return f"{mark}${rounded:.{digits}f}"


def tokens(usage: Usage) -> str:
    mark = "≈" if usage.estimated else ""
    text = f"in {mark}{usage.input_tokens:,} · out {mark}{usage.output_tokens:,}"
    if usage.reasoning_tokens:
        rmark = "≈" if usage.estimated or usage.reasoning_estimated else ""
        text += f" (reasoning {rmark}{usage.reasoning_tokens:,})"
    if usage.cached_input_tokens:
        text += f" · cached {usage.cached_input_tokens:,}"
    return text


def response_cost(resp: Response) -> tuple[float | None, bool]:
    """(cost, estimated): the recorded cost, or an estimate from the recorded price when a
    stream ended before a cost was known (e.g. recovered after a crash); None = no price."""
    if resp.cost_usd is not None:
        return resp.cost_usd, resp.usage.estimated
    if resp.price is not None and resp.status.finished:
        return resp.price.cost_of(resp.usage), True
    return None, resp.usage.estimated


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def duration(value: float) -> str:
    """A span of time as people say it: "40 s", "12 min", "1 h 5 min"."""
    if value < 60:
        return f"{max(1, round(value))} s"
    minutes = round(value / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def hidden_reasoning(resp: Response) -> str | None:
    if resp.hidden_reasoning:
        return f"{resp.usage.reasoning_tokens:,} reasoning tokens — text not returned"
    return None


def state(resp: Response, now: float | None = None) -> str:
    """queued / thinking / answering / done / error / stopped (the window's words), or
    "rate limited — retrying in 4 s (retry 1 of 2)" while a lane waits to send again."""
    if resp.status is Status.QUEUED:
        return "queued"
    retry = resp.retry
    if retry is not None and resp.status is Status.RUNNING:
        left = max(0.0, retry.until - (time.monotonic() if now is None else now))
        reason = _RETRY_REASONS.get(retry.error.kind, retry.error.kind.value)
        return f"{reason} — retrying in {math.ceil(left):.0f} s (retry {retry.n} of {retry.of})"
    if resp.status is Status.RUNNING:
        return "answering" if resp.text_chars else "thinking"
    return {
        Status.OK: "done",
        Status.ERROR: "error",
        Status.INTERRUPTED: "interrupted",
        Status.CANCELLED: "stopped",
    }[resp.status]


def params(p: LaneParams) -> list[str]:
    """A lane's parameters in a few words each ("effort high", "thinking 8,192"), in the
    order that matters most: the lane header's chips and the preset list both use them."""
    out = []
    if p.think:
        out.append(f"think {p.think}")
    if isinstance(p.reasoning, int):
        out.append(f"reasoning {p.reasoning:,}")
    elif p.reasoning:
        out.append(f"reasoning {p.reasoning}")
    if p.reasoning_effort:
        out.append(f"effort {p.reasoning_effort}")
    if p.thinking_budget is not None:
        out.append(f"thinking {p.thinking_budget:,}" if p.thinking_budget else "thinking off")
    if p.temperature is not None:
        out.append(f"temp {p.temperature:g}")
    if p.max_output_tokens is not None:
        out.append(f"max {p.max_output_tokens:,}")
    if p.system:
        out.append("system prompt")
    return out


def seconds_column(values: Sequence[float | None]) -> list[str]:
    """Times that stand in one column, in one unit: all in ms when every one is under a
    second, else all in s (two decimals while one is under a second, so 191 ms reads
    "0.19 s" beside "2.10 s"; one decimal otherwise); "–" where there is none."""
    known = [v for v in values if v is not None]
    if known and max(known) >= 1:
        digits = 2 if min(known) < 1 else 1
        return ["–" if v is None else f"{v:.{digits}f} s" for v in values]
    return ["–" if v is None else f"{v * 1000:.0f} ms" for v in values]


def label_and_id(label: str, ident: str) -> str:
    """A label with the id behind it (a lane's ``provider:model``, a contender's id),
    each word said once: the label alone when it holds the id, the id alone when the
    label is its model part, and a parenthesised ending both share (" (placebo)") only
    on the label: "Visible reasoner (placebo) · demo:demo-reasoner"."""
    if not label or label == ident or ident in label:
        return label or ident
    if ident.partition(":")[2] == label:
        return ident
    end = re.search(r" \([^()]*\)$", ident)
    if end is not None and label.endswith(end.group(0)):
        ident = ident[: end.start()]
    return f"{label} · {ident}"
