"""Sending a study's remaining units: :class:`StudyRun`, with one worker per allowed
request in flight for each provider (every provider's limit holds, providers run side
by side), transient failures tried once more at the end, and no unit started whose
expected cost could take the spend past the budget. :class:`Progress` is what a view
shows while it runs; :class:`StudySaver` is where answers go (batched by
:mod:`chatlab.store.checkpoint`). The lifecycle around a run (claiming, the status it
ends with) is :mod:`chatlab.core.studies.controller`'s.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatlab.core.data.events import Done, StreamError
from chatlab.core.data.model import Lane, Response, Session, Status, Turn
from chatlab.core.lab.orchestrator import Runner, TurnRun
from chatlab.core.studies.answers import grade_response
from chatlab.core.studies.estimate import LaneEstimate, _no_history, estimate
from chatlab.core.studies.study import FINAL_FLUSH_S, Work, unit_state, work
from chatlab.core.studies.suites import Suite


class StudySaver(Protocol):
    """Where answers go while a study runs (batched; see ``chatlab.store.checkpoint``)."""

    problem: str | None

    def touch(self, turn: Turn, resp: Response, session: Session | None = None) -> None: ...
    def flush(self) -> bool: ...
    def finish(self) -> bool: ...
    async def run(self) -> None: ...  # writes what streamed about once a second until cancelled


@dataclass
class Progress:
    """How far a run has got; ``spent_usd`` includes what earlier runs spent."""

    total: int
    done: int = 0
    failed: int = 0
    in_flight: int = 0
    spent_usd: float = 0.0
    unpriced: int = 0  # answers with no price: not in ``spent_usd``
    started: float = field(default_factory=time.monotonic)
    finished_this_run: int = 0
    failures: list[str] = field(default_factory=list)  # "prompt/lane/sample: kind: message"
    to_retry: int = 0  # failed twice in a way worth another try: the next resume sends them
    retries: list[str] = field(default_factory=list)  # as ``failures``

    @property
    def left(self) -> int:
        return max(0, self.total - self.done - self.failed - self.to_retry)

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds left at this run's pace so far; None before the first unit ends."""
        if not self.finished_this_run:
            return None
        elapsed = (now if now is not None else time.monotonic()) - self.started
        return elapsed / self.finished_this_run * self.left


class StudyRun:
    """Send a study's remaining units; ``await run()`` returns why it stopped:
    ``done``, ``budget``, ``paused`` or ``cancelled``. Pause lets the answers in flight
    finish; cancel stops them (they are sent again on resume)."""

    def __init__(
        self,
        runner: Runner,
        suite: Suite,
        sessions: Sequence[Session],
        saver: StudySaver | None = None,
        *,
        spent_usd: float = 0.0,
        retry_failed: bool = False,
        idle_timeout_s: float | None = None,
        timeout_s: float | None = None,
        on_change: Callable[[Progress], None] | None = None,
        estimates: Sequence[LaneEstimate] | None = None,
    ) -> None:
        self.runner = runner
        self.suite = suite
        self.sessions = list(sessions)
        self.saver = saver
        self.idle_timeout_s = suite.idle_timeout_s if idle_timeout_s is None else idle_timeout_s
        self.timeout_s = timeout_s
        self.on_change = on_change
        self.pending = work(self.sessions, retry_failed=retry_failed)
        units = sum(len(s.lanes) for s in self.sessions)
        done = sum(
            unit_state(s.turns[0].responses.get(lane.id)) == "done" for s in self.sessions for lane in s.lanes
        )
        self.progress = Progress(
            total=units, done=done, failed=units - done - len(self.pending), spent_usd=spent_usd
        )
        self.stopped: str | None = None  # paused | cancelled | budget
        self._runs: set[TurnRun] = set()
        self._flying: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}  # the most requests in flight at once, per provider
        self._flush_handle: asyncio.TimerHandle | None = None
        # The budget: what one request of each suite lane is expected to cost (the
        # pre-run estimate's per-request figure, until this run has measured that lane),
        # what this run's priced answers of each lane cost, and the requests in flight.
        self._expected: dict[int, float | None] = {}
        if suite.budget_usd is not None:
            rows = (
                estimates
                if estimates is not None
                else estimate(suite, self.pending, runner.config, _no_history)
            )
            self._expected = {i: row.per_request_usd for i, row in enumerate(rows)}
        self._measured: dict[int, tuple[float, int]] = {}
        self._flying_lanes: dict[int, int] = {}
        self._settled = asyncio.Condition()  # told whenever a unit ends
        self._keys = {p.id: p.answer for p in suite.prompts if p.answer is not None}

    def pause(self) -> None:
        """Start nothing new; what is in flight finishes."""
        self.stopped = self.stopped or "paused"

    def cancel(self) -> None:
        """Stop now; the answers cut off are sent again when the study resumes."""
        self.stopped = "cancelled"
        for run in list(self._runs):
            run.cancel_all()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.progress)

    def expected_cost(self, lane: int) -> float:
        """What one request of suite lane ``lane`` is expected to cost: the mean of this
        run's measured answers of that lane, or, before the first, the pre-run estimate's
        per-request figure (0 for a lane with no price, which no budget can count)."""
        total, n = self._measured.get(lane, (0.0, 0))
        if n:
            return total / n
        return self._expected.get(lane) or 0.0

    def _over_budget(self, lane: int) -> bool:
        """Sending one more request of ``lane`` could cross the budget: the measured
        spend, plus what the requests in flight are expected to cost, plus this one's
        expected cost, is more than the budget. So the overshoot is at most what the
        requests in flight cost beyond their expectation."""
        budget = self.suite.budget_usd
        if budget is None:
            return False
        flying = sum(self.expected_cost(i) * n for i, n in self._flying_lanes.items())
        return self.progress.spent_usd + flying + self.expected_cost(lane) > budget

    async def run(self) -> str:
        queues: dict[str, deque[Work]] = {}
        for w in self.pending:
            queues.setdefault(w.lane.provider, deque()).append(w)
        self._changed()
        loop = asyncio.get_running_loop()
        checkpoints = loop.create_task(self.saver.run()) if self.saver is not None else None
        workers = [
            asyncio.create_task(self._worker(provider, queue, set()), name=f"study:{provider}:{i}")
            for provider, queue in queues.items()
            for i in range(min(self.suite.limit(provider), len(queue)))
        ]
        try:
            await asyncio.gather(*workers)
        except asyncio.CancelledError:
            self.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush_handle = None
            if checkpoints is not None:
                checkpoints.cancel()
                await asyncio.gather(checkpoints, return_exceptions=True)
            if self.saver is not None:
                self.saver.finish()
        if self.stopped and self.progress.left:
            return self.stopped
        return "done"

    async def _worker(self, provider: str, queue: deque[Work], retried: set[str]) -> None:
        """Send ``provider``'s units one at a time; ``limit`` of these share one queue."""
        lanes_here = {w.unit.lane for w in queue}
        while queue and not self.stopped:
            w = self._take(queue, lanes_here)
            if w is None:  # every lane left is sending its first, measuring request
                async with self._settled:
                    await self._settled.wait()
                continue
            if self._over_budget(w.unit.lane):
                queue.appendleft(w)
                self.stopped = "budget"
                return
            lane = w.unit.lane
            self._flying_lanes[lane] = self._flying_lanes.get(lane, 0) + 1
            self._flying[provider] = self._flying.get(provider, 0) + 1
            self.max_in_flight[provider] = max(self.max_in_flight.get(provider, 0), self._flying[provider])
            self.progress.in_flight += 1
            self._changed()
            try:
                resp = await self._send(w)
            finally:
                self._flying[provider] -= 1
                self._flying_lanes[lane] -= 1
                self.progress.in_flight -= 1
            state = unit_state(resp)
            again = state == "transient" and w.unit.id not in retried and not self.stopped
            if again:
                retried.add(w.unit.id)
                queue.append(w)  # once more, after everything else
            self._account(w, resp, state, again)
            async with self._settled:
                self._settled.notify_all()

    def _probing(self, lane: int) -> bool:
        """Under a budget, a priced lane with no measured answer yet sends one request at a
        time: its first answer says what one costs before more go out on the estimate,
        so an estimate far too low overshoots the budget by one answer, not by one answer
        per slot."""
        return (
            self.suite.budget_usd is not None
            and self._expected.get(lane) is not None
            and lane not in self._measured
            and self._flying_lanes.get(lane, 0) > 0
        )

    def _take(self, queue: deque[Work], lanes: set[int]) -> Work | None:
        """The first unit in ``queue`` whose lane may send now (see :meth:`_probing`)."""
        blocked: set[int] = set()
        for k, w in enumerate(queue):
            if not self._probing(w.unit.lane):
                del queue[k]
                return w
            blocked.add(w.unit.lane)
            if blocked >= lanes:
                break
        return None

    async def _send(self, w: Work) -> Response:
        turn = w.turn
        before = turn.responses.get(w.lane.id)
        key = self._keys.get(w.unit.prompt_id)
        saver = self.saver

        def graded(lane: Lane, resp: Response, ev: object) -> None:
            # Graded the moment it ends, before it is saved: the grade is written with it.
            if isinstance(ev, Done | StreamError):
                grade_response(resp, key)
            if saver is not None:
                saver.touch(turn, resp, w.session)
                if isinstance(ev, Done | StreamError):
                    self._flush_soon()

        listeners = [graded]
        run = TurnRun(
            self.runner,
            w.session,
            turn,
            [w.lane],
            listeners=listeners,
            idle_timeout_s=self.idle_timeout_s,
            timeout_s=self.timeout_s,
        )
        if before is not None and before.status is not Status.QUEUED:
            # The attempt being replaced (cut off, or failed) is kept on record, with what
            # it cost, and so are the attempts it had replaced: the study's spend counts
            # every attempt once, never twice and never less than before.
            fresh = turn.responses[w.lane.id]
            fresh.retries.extend(dict(r) for r in before.retries if r.get("replaced"))
            fresh.retries.append(replaced(before))
        self._runs.add(run)
        try:
            await run.run()
        finally:
            self._runs.discard(run)
        return turn.responses[w.lane.id]

    def _flush_soon(self) -> None:
        """Write finished answers within ``FINAL_FLUSH_S``, those finishing together in one
        transaction: twenty units ending at once must not block the loop twenty times."""
        if self._flush_handle is None and self.saver is not None:
            saver = self.saver

            def flush() -> None:
                self._flush_handle = None
                saver.flush()

            self._flush_handle = asyncio.get_running_loop().call_later(FINAL_FLUSH_S, flush)

    def _account(self, w: Work, resp: Response, state: str, again: bool) -> None:
        p = self.progress
        if resp.status is not Status.CANCELLED:
            if resp.cost_usd is not None:
                p.spent_usd += resp.cost_usd
                if resp.status is Status.OK:  # a whole answer: what the next one will cost
                    total, n = self._measured.get(w.unit.lane, (0.0, 0))
                    self._measured[w.unit.lane] = (total + resp.cost_usd, n + 1)
            elif resp.status is Status.OK:
                p.unpriced += 1
        if state == "done":
            p.done += 1
            p.finished_this_run += 1
        elif state in ("failed", "transient") and not again:
            p.finished_this_run += 1
            error = resp.error.kind.value + ": " + resp.error.message if resp.error else resp.status.value
            if state == "failed":
                p.failed += 1
                p.failures.append(f"{w.unit.id}: {error}")
            else:
                p.to_retry += 1
                p.retries.append(f"{w.unit.id}: {error}")
        self._changed()


def replaced(resp: Response) -> dict[str, Any]:
    """A replaced attempt as one entry of the new response's ``retries``."""
    entry: dict[str, Any] = (
        resp.error.to_dict() if resp.error else {"kind": "network", "message": resp.status.value}
    )
    entry["replaced"] = resp.status.value
    entry["waited_s"] = 0.0
    if resp.cost_usd:
        entry["cost_usd"] = resp.cost_usd
    if resp.text_chars:
        entry["text_chars"] = resp.text_chars
    return entry
