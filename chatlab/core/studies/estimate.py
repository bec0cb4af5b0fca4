"""What a study will take, before anything is sent: per suite lane, requests, input,
output and reasoning tokens and dollars, and on what basis the output figures stand (the
model's past answers under the same settings, ``max_output_tokens`` as an upper bound,
or a stated guess). :func:`budget_reached` says when no request of the work left fits
what is left of a budget; :class:`~chatlab.core.studies.run.StudyRun` uses the
per-request figure until it has measured a lane. In a study that shows reasoning,
:func:`reasoning_warnings` names each lane whose reasoning won't be on screen, and why;
:func:`knob_problems` names each lane whose reasoning setting its model can't honour.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatlab.core.costs import pricing
from chatlab.core.costs.tokens import count_messages
from chatlab.core.data.model import LaneParams
from chatlab.core.settings import families, prompted, reasoning
from chatlab.core.settings.config import Config, PresetLane, ProviderConfig
from chatlab.core.studies.study import Work
from chatlab.core.studies.suites import Suite

ASSUMED_OUTPUT_TOKENS = 1024  # a lane with neither history nor max_output_tokens
# Reasoning tokens per answer assumed for a lane that reasons, with no history and no cap:
# by its effort (a prompted lane, or no effort: 1,024). A guess, and the estimate says so.
ASSUMED_REASONING = {"minimal": 256, "low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192, "max": 16384}


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
        sizes: list[int] = []  # each request's input: a price's tier goes by it
        for w in units:
            system = prompted.system_for(w.lane.params, config.think_instruction)  # as the request sends it
            key = (w.turn.prompt, system, entry.model)
            tokens = counted.get(key)
            if tokens is None:
                texts = [w.turn.prompt, *([system] if system else [])]
                tokens = counted[key] = count_messages(texts, entry.model).tokens
            input_tokens += tokens
            sizes.append(tokens)
        params = entry.params
        past = history(entry.provider, entry.model, params)
        cap = params.max_output_tokens
        # Reasoning can take all of the cap, or the thinking budget, when the lane asks
        # for it (or asks the model to think first); a lane with thinking off, or no
        # reasoning setting, is counted as plain.
        reasons = bool(params.reasoning_asked) or params.think is not None
        budget = params.reasoning if isinstance(params.reasoning, int) else params.thinking_budget
        if past is not None and past.n:
            out_each, reasoning_each = past.output_tokens, past.reasoning_tokens
            basis = f"your past answers, same model and settings (mean of {past.n})"
            if cap is not None and out_each > cap:  # the lane's own cap holds whatever came before
                reasoning_each *= cap / out_each
                out_each = float(cap)
                basis += f", capped at max_output_tokens {cap:,}"
        elif cap is not None:
            out_each = float(cap)
            reasoning_each = float(min(cap, budget or cap)) if reasons else 0.0
            basis = "max_output_tokens: an upper bound"
        elif reasons:
            # A reasoner thinks before it answers: its budget, or a guess by its effort.
            level = params.reasoning if isinstance(params.reasoning, str) else params.reasoning_effort
            reasoning_each = float(budget or ASSUMED_REASONING.get(level or "", 1024))
            out_each = ASSUMED_OUTPUT_TOKENS + reasoning_each
            basis = (
                f"a guess of {ASSUMED_OUTPUT_TOKENS:,} + {reasoning_each:,.0f} reasoning "
                "(no history, no max_output_tokens)"
            )
        else:
            out_each, reasoning_each = float(ASSUMED_OUTPUT_TOKENS), 0.0
            basis = f"a guess of {ASSUMED_OUTPUT_TOKENS:,} (no history, no max_output_tokens)"
        output_tokens = math.ceil(out_each * len(units))
        reasoning_tokens = min(output_tokens, math.ceil(reasoning_each * len(units)))
        price = pricing.lookup(config, entry.provider, entry.model)
        cost = None
        if price is not None:
            per_out = output_tokens / len(units) if units else 0.0
            cost = sum(n * (r := price.rates(n)).input + per_out * r.output for n in sizes) / 1e6
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


def reasoning_unseen(entry: PresetLane, provider: ProviderConfig | None) -> tuple[str, bool] | None:
    """Why ``entry``'s reasoning text won't be on screen, and whether that is known
    (False: likely, but the model may reason unasked); None when it will be, or can't be
    told. Known: OpenAI's reasoning models send no reasoning text over Chat Completions
    (the Responses kind sends summaries); the demo's hidden reasoner sends a count; a
    lane of a known vendor that asks for no reasoning (no effort, no thinking budget, or
    either turned off) and no ``think = "prompted"`` is plain."""
    p = entry.params
    if p.think == "prompted":
        return None
    off = p.reasoning_asked is False
    asked = bool(p.reasoning_asked)
    vendor = provider.vendor if provider else None
    plain = (
        ('a plain model: reasoning turned off, no think = "prompted"', True)
        if off
        else ('a plain model: no reasoning setting, no think = "prompted"', True)
    )
    if vendor == "demo":
        name, _, options = entry.model.partition("@")
        if name == "demo-hidden" or any(
            o.split("=")[0] in ("hidden", "hidden_reasoning_tokens") and o.split("=")[-1] not in ("", "0")
            for o in options.split(",")
        ):
            return "the demo model sends a reasoning token count only", True
        if name == "demo-reasoner" or (name == "demo-hybrid" and asked):
            return None  # the hybrid reasons, visibly, at an effort or a budget
        return plain
    if vendor == "openai":
        if not off and families.is_openai_reasoning(entry.model):
            if provider is not None and provider.kind == "openai-chat":
                return (
                    "OpenAI sends no reasoning text over Chat Completions; openai-responses sends summaries",
                    True,
                )
            return None
        return plain
    if vendor == "anthropic":
        return None if asked else plain
    if vendor == "deepseek":
        reasoner = "deepseek-reasoner" in entry.model or "deepseek-r1" in entry.model.lower()
        return None if reasoner and not off else plain
    if asked:
        return None
    return 'no reasoning setting and no think = "prompted": none unless the model reasons unasked', False


def reasoning_warnings(suite: Suite, config: Config) -> list[str]:
    """For a suite that shows reasoning: one line per lane whose reasoning won't be on
    screen (its pane would read "reasoning not shown" beside others that think aloud,
    so the quiz is unfair), naming the lane and why. Empty otherwise. The placebo twin
    is its first lane again and is not named twice."""
    if not suite.show_reasoning:
        return []
    lanes = suite.lanes[:-1] if suite.placebo else suite.lanes
    out = []
    for entry in lanes:
        found = reasoning_unseen(entry, config.providers.get(entry.provider))
        if found is not None:
            why, known = found
            verb = "won't" if known else "may not"
            out.append(f"{entry.label or entry.spec}: reasoning {verb} be on screen ({why})")
    return out


def knob_problems(suite: Suite, config: Config) -> list[str]:
    """One line per suite lane whose reasoning setting its model can't honour, saying
    why (the plan is refused: such a lane would fail every unit unsent)."""
    out = []
    for entry in suite.lanes:
        provider = config.providers.get(entry.provider)
        why = reasoning.problem(provider, entry.model, entry.params) if provider else None
        if why:
            out.append(f"{entry.label or entry.spec}: {why}")
    return out
