"""What the Judge dialog (:mod:`chatlab.ui.studies.judge`) says, and how it reads the
store from a worker thread: the plan in short lines, its warnings, what a judge did
before on a study it has judged, a key that's missing (pointing to Settings), how to
name a model on a provider, a refusal over budget (an unknown price is "no price known
(cost unknown)", never free), and the end of a run, leading with how many comparisons
chose an answer and how many tied. :func:`judge_runner` is the runner a run uses.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chatlab.core.data import format as fmt
from chatlab.core.judging.compose import judge_name
from chatlab.core.judging.plan import JudgePlan, spend_words
from chatlab.core.judging.rubrics import load_rubric, shipped_dir, user_dir
from chatlab.core.judging.run import JudgeRun
from chatlab.core.settings.config import ConfigError

if TYPE_CHECKING:
    from chatlab.core.lab.orchestrator import Runner
    from chatlab.store.db import Store

SETTINGS = "Settings → Providers and keys"
UNKNOWN = "no price known (cost unknown)"  # never read as free
STORE_WAIT_S = 120.0  # a worker waits this long for the loop to read the store for it


class LoopStore:
    """The store for a plan computed in a worker thread: each read is handed to the
    loop's thread and waited for, so the store's one connection is only ever used there
    (the plan's token counting, the slow part, stays in the worker)."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def go() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to the worker, raised there
                    future.set_exception(exc)

        self._loop.call_soon_threadsafe(go)
        return future.result(timeout=STORE_WAIT_S)

    def study(self, key: str) -> Any:
        return self._call(self._store.study, key)

    def study_sessions(self, study_id: str, problems: list[str] | None = None) -> Any:
        return self._call(self._store.study_sessions, study_id, problems)

    def judge_calls(self, study_id: str, rater: str) -> Any:
        return self._call(self._store.judge_calls, study_id, rater)

    def judge_spend(self, study_id: str) -> Any:
        return self._call(self._store.judge_spend, study_id)

    def judge_output_tokens(self, rater: str) -> Any:
        return self._call(self._store.judge_output_tokens, rater)

    def claim_judging(self, study_id: str, rater: str, pid: int, alive: Callable[[int], bool]) -> Any:
        return self._call(self._store.claim_judging, study_id, rater, pid, alive)

    def release_judging(self, study_id: str, rater: str, pid: int) -> None:
        self._call(self._store.release_judging, study_id, rater, pid)

    def save_judge_call(self, *args: Any) -> None:
        raise RuntimeError("a plan only reads")


def rubric_choices() -> list[tuple[str, str]]:
    """Every rubric by name (the user's hide a shipped one of the same name), each with
    its description, or why it can't be read."""
    found: dict[str, str] = {}
    for folder in (user_dir(), shipped_dir()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            if path.stem in found:
                continue
            try:
                found[path.stem] = load_rubric(path).description
            except ConfigError as exc:
                found[path.stem] = f"can't be used: {exc}"
    return sorted(found.items())


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def unknown_price(text: str) -> str:
    """ "no price" as "no price known (cost unknown)": never read as free."""
    return re.sub(r"\bno price\b(?! known)", UNKNOWN, text)


def plan_words(plan: JudgePlan) -> str:
    """The plan in short lines, the CLI's figures: what is finished, judged and left; the
    estimate (calls, tokens, cost); what this judge has spent here so far."""
    head = [f"{plan.finished} comparisons finished"]
    if plan.not_finished:
        head[0] += f" ({plan.not_finished} not finished: judged once they are)"
    nv = f" ({plan.no_verdict} with no verdict)" if plan.no_verdict else ""
    head.append(f"{plan.judged} judged{nv}")
    lines = []
    if plan.items:
        counts = sorted({len(item.orders) for item in plan.items})
        each = times(counts[0]) if len(counts) == 1 else " or ".join(str(n) for n in counts) + " times"
        again = f"; {plan.stale} again for new answers" if plan.stale else ""
        head.append(f"{len(plan.items)} to judge (each judged {each}, once with each answer first{again})")
        e = plan.estimate
        cost = fmt.cost(e.cost_usd, estimated=True) if e.cost_usd is not None else UNKNOWN
        tokens = f"{e.input_tokens:,} input + {e.output_tokens:,} output tokens"
        lines.append(f"Estimate: {e.calls:,} calls · {tokens} · {cost}")
    else:
        head.append("nothing left to judge")
    budget = f" (budget {fmt.cost(plan.budget_usd)})" if plan.budget_usd is not None else ""
    lines.append(f"Spent so far by this judge and rubric on this study: {spent_of(plan)}{budget}")
    lines.append("(its own calls only, never a contender's)")
    return "\n".join([" · ".join(head), *lines])


def spent_of(plan: JudgePlan) -> str:
    return unknown_price(spend_words(plan.spent_usd, plan.unpriced, plan.spent_calls))


def last_words(plan: JudgePlan) -> str:
    """What this judge did on this study before, for a study it has judged already."""
    nv = f", {plan.no_verdict} of them with no verdict" if plan.no_verdict else ""
    return (
        f"Last time here, {judge_name(plan.rater)} with the {plan.rubric.name} rubric judged "
        f"{plan.judged} of {plan.finished} comparisons{nv}, in {plan.spent_calls:,} calls, "
        f"spending {spent_of(plan)}."
    )


def warning_words(plan: JudgePlan) -> str:
    """The plan's warnings, each a sentence ("" when none)."""
    found = list(getattr(plan, "warnings", []) or [])
    return "\n".join("⚠ " + w[:1].upper() + w[1:] + ("" if w.endswith(".") else ".") for w in found)


def key_problem(runner: Runner, plan: JudgePlan) -> str | None:
    """Why the judge can't run on this machine (no key, a bad key…), said with the window's
    way to fix it; None when it can. Reads the configuration and the key store only (no
    call is made). A demo judge with no server of its own gets one when it runs."""
    demo = runner.config.providers.get("demo")
    if plan.judge.provider == "demo" and demo is not None and not demo.base_url:
        return None
    try:
        runner.check_lane(plan.judge)
    except ConfigError as exc:
        return settings_words(str(exc), plan.judge.provider)
    return None


def key_missing(runner: Runner, provider: Any) -> bool:
    """The provider needs a key and none is found (the configuration and the key store
    only: nothing is sent)."""
    try:
        return bool(provider.needs_key) and not runner.keys.source(provider).found
    except Exception:  # a key store that can't be read: Settings says why
        return False


def model_hint(provider: str, listed: list[str]) -> str:
    """How to name a judge model on this provider."""
    if provider == "demo":
        return "choose demo-judge (or type another demo model)"
    if listed:
        return f"choose one from the list or type a model name, e.g. {listed[0]}"
    return "type a model name, e.g. gpt-4.1-mini"


def judge_runner(runner: Runner, plan: JudgePlan) -> tuple[Runner, Any]:
    """The window's runner (its demo provider already on the loopback server), or, for
    a demo judge with no server of its own, a runner with one started for it (and that
    server, to stop after)."""
    demo = runner.config.providers.get("demo")
    if plan.judge.provider == "demo" and demo is not None and not demo.base_url:
        from chatlab.core.lab.orchestrator import Runner
        from chatlab.core.settings.apikeys import KeyStore
        from chatlab.demo.setup import start_if_needed
        from chatlab.providers import make_adapter

        config, server = start_if_needed(runner.config, [plan.judge])
        return Runner(config, KeyStore(), make_adapter), server
    runner.check_lane(plan.judge)  # no key, a bad parameter: ConfigError
    return runner, None


def settings_words(problem: str, provider: str) -> str:
    """A configuration error in the window's words: a missing key points to Settings."""
    if problem.startswith("no API key for provider"):
        return f"No API key for {provider}: add one in {SETTINGS}, then choose the judge again."
    return problem[:1].upper() + problem[1:]


def refusal(plan: JudgePlan) -> str | None:
    """The CLI's refusal of a plan over its budget, with the window's way past it."""
    problem = plan.budget_problem()
    if problem is None:
        return None
    problem = unknown_price(problem)
    problem += "; Run anyway sends it (the run still stops before a call that could cross the budget)"
    return problem[:1].upper() + problem[1:]


def end_words(plan: JudgePlan, run: JudgeRun, outcome: str) -> str:
    """How the run ended: first what was judged and how (an answer chosen, a tie, no
    verdict), then what is left and the spend, then why it stopped."""
    p = run.progress
    ties = p.ties
    chose = max(0, p.done - ties)
    split = f" ({p.inconsistent} because its orders disagreed)" if p.inconsistent else ""
    judged = p.done + p.no_verdict
    line = (
        f"{judge_name(plan.rater)}: {judged} judged this run: {chose} chose an answer, "
        f"{ties} {'tie' if ties == 1 else 'ties'}{split}, {p.no_verdict} no verdict"
    )
    spent = unknown_price(spend_words(p.spent_usd, p.unpriced, p.calls + plan.spent_calls))
    line += f". {p.left} left. This judge with this rubric has spent {spent} on this study."
    if outcome == "budget":
        return line + (
            f" Stopped: another call could cross the budget of {fmt.cost(plan.budget_usd)}; "
            "Judge again with a bigger budget judges the rest."
        )
    if outcome == "refused":
        why = p.stopped_because[:300]
        return line + f" The judge's provider refused its calls ({why}); nothing more was sent."
    if outcome == "error":
        return line + f" Stopped: {p.stopped_because[:300]}. Judge again sends what is left."
    if outcome != "done":
        return line + " Stopped: Judge again sends what is left, including calls that were stopped."
    if p.to_retry:
        return line + f" {len(p.to_retry)} calls failed in a way worth another try: Judge again sends them."
    return line


def main_window(widget: Any) -> Any:
    """The main window above ``widget`` (it opens the Leaderboard and Settings), or None."""
    found = widget.parentWidget()
    while found is not None and not callable(getattr(found, "open_leaderboard", None)):
        found = found.parentWidget()
    return found
