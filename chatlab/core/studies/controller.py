"""The study lifecycle, once, for the window and the CLI: create, claim, run, pause,
cancel, resume, change the budget, end with a status, delete.

:class:`StudyController` holds every rule of a study's life that isn't drawing or
printing. ``chatlab study`` and the Studies window only present it: they ask it for a
:class:`Plan` (what a new or resumed study will send, and what that is estimated to
take), show the estimate, let the person confirm, and call :meth:`~StudyController.start`
(a background task on the window's loop) or :meth:`~StudyController.prepare` and await
the run (the CLI). Either way, :meth:`~StudyController.finish` maps how a run ended to
the status the study keeps (:func:`status_after`), so the two can't disagree.

The store is reached through :class:`StudyStore`, a protocol of the
:class:`~chatlab.store.db.Store` methods used here: core never imports the store. A
failed write becomes a :class:`StudyError` whose one line says what happened and what
was left unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chatlab.core.data.model import Session
from chatlab.core.data.safety import clean_text, terminal_text
from chatlab.core.data.stamps import new_id
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.config import Config
from chatlab.core.studies.estimate import (
    History,
    LaneEstimate,
    budget_reached,
    estimate,
    knob_problems,
    reasoning_warnings,
    total_cost,
)
from chatlab.core.studies.grading import KeyMismatch, Regrade, keys_from, keys_of, regrade
from chatlab.core.studies.run import Progress, StudyRun, StudySaver
from chatlab.core.studies.study import StudyInfo, Work, alive, comparisons, snapshot_suite, suite_data, work
from chatlab.core.studies.suites import Suite, SuiteError

MAX_BUDGET_USD = 1_000_000
MAX_NAME = 200
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # what a suite's name may not hold either
# Studies this process is running, whichever controller runs them: the store's claim tells
# processes apart by pid, so two controllers in one process are told apart here.
_RUNNING: set[str] = set()


class StudyError(Exception):
    """A study can't be found, created, started, resumed or changed; the message is one
    line a person can act on, and says what was left unchanged."""


class StudyStore(Protocol):
    """What the controller needs of the store (:class:`chatlab.store.db.Store` has it)."""

    path: Path

    def free_study_name(self, name: str) -> str: ...
    def create_study(
        self, study_id: str, name: str, suite: dict[str, Any], sessions: Sequence[Session], reveal: str = ...
    ) -> str: ...
    def study(self, key: str) -> StudyInfo: ...
    def study_sessions(self, study_id: str, problems: list[str] | None = None) -> list[Session]: ...
    def set_study_budget(self, study_id: str, budget_usd: float) -> None: ...
    def set_study_status(self, study_id: str, status: str, pid: int | None = None) -> None: ...
    def claim_study(self, study_id: str, pid: int, alive: Callable[[int], bool]) -> int | None: ...
    def model_history(self, provider: str, model: str, params: Any = None) -> History | None: ...
    def delete_study(self, study_id: str) -> None: ...
    def save_grades(self, study_id: str, answers: dict[str, Any] | None, items: Sequence[Any]) -> None: ...


def find_study(store: StudyStore, name: str) -> StudyInfo:
    """A study by its name or id prefix; a name that fits none, or more than one, is a
    :class:`StudyError` that says so."""
    try:
        return store.study(clean_text(name))  # a name from bytes that weren't UTF-8 was saved cleaned
    except KeyError:
        raise StudyError(f"no study named {terminal_text(name)[:80]!r} (see `chatlab study list`)") from None
    except ValueError as exc:
        raise StudyError(str(exc)) from None


def status_after(outcome: str, to_retry: int) -> str:
    """The status a study keeps when a run ends with ``outcome`` (``done``, ``budget``,
    ``paused``, ``cancelled`` or ``error``): ``done`` only when nothing is left to send
    (units to retry keep it open for resume); ``cancelled`` when the answers in flight
    were cut off (Cancel, Ctrl-C, closing the window); ``paused`` otherwise (paused,
    stopped by the budget, or ended by an error). Every one of them but ``done`` resumes."""
    if outcome == "done":
        return "paused" if to_retry else "done"
    if outcome == "cancelled":
        return "cancelled"
    return "paused"


def name_problem(name: str) -> str | None:
    """Why ``name`` can't name a study (it is printed in lists and progress lines), or None."""
    if not name.strip() or len(name) > MAX_NAME:
        return f"--name must be 1 to {MAX_NAME} characters"
    if _BREAKS.search(name):
        return "--name must be one line without control characters"
    return None


def shown_status(info: StudyInfo) -> str:
    """A stored study's status as people read it: a study marked running whose process
    is gone, or that this process isn't running (its end couldn't be written), is
    ``stopped`` (resume it); a paused study that has spent its budget says so."""
    if info.status == "running" and (
        not alive(info.pid) or (info.pid == os.getpid() and info.id not in _RUNNING)
    ):
        return "stopped"
    if info.status == "paused" and info.budget_usd is not None and info.spent_usd >= info.budget_usd:
        return "budget spent"
    return info.status


@dataclass(frozen=True)
class BudgetProblem:
    """Why the estimate doesn't fit the budget: ``unpriced`` names lanes with no price
    (the budget can't be checked), else ``total`` plus ``spent`` exceeds ``budget``."""

    budget: float
    spent: float
    total: float | None
    unpriced: tuple[str, ...] = ()


@dataclass
class Plan:
    """What a new or resumed study will send, and what that is estimated to take (made
    once: the estimate shown, the budget check and the run's budget all use it)."""

    study_id: str
    name: str
    suite: Suite
    sessions: list[Session]
    pending: list[Work]
    estimates: list[LaneEstimate]
    spent_usd: float = 0.0
    retry_failed: bool = False
    info: StudyInfo | None = None  # None until the study is created
    problems: list[str] = field(default_factory=list)  # comparisons left out: damaged
    # Show reasoning: one line per lane whose reasoning won't be on screen, and why.
    warnings: list[str] = field(default_factory=list)

    def budget_problem(self) -> BudgetProblem | None:
        """Why this plan doesn't fit its suite's budget, or None when it does (or has none)."""
        budget = self.suite.budget_usd
        if budget is None:
            return None
        total = total_cost(self.estimates)
        if total is None:
            unpriced = tuple(r.lane for r in self.estimates if r.cost_usd is None and r.requests)
            return BudgetProblem(budget, self.spent_usd, None, unpriced)
        if self.spent_usd + total > budget:
            return BudgetProblem(budget, self.spent_usd, total)
        return None

    def budget_reached(self) -> bool:
        """The budget is spent, or the next request could cross it: resuming needs a new one."""
        budget = self.suite.budget_usd
        return budget is not None and (
            self.spent_usd >= budget or budget_reached(budget, self.estimates, self.spent_usd)
        )


class StudyController:
    """Every study in one store: plans, lifecycle, and the runs going on in the
    background (each in its own task, so a study never blocks a turn and a turn never
    blocks a study). ``config`` gives the current configuration (providers and prices);
    ``explain(exc)`` turns a store error into words (the default is the error's own);
    ``on_end(study_id, outcome, status)`` is told how each background run ended."""

    def __init__(
        self,
        store: StudyStore,
        config: Callable[[], Config],
        *,
        explain: Callable[[BaseException], str] | None = None,
        on_end: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.explain = explain or (lambda exc: f"{store.path}: {exc}")
        self.on_end = on_end
        self.runs: dict[str, StudyRun] = {}
        self.tasks: dict[str, asyncio.Task[str]] = {}

    # -- finding --------------------------------------------------------------------------

    def find(self, name: str) -> StudyInfo:
        return find_study(self.store, name)

    # -- plans ----------------------------------------------------------------------------

    def _estimate(self, suite: Suite, pending: Sequence[Work]) -> list[LaneEstimate]:
        return estimate(suite, pending, self.config(), self.store.model_history)

    def _check_knobs(self, suite: Suite, unchanged: str) -> None:
        """Refuse a suite with a lane whose reasoning setting its model can't honour."""
        refused = knob_problems(suite, self.config())
        if refused:
            lanes = "; ".join(refused)
            raise StudyError(f"a lane's reasoning setting can't be honoured ({unchanged}): {lanes}")

    def plan_new(self, suite: Suite, name: str | None = None, *, dry_run: bool = False) -> Plan:
        """A new study of ``suite``: its comparisons (made in memory, not yet saved) and
        their estimate. Its name is free in this store (``Name (2)`` when taken) unless
        this is a dry run, which writes and reserves nothing."""
        study_id = new_id()
        name = (suite.name if name is None else name).strip()
        if problem := name_problem(name):
            raise StudyError(problem)
        self._check_knobs(suite, "nothing was created")
        if not dry_run:
            name = self.store.free_study_name(name)
        sessions = comparisons(suite, study_id, name)
        pending = work(sessions)
        warnings = reasoning_warnings(suite, self.config())
        return Plan(
            study_id, name, suite, sessions, pending, self._estimate(suite, pending), warnings=warnings
        )

    def plan_resume(self, info: StudyInfo, *, retry_failed: bool = False) -> Plan:
        """What ``info`` still lacks (and, with ``retry_failed``, its failed units too)."""
        if not info.runnable:
            raise StudyError(f"study {info.name!r} was imported: it has no suite to run")
        try:
            suite = snapshot_suite(info, self.config())
        except SuiteError as exc:
            raise StudyError(f"study {info.name!r}: its suite can't be read back: {exc}") from None
        self._check_knobs(suite, "nothing was sent")
        problems: list[str] = []
        sessions = self.store.study_sessions(info.id, problems)
        pending = work(sessions, retry_failed=retry_failed)
        rows = self._estimate(suite, pending) if pending else []
        return Plan(
            info.id,
            info.name,
            suite,
            sessions,
            pending,
            rows,
            spent_usd=info.spent_usd,
            retry_failed=retry_failed,
            info=info,
            problems=problems,
            warnings=reasoning_warnings(suite, self.config()),
        )

    def set_budget(self, plan: Plan, budget_usd: float) -> Plan:
        """Give a study a new budget; the plan, re-read, carries it (its estimate stands:
        the budget doesn't change what the units take)."""
        if not 0 < budget_usd <= MAX_BUDGET_USD:  # also NaN
            raise StudyError(f"--budget must be more than 0 and at most {MAX_BUDGET_USD:,} dollars")
        self._not_running_elsewhere(plan, "the budget was not changed")
        try:
            self.store.set_study_budget(plan.study_id, budget_usd)
            info = self.store.study(plan.study_id)
            suite = snapshot_suite(info, self.config())
        except KeyError:
            raise StudyError(f"study {plan.name!r} no longer exists; the budget was not changed") from None
        except (sqlite3.Error, OSError) as exc:
            raise StudyError(f"{self.explain(exc)}; the budget was not changed") from None
        except SuiteError as exc:
            raise StudyError(f"study {plan.name!r}: its suite can't be read back: {exc}") from None
        plan.info, plan.suite, plan.spent_usd = info, suite, info.spent_usd
        return plan

    def regrade(self, info: StudyInfo, suite: Suite | None = None) -> Regrade:
        """Grade every finished answer of ``info`` again: by the study's own keys, or by
        ``suite``'s (matched by prompt id; they become the study's keys from now on).
        Refused while the study runs; nothing is written when a key can't be used."""
        unchanged = "no answer was graded again"
        plan = Plan(info.id, info.name, Suite(info.name, (), ()), [], [], [])
        self._not_running_elsewhere(plan, unchanged)
        problems: list[str] = []
        try:
            sessions = self.store.study_sessions(info.id, problems)
            if suite is None:
                if not info.runnable:
                    raise StudyError(
                        f"study {info.name!r} was imported: it has no keys of its own "
                        "(give the suite's file with --suite)"
                    )
                keys = keys_of(snapshot_suite(info, self.config()))
            else:
                asked = {s.study.prompt_id: s.turns[0].prompt for s in sessions if s.study and s.turns}
                keys = keys_from(suite, asked)
                if not keys:
                    raise StudyError(f"the suite shares no prompt id with study {info.name!r}; {unchanged}")
            result = regrade(sessions, keys)
            answers = (
                {pid: key.raw if key else None for pid, key in keys.items()}
                if suite is not None and info.runnable
                else None
            )
            self.store.save_grades(info.id, answers, result.touched)
        except KeyMismatch as exc:
            raise StudyError(f"{exc}; {unchanged}") from None
        except SuiteError as exc:
            raise StudyError(f"study {info.name!r}: its suite can't be read back: {exc}") from None
        except (sqlite3.Error, OSError) as exc:
            raise StudyError(f"{self.explain(exc)}; {unchanged}") from None
        return result

    # -- lifecycle ------------------------------------------------------------------------

    def create(self, plan: Plan) -> StudyInfo:
        """Save the study and all its comparisons in one transaction."""
        try:
            plan.name = self.store.create_study(
                plan.study_id, plan.name, suite_data(plan.suite), plan.sessions, reveal=plan.suite.reveal
            )
            plan.info = self.store.study(plan.study_id)
        except (sqlite3.Error, OSError) as exc:
            raise StudyError(f"{self.explain(exc)}; the study was not created and nothing was sent") from None
        return plan.info

    def _not_running_elsewhere(self, plan: Plan, unchanged: str) -> None:
        """Refuse, saying ``unchanged``, when another live chatlab, or another controller
        in this one, is running the study."""
        if plan.study_id in _RUNNING:
            raise StudyError(f"study {plan.name!r} is already running in this chatlab; {unchanged}")
        try:
            info = self.store.study(plan.study_id)
        except KeyError:
            raise StudyError(f"study {plan.name!r} no longer exists; {unchanged}") from None
        except (sqlite3.Error, OSError) as exc:
            raise StudyError(f"{self.explain(exc)}; {unchanged}") from None
        if info.status == "running" and info.pid not in (None, os.getpid()) and alive(info.pid):
            raise StudyError(
                f"study {plan.name!r} is running in another chatlab (process {info.pid}); {unchanged}"
            )

    def claim(self, plan: Plan) -> None:
        """Mark the study running in this process, unless another live chatlab, or
        another controller of this one, runs it."""
        if plan.study_id in _RUNNING:
            raise StudyError(f"study {plan.name!r} is already running in this chatlab; nothing was sent")
        try:
            other = self.store.claim_study(plan.study_id, os.getpid(), alive)
        except KeyError:
            raise StudyError(f"study {plan.name!r} no longer exists; nothing was sent") from None
        except (sqlite3.Error, OSError) as exc:
            raise StudyError(f"{self.explain(exc)}; nothing was sent") from None
        if other is not None:
            raise StudyError(
                f"study {plan.name!r} is running in another chatlab (process {other}); nothing was sent"
            )
        _RUNNING.add(plan.study_id)

    def prepare(
        self,
        plan: Plan,
        runner: Runner,
        saver: StudySaver | None,
        *,
        idle_timeout_s: float | None = None,
        on_change: Callable[[Progress], None] | None = None,
    ) -> StudyRun:
        """Claim the study and make its run (the caller awaits ``run()``, then calls
        :meth:`finish`)."""
        self.claim(plan)
        return StudyRun(
            runner,
            plan.suite,
            plan.sessions,
            saver,
            spent_usd=plan.spent_usd,
            retry_failed=plan.retry_failed,
            idle_timeout_s=idle_timeout_s,
            on_change=on_change,
            estimates=plan.estimates,
        )

    def finish(self, study_id: str, outcome: str, progress: Progress) -> str:
        """Keep the status a run's ``outcome`` gives (:func:`status_after`); a store that
        can't be written keeps ``running``, which reads as ``stopped``: resume it."""
        status = status_after(outcome, progress.to_retry)
        _RUNNING.discard(study_id)
        with contextlib.suppress(sqlite3.Error, OSError):
            self.store.set_study_status(study_id, status)
        return status

    def spent(self, study_id: str, fallback: float) -> float:
        """What the study has spent, as the store has it (stopped answers included)."""
        try:
            return self.store.study(study_id).spent_usd
        except (sqlite3.Error, OSError, KeyError):
            return fallback

    def mark_done(self, plan: Plan) -> None:
        """A resumed study with nothing left to send is done."""
        with contextlib.suppress(sqlite3.Error, OSError):
            self.store.set_study_status(plan.study_id, "done")

    def delete(self, info: StudyInfo) -> None:
        if self.running(info.id):
            raise StudyError(f"{info.name} is running: pause or cancel it first")
        try:
            self.store.delete_study(info.id)
        except (sqlite3.Error, OSError) as exc:
            raise StudyError(f"{self.explain(exc)}; nothing was deleted") from None

    # -- runs in the background -------------------------------------------------------------

    def running(self, study_id: str) -> bool:
        task = self.tasks.get(study_id)
        return task is not None and not task.done()

    def start(self, plan: Plan, runner: Runner, saver: StudySaver | None = None) -> StudyRun:
        """Claim the study and run it in a task on the running loop; :meth:`finish` is
        applied when it ends, then ``on_end`` is told."""
        if self.running(plan.study_id):
            return self.runs[plan.study_id]
        run = self.prepare(plan, runner, saver)
        study_id = plan.study_id
        self.runs[study_id] = run
        task = asyncio.get_running_loop().create_task(run.run(), name=f"study:{study_id}")
        self.tasks[study_id] = task
        task.add_done_callback(lambda t: self._ended(study_id, t))
        return run

    def _ended(self, study_id: str, task: asyncio.Task[str]) -> None:
        outcome = "cancelled" if task.cancelled() else ("error" if task.exception() else task.result())
        status = self.finish(study_id, outcome, self.runs[study_id].progress)
        if self.on_end is not None:
            self.on_end(study_id, outcome, status)

    def pause(self, study_id: str) -> None:
        """Start nothing new; what is in flight finishes."""
        run = self.runs.get(study_id)
        if run is not None and self.running(study_id):
            run.pause()

    def cancel(self, study_id: str) -> None:
        """Stop now; the answers cut off are sent again on resume."""
        run = self.runs.get(study_id)
        if run is not None and self.running(study_id):
            run.cancel()

    def progress(self, study_id: str) -> Progress | None:
        run = self.runs.get(study_id)
        return run.progress if run is not None else None

    def pausing(self, study_id: str) -> bool:
        """A running study asked to stop, finishing what is in flight."""
        run = self.runs.get(study_id)
        return run is not None and self.running(study_id) and bool(run.stopped)

    async def shutdown(self) -> None:
        """Stop every run (what was cut off is sent again on resume) and wait for them."""
        for study_id in list(self.tasks):
            self.cancel(study_id)
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
