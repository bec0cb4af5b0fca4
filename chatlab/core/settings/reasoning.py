"""The one reasoning knob: a lane's ``reasoning`` (off, low, medium, high, or a token
budget), and what each provider's API is sent for it.

Every vendor turns reasoning on, off or up in its own way: OpenAI takes an effort,
Claude a thinking budget (or, from 4.6, an adaptive effort), Gemini 2.5 a budget and
Gemini 3 a level, the Qwen3 and DeepSeek hybrids a switch in ``extra_body``. The
OpenAI-compatible vendors and local servers (DeepSeek, Qwen on DashScope, vLLM and
SGLang, llama.cpp, Groq, xAI, Mistral, Together, Moonshot, and the open-weight models
behind ``reasoning_effort`` on Ollama, LM Studio, Fireworks and Cerebras) have their
dialects in :mod:`chatlab.core.settings.compatible`; the shared types are in
:mod:`chatlab.core.settings.knob`. A provider's *dialect* (:attr:`ProviderConfig.reasoning`,
set by its preset, else read from its wire format and vendor) names which. For a model,
:func:`support` says which settings it honours; :func:`problem` says why a lane's setting can't be honoured
(the lane editor and the CLI refuse it before sending: a provider's 400 is not the
explanation); :func:`translate` gives what to send: the lane's parameters with the knob
turned into the provider's own (``reasoning_effort``, ``thinking_budget``, which the
adapters already send correctly) plus fields for the request body (``extra_body`` of an
OpenAI-compatible request, Gemini's ``thinking_config``).

A lane without ``reasoning`` is sent as before (its ``reasoning_effort`` and
``thinking_budget``, if any). Nothing here imports an SDK or Qt.
"""

from __future__ import annotations

import re
from dataclasses import replace

from chatlab.core.data.constants import REASONING_DIALECTS, REASONING_LEVELS
from chatlab.core.data.model import LaneParams
from chatlab.core.settings import families
from chatlab.core.settings.compatible import COMPATIBLE
from chatlab.core.settings.config import ProviderConfig
from chatlab.core.settings.knob import OFF, ON_LEVELS, Dialect, KnobError, Sent, Support, always, plain
from chatlab.core.settings.knob import levels as _levels

__all__ = ["OFF", "ON_LEVELS", "Dialect", "KnobError", "Sent", "Support"]


def _openai_support(model: str) -> Support:
    m = families.bare(model)
    if not families.is_openai_reasoning(model):
        return Support(_levels(OFF), None, f"{m} doesn't reason")
    if m.startswith("gpt-5") and "pro" in m:
        return Support(_levels("high"), None, f"{m} reasons at high effort only")
    version = re.match(r"gpt-5\.(\d+)", m)
    if version and int(version.group(1)) >= 1:
        return Support(
            REASONING_LEVELS, None, "sent as the reasoning effort (off: none); OpenAI takes no token budget"
        )
    return Support(
        ON_LEVELS, None, f"sent as the reasoning effort; {m} always reasons, and OpenAI takes no token budget"
    )


def _openai_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if value == OFF and not families.is_openai_reasoning(model):
        return Sent(params)  # a plain model: nothing to turn off
    return Sent(replace(params, reasoning_effort="none" if value == OFF else str(value)))


# Claude: a level as a thinking budget (models that take one) or an adaptive effort.
CLAUDE_BUDGETS = {"low": 2048, "medium": 8192, "high": 16384}


def claude_most_output(model: str) -> int:
    """The most output tokens a Claude model takes (the thinking budget must stay below
    it): 32,000 for Opus 4 and 4.1, 64,000 for the rest that think."""
    return 32_000 if "opus" in model and families.claude_version(model) in ((4, 0), (4, 1)) else 64_000


def _anthropic_support(model: str) -> Support:
    version = families.claude_version(model)
    if (0, 0) < version < (3, 7):
        return Support(_levels(OFF), None, f"{model} has no extended thinking")
    if families.claude_thinking_form(model) == "adaptive":
        return Support(
            REASONING_LEVELS,
            None,
            "adaptive thinking at an effort; Claude 4.6 and later take no token budget",
        )
    return Support(
        REASONING_LEVELS,
        (families.MIN_THINKING_BUDGET, claude_most_output(model) - 1),
        f"a thinking budget (low {CLAUDE_BUDGETS['low']:,}, medium {CLAUDE_BUDGETS['medium']:,}, "
        f"high {CLAUDE_BUDGETS['high']:,})",
    )


def _anthropic_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if value == OFF:
        return Sent(replace(params, thinking_budget=0))
    if families.claude_thinking_form(model) == "adaptive":
        return Sent(replace(params, reasoning_effort=str(value)))
    budget = value if isinstance(value, int) else CLAUDE_BUDGETS[value]
    return Sent(replace(params, thinking_budget=budget))


# Gemini: 2.5 takes a thinking budget (0 turns it off where allowed), 3.x a level.
GEMINI_BUDGETS = {"low": 1024, "medium": 8192, "high": 24576}  # high: the most the model takes
_GEMINI_25 = (  # prefix -> (least budget, most budget, can be off)
    ("gemini-2.5-pro", 128, 32768, False),
    ("gemini-2.5-flash-lite", 512, 24576, True),
    ("gemini-2.5-flash", 1, 24576, True),
)


def _gemini_version(model: str) -> tuple[int, int]:
    found = re.search(r"gemini-(\d+)(?:\.(\d+))?", model)
    return (int(found.group(1)), int(found.group(2) or 0)) if found else (0, 0)


def _gemini_support(model: str) -> Support:
    m = families.bare(model)
    version = _gemini_version(m)
    if version >= (3, 0):
        levels = _levels("low", "medium", "high") if "flash" in m else _levels("low", "high")
        return Support(
            levels,
            None,
            "sent as thinking_level; Gemini 3 can't turn thinking off and takes a level, not a budget",
        )
    for prefix, least, most, can_off in _GEMINI_25:
        if m.startswith(prefix):
            levels = REASONING_LEVELS if can_off else ON_LEVELS
            why = "" if can_off else f"; {prefix} can't turn thinking off"
            return Support(levels, (least, most), f"sent as thinking_budget{why}")
    if version == (0, 0):  # not a Gemini name (a tuned model, an alias): pass it on
        return Support(REASONING_LEVELS, (1, 32768), "sent as thinking_budget")
    return Support(_levels(OFF), None, f"{m} doesn't think")


def _gemini_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if value == OFF and not _gemini_support(model).reasons:
        return Sent(params)
    if _gemini_version(families.bare(model)) >= (3, 0):
        return Sent(params, {"thinking_config": {"thinking_level": str(value)}})
    least_most = _gemini_support(model).budget
    if value == "high" and least_most:
        budget = least_most[1]  # the most it takes: 2.5 Pro 32,768, Flash 24,576
    else:
        budget = 0 if value == OFF else value if isinstance(value, int) else GEMINI_BUDGETS[str(value)]
    return Sent(params, {"thinking_config": {"thinking_budget": budget}})


def _openrouter_support(model: str) -> Support:
    return Support(
        REASONING_LEVELS, (1, 128_000), "sent as OpenRouter's reasoning (effort, max_tokens, enabled)"
    )


def _openrouter_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if value == OFF:
        return Sent(params, {"reasoning": {"enabled": False}})
    if isinstance(value, int):
        return Sent(params, {"reasoning": {"max_tokens": value}})
    return Sent(params, {"reasoning": {"effort": value}})


def _effort_support(model: str) -> Support:
    return Support(REASONING_LEVELS, None, "sent as reasoning_effort (off: none)")


def _effort_send(model: str, params: LaneParams, value: str | int) -> Sent:
    return Sent(replace(params, reasoning_effort="none" if value == OFF else str(value)))


# The demo's models: the hybrid takes every level; the reasoners always reason; the plain
# ones don't; a model a test scripted takes what the effort dialect takes.
_DEMO_ALWAYS = ("demo-reasoner", "demo-hidden")
_DEMO_PLAIN = ("demo-fast", "demo-coder")


def _demo_support(model: str) -> Support:
    base = model.partition("@")[0]
    if base in _DEMO_ALWAYS:
        return always(base)
    if base in _DEMO_PLAIN:
        return plain(base)
    return _effort_support(model)


def _demo_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if model.partition("@")[0] in _DEMO_ALWAYS + _DEMO_PLAIN:
        return Sent(params)  # high on a reasoner, off on a plain model: nothing to send
    return _effort_send(model, params, value)


DIALECTS: dict[str, Dialect] = {
    "openai": Dialect("openai", _openai_support, _openai_send, "reasoning_effort"),
    "anthropic": Dialect("anthropic", _anthropic_support, _anthropic_send, "thinking on/off and budget"),
    "gemini": Dialect("gemini", _gemini_support, _gemini_send, "thinking_budget (2.5) or thinking_level (3)"),
    "openrouter": Dialect(
        "openrouter", _openrouter_support, _openrouter_send, "reasoning effort or max_tokens"
    ),
    # The demo's hybrid, and any OpenAI-compatible server that takes reasoning_effort.
    "effort": Dialect("effort", _effort_support, _effort_send, "reasoning_effort"),
    **COMPATIBLE,  # the OpenAI-compatible vendors and local servers
    "demo": Dialect("demo", _demo_support, _demo_send, "reasoning_effort (demo-hybrid)"),
}

assert tuple(DIALECTS) == REASONING_DIALECTS, "constants.REASONING_DIALECTS names each dialect, in order"


def dialect(provider: ProviderConfig) -> Dialect:
    """The provider's dialect: its own (set by its preset or config), else by vendor and
    wire format; an unknown OpenAI-compatible server is sent ``reasoning_effort``."""
    name = provider.reasoning
    if name is None:
        if provider.kind == "gemini" or provider.vendor == "google":
            name = "gemini"
        elif provider.kind == "anthropic" or provider.vendor == "anthropic":
            name = "anthropic"
        elif provider.vendor in ("openai", "openrouter") or provider.vendor in COMPATIBLE:
            name = str(provider.vendor)
        else:
            name = "effort"
    return DIALECTS[name]


def support(provider: ProviderConfig, model: str) -> Support:
    return dialect(provider).support(model)


def show(value: str | int) -> str:
    return f"a budget of {value:,} tokens" if isinstance(value, int) else f"reasoning {value}"


def takes(s: Support) -> str:
    """What a model takes, in words: "low, medium, high or a budget of 128–32,768 tokens"."""
    words = list(s.levels)
    if s.budget is not None:
        words.append(f"a budget of {s.budget[0]:,}–{s.budget[1]:,} tokens")
    if not words:
        return "no setting"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _older(params: LaneParams) -> str | int | None:
    """The knob's value the older settings amount to, where the knob's rules apply to
    them: an effort of none or a budget of 0 is off; a thinking budget is a budget.
    Other efforts (minimal, xhigh, max) are the provider's own words, passed on."""
    if params.reasoning_effort == "none" or params.thinking_budget == 0:
        return OFF
    return params.thinking_budget


def problem(provider: ProviderConfig, model: str, params: LaneParams) -> str | None:
    """Why ``model`` on ``provider`` can't honour the lane's ``reasoning`` (or the older
    effort of none, or thinking budget, which the same rules hold), or None."""
    value = params.reasoning if params.reasoning is not None else _older(params)
    if value is None:
        return None
    s = support(provider, model)
    if isinstance(value, int):
        if s.budget is None:
            why = "" if "no token budget" in s.note else f" ({s.note})"  # said once
            return f"{model} takes no token budget: it takes {takes(s)}{why}"
        least, most = s.budget
        if not least <= value <= most:
            return f"{model} takes a thinking budget from {least:,} to {most:,} tokens, not {value:,}"
    elif value not in s.levels:
        said = show(value)
        if params.reasoning is None:  # the older settings' words for off
            said = "reasoning effort none" if params.reasoning_effort == "none" else "a thinking budget of 0"
            said += " (reasoning off)"
        return f"{model} can't be set to {said}: it takes {takes(s)} ({s.note})"
    return _room(provider, model, params, value)


def _room(provider: ProviderConfig, model: str, params: LaneParams, value: str | int) -> str | None:
    """Claude's thinking budget must be below the lane's max output tokens (the budget
    a level sends, too): said here, before anything is sent."""
    cap = params.max_output_tokens
    if cap is None or dialect(provider).name != "anthropic" or value == OFF:
        return None
    if families.claude_thinking_form(model) == "adaptive":
        return None
    budget = value if isinstance(value, int) else CLAUDE_BUDGETS.get(value)
    if budget is not None and cap <= max(budget, families.MIN_THINKING_BUDGET):
        sent = f"the {budget:,}-token thinking budget" + (
            "" if isinstance(value, int) else f" {show(value)} sends"
        )
        return f"max output tokens ({cap:,}) must be larger than {sent}"
    return None


def translate(provider: ProviderConfig, model: str, params: LaneParams) -> Sent:
    """What to send for the lane's knob; raises :class:`KnobError` when it can't be
    honoured. A lane without the knob is sent as it is."""
    value = params.reasoning
    if value is None:
        return Sent(params)
    why = problem(provider, model, params)
    if why:
        raise KnobError(why)
    return dialect(provider).send(model, replace(params, reasoning=None), value)
