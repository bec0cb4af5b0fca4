"""The sessions an analysis reads: one study's comparisons, or every session (interactive
turns included), with the damaged ones left out and said.

The store is whatever has the three methods of :class:`SessionSource` (the sqlite store
has them); core never imports it. ``chatlab stats`` and the Leaderboard view both load
through :func:`load_sessions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from chatlab.core.data.model import Session


class SessionSource(Protocol):
    def ids(self) -> list[str]:
        """Every session's id."""
        ...

    def load(self, session_id: str, /) -> Session:
        """One session; raises when it can't be read back."""
        ...

    def study_sessions(self, study_id: str, problems: list[str] | None = None, /) -> list[Session]:
        """A study's comparisons; one that can't be read back is left out and named in
        ``problems``."""
        ...


@dataclass
class Loaded:
    """The sessions read, and one line per session left out: which, and why."""

    sessions: list[Session] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def load_sessions(source: SessionSource, study_id: str | None = None) -> Loaded:
    """The study's comparisons (``study_id``), else every session. A session that can't
    be read back (damaged outside chatlab, or deleted meanwhile) is left out, as export
    does, and named in :attr:`Loaded.skipped`."""
    loaded = Loaded()
    if study_id is not None:
        loaded.sessions = source.study_sessions(study_id, loaded.skipped)
        return loaded
    for session_id in source.ids():
        try:
            loaded.sessions.append(source.load(session_id))
        except Exception as exc:  # whatever the store raises for a row it can't read
            loaded.skipped.append(f"session {session_id} can't be read ({exc}); it was left out")
    return loaded
