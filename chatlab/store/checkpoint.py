"""Batched, crash-safe writes of streaming responses, that never take a run down.

The orchestrator's listener calls :meth:`Checkpointer.touch` on every event (a dict
insertion, nothing more). :meth:`run` writes every touched response in one transaction
about once a second; a response that has just finished is written at once, together
with whatever else is pending, so its final state never waits. A ``kill -9`` therefore
loses at most about a second of streamed text, and the next start marks what was saved
as interrupted.

A write that fails never raises into the run. When the database is busy with another
writer, or the disk is full, the responses stay pending and the next tick tries again;
``problem`` says why in one line, for the window's status bar and the CLI. A response
that can't be written for any other reason (a bug) is written alone, so it can't keep
the others from being saved, and the failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from chatlab.core.data.events import Done, StreamError, StreamEvent
from chatlab.core.data.model import Lane, Response, Session, Turn
from chatlab.core.lab.orchestrator import Listener
from chatlab.store.connection import CHECKPOINT_BUSY_S, error_reason
from chatlab.store.db import Store

CHECKPOINT_INTERVAL_S = 1.0
FINAL_BUSY_S = 30.0  # the last flush of a run waits as long as a normal write

log = logging.getLogger("chatlab")


class Checkpointer:
    """Pending writes of one session's responses (``session``), or of any sessions' (a
    study: each :meth:`touch` names its session)."""

    def __init__(
        self, store: Store, session: Session | None = None, interval_s: float = CHECKPOINT_INTERVAL_S
    ) -> None:
        self.store = store
        self.session = session
        self.interval_s = interval_s
        self._dirty: dict[tuple[str, str], tuple[Session, Turn, Response]] = {}
        self.writes = 0  # transactions, for tests and benchmarks
        self.problem: str | None = None  # why the last write failed ("disk full"), None once it works
        self.failed: dict[tuple[str, str], str] = {}  # responses that could not be written at all

    def touch(self, turn: Turn, resp: Response, session: Session | None = None) -> None:
        owner = session or self.session
        assert owner is not None, "a study's checkpointer is told each response's session"
        self._dirty[(turn.id, resp.lane_id)] = (owner, turn, resp)

    def listener(self, turn: Turn) -> Listener:
        """An orchestrator listener for ``turn`` (give it with the UI's own)."""

        def on_event(lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
            self.touch(turn, resp)
            if isinstance(ev, Done | StreamError):
                self.flush()

        return on_event

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def flush(self, busy_s: float = CHECKPOINT_BUSY_S) -> bool:
        """Write what is pending; True when everything is on disk. Never raises."""
        if not self._dirty:
            return True
        items, self._dirty = self._dirty, {}
        try:
            self.store.checkpoint_many(items.values(), busy_s=busy_s)
        except (sqlite3.Error, OSError) as exc:
            reason = error_reason(exc, self.store.path)
            if reason in ("busy", "disk full", "read-only", "unavailable"):
                self._keep(items)
                self.problem = f"could not save the session: {reason_words(reason)}"
                return False
            return self._one_by_one(items, exc)
        except Exception as exc:
            return self._one_by_one(items, exc)
        self.writes += 1
        self.problem = None
        return True

    def finish(self) -> bool:
        """The last write of a run: waits for a busy database as long as a normal write."""
        return self.flush(busy_s=FINAL_BUSY_S)

    def _keep(self, items: dict[tuple[str, str], tuple[Session, Turn, Response]]) -> None:
        """Put failed items back (a newer touch of the same response wins; it's the same object)."""
        for key, item in items.items():
            self._dirty.setdefault(key, item)

    def _one_by_one(
        self, items: dict[tuple[str, str], tuple[Session, Turn, Response]], first: BaseException
    ) -> bool:
        log.error("checkpoint failed (%s: %s); writing responses one by one", type(first).__name__, first)
        ok = True
        for key, (session, turn, resp) in items.items():
            try:
                self.store.checkpoint(session, [(turn, resp)])
                self.writes += 1
            except Exception as exc:
                ok = False
                self.failed[key] = f"{type(exc).__name__}: {exc}"
                log.exception("could not save response %s of turn %s", resp.lane_id, turn.id)
        self.problem = None if ok else "could not save a response (see the log)"
        return ok

    async def run(self) -> None:
        """Flush every ``interval_s`` until cancelled, then once more (waiting longer)."""
        try:
            while True:
                await asyncio.sleep(self.interval_s)
                self.flush()
        finally:
            self.flush(busy_s=FINAL_BUSY_S)


def reason_words(reason: str) -> str:
    return {
        "busy": "the database is busy with another chatlab",
        "disk full": "disk full",
        "read-only": "the database is read-only",
    }.get(reason, "the database can't be written")
