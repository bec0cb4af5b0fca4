"""Judging a study, once, for the window and the CLI: :class:`JudgeController`.

``chatlab judge`` and the Studies window's **Judge…** only present it: they ask it for a
:class:`~chatlab.core.judging.plan.JudgePlan` (which comparisons the judge still lacks,
which orders, what the calls are estimated to cost, and the judge's spend so far), show
the estimate, let the person confirm (a plan over its budget is refused unless they
insist), and run it (:meth:`JudgeController.prepare`, then ``await run.run()``). Every
call is kept as it ends (the store's ``save_judge_call``), so running the same judge
again sends exactly what is missing.

The judge sees what a blind human sees (:mod:`chatlab.core.judging.prompt`); a study made
from a rating pack holds only the pack's opaque lanes, never who they are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from chatlab.core.analysis.votes import model_id
from chatlab.core.data.model import Lane, Session
from chatlab.core.data.votes import JUDGE, Vote
from chatlab.core.judging.compose import DEFAULT_RUBRIC, Call, judge_name
from chatlab.core.judging.plan import JudgePlan, plan
from chatlab.core.judging.rubrics import find_rubric
from chatlab.core.judging.run import JUDGE_TIMEOUT_S, JudgeProgress, JudgeRun
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.config import Config, ConfigError
from chatlab.core.settings.presets import lane_from_spec
from chatlab.core.studies.controller import StudyError, find_study
from chatlab.core.studies.study import StudyInfo, alive
from chatlab.core.studies.suites import DEFAULT_CONCURRENCY

MAX_BUDGET_USD = 1_000_000
MAX_SPEC = 200  # a judge's -m: its rater id (``judge:`` + it, + a rubric) stays within the schema's 256
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# (study, judge rater) pairs this process is judging: the store's claim tells processes
# apart by pid, and two runs in one process are told apart here.
_JUDGING: set[tuple[str, str]] = set()


class JudgeStore(Protocol):
    """What judging needs of the store (:class:`chatlab.store.db.Store` has it)."""

    def study(self, key: str) -> StudyInfo: ...
    def study_sessions(self, study_id: str, problems: list[str] | None = None) -> list[Session]: ...
    def judge_calls(self, study_id: str, rater: str) -> dict[str, list[tuple[str, Call]]]: ...
    def judge_spend(self, study_id: str) -> dict[str, tuple[float, int, int]]: ...
    def judge_output_tokens(self, rater: str) -> float | None: ...
    def claim_judging(
        self, study_id: str, rater: str, pid: int, alive: Callable[[int], bool]
    ) -> int | None: ...
    def release_judging(self, study_id: str, rater: str, pid: int) -> None: ...
    def save_judge_call(
        self, turn_id: str, rater: str, seen: str, call: Call, vote: Vote | None, last: bool
    ) -> None: ...


def judge_lane(spec: str, config: Config) -> Lane:
    """The judge model of ``-m``-style ``spec`` (``PROVIDER:MODEL``, optionally with
    ``{…}`` parameters); an unknown provider or a bad parameter is a :class:`ConfigError`."""
    if len(spec) > MAX_SPEC or _CONTROL.search(spec):
        raise ConfigError(f"a judge model is one line of at most {MAX_SPEC} characters (PROVIDER:MODEL)")
    entry = lane_from_spec(spec)
    config.provider(entry.provider)  # an unknown provider: ConfigError, naming the known ones
    return Lane(entry.provider, entry.model, entry.params, entry.label)


def rater_of(lane: Lane, rubric: str) -> str:
    """The judge's rater id: ``judge:PROVIDER:MODEL`` with its non-default parameters (a
    judge that reasons at another effort is another rater), plus ``/RUBRIC`` when the
    rubric isn't the default."""
    return JUDGE + model_id(lane) + ("" if rubric == DEFAULT_RUBRIC else "/" + rubric)


class JudgeController:
    def __init__(
        self,
        store: JudgeStore,
        config: Callable[[], Config],
        explain: Callable[[BaseException], str] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.explain = explain  # a store error in words (a full disk…), for a run that stops on one

    def plan(
        self, study: str, spec: str, rubric: str | None = None, budget_usd: float | None = None
    ) -> JudgePlan:
        """What judging ``study`` with ``spec`` by ``rubric`` still needs. A study, judge
        or rubric that can't be found, or a bad budget, is a :class:`StudyError` or
        :class:`ConfigError` whose one line says so."""
        if budget_usd is not None and not 0 <= budget_usd <= MAX_BUDGET_USD:  # also NaN
            raise StudyError(f"--budget must be between 0 and {MAX_BUDGET_USD:,} dollars")
        config = self.config()
        info = find_study(self.store, study)  # type: ignore[arg-type]  # it needs only study()
        lane = judge_lane(spec, config)
        found = find_rubric(rubric or DEFAULT_RUBRIC)
        rater = rater_of(lane, found.name)
        problems: list[str] = []
        sessions = self.store.study_sessions(info.id, problems)
        spend = self.store.judge_spend(info.id).get(rater, (0.0, 0, 0))
        return plan(
            info.id,
            info.name,
            sessions,
            lane,
            found,
            rater,
            self.store.judge_calls(info.id, rater),
            config,
            budget_usd=budget_usd,
            spent=spend,
            past_output=self.store.judge_output_tokens(rater),
        )

    def claim(self, p: JudgePlan) -> None:
        """Hold this judge's run of the study for this process; another run of the same
        judge on it, here or in another chatlab, is a :class:`StudyError` (two would pay
        for the same calls). A run killed leaves a claim that the next one takes over."""
        key = (p.study_id, p.rater)
        if key in _JUDGING:
            raise StudyError(f"{judge_name(p.rater)} is judging {p.study_name!r} already, in this window")
        other = self.store.claim_judging(p.study_id, p.rater, os.getpid(), alive)
        if other is not None:
            raise StudyError(
                f"{judge_name(p.rater)} is judging {p.study_name!r} in another chatlab (process {other}); "
                "wait for it, or stop it"
            )
        _JUDGING.add(key)

    def release(self, p: JudgePlan) -> None:
        """Give back :meth:`claim`'s hold (when the run has ended, however it ended)."""
        _JUDGING.discard((p.study_id, p.rater))
        self.store.release_judging(p.study_id, p.rater, os.getpid())

    def concurrency(self, p: JudgePlan, asked: int | None = None) -> int:
        """Calls in flight at once: ``asked``, else the study's limit for the judge's
        provider (its suite's ``concurrency``), else the default."""
        if asked is not None:
            if not 1 <= asked <= 64:
                raise StudyError("--concurrency must be 1 to 64")
            return asked
        try:
            suite = self.store.study(p.study_id).suite
        except (KeyError, ValueError):
            return DEFAULT_CONCURRENCY
        limits = suite.get("concurrency") if isinstance(suite, dict) else None
        value = limits.get(p.judge.provider) if isinstance(limits, dict) else None
        return value if type(value) is int and value > 0 else DEFAULT_CONCURRENCY

    def prepare(
        self,
        p: JudgePlan,
        runner: Runner,
        *,
        concurrency: int | None = None,
        timeout_s: float | None = None,
        on_change: Callable[[JudgeProgress], None] | None = None,
    ) -> JudgeRun:
        """The run of plan ``p``: ``await run.run()`` sends it."""
        return JudgeRun(
            runner,
            p,
            self.store.save_judge_call,
            concurrency=self.concurrency(p, concurrency),
            timeout_s=JUDGE_TIMEOUT_S if timeout_s is None else timeout_s,
            on_change=on_change,
            explain=self.explain,
        )


def judges_of(sessions: Sequence[Session]) -> list[str]:
    """The judge raters with votes on these comparisons, in order of first vote."""
    seen: dict[str, None] = {}
    for s in sessions:
        for t in s.turns:
            for v in t.votes:
                if v.rater.startswith(JUDGE):
                    seen.setdefault(v.rater, None)
    return list(seen)
