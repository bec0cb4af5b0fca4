"""The app's entry points: the demo starts blind with lanes whose banner is true, the
command line's lanes and flags, remembered geometry that never exceeds the screen, and
the keyboard: Alt+N votes for the lane shown in place N, Ctrl+N marks the focused lane."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from chatlab.app import DEMO_BANNER, has_any_key, start, window_parser
from chatlab.core.lab.blind import reasoned
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.scripts import HAIKU_PROMPT
from chatlab.demo.server import DemoServer
from chatlab.demo.setup import with_demo
from chatlab.providers import make_adapter
from chatlab.ui.lab import geometry
from chatlab.ui.lab.window import MainWindow
from tests.ui.conftest import TURN_TIMEOUT_MS, add_lanes, close_window, wait_turn


def test_the_demo_starts_blind_and_its_banner_is_true(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop
) -> None:
    runner = Runner(with_demo(parse_config({}), server), KeyStore(), make_adapter)
    assert not has_any_key(runner.config, KeyStore())  # no key: the app opens the demo
    win = MainWindow(runner, demo_banner=DEMO_BANNER)
    win.show()
    try:
        with qtbot.waitSignal(
            win.turnFinished, timeout=TURN_TIMEOUT_MS, check_params_cb=lambda *_: not win.lab.runs
        ):
            start(win, window_parser().parse_args([]), demo=True)
        turn = win.session.turns[-1]
        assert win.session.blind and win.lab.masked and turn.prompt == HAIKU_PROMPT
        assert win.lab.unsaved  # kept only once the user acts
        # "Two of them reason (one shows it, one keeps it hidden); one does not."
        responses = [turn.responses[lane.id] for lane in win.session.lanes]
        assert [reasoned(r) for r in responses] == [True, False, True]
        assert responses[0].reasoning and not responses[2].reasoning and responses[2].hidden_reasoning
        assert "Blind mode is on" in DEMO_BANNER and win.banner.isVisibleTo(win)
        assert [w.title.text() for w in (win.lanes.widget_at(i) for i in range(3)) if w] == [
            "Model A",
            "Model B",
            "Model C",
        ]
    finally:
        close_window(qtbot, win)


def test_alt_keys_vote_for_the_shown_position_and_the_reveal_follows(
    window: MainWindow, qtbot: QtBot
) -> None:
    lanes = add_lanes(window, "chat:demo-reasoner@tps=0", "claude:demo-fast@tps=0", "chat:echo")
    window.lab.set_blind(True)
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    turn = window.session.turns[-1]
    assert turn.shown_order is not None
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert turn.vote is None and "again" in window.vote_bar.hint.text()  # one press selects
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert turn.vote is not None and turn.vote.choice == turn.shown_order[1]
    assert turn.vote.guessed is None  # no guess was ticked
    assert window.reveal.isVisibleTo(window) and "no reasoning guess" in window.reveal.guess.text()
    assert {lane.id for lane in lanes} == {row.lane_id for row in window.reveal.reveal.rows}
    window.prompt.setPlainText("again")
    wait_turn(qtbot, window)
    assert not window.reveal.isVisibleTo(window)  # moving on closes the reveal
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    assert window.session.turns[-1].vote is not None and window.session.turns[-1].vote.choice == "tie"


def test_the_focused_lane_is_marked(window: MainWindow, qtbot: QtBot) -> None:
    add_lanes(window, "chat:echo", "claude:demo-fast@tps=0")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.lanes.focus_lane(1)
    second = window.lanes.widget_at(1)
    first = window.lanes.widget_at(0)
    assert second is not None and first is not None
    qtbot.waitUntil(lambda: second.property("focused") is True, timeout=5_000)
    window.lanes.focus_lane(0)
    qtbot.waitUntil(lambda: first.property("focused") is True, timeout=5_000)
    assert second.property("focused") is False


def test_remembered_geometry_never_exceeds_the_screen(
    qtbot: QtBot, runner: Runner, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    win = MainWindow(runner, settings=settings)
    try:
        screen = win.screen().availableGeometry()
        win.resize(screen.width() * 3, screen.height() * 3)  # saved on a bigger monitor
        geometry.save(win, settings, win.sidebar)
        geometry.restore(win, settings, win.sidebar)
        assert win.width() <= screen.width() and win.height() <= screen.height()
    finally:
        close_window(qtbot, win)


def test_the_reasoning_guess_can_be_none_of_them(window: MainWindow, qtbot: QtBot) -> None:
    add_lanes(window, "chat:echo", "claude:demo-fast@tps=0")
    window.lab.set_blind(True)
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    turn = window.session.turns[-1]
    assert turn.shown_order is not None
    bar = window.vote_bar
    bar.guesses[turn.shown_order[0]].setChecked(True)
    bar.none_guess.setChecked(True)  # "none of them" unticks the lane…
    assert not bar.guesses[turn.shown_order[0]].isChecked() and bar.guessed() == []
    bar.buttons[turn.shown_order[0]].click()
    bar.buttons[turn.shown_order[0]].click()  # a click selects, the same click again votes
    assert turn.vote is not None and turn.vote.guessed == []
    assert window.reveal.reveal is not None and window.reveal.reveal.guess_right is True  # neither reasoned


def test_a_lane_added_later_keeps_the_true_turn_numbers(qtbot: QtBot, runner: Runner) -> None:
    from chatlab.core.data.model import Lane, Response, Session, Status, Turn
    from chatlab.core.lab.controller import Lab
    from chatlab.ui.lab.lane import LaneWidget

    first, later = Lane("chat", "echo"), Lane("chat", "echo")
    session = Session(lanes=[first, later])
    for prompt, lanes in (("one", [first]), ("two", [first, later])):  # `later` joined at turn 2
        turn = Turn(prompt)
        for lane in lanes:
            turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=[f"answer to {prompt}"])
        session.turns.append(turn)
    widget = LaneWidget(Lab(runner, session=session), later)
    qtbot.addWidget(widget)
    widget.load(session)
    text = widget.answer.toPlainText()
    assert "Turn 2" in text and "Turn 1" not in text and "answer to two" in text


@pytest.fixture
def stored_window(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> Iterator[MainWindow]:
    from chatlab.store.db import Store
    from tests.conftest import lab_config

    store = Store(tmp_path / "s.db")
    win = MainWindow(Runner(lab_config(server), KeyStore(), make_adapter), store=store)
    win.show()
    yield win
    close_window(qtbot, win)
    store.close()


def test_retrying_in_a_reopened_session_shows_the_answer_once(
    stored_window: MainWindow, qtbot: QtBot
) -> None:
    from PySide6.QtGui import QGuiApplication

    win = stored_window
    [lane] = add_lanes(win, "chat:demo-fast@tps=0")
    win.prompt.setPlainText("hi")
    wait_turn(qtbot, win)
    session_id = win.session.id
    win.new_session()
    win.actions_.open_session(session_id)
    widget = win.lane_widgets[win.session.lanes[0].id]
    QGuiApplication.clipboard().setText("kept")
    widget._copy("")  # "nothing to copy" leaves the clipboard alone
    assert QGuiApplication.clipboard().text() == "kept"
    with qtbot.waitSignal(
        win.turnFinished, timeout=TURN_TIMEOUT_MS, check_params_cb=lambda *_: not win.lab.runs
    ):
        win.retry_lane(win.session.lanes[0].id)
    win.render_pending_finals()
    assert widget.answer.toPlainText().count("Rain on the tin roof") == 1
    assert lane.id == win.session.lanes[0].id


def test_a_reopened_unvoted_turn_offers_its_vote(stored_window: MainWindow, qtbot: QtBot) -> None:
    win = stored_window
    add_lanes(win, "chat:demo-fast@tps=0", "claude:demo-fast@tps=0")
    win.prompt.setPlainText("hi")
    wait_turn(qtbot, win)
    session_id = win.session.id
    win.new_session()
    win.actions_.open_session(session_id)
    bar = win.vote_bar
    assert bar.isVisibleTo(win) and [b.text() for b in bar.buttons.values()] == [
        "chat:demo-fast@tps=0",  # a lane without a label is named by its model
        "claude:demo-fast@tps=0",
        "Tie",
        "All bad",
    ]
    row = bar.vote_row
    assert row.height() >= row.layout().heightForWidth(row.width())  # type: ignore[union-attr]
    assert all(b.isVisibleTo(win) for b in bar.buttons.values())


def test_no_reasoning_box_before_reasoning_and_masked_answers_keep_their_score(
    stored_window: MainWindow, qtbot: QtBot
) -> None:
    win = stored_window
    lanes = add_lanes(win, "chat:demo-fast@tps=0", "claude:demo-reasoner@tps=0")
    for lane in lanes:  # a fresh lane: no lightbulb, no empty box
        card = win.lane_widgets[lane.id]
        assert not card.reasoning_toggle.isVisibleTo(win) and not card.reasoning.isVisibleTo(win)
    win.lab.set_blind(True)
    win.prompt.setPlainText("hi")
    wait_turn(qtbot, win)
    session_id = win.session.id
    win.new_session()
    win.actions_.open_session(session_id)  # reopened before the vote: still masked
    assert win.lab.masked
    for lane in win.session.lanes:
        card = win.lane_widgets[lane.id]
        assert card.title.text().startswith("Model ") and card.rating_box.isVisibleTo(win)
        assert not card.reasoning_toggle.isVisibleTo(win)


def test_lanes_opened_without_a_send_have_their_sdks_ready_before_the_first_send(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop
) -> None:
    """Importing an SDK takes up to a second; when the window opens with lanes and nothing
    to send, it does that in the background, so the first send starts at once."""
    runner = Runner(with_demo(parse_config({}), server), KeyStore(), make_adapter)
    win = MainWindow(runner)
    win.show()
    try:
        start(
            win, window_parser().parse_args(["-m", "demo:demo-fast", "-m", "demo:demo-reasoner"]), demo=False
        )
        assert not win.session.turns and "demo" not in runner.warm
        qtbot.waitUntil(lambda: "demo" in runner.warm, timeout=10_000)
    finally:
        close_window(qtbot, win)


def test_many_lanes_at_start_show_from_the_left_and_a_lane_added_later_is_shown(
    qtbot: QtBot, server: DemoServer, loop: asyncio.AbstractEventLoop
) -> None:
    runner = Runner(with_demo(parse_config({}), server), KeyStore(), make_adapter)
    win = MainWindow(runner)
    win.resize(1280, 800)
    win.show()
    try:
        specs = [arg for i in range(6) for arg in ("-m", f"demo:demo-fast@tps={i + 1}")]
        start(win, window_parser().parse_args(specs), demo=False)
        bar = win.lanes.scroller.horizontalScrollBar()
        qtbot.waitUntil(lambda: len(win.lane_widgets) == 6, timeout=5_000)
        # Six lanes wrap into two rows (issue 24): Lane 1 is in view, and so is Lane 6.
        assert bar.value() == 0
        first, last = (win.lanes.widget_at(i) for i in (0, 5))
        assert first is not None and last is not None
        qtbot.waitUntil(lambda: not first.visibleRegion().isEmpty() and not last.visibleRegion().isEmpty())
        from chatlab.core.data.model import Lane

        added = win.add_lane(Lane("demo", "demo-reasoner"))
        qtbot.waitUntil(lambda: not added.visibleRegion().isEmpty(), timeout=5_000)
    finally:
        close_window(qtbot, win)
