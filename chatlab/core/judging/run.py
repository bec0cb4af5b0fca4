"""Sending a judge's calls: :class:`JudgeRun`, a fixed number of calls in flight (the
judge provider's limit), each order's call kept the moment it ends, a comparison's vote
(or "no verdict") written with its last call, in one transaction.

A call ends in one of three ways:

* **a verdict, or no verdict for good**: the judge answered (its JSON is read strictly,
  :func:`~chatlab.core.judging.verdicts.parse_verdict`), refused, wrote an answer longer
  than :data:`MAX_VERDICT_CHARS` (stopped there), sent a stream chatlab can't read, or
  took longer than the run's timeout. The call is kept, with what it cost: its order is
  done, and "no verdict" says why;
* **worth another try**: the network broke, the provider was busy or failing. Nothing
  is kept; the next run sends that order again. The run goes on with the others;
* **refused by the provider** (a bad key, a model that doesn't exist, a request it
  won't take): every call would fail alike, so the run stops and says why.

No call starts whose expected cost could take the judge's spend past the budget.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from chatlab.core.data.events import ErrorKind, StreamEvent
from chatlab.core.data.model import Lane, LaneParams, Response, ResponseSchema, Session, Status, Turn
from chatlab.core.data.votes import Vote
from chatlab.core.judging.compose import Call, Outcome, compose
from chatlab.core.judging.orders import letters
from chatlab.core.judging.plan import Item, JudgePlan
from chatlab.core.judging.verdicts import VERDICT_SCHEMA, parse_verdict
from chatlab.core.lab.orchestrator import Runner, TurnRun

MAX_VERDICT_CHARS = 200_000  # a judge's answer is stopped here (a verdict is a few hundred)
MAX_JUDGE_REASONING_CHARS = 2_000_000  # its reasoning, when it reasons
JUDGE_TIMEOUT_S = 600.0  # a call that takes longer is stopped: no verdict
JUDGE_IDLE_TIMEOUT_S = 120.0  # a call that sends nothing this long is stopped: no verdict
_FATAL = (ErrorKind.AUTH, ErrorKind.BAD_REQUEST, ErrorKind.NOT_FOUND)


class JudgeSaver(Protocol):
    """Where calls go (the store's :meth:`save_judge_call`): the call, and with the last
    order's call the comparison's vote (None: no verdict), in one transaction."""

    def __call__(
        self, turn_id: str, rater: str, seen: str, call: Call, vote: Vote | None, last: bool
    ) -> None: ...


@dataclass
class JudgeProgress:
    """How far a judge run has got, in comparisons; ``spent_usd`` includes earlier runs'."""

    total: int  # comparisons to judge in this run
    done: int = 0  # judged: a vote
    no_verdict: int = 0  # every order called, and no verdict
    ties: int = 0  # of ``done``: a tie (the judge's own, or the orders disagreed)
    inconsistent: int = 0  # of ``ties``: the orders disagreed
    calls: int = 0  # calls kept this run
    in_flight: int = 0
    spent_usd: float = 0.0
    unpriced: int = 0  # calls with no price: not in ``spent_usd``
    started: float = field(default_factory=time.monotonic)
    to_retry: list[str] = field(default_factory=list)  # "prompt/sample order k: why": sent again next run
    problems: list[str] = field(default_factory=list)  # "prompt/sample: why no verdict"
    stopped_because: str = ""  # why the provider refused (the run stopped)

    @property
    def left(self) -> int:
        return max(0, self.total - self.done - self.no_verdict)


def where(session: Session) -> str:
    """A comparison as the CLI names it: ``prompt/sample``, or its session id."""
    ref = session.study
    return f"{ref.prompt_id}/{ref.sample}" if ref is not None else session.id[:8]


class JudgeRun:
    """Send the plan's missing calls; ``await run()`` returns why it stopped: ``done``,
    ``budget``, ``refused`` (the provider refused the judge's calls), ``error`` (the
    calls can't be kept) or ``cancelled``."""

    def __init__(
        self,
        runner: Runner,
        plan: JudgePlan,
        save: JudgeSaver,
        *,
        concurrency: int = 4,
        timeout_s: float = JUDGE_TIMEOUT_S,
        idle_timeout_s: float = JUDGE_IDLE_TIMEOUT_S,
        structured: bool = True,
        on_change: Callable[[JudgeProgress], None] | None = None,
        explain: Callable[[BaseException], str] | None = None,
    ) -> None:
        self.explain = explain or (lambda exc: f"{type(exc).__name__}: {exc}")
        self.runner = runner
        self.plan = plan
        self.save = save
        self.concurrency = max(1, concurrency)
        self.timeout_s = timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.structured = structured
        self.on_change = on_change
        self.progress = JudgeProgress(total=len(plan.items), spent_usd=plan.spent_usd, unpriced=plan.unpriced)
        self.stopped: str | None = None
        self._runs: set[TurnRun] = set()
        self._measured: tuple[float, int] = (0.0, 0)
        self._flying = 0
        self._too_long: list[Response] = []  # answers stopped for their length

    def cancel(self) -> None:
        self.stopped = "cancelled"
        for run in list(self._runs):
            run.cancel_all()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.progress)

    def expected_cost(self) -> float:
        total, n = self._measured
        if n:
            return total / n
        return self.plan.estimate.per_call_usd or 0.0

    def _over_budget(self) -> bool:
        budget = self.plan.budget_usd
        if budget is None:
            return False
        return self.progress.spent_usd + self.expected_cost() * (self._flying + 1) > budget

    async def run(self) -> str:
        queue: deque[tuple[Item, int]] = deque()
        for item in self.plan.items:
            if not item.missing:  # every call kept, its vote not: write it, sending nothing
                self._finish(item)
            queue.extend((item, k) for k in item.missing)
        self._changed()
        workers = [
            asyncio.create_task(self._worker(queue), name=f"judge:{i}")
            for i in range(min(self.concurrency, len(queue)))
        ]
        try:
            await asyncio.gather(*workers)
        except asyncio.CancelledError:
            self.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if self.stopped:
            return self.stopped
        return "done"

    async def _worker(self, queue: deque[tuple[Item, int]]) -> None:
        while queue and not self.stopped:
            if self._over_budget():
                self.stopped = "budget"
                return
            item, position = queue.popleft()
            self._flying += 1
            self.progress.in_flight += 1
            self._changed()
            try:
                resp = await self._send(item, position)
            finally:
                self._flying -= 1
                self.progress.in_flight -= 1
            self._account(item, position, resp)

    async def _send(self, item: Item, position: int) -> Response:
        system, user = item.messages(self.plan.rubric, position)
        judge = self.plan.judge
        params = LaneParams(**{**judge.params.__dict__, "system": system})
        lane = Lane(judge.provider, judge.model, params, judge.label)
        turn = Turn(user)
        session = Session(lanes=[lane], turns=[turn], title="judge")
        holder: list[TurnRun] = []

        def watch(lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
            too_long = len(resp.text) > MAX_VERDICT_CHARS or len(resp.reasoning) > MAX_JUDGE_REASONING_CHARS
            if too_long and holder and not resp.status.finished and resp not in self._too_long:
                self._too_long.append(resp)
                holder[0].cancel(lane.id)

        schema = None
        if self.structured:
            criteria = self.plan.rubric.criterion_names
            schema = ResponseSchema("verdict", VERDICT_SCHEMA(letters(len(item.lanes)), criteria))
        run = TurnRun(
            self.runner,
            session,
            turn,
            [lane],
            listeners=[watch],
            idle_timeout_s=self.idle_timeout_s,
            timeout_s=self.timeout_s,
            response_schema=schema,
        )
        holder.append(run)
        self._runs.add(run)
        try:
            await run.run()
        finally:
            self._runs.discard(run)
        return turn.responses[lane.id]

    def _account(self, item: Item, position: int, resp: Response) -> None:
        p = self.progress
        name = f"{where(item.session)} order {position + 1}"
        too_long = any(r is resp for r in self._too_long)
        if resp.status is Status.CANCELLED and not too_long:
            self._changed()
            return  # stopped by the person: sent again next run, nothing kept
        error = resp.error
        if resp.status is not Status.OK and not too_long and error is not None:
            if error.kind in _FATAL:
                p.stopped_because = f"{error.kind.value}: {error.message}"
                self.stopped = self.stopped or "refused"
                self._changed()
                return
            if error.kind not in (ErrorKind.TIMEOUT, ErrorKind.PROTOCOL):
                p.to_retry.append(f"{name}: {error.kind.value}: {error.message}")
                self._changed()
                return
        call = self._call(item, position, resp, too_long)
        if call.cost_usd is not None:
            p.spent_usd += call.cost_usd
            total, n = self._measured
            self._measured = (total + call.cost_usd, n + 1)
        else:
            p.unpriced += 1
        item.have[position] = call
        p.calls += 1
        last = not item.missing
        outcome = self._outcome(item) if last else None
        if not self._kept(item, call, outcome.vote if outcome else None, last):
            return
        if outcome is not None:
            self._count(item, outcome)
        self._changed()

    def _finish(self, item: Item) -> None:
        """Write the vote of a comparison whose calls were all kept (nothing to send)."""
        outcome = self._outcome(item)
        if self._kept(item, item.have[max(item.have)], outcome.vote, True):
            self._count(item, outcome)

    def _kept(self, item: Item, call: Call, vote: Vote | None, last: bool) -> bool:
        """Keep a call (and with the last, the vote); a store that can't (a full disk, a
        database gone read-only) stops the run, saying why: the calls kept so far stay."""
        try:
            self.save(item.session.turns[0].id, self.plan.rater, item.seen, call, vote, last)
        except Exception as exc:
            self.progress.stopped_because = (
                f"the judge's calls can't be kept ({self.explain(exc)}); the last call's cost is not counted"
            )
            self.stopped = "error"
            self._changed()
            return False
        return True

    def _outcome(self, item: Item) -> Outcome:
        return compose(
            self.plan.judge.spec,
            self.plan.rubric,
            item.seen,
            item.lanes,
            [item.have[k] for k in range(len(item.orders))],
            self.plan.rater,
        )

    def _count(self, item: Item, outcome: Outcome) -> None:
        p = self.progress
        if outcome.vote is None:
            p.no_verdict += 1
            p.problems.append(f"{where(item.session)}: {outcome.problem}")
        else:
            p.done += 1
            p.ties += outcome.vote.choice == "tie"
            p.inconsistent += not outcome.consistent
        if outcome.vote is not None:  # the comparison in memory holds it too
            turn = item.session.turns[0]
            turn.votes = [v for v in turn.votes if v.rater != self.plan.rater] + [outcome.vote]

    def _call(self, item: Item, position: int, resp: Response, too_long: bool) -> Call:
        order = item.orders[position]
        usage = {
            k: v
            for k, v in (
                ("input_tokens", resp.usage.input_tokens),
                ("output_tokens", resp.usage.output_tokens),
                ("reasoning_tokens", resp.usage.reasoning_tokens),
            )
            if v
        }
        raw = resp.text
        if too_long:
            problem = (
                f"the judge's answer passed {MAX_VERDICT_CHARS:,} characters (or its reasoning "
                f"{MAX_JUDGE_REASONING_CHARS:,}) and was stopped"
            )
            return Call(position, order, raw, None, problem, {}, usage, resp.cost_usd)
        if resp.status is not Status.OK:
            error = resp.error
            if error is not None and error.kind is ErrorKind.TIMEOUT:
                problem = f"the judge took too long ({error.message})"
            else:
                problem = (
                    f"the judge's answer couldn't be read ({error.message if error else resp.status.value})"
                )
            return Call(position, order, raw, None, problem, {}, usage, resp.cost_usd)
        if resp.refusal:
            said = " ".join(raw.split())[:200] or "no reason given"
            return Call(position, order, raw, None, f"the judge refused: {said}", {}, usage, resp.cost_usd)
        verdict = parse_verdict(raw, letters(len(order)), self.plan.rubric.criterion_names)
        if verdict.choice is None:
            return Call(position, order, raw, None, verdict.problem, {}, usage, resp.cost_usd)
        choice = self.plan.rubric.choose(verdict.scores, verdict.choice)
        return Call(position, order, raw, choice, None, verdict.scores, usage, resp.cost_usd)
