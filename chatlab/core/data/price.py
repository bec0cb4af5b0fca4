"""A price: USD per 1M tokens, its tiers by prompt size, and where it came from.

Some models cost more per token once a request's input passes a size (Gemini 2.5 Pro
above 200k input tokens, Claude Sonnet 4.5 above 200k): a :class:`PriceTier` holds the
rates that apply to the *whole* request when its total input (cached and cache-write
tokens included) is above ``above`` tokens — the "cliff" model the vendors and
genai-prices use. The highest tier that applies wins; without one the base rates apply.

A price holds every figure its cost needs, so a saved response's cost can be checked
from the saved price alone, whatever the price sources say later.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from chatlab.core.data.events import Usage


@dataclass(frozen=True)
class PriceTier:
    """The rates (USD per 1M tokens) of a request whose total input is above ``above``."""

    above: int
    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "above": self.above,
            "input": self.input,
            "cached_input": self.cached_input,
            "cache_write": self.cache_write,
            "output": self.output,
        }


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens, with where the figure came from (and its tiers, if any)."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    source: str = ""
    tiers: tuple[PriceTier, ...] = ()  # ascending by ``above``

    def rates(self, input_tokens: int) -> Price:
        """The flat rates for a request of ``input_tokens`` total input tokens."""
        for tier in reversed(self.tiers):
            if input_tokens > tier.above:
                return Price(tier.input, tier.output, tier.cached_input, tier.cache_write, self.source)
        return replace(self, tiers=()) if self.tiers else self

    def cost_of(self, usage: Usage) -> float:
        """USD for ``usage`` at this price (cached and cache-write input at their own
        rates when the price has them, else at the input rate), at the tier its total
        input falls in."""
        rate = self.rates(usage.input_tokens)
        cached = usage.cached_input_tokens
        written = usage.cache_write_input_tokens
        uncached = max(usage.input_tokens - cached - written, 0)
        cached_rate = rate.cached_input if rate.cached_input is not None else rate.input
        write_rate = rate.cache_write if rate.cache_write is not None else rate.input
        total = (
            uncached * rate.input
            + cached * cached_rate
            + written * write_rate
            + usage.output_tokens * rate.output
        )
        return total / 1_000_000

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input": self.input,
            "cached_input": self.cached_input,
            "cache_write": self.cache_write,
            "output": self.output,
            "source": self.source,
        }
        if self.tiers:  # only then: a flat price's document stays as it always was
            out["tiers"] = [t.to_dict() for t in self.tiers]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Price:
        """The inverse of :meth:`to_dict`; an older document (no tiers) loads as it was."""
        names = {f.name for f in fields(cls)} - {"tiers"}
        tier_names = {f.name for f in fields(PriceTier)}
        tiers = tuple(
            PriceTier(**{k: v for k, v in t.items() if k in tier_names}) for t in d.get("tiers") or ()
        )
        return cls(
            **{k: v for k, v in d.items() if k in names}, tiers=tuple(sorted(tiers, key=lambda t: t.above))
        )
