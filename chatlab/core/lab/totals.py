"""What a session has cost so far, per lane and in all, and what sending a prompt next
would cost in input (tokens counted locally, priced from the price table)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from chatlab.core.costs import pricing
from chatlab.core.costs.tokens import encoding_for, quick_messages
from chatlab.core.data.model import Lane, Message, Session, Turn
from chatlab.core.settings import prompted
from chatlab.core.settings.config import Config


@dataclass(frozen=True)
class LaneEstimate:
    lane_id: str
    tokens: int
    cost: float | None  # None: no price


@dataclass(frozen=True)
class CostTotal:
    total: float
    estimated: bool
    unpriced: int  # finished responses with no price
    priced: int = 0  # responses with a price (their costs are ``total``)

    def words(self) -> str:
        """The total as a person should read it: "$0.0031", "$0.0031 + 1 unpriced
        response", or "unknown (2 responses with no price)" when nothing was priced:
        never "$0" for what had no price."""
        from chatlab.core.data import format as fmt

        many = "s" if self.unpriced != 1 else ""
        if self.unpriced and not self.priced:
            return f"unknown ({self.unpriced} response{many} with no price)"
        text = fmt.cost(self.total, self.estimated)
        if self.unpriced:
            text += f" + {self.unpriced} unpriced response{many}"
        return text


def lane_total(session: Session, lane_id: str) -> tuple[float | None, bool]:
    """The lane's cost over every turn (None: nothing priced), and whether it is estimated."""
    total: float | None = None
    estimated = False
    for turn in session.turns:
        resp = turn.responses.get(lane_id)
        if resp is not None and resp.cost_usd is not None:
            total = (total or 0.0) + resp.cost_usd
            estimated = estimated or resp.usage.estimated
    return total, estimated


def session_cost(session: Session) -> CostTotal:
    total = 0.0
    estimated = False
    unpriced = priced = 0
    for turn in session.turns:
        for resp in turn.responses.values():
            if resp.cost_usd is None:
                unpriced += resp.status.finished
            else:
                total += resp.cost_usd
                priced += 1
                estimated = estimated or resp.usage.estimated
    return CostTotal(total, estimated, unpriced, priced)


def estimates(
    session: Session, prompt: str, system: Callable[[Lane], str | None], config: Config
) -> list[LaneEstimate]:
    """Input tokens (≈) and input cost of sending ``prompt`` next, per lane of
    ``session``, with the system prompt ``system(lane)`` says that lane will have (a
    prompted lane's instruction is added here, as the request adds it)."""
    if not prompt.strip():
        return []
    out = []
    fresh: dict[tuple[str, str | None], int] = {}  # the prompt and system prompt, counted once each
    for lane in session.lanes:
        sent = prompted.system_for(replace(lane.params, system=system(lane)), config.think_instruction)
        key = (encoding_for(lane.model), sent)
        if key not in fresh:
            fresh[key] = quick_messages([prompt] + ([sent] if sent else []), lane.model).tokens
        history = [m.content for m in _history(session, lane)]
        tokens = fresh[key] + (quick_messages(history, lane.model).tokens if history else 0)
        price = pricing.lookup(config, lane.provider, lane.model)
        cost = None if price is None else tokens * price.rates(tokens).input / 1_000_000
        out.append(LaneEstimate(lane.id, tokens, cost))
    return out


def _history(session: Session, lane: Lane) -> list[Message]:
    """The lane's conversation so far, as the next turn would send it (before its prompt)."""
    if not session.turns:
        return []
    ghost = Turn(prompt="")
    session.turns.append(ghost)
    try:
        return session.history(lane.id, ghost)[:-1]
    finally:
        session.turns.pop()
