"""Voting in the main window (issue 24, items 1, 2, 7 and 9), driven through the real
window over the loopback demo server: a click selects and Vote (or the same click)
votes, as the keys do; Undo vote; a sighted follow-up after the reveal; New blind turn;
no modal box before the vote; keys for guesses and scores; the rater's name asked once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QInputDialog, QWidget
from pytestqt.qtbot import QtBot

from chatlab.core.analysis.load import load_sessions
from chatlab.core.analysis.report import analyse
from chatlab.core.data.votes import Vote
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.config import load_config
from chatlab.core.settings.raters import installation, os_user
from chatlab.store.db import Store
from chatlab.ui.lab.votebar import hint_text
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.rating.window import RateWindow
from tests.ui.conftest import add_lanes, close_window, wait_turn

ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture
def win(qtbot: QtBot, runner: Runner, store: Store, loop: asyncio.AbstractEventLoop) -> Iterator[MainWindow]:
    """The window as the app makes it: this installation's rater, made at the first vote."""
    w = MainWindow(runner, store=store, rater_of=lambda: installation(store.claim_rater))
    w.resize(1280, 800)
    w.show()
    yield w
    close_window(qtbot, w)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name dialog (a modal) answered "Ann" at its boundary, QInputDialog.getText;
    what it was prefilled with, each time it was opened."""
    offered: list[str] = []

    def get_text(*_args: object, text: str = "", **_kw: object) -> tuple[str, bool]:
        offered.append(text)
        return "Ann", True

    monkeypatch.setattr(QInputDialog, "getText", get_text)
    return offered


def blind_turn(qtbot: QtBot, w: MainWindow, *specs: str) -> None:
    add_lanes(w, *(specs or ("chat:echo", "claude:demo-fast@tps=0", "responses:demo-fast@tps=0")))
    w.prompt_area.blind_check.setChecked(True)
    w.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, w)


def stored_vote(store: Store, w: MainWindow) -> Vote | None:
    return store.load(w.session.id).turns[-1].vote


def test_a_click_selects_and_vote_or_a_second_click_votes(
    win: MainWindow, qtbot: QtBot, store: Store, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    bar, turn = win.vote_bar, win.session.turns[-1]
    assert bar.hint.text() == hint_text(3) == "Alt+1–3 picks, press again to vote · Alt+T tie · Alt+X all bad"
    assert bar.vote_button is not None and not bar.vote_button.isEnabled()
    first, second = (turn.shown_order or [])[:2]
    bar.buttons[first].click()  # selects: nothing is cast, nothing is revealed
    assert bar.buttons[first].isChecked() and bar.vote_button.isEnabled() and win.lab.masked
    assert turn.vote is None and stored_vote(store, win) is None and asked == []
    bar.buttons[second].click()  # another click moves the selection
    assert not bar.buttons[first].isChecked() and bar.buttons[second].isChecked() and turn.vote is None
    bar.vote_button.click()
    vote = stored_vote(store, win)
    assert vote is not None and vote.choice == second and not vote.sighted
    assert not win.lab.masked and win.reveal.reveal is not None
    # The first vote asked the name once, offering the account's; the vote carries it.
    assert asked == [os_user()] and vote.rater_name == "Ann" == load_config().rater
    assert bar.undo_button is not None and bar.new_blind_button is not None and bar.isVisibleTo(win)


def test_the_keys_still_select_then_vote(
    win: MainWindow, qtbot: QtBot, store: Store, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    win.activateWindow()
    turn = win.session.turns[-1]
    qtbot.keyClick(win, Qt.Key.Key_2, ALT)
    assert win.vote_bar.armed == (turn.shown_order or [])[1] and turn.vote is None
    assert win.vote_bar.buttons[win.vote_bar.armed].isChecked()  # the same look as a click
    qtbot.keyClick(win, Qt.Key.Key_2, ALT)
    assert turn.vote is not None and turn.vote.choice == (turn.shown_order or [])[1]


def test_undo_restores_the_bar_removes_the_vote_and_a_new_vote_is_sighted(
    win: MainWindow, qtbot: QtBot, store: Store, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    bar, turn = win.vote_bar, win.session.turns[-1]
    bar.buttons["tie"].click()
    bar.buttons["tie"].click()  # the same click again votes
    assert stored_vote(store, win) is not None and bar.undo_button is not None
    bar.undo_button.click()
    assert turn.vote is None and stored_vote(store, win) is None
    # The names were seen: they stay; the bar offers the vote again, under the names.
    assert not win.lab.masked and set(bar.buttons) >= set(turn.shown_order or [])
    assert [bar.buttons[x].text() for x in turn.shown_order or []] == [
        win.session.lane(x).display for x in turn.shown_order or []
    ]
    assert all(not w.title.text().startswith("Model ") for w in win.lane_widgets.values())
    assert not bar.guesses and "sighted" in win.statusBar().currentMessage()
    lane = (turn.shown_order or [])[0]
    bar.buttons[lane].click()
    bar.vote_button.click()  # type: ignore[union-attr]
    vote = stored_vote(store, win)
    assert vote is not None and vote.choice == lane and vote.sighted
    assert len(asked) == 1  # never asked again
    # The bar says the vote stands (and how to change it), not "Which answer is best?".
    assert bar.title.text().startswith(f"You voted: {win.lab.name_of(lane)}")


def test_a_follow_up_after_the_reveal_is_sighted_and_says_so(
    win: MainWindow, qtbot: QtBot, store: Store, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    win.vote("tie")
    titles: list[str] = []
    win.laneFlushed.connect(lambda _id: titles.extend(w.title.text() for w in win.lane_widgets.values()))
    win.prompt.setPlainText("And another?")
    wait_turn(qtbot, win)
    assert titles and not any(t.startswith("Model ") for t in titles)  # no masking while it streams
    assert win.lanes.turn_header.text().startswith(
        "Turn 2 of 2 · sighted — names shown since turn 1's reveal"
    )
    assert not win.vote_bar.guesses and "Model" not in " ".join(
        b.text() for b in win.vote_bar.buttons.values()
    )
    lane = win.session.lanes[0].id
    win.vote_bar.buttons[lane].click()
    win.vote_bar.buttons[lane].click()
    vote = stored_vote(store, win)
    assert vote is not None and vote.sighted and not win.reveal.isVisibleTo(win)


def test_new_blind_turn_keeps_the_lanes_and_the_prompt_and_shuffles_anew(
    win: MainWindow, qtbot: QtBot, store: Store, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    win.vote("all_bad")
    first = win.session
    win.prompt.setPlainText("the same question, blind again")
    win.lab.rng = random.Random(11)
    assert win.vote_bar.new_blind_button is not None
    win.vote_bar.new_blind_button.click()
    fresh = win.session
    assert fresh.id != first.id and fresh.blind and not fresh.turns
    assert [x.spec for x in fresh.lanes] == [x.spec for x in first.lanes]
    assert win.prompt.toPlainText() == "the same question, blind again"
    wait_turn(qtbot, win)
    expected = [x.id for x in fresh.lanes]
    random.Random(11).shuffle(expected)
    assert fresh.turns[-1].shown_order == expected and win.lab.masked
    assert all(w.title.text().startswith("Model ") for w in win.lane_widgets.values())
    assert not win.registry.qaction("session.new_blind").isEnabled()  # masked: vote first


def test_a_send_or_retry_before_the_vote_says_so_inline_and_flashes_the_bar(
    win: MainWindow, qtbot: QtBot, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    win.activateWindow()
    win.prompt.setPlainText("skip it")
    qtbot.keyClick(win.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.activeModalWidget() is None and len(win.session.turns) == 1
    assert win.statusBar().currentMessage().startswith("Vote first")
    assert win.vote_bar.property("flash") is True
    qtbot.waitUntil(lambda: win.vote_bar.property("flash") is False, timeout=5_000)  # a flash, not a state
    win.retry_lane(win.session.lanes[0].id)
    assert QApplication.activeModalWidget() is None and win.lab.masked
    assert "retry" in win.statusBar().currentMessage()


def test_alt_g_then_a_digit_ticks_the_guess_for_the_lane_in_that_place(
    win: MainWindow, qtbot: QtBot, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    win.activateWindow()
    order = win.session.turns[-1].shown_order or []
    bar = win.vote_bar
    qtbot.keyClick(win, Qt.Key.Key_G, ALT)
    qtbot.keyClick(win, Qt.Key.Key_2)
    assert bar.guesses[order[1]].isChecked() and bar.guessed() == [order[1]]
    qtbot.keyClick(win, Qt.Key.Key_G, ALT)
    qtbot.keyClick(win, Qt.Key.Key_0)
    assert bar.guessed() == [] and not bar.guesses[order[1]].isChecked()
    qtbot.keyClick(win, Qt.Key.Key_G, ALT)
    qtbot.keyClick(win, Qt.Key.Key_2)
    qtbot.keyClick(win, Qt.Key.Key_G, ALT)
    qtbot.keyClick(win, Qt.Key.Key_2)  # again: untick
    assert bar.guessed() is None


def test_alt_s_then_a_digit_scores_the_focused_lane(
    win: MainWindow, qtbot: QtBot, store: Store, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    win.activateWindow()
    order = win.session.turns[-1].shown_order or []
    qtbot.keyClick(win, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # the lane in place 2
    qtbot.keyClick(win, Qt.Key.Key_S, ALT)
    qtbot.keyClick(win, Qt.Key.Key_4)
    rating = store.load(win.session.id).turns[-1].responses[order[1]].rating
    assert rating is not None and rating.score == 4 and rating.rater_name == "Ann"
    assert win.lab.masked  # a score casts no vote


def test_a_cancelled_name_casts_no_vote(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: ("", False))  # Cancel
    blind_turn(qtbot, win)
    win.vote("tie")
    assert win.session.turns[-1].vote is None and win.lab.masked and not load_config().rater_id


def test_a_main_window_vote_and_a_queue_vote_are_one_rater(
    win: MainWindow, qtbot: QtBot, store: Store, asked: list[str]
) -> None:
    blind_turn(qtbot, win)
    win.vote("tie")  # asks the name, makes the rater
    win.prompt.setPlainText("Rate this one later")
    win.new_blind_turn()
    wait_turn(qtbot, win)
    win.rate_later()  # this one goes to the queue
    win.open_rate(None)
    assert len(win.rate_windows) == 1 and len(asked) == 1
    rate_window = win.rate_windows[0]
    assert isinstance(rate_window, RateWindow)
    view = rate_window.view
    qtbot.keyClick(view, Qt.Key.Key_1)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    sessions = load_sessions(store).sessions
    voters = {v.rater for s in sessions for t in s.turns for v in t.votes}
    assert len(voters) == 1 and sum(len(t.votes) for s in sessions for t in s.turns) == 2
    report = analyse(sessions, rounds=50)
    assert report.raters is not None and report.raters.humans == 1
    win.rate_windows[0].close()


def test_long_or_markup_names_never_push_the_vote_button_away(window: MainWindow, qtbot: QtBot) -> None:
    """Four unlabelled lanes with long model names at 1280×800: each name button is cut
    (the whole name in its tooltip), so Vote stays in view; a label like markup or with an
    "&" is shown as written, never as a tag or a keyboard mnemonic."""
    window.resize(1280, 800)
    lanes = add_lanes(window, *["chat:demo-fast@tps=0"] * 3)
    for i, lane in enumerate(lanes):
        lane.label = f"openrouter:some-vendor/a-very-long-model-name-{i}-2026-12-01-preview"
    (odd,) = add_lanes(window, "claude:demo-fast@tps=0")
    odd.label = "<b>R&D</b> lane"
    window.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, window)
    bar = window.vote_bar
    qtbot.waitUntil(bar.isVisible)
    for lane in lanes:
        button = bar.buttons[lane.id]
        assert button.fontMetrics().horizontalAdvance(button.text()) <= 200
        assert lane.label in button.toolTip() and "…" in button.text()
        assert button.text().endswith(f"{lanes.index(lane)}-2026-12-01-preview"[-6:])  # its end stays
    assert bar.buttons[odd.id].text() == "<b>R&&D</b> lane"
    assert "&lt;b&gt;" in bar.buttons[odd.id].toolTip()  # shown as text, not as bold
    assert bar.vote_button is not None
    vote = bar.vote_button
    qtbot.waitUntil(lambda: vote.visibleRegion().boundingRect().width() == vote.width())
    bar.buttons[odd.id].click()
    assert "<b>R&D</b> lane selected" in bar.hint.text()
    assert bar.hint.textFormat() == Qt.TextFormat.PlainText


def test_eight_named_lanes_fit_the_vote_bar_and_twins_are_told_apart(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Eight unlabelled lanes at 1280×800, two of one model: the name buttons share the
    bar's width so Vote and Rate later stay in view, and the twins read "#1" and "#2" in
    their headers and on their buttons alike (never by their shuffled place)."""
    window.resize(1280, 800)
    specs = [
        "chat:demo-reasoner@tps=0",
        "responses:demo-hidden@tps=0,think_delay_s=0",
        "claude:demo-fast@tps=0",
    ]
    lanes = add_lanes(
        window, *specs, "chat:demo-coder@tps=0", "gemini:demo-fast@tps=0", "chat:echo", "chat:echo"
    )
    lanes += add_lanes(window, "responses:demo-reasoner@tps=0")
    window.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, window)
    bar = window.vote_bar
    qtbot.waitUntil(bar.isVisible)

    def whole(button: QWidget | None) -> bool:
        return button is not None and button.visibleRegion().boundingRect().width() == button.width()

    qtbot.waitUntil(lambda: whole(bar.vote_button) and whole(bar.later))
    for button in (bar.vote_button, bar.later):
        assert button is not None
        assert QRect(button.mapTo(window, QPoint(0, 0)), button.size()).right() < window.width()
    twins = [lane for lane in lanes if lane.spec == "chat:echo"]
    assert [window.lane_widgets[t.id].title.text() for t in twins] == ["chat:echo #1", "chat:echo #2"]
    assert [bar.buttons[t.id].text() for t in twins] == ["chat:echo #1", "chat:echo #2"]


def test_a_relaunched_window_shows_the_vote_it_already_has(
    win: MainWindow, qtbot: QtBot, runner: Runner, store: Store, asked: list[str]
) -> None:
    """The app passes this installation's rater id from the config (when it was made before)
    to a new window, so a reopened session shows the vote cast on it, not an empty bar."""
    add_lanes(win, "chat:demo-fast@tps=0", "claude:demo-fast@tps=0")
    win.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, win)
    win.vote_bar.buttons["tie"].click()
    win.vote_bar.buttons["tie"].click()
    session_id = win.session.id
    config = load_config()
    assert config.rater_id and stored_vote(store, win) is not None
    again = MainWindow(
        runner, store=store, rater=config.rater_id, rater_of=lambda: installation(store.claim_rater)
    )
    again.show()
    try:
        again.actions_.open_session(session_id)
        qtbot.waitUntil(again.vote_bar.isVisible)
        assert again.vote_bar.title.text().startswith("You voted: Tie")
        assert again.vote_bar.buttons["tie"].isChecked()
    finally:
        close_window(qtbot, again)
