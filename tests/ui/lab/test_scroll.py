"""Where a long answer opens (issue 24): at the start of its latest turn, the turn's
divider at the top of the view, not the middle or the end, blind and not, in the four
states: a stream just finished, a session reopened, a blind turn revealed by the vote,
and a follow-up. Each turn's reasoning is named and shown from its start."""

from __future__ import annotations

import functools

from PySide6.QtWidgets import QPlainTextEdit
from pytestqt.qtbot import QtBot

from chatlab.ui.lab.lane import LaneWidget
from chatlab.ui.lab.window import MainWindow
from tests.ui.conftest import add_lanes, wait_turn

LONG = "@repeat=12,tps=0"  # an answer many screens long, at once


def at_latest_turn(card: LaneWidget) -> bool:
    """The answer view shows its latest turn's divider at the top, with more below."""
    bar = card.answer.verticalScrollBar()
    return bar.value() == card.answer.latest_turn_top() and bar.maximum() > bar.value()


def top_line(view: QPlainTextEdit) -> str:
    """The first line the view shows."""
    return view.cursorForPosition(view.viewport().rect().topLeft()).block().text()


def ask(qtbot: QtBot, win: MainWindow, prompt: str) -> None:
    win.prompt.setPlainText(prompt)
    wait_turn(qtbot, win)


def test_a_finished_answer_and_a_follow_up_open_at_their_start(win: MainWindow, qtbot: QtBot) -> None:
    lanes = add_lanes(win, "chat:demo-reasoner" + LONG, "claude:demo-fast" + LONG)
    cards = [win.lane_widgets[lane.id] for lane in lanes]
    ask(qtbot, win, "Write a haiku.")
    for card in cards:
        qtbot.waitUntil(functools.partial(at_latest_turn, card))
    ask(qtbot, win, "And another.")
    for card in cards:
        qtbot.waitUntil(functools.partial(at_latest_turn, card))
        assert card.answer.latest_turn_top() > 0  # turn 2, well below turn 1's long answer
    # The reasoning is turn 2's, named so, and shown from turn 2's start.
    reasoner = cards[0]
    reasoner.reasoning_toggle.click()  # folded once the answer came: open it
    assert reasoner.reasoning_toggle.text().startswith("Turn 2 reasoning")
    assert reasoner.reasoning.isVisible()
    # At turn 2's reasoning: its marker on the first line shown, not the end of it.
    qtbot.waitUntil(lambda: top_line(reasoner.reasoning) == "— turn 2 —")
    # The user scrolls: the view stays where they put it, even when the width changes.
    bar = cards[1].answer.verticalScrollBar()
    bar.triggerAction(bar.SliderAction.SliderToMaximum)
    win.resize(1300, 800)
    qtbot.waitUntil(lambda: cards[1].width() > 0)
    assert bar.value() == bar.maximum()


def test_a_reopened_session_opens_at_its_latest_turn(win: MainWindow, qtbot: QtBot) -> None:
    add_lanes(win, "chat:demo-reasoner" + LONG)
    ask(qtbot, win, "Write a haiku.")
    ask(qtbot, win, "And another.")
    session_id = win.session.id
    win.new_session()
    win.actions_.open_session(session_id)
    card = win.lane_widgets[win.session.lanes[0].id]
    qtbot.waitUntil(lambda: at_latest_turn(card))
    assert card.answer.latest_turn_top() > 0
    assert "Turn 2" in card.reasoning_toggle.text()
    text = card.reasoning.toPlainText()
    assert text.startswith("— turn 1 —") and "— turn 2 —" in text  # each turn's reasoning under its name
    if not card.reasoning.isVisible():
        card.reasoning_toggle.click()
    assert card.reasoning.isVisible()
    qtbot.waitUntil(lambda: top_line(card.reasoning) == "— turn 2 —")  # turn 2's reasoning from its start


def test_blind_answers_open_at_their_start_when_shown_and_after_the_vote(
    win: MainWindow, qtbot: QtBot
) -> None:
    lanes = add_lanes(win, "chat:demo-reasoner" + LONG, "claude:demo-fast" + LONG, "gemini:demo-coder" + LONG)
    win.prompt_area.blind_check.setChecked(True)
    ask(qtbot, win, "Write a haiku.")
    cards = [win.lane_widgets[lane.id] for lane in lanes]
    for card in cards:  # shown all at once, each from its start
        qtbot.waitUntil(functools.partial(at_latest_turn, card))
    order = win.session.turns[-1].shown_order
    assert order is not None
    win.lab.vote(order[0])
    cards = [win.lane_widgets[lane.id] for lane in lanes]
    for card in cards:  # revealed and reloaded: still at the judged turn
        qtbot.waitUntil(functools.partial(at_latest_turn, card))
    ask(qtbot, win, "And another.")
    for card in cards:
        qtbot.waitUntil(functools.partial(at_latest_turn, card))
        assert card.answer.latest_turn_top() > 0
    turn = win.session.turns[-1]
    win.lab.vote((turn.shown_order or [lane.id for lane in lanes])[0])  # turn 2 judged
    assert turn.vote is not None
    cards = [win.lane_widgets[lane.id] for lane in lanes]
    for card in cards:  # the lanes stay at turn 2, not back at turn 1
        qtbot.waitUntil(functools.partial(at_latest_turn, card))
        assert card.answer.latest_turn_top() > 0
