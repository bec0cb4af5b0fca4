"""What a wait shows (issue 24): a run's progress, "2 of 3 finished · 0:01", with a
Stop all, above the lanes; while a blind turn is masked every card shows those same words
at the same moment (never which lanes have finished); outside blind mode a lane that
thinks without sending text (a hidden reasoner) reads "thinking… 0:01", not blank."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QMessageBox
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


@pytest.mark.parametrize("confirm", [False, True])
def test_stopping_a_blind_turn_asks_first_and_then_says_why_its_names_show(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, confirm: bool
) -> None:
    """Stopped, a blind turn can't be judged blind: Stop all asks before it throws the test
    away, and once stopped the turn header keeps saying why the names show."""
    asked: list[str] = []

    def question(_parent: object, title: str, *_rest: object) -> QMessageBox.StandardButton:
        asked.append(title)
        return QMessageBox.StandardButton.Yes if confirm else QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
    add_lanes(window, "chat:demo-fast@tps=0", "claude:demo-fast@tps=20")
    window.lab.set_blind(True)
    window.prompt.setPlainText("Write a haiku.")
    window.send()
    qtbot.waitUntil(lambda: window.lanes.stop_all.isVisible())
    if not confirm:
        window.lanes.stop_all.click()
        assert asked == ["Stop this blind turn?"] and window.lab.busy  # nothing stopped
        qtbot.waitUntil(lambda: not window.lab.busy, timeout=TURN_TIMEOUT_MS)
        assert window.lab.masked
        return
    with qtbot.waitSignal(window.turnFinished, timeout=TURN_TIMEOUT_MS):
        window.lanes.stop_all.click()
    assert asked == ["Stop this blind turn?"]
    assert window.lab.void(window.session.turns[-1]) and not window.lab.masked
    assert "stopped — names shown, no blind vote" in window.lanes.turn_header.text()


def test_stopping_a_turn_with_names_showing_asks_nothing(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: pytest.fail("asked"))
    add_lanes(window, "chat:demo-fast@tps=3", "claude:demo-fast@tps=3")
    window.prompt.setPlainText("Write a haiku.")
    window.send()
    qtbot.waitUntil(lambda: window.lanes.stop_all.isVisible())
    with qtbot.waitSignal(window.turnFinished, timeout=TURN_TIMEOUT_MS):
        window.lanes.stop_all.click()


def test_the_session_cost_counts_a_lane_as_soon_as_it_ends(window: MainWindow, qtbot: QtBot) -> None:
    """Nothing sent: no cost is spoken of (never "$0"). A lane that has ended counts at
    once, while the others still run."""
    assert window.cost_label.text() == ""
    fast, _slow = add_lanes(window, "chat:demo-fast@tps=0", "claude:demo-fast@tps=15")
    window.prompt.setPlainText("Write a haiku.")
    window.send()
    turn = window.session.turns[-1]
    qtbot.waitUntil(lambda: turn.responses[fast.id].status.finished)
    qtbot.waitUntil(lambda: "1 response with no price" in window.cost_label.text())
    assert window.lab.busy  # the slow lane is still going
    qtbot.waitUntil(lambda: not window.lab.busy, timeout=TURN_TIMEOUT_MS)
    assert window.cost_label.text() == "Session cost unknown (2 responses with no price)"
