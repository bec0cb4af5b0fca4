"""Studies: one unattended run of a suite, resumable exactly, within a budget.

A study turns each (prompt, sample) of a :class:`~chatlab.core.studies.suites.Suite` into its
own single-turn comparison (a blind :class:`Session` whose lanes are copies of the
suite's lanes), created all at once before anything is sent. Each lane's answer to a
comparison is a unit, ``prompt/lane/sample``; what a unit needs is read from its saved
response alone (none, or cut off: send it; ok: done; refused: failed for good), so a
study stopped at any moment, even by ``kill -9``, resumes with exactly the units it
still lacks. :class:`StudyRun` sends them with one worker per allowed request in flight
for each provider, so every provider's limit holds and providers run side by side;
units that fail transiently go to the back of their provider's queue and are tried once
more at the end (each try with the provider's own retry policy), and no unit starts
whose expected cost, added to the measured spend and to what the units in flight are
expected to cost, would cross the budget. :func:`estimate` says, before anything is
sent, what a study will take per lane, and on what basis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatlab.core.costs import pricing
from chatlab.core.costs.tokens import count_messages
from chatlab.core.data.constants import STUDY_IDLE_TIMEOUT_S
from chatlab.core.data.events import Done, ErrorKind, StreamError
from chatlab.core.data.model import ErrorInfo, Lane, LaneParams, Response, Session, Status, StudyRef, Turn
from chatlab.core.lab.orchestrator import Runner, TurnRun
from chatlab.core.settings.config import Config
from chatlab.core.studies.suites import Suite, Unit, parse_suite

STATUSES = ("new", "running", "paused", "done", "cancelled", "imported")
REVEALS = ("end", "each")  # identities shown at the end of the queue, or after each vote
ASSUMED_OUTPUT_TOKENS = 1024  # a lane with neither history nor max_output_tokens
# A finished answer is on disk within this long; a kill in between re-sends that unit on
# resume (it is never counted twice: nothing of it was written).
FINAL_FLUSH_S = 0.1


@dataclass(frozen=True)
class StudyInfo:
    """A study as listed: its record and how far it has got."""

    id: str
    name: str
    created_at: str
    status: str
    suite: dict[str, Any]  # the snapshot the study was made from ({} for an imported one)
    reveal: str = "end"
    pid: int | None = None  # the process running it, while it runs
    units: int = 0
    done: int = 0
    failed: int = 0  # refused: sending again would not help (resume --retry-failed does)
    spent_usd: float = 0.0
    unpriced: int = 0  # finished responses with no price: not in ``spent_usd``
    to_retry: int = 0  # cut off, or failed in a way worth another try: resume sends them

    @property
    def budget_usd(self) -> float | None:
        value = self.suite.get("budget_usd")
        return float(value) if isinstance(value, int | float) else None

    @property
    def left(self) -> int:
        """Units never sent (or stopped before they ended)."""
        return max(0, self.units - self.done - self.failed - self.to_retry)

    @property
    def runnable(self) -> bool:
        """Made here from a suite (an imported study has no suite to send)."""
        return self.status != "imported" and isinstance(self.suite.get("prompts"), list)

    @property
    def seed(self) -> int:
        value = self.suite.get("seed", 0)
        return value if type(value) is int else 0

    @property
    def repeats(self) -> float:
        value = self.suite.get("repeats", 0.0)
        return float(value) if isinstance(value, int | float) and 0 <= value <= 0.5 else 0.0


def alive(pid: int | None) -> bool:
    """Whether a process with this id exists (another chatlab running a study)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True


def suite_data(suite: Suite) -> dict[str, Any]:
    """A snapshot of ``suite`` that :func:`parse_suite` reads back to the same suite:
    the lanes written out (a preset resolved), the placebo twin left to be added again."""
    lanes = suite.lanes[:-1] if suite.placebo else suite.lanes
    data: dict[str, Any] = {
        "name": suite.name,
        "prompts": [
            {
                "id": p.id,
                "text": p.text,
                "tags": list(p.tags),
                "verifiable": p.verifiable,
                **({"system": p.system} if p.system else {}),
            }
            for p in suite.prompts
        ],
        "lanes": [
            {
                "provider": lane.provider,
                "model": lane.model,
                **({"label": lane.label} if lane.label else {}),
                **({"params": lane.params.to_dict()} if lane.params.to_dict() else {}),
            }
            for lane in lanes
        ],
        "samples": suite.samples,
        "seed": suite.seed,
        "placebo": suite.placebo,
        "reveal": suite.reveal,
        "repeats": suite.repeats,
    }
    if suite.idle_timeout_s != STUDY_IDLE_TIMEOUT_S:
        data["idle_timeout_s"] = suite.idle_timeout_s
    if suite.description:
        data["description"] = suite.description
    if suite.budget_usd is not None:
        data["budget_usd"] = suite.budget_usd
    if suite.concurrency:
        data["concurrency"] = dict(suite.concurrency)
    return data


def snapshot_suite(info: StudyInfo, config: Config | None = None) -> Suite:
    """The suite a study was made from, as it was then (config changes since don't count)."""
    return parse_suite(info.suite, config)


def comparisons(suite: Suite, study_id: str, name: str) -> list[Session]:
    """One blind single-turn session per (prompt, sample), every lane a fresh copy of the
    suite's (in suite order, so a lane's position is its index in the suite); a prompt's
    own system prompt replaces the lane's. With ``suite.placebo`` the last lane is the
    twin, and says so (:attr:`Lane.placebo`): the statistics never guess it from a label."""
    twin = len(suite.lanes) - 1 if suite.placebo else -1
    out = []
    for prompt in suite.prompts:
        for sample in range(suite.samples):
            lanes = [
                Lane(
                    entry.provider,
                    entry.model,
                    dataclasses.replace(entry.params, system=prompt.system)
                    if prompt.system
                    else entry.params,
                    entry.label,
                    placebo=i == twin,
                )
                for i, entry in enumerate(suite.lanes)
            ]
            session = Session(
                lanes=lanes,
                title=f"{name} · {prompt.id} · {sample + 1}",
                blind=True,
                study=StudyRef(study_id, name, prompt.id, sample, prompt.tags),
            )
            session.turns.append(Turn(prompt=prompt.text))  # responses appear as units start
            out.append(session)
    return out


def unit_of(session: Session, lane: Lane) -> Unit:
    assert session.study is not None
    return Unit(session.study.prompt_id, session.lanes.index(lane), session.study.sample)


def transient(resp: Response) -> bool:
    """A failure worth one more try at the end: the provider was busy, or the line broke."""
    return _transient(resp.error)


def _transient(error: ErrorInfo | None) -> bool:
    if error is None:
        return False
    event = StreamError(error.kind, error.message, status_code=error.status_code)
    return event.retryable or error.kind is ErrorKind.TIMEOUT


def unit_state(resp: Response | None) -> str:
    """``pending`` (never sent, or stopped), ``done``, ``transient`` (cut off, or a
    failure worth another try) or ``failed`` (refused: sending again would not help)."""
    if resp is None:
        return "pending"
    return _state(resp.status, resp.error)


def _state(status: Status, error: ErrorInfo | None) -> str:
    if not status.finished or status is Status.CANCELLED:
        return "pending"
    if status is Status.OK:
        return "done"
    if status is Status.INTERRUPTED:  # the line broke, or chatlab was killed mid-answer
        return "transient"
    return "transient" if _transient(error) else "failed"


def stored_unit_state(status: str, error: str | None) -> str:
    """:func:`unit_state` of a response as the store keeps it (its status and error
    columns): the store counts a study's progress with it, so ``study show``, the window
    and ``study resume`` count alike. A damaged row counts as pending (sent again)."""
    try:
        parsed = json.loads(error) if error else None
        info = None
        if isinstance(parsed, dict):
            code = parsed.get("status_code")
            info = ErrorInfo(
                ErrorKind(str(parsed.get("kind"))),  # None: "None", not a kind (ValueError)
                str(parsed.get("message", "")),
                code if type(code) is int else None,
            )
        return _state(Status(status), info)
    except (ValueError, TypeError):
        return "pending"


@dataclass(frozen=True)
class Work:
    """One unit with where its answer goes."""

    unit: Unit
    session: Session
    lane: Lane

    @property
    def turn(self) -> Turn:
        return self.session.turns[0]


def work(sessions: Sequence[Session], *, retry_failed: bool = False) -> list[Work]:
    """The units these comparisons still need, in suite order (prompt, sample, lane)."""
    wanted = {"pending", "transient", *(["failed"] if retry_failed else [])}
    out = []
    for session in sessions:
        turn = session.turns[0]
        for lane in session.lanes:
            if unit_state(turn.responses.get(lane.id)) in wanted:
                out.append(Work(unit_of(session, lane), session, lane))
    return out


# -- estimates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """What a model has produced before: mean output and reasoning tokens over ``n`` answers."""

    n: int
    output_tokens: float
    reasoning_tokens: float


@dataclass(frozen=True)
class LaneEstimate:
    lane: str  # its label or provider:model
    requests: int
    input_tokens: int
    output_tokens: int  # reasoning included
    reasoning_tokens: int
    cost_usd: float | None  # None: no price for this model
    basis: str  # where the output figure comes from

    @property
    def per_request_usd(self) -> float | None:
        """What one of its requests is expected to cost (None: no price, or no request)."""
        return self.cost_usd / self.requests if self.cost_usd is not None and self.requests else None

    @property
    def row(self) -> list[str]:
        from chatlab.core.data import format as fmt

        return [
            self.lane,
            f"{self.requests:,}",
            f"{self.input_tokens:,}",
            f"{self.output_tokens:,}",
            f"{self.reasoning_tokens:,}",
            fmt.cost(self.cost_usd),
            self.basis,
        ]


def estimate(
    suite: Suite,
    pending: Sequence[Work],
    config: Config,
    history: Callable[[str, str, LaneParams], History | None],
) -> list[LaneEstimate]:
    """Per suite lane, what the ``pending`` units will take. Output and reasoning tokens
    come from the model's own history when there is one, else from the lane's
    ``max_output_tokens`` (an upper bound), else from an assumption; ``basis`` says which."""
    out = []
    by_lane: dict[int, list[Work]] = {}
    for w in pending:
        by_lane.setdefault(w.unit.lane, []).append(w)
    counted: dict[tuple[str, str | None, str], int] = {}  # a prompt's samples are counted once
    for index, entry in enumerate(suite.lanes):
        units = by_lane.get(index, [])
        input_tokens = 0
        for w in units:
            key = (w.turn.prompt, w.lane.params.system, entry.model)
            tokens = counted.get(key)
            if tokens is None:
                texts = [w.turn.prompt, *([w.lane.params.system] if w.lane.params.system else [])]
                tokens = counted[key] = count_messages(texts, entry.model).tokens
            input_tokens += tokens
        params = entry.params
        past = history(entry.provider, entry.model, params)
        cap = params.max_output_tokens
        # Reasoning can take all of the cap, or the thinking budget, when the lane asks
        # for it; a lane with thinking off, or no reasoning setting, is counted as plain.
        reasons = bool(params.thinking_budget) or params.reasoning_effort is not None
        if past is not None and past.n:
            out_each, reasoning_each = past.output_tokens, past.reasoning_tokens
            basis = f"your past answers, same model and settings (mean of {past.n})"
            if cap is not None and out_each > cap:  # the lane's own cap holds whatever came before
                reasoning_each *= cap / out_each
                out_each = float(cap)
                basis += f", capped at max_output_tokens {cap:,}"
        elif cap is not None:
            out_each = float(cap)
            reasoning_each = float(min(cap, params.thinking_budget or cap)) if reasons else 0.0
            basis = "max_output_tokens: an upper bound"
        else:
            out_each, reasoning_each = float(ASSUMED_OUTPUT_TOKENS), 0.0
            basis = f"a guess of {ASSUMED_OUTPUT_TOKENS:,} (no history, no max_output_tokens)"
        output_tokens = math.ceil(out_each * len(units))
        reasoning_tokens = min(output_tokens, math.ceil(reasoning_each * len(units)))
        price = pricing.lookup(config, entry.provider, entry.model)
        cost = None
        if price is not None:
            cost = (input_tokens * price.input + output_tokens * price.output) / 1e6
        out.append(
            LaneEstimate(
                entry.label or entry.spec,
                len(units),
                input_tokens,
                output_tokens,
                reasoning_tokens,
                cost,
                basis,
            )
        )
    return out


def _no_history(provider: str, model: str, params: LaneParams) -> History | None:
    return None


def budget_reached(budget: float | None, estimates: Sequence[LaneEstimate], spent: float) -> bool:
    """No request of the work left fits what is left of ``budget``: every lane with work
    is priced, and one of its requests, at the estimate, would take ``spent`` past it.
    A run would stop before sending anything (see :meth:`StudyRun._over_budget`)."""
    if budget is None:
        return False
    asking = [e.per_request_usd for e in estimates if e.requests]
    return bool(asking) and all(cost is not None and spent + cost > budget for cost in asking)


def total_cost(estimates: Sequence[LaneEstimate]) -> float | None:
    """The estimated dollars; None when a lane that has work has no price."""
    if any(e.cost_usd is None and e.requests for e in estimates):
        return None
    return sum(e.cost_usd or 0.0 for e in estimates)


# -- running -----------------------------------------------------------------------------


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
        listeners = []
        if self.saver is not None:
            saver = self.saver

            def save(lane: Lane, resp: Response, ev: object) -> None:
                saver.touch(turn, resp, w.session)
                if isinstance(ev, Done | StreamError):
                    self._flush_soon()

            listeners.append(save)
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
