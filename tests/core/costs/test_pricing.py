"""Prices from config overrides, genai-prices and the shipped table; the cost formula; no
price is never $0. genai-prices' own ``calc_price`` is the reference for its models."""

from __future__ import annotations

import tomllib

import pytest

from chatlab.core.costs import genai, pricing
from chatlab.core.data import format as fmt
from chatlab.core.data.events import Usage
from chatlab.core.data.resources import resources_dir
from chatlab.core.settings.config import parse_config


def test_every_table_entry_has_source_and_date_and_is_not_in_genai_prices() -> None:
    with (resources_dir() / "prices.toml").open("rb") as f:
        rows = tomllib.load(f)["models"]
    assert rows, "the demo models are priced by the shipped table"
    for key, row in rows.items():
        assert row["source"] and row["as_of"], key
        assert row["input"] >= 0 and row["output"] > 0, key
        vendor, _, model = key.partition(":")
        if row.get("corrects") == "genai-prices":  # checked in test_pricing_genai
            continue
        assert genai.find(vendor, model) is None, f"{key}: genai-prices has it; drop it from prices.toml"


@pytest.mark.parametrize(
    "provider,model,expected_input,genai_id",
    [
        ("openai", "gpt-4o", 2.50, "openai gpt-4o"),
        ("openai", "gpt-4o-2024-08-06", 2.50, "openai gpt-4o"),  # dated snapshot -> base model
        ("openai", "gpt-4o-mini", 0.15, "openai gpt-4o-mini"),  # not mistaken for gpt-4o
        ("anthropic", "claude-sonnet-4-5-20250929", 3.00, "anthropic claude-sonnet-4-5"),
        ("anthropic", "claude-3-7-sonnet-latest", 3.00, "anthropic claude-3-7-sonnet"),
        ("openrouter", "openai/gpt-5", 1.25, "openrouter openai/gpt-5"),  # a gateway's vendor/model
    ],
)
def test_lookup_from_genai_prices(provider: str, model: str, expected_input: float, genai_id: str) -> None:
    price = pricing.lookup(parse_config({}), provider, model)
    assert price is not None and price.input == expected_input
    assert price.source.startswith(f"genai-prices {genai.version()} (bundled snapshot): {genai_id}")


def test_what_genai_prices_lacks_comes_from_the_shipped_table() -> None:
    price = pricing.lookup(parse_config({}), "demo", "demo-fast@fail=0.5")
    assert price is not None and price.input == 0.15
    assert price.source == "chatlab prices.toml: chatlab demo (fictional) (as of 2026-11-26)"


def test_unknown_price_is_none_not_zero() -> None:
    config = parse_config({"providers": {"qwen": {"kind": "openai-chat", "vendor": "dashscope"}}})
    assert pricing.lookup(config, "openai", "gpt-unknown-9") is None
    assert pricing.lookup(config, "ollama", "llama3") is None  # no vendor: not guessed by name
    assert pricing.lookup(config, "qwen", "qwen-max") is None  # a vendor genai-prices lacks
    assert pricing.cost(Usage(input_tokens=1000, output_tokens=1000), None) is None
    assert fmt.cost(None) == "no price"


def test_user_override_wins_and_partial_override_patches() -> None:
    config = parse_config(
        {
            "prices": {
                "ollama:llama3": {"input": 0.0, "output": 0.0},
                "openai:gpt-4o": {"output": 12.0},
                "anthropic:claude-sonnet-4-5": {"input": 1.0, "output": 2.0},
            }
        }
    )
    local = pricing.lookup(config, "ollama", "llama3")
    assert local is not None and local.input == 0 and "config.toml" in local.source
    patched = pricing.lookup(config, "openai", "gpt-4o")
    assert patched is not None and (patched.input, patched.output) == (2.50, 12.0)
    assert patched.source.startswith("genai-prices") and patched.source.endswith("patched by config.toml")
    whole = pricing.lookup(config, "anthropic", "claude-sonnet-4-5-20250929")  # dated: same override
    assert whole is not None and whole.source.startswith("config.toml [prices.")
    big = Usage(input_tokens=300_000, output_tokens=1_000_000)  # above genai-prices' 200k tier
    assert pricing.cost(big, whole) == pytest.approx(0.3 * 1.0 + 1.0 * 2.0)


def test_a_partial_override_holds_in_every_tier() -> None:
    config = parse_config(
        {
            "providers": {"gem": {"kind": "openai-chat", "vendor": "gemini"}},
            "prices": {"gem:gemini-2.5-pro": {"output": 11.0}},
        }
    )
    price = pricing.lookup(config, "gem", "gemini-2.5-pro")
    assert price is not None and price.tiers and all(t.output == 11.0 for t in price.tiers)
    big = Usage(input_tokens=300_000, output_tokens=1_000_000)
    assert pricing.cost(big, price) == pytest.approx(0.3 * 2.50 + 11.0)  # the tier's input, the user's output


def test_openai_bills_cached_input_at_the_cached_rate() -> None:
    price = pricing.lookup(parse_config({}), "openai", "gpt-4o")
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=100_000)
    assert pricing.cost(usage, price) == pytest.approx(0.6 * 2.50 + 0.4 * 1.25 + 0.1 * 10.00)


def test_anthropic_adds_cache_writes_and_reads() -> None:
    price = pricing.lookup(parse_config({}), "anthropic", "claude-sonnet-4-5")
    # total input 100k = 50k uncached + 30k cache read + 20k cache write (below the 200k tier)
    usage = Usage(
        input_tokens=100_000,
        cached_input_tokens=30_000,
        cache_write_input_tokens=20_000,
        output_tokens=10_000,
    )
    assert pricing.cost(usage, price) == pytest.approx(
        (50 * 3.00 + 30 * 0.30 + 20 * 3.75 + 10 * 15.00) / 1000
    )


def test_cost_formatting_is_honest() -> None:
    # Two significant digits below $1, cents above, and a floor that is never "$0".
    assert fmt.cost(0.0000224) == "< $0.0001" and fmt.cost(0.00002, estimated=True) == "< $0.0001"
    assert fmt.cost(0.0001) == "$0.00010" and fmt.cost(0.000234) == "$0.00023"
    assert fmt.cost(0.0123, estimated=True) == "≈$0.012"
    assert fmt.cost(0.0999) == "$0.10" and fmt.cost(0.5) == "$0.50" and fmt.cost(0.999) == "$1.00"
    assert fmt.cost(12.345) == "$12.35" and fmt.cost(1234.5) == "$1,234.50"
    assert fmt.cost(0) == "$0" and fmt.cost(None) == "no price"
    assert fmt.tokens(Usage(5, 0, 7, estimated=True)) == "in ≈5 · out ≈7"
