"""Which request parameters each model family accepts, so that none is sent that it rejects.

These rules decide, per lane, whether temperature, a reasoning effort or a thinking
budget is sent, under which field, and in which form Claude's thinking is enabled
(a token budget, or adaptive). They are deliberately conservative: a parameter the
family is known to reject or ignore is dropped; for an unknown vendor an explicitly
set parameter is passed through, and a provider's 400 then shows as a lane error.
"""

from __future__ import annotations

import re

# Effort -> thinking budget for Claude models that take a token budget.
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32000, "max": 64000}
MIN_THINKING_BUDGET = 1024


def bare(model: str) -> str:
    """``openai/o3`` -> ``o3``: strip a gateway's vendor prefix."""
    return model.rsplit("/", 1)[-1]


def is_openai_reasoning(model: str) -> bool:
    """o-series and GPT-5 reasoning models: no temperature, reasoning effort accepted."""
    m = bare(model)
    if re.match(r"^o\d", m):
        return True
    return m.startswith("gpt-5") and "chat" not in m


def is_deepseek_reasoner(model: str) -> bool:
    return "deepseek-reasoner" in model or "deepseek-r1" in model.lower()


_CLAUDE = re.compile(r"claude-(?:(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d)(?!\d))?|(\d)-(\d)?-?(\w+))")


def claude_version(model: str) -> tuple[int, int]:
    """(major, minor) of a Claude model id; (0, 0) when unknown."""
    m = _CLAUDE.search(model)
    if not m:
        return (0, 0)
    if m.group(1):
        return (int(m.group(2)), int(m.group(3) or 0))
    return (int(m.group(4)), int(m.group(5) or 0))


def claude_thinking_form(model: str) -> str:
    """``adaptive`` for Claude 4.6 and later (and the preview families), else ``budget``."""
    if "mythos" in model or "fable" in model:
        return "adaptive"
    return "adaptive" if claude_version(model) >= (4, 6) else "budget"


def claude_accepts_temperature(model: str) -> bool:
    """Claude 4.5 and earlier take temperature (sent only with thinking off)."""
    version = claude_version(model)
    return (0, 0) < version <= (4, 5)
