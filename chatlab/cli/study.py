"""``chatlab study``: run a suite unattended, list studies, show one, resume one.

``study run SUITE`` checks the suite, prints what it will take per lane and in total
(requests, input, output and reasoning tokens, dollars, and the basis of each output
figure) before anything is sent, refuses with exit 2 when that exceeds the suite's
budget unless ``--yes`` is given, then creates the study's comparisons and sends every
unit with a progress bar (rich): done of total, failures, dollars so far, time left.
Ctrl-C pauses: what is in flight is stopped, and ``study resume`` sends exactly the
units still missing. Exit codes: 0 when every unit has an answer, 1 when some failed or
the budget stopped the run, 2 for a usage or configuration problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from chatlab.cli.study_args import MAX_RATER, StudyUsageError, add_parser, add_rate_parser
from chatlab.core.data import format as fmt
from chatlab.core.data.model import new_id
from chatlab.core.data.safety import terminal_text
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import Config, load_config
from chatlab.core.studies.rating import rateable
from chatlab.core.studies.study import (
    LaneEstimate,
    Progress,
    StudyInfo,
    StudyRun,
    alive,
    comparisons,
    estimate,
    snapshot_suite,
    suite_data,
    total_cost,
    unit_state,
    work,
)
from chatlab.core.studies.suites import Suite, SuiteError, load_suite
from chatlab.demo.server import DemoServer
from chatlab.store.checkpoint import Checkpointer, reason_words
from chatlab.store.db import Store, error_reason

__all__ = [
    "MAX_RATER",
    "StudyUsageError",
    "add_parser",
    "add_rate_parser",
    "cmd_rate",
    "cmd_study",
    "find_study",
]


def cmd_rate(args: Any, stderr: IO[str]) -> int:
    """Find the study here (a bad name is one line and exit 2), then open the queue window."""
    from chatlab.store.db import default_path

    if not default_path().exists():
        raise StudyUsageError("no studies yet: run one with `chatlab study run demo`")
    with _store(readonly_ok=True) as store:
        if args.marked:
            if args.study:
                raise StudyUsageError("give a study or --marked, not both")
            if not store.marked_turns():
                raise StudyUsageError("no turn is marked to rate (Rate later, under a turn's answers)")
            info = None
        elif args.study:
            info = find_study(store, args.study)
        else:
            candidates = [s for s in store.studies() if s.done]
            if not candidates:
                raise StudyUsageError("no study has answers to rate yet (see `chatlab study list`)")
            info = candidates[0]
    if sys.platform.startswith("linux") and not any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    ):
        raise StudyUsageError(
            "no display: `chatlab rate` opens a window; run it on a desktop, or over `ssh -X`"
        )
    if args.rater is not None and not 0 < len(args.rater.strip()) <= MAX_RATER:
        raise StudyUsageError(f"--rater must be 1 to {MAX_RATER} characters")
    import importlib

    app = importlib.import_module("chatlab.app")
    print(f"rating {terminal_text(info.name)!r}" if info else "rating the turns marked to rate", file=stderr)
    return int(app.rate_main(info.id if info else None, (args.rater or "").strip()))


def cmd_study(args: Any, stdout: IO[str], stderr: IO[str]) -> int:
    idle = getattr(args, "idle_timeout", None)
    if idle is not None and not 0 < idle <= 86_400:  # also NaN
        raise StudyUsageError("--idle-timeout must be more than 0 and at most 86,400 seconds")
    if args.study_command == "run":
        return _run(args, stdout, stderr)
    if args.study_command == "list":
        return _list(stdout)
    if args.study_command == "show":
        return _show(args.name, stdout)
    if args.study_command == "resume":
        return _resume(args, stdout, stderr)
    raise StudyUsageError(f"unknown study command {args.study_command!r}")


@contextlib.contextmanager
def _store(readonly_ok: bool = False) -> Iterator[Store]:
    from chatlab.store.db import StoreError, default_path

    try:
        store = Store.for_reading(default_path()) if readonly_ok else Store(default_path())
    except StoreError as exc:
        raise StudyUsageError(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


def find_study(store: Store, name: str) -> StudyInfo:
    try:
        return store.study(name)
    except KeyError:
        raise StudyUsageError(
            f"no study named {terminal_text(name)[:80]!r} (see `chatlab study list`)"
        ) from None
    except ValueError as exc:
        raise StudyUsageError(str(exc)) from None


# -- estimate ----------------------------------------------------------------------------


def print_estimate(rows: Sequence[LaneEstimate], out: IO[str], budget: float | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Estimate, before anything is sent", title_justify="left")
    for col in ("lane", "requests", "input tok", "output tok", "reasoning tok", "cost", "output from"):
        table.add_column(col, justify="left" if col in ("lane", "output from") else "right")
    for row in rows:
        table.add_row(*(terminal_text(c) for c in row.row))
    total = total_cost(rows)
    table.add_section()
    table.add_row(
        "total",
        f"{sum(r.requests for r in rows):,}",
        f"{sum(r.input_tokens for r in rows):,}",
        f"{sum(r.output_tokens for r in rows):,}",
        f"{sum(r.reasoning_tokens for r in rows):,}",
        fmt.cost(total),
        f"budget {fmt.cost(budget)}" if budget is not None else "no budget",
    )
    Console(file=out, width=_width(out), highlight=False, soft_wrap=False).print(table)
    print(
        "No request starts whose expected cost could cross the budget; a run ends over it only by "
        "what answers in flight cost beyond their estimate.",
        file=out,
    )


def _width(out: IO[str]) -> int:
    """The terminal's width; a pipe or a file gets the table unwrapped."""
    try:
        return max(100, os.get_terminal_size(out.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        return 200


def _check_budget(rows: Sequence[LaneEstimate], suite: Suite, spent: float, yes: bool) -> None:
    budget = suite.budget_usd
    if budget is None or yes:
        return
    total = total_cost(rows)
    if total is None:
        unpriced = ", ".join(r.lane for r in rows if r.cost_usd is None and r.requests)
        raise StudyUsageError(
            f"can't check the budget of {fmt.cost(budget)}: no price for {unpriced}; "
            "add --yes to run anyway, or add a price in config.toml"
        )
    if spent + total > budget:
        already = f" (with {fmt.cost(spent)} already spent)" if spent else ""
        raise StudyUsageError(
            f"the estimate of {fmt.cost(total)}{already} exceeds the budget of {fmt.cost(budget)}; "
            "nothing was sent; add --yes to run anyway (the run still stops when the budget is spent)"
            + ("" if not spent else ", or give a new budget with --budget USD")
        )


# -- run and resume ----------------------------------------------------------------------


def _load_suite(path: str, config: Config) -> Suite:
    """A suite file, or the name of a shipped suite (``demo``, ``reasoning-vs-plain``) so
    that an installed chatlab needs no path into its own package. A file of that name
    in the working folder wins; a folder or anything else that isn't a file doesn't."""
    from chatlab.core.studies.suites import shipped_suites

    file = Path(path)
    try:
        is_file, exists = file.is_file(), file.exists()
    except OSError:  # a name too long, a folder we may not read: load_suite says so
        is_file, exists = False, True
    by_name = {p.stem: p for p in shipped_suites()}
    if not is_file and path in by_name:
        file = by_name[path]
    elif not exists and "/" not in path and not path.endswith(".toml"):
        known = ", ".join(sorted(by_name)) or "none"
        raise StudyUsageError(
            f"no suite file {terminal_text(repr(path))}, and no shipped suite of that name (shipped: {known})"
        )
    try:
        return load_suite(file, config)
    except SuiteError as exc:
        hint = ""
        if not is_file and by_name:
            hint = f" (shipped suites, by name: {', '.join(sorted(by_name))})"
        raise StudyUsageError(str(exc) + hint) from None


def _run(args: Any, stdout: IO[str], stderr: IO[str]) -> int:
    config = load_config()
    suite = _load_suite(args.suite, config)
    name = (suite.name if args.name is None else args.name).strip()
    if not name or len(name) > 200:
        raise StudyUsageError("--name must be 1 to 200 characters")
    study_id = new_id()
    with _store(readonly_ok=args.dry_run) as store:
        if not args.dry_run:
            name = store.free_study_name(name)  # "Name (2)" when taken: the comparisons' titles say it too
        sessions = comparisons(suite, study_id, name)
        pending = work(sessions)
        if suite.description:
            print(terminal_text(suite.description), file=stderr)
        rows = estimate(suite, pending, config, store.model_history)
        print_estimate(rows, stdout, suite.budget_usd)
        if args.dry_run:
            try:
                _check_budget(rows, suite, 0.0, args.yes)
                verdict = ""
            except StudyUsageError as exc:
                verdict = f"; a run would be refused: {exc}"
            print(f"dry run: nothing was sent{verdict}", file=stderr)
            return 0
        _check_budget(rows, suite, 0.0, args.yes)
        runner, server = _runner(config, suite)
        try:
            try:
                name = store.create_study(study_id, name, suite_data(suite), sessions, reveal=suite.reveal)
            except (sqlite3.Error, OSError) as exc:
                raise StudyUsageError(
                    f"{store.path}: {reason_words(error_reason(exc, store.path))}; the study was not created "
                    "and nothing was sent"
                ) from None
            print(f"study {name!r} ({study_id[:8]}): {len(pending)} units", file=stderr)
            return _drive(store, runner, store.study(study_id), suite, sessions, stdout, stderr, rows, args)
        finally:
            if server is not None:
                server.stop_thread()


def _resume(args: Any, stdout: IO[str], stderr: IO[str]) -> int:
    config = load_config()
    with _store() as store:
        info = find_study(store, args.name)
        if not info.runnable:
            raise StudyUsageError(f"study {info.name!r} was imported: it has no suite to run")
        try:
            suite = snapshot_suite(info, config)
        except SuiteError as exc:
            raise StudyUsageError(f"study {info.name!r}: its suite can't be read back: {exc}") from None
        problems: list[str] = []
        sessions = store.study_sessions(info.id, problems)
        for problem in problems:
            print(f"chatlab: {terminal_text(problem)}", file=stderr)
        if args.budget is not None:
            if not (0 < args.budget <= 1_000_000):
                raise StudyUsageError("--budget must be more than 0 and at most 1,000,000 dollars")
            try:
                store.set_study_budget(info.id, args.budget)
            except (sqlite3.Error, OSError) as exc:
                raise StudyUsageError(
                    f"{store.path}: {reason_words(error_reason(exc, store.path))}"
                ) from None
            info = store.study(info.id)
            suite = snapshot_suite(info, config)
            print(f"budget of {info.name!r} is now {fmt.cost(args.budget)}", file=stderr)
        pending = work(sessions, retry_failed=args.retry_failed)
        if not pending:
            print(f"study {info.name!r} has nothing left to send", file=stderr)
            _finish_status(store, info.id, "done")
            return 0 if not info.failed else 1
        rows = estimate(suite, pending, config, store.model_history)
        print_estimate(rows, stdout, suite.budget_usd)
        _check_budget(rows, suite, info.spent_usd, args.yes)
        runner, server = _runner(config, suite)
        try:
            return _drive(store, runner, info, suite, sessions, stdout, stderr, rows, args)
        finally:
            if server is not None:
                server.stop_thread()


def _runner(config: Config, suite: Suite) -> tuple[Runner, DemoServer | None]:
    """A runner for the suite's lanes (the demo server started if they need it); a lane
    that can't run (no key) is a ConfigError here, before anything is written."""
    from chatlab.core.data.model import Lane
    from chatlab.demo.setup import start_if_needed
    from chatlab.providers import make_adapter

    lanes = [Lane(e.provider, e.model, e.params, e.label) for e in suite.lanes]
    runner = Runner(config, KeyStore(), make_adapter)
    for lane in lanes:
        if lane.provider != "demo" or config.provider("demo").base_url:
            runner.check_lane(lane)
    config, server = start_if_needed(config, lanes)
    return Runner(config, KeyStore(), make_adapter), server


def _finish_status(store: Store, study_id: str, status: str) -> None:
    with contextlib.suppress(sqlite3.Error, OSError):
        store.set_study_status(study_id, status)


def _drive(
    store: Store,
    runner: Runner,
    info: StudyInfo,
    suite: Suite,
    sessions: Sequence[Any],
    stdout: IO[str],
    stderr: IO[str],
    rows: Sequence[LaneEstimate],
    args: Any,
) -> int:
    try:
        other = store.claim_study(info.id, os.getpid(), alive)
    except (sqlite3.Error, OSError) as exc:
        raise StudyUsageError(
            f"{store.path}: {reason_words(error_reason(exc, store.path))}; nothing was sent"
        ) from None
    if other is not None:
        raise StudyUsageError(
            f"study {info.name!r} is running in another chatlab (process {other}); nothing was sent"
        )
    saver = Checkpointer(store)
    bar = _Bar(stderr, info.name)
    run = StudyRun(
        runner,
        suite,
        sessions,
        saver,
        spent_usd=info.spent_usd,
        retry_failed=getattr(args, "retry_failed", False),
        idle_timeout_s=args.idle_timeout,
        on_change=bar.update,
        estimates=rows,
    )
    outcome = "paused"
    try:
        with bar:
            outcome = asyncio.run(_go(run, runner))
    except KeyboardInterrupt:
        outcome = "paused"
    finally:
        saver.finish()
    p = run.progress
    # Done only when nothing is left to send: units to retry keep it open for resume.
    status = "done" if outcome == "done" and not p.to_retry else "paused"
    _finish_status(store, info.id, status)
    spent = p.spent_usd
    with contextlib.suppress(sqlite3.Error, OSError, KeyError):
        spent = store.study(info.id).spent_usd  # what is on disk, stopped answers included
    stdout.write(
        f"{terminal_text(info.name)}: {p.done} of {p.total} answered, {p.failed} failed, "
        + (f"{p.to_retry} to retry, " if p.to_retry else "")
        + f"spent {fmt.cost(spent)}"
        + (f" (+{p.unpriced} with no price)" if p.unpriced else "")
        + (f" of {fmt.cost(suite.budget_usd)}" if suite.budget_usd is not None else "")
        + "\n"
    )
    for line in p.failures:
        stdout.write(f"  failed {terminal_text(line)[:200]}\n")
    for line in p.retries:
        stdout.write(f"  to retry {terminal_text(line)[:200]}\n")
    if outcome == "budget":
        print(
            f"chatlab: stopped: the budget of {fmt.cost(suite.budget_usd)} is spent or another request "
            f"could cross it; {p.left} units not sent; to go on, give it a bigger one: "
            f"`chatlab study resume {info.name!r} --budget USD`",
            file=stderr,
        )
    elif outcome != "done":
        print(f"chatlab: paused; `chatlab study resume {info.name!r}` sends the rest", file=stderr)
    elif p.to_retry:
        print(
            f"chatlab: {p.to_retry} unit{'s' if p.to_retry != 1 else ''} failed twice in a way worth "
            f"another try; `chatlab study resume {info.name!r}` sends {'them' if p.to_retry != 1 else 'it'}",
            file=stderr,
        )
    if saver.problem:
        print(f"chatlab: {saver.problem}", file=stderr)
    return 0 if outcome == "done" and not p.failed and not p.to_retry and not saver.problem else 1


async def _go(run: StudyRun, runner: Runner) -> str:
    try:
        return await run.run()
    finally:
        await runner.aclose()


class _Bar:
    """A rich progress bar on a terminal: done/total, failures, dollars so far, time left.
    Not a terminal (a pipe, a test): one line every 10 %."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self.stream = stream
        self.name = terminal_text(name)[:40]
        self.live = stream.isatty() and not os.environ.get("CHATLAB_NO_PROGRESS")
        self._progress: Any = None
        self._task: Any = None
        self._said = -1
        self._last = 0.0

    def __enter__(self) -> _Bar:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "{task.fields[failed]} failed · {task.fields[spent]} · {task.fields[flying]} in flight"
                ),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.name, total=1, failed=0, spent="$0", flying=0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, p: Progress) -> None:
        if self._progress is not None:
            self._progress.update(
                self._task,
                total=p.total,
                completed=p.done + p.failed,
                failed=p.failed,
                spent=fmt.cost(p.spent_usd),
                flying=p.in_flight,
            )
            return
        tenth = (p.done + p.failed) * 10 // max(1, p.total)
        if tenth != self._said and time.monotonic() - self._last >= 0.0:
            self._said = tenth
            self._last = time.monotonic()
            eta = p.eta_s()
            with contextlib.suppress(Exception):
                self.stream.write(
                    f"{self.name}: {p.done + p.failed}/{p.total}, {p.failed} failed, {fmt.cost(p.spent_usd)}"
                    + (f", about {fmt.duration(eta)} left" if eta else "")
                    + "\n"
                )


# -- list and show -----------------------------------------------------------------------


def _state(info: StudyInfo) -> str:
    if info.status == "running" and not alive(info.pid):
        return "stopped"  # the process running it was killed: resume it
    return info.status


def _list(stdout: IO[str]) -> int:
    from chatlab.store.db import default_path

    if not default_path().exists():
        stdout.write("no studies yet\n")
        return 0
    with _store(readonly_ok=True) as store:
        infos = store.studies()
    if not infos:
        stdout.write("no studies yet\n")
    for s in infos:
        budget = f" of {fmt.cost(s.budget_usd)}" if s.budget_usd is not None else ""
        stdout.write(
            f"{s.id[:8]}  {terminal_text(s.created_at[:16].replace('T', ' '))}  {_state(s):<9} "
            f"{s.done}/{s.units} answered  {s.failed} failed  "
            + (f"{s.to_retry} to retry  " if s.to_retry else "")
            + f"{fmt.cost(s.spent_usd)}{budget}  "
            f"{terminal_text(s.name)}\n"
        )
    return 0


def _show(name: str, stdout: IO[str]) -> int:
    problems: list[str] = []
    with _store(readonly_ok=True) as store:
        info = find_study(store, name)
        sessions = store.study_sessions(info.id, problems)
    w = stdout.write
    w(f"study    {terminal_text(info.name)}  ({info.id})\n")
    w(f"status   {_state(info)}  created {terminal_text(info.created_at)}\n")
    budget = f" of {fmt.cost(info.budget_usd)}" if info.budget_usd is not None else ""
    retry = f"{info.to_retry} to retry, " if info.to_retry else ""
    w(f"answers  {info.done} of {info.units}, {info.failed} failed, {retry}{info.left} left\n")
    unpriced = f" (+{info.unpriced} with no price)" if info.unpriced else ""
    w(f"spent    {fmt.cost(info.spent_usd)}{budget}{unpriced}\n")
    prompts = info.suite.get("prompts")
    samples = info.suite.get("samples")
    if isinstance(prompts, list) and type(samples) is int:
        w(f"suite    {len(prompts)} prompts × {samples} samples, reveal {info.reveal}\n")
    elif not info.runnable:
        w(f"suite    imported: {len(sessions)} comparisons to rate, reveal {info.reveal}\n")
    if sessions:
        w("lanes\n")
        widest = max(sessions, key=lambda s: len(s.lanes))
        for i, lane in enumerate(widest.lanes):
            have = [s for s in sessions if i < len(s.lanes) and s.turns]
            done = sum(unit_state(s.turns[0].responses.get(s.lanes[i].id)) == "done" for s in have)
            w(f"  {i}  {terminal_text(lane.display)}  ({terminal_text(lane.spec)})  {done}/{len(have)}\n")
    for state, heading in (("failed", "failed"), ("transient", "to retry")):
        rows = [
            (s, lane, s.turns[0].responses[lane.id])
            for s in sessions
            if s.turns
            for lane in s.lanes
            if unit_state(s.turns[0].responses.get(lane.id)) == state
        ]
        if rows:
            w(f"{heading}\n")
        for s, lane, resp in rows:
            where = f"{s.study.prompt_id}/{s.lanes.index(lane)}/{s.study.sample}" if s.study else s.id
            error = f"{resp.error.kind.value}: {resp.error.message}" if resp.error else resp.status.value
            w(f"  {terminal_text(where)}  {terminal_text(error)[:160]}\n")
    votes: dict[str, int] = {}
    for s in sessions:
        for vote in s.turns[0].votes if s.turns else ():
            if not vote.repeat:
                votes[vote.rater] = votes.get(vote.rater, 0) + 1
    ready = sum(1 for s in sessions if rateable(s))
    if votes:
        from chatlab.core.settings.raters import labels

        # Names, never ids; two raters who go by one name are shown apart.
        shown = labels((v.rater, v.rater_name) for s in sessions for t in s.turns for v in t.votes)
        raters = ", ".join(
            f"{terminal_text(name)} {n}" for name, n in sorted((shown.get(r, r), n) for r, n in votes.items())
        )
        w(f"rated    {raters} (of {ready} comparisons ready to rate)\n")
    else:
        w(f"rated    nobody yet ({ready} comparisons ready to rate: `chatlab rate`)\n")
    for problem in problems:
        w(f"damaged  {terminal_text(problem)}\n")
    return 1 if problems else 0
