"""Prices and cost: the user's overrides, genai-prices, the shipped table, one formula.

Lookup order for a lane ``PROVIDER:MODEL``:

1. the user's ``[prices."PROVIDER:MODEL"]`` in config.toml, when it gives both input and
   output rates;
2. genai-prices (:mod:`chatlab.core.costs.genai`) for the provider's vendor and the model,
   at the request's time;
3. what genai-prices lacks, in the shipped ``resources/prices.toml`` (the demo models),
   under ``VENDOR:MODEL``.

The shipped table also holds *corrections*: rows marked ``corrects = "genai-prices"``,
for a price that genai-prices' bundled snapshot has out of date (DeepSeek's price cut of
2025-09-29, for one). A correction wins over genai-prices for requests from its
``as_of`` date on; an earlier request keeps genai-prices' (historic) price. Each one says
so in the price's source, and a test fails once genai-prices agrees with it, so it is
removed then.

A partial override (say, only ``output``) patches the price found in 2 or 3. In the
shipped table and the overrides a dated snapshot or ``-latest`` alias falls back to its
base model's entry (genai-prices matches those itself). No source means no price:
:func:`cost` returns ``None`` and the UI says "no price", never $0.

The cost formula (:meth:`~chatlab.core.data.price.Price.cost_of`) covers every provider:
uncached input at the input rate, cached input at the cached rate, cache writes at the
cache-write rate, output (including reasoning) at the output rate, each at the tier of the
request's input size. A cost reported by the provider itself (OpenRouter's
``usage.cost``) always wins over this.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from chatlab.core.costs import genai
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Response
from chatlab.core.data.price import Price
from chatlab.core.data.resources import resources_dir
from chatlab.core.settings.config import Config, PriceOverride

_SUFFIX = re.compile(r"^-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


@dataclass(frozen=True)
class TableEntry:
    # ``corrects``: this row replaces genai-prices' price from ``as_of`` on (see above)
    price: Price
    as_of: str
    corrects: bool = False


@cache
def builtin_table() -> dict[str, TableEntry]:
    with (resources_dir() / "prices.toml").open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    table: dict[str, TableEntry] = {}
    for key, row in data.get("models", {}).items():
        corrects = row.get("corrects") == "genai-prices"
        what = ", correcting genai-prices" if corrects else ""
        price = Price(
            input=float(row["input"]),
            output=float(row["output"]),
            cached_input=float(row["cached_input"]) if "cached_input" in row else None,
            cache_write=float(row["cache_write"]) if "cache_write" in row else None,
            source=f"chatlab prices.toml: {row['source']} (as of {row['as_of']}){what}",
        )
        table[key] = TableEntry(price, row["as_of"], corrects)
    return table


def _match(table: dict[str, Any], key: str) -> Any:
    if key in table:
        return table[key]
    best = None
    for candidate in table:
        fits = key.startswith(candidate) and _SUFFIX.match(key[len(candidate) :])
        if fits and (best is None or len(candidate) > len(best)):
            best = candidate
    return table[best] if best else None


def _from_override(o: PriceOverride, key: str) -> Price | None:
    if o.input is None or o.output is None:
        return None
    return Price(o.input, o.output, o.cached_input, o.cache_write, source=f"config.toml [prices.{key!r}]")


def lookup(config: Config, provider: str, model: str, when: datetime | None = None) -> Price | None:
    """The price of ``model`` at ``provider`` for a request at ``when`` (now if None; a
    naive time is UTC)."""
    vendor = config.providers[provider].vendor if provider in config.providers else None
    if vendor == "demo":
        model = model.partition("@")[0]  # demo options are not part of the model's name
    key = f"{provider}:{model}"
    override = _match(config.prices, key)
    if override is not None:
        found = _from_override(override, key)
        if found is not None:
            return found
    if vendor is None:
        return None
    entry: TableEntry | None = _match(builtin_table(), f"{vendor}:{model}")
    price: Price | None
    day = genai.utc(when).date().isoformat()
    if entry is not None and entry.corrects and day >= entry.as_of:
        price = entry.price
    else:
        price = genai.find(vendor, model, when)
        if price is None and entry is not None and not entry.corrects:
            price = entry.price
    if price is None or override is None:
        return price
    return _patch(price, override)


def _patch(p: Price, o: PriceOverride) -> Price:
    """``p`` with the rates ``o`` gives, in every tier: the user's rate is the rate."""
    given = {k: v for k, v in vars(o).items() if v is not None}
    return replace(
        p,
        **given,
        tiers=tuple(replace(t, **given) for t in p.tiers),
        source=f"{p.source}, patched by config.toml",
    )


def cost(usage: Usage, price: Price | None) -> float | None:
    """USD for ``usage`` at ``price``; ``None`` when there is no price."""
    if price is None:
        return None
    return price.cost_of(usage)


def estimate_from_text(resp: Response, model: str, input_tokens: int | None = None) -> None:
    """Give ``resp``, which ended with no usage from the provider, a usage counted from
    its own text (reasoning and answer), flagged as estimated (≈), and its price: what a
    cut-off or stopped answer cost, never $0 for tokens that were generated."""
    from chatlab.core.costs.tokens import count_tokens

    reasoning = count_tokens(resp.reasoning, model).tokens
    out = reasoning + count_tokens(resp.text, model).tokens
    resp.usage = Usage(
        input_tokens=resp.usage.input_tokens if input_tokens is None else input_tokens,
        output_tokens=out,
        reasoning_tokens=reasoning,
        estimated=True,
    )
    resp.cost_usd = cost(resp.usage, resp.price)
