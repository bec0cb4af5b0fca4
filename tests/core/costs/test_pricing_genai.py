"""Prices from genai-prices: chatlab's cost is what ``genai_prices.calc_price`` gives for
the same usage (cached input, cache writes, tiers by prompt size, prices by date and time
of day); a saved price keeps its tiers and its source; nothing goes to the network."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
import pytest
from genai_prices import data_snapshot

from chatlab.core.costs import genai, pricing
from chatlab.core.data.events import Usage
from chatlab.core.data.export import document, parse_document
from chatlab.core.data.model import Lane, Response, Session, Status
from chatlab.core.data.price import Price, PriceTier
from chatlab.core.settings.config import Config, parse_config

WHEN = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)  # a Monday, 12:00 UTC
BEFORE_CUT = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)  # DeepSeek's prices before 2025-09-29


def _config() -> Config:
    # chatlab's presets name openai, anthropic, deepseek and openrouter; the rest as a user would.
    extra = {"google": "gemini", "grok": "xai", "az": "azure"}
    return parse_config({"providers": {n: {"kind": "openai-chat", "vendor": v} for n, v in extra.items()}})


def _reference(usage: Usage, model: str, provider_id: str, when: datetime = WHEN) -> float:
    calc = genai_prices.calc_price(
        genai.genai_usage(usage), model, provider_id=provider_id, genai_request_timestamp=when
    )
    return float(calc.total_price)


CASES = [
    # (chatlab provider, model, genai-prices provider, usage)
    ("openai", "gpt-5", "openai", Usage(120_000, 40_000, 9_000, 6_000)),
    ("openai", "gpt-4o-2024-08-06", "openai", Usage(1_000_000, 400_000, 100_000)),
    ("anthropic", "claude-sonnet-4-5", "anthropic", Usage(100_000, 30_000, 10_000, 0, 20_000)),
    ("anthropic", "claude-sonnet-4-5-20250929", "anthropic", Usage(300_000, 90_000, 10_000, 0, 60_000)),
    ("anthropic", "claude-opus-4-5", "anthropic", Usage(50_000, 10_000, 5_000, 1_000, 8_000)),
    ("google", "gemini-2.5-pro", "google", Usage(199_999, 50_000, 20_000, 15_000)),  # below 200k
    ("google", "gemini-2.5-pro", "google", Usage(200_001, 50_000, 20_000, 15_000)),  # above: all at the tier
    ("deepseek", "deepseek-reasoner", "deepseek", Usage(80_000, 60_000, 4_000, 3_000)),  # before the cut
    ("grok", "grok-4", "x-ai", Usage(30_000, 10_000, 2_000, 1_500)),
    ("openrouter", "anthropic/claude-sonnet-4.5", "openrouter", Usage(250_000, 0, 1_000, 0, 10_000)),
    ("az", "gpt-4o", "azure", Usage(10_000, 2_000, 500)),
]


@pytest.mark.parametrize("provider,model,provider_id,usage", CASES)
def test_cost_is_what_genai_prices_calculates(
    provider: str, model: str, provider_id: str, usage: Usage
) -> None:
    when = BEFORE_CUT if provider == "deepseek" else WHEN
    price = pricing.lookup(_config(), provider, model, when)
    assert price is not None and price.source.startswith(f"genai-prices {genai_prices.__version__}")
    assert pricing.cost(usage, price) == pytest.approx(_reference(usage, model, provider_id, when), rel=1e-12)


def test_the_tier_changes_every_rate_at_200k() -> None:
    price = pricing.lookup(_config(), "google", "gemini-2.5-pro", WHEN)
    assert price is not None and [t.above for t in price.tiers] == [200_000]
    below = pricing.cost(Usage(200_000, output_tokens=1_000_000), price)
    above = pricing.cost(Usage(200_001, output_tokens=1_000_000), price)
    assert below == pytest.approx(0.2 * 1.25 + 10.0) and above == pytest.approx(0.200001 * 2.50 + 15.0)


def test_the_price_in_force_at_the_request_time() -> None:
    # OpenAI cut o3's price on 2025-06-10; DeepSeek's R1 price differed by time of day
    # (until its cut of 2025-09-29, which genai-prices lacks: see the correction below).
    before = pricing.lookup(_config(), "openai", "o3", datetime(2025, 5, 1, tzinfo=UTC))
    after = pricing.lookup(_config(), "openai", "o3", WHEN)
    assert before is not None and after is not None and before.input > after.input
    assert "price at 2025-05-01 00:00 UTC" in before.source
    usage = Usage(10_000, 2_000, 3_000)
    for hour in (3, 20):
        when = BEFORE_CUT.replace(hour=hour)
        price = pricing.lookup(_config(), "deepseek", "deepseek-reasoner", when)
        assert pricing.cost(usage, price) == pytest.approx(
            _reference(usage, "deepseek-reasoner", "deepseek", when)
        )
    day, night = (
        pricing.lookup(_config(), "deepseek", "deepseek-reasoner", BEFORE_CUT.replace(hour=h))
        for h in (3, 20)
    )
    assert day is not None and night is not None and day.input != night.input


def test_every_model_genai_prices_gives_chatlab_costs_what_calc_price_does() -> None:
    """All models of the providers chatlab maps: a price chatlab takes costs what
    calc_price says, at every size; a price it can't take whole is None, not a guess."""
    usages = [Usage(1_000, 0, 500), Usage(150_000, 40_000, 7_000, 0, 9_000), Usage(600_000, 100_000, 20_000)]
    taken = refused = 0
    for pid in sorted(set(genai.PROVIDER_IDS.values())):
        provider = data_snapshot.find_provider_by_id(data_snapshot.get_snapshot().providers, pid)
        assert provider is not None, pid
        for model in provider.models:
            price = genai.to_price(model.get_prices(WHEN), "test")
            if price is None:
                refused += 1
                continue
            taken += 1
            for usage in usages:
                want = model.calc_price(genai.genai_usage(usage), provider, genai_request_timestamp=WHEN)
                got = price.cost_of(usage)
                assert got == pytest.approx(float(want.total_price), rel=1e-9, abs=1e-12), (
                    pid,
                    model.id,
                    usage,
                )
    assert taken > 1400 and refused < 300  # refused: embeddings, speech, OCR, per-request fees, :free


def test_openrouter_free_variants_are_free_and_say_so() -> None:
    price = pricing.lookup(_config(), "openrouter", "meta-llama/llama-3.3-70b-instruct:free")
    assert price is not None and pricing.cost(Usage(1000, output_tokens=1000), price) == 0
    assert price.source.endswith("meta-llama/llama-3.3-70b-instruct:free")


def test_a_model_no_source_prices_is_no_price() -> None:
    assert genai.find("openai", "gpt-unknown-9") is None
    assert genai.find("dashscope", "qwen-max") is None  # not in genai-prices 0.2.5
    assert genai.find(None, "gpt-5") is None  # a provider of no known vendor is not guessed
    assert pricing.lookup(_config(), "ollama", "gpt-5") is None


def test_config_overrides_win_over_genai_prices() -> None:
    config = parse_config(
        {
            "providers": {"google": {"kind": "openai-chat", "vendor": "google"}},
            "prices": {
                "openai:gpt-5": {"input": 9.0, "output": 90.0},
                "google:gemini-2.5-pro": {"cached_input": 0.0},
            },
        }
    )
    usage = Usage(300_000, 100_000, 10_000)
    own = pricing.lookup(config, "openai", "gpt-5", WHEN)
    assert own is not None and own.source.startswith("config.toml")
    assert pricing.cost(usage, own) == pytest.approx((300_000 * 9.0 + 10_000 * 90.0) / 1e6)
    patched = pricing.lookup(config, "google", "gemini-2.5-pro", WHEN)
    assert patched is not None and patched.source.endswith("patched by config.toml")
    reference = _reference(Usage(300_000, 0, 10_000), "gemini-2.5-pro", "google")
    assert pricing.cost(usage, patched) == pytest.approx(reference - 0.1 * 2.50)  # the cached part free


def test_a_saved_price_keeps_its_tiers_and_source_and_an_older_one_still_loads() -> None:
    price = pricing.lookup(_config(), "google", "gemini-2.5-pro", WHEN)
    assert price is not None and Price.from_dict(price.to_dict()) == price
    older = {
        "input": 2.5,
        "cached_input": 1.25,
        "cache_write": None,
        "output": 10.0,
        "source": "x (as of 2025)",
    }
    assert Price.from_dict(older) == Price(2.5, 10.0, 1.25, None, "x (as of 2025)")
    session = Session(lanes=[Lane("google", "gemini-2.5-pro"), Lane("openai", "gpt-4o")])
    turn = session.new_turn("hi")
    tiered, flat = (turn.responses[lane.id] for lane in session.lanes)
    for resp, p in ((tiered, price), (flat, Price.from_dict(older))):
        resp.status, resp.usage, resp.price = Status.OK, Usage(250_000, output_tokens=10), p
        resp.cost_usd = pricing.cost(resp.usage, p)
    doc = document([session])
    saved = doc["sessions"][0]["turns"][0]["responses"]
    assert saved[0]["price"]["tiers"][0]["above"] == 200_000 and "tiers" not in saved[1]["price"]
    back = parse_document(doc)[0].turns[0].responses  # validated against the schema
    assert back[tiered.lane_id].price == price and back[flat.lane_id].price == Price.from_dict(older)
    assert Response.from_dict(tiered.to_dict()).price == price


def test_tiers_pick_the_highest_that_applies() -> None:
    price = Price(1.0, 2.0, tiers=(PriceTier(100, 3.0, 4.0), PriceTier(1000, 5.0, 6.0)))
    assert price.rates(100).input == 1.0 and price.rates(101).input == 3.0 and price.rates(5000).output == 6.0
    assert price.cost_of(Usage(1001, output_tokens=1)) == pytest.approx((1001 * 5.0 + 6.0) / 1e6)
    assert Decimal(str(price.rates(0).input)) == 1


def test_no_network_and_genai_prices_only_imported_on_the_first_lookup() -> None:
    script = textwrap.dedent(
        """
        import sys, threading

        def no_network(event, args):
            if event.startswith(("socket.", "urllib.")) or event == "http.client.connect":
                raise RuntimeError(f"network: {event} {args!r}")

        sys.addaudithook(no_network)
        from chatlab.core.costs import pricing
        from chatlab.core.data.events import Usage
        from chatlab.core.lab import controller  # what the window and chatlab ask load
        from chatlab.core.settings.config import parse_config
        assert "genai_prices" not in sys.modules, "imported before a price was asked"
        assert "pydantic" not in sys.modules or "openai" in sys.modules
        before = set(threading.enumerate())
        price = pricing.lookup(parse_config({}), "anthropic", "claude-sonnet-4-5")
        assert "genai_prices" in sys.modules
        assert pricing.cost(Usage(1000, 100, 10, 0, 200), price) > 0
        assert set(threading.enumerate()) == before, "an update thread started"
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("model", ["deepseek-chat", "deepseek-reasoner"])
def test_a_shipped_correction_wins_over_genai_prices_from_its_date(model: str) -> None:
    """DeepSeek's V3.2 price ($0.28 in, $0.028 cached, $0.42 out, day and night alike)
    from 2025-09-29; genai-prices' own (older) price before that."""
    usage = Usage(80_000, 60_000, 4_000, 3_000)
    for hour in (3, 20):
        price = pricing.lookup(_config(), "deepseek", model, WHEN.replace(hour=hour))
        assert price is not None and "correcting genai-prices" in price.source
        assert pricing.cost(usage, price) == pytest.approx(
            (20_000 * 0.28 + 60_000 * 0.028 + 4_000 * 0.42) / 1e6
        )
    before = pricing.lookup(_config(), "deepseek", model, BEFORE_CUT)
    assert before is not None and before.source.startswith("genai-prices")


def test_each_correction_is_still_needed() -> None:
    """A correction whose price genai-prices now gives is to be removed from prices.toml."""
    for key, entry in pricing.builtin_table().items():
        if not entry.corrects:
            continue
        vendor, _, model = key.partition(":")
        theirs = genai.find(vendor, model, WHEN)
        ours = entry.price
        assert theirs is None or (theirs.input, theirs.output) != (ours.input, ours.output), (
            f"genai-prices now agrees on {key}: remove its correction from resources/prices.toml"
        )
