"""Qt fixtures: an offscreen QApplication (pytest-qt), a qasync loop that counts as running
whenever Qt processes events (so tests wait with qtbot, on signals), and a main window
wired to the loopback server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import Lane
from chatlab.core.lab.orchestrator import Runner
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.shared.loop import QtLoop, mark_stopped

TURN_TIMEOUT_MS = 60_000
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under this folder ``ui`` (the hook sees the whole session's items)."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.ui)


@pytest.fixture
def loop(qapp: QApplication, qtbot: QtBot) -> Iterator[asyncio.AbstractEventLoop]:
    loop = QtLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    task = loop.create_task(loop.shutdown_asyncgens())
    qtbot.waitUntil(task.done, timeout=10_000)
    mark_stopped(loop)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def window(qtbot: QtBot, runner: Runner, loop: asyncio.AbstractEventLoop) -> Iterator[MainWindow]:
    # Not registered with qtbot.addWidget: pytest-qt would close it before this fixture's
    # teardown, leaving the asynchronous shutdown to run during the next test.
    win = MainWindow(runner)
    win.show()
    yield win
    close_window(qtbot, win)


def close_window(qtbot: QtBot, win: MainWindow) -> None:
    """Shut the window down (cancelling its lanes) and wait for it, then delete it and wait
    until it is gone, so nothing of it outlives the test (or the store the test closes next)."""
    if not win.shutdown_done:
        with qtbot.waitSignal(win.shutdownComplete, timeout=TURN_TIMEOUT_MS):
            task = None if win._closing else asyncio.ensure_future(win.shutdown())
        assert task is None or task.done()
    win.close()
    win.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(win), timeout=TURN_TIMEOUT_MS)


def wait_turn(qtbot: QtBot, window: MainWindow, send: bool = True) -> None:
    """Send the prompt (optionally) and wait until every run has finished."""
    if send or window.lab.runs:
        with qtbot.waitSignal(
            window.turnFinished, timeout=TURN_TIMEOUT_MS, check_params_cb=lambda *_: not window.lab.runs
        ):
            if send:
                window.send()
    window.render_pending_finals()


def add_lanes(window: MainWindow, *specs: str) -> list[Lane]:
    lanes = []
    for spec in specs:
        provider, _, model = spec.partition(":")
        lane = Lane(provider, model)
        window.add_lane(lane)
        lanes.append(lane)
    return lanes
