"""What a wait shows (issue 24): a run's progress, "2 of 3 finished · 0:01", with a
Stop all, above the lanes; while a blind turn is masked every card shows those same words
at the same moment (never which lanes have finished); outside blind mode a lane that
thinks without sending text (a hidden reasoner) reads "thinking… 0:01", not blank."""

from __future__ import annotations

import re

from pytestqt.qtbot import QtBot

from chatlab.core.data.model import Status
from chatlab.ui.lab.badges import clock
from chatlab.ui.lab.window import MainWindow
from tests.ui.conftest import TURN_TIMEOUT_MS, add_lanes, wait_turn

PROGRESS = re.compile(r"^(\d) of (\d) finished · (\d+):(\d\d)$")


def test_clock_reads_minutes_and_seconds() -> None:
    assert [clock(s) for s in (0, 7.9, 83, 3723)] == ["0:00", "0:07", "1:23", "1:02:03"]


def test_a_blind_wait_counts_and_keeps_time_alike_in_every_card(window: MainWindow, qtbot: QtBot) -> None:
    lanes = add_lanes(
        window, "chat:demo-fast@tps=0", "claude:demo-fast@tps=0", "responses:demo-hidden@think_delay_s=5"
    )
    window.prompt_area.blind_check.setChecked(True)
    window.prompt.setPlainText("Write a haiku.")
    cards = [window.lane_widgets[lane.id] for lane in lanes]
    seen: set[str] = set()

    def alike() -> bool:
        """Every card shows the progress line's words, whatever its own lane's state."""
        text = window.lanes.progress.text()
        assert all(card.wait_note.text() == text and card.wait_note.isVisible() for card in cards)
        seen.add(text)
        return True

    window.send()
    assert window.lanes.progress_line.isVisible() and window.lanes.stop_all.isVisible()
    alike()
    responses = window.session.turns[-1].responses
    # Two have finished while one still runs, a second or more into the run.
    qtbot.waitUntil(
        lambda: alike() and re.match(r"2 of 3 finished · (?!0:00)", window.lanes.progress.text()) is not None,
        timeout=TURN_TIMEOUT_MS,
    )
    assert sum(not responses[lane.id].status.finished for lane in lanes) == 1  # one still runs
    assert {card.status.text() for card in cards} == {"waiting for all models…"}
    wait_turn(qtbot, window, send=False)
    assert not window.lanes.progress_line.isVisible()
    assert not any(card.wait_note.isVisible() for card in cards)  # the answers show instead
    assert all(PROGRESS.match(text) for text in seen)
    assert {text.split()[0] for text in seen} >= {"0", "2"}  # it counted
    assert len({text.split(" · ")[1] for text in seen}) >= 2  # and the clock ran


def test_stop_all_above_the_lanes_stops_every_lane(window: MainWindow, qtbot: QtBot) -> None:
    lanes = add_lanes(window, "chat:demo-fast@tps=5", "claude:demo-fast@tps=5")
    window.prompt.setPlainText("Write a haiku.")
    window.send()
    qtbot.waitUntil(lambda: window.lanes.stop_all.isVisible())
    with qtbot.waitSignal(window.turnFinished, timeout=TURN_TIMEOUT_MS):
        window.lanes.stop_all.click()
    turn = window.session.turns[-1]
    assert {turn.responses[lane.id].status for lane in lanes} == {Status.CANCELLED}


def test_a_hidden_reasoner_reads_thinking_while_it_thinks(window: MainWindow, qtbot: QtBot) -> None:
    (lane,) = add_lanes(window, "responses:demo-hidden@think_delay_s=2.5")
    card = window.lane_widgets[lane.id]
    window.prompt.setPlainText("Write a haiku.")
    window.send()
    qtbot.waitUntil(
        lambda: (
            card.wait_note.isVisible()
            and re.fullmatch(r"thinking… 0:0[1-9]", card.wait_note.text()) is not None
        )
    )
    assert window.session.turns[-1].responses[lane.id].text_chars == 0
    wait_turn(qtbot, window, send=False)
    assert not card.wait_note.isVisible() and card.answer.toPlainText().strip()
