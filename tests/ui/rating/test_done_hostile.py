"""The rating queue's end screen and its per-vote reveal with hostile model labels (a
suite or a rating pack someone else wrote; a suite refuses line breaks, controls and
labels over 120 characters): 120 wide letters, a right-to-left override, HTML-like
``<b>``. The keys still work; every name stays plain text on one line, and no name makes
the window wider than the screen it was given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from chatlab.core.studies.rating import RatingQueue
from chatlab.store.db import Store
from chatlab.ui.rating.window import RateWindow
from tests.ui.rating.test_window import STUDY, answered, suite

LONG = "W" * 120  # the longest a suite takes, wide letters, no space to wrap at
HOSTILE = (LONG, "\u202egnp.exe\u202c Quokka", "Marlinex <b>bold</b>")
K = Qt.Key


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store(tmp_path / "rate.db")
    yield st
    st.close()


def hostile_queue(store: Store, reveal: str = "end") -> RatingQueue:
    data = suite(prompts=2, samples=1)
    for lane, label in zip(data["lanes"], HOSTILE, strict=True):  # type: ignore[call-overload]
        lane["label"] = label
    store.create_study("study1", STUDY, data, answered(data), reveal=reveal)
    return RatingQueue(store.study_sessions("study1"), "ann", sink=store, reveal=reveal)


def open_done(qtbot: QtBot, queue: RatingQueue) -> RateWindow:
    while queue.current is not None:
        queue.vote(0, guessed=[0])
    window = RateWindow(queue, STUDY, leaderboard=lambda: None)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.view)
    assert window.view.state == "done"
    return window


def test_the_end_screen_keys_work_with_hostile_labels(qtbot: QtBot, store: Store) -> None:
    window = open_done(qtbot, hostile_queue(store))
    QTest.keyClick(window.view, K.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible())


def test_the_end_screen_keeps_hostile_names_on_one_elided_line(qtbot: QtBot, store: Store) -> None:
    window = open_done(qtbot, hostile_queue(store))
    panel = window.view.done_panel
    assert panel.minimumSizeHint().width() <= 1280
    window.resize(1280, 800)
    assert window.width() <= 1280
    names = [row[0] for row in panel.rows()[1:]]
    assert all("\n" not in n and "\u202e" not in n for n in names), names


def test_the_per_vote_reveal_keeps_hostile_names_on_one_elided_line(qtbot: QtBot, store: Store) -> None:
    queue = hostile_queue(store, reveal="each")
    window = RateWindow(queue, STUDY, leaderboard=lambda: None)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.view)
    panel = window.view.reveal_panel
    QTest.keyClick(window.view, K.Key_1)  # pick the first answer
    QTest.keyClick(window.view, K.Key_Return)  # and vote: its reveal shows
    qtbot.waitUntil(lambda: panel.isVisibleTo(window))
    assert panel.minimumSizeHint().width() <= 1280
    texts = [x.text() for x in panel.findChildren(QLabel)]
    assert all("\n" not in t and "\u202e" not in t for t in texts), texts
