"""A lane's cost badge says where its figure came from: the price's source, the
provider's own bill, or that no source has a price."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import Price, Response, Status
from chatlab.core.lab.figures import Figures
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.ui.lab.window import MainWindow
from tests.conftest import lab_config
from tests.ui.conftest import add_lanes, close_window, wait_turn


def _cost_tip(window: MainWindow, lane_id: str) -> str:
    card = window.lane_widgets[lane_id]
    labels = [
        x
        for x in card.status.findChildren(QLabel)
        if x.isVisibleTo(card) and "$" in x.text() and not x.text().startswith("lane")
    ]
    assert len(labels) == 1, [x.text() for x in card.status.findChildren(QLabel)]
    return labels[0].toolTip()


def test_the_cost_badge_names_the_price_source(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop
) -> None:
    demo = {"kind": "openai-chat", "base_url": server.openai_base_url, "needs_key": False, "vendor": "demo"}
    window = MainWindow(Runner(lab_config(server, demo=demo), KeyStore(), make_adapter))
    window.show()
    try:
        priced, unpriced = add_lanes(window, "demo:demo-fast@tps=0", "chat:demo-fast@tps=0")
        window.prompt.setPlainText("hi")
        wait_turn(qtbot, window)
        resp = window.session.turns[-1].responses[priced.id]
        assert resp.price is not None and resp.cost_usd
        assert _cost_tip(window, priced.id) == (
            f"price: $0.15 in · $0.075 cached · $0.60 out per 1M tokens\nfrom {resp.price.source}"
        )
        assert resp.price.source.startswith("chatlab prices.toml: chatlab demo (fictional) (as of ")
        card = window.lane_widgets[unpriced.id]  # a provider of no vendor: no source prices it
        [label] = [
            x for x in card.status.findChildren(QLabel) if x.isVisibleTo(card) and x.text() == "no price"
        ]
        assert label.toolTip().startswith("no price: config.toml [prices], genai-prices")
    finally:
        close_window(qtbot, window)


def test_the_cost_words_for_each_source() -> None:
    def tip(resp: Response) -> str:
        return Figures.of(resp).cost_words[1]

    priced = Response("a", Status.OK, cost_usd=0.01, price=Price(1.0, 2.0, source="genai-prices 0.2.5 (x)"))
    assert tip(priced) == "price: $1.00 in · $2.00 out per 1M tokens\nfrom genai-prices 0.2.5 (x)"
    assert tip(Response("a", Status.OK, cost_usd=0.01, cost_reported=True)) == "cost reported by the provider"
    unpriced = Figures.of(Response("a", Status.OK))
    assert unpriced.cost_words[0] == "no price" and unpriced.cost_words[1].startswith("no price:")


def test_the_rates_in_words_say_small_rates_exactly_and_where_a_tier_starts() -> None:
    from chatlab.core.data.price import PriceTier
    from chatlab.core.lab.figures import rates_words

    tiered = Price(1.25, 10.0, 0.125, tiers=(PriceTier(200_000, 2.5, 15.0, 0.25),))
    assert rates_words(tiered) == (
        "$1.25 in · $0.125 cached · $10.00 out per 1M tokens (more above 200,000 input tokens)"
    )
    assert rates_words(Price(0.02, 0.0)) == "$0.02 in · $0 out per 1M tokens"
