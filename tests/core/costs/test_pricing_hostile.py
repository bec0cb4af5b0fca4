"""Prices under attack: a ``when`` at the calendar's edges or without a zone, and model
names built to be slow, through :func:`~chatlab.core.costs.pricing.lookup` (config
overrides, genai-prices' matching, chatlab's table)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chatlab.core.costs import pricing
from chatlab.core.settings.config import parse_config

pytestmark = pytest.mark.hostile

CONFIG = parse_config({})


@pytest.mark.parametrize(
    "when",
    [
        datetime.min,  # naive: was read as local time, "year 0 is out of range" east of UTC
        datetime.max,
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12))),
        datetime(2025, 1, 1),
    ],
)
@pytest.mark.parametrize("provider, model", [("deepseek", "deepseek-chat"), ("openai", "gpt-4o")])
def test_a_time_at_the_calendars_edge_or_without_a_zone_is_never_an_error(
    when: datetime, provider: str, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: a naive datetime.min moved back a day
    time.tzset()
    try:
        price = pricing.lookup(CONFIG, provider, model, when)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert price is not None and price.input > 0


def test_a_naive_time_is_utc() -> None:
    naive = pricing.lookup(CONFIG, "deepseek", "deepseek-chat", datetime(2025, 1, 1, 12))
    aware = pricing.lookup(CONFIG, "deepseek", "deepseek-chat", datetime(2025, 1, 1, 12, tzinfo=UTC))
    assert naive == aware


@pytest.mark.parametrize(
    "model",
    ["a" * 100_000, "gpt-" + "4o-" * 30_000, "gemini-2.5-" + "9" * 100_000, "*" * 50_000, "[(.*)+]" * 5000],
)
def test_huge_or_odd_model_names_are_quick_and_unpriced(model: str) -> None:
    start = time.perf_counter()
    for provider in ("openai", "anthropic", "gemini", "deepseek", "openrouter"):
        pricing.lookup(CONFIG, provider, model)
    assert time.perf_counter() - start < 5.0
