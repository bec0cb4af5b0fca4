"""The shipped price table, user overrides, and the cost formula; no price is never $0."""

from __future__ import annotations

import tomllib

import pytest

from chatlab.core.costs import pricing
from chatlab.core.data import format as fmt
from chatlab.core.data.events import Usage
from chatlab.core.data.resources import resources_dir
from chatlab.core.settings.config import parse_config


def test_every_table_entry_has_source_and_date() -> None:
    with (resources_dir() / "prices.toml").open("rb") as f:
        rows = tomllib.load(f)["models"]
    vendors = {key.split(":")[0] for key in rows}
    assert {"openai", "anthropic", "deepseek"} <= vendors
    for key, row in rows.items():
        assert row["source"] and row["as_of"], key
        assert row["input"] >= 0 and row["output"] > 0, key


@pytest.mark.parametrize(
    "provider,model,expected_input",
    [
        ("openai", "gpt-4o", 2.50),
        ("openai", "gpt-4o-2024-08-06", 2.50),  # dated snapshot -> base model
        ("openai", "gpt-4o-mini", 0.15),  # not mistaken for gpt-4o
        ("anthropic", "claude-sonnet-4-5-20250929", 3.00),
        ("anthropic", "claude-3-7-sonnet-latest", 3.00),
        ("deepseek", "deepseek-reasoner", 0.28),
    ],
)
def test_lookup(provider: str, model: str, expected_input: float) -> None:
    price = pricing.lookup(parse_config({}), provider, model)
    assert price is not None and price.input == expected_input and "as of" in price.source


def test_unknown_price_is_none_not_zero() -> None:
    config = parse_config({})
    assert pricing.lookup(config, "openai", "gpt-unknown-9") is None
    assert pricing.lookup(config, "ollama", "llama3") is None
    assert pricing.cost(Usage(input_tokens=1000, output_tokens=1000), None) is None
    assert fmt.cost(None) == "no price"


def test_user_override_wins_and_partial_override_patches() -> None:
    config = parse_config(
        {
            "prices": {
                "ollama:llama3": {"input": 0.0, "output": 0.0},
                "openai:gpt-4o": {"output": 12.0},
            }
        }
    )
    local = pricing.lookup(config, "ollama", "llama3")
    assert local is not None and local.input == 0 and "config.toml" in local.source
    patched = pricing.lookup(config, "openai", "gpt-4o")
    assert patched is not None and (patched.input, patched.output) == (2.50, 12.0)


def test_openai_bills_cached_input_at_the_cached_rate() -> None:
    price = pricing.lookup(parse_config({}), "openai", "gpt-4o")
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=100_000)
    assert pricing.cost(usage, price) == pytest.approx(0.6 * 2.50 + 0.4 * 1.25 + 0.1 * 10.00)


def test_anthropic_adds_cache_writes_and_reads() -> None:
    price = pricing.lookup(parse_config({}), "anthropic", "claude-sonnet-4-5")
    # total input 1M = 500k uncached + 300k cache read + 200k cache write
    usage = Usage(
        input_tokens=1_000_000,
        cached_input_tokens=300_000,
        cache_write_input_tokens=200_000,
        output_tokens=10_000,
    )
    assert pricing.cost(usage, price) == pytest.approx(0.5 * 3.00 + 0.3 * 0.30 + 0.2 * 3.75 + 0.01 * 15.00)


def test_cost_formatting_is_honest() -> None:
    # Two significant digits below $1, cents above, and a floor that is never "$0".
    assert fmt.cost(0.0000224) == "<$0.0001" and fmt.cost(0.00002, estimated=True) == "≈<$0.0001"
    assert fmt.cost(0.0001) == "$0.00010" and fmt.cost(0.000234) == "$0.00023"
    assert fmt.cost(0.0123, estimated=True) == "≈$0.012"
    assert fmt.cost(0.0999) == "$0.10" and fmt.cost(0.5) == "$0.50" and fmt.cost(0.999) == "$1.00"
    assert fmt.cost(12.345) == "$12.35" and fmt.cost(1234.5) == "$1,234.50"
    assert fmt.cost(0) == "$0" and fmt.cost(None) == "no price"
    assert fmt.tokens(Usage(5, 0, 7, estimated=True)) == "in ≈5 · out ≈7"
