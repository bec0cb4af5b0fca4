"""``chatlab judge STUDY -m PROVIDER:MODEL``: a model rates a study's comparisons blind.

It prints what is done and what is left (comparisons finished, judged, to judge, judged
again for new answers), then the estimate of the calls still missing (before anything
is sent) and the judge's spend so far; an estimate over ``--budget`` is refused with
exit 2 unless ``--yes``. Then it sends the calls with a progress bar, keeping each the
moment it ends: Ctrl-C, or a kill, loses only the calls in flight, and running the same
command again sends exactly what is missing. Exit codes: 0 when every finished
comparison has its judging (a vote, or no verdict with its reason), 1 when calls are
left (stopped, the budget, calls worth another try, or the provider refused the judge),
2 for a usage or configuration problem. The work is
:class:`~chatlab.core.judging.controller.JudgeController`'s; this module presents it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import closing
from typing import IO, Any

from chatlab.cli.common import Bar, UsageError, explain, open_store
from chatlab.core.data import format as fmt
from chatlab.core.data.safety import terminal_text
from chatlab.core.judging.compose import judge_name
from chatlab.core.judging.controller import JudgeController
from chatlab.core.judging.plan import JudgePlan, spend_words
from chatlab.core.judging.run import JudgeProgress, JudgeRun
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import load_config


def cmd_judge(args: Any, stdout: IO[str], stderr: IO[str]) -> int:
    if args.timeout is not None and not 0 < args.timeout <= 86_400:  # also NaN
        raise UsageError("--timeout must be more than 0 and at most 86,400 seconds")
    config = load_config()
    with closing(open_store(readonly_ok=args.dry_run)) as store:
        judges = JudgeController(store, lambda: config, explain=lambda exc: explain(store, exc))
        plan = judges.plan(args.study, args.model, args.rubric, args.budget)
        print_plan(plan, stdout)
        problem = plan.budget_problem()
        if args.dry_run:
            verdict = f"; a run would be refused: {problem}" if problem and not args.yes else ""
            print(f"dry run: nothing was sent{verdict}", file=stderr)
            return 0
        if not plan.calls:
            print(
                f"{judge_name(plan.rater)} has judged every finished comparison of {plan.study_name!r}",
                file=stderr,
            )
            return 0
        if problem and not args.yes:
            raise UsageError(
                problem
                + "; add --yes to run anyway (the run still stops before a call that could cross the budget)"
            )
        runner, server = _runner(config, plan)
        judges.claim(plan)
        try:
            concurrency = judges.concurrency(plan, args.concurrency)
            bar, update = _bar(stderr, judge_name(plan.rater))
            run = judges.prepare(
                plan, runner, concurrency=concurrency, timeout_s=args.timeout, on_change=update
            )
            outcome = "cancelled"
            try:
                with bar:
                    outcome = asyncio.run(_go(run, runner))
            except KeyboardInterrupt:
                outcome = "cancelled"
        finally:
            judges.release(plan)
            if server is not None:
                server.stop_thread()
        return _report(plan, run, outcome, stdout, stderr, args)


def print_plan(plan: JudgePlan, out: IO[str]) -> None:
    """What is done and what is left, and the estimate of what is left."""
    w = out.write
    name = terminal_text(judge_name(plan.rater))
    w(
        f"judge    {terminal_text(plan.judge.spec)} as rater {terminal_text(plan.rater)!r}, "
        f"rubric {plan.rubric.name}\n"
    )
    w(
        f"study    {terminal_text(plan.study_name)}: {plan.comparisons} comparisons, {plan.finished} finished"
        + (f" ({plan.not_finished} not finished: judged once they are)" if plan.not_finished else "")
        + "\n"
    )
    again = f", {plan.stale} again for new answers" if plan.stale else ""
    nv = f" ({plan.no_verdict} with no verdict)" if plan.no_verdict else ""
    w(f"judged   {plan.judged}{nv}; to judge {len(plan.items)}{again}\n")
    e = plan.estimate
    if plan.calls:
        orders = {len(item.orders) for item in plan.items}
        each = "/".join(str(n) for n in sorted(orders))
        w(
            f"estimate {e.calls:,} calls ({each} orders each), {e.input_tokens:,} input tok, "
            f"{e.output_tokens:,} output tok, {fmt.cost(e.cost_usd)}; output from {e.basis}\n"
        )
    for line in plan.warnings:
        w(f"note     {line}\n")
    budget = f" of {fmt.cost(plan.budget_usd)}" if plan.budget_usd is not None else ""
    spent = spend_words(plan.spent_usd, plan.unpriced, plan.spent_calls)
    w(f"spent    {spent}{budget} by {name} on this study (the judge's own spend, never a contender's cost)\n")


def _runner(config: Any, plan: JudgePlan) -> tuple[Runner, Any]:
    from chatlab.demo.setup import start_if_needed
    from chatlab.providers import make_adapter

    runner = Runner(config, KeyStore(), make_adapter)
    if plan.judge.provider != "demo" or config.provider("demo").base_url:
        runner.check_lane(plan.judge)
    config, server = start_if_needed(config, [plan.judge])
    return Runner(config, KeyStore(), make_adapter), server


async def _go(run: JudgeRun, runner: Runner) -> str:
    try:
        return await run.run()
    finally:
        await runner.aclose()


def _report(plan: JudgePlan, run: JudgeRun, outcome: str, stdout: IO[str], stderr: IO[str], args: Any) -> int:
    p = run.progress
    name = terminal_text(judge_name(plan.rater))
    spent = spend_words(p.spent_usd, p.unpriced, p.calls + plan.spent_calls)
    stdout.write(f"{name}: {p.done} judged, {p.no_verdict} no verdict, {p.left} left; judge spend {spent}\n")
    if p.done:
        why = f" ({p.inconsistent} because its orders disagreed)" if p.inconsistent else ""
        stdout.write(f"  {p.done - p.ties} chose an answer, {p.ties} ties{why}\n")
    for line in p.problems:
        stdout.write(f"  no verdict {terminal_text(line)[:240]}\n")
    for line in p.to_retry:
        stdout.write(f"  to retry {terminal_text(line)[:240]}\n")
    again = (
        f"`chatlab judge {plan.study_name!r} -m {args.model!r}"
        + (f" --rubric {plan.rubric.name}" if args.rubric else "")
        + "`"
    )
    if outcome == "budget":
        print(
            f"chatlab: stopped: another call could cross the budget of {fmt.cost(plan.budget_usd)}; "
            f"{again} with a bigger --budget judges the rest",
            file=stderr,
        )
    elif outcome == "error":
        print(
            f"chatlab: stopped: {terminal_text(p.stopped_because)[:300]}; {again} judges the rest",
            file=stderr,
        )
    elif outcome == "refused":
        print(
            f"chatlab: the judge's provider refused its calls ({terminal_text(p.stopped_because)[:300]}); "
            "nothing more was sent",
            file=stderr,
        )
    elif outcome != "done":
        print(f"chatlab: stopped; {again} judges the rest", file=stderr)
    elif p.to_retry:
        print(
            f"chatlab: {len(p.to_retry)} calls failed in a way worth another try; {again} sends them",
            file=stderr,
        )
    return 0 if outcome == "done" and not p.to_retry else 1


def _bar(stream: IO[str], name: str) -> tuple[Bar, Callable[[JudgeProgress], None]]:
    """The progress bar of a judge run, and what feeds it: comparisons judged of total,
    no verdicts, spend, calls in flight."""
    bar = Bar(stream, name)

    def update(p: JudgeProgress) -> None:
        done = p.done + p.no_verdict
        spent = fmt.cost(p.spent_usd)
        bar.show(
            p.total,
            done,
            f"{p.no_verdict} no verdict · {spent} · {p.in_flight} in flight",
            f"{done}/{p.total} judged, {p.no_verdict} no verdict, {spent}",
        )

    return bar, update
