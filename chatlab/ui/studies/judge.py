"""The Studies window's **Judge…**: a model rates a study's finished comparisons blind,
as an extra rater, presenting :class:`~chatlab.core.judging.controller.JudgeController`
the way ``chatlab judge`` does (:mod:`chatlab.cli.judge`).

The dialog picks the judge (a provider and a model), the rubric (shipped and the user's,
each with its description) and an optional budget, and shows the plan in words: what is
finished, judged and left, the estimate of the calls left and the judge's own spend so
far. The plan is recomputed as the choice changes, in a worker thread (it counts the
tokens of every call; the store is still read on the loop's thread, see
:class:`_LoopStore`). A choice that can't be planned (an unknown provider, a bad
parameter or rubric) or run (no key) says why inline; a missing key is found as
the plan is shown (from the configuration and the key store, no call made) and points to
Settings. The plan's warnings (a comparison of many answers mostly ties) follow it.
Changing the provider drops a model that provider doesn't list. **Judge** runs it on the
window's loop with a progress bar, in room kept for it from the start so the buttons
never move; **Stop** cancels (the calls in flight are sent again next time; closing the
dialog doesn't stop the run, and Judge… shows it again); the end line says how many
chose an answer, tied or made no verdict, then the spend, and **Open Leaderboard** opens
the study's Judges tab. A plan over its budget is refused with the CLI's words until the
person chooses **Run anyway**. The words are :mod:`.judge_words`'.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data import format as fmt
from chatlab.core.judging.compose import DEFAULT_RUBRIC
from chatlab.core.judging.controller import JudgeController
from chatlab.core.judging.plan import JudgePlan
from chatlab.core.judging.run import JudgeProgress, JudgeRun
from chatlab.core.settings.config import ConfigError
from chatlab.core.settings.model_lists import ModelListCache
from chatlab.core.studies.controller import StudyError
from chatlab.core.studies.study import StudyInfo
from chatlab.ui.studies.judge_words import (
    LoopStore,
    end_words,
    key_problem,
    plan_words,
    refusal,
    rubric_choices,
    settings_words,
    warning_words,
)

if TYPE_CHECKING:
    from chatlab.core.lab.controller import Lab
    from chatlab.core.lab.orchestrator import Runner
    from chatlab.store.db import Store

DEMO_JUDGE = "demo-judge"
HINT_CHARS = 90  # a rubric's description under its name, cut here
REPLAN_MS = 250  # typing in the model field replans once it pauses this long


class JudgeDialog(QDialog):
    """Judge one study with a model: pick, see the plan, run, stop, read the end."""

    def __init__(self, parent: QWidget, lab: Lab, store: Store, info: StudyInfo) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Judge “{info.name}” with a model")
        self.setModal(False)
        self.lab = lab
        self.store = store
        self.info = info
        self.plan: JudgePlan | None = None
        self.run: JudgeRun | None = None
        self.task: asyncio.Future[str] | None = None
        self.planning: asyncio.Future[JudgePlan] | None = None
        self._asked = 0  # plans asked for: only the newest one is shown
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.provider = QComboBox()
        self.provider.addItems(list(self.config.providers))
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.setMinimumContentsLength(28)
        self.rubric = QComboBox()
        for name, description in rubric_choices():
            self.rubric.addItem(name)
            self.rubric.setItemData(self.rubric.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        self.rubric_hint = _label("", "muted")
        self.rubric_hint.setWordWrap(False)  # one line (cut, in full as its tooltip)
        self.budget = QDoubleSpinBox()
        self.budget.setRange(0, 1_000_000)
        self.budget.setDecimals(4)  # a judge's calls cost fractions of a cent
        self.budget.setSingleStep(0.01)
        self.budget.setPrefix("$")
        self.budget.setSpecialValueText("no budget")
        form.addRow("Judge provider", self.provider)
        form.addRow("Judge model", self.model)
        rubric = QVBoxLayout()
        rubric.setSpacing(2)
        rubric.addWidget(self.rubric)
        rubric.addWidget(self.rubric_hint)
        form.addRow("Rubric", rubric)
        form.addRow("Budget", self.budget)
        layout.addLayout(form)
        self.summary = _label("")
        self.warnings = _label("")
        self.basis = _label("", "muted")
        layout.addWidget(self.summary)
        layout.addWidget(self.warnings)
        layout.addWidget(self.basis)
        self.cant_run: str | None = None  # why the plan shown can't be run here (no key…)
        self.problem_frame = QFrame()
        self.problem_frame.setProperty("role", "error")
        holder = QVBoxLayout(self.problem_frame)
        holder.setContentsMargins(10, 6, 10, 6)
        self.problem = _label("")
        holder.addWidget(self.problem)
        self.problem_frame.hide()
        layout.addWidget(self.problem_frame)
        self.end = _label("")
        self.leaderboard_button = QPushButton("Open Leaderboard")
        self.leaderboard_button.setToolTip("The Leaderboard on this study's Judges tab")
        self.leaderboard_button.clicked.connect(lambda: self.open_leaderboard())
        self.leaderboard_button.hide()
        self.details_button = QToolButton()
        self.details_button.setText("Why no verdict, and what to retry")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(140)
        self.details_button.toggled.connect(self._fold)
        shown: tuple[QWidget, ...] = (self.end, self.leaderboard_button, self.details_button, self.details)
        for widget in shown:
            layout.addWidget(widget)
            widget.hide()
        layout.setAlignment(self.leaderboard_button, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)  # room to spare goes here, not to a frame
        # The progress keeps its room, shown or not: the buttons below never move.
        self.bar = QProgressBar()
        self.moving = _label(" ", "muted")
        self.moving.setWordWrap(False)
        progress: tuple[QWidget, ...] = (self.bar, self.moving)
        for widget in progress:
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
            layout.addWidget(widget)
            widget.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.judge_button = QPushButton("Judge")
        self.judge_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop now: the calls in flight are cut off and sent again next time")
        buttons.addButton(self.judge_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        self.judge_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(lambda: self.stop())
        layout.addWidget(buttons)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(REPLAN_MS)
        self.timer.timeout.connect(self.replan)
        self._defaults()
        self.provider.currentTextChanged.connect(self._provider_changed)
        self.model.currentTextChanged.connect(lambda _t: self._changed(later=True))
        self.rubric.currentTextChanged.connect(lambda _t: self._changed())
        self.budget.valueChanged.connect(lambda _v: self._changed(later=True))
        self._buttons()
        self.resize(680, 10)
        self.replan()

    @property
    def config(self) -> Any:
        return self.lab.runner.config

    # -- the choice ----------------------------------------------------------------------------

    def _defaults(self) -> None:
        lanes = self.info.suite.get("lanes")
        lanes = lanes if isinstance(lanes, list) else []
        providers = [lane.get("provider") for lane in lanes if isinstance(lane, dict)]
        demo = bool(providers) and all(p == "demo" for p in providers)
        first = "demo" if demo else next((p for p in providers if p in self.config.providers), None)
        if isinstance(first, str) and self.provider.findText(first) >= 0:
            self.provider.setCurrentText(first)
        self._fill_models()
        self.model.setCurrentText(DEMO_JUDGE if demo else "")
        if self.rubric.findText(DEFAULT_RUBRIC) >= 0:
            self.rubric.setCurrentText(DEFAULT_RUBRIC)
        self._hint()

    def _fill_models(self) -> None:
        name = self.provider.currentText()
        models: list[str] = [DEMO_JUDGE] if name == "demo" else []
        provider = self.config.providers.get(name)
        listed = ModelListCache().get(provider) if provider is not None else None
        if listed is not None:
            models += [m for m in listed.models if m not in models]
        text = self.model.currentText()
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(models)
        self.model.setCurrentText(text)
        self.model.blockSignals(False)

    def _provider_changed(self, _name: str) -> None:
        """Another provider: a model it doesn't list gives way to its first (or none)."""
        self._fill_models()
        listed = [self.model.itemText(i) for i in range(self.model.count())]
        if self.model.currentText().strip() not in listed:
            self.model.blockSignals(True)
            self.model.setCurrentText(listed[0] if listed else "")
            self.model.blockSignals(False)
        self._changed()

    def _hint(self) -> None:
        tip = str(self.rubric.currentData(Qt.ItemDataRole.ToolTipRole) or "")
        self.rubric_hint.setText(tip if len(tip) <= HINT_CHARS else tip[: HINT_CHARS - 1] + "…")
        self.rubric_hint.setToolTip(tip)
        self.rubric_hint.setVisible(bool(tip))

    def spec(self) -> str:
        model = self.model.currentText().strip()
        return f"{self.provider.currentText()}:{model}" if model else ""

    def budget_usd(self) -> float | None:
        return self.budget.value() if self.budget.value() > 0 else None

    def _changed(self, later: bool = False) -> None:
        self._hint()
        if not self.running:  # the last run's lines were another choice's
            hide: tuple[QWidget, ...] = (self.bar, self.moving, self.end, self.leaderboard_button)
            for widget in (*hide, self.details_button, self.details):
                widget.hide()
        if later:
            self.timer.start()
        else:
            self.timer.stop()
            self.replan()

    # -- the plan ------------------------------------------------------------------------------

    def replan(self) -> None:
        """Plan the current choice in a worker thread; the newest plan asked for is shown."""
        if self.running:
            return
        self._asked += 1
        asked = self._asked
        spec = self.spec()
        if not spec:
            self._show_plan(None, "Name the judge model (for example demo-judge on the demo provider).")
            return
        loop = asyncio.get_event_loop()
        planner = JudgeController(LoopStore(self.store, loop), lambda: self.config)
        work = functools.partial(
            planner.plan, self.info.id, spec, self.rubric.currentText() or None, self.budget_usd()
        )
        self.summary.setText("Working out what is left to judge…")
        self.planning = asyncio.ensure_future(asyncio.to_thread(work))
        self.planning.add_done_callback(functools.partial(self._planned, asked))
        self._buttons()

    def _planned(self, asked: int, future: asyncio.Future[JudgePlan]) -> None:
        if asked != self._asked or future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, ConfigError | StudyError):
            self._show_plan(None, str(exc))
        elif exc is not None:
            self._show_plan(None, f"The plan failed: {type(exc).__name__}: {exc}")
        else:
            self._show_plan(future.result(), None)

    @property
    def planned(self) -> bool:
        """The plan shown is the current choice's (no newer one is being worked out)."""
        return self.planning is None or self.planning.done()

    def _show_plan(self, plan: JudgePlan | None, problem: str | None) -> None:
        self.plan = plan
        self.cant_run = None
        if plan is None:
            self.summary.setText("")
            self.warnings.setText("")
            self.basis.setText("")
        else:
            self.summary.setText(plan_words(plan))
            self.warnings.setText(warning_words(plan) if plan.calls else "")
            e = plan.estimate
            self.basis.setText(
                f"Rater {plan.rater}"
                + (
                    f" · {e.input_tokens:,} input, {e.output_tokens:,} output tokens; output from {e.basis}"
                    if plan.calls
                    else ""
                )
            )
            if not plan.finished:
                problem = "No comparison is finished yet: one is judged once every lane has answered."
            elif not plan.calls:
                problem = None
            else:
                self.cant_run = key_problem(self.lab.runner, plan)
                problem = self.cant_run or refusal(plan)
        self.summary.setVisible(plan is not None)
        self.warnings.setVisible(bool(self.warnings.text()))
        self.basis.setVisible(plan is not None)
        self._say(problem, shrink=True)

    def _say(self, problem: str | None, shrink: bool = False) -> None:
        """The red line (or none), with every field kept at its height."""
        self.problem.setText(problem or "")
        self.problem_frame.setVisible(bool(problem))
        self._buttons()
        self._fit(shrink=shrink)

    def _fit(self, shrink: bool = False) -> None:
        """Grow to show every line at its full height (wrapped labels' heights aren't the
        window's minimum, and a squeezed layout would crush the fields); ``shrink``: also
        lose the room of lines hidden since."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        need = max(layout.totalHeightForWidth(self.width()), layout.totalMinimumSize().height())
        if need > self.height() or (shrink and 0 < need < self.height()):
            self.resize(self.width(), need)

    # -- the run -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def _buttons(self) -> None:
        plan = self.plan
        ready = plan is not None and bool(plan.calls) and self.planned and not self.running
        ready = ready and not self.cant_run
        over = plan is not None and plan.budget_problem() is not None
        self.judge_button.setText("Run anyway" if over else "Judge")
        self.judge_button.setEnabled(ready)
        self.stop_button.setEnabled(self.running and not (self.run and self.run.stopped))
        for widget in (self.provider, self.model, self.rubric, self.budget):
            widget.setEnabled(not self.running)

    def start(self) -> bool:
        """Send the plan shown (over its budget: "Run anyway" was chosen by pressing it)."""
        plan = self.plan
        if plan is None or not plan.calls or not self.planned or self.running:
            return False
        try:
            runner, server = self._runner(plan)
        except ConfigError as exc:
            self._say(settings_words(str(exc), plan.judge.provider))
            return False
        judges = JudgeController(self.store, lambda: self.config)
        try:
            judges.claim(plan)
        except StudyError as exc:
            if server is not None:
                server.stop_thread()
            self._say(str(exc))
            return False
        self.run = judges.prepare(plan, runner, on_change=self._moved)
        self.task = asyncio.ensure_future(
            self._go(self.run, runner, server, functools.partial(judges.release, plan))
        )
        self.task.add_done_callback(functools.partial(self._ended, plan, self.run))
        self.problem_frame.hide()
        self.end.setText("")
        for widget in (self.end, self.leaderboard_button, self.details_button, self.details):
            widget.hide()
        self.bar.show()
        self.moving.show()
        self._moved(self.run.progress)
        self._buttons()
        return True

    def _runner(self, plan: JudgePlan) -> tuple[Runner, Any]:
        """The window's runner (its demo provider already on the loopback server), or, for
        a demo judge with no server of its own, a runner with one started for it."""
        runner = self.lab.runner
        demo = runner.config.providers.get("demo")
        if plan.judge.provider == "demo" and demo is not None and not demo.base_url:
            from chatlab.core.lab.orchestrator import Runner
            from chatlab.core.settings.apikeys import KeyStore
            from chatlab.demo.setup import start_if_needed
            from chatlab.providers import make_adapter

            config, server = start_if_needed(runner.config, [plan.judge])
            return Runner(config, KeyStore(), make_adapter), server
        runner.check_lane(plan.judge)  # no key, a bad parameter: ConfigError
        return runner, None

    async def _go(self, run: JudgeRun, runner: Runner, server: Any, release: Callable[[], None]) -> str:
        try:
            return await run.run()
        finally:
            release()
            if server is not None:
                await runner.aclose()
                server.stop_thread()

    def _moved(self, p: JudgeProgress, ended: bool = False) -> None:
        self.bar.setRange(0, max(1, p.total))
        self.bar.setValue(p.done + p.no_verdict)
        stopped = self.run is not None and self.run.stopped
        text = f"{p.done + p.no_verdict} of {p.total} judged · {p.no_verdict} no verdict"
        text += f" · {fmt.cost(p.spent_usd)} spent"
        if ended:
            text += " · stopped" if stopped else " · ended"
        else:
            text += f" · {p.in_flight} in flight" + (" · stopping…" if stopped else "")
        self.moving.setText(text)

    def stop(self) -> None:
        if self.run is not None and self.running:
            self.run.cancel()
            self._moved(self.run.progress)
            self._buttons()

    def _ended(self, plan: JudgePlan, run: JudgeRun, task: asyncio.Future[str]) -> None:
        if task.cancelled():
            outcome = "cancelled"
        elif task.exception() is not None:
            outcome = f"failed: {task.exception()}"
        else:
            outcome = task.result()
        self._moved(run.progress, ended=True)
        text = end_words(plan, run, outcome)
        if outcome.startswith("failed"):
            text += f" The run {outcome}"
        reachable = self._main() is not None
        if not reachable:
            text += " The Leaderboard's Judges tab (View → Leaderboard) checks it against your votes."
        self.end.setText(text)
        self.end.show()
        self.leaderboard_button.setVisible(reachable)
        lines = [f"no verdict {line[:240]}" for line in run.progress.problems]
        lines += [f"to retry {line[:240]}" for line in run.progress.to_retry]
        self.details.setPlainText("\n".join(lines))
        self.details_button.setVisible(bool(lines))
        self.details.setVisible(bool(lines) and self.details_button.isChecked())
        self._fit()
        self.replan()

    def _main(self) -> Any:
        """The main window (it opens the Leaderboard), or None."""
        widget = self.parentWidget()
        while widget is not None and not callable(getattr(widget, "open_leaderboard", None)):
            widget = widget.parentWidget()
        return widget

    def open_leaderboard(self) -> QWidget | None:
        """The Leaderboard on this study's Judges tab (the main window's, as View →
        Leaderboard opens it)."""
        main = self._main()
        board = main.open_leaderboard() if main is not None else None
        show = getattr(board, "show_judges_of", None)
        if callable(show):
            show(self.info.name)
        return board if isinstance(board, QWidget) else None

    def _fold(self, open_: bool) -> None:
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.details.setVisible(open_)
        self._fit()

    async def shutdown(self) -> None:
        """Stop the run (what is in flight is sent again next time) and wait for it."""
        self.timer.stop()
        if self.run is not None and self.running:
            self.run.cancel()
        if self.task is not None:
            await asyncio.wait([self.task])
        if self.planning is not None:
            await asyncio.wait([self.planning])


def _label(text: str, role: str | None = None) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # study names, model ids and replies are data
    label.setWordWrap(True)
    if role:
        label.setProperty("role", role)
    return label


class _Studies(Protocol):
    lab: Lab
    store: Store
    judge_dialog: JudgeDialog | None

    def selected(self) -> StudyInfo | None: ...


def open_judge(view: _Studies) -> JudgeDialog | None:
    """The Studies window's **Judge…**: the dialog for the selected study (one at a time)."""
    info = view.selected()
    if info is None or not info.done or not isinstance(view, QWidget):
        return None
    old = view.judge_dialog
    if old is not None and old.running:  # one judge run at a time: its dialog comes back
        old.show()
        old.raise_()
        return old
    if old is not None:
        old.close()
        old.deleteLater()
    view.judge_dialog = JudgeDialog(view, view.lab, view.store, info)
    view.judge_dialog.show()
    return view.judge_dialog
