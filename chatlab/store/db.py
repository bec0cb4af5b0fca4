"""The session database: :class:`Store`, SQLite in WAL mode, one per process.

Store is put together from one class per subject, each in its own module:

* connection.py: :class:`~chatlab.store.connection.Database`, opening (refusing a file
  that isn't chatlab's, is damaged or newer; backing up before migrating), read-only
  opening, transactions, and :class:`StoreError`, what an error means for the user;
* sessions.py: sessions, lanes, turns and responses, written and read back whole, and
  streaming checkpoints;
* votes.py: votes, ratings, raters and sighted marks (how a vote is stored);
* judges.py: a judge model's calls, each kept as it ends, and its votes with them;
* studies.py: studies, their comparisons, progress and spend;
* search.py: the FTS5 index over prompts and answers, and search;
* merge.py: imports, merges and rating packs, and every check that refuses a document;
* columns.py: how values are written to and read from columns.

The schema is migrations.py (append-only; schema.sql shows what they build, made by
schema.py), and checkpoint.py batches streaming writes: at most about once a second, and
each response's final state when it completes.

Here: crash recovery. Responses still marked running when the store is opened were cut
off by a crash: they become ``interrupted``, with the text of the last checkpoint and the
usage and cost that text implies.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from chatlab.core.costs import pricing
from chatlab.core.data.events import ErrorKind
from chatlab.core.data.model import ErrorInfo, Response, Status
from chatlab.core.data.stamps import utc_now
from chatlab.store.columns import as_text, dumps, json_object
from chatlab.store.connection import (
    BUSY_TIMEOUT_S,
    CHECKPOINT_BUSY_S,
    Database,
    StoreError,
    describe,
    error_reason,
)
from chatlab.store.judges import JudgeRows
from chatlab.store.merge import ImportResult, MergeRows
from chatlab.store.search import SearchHit, SearchRows
from chatlab.store.sessions import SessionRows, SessionSummary
from chatlab.store.studies import StudyRows
from chatlab.store.votes import VoteRows

__all__ = [
    "BUSY_TIMEOUT_S",
    "CHECKPOINT_BUSY_S",
    "CRASH_MESSAGE",
    "ImportResult",
    "SearchHit",
    "SessionSummary",
    "Store",
    "StoreError",
    "default_path",
    "describe",
    "error_reason",
]

CRASH_MESSAGE = "chatlab stopped before this stream ended; the text up to the last checkpoint was kept"


class Store(MergeRows, StudyRows, SessionRows, JudgeRows, SearchRows, VoteRows, Database):
    """The session database. ``readonly=True`` opens it for reading only: nothing is
    written (no migration, no crash recovery), so it works on a read-only file.

    Its bases are its subjects, each in its own module (see above), each listed before
    those it builds on."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        super().__init__(path, readonly)
        try:
            self.recovered = 0 if readonly else self._recover()
        except sqlite3.Error as exc:
            self.con.close()
            raise describe(path, exc) from None

    def _recover(self) -> int:
        """Mark responses cut off by a crash as interrupted; returns how many. An answer
        that was being generated gets the usage its saved text implies (≈, estimated, as
        a stopped answer gets) and its price, so the tokens it cost are never $0."""
        error = dumps(ErrorInfo(ErrorKind.NETWORK, CRASH_MESSAGE).to_dict())
        with self.transaction() as con:
            for turn_id, lane_id, model, reasoning, text, usage, price in con.execute(
                "SELECT r.turn_id, r.lane_id, l.model, r.reasoning, r.text, r.usage, r.price FROM responses r "
                "JOIN lanes l ON l.id = r.lane_id WHERE r.status = 'running'"
            ).fetchall():
                resp = _cut_off(lane_id, as_text(model), reasoning, text, usage, price)
                if resp is None:
                    continue
                con.execute(
                    "UPDATE responses SET usage = ?, cost_usd = ?, cost_source = ? WHERE turn_id = ? AND lane_id = ?",
                    (dumps(resp.usage.to_dict()), resp.cost_usd, resp.cost_source, turn_id, lane_id),
                )
            cur = con.execute(
                "UPDATE responses SET status = ?, error = COALESCE(error, ?), updated_at = ? "
                "WHERE status IN ('queued', 'running')",
                (Status.INTERRUPTED.value, error, utc_now()),
            )
            for turn_id, lane_id, session_id, text in con.execute(
                "SELECT r.turn_id, r.lane_id, t.session_id, r.text FROM responses r JOIN turns t ON t.id = r.turn_id "
                "WHERE r.status = 'interrupted' AND r.text != '' AND NOT EXISTS (SELECT 1 FROM search_map m "
                "WHERE m.turn_id = r.turn_id AND m.lane_id = r.lane_id AND m.kind = 'answer')"
            ).fetchall():
                self._index(con, session_id, turn_id, lane_id, "answer", text)
        return int(cur.rowcount)


def _cut_off(lane_id: str, model: str, reasoning: Any, text: Any, usage: Any, price: Any) -> Response | None:
    """A response cut off mid-stream, with the usage and cost its saved text implies, or
    None when the provider's own usage had already arrived (it stands) or the row can't
    be read."""
    counts = {"estimated": True, **json_object(usage)}  # damaged: counted again
    try:
        resp = Response.from_dict(
            {
                "lane_id": lane_id,
                "status": "running",
                "reasoning": as_text(reasoning),
                "text": as_text(text),
                "usage": counts,
                "price": json_object(price) or None,
            }
        )
        if not resp.usage.estimated:
            return None
        pricing.estimate_from_text(resp, model)
        if resp.cost_usd is not None and not 0 <= resp.cost_usd < 1e6:  # a price edited outside chatlab
            resp.cost_usd = None
    except (TypeError, ValueError, KeyError, OverflowError):  # edited outside chatlab: left as it is
        return None
    return resp


def default_path() -> Path:
    from chatlab.core.settings.config import paths

    return paths().data_dir / "chatlab.db"
