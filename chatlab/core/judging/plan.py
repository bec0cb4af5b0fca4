"""What judging a study will take, before anything is sent: which comparisons a judge
still lacks, which orders of each, and what the calls are estimated to cost.

A comparison is judged once it is finished (:func:`~chatlab.core.studies.rating.not_ready`
says so, the same rule as the blind queue's). Its judging is done when the judge has a
vote on it for the answers it has now, or a call for every order of those answers (the
calls then made no verdict, and say why). Calls for answers since replaced (a lane sent
again) are stale: the comparison is judged again, in every order. Each order's call is
kept the moment it ends, so what :func:`plan` finds missing is exactly what a run
stopped at any moment, even by ``kill -9``, still has to send.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from chatlab.core.costs import pricing
from chatlab.core.costs.tokens import count_messages
from chatlab.core.data.model import Lane, Session
from chatlab.core.judging.compose import Call, answers_of, compose, fingerprint, lane_orders
from chatlab.core.judging.prompt import Shown, judge_messages
from chatlab.core.judging.rubrics import Rubric
from chatlab.core.settings.config import Config
from chatlab.core.studies.estimate import ASSUMED_REASONING
from chatlab.core.studies.rating import not_ready

# Output tokens assumed per verdict with no past verdicts of this judge and no cap: the
# JSON (a reason, and a score per answer and criterion) is short.
ASSUMED_VERDICT_TOKENS = 300


@dataclass
class Item:
    """One finished comparison the judge still lacks: the lanes it compares (in the
    comparison's order), what it is shown of each, the fingerprint of those answers,
    the orders, and the calls already made for them (by position)."""

    session: Session
    lanes: list[str]
    shown: list[Shown]
    seen: str
    have: dict[int, Call] = field(default_factory=dict)
    stale: bool = False  # judged before, for answers since replaced

    @property
    def orders(self) -> list[tuple[str, ...]]:
        return lane_orders(self.lanes)

    @property
    def missing(self) -> list[int]:
        return [k for k in range(len(self.orders)) if k not in self.have]

    def messages(self, rubric: Rubric, position: int) -> tuple[str, str]:
        """(system, user) of this comparison's call in order ``position``."""
        index = {lane: i for i, lane in enumerate(self.lanes)}
        order = [index[lane] for lane in self.orders[position]]
        return judge_messages(
            rubric, self.session.turns[0].prompt, self.shown, order, self.session.show_reasoning
        )


@dataclass(frozen=True)
class Estimate:
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None: no price for the judge model
    basis: str  # where the output figure comes from

    @property
    def per_call_usd(self) -> float | None:
        return self.cost_usd / self.calls if self.cost_usd is not None and self.calls else None


@dataclass
class JudgePlan:
    """What a judge run over one study will send, and what is done already."""

    study_id: str
    study_name: str
    judge: Lane
    rubric: Rubric
    rater: str
    items: list[Item]
    comparisons: int  # in the study
    finished: int  # ready to judge
    judged: int  # of those, judged for their answers now (a vote or no verdict)
    no_verdict: int  # of ``judged``: every order's call made, and no verdict
    stale: int  # judged before, for answers since replaced: judged again
    estimate: Estimate
    spent_usd: float = 0.0  # what this judge's calls on this study have cost so far
    unpriced: int = 0  # of its calls so far, those with no price
    budget_usd: float | None = None
    spent_calls: int = 0  # its calls so far

    @property
    def calls(self) -> int:
        return sum(len(item.missing) for item in self.items)

    @property
    def not_finished(self) -> int:
        return self.comparisons - self.finished

    @property
    def warnings(self) -> list[str]:
        """What to know before sending: comparisons of three answers or more are judged
        in as many orders, and a choice is kept only when every order agrees."""
        widest = max((len(item.lanes) for item in self.items), default=0)
        if widest < 3:
            return []
        return [
            f"{widest} answers per comparison: expect many ties. Each comparison is judged {widest} times, "
            f"once with each answer first, and a choice counts only when all {widest} agree; the more "
            "answers, the more ties. A judge decides most often between two"
        ]

    def budget_problem(self) -> str | None:
        """Why a run would be refused (the estimate, with the spend so far, is over the
        budget, or can't be checked against it), or None; the window and the CLI each add
        how to run it anyway."""
        if self.budget_usd is None or not self.calls:
            return None
        from chatlab.core.data import format as fmt

        if self.estimate.cost_usd is None:
            return (
                f"can't check the budget of {fmt.cost(self.budget_usd)}: no price for {self.judge.spec} "
                "(a price can be added in config.toml)"
            )
        total = self.estimate.cost_usd + self.spent_usd
        if total > self.budget_usd:
            already = f" (with {fmt.cost(self.spent_usd)} already spent)" if self.spent_usd else ""
            return (
                f"the estimate of {fmt.cost(self.estimate.cost_usd)}{already} exceeds the budget of "
                f"{fmt.cost(self.budget_usd)}; nothing was sent"
            )
        return None


def plan(
    study_id: str,
    study_name: str,
    sessions: Sequence[Session],
    judge: Lane,
    rubric: Rubric,
    rater: str,
    calls: Mapping[str, Sequence[tuple[str, Call]]],
    config: Config,
    *,
    budget_usd: float | None = None,
    spent: tuple[float, int, int] = (0.0, 0, 0),
    past_output: float | None = None,
) -> JudgePlan:
    """What judging ``sessions`` (a study's comparisons) with ``judge`` by ``rubric``
    still needs; ``calls`` are the calls already made, per turn id, each with the
    fingerprint of the answers it saw. ``past_output``: this judge's mean output tokens
    per call so far (the estimate's basis when there is one)."""
    items: list[Item] = []
    finished = judged = no_verdict = stale = 0
    for session in sessions:
        if not session.turns or not_ready(session) is not None:
            continue
        finished += 1
        turn = session.turns[0]
        lanes, shown = answers_of(session)
        seen = fingerprint(session)
        vote = next((v for v in turn.votes if v.rater == rater and not v.repeat), None)
        voted_seen = (vote.judgement or {}).get("seen") if vote is not None else None
        if vote is not None and voted_seen == seen:
            judged += 1
            continue
        mine = {c.position: c for s, c in calls.get(turn.id, ()) if s == seen}
        orders = lane_orders(lanes)
        have = {k: c for k, c in mine.items() if k < len(orders) and c.order == orders[k]}
        old = vote is not None or any(s != seen for s, _ in calls.get(turn.id, ()))
        if len(have) == len(orders):
            outcome = compose(judge.spec, rubric, seen, lanes, [have[k] for k in range(len(orders))], rater)
            if outcome.vote is None:
                judged += 1
                no_verdict += 1
                continue
            # Every call was kept but its vote wasn't: written together, so only an
            # older chatlab could leave this. The run writes the vote without sending.
        stale += old
        items.append(Item(session, lanes, shown, seen, have, stale=old))
    out = JudgePlan(
        study_id,
        study_name,
        judge,
        rubric,
        rater,
        items,
        comparisons=sum(1 for s in sessions if s.turns),
        finished=finished,
        judged=judged,
        no_verdict=no_verdict,
        stale=stale,
        estimate=Estimate(0, 0, 0, 0.0, ""),
        spent_usd=spent[0],
        unpriced=spent[1],
        budget_usd=budget_usd,
        spent_calls=spent[2],
    )
    out.estimate = estimate(out, config, past_output)
    return out


def estimate(p: JudgePlan, config: Config, past_output: float | None = None) -> Estimate:
    """What the plan's missing calls will take: the input counted from the messages
    themselves, the output from this judge's past calls, its ``max_output_tokens`` (an
    upper bound) or a guess; the judge's price (None: no price)."""
    params = p.judge.params
    sizes: list[int] = []
    for item in p.items:
        for position in item.missing:
            system, user = item.messages(p.rubric, position)
            sizes.append(count_messages([system, user], p.judge.model).tokens)
    cap = params.max_output_tokens
    if past_output is not None:
        each = past_output if cap is None else min(past_output, float(cap))
        basis = "this judge's past verdicts (mean)"
    elif cap is not None:
        each, basis = float(cap), "max_output_tokens: an upper bound"
    else:
        each = float(ASSUMED_VERDICT_TOKENS)
        basis = f"a guess of {ASSUMED_VERDICT_TOKENS:,} per verdict"
        if params.reasoning_asked:
            level = params.reasoning if isinstance(params.reasoning, str) else params.reasoning_effort
            budget = params.reasoning if isinstance(params.reasoning, int) else params.thinking_budget
            thinking = float(budget or ASSUMED_REASONING.get(level or "", 1024))
            each += thinking
            basis += f" + {thinking:,.0f} reasoning"
    price = pricing.lookup(config, p.judge.provider, p.judge.model)
    cost = None
    if price is not None:
        cost = sum(n * (r := price.rates(n)).input + each * r.output for n in sizes) / 1e6
    return Estimate(len(sizes), sum(sizes), math.ceil(each * len(sizes)), cost, basis)


def spend_words(usd: float, unpriced: int, calls: int) -> str:
    """A judge's spend in words: dollars over its priced calls, and how many had no price
    ("no price" when none had one: never $0)."""
    from chatlab.core.data import format as fmt

    if calls and unpriced >= calls:
        return f"no price ({calls:,} call{'s' if calls != 1 else ''})"
    extra = f" + {unpriced:,} unpriced call{'s' if unpriced != 1 else ''}" if unpriced else ""
    return fmt.cost(usd) + extra
