"""The Studies window's Judge…: on a study of demo lanes the dialog plans with demo-judge
(the counts and estimate in words), runs to the end (a judge vote on every comparison,
as rater ``judge:demo:demo-judge``), stops mid-run and judges again with exactly one
judgement per comparison, and says inline why a judge can't be planned or run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from chatlab.core.judging.rubrics import user_dir
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.studies.study import StudyInfo
from chatlab.core.studies.suites import parse_suite
from chatlab.demo.server import DemoServer
from chatlab.demo.setup import with_demo
from chatlab.providers import make_adapter
from chatlab.store.db import Store
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.studies.judge import JudgeDialog
from chatlab.ui.studies.view import StudiesView
from tests.conftest import lab_config
from tests.ui.conftest import TURN_TIMEOUT_MS, close_window

PROMPTS, SAMPLES = 3, 2
COMPARISONS = PROMPTS * SAMPLES


@pytest.fixture
def judged(
    qtbot: QtBot,
    server: DemoServer,
    loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[StudiesView, Store, StudyInfo]]:
    """A finished study of two demo lanes (or as many as the test's parameter says),
    selected in the Studies window."""
    models = ["demo-fast@tps=0", "demo-reasoner@tps=0", "demo-coder@tps=0"]
    store = Store(tmp_path / "s.db")
    config = with_demo(lab_config(server), server)
    win = MainWindow(Runner(config, KeyStore(), make_adapter), store=store, rater="ann")
    win.show()
    view = win.open_studies()
    assert isinstance(view, StudiesView)
    suite = parse_suite(
        {
            "name": "Judged",
            "samples": SAMPLES,
            "prompts": [{"id": f"p{i}", "text": f"Prompt {i}"} for i in range(PROMPTS)],
            "lanes": [
                {"provider": "demo", "model": models[i], "label": ("One", "Two", "Three")[i]}
                for i in range(getattr(request, "param", 2))
            ],
        }
    )
    info = view.start_new(suite, confirm=False)
    assert info is not None
    qtbot.waitUntil(lambda: not view.controller.running(info.id), timeout=TURN_TIMEOUT_MS)
    view.refresh()
    view.select(info.id)
    yield view, store, store.study(info.id)
    if view.judge_dialog is not None:
        dialog = view.judge_dialog
        task = asyncio.ensure_future(dialog.shutdown())
        qtbot.waitUntil(task.done, timeout=TURN_TIMEOUT_MS)
        dialog.close()
    view.close()
    close_window(qtbot, win)
    store.close()


def open_dialog(qtbot: QtBot, view: StudiesView) -> JudgeDialog:
    assert view.judge_button.isEnabled()
    view.judge_button.click()
    dialog = view.judge_dialog
    assert dialog is not None and dialog.isVisible()
    wait_plan(qtbot, dialog)
    return dialog


def wait_plan(qtbot: QtBot, dialog: JudgeDialog) -> None:
    qtbot.waitUntil(lambda: dialog.planned and not dialog.timer.isActive(), timeout=TURN_TIMEOUT_MS)


def wait_run(qtbot: QtBot, dialog: JudgeDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.running, timeout=TURN_TIMEOUT_MS)
    wait_plan(qtbot, dialog)  # the run ends by planning again


def judge_votes(store: Store, info: StudyInfo, rater: str) -> list[int]:
    """The judge's votes on each comparison of the study."""
    sessions = store.study_sessions(info.id, [])
    return [sum(1 for t in s.turns for v in t.votes if v.rater == rater) for s in sessions]


def test_the_dialog_plans_runs_to_the_end_and_has_nothing_left(
    judged: tuple[StudiesView, Store, StudyInfo], qtbot: QtBot, server: DemoServer
) -> None:
    view, store, info = judged
    dialog = open_dialog(qtbot, view)
    # A study of demo lanes: the demo judge and the default rubric are chosen.
    assert (dialog.provider.currentText(), dialog.model.currentText()) == ("demo", "demo-judge")
    assert dialog.rubric.currentText() == "general" and dialog.rubric_hint.text()
    plan = dialog.plan
    assert plan is not None and plan.rater == "judge:demo:demo-judge"
    orders = len(plan.items[0].orders)
    assert (plan.finished, plan.judged, len(plan.items), plan.calls) == (
        COMPARISONS,
        0,
        COMPARISONS,
        COMPARISONS * orders,
    )
    words = dialog.summary.text()
    assert orders == 2
    lines = words.splitlines()  # short lines, not one run-on sentence
    assert lines[0] == (
        f"{COMPARISONS} comparisons finished · 0 judged · {COMPARISONS} to judge "
        "(each judged twice, once with each answer first)"
    ), words
    assert (
        lines[1].startswith(f"Estimate: {COMPARISONS * orders} calls · ")
        and " output tokens · ≈$" in lines[1]
    )
    assert lines[2:] == [
        "Spent so far by this judge and rubric on this study: $0",
        "(its own calls only, never a contender's)",
    ]
    assert not dialog.problem_frame.isVisible() and not dialog.warnings.isVisible()  # two answers
    assert dialog.judge_button.isEnabled() and dialog.judge_button.text() == "Judge"

    sent = len(server.log)
    before = dialog.judge_button.mapTo(dialog, dialog.judge_button.rect().topLeft())
    assert dialog.start()
    assert dialog.running and dialog.stop_button.isEnabled() and not dialog.model.isEnabled()
    assert not dialog.summary.isEnabled()  # the plan is greyed while it runs: it goes stale
    # The progress had its room from the start: the buttons stay where they were.
    layout = dialog.layout()
    assert layout is not None
    layout.activate()
    assert dialog.bar.isVisible() and dialog.stop_button.mapTo(
        dialog, dialog.stop_button.rect().topLeft()
    ).y() == (before.y())
    assert dialog.judge_button.mapTo(dialog, dialog.judge_button.rect().topLeft()) == before
    wait_run(qtbot, dialog)
    assert len(server.log) - sent == COMPARISONS * orders
    assert judge_votes(store, info, "judge:demo:demo-judge") == [1] * COMPARISONS
    assert dialog.bar.value() == dialog.bar.maximum() == COMPARISONS
    run = dialog.run
    assert run is not None
    p = run.progress
    end = dialog.end.text()
    assert end.startswith(
        f"demo-judge: {COMPARISONS} judged this run: {p.done - p.ties} chose an answer, {p.ties} tie"
    ), end
    assert ", 0 no verdict. 0 left. This judge with this rubric has spent $" in end
    assert dialog.moving.text().endswith(" · ended") and "in flight" not in dialog.moving.text()
    # Open Leaderboard: the main window's, on this study's Judges tab.
    assert dialog.leaderboard_button.isVisible()
    dialog.leaderboard_button.click()
    board = view.parentWidget().leaderboard  # type: ignore[union-attr]
    assert board is not None and board.isVisible()
    assert board.study.currentData() == info.name and board.tabs.currentWidget() is board.judges
    qtbot.waitUntil(lambda: board.task is None or board.task.done(), timeout=TURN_TIMEOUT_MS)
    board.close()
    # Planned again: nothing is left, and nothing can be sent twice.
    assert dialog.plan is not None and dialog.plan.judged == COMPARISONS and not dialog.plan.calls
    assert f"{COMPARISONS} judged · nothing left to judge" in dialog.summary.text()
    assert dialog.summary.isEnabled()
    assert "on this study: $0\n" not in dialog.summary.text()  # the judge's own spend is counted
    assert not dialog.judge_button.isEnabled()
    # Judge… again on the judged study: what the judge did there, and Open Leaderboard.
    dialog.close()
    dialog = open_dialog(qtbot, view)
    assert dialog.end.isVisible() and dialog.end.text().startswith(
        f"Last time here, demo-judge with the general rubric judged {COMPARISONS} of {COMPARISONS} "
        f"comparisons, in {COMPARISONS * orders} calls, spending $"
    ), dialog.end.text()
    assert dialog.leaderboard_button.isVisible()


def test_stop_mid_run_then_judge_again_judges_each_comparison_once(
    judged: tuple[StudiesView, Store, StudyInfo], qtbot: QtBot
) -> None:
    view, store, info = judged
    dialog = open_dialog(qtbot, view)
    dialog.model.setCurrentText("demo-judge@tps=150")  # slower: the stop lands mid-run
    wait_plan(qtbot, dialog)
    plan = dialog.plan
    assert plan is not None and plan.rater == "judge:demo:demo-judge@tps=150"
    rater = plan.rater
    assert dialog.start()
    run = dialog.run
    assert run is not None
    qtbot.waitUntil(lambda: run.progress.done >= 1 and run.progress.in_flight > 0, timeout=TURN_TIMEOUT_MS)
    dialog.close()  # closing the dialog doesn't stop the run: Judge… shows it again
    view.judge_button.click()
    assert view.judge_dialog is dialog and dialog.isVisible() and dialog.running
    dialog.stop_button.click()
    assert not dialog.stop_button.isEnabled()
    wait_run(qtbot, dialog)
    assert "Stopped: Judge again sends what is left, including calls that were stopped" in dialog.end.text()
    # The progress line says it ended, not "stopping…".
    assert dialog.moving.text().endswith(" · stopped") and "stopping" not in dialog.moving.text()
    first = judge_votes(store, info, rater)
    assert 1 <= sum(first) < COMPARISONS and set(first) <= {0, 1}
    assert dialog.plan is not None and len(dialog.plan.items) == COMPARISONS - sum(first)
    assert dialog.start()
    wait_run(qtbot, dialog)
    assert judge_votes(store, info, rater) == [1] * COMPARISONS
    calls = store.judge_calls(info.id, rater)
    assert sorted(len(kept) for kept in calls.values()) == [len(plan.items[0].orders)] * COMPARISONS


def test_a_judge_that_cant_be_planned_or_run_says_why_inline(
    judged: tuple[StudiesView, Store, StudyInfo], qtbot: QtBot, server: DemoServer
) -> None:
    view, _, _ = judged
    dialog = open_dialog(qtbot, view)
    sent = len(server.log)
    # A parameter the judge can't take: the plan is refused, in the dialog.
    dialog.model.setCurrentText("demo-judge{nonsense=1}")
    wait_plan(qtbot, dialog)
    assert dialog.plan is None and dialog.problem_frame.isVisible() and dialog.problem.text()
    assert not dialog.judge_button.isEnabled()
    # Another provider: the demo's model isn't its, so it goes (no "openai:demo-judge").
    dialog.model.setCurrentText("demo-judge")
    wait_plan(qtbot, dialog)
    # Providers with no key are marked so, from the key store alone.
    assert dialog.provider.itemText(dialog.provider.findData("openai")) == "openai — no key"
    assert dialog.provider.itemText(dialog.provider.findData("demo")) == "demo"
    assert dialog.choose_provider("openai") and dialog.provider_name() == "openai"
    assert dialog.model.currentText() in [dialog.model.itemText(i) for i in range(dialog.model.count())] + [
        ""
    ]
    assert dialog.model.currentText() != "demo-judge"
    # A cloud judge with no key: planned (its estimate), and the missing key said at once,
    # pointing to Settings; Judge can't be pressed.
    dialog.model.setCurrentText("gpt-4o-mini")
    wait_plan(qtbot, dialog)
    assert dialog.plan is not None and dialog.problem_frame.isVisible()
    assert dialog.problem.text() == (
        "No API key for openai: add one in Settings → Providers and keys, then choose the judge again."
    )
    assert "chatlab keys" not in dialog.problem.text()
    assert dialog.settings_button.isVisible()  # the window's registered Settings action
    # With a budget, an unknown price is said too, as unknown (never as free).
    dialog.model.setCurrentText("no-such-model-x")
    dialog.budget.setValue(1.0)
    wait_plan(qtbot, dialog)
    assert dialog.plan is not None and dialog.plan.estimate.cost_usd is None
    assert "no price known (cost unknown)" in dialog.summary.text()
    assert dialog.problem.text().startswith("No API key for openai")
    assert "no price known (cost unknown) for openai:no-such-model-x" in dialog.problem.text()
    assert dialog.judge_button.text() == "Judge" and not dialog.judge_button.isEnabled()
    dialog.budget.setValue(0)
    dialog.model.setCurrentText("gpt-4o-mini")
    wait_plan(qtbot, dialog)
    assert not dialog.judge_button.isEnabled() and not dialog.start()
    # The red frame took room of its own: every field keeps its height.
    for field in (dialog.provider, dialog.model, dialog.rubric, dialog.budget):
        assert field.height() >= field.sizeHint().height(), field
    assert dialog.rubric_hint.height() >= dialog.rubric_hint.sizeHint().height()
    # A rubric that can't be read: its hint says so, and choosing it is an inline error.
    user_dir().mkdir(parents=True, exist_ok=True)
    (user_dir() / "broken.toml").write_text("name = [", encoding="utf-8")
    dialog.close()
    dialog = open_dialog(qtbot, view)
    dialog.rubric.setCurrentText("broken")
    wait_plan(qtbot, dialog)
    assert dialog.rubric_hint.text().startswith("can't be used: broken.toml")
    assert dialog.plan is None and dialog.problem.text().startswith("broken.toml")
    # No model: nothing to plan, and nothing was sent throughout; the hint follows the provider.
    dialog.model.setCurrentText("")
    wait_plan(qtbot, dialog)
    assert dialog.plan is None and "Name the judge model: choose demo-judge" in dialog.problem.text()
    dialog.choose_provider("openai")
    wait_plan(qtbot, dialog)
    if dialog.model.count() == 0:  # no model list cached for it
        assert dialog.problem.text() == "Name the judge model: type a model name, e.g. gpt-4.1-mini."
    assert len(server.log) == sent


def test_over_budget_is_refused_until_run_anyway(
    judged: tuple[StudiesView, Store, StudyInfo], qtbot: QtBot
) -> None:
    view, store, info = judged
    dialog = open_dialog(qtbot, view)
    dialog.budget.setValue(0.001)
    wait_plan(qtbot, dialog)
    plan = dialog.plan
    assert plan is not None and plan.budget_usd == 0.001
    assert plan.estimate.cost_usd is not None and plan.estimate.cost_usd > 0.001
    assert dialog.problem_frame.isVisible()
    assert dialog.problem.text().startswith("The estimate of $") and "exceeds the budget of $0.001" in (
        dialog.problem.text()
    )
    assert "--yes" not in dialog.problem.text() and "Run anyway sends it" in dialog.problem.text()
    assert dialog.judge_button.text() == "Run anyway" and dialog.judge_button.isEnabled()
    assert dialog.start()
    wait_run(qtbot, dialog)
    # The estimate was over; the run still never crosses the budget (it stops before a
    # call that could, and says so).
    run = dialog.run
    assert run is not None and run.progress.spent_usd <= 0.001
    votes = sum(judge_votes(store, info, plan.rater))
    assert votes == run.progress.done
    if votes < COMPARISONS:
        assert "could cross the budget of $0.001" in dialog.end.text()


def test_a_judge_that_gives_no_verdict_says_why_folded(
    judged: tuple[StudiesView, Store, StudyInfo], qtbot: QtBot
) -> None:
    view, store, info = judged
    dialog = open_dialog(qtbot, view)
    dialog.model.setCurrentText("demo-fast@tps=0")  # answers with a haiku, never a verdict
    wait_plan(qtbot, dialog)
    assert dialog.start()
    wait_run(qtbot, dialog)
    said = f": {COMPARISONS} judged this run: 0 chose an answer, 0 ties, {COMPARISONS} no verdict. 0 left."
    assert said in dialog.end.text()
    assert dialog.details_button.isVisible() and not dialog.details.isVisible()
    dialog.details_button.click()
    assert dialog.details.isVisible()
    lines = dialog.details.toPlainText().splitlines()
    assert len(lines) == COMPARISONS and all(line.startswith("no verdict ") for line in lines)
    assert judge_votes(store, info, "judge:demo:demo-fast@tps=0") == [0] * COMPARISONS
    # Every order was called and kept: nothing is left to send.
    assert dialog.plan is not None and dialog.plan.no_verdict == COMPARISONS and not dialog.plan.calls


@pytest.mark.parametrize("judged", [3], indirect=True)
def test_three_answers_warn_of_ties_before_and_count_them_after(
    judged: tuple[StudiesView, Store, StudyInfo], qtbot: QtBot
) -> None:
    view, _, _ = judged
    dialog = open_dialog(qtbot, view)
    plan = dialog.plan
    assert plan is not None and len(plan.items[0].orders) == 3
    assert "(each judged 3 times, once with each answer first)" in dialog.summary.text()
    # The plan's warning, under the summary, in a sentence.
    assert plan.warnings and dialog.warnings.isVisible()
    assert dialog.warnings.text().startswith("⚠ 3 answers per comparison: expect many ties")
    assert dialog.start()
    wait_run(qtbot, dialog)
    run = dialog.run
    assert run is not None
    p = run.progress
    tied = f"{p.ties} tie{'s' if p.ties != 1 else ''}"
    why = f" ({p.inconsistent} because its orders disagreed)" if p.inconsistent else ""
    said = f"{COMPARISONS} judged this run: {p.done - p.ties} chose an answer, {tied}{why}, 0 no verdict."
    assert said in dialog.end.text()


def button_y(dialog: JudgeDialog) -> tuple[int, int]:
    layout = dialog.layout()
    assert layout is not None
    layout.activate()
    return (
        dialog.judge_button.mapTo(dialog, dialog.judge_button.rect().topLeft()).y(),
        dialog.stop_button.mapTo(dialog, dialog.stop_button.rect().topLeft()).y(),
    )


@pytest.mark.qt_log_ignore("does not support grabbing")  # offscreen: a popup can't grab keys
@pytest.mark.parametrize("judged", [3], indirect=True)
def test_the_buttons_never_move_and_escape_closes_only_a_popup(
    judged: tuple[StudiesView, Store, StudyInfo], qtbot: QtBot
) -> None:
    view, _, _ = judged
    dialog = open_dialog(qtbot, view)
    height = dialog.height()
    where = button_y(dialog)
    assert dialog.warnings.isVisible()  # three answers: the warning is shown
    seen = {"warning": button_y(dialog)}
    dialog.model.setCurrentText("demo-judge{nonsense=1}")
    wait_plan(qtbot, dialog)
    assert dialog.problem_frame.isVisible()
    seen["error"] = button_y(dialog)
    dialog.model.setCurrentText("demo-judge@tps=150")
    wait_plan(qtbot, dialog)
    seen["before"] = button_y(dialog)
    assert dialog.start()
    run = dialog.run
    assert run is not None
    qtbot.waitUntil(lambda: run.progress.in_flight > 0, timeout=TURN_TIMEOUT_MS)
    seen["running"] = button_y(dialog)
    # Escape while it runs closes nothing (Stop ends it; Close leaves it running).
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible() and dialog.running
    dialog.stop()
    wait_run(qtbot, dialog)
    seen["after stop"] = button_y(dialog)
    assert dialog.start()
    wait_run(qtbot, dialog)
    assert dialog.end.isVisible()
    seen["end"] = button_y(dialog)
    assert {k: v for k, v in seen.items() if v != where} == {}
    assert dialog.height() == height
    # Escape with the model's drop-down open closes the drop-down, not the dialog.
    dialog.model.setCurrentText("typed-by-hand")
    dialog.model.showPopup()
    qtbot.waitUntil(dialog.model.view().isVisible)
    dialog.reject()  # what Escape asks of a dialog
    assert dialog.isVisible() and not dialog.model.view().isVisible()
    assert dialog.model.currentText() == "typed-by-hand"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # nothing open, nothing running: it closes
    assert not dialog.isVisible()
