"""The prompted-reasoning control: a plain model asked, by an instruction, to think first.

A lane with ``think = "prompted"`` sends an instruction asking the model to reason inside
``<think>…</think>`` before it answers; the adapters route that block to the reasoning
pane (:mod:`chatlab.providers.think`). The instruction ships as
``resources/prompts/think-prompted.txt``; ``config.toml`` may replace it with a top-level
``think_instruction = "…"`` (checked by :func:`instruction_problem`). It goes first in
the system prompt, before the lane's own system prompt (a blank line between), and is
composed here, once, where the core builds a request, so every wire format, ``chatlab
ask``, the window and a study send the same thing.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache

from chatlab.core.data import safety
from chatlab.core.data.kinds import PROMPTED as PROMPTED
from chatlab.core.data.model import LaneParams
from chatlab.core.data.resources import resources_dir

OPEN, CLOSE = "<think>", "</think>"
MAX_INSTRUCTION = 4000  # characters: an instruction, not a document
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # any but tab and line breaks
RESOURCE = ("prompts", "think-prompted.txt")


@cache
def shipped_instruction() -> str:
    """The instruction chatlab ships (``resources/prompts/think-prompted.txt``)."""
    return resources_dir().joinpath(*RESOURCE).read_text("utf-8").strip()


def instruction_problem(text: object) -> str | None:
    """Why ``text`` can't be the think-first instruction, or None."""
    if not isinstance(text, str):
        return "must be a string"
    if not text.strip():
        return "must not be empty"
    if len(text) > MAX_INSTRUCTION:
        return f"must be at most {MAX_INSTRUCTION:,} characters, got {len(text):,}"
    if safety.clean_text(text) != text:
        return "is not valid Unicode"
    control = _CONTROL.search(text)
    if control is not None:
        return f"has a control character (U+{ord(control.group()):04X}) at character {control.start() + 1}"
    if OPEN not in text or CLOSE not in text[text.index(OPEN) :]:
        return f"must contain {OPEN} and then {CLOSE}: the model is asked to think between them"
    return None


def instruction(override: str | None = None) -> str:
    """The instruction a prompted lane sends: the user's (``think_instruction``) or the shipped one."""
    return override.strip() if override is not None else shipped_instruction()


def system_for(params: LaneParams, override: str | None = None) -> str | None:
    """The system prompt a lane sends: for a prompted lane, the instruction, then (after a
    blank line) the lane's own system prompt if it has one; otherwise the lane's own."""
    if params.think != PROMPTED:
        return params.system
    told = instruction(override)
    return f"{told}\n\n{params.system}" if params.system else told


def request_params(params: LaneParams, override: str | None = None) -> LaneParams:
    """``params`` as the request carries them (a prompted lane's system prompt composed)."""
    if params.think != PROMPTED:
        return params
    return replace(params, system=system_for(params, override))
