"""What the lab needs of the database, as two small protocols, so core does not depend on
``chatlab.store`` (which provides both)."""

from __future__ import annotations

from typing import Protocol

from chatlab.core.data.model import Response, Session, Turn
from chatlab.core.data.votes import Rating, Vote


class SessionStore(Protocol):
    """What the lab needs of the database (``chatlab.store.db.Store`` provides it)."""

    def save_session(self, session: Session) -> None: ...
    def vote(self, turn_id: str, vote: Vote) -> None: ...
    def unvote(self, turn_id: str, rater: str) -> None: ...
    def rate(self, turn_id: str, lane_id: str, rating: Rating) -> None: ...
    def mark_to_rate(self, turn_id: str, marked: bool = True) -> None: ...


class Saver(Protocol):
    """Batched writes of streaming responses (``chatlab.store.checkpoint.Checkpointer``)."""

    problem: str | None

    def touch(self, turn: Turn, resp: Response) -> None: ...
    def flush(self) -> bool: ...
    def finish(self) -> bool: ...
