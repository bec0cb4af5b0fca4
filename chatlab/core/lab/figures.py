"""One record of a response's figures, for every view that shows them.

The lane's status line, ``chatlab ask``'s live line and its final summary all show the
same things about a response: its state, time to first token, tokens in / out /
reasoning (with ≈ while estimated), tokens per second, its cost and the lane's total.
:class:`Figures` computes them once, from the response (live or reopened: both answer
through :class:`~chatlab.core.data.model.Timing`), so the views can't drift apart; the words
and number formats come from :mod:`chatlab.core.data.format`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatlab.core.data import format as fmt
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Grade, Response
from chatlab.core.data.price import Price
from chatlab.core.lab.orchestrator import live_usage


@dataclass(frozen=True)
class Figures:
    state: str
    ttft_s: float | None
    duration_s: float | None
    usage: Usage  # the provider's once reported, else a live estimate (usage.estimated)
    tokens_per_s: float | None
    cost_usd: float | None
    cost_known: bool  # False while streaming with no cost yet ("cost …")
    cost_estimated: bool
    lane_total: float | None = None
    total_estimated: bool = False
    grade: Grade | None = None  # the answer key's, for a study's keyed prompt
    cost_source: str | None = None  # Response.cost_source: provider, price, refused or None
    price_source: str | None = None  # where the response's price came from, if it has one
    price_rates: str = ""  # its rates in words: "$1.25 in · $10.00 out per 1M tokens"

    @property
    def grade_words(self) -> tuple[str, str] | None:
        """(badge, tooltip) for the key's grade: "✓ right" / "✗ wrong", and its detail."""
        if self.grade is None:
            return None
        badge = "✓ right" if self.grade.correct else "✗ wrong"
        return badge, f"answer key: {self.grade.detail}" if self.grade.detail else "answer key"

    @property
    def cost_words(self) -> tuple[str, str]:
        """(badge, tooltip) for the cost: the badge's text, and where its figure came from."""
        badge = fmt.cost(self.cost_usd, self.cost_estimated) if self.cost_known else "cost …"
        if self.cost_source == "provider":
            tip = "cost reported by the provider"
        elif self.cost_source == "refused":
            tip = "refused before anything was generated: nothing billed"
        elif self.price_source:
            tip = (
                f"price: {self.price_rates}\nfrom {self.price_source}"
                if self.price_rates
                else (f"price: {self.price_source}")
            )
        else:
            tip = "no price: config.toml [prices], genai-prices and chatlab's table have none for this model"
        return badge, tip

    @classmethod
    def of(
        cls,
        resp: Response,
        lane_total: float | None = None,
        total_estimated: bool = False,
        now: float | None = None,
    ) -> Figures:
        usage = live_usage(resp)
        finished = resp.status.finished
        tps = resp.tokens_per_s(now) if finished else resp.timing.tokens_per_s(usage.output_tokens, now)
        cost, cost_estimated = fmt.response_cost(resp)
        return cls(
            state=fmt.state(resp, now),
            ttft_s=resp.timing.ttft_s,
            duration_s=resp.timing.duration_s(now),
            usage=usage,
            tokens_per_s=tps,
            cost_usd=cost,
            cost_known=finished or cost is not None,
            cost_estimated=usage.estimated or cost_estimated,
            lane_total=lane_total,
            total_estimated=total_estimated,
            grade=resp.grade_by("key"),
            cost_source=resp.cost_source,
            price_source=resp.price.source if resp.price else None,
            price_rates=rates_words(resp.price) if resp.price else "",
        )

    def parts(self, duration: bool = False) -> list[str]:
        """The figures as the status line shows them, in order."""
        out = [self.state, f"ttft {fmt.seconds(self.ttft_s)}"]
        if duration:
            out.append(fmt.seconds(self.duration_s))
        out.append(fmt.tokens(self.usage))
        if self.tokens_per_s:
            out.append(f"{'≈' if self.usage.estimated else ''}{self.tokens_per_s:,.0f} tok/s")
        out.append(fmt.cost(self.cost_usd, self.cost_estimated) if self.cost_known else "cost …")
        if self.lane_total is not None:
            out.append(f"lane {fmt.cost(self.lane_total, self.total_estimated)}")
        return out

    def line(self, duration: bool = False) -> str:
        return " · ".join(self.parts(duration))


def rates_words(price: Price) -> str:
    """A price's rates in a line: "$1.25 in · $0.125 cached · $10.00 out per 1M tokens",
    and, for a tiered price, where the next tier starts."""

    def usd(rate: float) -> str:
        return f"${rate:,.2f}" if round(rate, 2) == rate and rate else f"${rate:.4g}"

    parts = [f"{usd(price.input)} in"]
    if price.cached_input is not None:
        parts.append(f"{usd(price.cached_input)} cached")
    if price.cache_write is not None:
        parts.append(f"{usd(price.cache_write)} cache write")
    parts.append(f"{usd(price.output)} out")
    line = " · ".join(parts) + " per 1M tokens"
    if price.tiers:
        line += f" (more above {price.tiers[0].above:,} input tokens)"
    return line
