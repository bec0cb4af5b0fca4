"""The window under hostile input (issue 7): a final text that disagrees with the stream,
text that is not valid Unicode, usage that can't be believed, a lane that waits to
retry, and a close right after typing, over the real SDKs and the loopback server, with
the real store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.store.db import Store, default_path
from chatlab.ui.lab.window import MainWindow
from tests.conftest import lab_config
from tests.ui.conftest import TURN_TIMEOUT_MS, add_lanes, close_window, wait_turn

pytestmark = pytest.mark.hostile


@pytest.fixture
def saving_window(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop
) -> Iterator[tuple[MainWindow, Store]]:
    store = Store(default_path())
    win = MainWindow(Runner(lab_config(server, retries=2), KeyStore(), make_adapter), store=store)
    win.show()
    yield win, store
    close_window(qtbot, win)
    store.close()


def test_the_final_text_replaces_what_was_streamed(
    saving_window: tuple[MainWindow, Store], qtbot: QtBot
) -> None:
    window, store = saving_window
    [lane] = add_lanes(window, "responses:demo-fast@tps=0,done_text=differs")
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    widget = window.lane_widgets[lane.id]
    shown = widget.answer.toPlainText()
    assert "The provider's final text, which differs from the stream." in shown
    assert "Rain on the tin roof" not in shown
    assert "differs from what it streamed" in shown  # the note is shown with the answer
    saved = store.load(window.session.id).turns[0].responses[lane.id]
    assert saved.text == "The provider's final text, which differs from the stream." and saved.notes


def test_hostile_text_and_usage_keep_every_lane_and_save_it(
    saving_window: tuple[MainWindow, Store], qtbot: QtBot
) -> None:
    window, store = saving_window
    lanes = add_lanes(
        window,
        "chat:demo-fast@tps=0,inject=surrogate",
        "claude:demo-fast@tps=0,usage=huge",
        "responses:demo-fast@tps=0",
    )
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    assert "x\ufffdy" in window.lane_widgets[lanes[0].id].answer.toPlainText()
    assert "≈" in window.lane_widgets[lanes[1].id].status.text()  # the estimate, marked
    saved = store.load(window.session.id).turns[0].responses
    assert [saved[lane.id].status for lane in lanes] == [Status.OK] * 3
    assert "x\ufffdy" in saved[lanes[0].id].text and saved[lanes[1].id].notes


def test_a_lane_says_it_will_retry_and_counts_down(
    saving_window: tuple[MainWindow, Store], qtbot: QtBot
) -> None:
    window, _ = saving_window
    [lane] = add_lanes(window, "chat:demo-fast@tps=0,fault=429,retry_after=1,fail_times=1")
    window.prompt.setPlainText("hi")
    window.send()
    widget = window.lane_widgets[lane.id]
    qtbot.waitUntil(lambda: "rate limited — retrying in" in widget.status.text(), timeout=10_000)
    assert "(retry 1 of 2)" in widget.status.text()
    wait_turn(qtbot, window, send=False)
    assert widget.status.text().startswith("done")
    assert len(window.session.turns[0].responses[lane.id].retries) == 1


def test_a_closed_window_leaves_no_timer_to_read_the_closed_store(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop
) -> None:
    """A search typed and a prompt edited just before closing each start a short timer
    (the sidebar's refresh, the estimates). The app closes the store once the window has
    shut down, so by then neither may still be waiting to run."""
    store = Store(default_path())
    win = MainWindow(Runner(lab_config(server), KeyStore(), make_adapter), store=store)
    win.show()
    try:
        assert win.sidebar is not None
        win.sidebar.search.setText("rain")
        win.prompt.setPlainText("hi")
        with qtbot.waitSignal(win.shutdownComplete, timeout=TURN_TIMEOUT_MS):
            win.close()
        assert [timer for timer in win.findChildren(QTimer) if timer.isActive()] == []
    finally:
        close_window(qtbot, win)
        store.close()
