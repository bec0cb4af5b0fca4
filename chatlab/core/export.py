"""The session document: chatlab's JSON export format (``"format": "chatlab.session"``).

Version 1 is a contract: fields are added, never renamed. Responses are listed in lane
order; each carries its status, reasoning and answer text, error, normalised usage,
cost with the price it used, and timing. No key or secret is ever part of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatlab import __version__
from chatlab.core.model import Session, utc_now

FORMAT = "chatlab.session"
VERSION = 1


def session_dict(session: Session) -> dict[str, Any]:
    order = [lane.id for lane in session.lanes]
    return {
        "id": session.id,
        "title": session.title,
        "created_at": session.created_at,
        "lanes": [
            {
                "id": lane.id,
                "provider": lane.provider,
                "model": lane.model,
                "label": lane.label,
                "params": lane.params.to_dict(),
            }
            for lane in session.lanes
        ],
        "turns": [
            {
                "id": turn.id,
                "prompt": turn.prompt,
                "created_at": turn.created_at,
                "responses": [turn.responses[i].to_dict() for i in order if i in turn.responses],
            }
            for turn in session.turns
        ],
    }


def document(sessions: Iterable[Session]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utc_now(),
        "app_version": __version__,
        "sessions": [session_dict(s) for s in sessions],
    }
