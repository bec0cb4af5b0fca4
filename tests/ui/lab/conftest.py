"""The main window's fixtures that need a database: the store in the test's own home, and
the store-backed window (so with its history sidebar) at 1280×800, voting as "tester"."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from chatlab.core.lab.orchestrator import Runner
from chatlab.store.db import Store, default_path
from chatlab.ui.lab.window import MainWindow
from tests.ui.conftest import close_window


@pytest.fixture
def store(home: object) -> Iterator[Store]:
    s = Store(default_path())
    yield s
    s.close()


@pytest.fixture
def win(qtbot: QtBot, runner: Runner, store: Store, loop: asyncio.AbstractEventLoop) -> Iterator[MainWindow]:
    """The store-backed window (so with its history sidebar), at 1280×800."""
    w = MainWindow(runner, store=store, rater="tester")
    w.resize(1280, 800)
    w.show()
    yield w
    close_window(qtbot, w)
