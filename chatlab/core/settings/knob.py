"""The reasoning knob's vocabulary, shared by every dialect: what a model honours
(:class:`Support`), what a lane sends (:class:`Sent`), a dialect (:class:`Dialect`), the
refusal (:class:`KnobError`), and the rules for open-weight families that read the same
wherever they are served (gpt-oss takes an effort and can't be turned off; a model named
``…-thinking``, QwQ or DeepSeek-R1 always reasons; an ``…-instruct`` or Llama model
doesn't reason). :mod:`chatlab.core.settings.reasoning` puts the dialects together.
Nothing here imports an SDK or Qt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatlab.core.data.constants import REASONING_LEVELS
from chatlab.core.data.model import LaneParams
from chatlab.core.settings import families

OFF = "off"
ON_LEVELS = REASONING_LEVELS[1:]  # low, medium, high


@dataclass(frozen=True)
class Support:
    """What a model does with the knob: the levels it honours (of off, low, medium,
    high), the token budgets it takes (inclusive ``(least, most)``, or None), and a few
    words saying how it is set or why the rest is refused."""

    levels: tuple[str, ...]
    budget: tuple[int, int] | None = None
    note: str = ""

    @property
    def reasons(self) -> bool:
        """The model can reason at some setting."""
        return any(level != OFF for level in self.levels) or self.budget is not None


@dataclass(frozen=True)
class Sent:
    """What a lane sends for its knob: its parameters, with the knob turned into the
    provider's own where the adapter knows them, and fields to add to the request body."""

    params: LaneParams
    body: dict[str, Any] = field(default_factory=dict)


class KnobError(ValueError):
    """A lane's reasoning setting the model can't honour; the message says why."""


@dataclass(frozen=True)
class Dialect:
    """How one family of APIs takes the knob."""

    name: str
    support: Callable[[str], Support]
    # (model, params without the knob, the knob's value) -> what to send
    send: Callable[[str, LaneParams, str | int], Sent]
    words: str  # for the providers table: "reasoning_effort", "thinking budget", …


def levels(*names: str) -> tuple[str, ...]:
    return tuple(n for n in REASONING_LEVELS if n in names)


def name(model: str) -> str:
    """The model's own name, lower case, without a gateway's ``vendor/`` prefix."""
    return families.bare(model).lower()


# --- the open-weight families, the same on every server ---

_ALWAYS = re.compile(r"(^|[-_.:])(thinking|reasoner)($|[-_.:])|^qwq|deepseek-r1|^magistral")
_PLAIN = re.compile(r"instruct|(^|[-_/])llama")


def always(model: str) -> Support:
    m = name(model)
    return Support(
        levels("high"),
        None,
        f"{m} always reasons and takes no setting: high means on, and nothing more is sent",
    )


def plain(model: str) -> Support:
    return Support(levels(OFF), None, f"{name(model)} doesn't reason")


def on_off(model: str, how: str) -> Support:
    """A hybrid that reasons or not, with no depth: off and high (on)."""
    return Support(
        levels(OFF, "high"), None, f"{how}; {name(model)} turns reasoning on or off only: off, or high for on"
    )


def family(model: str) -> Support | None:
    """The rule of an open-weight family that reads the same on any server, or None."""
    m = name(model)
    if "gpt-oss" in m:
        return Support(
            ON_LEVELS, None, f"sent as reasoning_effort; {m} always reasons, at low, medium or high"
        )
    if _ALWAYS.search(m):
        return always(model)
    if _PLAIN.search(m):
        return plain(model)
    return None


def family_send(model: str, params: LaneParams, value: str | int) -> Sent | None:
    """What an open-weight family's rule sends (None: the model has no such rule).
    gpt-oss takes ``reasoning_effort``; a model that always reasons, or never, is sent
    nothing more."""
    m = name(model)
    if family(model) is None:
        return None
    if "gpt-oss" in m:
        return Sent(params, {"reasoning_effort": value})
    return Sent(params)
