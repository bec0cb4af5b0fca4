"""The rating queue's end screen: Enter opens the Leaderboard (or closes, where there is
none to open), Esc and Ctrl+W close the window, the Open Leaderboard button, and how
many reasoning guesses were right, counted plainly."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chatlab.core.lab.orchestrator import Runner
from chatlab.core.studies.rating import GuessRecord, RatingQueue
from chatlab.store.db import Store, default_path
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.rating.panels import guess_sentence
from chatlab.ui.rating.window import RateWindow
from tests.ui.conftest import close_window
from tests.ui.rating.test_reveal import grab
from tests.ui.rating.test_window import LABELS, make_queue, store  # noqa: F401 (a fixture)

K = Qt.Key


def rated(store: Store) -> RatingQueue:  # noqa: F811
    """Three comparisons rated: the first guessed all right (Zephyrine and Marlinex
    reasoned, Quokkabot did not), the second guessed "none reasoned", the third with no
    guess."""
    queue = make_queue(store, prompts=3, samples=1)
    guesses: list[list[str] | None] = [[LABELS[0], LABELS[2]], [], None]
    for said in guesses:
        item = queue.current
        assert item is not None
        labels = [item.session.lane(x).label for x in item.lanes]
        guessed = None if said is None else [labels.index(name) for name in said]
        queue.vote(0, guessed=guessed)
    assert queue.finished and queue.can_reveal
    return queue


def open_window(qtbot: QtBot, queue: RatingQueue, asked: list[None] | None) -> RateWindow:
    leaderboard = None if asked is None else (lambda: asked.append(None))
    window = RateWindow(queue, "Rate view test", leaderboard=leaderboard)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.view)
    assert window.view.state == "done" and window.view.done_panel.isVisible()
    return window


def test_the_end_screen_counts_the_guesses_that_were_right(qtbot: QtBot, store: Store) -> None:  # noqa: F811
    queue = rated(store)
    assert queue.guess_record() == GuessRecord(items=2, right=1)
    window = open_window(qtbot, queue, [])
    grab(window, "done")
    panel = window.view.done_panel
    rows = panel.rows()
    assert rows[0] == [
        "model",
        "shown",
        "wins",
        "ties",
        "you guessed reasoned",
        "reasoned",
        "your guess right",
    ]
    right = {r[0]: r[-1] for r in rows[1:]}
    # Zephyrine reasoned: called right once of two; Quokkabot did not: right both times.
    assert right == {LABELS[0]: "1 of 2", LABELS[1]: "2 of 2", LABELS[2]: "1 of 2"}
    assert panel.guesses.isVisible()
    assert panel.guesses.text().startswith("Your reasoning guesses: 1 of 2 items entirely right")
    assert "%" not in panel.guesses.text() and not any("%" in cell for r in rows for cell in r)


def test_counts_read_plainly() -> None:
    assert guess_sentence(None) == ""
    assert guess_sentence(GuessRecord(0, 0)) == "You made no reasoning guess."
    assert guess_sentence(GuessRecord(1, 1)).startswith("Your reasoning guesses: 1 of 1 item entirely right")


def test_no_guess_at_all_says_so(qtbot: QtBot, store: Store) -> None:  # noqa: F811
    queue = make_queue(store, prompts=2, samples=1)
    while not queue.finished:
        queue.vote("tie")
    window = open_window(qtbot, queue, [])
    panel = window.view.done_panel
    assert {r[-1] for r in panel.rows()[1:]} == {"no guess"}
    assert panel.guesses.text() == "You made no reasoning guess."


def test_enter_opens_the_leaderboard_and_the_button_too(qtbot: QtBot, store: Store) -> None:  # noqa: F811
    asked: list[None] = []
    window = open_window(qtbot, rated(store), asked)
    view = window.view
    assert view.leaderboard_button.isVisible() and view.close_button.isVisible()
    assert "Enter: open the Leaderboard" in view.hint.text()
    with qtbot.waitSignal(window.leaderboardRequested, timeout=2000):
        QTest.keyClick(view, K.Key_Return)
    assert len(asked) == 1 and window.isVisible()
    with qtbot.waitSignal(window.leaderboardRequested, timeout=2000):
        view.leaderboard_button.click()
    assert len(asked) == 2
    QTest.keyClick(view, K.Key_Enter)  # the keypad's Enter alike
    assert len(asked) == 3


@pytest.mark.parametrize("key", ["escape", "ctrl+w"])
def test_esc_and_ctrl_w_close_the_end_screen(qtbot: QtBot, store: Store, key: str) -> None:  # noqa: F811
    window = open_window(qtbot, rated(store), [])
    if key == "escape":
        QTest.keyClick(window.view, K.Key_Escape)
    else:
        QTest.keyClick(window.view, K.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible())


def test_with_no_leaderboard_to_open_enter_closes(qtbot: QtBot, store: Store) -> None:  # noqa: F811
    window = open_window(qtbot, rated(store), None)
    view = window.view
    assert not view.leaderboard_button.isVisible() and view.close_button.isVisible()
    assert view.hint.text() == "Enter, Esc or Ctrl+W: close"
    QTest.keyClick(view, K.Key_Return)
    qtbot.waitUntil(lambda: not window.isVisible())


def test_the_main_windows_queue_opens_its_leaderboard(
    qtbot: QtBot, runner: Runner, home: object, loop: asyncio.AbstractEventLoop
) -> None:
    st = Store(default_path())
    win = MainWindow(runner, store=st, rater="tester")
    win.show()
    try:
        make_queue(st, prompts=2, samples=1)  # the study
        queue = RatingQueue(st.study_sessions("study1"), "tester", sink=st)
        while not queue.finished:
            queue.vote("tie")
        info = st.study("study1")
        assert info is not None
        win.open_rate(info)
        rate = win.rate_windows[-1]
        assert isinstance(rate, RateWindow)
        qtbot.waitExposed(rate)
        assert rate.view.state == "done" and rate.view.leaderboard_button.isVisible()
        assert win.leaderboard is None
        QTest.keyClick(rate.view, K.Key_Return)
        assert win.leaderboard is not None
        board = win.leaderboard
        qtbot.waitUntil(
            lambda: board.isVisible() and (board.task is None or board.task.done()), timeout=20_000
        )
        rate.close()
    finally:
        close_window(qtbot, win)
        st.close()


def test_chatlab_rate_on_its_own_opens_a_leaderboard_too(
    qtbot: QtBot, home: object, loop: asyncio.AbstractEventLoop
) -> None:
    """`chatlab rate` has no main window: its end screen still offers the Leaderboard (on
    the same loop, computed in a thread), and the command ends when the windows close."""
    from chatlab.app import _rate
    from chatlab.core.settings.raters import Rater
    from chatlab.ui.results.leaderboard import LeaderboardView

    st = Store(default_path())
    try:
        make_queue(st, prompts=2, samples=1)
        queue = RatingQueue(st.study_sessions("study1"), "tester", sink=st)
        while not queue.finished:
            queue.vote("tie")
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        before = set(QApplication.topLevelWidgets())
        task = asyncio.ensure_future(_rate(app, st, st.study("study1"), Rater("tester", "Tess")))

        def new_rate_window() -> RateWindow | None:
            found = [w for w in app.topLevelWidgets() if isinstance(w, RateWindow) and w not in before]
            return found[0] if found and found[0].isVisible() else None

        qtbot.waitUntil(lambda: new_rate_window() is not None)
        rate = new_rate_window()
        assert rate is not None
        qtbot.waitExposed(rate)
        assert rate.view.state == "done" and rate.view.leaderboard_button.isVisible()
        QTest.keyClick(rate.view, K.Key_Return)
        boards = [w for w in app.topLevelWidgets() if isinstance(w, LeaderboardView) and w not in before]
        assert len(boards) == 1
        board = boards[0]
        qtbot.waitUntil(
            lambda: board.isVisible() and board.task is not None and board.task.done(), timeout=20_000
        )
        assert board.doc is not None  # it computed: one rater's ties
        rate.close()
        board.close()
        assert not task.done()
        app.lastWindowClosed.emit()  # what Qt says from its exec(), which pytest-qt does not run
        qtbot.waitUntil(task.done)
        assert task.result() == 0
    finally:
        st.close()
