"""Batched, crash-safe writes of streaming responses.

The orchestrator's listener calls :meth:`Checkpointer.touch` on every event (a set
insertion, nothing more). :meth:`run` writes every touched response in one transaction
about once a second; a response that has just finished is written at once, together
with whatever else is pending, so its final state never waits. A ``kill -9`` therefore
loses at most about a second of streamed text, and the next start marks what was saved
as interrupted.
"""

from __future__ import annotations

import asyncio

from chatlab.core.events import Done, StreamError, StreamEvent
from chatlab.core.model import Lane, Response, Session, Turn
from chatlab.core.orchestrator import Listener
from chatlab.store.db import Store

CHECKPOINT_INTERVAL_S = 1.0


class Checkpointer:
    def __init__(self, store: Store, session: Session, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self.store = store
        self.session = session
        self.interval_s = interval_s
        self._dirty: dict[tuple[str, str], tuple[Turn, Response]] = {}
        self.writes = 0  # transactions, for tests and benchmarks

    def touch(self, turn: Turn, resp: Response) -> None:
        self._dirty[(turn.id, resp.lane_id)] = (turn, resp)

    def listener(self, turn: Turn) -> Listener:
        """An orchestrator listener for ``turn`` (chain it with the UI's own)."""

        def on_event(lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
            self.touch(turn, resp)
            if isinstance(ev, Done | StreamError):
                self.flush()

        return on_event

    def flush(self) -> None:
        if not self._dirty:
            return
        items, self._dirty = list(self._dirty.values()), {}
        self.store.checkpoint(self.session, items)
        self.writes += 1

    async def run(self) -> None:
        """Flush every ``interval_s`` until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self.interval_s)
                self.flush()
        finally:
            self.flush()
