"""Prices from genai-prices (Pydantic's maintained price database), offline.

chatlab reads the snapshot bundled with the installed ``genai-prices`` package and never
its update module (``genai_prices.update_prices`` fetches from GitHub; nothing here
starts it). The package brings pydantic, so it is imported on the first lookup, not when
chatlab starts.

A chatlab provider's ``vendor`` names the genai-prices provider (:data:`PROVIDER_IDS`);
a provider with no vendor, or a vendor genai-prices doesn't list, gets nothing here. The
price is the one in force at the request's time (genai-prices keeps dated and
time-of-day prices), turned into a :class:`~chatlab.core.data.price.Price` with its
tiers by prompt size, so that ``Price.cost_of(usage)`` is what
``genai_prices.calc_price`` gives for the same usage (:func:`genai_usage`).

Only token prices apply to a chat answer. A model whose price has a part chatlab can't
count (a fee per request, a separate rate for reasoning tokens) gets ``None`` here rather
than a cost that leaves it out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from chatlab.core.data.events import Usage
from chatlab.core.data.price import Price, PriceTier

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, ModelPrice, Provider

# chatlab vendor -> genai-prices provider id. Gateways keep their own ids: OpenRouter's
# models are "vendor/model" (e.g. "openai/gpt-5"), as chatlab sends them.
PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
    "google": "google",
    "gemini": "google",
    "xai": "x-ai",
    "x-ai": "x-ai",
    "mistral": "mistral",
    "groq": "groq",
    "together": "together",
    "fireworks": "fireworks",
    "cerebras": "cerebras",
    "moonshot": "moonshotai",
    "moonshotai": "moonshotai",
    "azure": "azure",  # falls back to OpenAI's, Anthropic's, DeepSeek's… prices
    "perplexity": "perplexity",
    "cohere": "cohere",
    "bedrock": "aws",
    "aws": "aws",
    "novita": "novita",
    "zai": "zai",
    "minimax": "minimax",
    # alibaba / dashscope (Qwen): not in genai-prices 0.2.5; the shipped table or config.
}

# What a chat answer's usage can be priced by; web searches, audio and images are not
# part of one, so their prices don't matter. Anything else that would apply to a text
# answer (requests_kcount, output_reasoning_mtok…) makes the price unusable here.
_TOKEN_KEYS = {"input_mtok": "input", "output_mtok": "output", "cache_read_mtok": "cached_input"}
_WRITE_KEY = "cache_write_mtok"
_IGNORED = ("web_", "storage_", "audio", "image", "video", "document", "cache_write_1h", "cache_write_5m")


def provider_id(vendor: str | None) -> str | None:
    return PROVIDER_IDS.get(vendor.lower()) if vendor else None


@cache
def version() -> str:
    import genai_prices

    return str(genai_prices.__version__)


@cache
def _find(pid: str, model: str) -> tuple[Provider, ModelInfo] | None:
    from genai_prices import data_snapshot

    try:
        return data_snapshot.get_snapshot().find_provider_model(model, None, pid, None)
    except LookupError:
        return None


def utc(when: datetime | None) -> datetime:
    """``when`` in UTC (now if None); a naive time is read as UTC, and one at the calendar's
    edge (``datetime.min``, which no zone can move) is kept as it is, never an error."""
    if when is None:
        return datetime.now(UTC)
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return when.replace(tzinfo=UTC)


def find(vendor: str | None, model: str, when: datetime | None = None) -> Price | None:
    """The genai-prices price of ``model`` at ``vendor`` at ``when`` (now if None; naive is
    UTC), or None."""
    pid = provider_id(vendor)
    if pid is None:
        return None
    try:
        found = _find(pid, model.strip())
    except ImportError:  # an install without genai-prices: the other sources still answer
        return None
    if found is None:
        return None
    provider, info = found
    when = utc(when)
    model_price = info.get_prices(when)
    dated = isinstance(info.prices, list)  # dated or time-of-day prices: say which applied
    at = f", price at {when:%Y-%m-%d %H:%M} UTC" if dated else ""
    source = f"genai-prices {version()} (bundled snapshot): {provider.id} {info.id}{at}"
    if info.id.endswith(":free") and not any(v is not None for v in vars(model_price).values()):
        return Price(0.0, 0.0, source=source)  # OpenRouter's free variants: listed, with no rate
    return to_price(model_price, source)


def to_price(model_price: ModelPrice, source: str) -> Price | None:
    """``model_price`` as a chatlab price with tiers; None if it has a part chatlab can't price."""
    from genai_prices.types import TieredPrices

    values: dict[str, Any] = {}
    for key, value in model_price.__dict__.items():
        if value is None or key.startswith("_"):
            continue
        if key in _TOKEN_KEYS or key == _WRITE_KEY:
            values[key] = value
        elif not any(part in key for part in _IGNORED):
            return None
    if "input_mtok" not in values or "output_mtok" not in values:
        return None
    starts = sorted({t.start for v in values.values() if isinstance(v, TieredPrices) for t in v.tiers})

    def at(key: str, start: int | None) -> float | None:
        value = values.get(key)
        if value is None:
            return None
        if isinstance(value, TieredPrices):
            rate: Decimal = value.base
            for tier in value.tiers:  # ascending: the last that starts at or below ``start``
                if start is not None and tier.start <= start:
                    rate = tier.price
            return float(rate)
        return float(value)

    def rates(start: int | None) -> tuple[float, float, float | None, float | None]:
        return (
            at("input_mtok", start) or 0.0,
            at("output_mtok", start) or 0.0,
            at("cache_read_mtok", start),
            at(_WRITE_KEY, start),
        )

    tiers = tuple(PriceTier(s, *rates(s)) for s in starts)
    base = rates(None)
    return Price(base[0], base[1], base[2], base[3], source=source, tiers=tiers)


def genai_usage(usage: Usage) -> Any:
    """chatlab's usage as genai-prices reads it: input includes cache reads and writes."""
    from genai_prices import Usage as GenaiUsage

    return GenaiUsage(
        input_tokens=usage.input_tokens,
        cache_read_tokens=usage.cached_input_tokens,
        cache_write_tokens=usage.cache_write_input_tokens,
        output_tokens=usage.output_tokens,
    )
