"""The Studies window's **Judge…**: a model rates a study's finished comparisons blind,
as an extra rater, presenting :class:`~chatlab.core.judging.controller.JudgeController`
the way ``chatlab judge`` does (:mod:`chatlab.cli.judge`).

The dialog picks the judge (a provider, marked "no key" when it has none, and a model,
with a hint that follows the provider), the rubric (shipped and the user's, each with
its description) and an optional budget, and shows the plan in short lines: what is
finished, judged and left, the estimate of the calls left (calls, tokens, cost) and the
judge's own spend so far. It is recomputed as the choice changes, in a worker thread
(the store read on the loop's thread: :class:`~.judge_words.LoopStore`), greyed while a
run goes and planned afresh at its end. A study this judge has judged already says what
it did there, with **Open Leaderboard**. A choice that can't be planned (an unknown
provider, a bad parameter or rubric) or run (no key) says why inline; a missing key is
found as the plan is shown (from the configuration and the key store, no call made) and
offers **Open Settings…** when the window has it. The plan's warnings (a comparison of
many answers mostly ties) follow it. Changing the provider drops a model that provider
doesn't list. **Judge** runs it on the window's loop with a progress bar; the dialog
keeps one height in every state (the lines between the fields and the progress scroll in
a fixed area) so the buttons never move. **Stop** cancels (the calls in flight are sent
again next time; closing the dialog doesn't stop the run, and Judge… shows it again;
Escape closes an open drop-down, and does nothing while a run goes); the end line says
how many chose an answer, tied or made no verdict, then the spend, and **Open
Leaderboard** opens the study's Judges tab. A plan over its budget, or whose budget
can't be checked (no price known), is refused with the CLI's words, shown, until the
person chooses **Run anyway**. The words are :mod:`.judge_words`'.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeyEvent
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
    QScrollArea,
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
from chatlab.ui.shared.keyboard import close_popup
from chatlab.ui.studies.judge_words import (
    LoopStore,
    end_words,
    judge_runner,
    key_missing,
    key_problem,
    last_words,
    main_window,
    model_hint,
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
HEIGHT = 600  # the dialog's height in every state (less on a short screen): the buttons never move
NO_KEY = " — no key"


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
        self._shown_ask = 0  # the plan asked for that is on screen
        self._going = False
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.provider = QComboBox()
        for name, p in self.config.providers.items():
            # A provider with no key is marked (the configuration and key store only).
            self.provider.addItem(name + (NO_KEY if key_missing(self.lab.runner, p) else ""), name)
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
        # Everything between the fields and the progress lives in a fixed area that
        # scrolls when long: the dialog keeps its height, and its buttons their place.
        self.middle = QScrollArea()
        self.middle.setWidgetResizable(True)
        self.middle.setFrameShape(QFrame.Shape.NoFrame)
        self.middle.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self.middle.setWidget(inner)
        outer, layout = layout, QVBoxLayout(inner)
        layout.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.middle, 1)
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
        self.settings_button = QPushButton("Open Settings…")
        self.settings_button.setToolTip("Settings → Providers and keys; the plan is shown again after")
        self.settings_button.clicked.connect(lambda: self.open_settings())
        self.settings_button.hide()
        holder.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignLeft)
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
        layout = outer
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
        screen = self.screen().availableGeometry()
        self.resize(680, min(HEIGHT, screen.height() - 80))
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
        if isinstance(first, str):
            self.choose_provider(first)
        self._fill_models()
        self.model.setCurrentText(DEMO_JUDGE if demo else "")
        if self.rubric.findText(DEFAULT_RUBRIC) >= 0:
            self.rubric.setCurrentText(DEFAULT_RUBRIC)
        self._hint()

    def provider_name(self) -> str:
        """The provider chosen (its name, without the "no key" mark)."""
        return str(self.provider.currentData() or self.provider.currentText())

    def choose_provider(self, name: str) -> bool:
        index = self.provider.findData(name)
        if index >= 0:
            self.provider.setCurrentIndex(index)
        return index >= 0

    def _fill_models(self) -> None:
        name = self.provider_name()
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
        edit = self.model.lineEdit()
        if edit is not None:
            edit.setPlaceholderText(model_hint(name, models))

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
        return f"{self.provider_name()}:{model}" if model else ""

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
            listed = [self.model.itemText(i) for i in range(self.model.count())]
            hint = model_hint(self.provider_name(), listed)
            self._show_plan(None, f"Name the judge model: {hint}.")
            self._shown_ask = asked
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
        self._shown_ask = asked
        self._buttons()  # Judge waits for the plan on screen

    @property
    def planned(self) -> bool:
        """The plan on screen is the newest asked for (not only finished in its thread)."""
        return self._shown_ask == self._asked

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
            basis = f" · output tokens from {e.basis}" if plan.calls else ""
            self.basis.setText(f"Rater {plan.rater}{basis}")
            if not plan.finished:
                problem = "No comparison is finished yet: one is judged once every lane has answered."
            elif not plan.calls:
                problem = None
                if plan.judged and not self.running and self.end.isHidden():
                    self._last(plan)  # judged before: what it did, and where to see it
            else:
                self.cant_run = key_problem(self.lab.runner, plan)
                # Both reasons when both hold: no key, and a budget that can't be checked.
                problem = "\n".join(p for p in (self.cant_run, refusal(plan)) if p) or None
        self.summary.setVisible(plan is not None)
        self.warnings.setVisible(bool(self.warnings.text()))
        self.basis.setVisible(plan is not None)
        self._say(problem)

    def _last(self, plan: JudgePlan) -> None:
        """A study this judge has judged already: what it did here, and Open Leaderboard."""
        reachable = main_window(self) is not None
        self.end.setText(last_words(plan))
        self.end.show()
        self.leaderboard_button.setVisible(reachable)

    def _say(self, problem: str | None) -> None:
        """The red line (or none); a missing key offers Settings when the window has it."""
        self.problem.setText(problem or "")
        self.problem_frame.setVisible(bool(problem))
        no_key = bool(problem) and "No API key for" in (problem or "")
        self.settings_button.setVisible(no_key and self._settings() is not None)
        self._buttons()

    def _settings(self) -> Any:
        """The main window's registered Settings action's registry, or None."""
        registry = getattr(main_window(self), "registry", None)
        names = getattr(registry, "names", None)
        return registry if callable(names) and "settings.show" in names() else None

    def open_settings(self) -> None:
        """Settings, as the main window opens it; the plan is shown again after (a key
        may have been added)."""
        registry = self._settings()
        if registry is not None:
            registry.trigger("settings.show")
        self._rekey()
        self.replan()

    def _rekey(self) -> None:
        """The providers' "no key" marks, afresh."""
        for i in range(self.provider.count()):
            name = str(self.provider.itemData(i))
            p = self.config.providers.get(name)
            missing = p is not None and key_missing(self.lab.runner, p)
            self.provider.setItemText(i, name + (NO_KEY if missing else ""))

    # -- the run -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """A run is going, or has ended and its end not yet shown."""
        return self._going

    def _buttons(self) -> None:
        plan = self.plan
        ready = plan is not None and bool(plan.calls) and self.planned and not self.running
        ready = ready and not self.cant_run
        over = plan is not None and plan.budget_problem() is not None and not self.cant_run
        self.judge_button.setText("Run anyway" if over else "Judge")
        self.judge_button.setEnabled(ready)
        self.stop_button.setEnabled(self.running and not (self.run and self.run.stopped))
        # The plan is the run's start: greyed while it runs, planned afresh at its end.
        fields: tuple[QWidget, ...] = (self.provider, self.model, self.rubric, self.budget)
        for widget in (*fields, self.summary, self.warnings, self.basis):
            widget.setEnabled(not self.running)

    def start(self) -> bool:
        """Send the plan shown (over its budget: "Run anyway" was chosen by pressing it)."""
        plan = self.plan
        if plan is None or not plan.calls or not self.planned or self.running:
            return False
        try:
            runner, server = judge_runner(self.lab.runner, plan)
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
        self._going = True
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
        reachable = main_window(self) is not None
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
        self._going = False
        self.replan()

    def open_leaderboard(self) -> QWidget | None:
        """The Leaderboard on this study's Judges tab (the main window's, as View →
        Leaderboard opens it)."""
        main = main_window(self)
        board = main.open_leaderboard() if main is not None else None
        show = getattr(board, "show_judges_of", None)
        if callable(show):
            show(self.info.name)
        return board if isinstance(board, QWidget) else None

    def _fold(self, open_: bool) -> None:
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.details.setVisible(open_)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Escape closes an open drop-down (never the dialog with it) and, while a run is
        going, nothing: Stop ends it, Close leaves it running."""
        if event.key() == Qt.Key.Key_Escape and (self._close_popup() or self.running):
            event.accept()
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        if self._close_popup() or self.running:
            return
        super().reject()

    def _close_popup(self) -> bool:
        return close_popup((self.provider, self.model, self.rubric))

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
