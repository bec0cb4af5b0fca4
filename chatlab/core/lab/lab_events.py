"""What the lab tells its views: the :data:`LabEvent`\\ s a view subscribes to with
:meth:`chatlab.core.lab.controller.Lab.subscribe`. (Named so as not to be mistaken for
:mod:`chatlab.core.data.events`, the events a provider's stream yields.)
"""

from __future__ import annotations

from dataclasses import dataclass

from chatlab.core.data.model import Turn
from chatlab.core.lab.blind import Reveal


@dataclass(frozen=True)
class LanesChanged:
    """The lane set, its order, its labels or the whole session changed."""


@dataclass(frozen=True)
class TurnStarted:
    turn: Turn
    lane_ids: list[str]
    retry: bool


@dataclass(frozen=True)
class TurnFinished:
    """Every run has ended (answers are final; in blind mode they may now be shown)."""

    turn: Turn


@dataclass(frozen=True)
class Voted:
    turn: Turn
    reveal: Reveal | None  # set when the vote unmasked a blind turn


@dataclass(frozen=True)
class Unvoted:
    """The rater took their vote on ``turn`` back (a revealed blind turn stays revealed)."""

    turn: Turn


@dataclass(frozen=True)
class Saved:
    """The session was written (its id is now in the store)."""


@dataclass(frozen=True)
class Said:
    """A one-line message for the user (a save that failed, a lane that was replaced)."""

    text: str


LabEvent = LanesChanged | TurnStarted | TurnFinished | Voted | Unvoted | Saved | Said
