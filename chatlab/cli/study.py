"""``chatlab study``: run a suite unattended, list studies, show one, resume one.

``study run SUITE`` checks the suite, prints what it will take per lane and in total
(requests, input, output and reasoning tokens, dollars, and the basis of each output
figure) before anything is sent, refuses with exit 2 when that exceeds the suite's
budget unless ``--yes`` is given, then creates the study's comparisons and sends every
unit with a progress bar (rich): done of total, failures, dollars so far, time left.
Ctrl-C cancels (the study keeps ``cancelled``, as the window's Cancel does): what is in
flight is cut off, and ``study resume`` sends exactly the units still missing. Exit
codes: 0 when every unit has an answer, 1 when some failed or the budget stopped the
run, 2 for a usage or configuration problem. The lifecycle itself is
:class:`~chatlab.core.studies.controller.StudyController`'s; this module presents it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import IO, Any

from chatlab.cli.common import Bar, UsageError, explain, open_store
from chatlab.cli.study_args import MAX_RATER, add_parser, add_rate_parser
from chatlab.core.data import format as fmt
from chatlab.core.data.safety import terminal_text
from chatlab.core.data.votes import is_judge
from chatlab.core.judging.plan import spend_words
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import Config, load_config
from chatlab.core.studies.controller import Plan, StudyController, find_study, shown_status
from chatlab.core.studies.estimate import LaneEstimate, total_cost
from chatlab.core.studies.rating import rateable
from chatlab.core.studies.run import Progress, StudyRun
from chatlab.core.studies.study import unit_state
from chatlab.core.studies.suites import Suite, SuiteError, load_suite
from chatlab.demo.server import DemoServer
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store

__all__ = [
    "MAX_RATER",
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
        raise UsageError("no studies yet: run one with `chatlab study run demo`")
    with closing(open_store(readonly_ok=True)) as store:
        if args.marked:
            if args.study:
                raise UsageError("give a study or --marked, not both")
            if not store.marked_turns():
                raise UsageError("no turn is marked to rate (Rate later, under a turn's answers)")
            info = None
        elif args.study:
            info = find_study(store, args.study)
        else:
            candidates = [s for s in store.studies() if s.done]
            if not candidates:
                raise UsageError("no study has answers to rate yet (see `chatlab study list`)")
            info = candidates[0]
    if sys.platform.startswith("linux") and not any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    ):
        raise UsageError("no display: `chatlab rate` opens a window; run it on a desktop, or over `ssh -X`")
    if args.rater is not None and not 0 < len(args.rater.strip()) <= MAX_RATER:
        raise UsageError(f"--rater must be 1 to {MAX_RATER} characters")
    import importlib

    app = importlib.import_module("chatlab.app")
    print(f"rating {terminal_text(info.name)!r}" if info else "rating the turns marked to rate", file=stderr)
    return int(app.rate_main(info.id if info else None, (args.rater or "").strip()))


def cmd_study(args: Any, stdout: IO[str], stderr: IO[str]) -> int:
    idle = getattr(args, "idle_timeout", None)
    if idle is not None and not 0 < idle <= 86_400:  # also NaN
        raise UsageError("--idle-timeout must be more than 0 and at most 86,400 seconds")
    if args.study_command == "run":
        return _run(args, stdout, stderr)
    if args.study_command == "list":
        return _list(stdout)
    if args.study_command == "show":
        return _show(args.name, stdout)
    if args.study_command == "resume":
        return _resume(args, stdout, stderr)
    if args.study_command == "grade":
        return _grade(args, stdout, stderr)
    raise UsageError(f"unknown study command {args.study_command!r}")


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


def print_warnings(warnings: Sequence[str], out: IO[str]) -> None:
    """The plan's show-reasoning warnings: one line per lane whose reasoning won't be on
    screen, so a guess about the thinking is unfair to it (nothing when there are none)."""
    for line in warnings:
        print(f"warning (show reasoning, an unfair guess): {terminal_text(line)}", file=out)


def _width(out: IO[str]) -> int:
    """The terminal's width; a pipe or a file gets the table unwrapped."""
    try:
        return max(100, os.get_terminal_size(out.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        return 200


def _check_budget(plan: Plan, yes: bool) -> None:
    problem = plan.budget_problem()
    if problem is None or yes:
        return
    if problem.total is None:
        raise UsageError(
            f"can't check the budget of {fmt.cost(problem.budget)}: "
            f"no price for {', '.join(problem.unpriced)}; "
            "add --yes to run anyway, or add a price in config.toml"
        )
    already = f" (with {fmt.cost(problem.spent)} already spent)" if problem.spent else ""
    raise UsageError(
        f"the estimate of {fmt.cost(problem.total)}{already} "
        f"exceeds the budget of {fmt.cost(problem.budget)}; "
        "nothing was sent; add --yes to run anyway (the run still stops when the budget is spent)"
        + ("" if not problem.spent else ", or give a new budget with --budget USD")
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
        raise UsageError(
            f"no suite file {terminal_text(repr(path))}, and no shipped suite of that name (shipped: {known})"
        )
    try:
        return load_suite(file, config)
    except SuiteError as exc:
        hint = ""
        if not is_file and by_name:
            hint = f" (shipped suites, by name: {', '.join(sorted(by_name))})"
        raise UsageError(str(exc) + hint) from None


def _controller(store: Store, config: Config) -> StudyController:
    return StudyController(store, lambda: config, explain=lambda exc: explain(store, exc))


def _run(args: Any, stdout: IO[str], stderr: IO[str]) -> int:
    config = load_config()
    suite = _load_suite(args.suite, config)
    name = (suite.name if args.name is None else args.name).strip()
    if not name or len(name) > 200:
        raise UsageError("--name must be 1 to 200 characters")
    with closing(open_store(readonly_ok=args.dry_run)) as store:
        studies = _controller(store, config)
        # Not a dry run: "Name (2)" when taken (the comparisons' titles say it too).
        plan = studies.plan_new(suite, name, dry_run=args.dry_run)
        if suite.description:
            print(terminal_text(suite.description), file=stderr)
        print_estimate(plan.estimates, stdout, suite.budget_usd)
        print_warnings(plan.warnings, stdout)
        if args.dry_run:
            try:
                _check_budget(plan, args.yes)
                verdict = ""
            except UsageError as exc:
                verdict = f"; a run would be refused: {exc}"
            print(f"dry run: nothing was sent{verdict}", file=stderr)
            return 0
        _check_budget(plan, args.yes)
        runner, server = _runner(config, suite)
        try:
            info = studies.create(plan)
            print(f"study {info.name!r} ({info.id[:8]}): {len(plan.pending)} units", file=stderr)
            return _drive(studies, Checkpointer(store), runner, plan, stdout, stderr, args)
        finally:
            if server is not None:
                server.stop_thread()


def _resume(args: Any, stdout: IO[str], stderr: IO[str]) -> int:
    config = load_config()
    with closing(open_store()) as store:
        studies = _controller(store, config)
        plan = studies.plan_resume(studies.find(args.name), retry_failed=args.retry_failed)
        for problem in plan.problems:
            print(f"chatlab: {terminal_text(problem)}", file=stderr)
        if args.budget is not None:
            plan = studies.set_budget(plan, args.budget)
            print(f"budget of {plan.name!r} is now {fmt.cost(args.budget)}", file=stderr)
        if not plan.pending:
            print(f"study {plan.name!r} has nothing left to send", file=stderr)
            studies.mark_done(plan)
            return 0 if plan.info is None or not plan.info.failed else 1
        print_estimate(plan.estimates, stdout, plan.suite.budget_usd)
        print_warnings(plan.warnings, stdout)
        _check_budget(plan, args.yes)
        runner, server = _runner(config, plan.suite)
        try:
            return _drive(studies, Checkpointer(store), runner, plan, stdout, stderr, args)
        finally:
            if server is not None:
                server.stop_thread()


def _grade(args: Any, stdout: IO[str], stderr: IO[str]) -> int:
    """Grade a study's answers again by its keys (or a suite file's, ``--suite``)."""
    config = load_config()
    with closing(open_store()) as store:
        studies = _controller(store, config)
        info = studies.find(args.name)
        suite = _load_suite(args.suite, config) if args.suite else None
        result = studies.regrade(info, suite)
    if not result.keyed_prompts:
        print(f"study {info.name!r} has no prompt with an answer key: nothing to grade", file=stderr)
        return 0
    share = f" ({result.correct / result.graded:.0%})" if result.graded else ""
    plural = "s" if result.keyed_prompts != 1 else ""
    stdout.write(
        f"graded {result.graded} answers of {result.keyed_prompts} keyed prompt{plural}: "
        f"{result.correct} right{share}\n"
    )
    if result.ungraded:
        stdout.write(f"{result.ungraded} answers of keyed prompts failed: they have no grade\n")
    if result.changed:
        by = ", ".join(f"{terminal_text(k)} {n}" for k, n in sorted(result.changed_by_prompt.items()))
        stdout.write(f"{result.changed} grades changed: {by}\n")
    else:
        stdout.write("no grade changed\n")
    return 0


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


def _drive(
    studies: StudyController,
    saver: Checkpointer,
    runner: Runner,
    plan: Plan,
    stdout: IO[str],
    stderr: IO[str],
    args: Any,
) -> int:
    name = plan.name
    bar, update = _bar(stderr, name)
    run = studies.prepare(plan, runner, saver, idle_timeout_s=args.idle_timeout, on_change=update)
    outcome = "cancelled"  # Ctrl-C cuts off what is in flight
    try:
        with bar:
            outcome = asyncio.run(_go(run, runner))
    except KeyboardInterrupt:
        outcome = "cancelled"
    finally:
        saver.finish()
    p = run.progress
    studies.finish(plan.study_id, outcome, p)
    spent = studies.spent(plan.study_id, p.spent_usd)  # what is on disk, stopped answers included
    budget = plan.suite.budget_usd
    stdout.write(
        f"{terminal_text(name)}: {p.done} of {p.total} answered, {p.failed} failed, "
        + (f"{p.to_retry} to retry, " if p.to_retry else "")
        + f"spent {fmt.cost(spent)}"
        + (f" (+{p.unpriced} with no price)" if p.unpriced else "")
        + (f" of {fmt.cost(budget)}" if budget is not None else "")
        + "\n"
    )
    for line in p.failures:
        stdout.write(f"  failed {terminal_text(line)[:200]}\n")
    for line in p.retries:
        stdout.write(f"  to retry {terminal_text(line)[:200]}\n")
    if outcome == "budget":
        print(
            f"chatlab: stopped: the budget of {fmt.cost(budget)} is spent or another request "
            f"could cross it; {p.left} units not sent; to go on, give it a bigger one: "
            f"`chatlab study resume {name!r} --budget USD`",
            file=stderr,
        )
    elif outcome != "done":
        print(f"chatlab: stopped; `chatlab study resume {name!r}` sends the rest", file=stderr)
    elif p.to_retry:
        print(
            f"chatlab: {p.to_retry} unit{'s' if p.to_retry != 1 else ''} failed twice in a way worth "
            f"another try; `chatlab study resume {name!r}` sends {'them' if p.to_retry != 1 else 'it'}",
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


def _bar(stream: IO[str], name: str) -> tuple[Bar, Callable[[Progress], None]]:
    """The progress bar of a study run, and what feeds it: units done of total,
    failures, dollars so far, requests in flight, time left."""
    bar = Bar(stream, name)

    def update(p: Progress) -> None:
        done = p.done + p.failed
        spent = fmt.cost(p.spent_usd)
        eta = p.eta_s()
        bar.show(
            p.total,
            done,
            f"{p.failed} failed · {spent} · {p.in_flight} in flight",
            f"{done}/{p.total}, {p.failed} failed, {spent}"
            + (f", about {fmt.duration(eta)} left" if eta else ""),
        )

    return bar, update


# -- list and show -----------------------------------------------------------------------


def _list(stdout: IO[str]) -> int:
    from chatlab.store.db import default_path

    if not default_path().exists():
        stdout.write("no studies yet\n")
        return 0
    with closing(open_store(readonly_ok=True)) as store:
        infos = store.studies()
    if not infos:
        stdout.write("no studies yet\n")
    for s in infos:
        budget = f" of {fmt.cost(s.budget_usd)}" if s.budget_usd is not None else ""
        stdout.write(
            f"{s.id[:8]}  {terminal_text(s.created_at[:16].replace('T', ' '))}  {shown_status(s):<9} "
            f"{s.done}/{s.units} answered  {s.failed} failed  "
            + (f"{s.to_retry} to retry  " if s.to_retry else "")
            + f"{fmt.cost(s.spent_usd)}{budget}  "
            f"{terminal_text(s.name)}\n"
        )
    return 0


def _show(name: str, stdout: IO[str]) -> int:
    from chatlab.core.analysis.votes import model_id

    problems: list[str] = []
    with closing(open_store(readonly_ok=True)) as store:
        info = find_study(store, name)
        sessions = store.study_sessions(info.id, problems)
    w = stdout.write
    w(f"study    {terminal_text(info.name)}  ({info.id})\n")
    w(f"status   {shown_status(info)}  created {terminal_text(info.created_at)}\n")
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
            # The lane as a contender: its parameters tell two lanes of one model apart.
            what = terminal_text(model_id(lane))
            w(f"  {i}  {terminal_text(lane.display)}  ({what})  {done}/{len(have)}\n")
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
    judged: dict[str, int] = {}
    for s in sessions:
        for vote in s.turns[0].votes if s.turns else ():
            if not vote.repeat:
                into = judged if is_judge(vote.rater) else votes
                into[vote.rater] = into.get(vote.rater, 0) + 1
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
    if judged:
        with closing(open_store(readonly_ok=True)) as store:
            spend = store.judge_spend(info.id)
        for rater, n in sorted(judged.items()):
            cost = spend_words(*spend.get(rater, (0.0, 0, 0)))
            w(f"judged   {terminal_text(rater)} {n}; its own spend {cost} (`chatlab stats` checks it)\n")
    for problem in problems:
        w(f"damaged  {terminal_text(problem)}\n")
    return 1 if problems else 0
