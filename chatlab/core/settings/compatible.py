"""The reasoning knob on the OpenAI-compatible vendors and local servers: for each, which
settings a model honours and the request-body fields sent for them (``extra_body``).

Read from each vendor's documentation, and kept conservative: a model known not to
honour a setting refuses it with a sentence saying why; a model the rules don't know
passes a level through in the vendor's own parameter (the provider's 400, if any, then
shows as a lane error). A model that turns reasoning on or off but has no depth takes
off and high (on) and refuses low and medium. A model that always reasons and takes no
setting takes high (on) and is sent nothing more. See :mod:`chatlab.core.settings.knob`
for the open-weight families' rules, which every dialect here applies first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from chatlab.core.data.constants import REASONING_LEVELS
from chatlab.core.data.model import LaneParams
from chatlab.core.settings.knob import (
    OFF,
    Dialect,
    Sent,
    Support,
    always,
    family,
    family_send,
    levels,
    name,
    on_off,
    plain,
)

Send = Callable[[str, LaneParams, str | int], Sent]


def _with_family(own: Callable[[str], Support]) -> Callable[[str], Support]:
    def support(model: str) -> Support:
        return family(model) or own(model)

    return support


def _sending_family(own: Send) -> Send:
    def send(model: str, params: LaneParams, value: str | int) -> Sent:
        return family_send(model, params, value) or own(model, params, value)

    return send


def _effort(value: str | int) -> str:
    return "none" if value == OFF else str(value)


def _low_high(model: str) -> Support:
    return Support(
        levels("low", "high"), None, f"sent as reasoning_effort; {name(model)} always reasons, at low or high"
    )


def _passes(model: str, how: str) -> Support:
    return Support(REASONING_LEVELS, None, f"{how} ({name(model)} is not one chatlab knows: passed on)")


# --- open-weight models behind reasoning_effort (Ollama, LM Studio, Fireworks, Cerebras) ---


def _open_support(model: str) -> Support:
    return Support(REASONING_LEVELS, None, "sent as reasoning_effort (off: none)")


def _open_send(model: str, params: LaneParams, value: str | int) -> Sent:
    return Sent(params, {"reasoning_effort": _effort(value)})


# --- DeepSeek: thinking {"type": enabled|disabled}; V4 adds reasoning_effort low|high ---


def _deepseek_support(model: str) -> Support:
    m = name(model)
    if m == "deepseek-chat":
        return on_off(model, 'sent as thinking {"type": "enabled"|"disabled"}')
    if m.startswith("deepseek-v4"):
        return Support(
            levels(OFF, "low", "high"),
            None,
            f"sent as thinking and reasoning_effort; {m} runs medium as high, so it takes off, low or high",
        )
    return _passes(model, "sent as thinking and reasoning_effort")


def _deepseek_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if value == OFF:
        return Sent(params, {"thinking": {"type": "disabled"}})
    if name(model) == "deepseek-chat":
        return Sent(params, {"thinking": {"type": "enabled"}})
    return Sent(params, {"thinking": {"type": "enabled"}, "reasoning_effort": str(value)})


# --- Qwen on DashScope: enable_thinking, thinking_budget ---

QWEN_MOST_BUDGET = 81_920  # the largest chain of thought DashScope lists (Qwen3 235B)
_QWEN_PLAIN = re.compile(r"^qwen(2|-max|-long|-mt|-vl-max|-coder)")


def _qwen_support(model: str) -> Support:
    m = name(model)
    if _QWEN_PLAIN.match(m):
        return plain(model)
    return Support(
        levels(OFF, "high"),
        (1, QWEN_MOST_BUDGET),
        f"sent as enable_thinking and thinking_budget; {m} turns reasoning on or off only "
        "(off, or high for on), or takes a token budget: it has no low or medium",
    )


def _qwen_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if _QWEN_PLAIN.match(name(model)):
        return Sent(params)
    if value == OFF:
        return Sent(params, {"enable_thinking": False})
    if isinstance(value, int):
        return Sent(params, {"enable_thinking": True, "thinking_budget": value})
    return Sent(params, {"enable_thinking": True})


# --- vLLM and SGLang: the model's chat template switch; llama.cpp's server likewise ---


def _template_key(model: str) -> str:
    """DeepSeek V3.1+ and Kimi templates read ``thinking``; Qwen3 and most others ``enable_thinking``."""
    m = name(model)
    return "thinking" if "deepseek" in m or "kimi" in m else "enable_thinking"


def _template_support(model: str) -> Support:
    return on_off(model, f"sent as chat_template_kwargs {{{_template_key(model)!r}: true|false}}")


def _template_send(model: str, params: LaneParams, value: str | int) -> Sent:
    return Sent(params, {"chat_template_kwargs": {_template_key(model): value != OFF}})


def _llamacpp_send(model: str, params: LaneParams, value: str | int) -> Sent:
    # llama-server hands reasoning_effort to gpt-oss's template itself, and returns the
    # thinking in reasoning_content with reasoning_format "deepseek".
    if "gpt-oss" in name(model):
        body = {"chat_template_kwargs": {"reasoning_effort": value}, "reasoning_format": "deepseek"}
        return Sent(params, body)
    sent = family_send(model, params, value) or _template_send(model, params, value)
    return Sent(sent.params, {**sent.body, "reasoning_format": "deepseek"})


# --- Groq: reasoning_effort (qwen3: none|default), reasoning_format "parsed" ---


def _groq_support(model: str) -> Support:
    m = name(model)
    if m.startswith("qwen3"):
        return on_off(model, 'sent as reasoning_effort "none" or "default"')
    return _passes(model, "sent as reasoning_effort")


def _groq_send(model: str, params: LaneParams, value: str | int) -> Sent:
    m = name(model)
    if "gpt-oss" in m:  # Groq returns gpt-oss's reasoning in its own field; no reasoning_format
        return Sent(params, {"reasoning_effort": value})
    known = family(model)
    if known is not None:  # always reasons (its reasoning parsed out), or never
        return Sent(params, {"reasoning_format": "parsed"} if known.reasons else {})
    if value == OFF:
        return Sent(params, {"reasoning_effort": "none"})
    effort = "default" if m.startswith("qwen3") else str(value)
    return Sent(params, {"reasoning_effort": effort, "reasoning_format": "parsed"})


# --- xAI: reasoning_effort on grok-3-mini (low|high) and grok-4.3; other grok-4s always reason ---

_GROK_ALWAYS = re.compile(
    r"^grok-(4|4-0709|4-latest|4-fast-reasoning|4-1-fast-reasoning|4\.20.*reasoning|code-fast.*)$"
)


def _xai_kind(model: str) -> str:
    m = name(model)
    if m.startswith("grok-3-mini"):
        return "mini"
    if "non-reasoning" in m or re.match(r"^grok-(2|3|beta|vision)", m):
        return "plain"
    if _GROK_ALWAYS.match(m):
        return "always"
    return "effort"  # grok-4.3, and a grok chatlab doesn't know


def _xai_support(model: str) -> Support:
    kind = _xai_kind(model)
    if kind == "mini":
        return _low_high(model)
    if kind == "plain":
        return plain(model)
    if kind == "always":
        return always(model)
    if name(model).startswith("grok-4.3"):
        return Support(REASONING_LEVELS, None, "sent as reasoning_effort (off: none)")
    return _passes(model, "sent as reasoning_effort (off: none)")


def _xai_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if _xai_kind(model) in ("plain", "always"):
        return Sent(params)
    return Sent(params, {"reasoning_effort": _effort(value)})


# --- Mistral: Magistral always reasons; Mistral Small and Medium 3.5 turn it on or off ---

_MISTRAL_SWITCH = re.compile(r"^(mistral-small-latest|mistral-small-26|mistral-medium-3[.-]5)")
_MISTRAL_PLAIN = re.compile(
    r"^(mistral-large|ministral|codestral|devstral|pixtral|open-|mistral-tiny|mistral-small-2[45]|mistral-medium-2[45])"
)


def _mistral_support(model: str) -> Support:
    m = name(model)
    if _MISTRAL_SWITCH.match(m):
        return on_off(model, 'sent as reasoning_effort "none" or "high"')
    if _MISTRAL_PLAIN.match(m):
        return plain(model)
    return _passes(model, "sent as reasoning_effort (off: none)")


def _mistral_send(model: str, params: LaneParams, value: str | int) -> Sent:
    if _MISTRAL_PLAIN.match(name(model)):
        return Sent(params)
    return Sent(params, {"reasoning_effort": _effort(value)})


# --- Together: hybrids take reasoning {"enabled": bool} ---


def _together_support(model: str) -> Support:
    return on_off(model, 'sent as reasoning {"enabled": true|false}')


def _together_send(model: str, params: LaneParams, value: str | int) -> Sent:
    return Sent(params, {"reasoning": {"enabled": value != OFF}})


# --- Moonshot (Kimi): thinking {"type"} on K2.5 and later; K2 Thinking always; K2 and v1 never ---


def _moonshot_support(model: str) -> Support:
    m = name(model)
    if m.startswith("moonshot-v1") or m == "kimi-latest" or re.match(r"^kimi-k2(-|$)", m):
        return plain(model)
    if re.match(r"^kimi-k2\.\d", m):
        return on_off(model, 'sent as thinking {"type": "enabled"|"disabled"}')
    if m.startswith("kimi-k3"):
        return _low_high(model)
    return _passes(model, 'sent as thinking {"type": …} and reasoning_effort')


def _moonshot_send(model: str, params: LaneParams, value: str | int) -> Sent:
    m = name(model)
    if not _moonshot_support(model).reasons:
        return Sent(params)
    if m.startswith("kimi-k3"):
        return Sent(params, {"reasoning_effort": value})
    if value == OFF:
        return Sent(params, {"thinking": {"type": "disabled"}})
    if value == "high" or re.match(r"^kimi-k2\.\d", m):
        return Sent(params, {"thinking": {"type": "enabled"}})
    return Sent(params, {"thinking": {"type": "enabled"}, "reasoning_effort": value})


def _dialect(key: str, support: Callable[[str], Support], send: Send, words: str) -> Dialect:
    return Dialect(key, _with_family(support), _sending_family(send), words)


COMPATIBLE: dict[str, Dialect] = {
    "open-weight": _dialect("open-weight", _open_support, _open_send, "reasoning_effort"),
    "deepseek": _dialect("deepseek", _deepseek_support, _deepseek_send, "thinking on/off (+ effort on V4)"),
    "qwen": _dialect("qwen", _qwen_support, _qwen_send, "enable_thinking, thinking_budget"),
    "template": _dialect("template", _template_support, _template_send, "chat_template_kwargs"),
    "llama.cpp": Dialect(
        "llama.cpp", _with_family(_template_support), _llamacpp_send, "chat_template_kwargs, reasoning_format"
    ),
    "groq": Dialect("groq", _with_family(_groq_support), _groq_send, "reasoning_effort, reasoning_format"),
    "xai": Dialect("xai", _xai_support, _xai_send, "reasoning_effort (grok-3-mini, grok-4.3)"),
    "mistral": _dialect("mistral", _mistral_support, _mistral_send, "reasoning_effort (Magistral: on)"),
    "together": _dialect("together", _together_support, _together_send, "reasoning.enabled"),
    "moonshot": _dialect("moonshot", _moonshot_support, _moonshot_send, "thinking on/off"),
}
