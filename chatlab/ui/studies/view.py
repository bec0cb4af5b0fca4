"""The Studies view: every study with its progress and spend, run in the background.

A non-modal window lists the studies in the database (status, a progress bar, answers
and failures, dollars spent against the budget) and refreshes a few times a second
from the running study's own counters, never per token. Studies run on the window's
event loop through :class:`~chatlab.core.studies.controller.StudyController` (the same
lifecycle ``chatlab study`` presents), each in its own task, so
the lanes stay responsive meanwhile. A study starts from a suite file or from the
current lanes plus prompts typed or pasted into a dialog; either way the estimate is
shown first and a run over budget needs an explicit "Run anyway". Pause lets what is
in flight finish; Cancel stops it (it is sent again on resume); Rate opens the blind
queue; Judge has a model rate it (:mod:`.judge`); Rating pack writes a pack to rate.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data import format as fmt
from chatlab.core.settings.config import ConfigError
from chatlab.core.studies.controller import Plan, StudyController, StudyError, shown_status
from chatlab.core.studies.estimate import LaneEstimate, total_cost
from chatlab.core.studies.study import StudyInfo
from chatlab.core.studies.suites import Suite, SuiteError, load_suite, parse_suite
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store
from chatlab.ui.shared import theme
from chatlab.ui.shared.keyboard import close_keys
from chatlab.ui.studies.judge import JudgeDialog, open_judge

if TYPE_CHECKING:
    from chatlab.core.lab.controller import Lab

REFRESH_MS = 400
COLUMNS = ("Study", "Status", "Progress", "Answered", "Failed", "Spent", "Created")


class EstimateDialog(QDialog):
    """What a run will take, per lane and in total, before anything is sent."""

    def __init__(
        self,
        parent: QWidget,
        suite: Suite,
        rows: Sequence[LaneEstimate],
        spent: float,
        warnings: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Run the study “{suite.name}”")
        layout = QVBoxLayout(self)
        table = QTableWidget(len(rows) + 1, 7)
        table.setHorizontalHeaderLabels(
            ["Lane", "Requests", "Input", "Output", "Reasoning", "Cost", "Output from"]
        )
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        total = total_cost(rows)
        cells = [row.row for row in rows]
        cells.append(
            [
                "Total",
                f"{sum(r.requests for r in rows):,}",
                f"{sum(r.input_tokens for r in rows):,}",
                f"{sum(r.output_tokens for r in rows):,}",
                f"{sum(r.reasoning_tokens for r in rows):,}",
                fmt.cost(total),
                "",
            ]
        )
        for r, values in enumerate(cells):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c in (1, 2, 3, 4, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(table)
        budget = suite.budget_usd
        self.over = False
        if budget is None:
            words = "No budget: the run is not stopped by spend."
        elif total is None:
            self.over = True
            words = f"Some lanes have no price, so the budget of {fmt.cost(budget)} can't be checked."
        else:
            self.over = spent + total > budget
            already = f" + {fmt.cost(spent)} already spent" if spent else ""
            words = (
                f"Estimate {fmt.cost(total)}{already} against a budget of {fmt.cost(budget)}. "
                + ("That is over budget. " if self.over else "")
                + "The run stops sending once the budget is spent."
            )
        note = QLabel(words)
        note.setWordWrap(True)
        if self.over:
            note.setProperty("role", "warning")
        layout.addWidget(note)
        if warnings:  # show reasoning: lanes whose reasoning won't be on screen, and why
            unfair = QLabel("Show reasoning, but the guess is unfair to:\n" + "\n".join(warnings))
            unfair.setTextFormat(Qt.TextFormat.PlainText)  # a lane's label is the suite author's text
            unfair.setWordWrap(True)
            unfair.setProperty("role", "warning")
            layout.addWidget(unfair)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.run_button = buttons.addButton(
            "Run anyway" if self.over else "Run", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 200 + 30 * len(rows))


class LanesStudyDialog(QDialog):
    """A study of the current lanes on prompts typed or pasted here, one per line."""

    def __init__(self, parent: QWidget, lanes: int) -> None:
        super().__init__(parent)
        self.setWindowTitle("New study from these lanes")
        form = QFormLayout(self)
        self.name = QLineEdit(f"Study of {lanes} lanes")
        self.prompts = QPlainTextEdit()
        self.prompts.setPlaceholderText(
            "One prompt per line, e.g.\nWrite a haiku about rain.\nShould I quit my job?"
        )
        self.samples = QSpinBox()
        self.samples.setRange(1, 20)
        self.samples.setValue(3)
        self.budget = QDoubleSpinBox()
        self.budget.setRange(0, 100_000)
        self.budget.setDecimals(2)
        self.budget.setPrefix("$")
        self.budget.setSpecialValueText("no budget")
        self.placebo = QCheckBox("Run the first lane twice as two blind contenders (a noise floor)")
        form.addRow("Name", self.name)
        form.addRow("Prompts", self.prompts)
        form.addRow("Answers per prompt", self.samples)
        form.addRow("Budget", self.budget)
        form.addRow("", self.placebo)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(620, 420)

    def data(self, lanes: Sequence[Any]) -> dict[str, Any]:
        """The suite this dialog describes (checked by :func:`parse_suite`)."""
        texts = [line.strip() for line in self.prompts.toPlainText().splitlines() if line.strip()]
        data: dict[str, Any] = {
            "name": self.name.text().strip() or "Study",
            "samples": self.samples.value(),
            "placebo": self.placebo.isChecked(),
            "prompts": [{"id": f"p{i + 1}", "text": text} for i, text in enumerate(texts)],
            "lanes": [
                {
                    "provider": lane.provider,
                    "model": lane.model,
                    **({"label": lane.label} if lane.label else {}),
                    **({"params": lane.params.to_dict()} if lane.params.to_dict() else {}),
                }
                for lane in lanes
            ],
        }
        if self.budget.value() > 0:
            data["budget_usd"] = self.budget.value()
        return data


class StudiesView(QDialog):
    def __init__(
        self, parent: QWidget, lab: Lab, store: Store, open_rate: Callable[[StudyInfo | None], None]
    ) -> None:
        """``open_rate(info)`` opens a study's blind queue in its own window (``None``: the
        comparisons marked to rate later)."""
        super().__init__(parent)
        self.setWindowTitle("chatlab — studies")
        self.setModal(False)
        close_keys(self)
        self.lab = lab
        self.store = store
        self.open_rate = open_rate
        self.controller = StudyController(store, lambda: lab.runner.config, on_end=self._ended)
        self.infos: list[StudyInfo] = []
        self.judge_dialog: JudgeDialog | None
        layout = QVBoxLayout(self)
        self.empty = QLabel(
            "No studies yet. A study sends every prompt of a suite to every lane, several times, "
            "unattended; you rate the answers later, blind. Start one from a suite file "
            "(the file dialog opens on the shipped ones: try demo.toml) or from the lanes you have open."
        )
        self.empty.setWordWrap(True)
        self.empty.setProperty("role", "muted")
        layout.addWidget(self.empty)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._buttons)
        self.table.doubleClicked.connect(lambda _i: self.rate())
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.from_suite = self._button(row, "Run a suite…", self.run_suite_file)
        self.from_lanes = self._button(row, "New from these lanes…", self.run_from_lanes)
        row.addStretch(1)
        self.pause_button = self._button(row, "Pause", self.pause)
        self.resume_button = self._button(row, "Resume", self.resume)
        self.cancel_button = self._button(row, "Cancel", self.cancel)
        self.rate_button = self._button(row, "Rate…", self.rate)
        self.judge_button, self.judge_dialog = self._button(row, "Judge…", lambda: open_judge(self)), None
        self.pack_button = self._button(row, "Rating pack…", self.rating_pack)
        self.delete_button = self._button(row, "Delete…", self.delete)
        self.marked_button = self._button(row, "Rate marked turns…", self.rate_marked)
        for button, tip in (
            (self.from_suite, "Run a suite file (TOML): every prompt × lane × sample, unattended"),
            (self.from_lanes, "A study of the lanes you have open, on prompts you type or paste"),
            (self.pause_button, "Send nothing new; the answers in flight finish. Resume goes on."),
            (self.resume_button, "Send what the study still lacks (the estimate comes first)"),
            (self.cancel_button, "Stop now, cutting off the answers in flight; Resume sends them again"),
            (self.rate_button, "Rate the answers blind, in a keyboard-first queue"),
            (self.judge_button, "A model rates the finished comparisons blind, as an extra rater"),
            (self.pack_button, "A file for another person to rate blind: no model, cost or timing in it"),
            (self.delete_button, "Delete the study and every answer it got"),
            (self.marked_button, "Rate the turns you marked with Rate later, blind, in one queue"),
        ):
            button.setToolTip(tip)
        layout.addLayout(row)
        self.status = QLabel("")
        self.status.setProperty("role", "muted")
        layout.addWidget(self.status)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        screen = parent.screen().availableGeometry()
        self.resize(min(980, screen.width() - 40), min(460, screen.height() - 80))
        self.refresh()

    def _button(self, row: QHBoxLayout, text: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda: slot())
        row.addWidget(button)
        return button

    # -- the list --------------------------------------------------------------------------

    def selected(self) -> StudyInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.infos):
            return None
        return self.infos[rows[0].row()]

    def refresh(self) -> None:
        chosen = self.selected()
        try:
            self.infos = self.store.studies()
        except (sqlite3.Error, OSError) as exc:
            self.status.setText(f"Can't read the studies: {exc}")
            return
        self.empty.setVisible(not self.infos)
        self.table.setVisible(bool(self.infos))
        self.table.setRowCount(len(self.infos))
        for r, info in enumerate(self.infos):
            self._fill(r, info)
        if chosen is not None:
            for r, info in enumerate(self.infos):
                if info.id == chosen.id:
                    self.table.selectRow(r)
        elif self.infos and not self.table.selectionModel().selectedRows():
            self.table.selectRow(0)
        self._buttons()

    def _fill(self, r: int, info: StudyInfo) -> None:
        live = self.controller.progress(info.id) if self.controller.running(info.id) else None
        done, failed, retry, spent = info.done, info.failed, info.to_retry, info.spent_usd
        if live is not None:
            done, failed, retry, spent = live.done, live.failed, live.to_retry, live.spent_usd
        status = self._status(info)
        budget = f" of {fmt.cost(info.budget_usd)}" if info.budget_usd is not None else ""
        values = [
            info.name,
            status,
            "",
            f"{done} of {info.units}",
            str(failed) + (f" · {retry} to retry" if retry else ""),
            f"{fmt.cost(spent)}{budget}",
            info.created_at[:16].replace("T", " "),
        ]
        for c, value in enumerate(values):
            item = self.table.item(r, c)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(r, c, item)
            if item.text() != value:
                item.setText(value)
        over = info.budget_usd is not None and spent > info.budget_usd
        spent_item = self.table.item(r, 5)
        if spent_item is not None:
            colors = theme.colors()
            spent_item.setForeground(QColor(colors.error if over else colors.text))
            spent_item.setToolTip(
                "Over budget: answers in flight cost more than their estimate" if over else ""
            )
        cell = self.table.cellWidget(r, 2)
        bar = cell.findChild(QProgressBar) if cell is not None else None
        if bar is None:
            cell = QWidget()
            holder = QVBoxLayout(cell)
            holder.setContentsMargins(6, 0, 6, 0)
            bar = QProgressBar()
            bar.setTextVisible(False)  # "Answered" says it in words
            bar.setFixedHeight(10)
            holder.addWidget(bar, 0, Qt.AlignmentFlag.AlignVCenter)
            self.table.setCellWidget(r, 2, cell)
        bar.setRange(0, max(1, info.units))
        bar.setValue(done + failed + retry)

    def _status(self, info: StudyInfo) -> str:
        if self.controller.running(info.id):
            if self.controller.pausing(info.id):
                return "pausing"
            live = self.controller.progress(info.id)
            eta = live.eta_s() if live is not None else None
            return f"running · {fmt.duration(eta)} left" if eta else "running"
        return shown_status(info)

    def _buttons(self) -> None:
        info = self.selected()
        running = info is not None and self.controller.running(info.id)
        resumable = info is not None and not running and info.runnable and (info.left + info.to_retry) > 0
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(resumable)
        rateable = info is not None and info.done > 0
        self.rate_button.setEnabled(rateable)
        self.judge_button.setEnabled(rateable)
        self.pack_button.setEnabled(rateable and bool(info and info.runnable))
        self.delete_button.setEnabled(info is not None and not running)

    # -- starting --------------------------------------------------------------------------

    def run_suite_file(self, path: str | None = None) -> StudyInfo | None:
        if path is None:
            from chatlab.core.studies.suites import shipped_suites

            start = str(shipped_suites()[0].parent) if shipped_suites() else ""
            path, _ = QFileDialog.getOpenFileName(self, "Run a suite", start, "Suites (*.toml)")
            if not path:
                return None
        try:
            suite = load_suite(Path(path), self.lab.runner.config)
        except SuiteError as exc:
            QMessageBox.warning(self, "chatlab", f"This suite can't be run:\n{exc}")
            return None
        return self.start_new(suite)

    def run_from_lanes(self) -> StudyInfo | None:
        if self.lab.masked:
            QMessageBox.information(
                self, "chatlab", "Vote on the blind turn first: a study would name its lanes."
            )
            return None
        lanes = self.lab.session.lanes
        if not lanes:
            QMessageBox.information(self, "chatlab", "Add the lanes to compare first.")
            return None
        dialog = LanesStudyDialog(self, len(lanes))
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        try:
            suite = parse_suite(dialog.data(lanes), self.lab.runner.config)
        except SuiteError as exc:
            QMessageBox.warning(self, "chatlab", f"This study can't be run:\n{exc}")
            return None
        return self.start_new(suite)

    def start_new(self, suite: Suite, confirm: bool = True) -> StudyInfo | None:
        plan = self.controller.plan_new(suite)
        if (confirm and not self._confirm(plan)) or not self._check_lanes(suite):
            return None
        try:
            info = self.controller.create(plan)
        except StudyError as exc:
            QMessageBox.warning(self, "chatlab", f"The study could not be saved: {exc}")
            return None
        if not self._start(plan):
            return info
        self.select(info.id)
        self.status.setText(f"Started {info.name}: {info.units} answers to get")
        return info

    def select(self, study_id: str) -> None:
        for r, row in enumerate(self.infos):
            if row.id == study_id:
                self.table.selectRow(r)

    def _check_lanes(self, suite: Suite) -> bool:
        """Every lane can run (a key for each provider); all that can't are named at once."""
        from chatlab.core.data.model import Lane

        problems: list[str] = []
        for entry in suite.lanes:
            try:
                self.lab.runner.check_lane(Lane(entry.provider, entry.model, entry.params, entry.label))
            except ConfigError as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
        if problems:
            QMessageBox.warning(self, "chatlab", "This study can't run yet:\n\n" + "\n".join(problems))
        return not problems

    def _confirm(self, plan: Plan) -> bool:
        dialog = EstimateDialog(self, plan.suite, plan.estimates, plan.spent_usd, plan.warnings)
        return dialog.exec() == QDialog.DialogCode.Accepted

    def _start(self, plan: Plan) -> bool:
        try:
            self.controller.start(plan, self.lab.runner, Checkpointer(self.store))
        except StudyError as exc:
            QMessageBox.information(self, "chatlab", f"{plan.name} can't be started: {exc}")
            return False
        self.refresh()
        return True

    def _ended(self, study_id: str, outcome: str, status: str) -> None:
        if outcome == "done" and status != "done":
            outcome = "retry"  # units to send again keep it open for Resume
        name = next((i.name for i in self.infos if i.id == study_id), "The study")
        words = {
            "done": "is finished: Rate… to judge it",
            "budget": "stopped: another request could cross its budget (Resume asks for a new one)",
            "cancelled": "was cancelled: Resume sends what it lacks",
            "paused": "is paused: Resume goes on",
            "retry": "has answers that failed twice in a way worth another try: Resume sends them",
        }
        self.status.setText(f"{name} {words.get(outcome, outcome)}")
        self.refresh()

    # -- the selected study ------------------------------------------------------------------

    def pause(self) -> None:
        info = self.selected()
        if info is not None:
            self.controller.pause(info.id)
            self.status.setText(f"Pausing {info.name}: what is in flight finishes first")
            self.refresh()

    def cancel(self, confirm: bool = True) -> None:
        info = self.selected()
        if info is None:
            return
        if confirm:
            answer = QMessageBox.question(
                self,
                "chatlab",
                f"Cancel {info.name} now? The answers in flight are cut off (they are sent again "
                "if you resume it). Pause instead lets them finish.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        if info is not None:
            self.controller.cancel(info.id)
            self.status.setText(f"Cancelled {info.name}: answers cut off are sent again on resume")
            self.refresh()

    def resume(self, confirm: bool = True) -> None:
        info = self.selected()
        if info is None or self.controller.running(info.id):
            return
        try:
            plan = self.controller.plan_resume(info)
        except StudyError as exc:
            QMessageBox.warning(self, "chatlab", str(exc))
            return
        old_budget = plan.suite.budget_usd
        if plan.budget_reached() and confirm and old_budget is not None:
            budget, ok = QInputDialog.getDouble(
                self,
                "chatlab",
                f"{info.name} has spent {fmt.cost(info.spent_usd)} of its budget of "
                f"{fmt.cost(old_budget)}: another request could cross it. A new budget in dollars:",
                max(old_budget * 2, info.spent_usd + 0.01),
                0.01,
                1_000_000,
                2,
            )
            if not ok:
                return
            try:
                plan = self.controller.set_budget(plan, budget)
            except StudyError as exc:
                QMessageBox.warning(self, "chatlab", f"The budget could not be changed: {exc}")
                return
        if plan.problems:
            self.status.setText(
                plan.problems[0] + (f" (and {len(plan.problems) - 1} more)" if len(plan.problems) > 1 else "")
            )
        if not self._check_lanes(plan.suite) or (confirm and not self._confirm(plan)):
            return
        self._start(plan)

    def rate(self) -> None:
        info = self.selected()
        if info is not None and info.done:
            self.open_rate(info)

    def rate_marked(self) -> None:
        self.open_rate(None)

    def rating_pack(self, path: str | None = None) -> None:
        info = self.selected()
        if info is None:
            return
        if path is None:
            safe = "".join(c if c.isalnum() else "-" for c in info.name).strip("-")[:40] or "study"
            path, _ = QFileDialog.getSaveFileName(self, "Rating pack", f"{safe}-pack.json", "JSON (*.json)")
            if not path:
                return
        from chatlab.core.studies.packs import rating_pack

        pack = rating_pack(self.store.study_sessions(info.id, []), info.name)
        try:
            self.store.remember_pack(pack.mapping, pack.id, info.id, pack.created_at)
            Path(path).write_text(json.dumps(pack.doc, ensure_ascii=False, indent=2), encoding="utf-8")
        except (sqlite3.Error, OSError) as exc:
            QMessageBox.warning(self, "chatlab", f"The pack could not be written: {exc}")
            return
        left = pack.left_out_text()
        self.status.setText(
            f"Wrote a rating pack of {pack.comparisons} comparison{'s' if pack.comparisons != 1 else ''} "
            f"to {path}" + (f"; {left}" if left else "")
        )

    def delete(self, confirm: bool = True) -> None:
        info = self.selected()
        if info is None or self.controller.running(info.id):
            return
        if confirm:
            answer = QMessageBox.question(
                self,
                "chatlab",
                f"Delete {info.name}, its {info.units} answers and every vote on them? This can't be undone.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            self.controller.delete(info)
        except StudyError as exc:
            QMessageBox.warning(self, "chatlab", f"The study could not be deleted: {exc}")
            return
        self.status.setText(f"Deleted {info.name}")
        self.refresh()

    async def shutdown(self) -> None:
        self.timer.stop()
        if self.judge_dialog is not None:
            await self.judge_dialog.shutdown()
        await self.controller.shutdown()
