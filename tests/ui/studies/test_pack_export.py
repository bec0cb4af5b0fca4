"""The Studies window's "Rating pack…": what is not ready to rate is left out, and the
window says how many and why."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pytestqt.qtbot import QtBot

from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.studies.study import suite_data
from chatlab.core.studies.suites import parse_suite
from chatlab.demo.server import DemoServer
from chatlab.demo.setup import with_demo
from chatlab.providers import make_adapter
from chatlab.store.db import Store
from chatlab.ui.lab.window import MainWindow
from tests.conftest import lab_config
from tests.core.studies.test_packs import SUITE, mixed
from tests.ui.conftest import close_window


def test_the_window_says_what_a_pack_left_out_and_why(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.db")
    store.create_study("study1", "Pack rules", suite_data(parse_suite(SUITE)), mixed())
    win = MainWindow(Runner(with_demo(lab_config(server), server), KeyStore(), make_adapter), store=store)
    win.show()
    view = win.open_studies()
    assert view is not None
    try:
        view.refresh()
        view.table.selectRow(0)
        path = tmp_path / "pack.json"
        view.rating_pack(str(path))
        assert len(json.loads(path.read_text("utf-8"))["sessions"]) == 1
        assert view.status.text() == (
            f"Wrote a rating pack of 1 comparison to {path}; left out 5 comparisons not ready to rate "
            "(2 with an answer cut off or stopped, 1 not answered yet, 1 with no answer to judge, "
            "1 with one answer only (the others failed))"
        )
    finally:
        view.close()
        close_window(qtbot, win)
        store.close()
