"""The Studies window's **Judge…**: a model rates a study's finished comparisons blind,
as an extra rater, presenting :class:`~chatlab.core.judging.controller.JudgeController`
the way ``chatlab judge`` does (:mod:`chatlab.cli.judge`).

The dialog picks the judge (a provider and a model), the rubric (shipped and the user's,
each with its description) and an optional budget, and shows the plan in words: what is
finished, judged and left, the estimate of the calls left and the judge's own spend so
far. The plan is recomputed as the choice changes, in a worker thread (it counts the
tokens of every call; the store is still read on the loop's thread, see
:class:`_LoopStore`). A choice that can't be planned (an unknown provider, a bad
parameter or rubric) or run (no key) says why inline. **Judge** runs it on the window's
loop with a progress bar; **Stop** cancels (the calls in flight are sent again next
time; closing the dialog doesn't stop the run, and Judge… shows it again); the end line
says what was judged, what made no verdict and why, and the spend. A plan over its
budget is refused with the CLI's words until the person chooses **Run anyway**.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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
from chatlab.core.judging.compose import DEFAULT_RUBRIC, judge_name
from chatlab.core.judging.controller import JudgeController
from chatlab.core.judging.plan import JudgePlan, spend_words
from chatlab.core.judging.rubrics import load_rubric, shipped_dir, user_dir
from chatlab.core.judging.run import JudgeProgress, JudgeRun
from chatlab.core.settings.config import ConfigError
from chatlab.core.settings.model_lists import ModelListCache
from chatlab.core.studies.controller import StudyError
from chatlab.core.studies.study import StudyInfo

if TYPE_CHECKING:
    from chatlab.core.lab.controller import Lab
    from chatlab.core.lab.orchestrator import Runner
    from chatlab.store.db import Store

DEMO_JUDGE = "demo-judge"
HINT_CHARS = 90  # a rubric's description under its name, cut here
REPLAN_MS = 250  # typing in the model field replans once it pauses this long
STORE_WAIT_S = 120.0  # a worker waits this long for the loop to read the store for it


class _LoopStore:
    """The store for a plan computed in a worker thread: each read is handed to the
    loop's thread and waited for, so the store's one connection is only ever used there
    (the plan's token counting, the slow part, stays in the worker)."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def go() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to the worker, raised there
                    future.set_exception(exc)

        self._loop.call_soon_threadsafe(go)
        return future.result(timeout=STORE_WAIT_S)

    def study(self, key: str) -> Any:
        return self._call(self._store.study, key)

    def study_sessions(self, study_id: str, problems: list[str] | None = None) -> Any:
        return self._call(self._store.study_sessions, study_id, problems)

    def judge_calls(self, study_id: str, rater: str) -> Any:
        return self._call(self._store.judge_calls, study_id, rater)

    def judge_spend(self, study_id: str) -> Any:
        return self._call(self._store.judge_spend, study_id)

    def judge_output_tokens(self, rater: str) -> Any:
        return self._call(self._store.judge_output_tokens, rater)

    def claim_judging(self, study_id: str, rater: str, pid: int, alive: Callable[[int], bool]) -> Any:
        return self._call(self._store.claim_judging, study_id, rater, pid, alive)

    def release_judging(self, study_id: str, rater: str, pid: int) -> None:
        self._call(self._store.release_judging, study_id, rater, pid)

    def save_judge_call(self, *args: Any) -> None:
        raise RuntimeError("a plan only reads")


def rubric_choices() -> list[tuple[str, str]]:
    """Every rubric by name (the user's hide a shipped one of the same name), each with
    its description, or why it can't be read."""
    found: dict[str, str] = {}
    for folder in (user_dir(), shipped_dir()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            if path.stem in found:
                continue
            try:
                found[path.stem] = load_rubric(path).description
            except ConfigError as exc:
                found[path.stem] = f"can't be used: {exc}"
    return sorted(found.items())


def plan_words(plan: JudgePlan) -> str:
    """The plan in one plain paragraph, the CLI's figures."""
    parts = [f"{plan.finished} comparisons finished"]
    if plan.not_finished:
        parts[0] += f" ({plan.not_finished} not finished: judged once they are)"
    nv = f" ({plan.no_verdict} with no verdict)" if plan.no_verdict else ""
    parts.append(f"{plan.judged} judged{nv}")
    if plan.items:
        each = "/".join(str(n) for n in sorted({len(item.orders) for item in plan.items}))
        again = f", {plan.stale} again for new answers" if plan.stale else ""
        parts.append(f"{len(plan.items)} to judge ({each} orders each{again})")
        parts.append(f"estimate {plan.estimate.calls:,} calls, {fmt.cost(plan.estimate.cost_usd)}")
    else:
        parts.append("nothing left to judge")
    budget = f" of {fmt.cost(plan.budget_usd)}" if plan.budget_usd is not None else ""
    spent = spend_words(plan.spent_usd, plan.unpriced, plan.spent_calls)
    parts.append(f"spent so far {spent}{budget} (the judge's own, never a contender's)")
    return " · ".join(parts)


def refusal(plan: JudgePlan) -> str | None:
    """The CLI's refusal of a plan over its budget, with the window's way past it."""
    problem = plan.budget_problem()
    if problem is None:
        return None
    problem += "; Run anyway sends it (the run still stops before a call that could cross the budget)"
    return problem[:1].upper() + problem[1:]


def end_words(plan: JudgePlan, run: JudgeRun, outcome: str) -> str:
    """How the run ended, as ``chatlab judge`` says it."""
    p = run.progress
    incons = f" ({p.inconsistent} inconsistent across orders: a tie)" if p.inconsistent else ""
    spent = spend_words(p.spent_usd, p.unpriced, p.calls + plan.spent_calls)
    line = (
        f"{judge_name(plan.rater)}: {p.done} judged{incons}, {p.no_verdict} no verdict, {p.left} left; "
        f"judge spend {spent}."
    )
    if outcome == "budget":
        return line + (
            f" Stopped: another call could cross the budget of {fmt.cost(plan.budget_usd)}; "
            "Judge again with a bigger budget judges the rest."
        )
    if outcome == "refused":
        why = p.stopped_because[:300]
        return line + f" The judge's provider refused its calls ({why}); nothing more was sent."
    if outcome == "error":
        return line + f" Stopped: {p.stopped_because[:300]}. Judge again sends what is left."
    if outcome != "done":
        return line + " Stopped: Judge again sends what is left, the calls cut off included."
    if p.to_retry:
        return line + f" {len(p.to_retry)} calls failed in a way worth another try: Judge again sends them."
    return line + " The Leaderboard's Judges tab checks it against your votes."


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
        self.basis = _label("", "muted")
        layout.addWidget(self.summary)
        layout.addWidget(self.basis)
        self.problem_frame = QFrame()
        self.problem_frame.setProperty("role", "error")
        holder = QVBoxLayout(self.problem_frame)
        holder.setContentsMargins(10, 6, 10, 6)
        self.problem = _label("")
        holder.addWidget(self.problem)
        self.problem_frame.hide()
        layout.addWidget(self.problem_frame)
        self.bar = QProgressBar()
        self.bar.hide()
        self.moving = _label("", "muted")
        self.end = _label("")
        self.details_button = QToolButton()
        self.details_button.setText("Why no verdict, and what to retry")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(140)
        self.details_button.toggled.connect(self._fold)
        for widget in (self.bar, self.moving, self.end, self.details_button, self.details):
            layout.addWidget(widget)
        for widget in (self.moving, self.end, self.details_button, self.details):
            widget.hide()
        layout.addStretch(1)  # room to spare goes here, not to a frame
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
        self._fill_models()
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
            for widget in (self.bar, self.moving, self.end, self.details_button, self.details):
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
        planner = JudgeController(_LoopStore(self.store, loop), lambda: self.config)
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
        if plan is None:
            self.summary.setText("")
            self.basis.setText("")
        else:
            self.summary.setText(plan_words(plan))
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
                problem = refusal(plan)
        self.summary.setVisible(plan is not None)
        self.basis.setVisible(plan is not None)
        self.problem.setText(problem or "")
        self.problem_frame.setVisible(bool(problem))
        self._buttons()
        self._fit(shrink=True)

    def _fit(self, shrink: bool = False) -> None:
        """Grow to show every line (wrapped labels' heights aren't the window's minimum);
        ``shrink``: also lose the room of lines hidden since."""
        layout = self.layout()
        need = layout.totalHeightForWidth(self.width()) if layout is not None else -1
        if need > self.height() or (shrink and 0 < need < self.height()):
            self.resize(self.width(), need)

    # -- the run -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def _buttons(self) -> None:
        plan = self.plan
        ready = plan is not None and bool(plan.calls) and self.planned and not self.running
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
            self.problem.setText(str(exc))
            self.problem_frame.show()
            return False
        judges = JudgeController(self.store, lambda: self.config)
        try:
            judges.claim(plan)
        except StudyError as exc:
            if server is not None:
                server.stop_thread()
            self.problem.setText(str(exc))
            self.problem_frame.show()
            return False
        self.run = judges.prepare(plan, runner, on_change=self._moved)
        self.task = asyncio.ensure_future(
            self._go(self.run, runner, server, functools.partial(judges.release, plan))
        )
        self.task.add_done_callback(functools.partial(self._ended, plan, self.run))
        self.problem_frame.hide()
        self.end.setText("")
        self.details_button.hide()
        self.details.hide()
        self.bar.show()
        self.moving.show()
        self.end.hide()
        self._moved(self.run.progress)
        self._buttons()
        self._fit()
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

    def _moved(self, p: JudgeProgress) -> None:
        self.bar.setRange(0, max(1, p.total))
        self.bar.setValue(p.done + p.no_verdict)
        self.moving.setText(
            f"{p.done + p.no_verdict} of {p.total} judged · {p.no_verdict} no verdict · "
            f"{fmt.cost(p.spent_usd)} spent · {p.in_flight} in flight"
            + (" · stopping…" if self.run is not None and self.run.stopped else "")
        )

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
        self._moved(run.progress)
        text = end_words(plan, run, outcome)
        if outcome.startswith("failed"):
            text += f" The run {outcome}"
        self.end.setText(text)
        self.end.show()
        lines = [f"no verdict {line[:240]}" for line in run.progress.problems]
        lines += [f"to retry {line[:240]}" for line in run.progress.to_retry]
        self.details.setPlainText("\n".join(lines))
        self.details_button.setVisible(bool(lines))
        self.details.setVisible(bool(lines) and self.details_button.isChecked())
        self._fit()
        self.replan()

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
