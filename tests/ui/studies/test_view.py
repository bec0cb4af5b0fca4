"""The Studies view and `chatlab rate` in the window: a study runs in the background while
the lanes answer a turn, pause and cancel stop it and resume finishes it exactly, a study
of the open lanes on pasted prompts, and the shipped demo study rated with the keyboard
alone in the queue window that `chatlab rate` opens."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.studies.suites import load_suite, parse_suite, shipped_suites
from chatlab.demo.server import DemoServer
from chatlab.demo.setup import with_demo
from chatlab.providers import make_adapter
from chatlab.store.db import Store
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.rating.window import open_queue
from chatlab.ui.studies.view import StudiesView
from tests.conftest import lab_config
from tests.ui.conftest import TURN_TIMEOUT_MS, add_lanes, close_window, wait_turn


@pytest.fixture
def studio(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> Iterator[tuple[MainWindow, StudiesView, Store]]:
    store = Store(tmp_path / "s.db")
    config = with_demo(lab_config(server), server)
    win = MainWindow(Runner(config, KeyStore(), make_adapter), store=store, rater="ann")
    win.show()
    view = win.open_studies()
    assert view is not None
    yield win, view, store
    view.close()
    close_window(qtbot, win)
    store.close()


def suite(prompts: int = 4, samples: int = 2, model: str = "demo-fast@tps=30", **extra: object) -> object:
    return parse_suite(
        {
            "name": "Background",
            "samples": samples,
            "prompts": [{"id": f"p{i}", "text": f"Prompt {i}"} for i in range(prompts)],
            "lanes": [
                {"provider": "chat", "model": model, "label": "One"},
                {"provider": "chat", "model": "demo-reasoner@tps=400", "label": "Two"},
            ],
            "concurrency": {"chat": 2},
            **extra,
        }
    )


def cell(view: StudiesView, row: int, column: int) -> str:
    item = view.table.item(row, column)
    assert item is not None
    return item.text()


def test_a_study_runs_in_the_background_while_the_lanes_answer(
    studio: tuple[MainWindow, StudiesView, Store], qtbot: QtBot
) -> None:
    win, view, store = studio
    info = view.start_new(suite(), confirm=False)  # type: ignore[arg-type]
    assert info is not None and view.controller.running(info.id)
    # The interactive lanes answer a turn while the study is still running.
    add_lanes(win, "chat:demo-fast@tps=0")
    win.prompt.setPlainText("hello while a study runs")
    wait_turn(qtbot, win)
    assert view.controller.running(info.id)
    assert win.session.turns[-1].responses[win.session.lanes[0].id].text.startswith("Rain")
    qtbot.waitUntil(lambda: not view.controller.running(info.id), timeout=TURN_TIMEOUT_MS)
    view.refresh()
    row = [cell(view, 0, c) for c in range(view.table.columnCount())]
    assert row[0] == "Background" and row[1] == "done" and row[3] == "16 of 16"
    assert view.status.text() == "Background is finished: Rate… to judge it"
    assert store.study(info.id).status == "done"


def test_pause_cancel_and_resume_finish_exactly(
    studio: tuple[MainWindow, StudiesView, Store], qtbot: QtBot, server: DemoServer
) -> None:
    _, view, store = studio
    info = view.start_new(suite(prompts=4, model="demo-fast@tps=20"), confirm=False)  # type: ignore[arg-type]
    assert info is not None
    qtbot.waitUntil(
        lambda: getattr(view.controller.progress(info.id), "done", 0) >= 2, timeout=TURN_TIMEOUT_MS
    )
    view.table.selectRow(0)
    view.cancel(confirm=False)
    qtbot.waitUntil(lambda: not view.controller.running(info.id), timeout=TURN_TIMEOUT_MS)
    view.refresh()
    assert cell(view, 0, 1) == "cancelled" and view.resume_button.isEnabled()
    sent = len(server.log)
    left = store.study(info.id).left
    assert 0 < left < 16
    view.resume(confirm=False)
    qtbot.waitUntil(lambda: not view.controller.running(info.id), timeout=TURN_TIMEOUT_MS)
    done = store.study(info.id)
    assert (done.done, done.units, done.status) == (16, 16, "done")
    assert len(server.log) - sent == left  # only what was missing, cut-off answers included


def test_a_study_of_the_open_lanes_on_pasted_prompts(
    studio: tuple[MainWindow, StudiesView, Store], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatlab.ui.studies.view import LanesStudyDialog

    win, view, store = studio
    add_lanes(win, "chat:demo-fast@tps=0", "chat:demo-reasoner@tps=0")
    dialog = LanesStudyDialog(view, 2)
    dialog.prompts.setPlainText("Write a limerick.\n\n  Is tea better than coffee?  \n")
    dialog.samples.setValue(2)
    data = dialog.data(win.session.lanes)
    assert [p["text"] for p in data["prompts"]] == ["Write a limerick.", "Is tea better than coffee?"]
    info = view.start_new(parse_suite(data, win.lab.runner.config), confirm=False)
    assert info is not None and info.units == 8
    qtbot.waitUntil(lambda: not view.controller.running(info.id), timeout=TURN_TIMEOUT_MS)
    assert store.study(info.id).done == 8


@pytest.mark.slow  # the shipped demo suite, paced as a person would see it: about 20 s
def test_the_demo_study_is_rated_with_the_keyboard_in_the_queue_window(
    studio: tuple[MainWindow, StudiesView, Store], qtbot: QtBot
) -> None:
    win, view, store = studio
    demo = load_suite(next(p for p in shipped_suites() if p.name == "demo.toml"), win.lab.runner.config)
    info = view.start_new(demo, confirm=False)
    assert info is not None
    qtbot.waitUntil(lambda: not view.controller.running(info.id), timeout=TURN_TIMEOUT_MS)
    rate = open_queue(store, store.study(info.id), "ann")
    assert rate is not None
    qtbot.addWidget(rate)
    rview = rate.view
    assert rview.queue.total == 20 and "rate: Demo: which one reasoned?" in rate.windowTitle()
    for i in range(20):
        QTest.keyClick(rview, Qt.Key.Key_G)
        QTest.keyClick(rview, Qt.Key.Key_1)  # marks Model A as reasoned
        QTest.keyClick(rview, Qt.Key.Key_G)
        QTest.keyClick(rview, [Qt.Key.Key_2, Qt.Key.Key_T, Qt.Key.Key_X][i % 3])
        QTest.keyClick(rview, Qt.Key.Key_Return)
    assert rview.queue.finished
    votes = [s.turns[0].vote_of("ann") for s in store.study_sessions(info.id)]
    assert all(v is not None and v.guessed and len(v.shown_order or []) == 7 for v in votes)
    assert {v.choice for v in votes if v} >= {"tie", "all_bad"}
    rate.close()


def test_a_study_comparison_opens_in_the_window_only_once_its_names_may_be_shown(
    studio: tuple[MainWindow, StudiesView, Store], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    win, view, store = studio
    info = view.start_new(suite(prompts=1, samples=1, model="demo-fast@tps=0"), confirm=False)  # type: ignore[arg-type]
    assert info is not None
    qtbot.waitUntil(lambda: not view.controller.running(info.id), timeout=TURN_TIMEOUT_MS)
    [session_id] = store.study_session_ids(info.id)
    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a: said.append(a[2]))
    win.actions_.open_session(session_id)
    assert said and "end of your rating queue" in said[0] and win.session.id != session_id
    rate = open_queue(store, store.study(info.id), "ann")
    assert rate is not None
    qtbot.addWidget(rate)
    QTest.keyClick(rate.view, Qt.Key.Key_1)
    QTest.keyClick(rate.view, Qt.Key.Key_Return)
    assert rate.view.queue.can_reveal
    win.actions_.open_session(session_id)
    assert len(said) == 1 and win.session.id == session_id
    rate.close()


def test_rate_later_marks_a_turn_for_the_queue(
    studio: tuple[MainWindow, StudiesView, Store], qtbot: QtBot
) -> None:
    win, _view, store = studio
    add_lanes(win, "chat:demo-fast@tps=0", "chat:demo-reasoner@tps=0")
    win.prompt.setPlainText("Which is kinder?")
    wait_turn(qtbot, win)
    assert win.vote_bar.later.text() == "Rate later"
    win.vote_bar.later.click()
    assert win.lab.last_turn is not None and win.lab.last_turn.to_rate
    assert win.vote_bar.later.text() == "Marked to rate later" and win.vote_bar.later.isChecked()
    assert "chatlab rate --marked" in win.statusBar().currentMessage()
    rate = open_queue(store, None, "ann")
    assert rate is not None
    qtbot.addWidget(rate)
    assert rate.view.queue.total == 1 and "turns marked to rate" in rate.windowTitle()
    QTest.keyClick(rate.view, Qt.Key.Key_2)
    QTest.keyClick(rate.view, Qt.Key.Key_Return)
    assert store.load(win.session.id).turns[0].vote_of("ann") is not None
    rate.close()


def test_the_estimate_warns_of_each_lane_whose_reasoning_wont_be_on_screen(
    studio: tuple[MainWindow, StudiesView, Store],
) -> None:
    from PySide6.QtWidgets import QLabel

    from chatlab.ui.studies.view import EstimateDialog

    _win, view, _store = studio
    lanes = [
        {"provider": "demo", "model": "demo-reasoner", "label": "<b>Shown</b>"},
        {"provider": "demo", "model": "demo-hidden", "label": "<b>Quiet</b>"},
    ]
    base = {"name": "Quiz", "prompts": [{"id": "p", "text": "Hi"}], "lanes": lanes}
    plan = view.controller.plan_new(parse_suite({**base, "show_reasoning": True}), dry_run=True)
    dialog = EstimateDialog(view, plan.suite, plan.estimates, plan.spent_usd, plan.warnings)
    [unfair] = [label for label in dialog.findChildren(QLabel) if "unfair" in label.text()]
    assert unfair.textFormat() == Qt.TextFormat.PlainText  # a label is the suite author's text
    assert unfair.text().splitlines()[1:] == [
        "<b>Quiet</b>: reasoning won't be on screen (the demo model sends a reasoning token count only)"
    ]
    quiet = view.controller.plan_new(parse_suite(base), dry_run=True)
    assert quiet.warnings == []
    dialog = EstimateDialog(view, quiet.suite, quiet.estimates, quiet.spent_usd, quiet.warnings)
    assert not [label for label in dialog.findChildren(QLabel) if "unfair" in label.text()]
