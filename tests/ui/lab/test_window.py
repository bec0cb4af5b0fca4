"""The main window against the loopback server, offscreen: panes, counters, errors,
stop, follow-ups, keyboard, estimates and a clean close."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import LaneParams, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.demo.scripts import DEMO_SCRIPTS
from chatlab.ui.dialogs.lane import LaneDialog
from chatlab.ui.lab.window import MainWindow
from tests.ui.conftest import add_lanes, wait_turn


def test_three_lanes_stream_into_the_right_panes(window: MainWindow, qtbot: QtBot) -> None:
    lanes = add_lanes(
        window,
        "chat:demo-reasoner@tps=0",
        "responses:demo-hidden@tps=0,think_delay_s=0",
        "claude:demo-fast@tps=0",
    )
    lanes[2].params = LaneParams(thinking_budget=2048)
    window.prompt.setPlainText("Write a haiku about autumn rain on a tin roof.")
    wait_turn(qtbot, window)
    turn = window.session.turns[-1]
    reasoner, hidden, fast = (window.lane_widgets[lane.id] for lane in lanes)

    r = turn.responses[lanes[0].id]
    assert r.status is Status.OK
    assert reasoner.reasoning.toPlainText() == r.reasoning == DEMO_SCRIPTS["demo-reasoner"].reasoning
    answer = reasoner.answer.toPlainText()
    assert "Tin roof, autumn night" in answer and "**" not in answer  # Markdown rendered
    assert r.reasoning not in answer
    # The counters end on the provider's usage (no ≈).
    status = reasoner.status.text()
    assert status.startswith("done") and f"out {r.usage.output_tokens:,}" in status and "≈" not in status
    assert f"(reasoning {r.usage.reasoning_tokens:,})" in status
    assert "412 reasoning tokens, text not returned" in hidden.reasoning_toggle.text()
    assert (
        hidden.reasoning.toPlainText()
        == "[412 reasoning tokens — text not returned: the provider reasoned but sent no reasoning text]"
    )
    assert fast.reasoning.toPlainText() == "" and "Rain on the tin roof" in fast.answer.toPlainText()
    # The reasoning pane collapsed once the answer started.
    assert not reasoner.reasoning_toggle.isChecked()
    # These demo lanes carry options in their names and have no price: never "$0".
    assert window.cost_label.text() == "Session cost unknown (3 responses with no price)"


def test_an_error_stays_in_its_lane(window: MainWindow, qtbot: QtBot) -> None:
    lanes = add_lanes(
        window, "chat:demo-fast@fault=401", "claude:demo-fast@tps=0", "responses:demo-fast@tps=0"
    )
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    bad = window.lane_widgets[lanes[0].id]
    assert bad.error.isVisible() and bad.error.text().startswith("auth (HTTP 401): Incorrect API key")
    assert bad.status.text().startswith("error")
    for lane in lanes[1:]:
        w = window.lane_widgets[lane.id]
        assert w.status.text().startswith("done") and not w.error.isVisible()
        assert "Rain on the tin roof" in w.answer.toPlainText()


def test_stop_one_lane(window: MainWindow, qtbot: QtBot) -> None:
    lanes = add_lanes(
        window, "chat:demo-fast@tps=40", "claude:demo-fast@tps=40", "responses:demo-fast@tps=40"
    )
    victim = window.lane_widgets[lanes[1].id]

    def maybe_stop(lane_id: str) -> None:
        resp = victim.response
        if lane_id == lanes[1].id and resp is not None and resp.text_chars and victim.stop_button.isEnabled():
            qtbot.mouseClick(victim.stop_button, Qt.MouseButton.LeftButton)

    window.laneFlushed.connect(maybe_stop)
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    turn = window.session.turns[-1]
    assert turn.responses[lanes[1].id].status is Status.CANCELLED
    assert victim.status.text().startswith("stopped") and victim.answer.toPlainText().count("Rain") == 1
    assert not victim.error.isVisibleTo(window)  # a Stop the user asked for is not shown as an error
    assert "[stopped]" in victim.answer.toPlainText() and "cancelled" not in victim.answer.toPlainText()
    for lane in (lanes[0], lanes[2]):
        assert turn.responses[lane.id].status is Status.OK


def test_follow_up_reaches_every_lane_with_history(window: MainWindow, qtbot: QtBot) -> None:
    lanes = add_lanes(window, "chat:echo", "responses:echo", "claude:echo")
    window.prompt.setPlainText("first")
    wait_turn(qtbot, window)
    window.prompt.setPlainText("second")
    wait_turn(qtbot, window)
    for lane in lanes:
        text = window.lane_widgets[lane.id].answer.toPlainText()
        assert "echo (turn 1): first" in text and "echo (turn 2): second" in text
        assert text.index("turn 1") < text.index("turn 2")


def test_retry_replaces_the_failed_answer(window: MainWindow, qtbot: QtBot, runner: Runner) -> None:
    [lane] = add_lanes(window, "chat:demo-fast@fault=500")
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    widget = window.lane_widgets[lane.id]
    assert widget.status.text().startswith("error") and widget.retry_button.isEnabled()
    lane.model = "demo-fast@tps=0"
    widget.retry_button.click()
    wait_turn(qtbot, window, send=False)
    assert window.session.turns[-1].responses[lane.id].status is Status.OK
    text = widget.answer.toPlainText()
    assert text.count("Turn 1") == 1 and "Rain on the tin roof" in text and "server" not in text


def test_ctrl_enter_sends_and_estimates_update(window: MainWindow, qtbot: QtBot) -> None:
    [lane] = add_lanes(window, "chat:echo")
    qtbot.keyClicks(window.prompt, "ping")
    window.update_estimates()  # the debounced estimate, run now
    widget = window.lane_widgets[lane.id]
    assert widget.next_estimate.startswith("≈") and "in" in widget.next_estimate
    assert "Next send" in window.prompt_area.estimate.text()
    qtbot.keyClick(window.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.lab.busy and window.prompt.toPlainText() == ""
    wait_turn(qtbot, window, send=False)
    assert "echo (turn 1): ping" in widget.answer.toPlainText()


def test_close_while_streaming_cancels_cleanly(
    window: MainWindow, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    lanes = add_lanes(window, "chat:demo-reasoner@tps=50", "claude:demo-reasoner@tps=50")
    window.prompt.setPlainText("hi")
    with qtbot.waitSignal(window.laneFlushed, timeout=30_000):
        window.send()
    with (
        caplog.at_level(logging.WARNING, logger="asyncio"),
        qtbot.waitSignal(window.shutdownComplete, timeout=30_000),
    ):
        window.close()
    turn = window.session.turns[-1]
    assert {turn.responses[lane.id].status for lane in lanes} == {Status.CANCELLED}
    assert not window.lab.busy
    assert [r.getMessage() for r in caplog.records] == []


def test_lane_dialog_refuses_invalid_values(qtbot: QtBot, runner: Runner) -> None:
    dialog = LaneDialog(runner.config, None)
    qtbot.addWidget(dialog)
    dialog.use_temp.setChecked(True)
    dialog.temp.setValue(5.0)
    dialog.accept()
    assert dialog.result_lane is None and "temperature must be between 0 and 2" in dialog.error.text()
    dialog.temp.setValue(0.7)
    dialog.use_budget.setChecked(True)
    dialog.budget.setValue(8000)
    dialog.accept()  # the demo's models take an effort, never a budget (it would be dropped)
    assert dialog.result_lane is None and "demo-fast takes no token budget" in dialog.error.text()
    dialog.provider.setCurrentText("anthropic")  # the demo's own settings go with it
    assert not dialog.use_budget.isChecked()
    dialog.model.setCurrentText("claude-sonnet-4-5")
    dialog.use_budget.setChecked(True)
    dialog.budget.setValue(8000)
    dialog.use_max.setChecked(True)
    dialog.max_tokens.setValue(4000)
    dialog.accept()
    assert dialog.result_lane is None and "larger than the 8,000-token thinking budget" in dialog.error.text()
    dialog.max_tokens.setValue(16000)
    dialog.model.setCurrentText("")
    dialog.accept()
    assert dialog.result_lane is None and "model" in dialog.error.text()
    dialog.model.setCurrentText("claude-sonnet-4-5")
    dialog.accept()
    assert dialog.result_lane is not None
    assert dialog.result_lane.params == LaneParams(
        temperature=0.7, max_output_tokens=16000, thinking_budget=8000
    )


def test_the_command_line_opens_the_window_with_its_lanes(window: MainWindow, qtbot: QtBot) -> None:
    from chatlab.app import start, window_parser

    args = window_parser().parse_args(
        ["-m", "chat:echo", "-m", "claude:demo-fast@tps=0 {think=prompted}", "--blind", "--send", "hi"]
    )
    with qtbot.waitSignal(
        window.turnFinished, timeout=60_000, check_params_cb=lambda *_: not window.lab.runs
    ):
        start(window, args, demo=False)
    assert [lane.spec for lane in window.session.lanes] == ["chat:echo", "claude:demo-fast@tps=0"]
    assert [lane.params.think for lane in window.session.lanes] == [None, "prompted"]
    assert window.session.blind and window.session.turns[0].prompt == "hi"
    assert {r.status for r in window.session.turns[0].responses.values()} == {Status.OK}


def test_window_flags_are_checked_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from chatlab import cli

    assert cli.window_flags(["ask", "-m", "x:y"]) is None  # a subcommand, not the window
    assert cli.window_flags(["-m", "demo:echo", "--send", "hi"]) == ["-m", "demo:echo", "--send", "hi"]
    assert cli.main(["-m", "nosuch:model", "hi"]) == 2
    assert "unknown provider 'nosuch'" in capsys.readouterr().err
    assert cli.main(["-m", "demo"]) == 2  # not PROVIDER:MODEL


def test_the_window_never_grows_wider_than_a_1280_screen(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(1280, 800)
    lanes = add_lanes(window, *[f"chat:demo-fast@tps=0,x={i}" for i in range(8)])
    for i, lane in enumerate(lanes):
        lane.label = f"A rather long lane label number {i}"
    window.prompt.setPlainText("A long prompt " * 200)
    window.update_estimates()
    text = window.prompt_area.estimate.text()
    assert window.prompt_area.estimate.fontMetrics().horizontalAdvance(text) > 1280  # wider than the screen
    window.session.new_turn("x")
    window.vote_bar.show_for(window.lab)  # eight vote buttons, tie, all bad
    QApplication.sendPostedEvents()  # the layout requests those changes posted
    QApplication.processEvents()
    assert window.minimumSizeHint().width() <= 1280
    assert window.width() <= 1280


def test_a_failed_lane_gets_no_vote_and_no_score(window: MainWindow, qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QPushButton

    bad, good = add_lanes(window, "chat:demo-fast@fault=401", "claude:demo-fast@tps=0")
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    names = [b.text() for b in window.vote_bar.findChildren(QPushButton)]
    assert names == [
        window.lane_widgets[good.id].title.text(),
        "All bad",
        "Vote",
        "Rate later",
    ]  # no tie with one answer
    assert not window.lane_widgets[bad.id].rating_box.isVisibleTo(window)
    assert window.lane_widgets[good.id].rating_box.isVisibleTo(window)
    window.lab.remove_lane(good.id)
    add_lanes(window, "responses:demo-fast@fault=500")
    window.prompt.setPlainText("again")
    wait_turn(qtbot, window)  # every lane fails: nothing to judge, no vote row
    assert not window.vote_bar.isVisibleTo(window)


def test_the_reasoning_pane_is_open_while_the_model_thinks(window: MainWindow, qtbot: QtBot) -> None:
    """A turn starts with no reasoning text, so the toggle starts out uncheckable (and Qt
    unchecks a button made uncheckable): the pane must still open with the first
    reasoning, in every turn, and fold away once the answer starts."""
    (lane,) = add_lanes(window, "chat:demo-reasoner@tps=300")
    card = window.lane_widgets[lane.id]
    thinking: list[tuple[bool, bool, str]] = []  # what each frame showed before the answer

    def flushed(lane_id: str) -> None:
        resp = card.response
        if lane_id == lane.id and resp is not None and card._r_i and not resp.text_chars:
            toggle = card.reasoning_toggle
            thinking.append((toggle.isChecked(), card.reasoning.isVisibleTo(window), toggle.text()))

    window.laneFlushed.connect(flushed)
    for turn in range(2):
        thinking.clear()
        window.prompt.setPlainText(f"haiku {turn}")
        wait_turn(qtbot, window)
        assert len(thinking) > 3, turn  # frames while it thought, before the answer
        assert all(checked and visible and "▾" in text for checked, visible, text in thinking), thinking[:3]
        assert not card.reasoning_toggle.isChecked()  # folded once the answer started


def test_the_counters_change_state_with_the_first_text(window: MainWindow, qtbot: QtBot) -> None:
    """The running counters redraw a few times a second, but a change of state shows in
    the same frame as the text that caused it: no card shows answer text over
    "ttft –, out ≈0"."""
    (lane,) = add_lanes(window, "chat:demo-fast@tps=20")
    card = window.lane_widgets[lane.id]
    seen: list[str] = []
    window.laneFlushed.connect(lambda lane_id: seen.append(card.status.text()) if card._t_i else None)
    window.prompt.setPlainText("hi")
    wait_turn(qtbot, window)
    assert seen and seen[0].startswith("answering") and "ttft –" not in seen[0], seen[:2]
    assert card.status.text().startswith("done")
