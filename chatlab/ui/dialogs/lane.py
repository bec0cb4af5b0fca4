"""The lane editor: a provider and model (the provider's models listed on request),
parameters, the lane's own system prompt, "Think first (prompted)" and a label. Invalid
values are refused inside the dialog with the reason shown, so nothing half-valid
reaches a lane; an unticked parameter is greyed out and not sent, and changing its value
ticks it, so a typed value is never dropped silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data import safety
from chatlab.core.data.constants import EFFORTS
from chatlab.core.data.model import Lane, LaneParams
from chatlab.core.settings.config import Config, check_lane_params
from chatlab.ui.dialogs.common import button_box, error_label, one_line


class LaneDialog(QDialog):
    """Choose a provider and model, set parameters and a label."""

    def __init__(
        self,
        config: Config,
        lane: Lane | None,
        list_models: Callable[[str], asyncio.Future[list[str]] | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lane" if lane is None else f"Lane — {lane.display}")
        self.setMinimumWidth(520)
        self.config = config
        self._list_models = list_models
        lane = lane or Lane(provider="demo", model="demo-fast")
        p = lane.params

        self.provider = QComboBox()
        self.provider.addItems(sorted(config.providers))
        self.provider.setCurrentText(lane.provider)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setMinimumWidth(280)
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model.setCurrentText(lane.model)
        self.fetch = QPushButton("List models")
        self.fetch.setToolTip("Ask the provider for its models (GET /models)")
        self.fetch.clicked.connect(self._fetch_models)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.fetch)
        self.label = QLineEdit(lane.label)
        self.label.setPlaceholderText("Display label (optional)")

        self.use_temp = QCheckBox("Temperature")
        self.temp = QDoubleSpinBox()
        self.temp.setRange(-10.0, 10.0)  # out-of-range values are refused with a reason
        self.temp.setSingleStep(0.1)
        self.temp.setValue(p.temperature if p.temperature is not None else 1.0)
        self.use_temp.setChecked(p.temperature is not None)
        self.use_max = QCheckBox("Max output tokens")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setValue(p.max_output_tokens or 4096)
        self.use_max.setChecked(p.max_output_tokens is not None)
        self.effort = QComboBox()
        self.effort.addItems(["default", *EFFORTS])
        self.effort.setCurrentText(p.reasoning_effort or "default")
        self.use_budget = QCheckBox("Thinking budget")
        self.budget = QSpinBox()
        self.budget.setRange(0, 1_000_000)
        self.budget.setSingleStep(1024)
        self.budget.setValue(p.thinking_budget if p.thinking_budget is not None else 4096)
        self.use_budget.setChecked(p.thinking_budget is not None)
        self.think = QCheckBox("Think first (prompted)")
        self.think.setChecked(p.think == "prompted")
        self.think.setToolTip(
            "Asks this model, in an instruction before its system prompt, to think step by step "
            "inside <think>…</think> before answering; that thinking shows as its reasoning, its "
            "tokens estimated (≈). The control for a trained reasoner: a plain model asked to think. "
            "The instruction can be changed in config.toml (think_instruction)."
        )
        self.system = QPlainTextEdit(p.system or "")
        self.system.setObjectName("lane-system")
        self.system.setTabChangesFocus(True)
        self.system.setPlaceholderText("This lane's own system prompt (optional; empty: the shared one)")
        self.system.setToolTip(
            "Sent to this lane only, in place of the shared system prompt below the prompt box"
        )
        self.system.setMaximumHeight(self.system.fontMetrics().lineSpacing() * 5 + 12)
        # An unticked parameter is greyed out; changing its value ticks it (set after the
        # lane's values are in, so that opening the dialog ticks nothing).
        self._switches: list[tuple[QCheckBox, QAbstractSpinBox]] = [
            (self.use_temp, self.temp),
            (self.use_max, self.max_tokens),
            (self.use_budget, self.budget),
        ]
        for check, box in self._switches:
            box.setEnabled(check.isChecked())
            check.toggled.connect(box.setEnabled)
        self.temp.valueChanged.connect(lambda _v: self.use_temp.setChecked(True))
        self.max_tokens.valueChanged.connect(lambda _v: self.use_max.setChecked(True))
        self.budget.valueChanged.connect(lambda _v: self.use_budget.setChecked(True))

        form = QFormLayout()
        form.addRow("Provider", self.provider)
        form.addRow("Model", model_row)
        form.addRow("Label", self.label)
        form.addRow(self.use_temp, self.temp)
        form.addRow(self.use_max, self.max_tokens)
        form.addRow("Reasoning effort", self.effort)
        form.addRow(self.use_budget, self.budget)
        form.addRow("", self.think)
        form.addRow("System prompt", self.system)
        note = QLabel(
            "Unticked parameters are not sent (the provider's default applies). Parameters a model "
            "family rejects are not sent either (e.g. temperature to o-series models)."
        )
        note.setWordWrap(True)
        self.error = error_label()
        self.info = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.info)
        layout.addWidget(self.error)
        layout.addWidget(button_box(QDialogButtonBox.StandardButton.Ok, self))
        self.result_lane: Lane | None = None
        self._base = lane
        self.adjustSize()

    def _fetch_models(self) -> None:
        if self._list_models is None:
            return
        future = self._list_models(self.provider.currentText())
        if future is None:
            return
        self.fetch.setEnabled(False)
        self.fetch.setText("Listing…")

        def done(fut: asyncio.Future[list[str]]) -> None:
            self.fetch.setEnabled(True)
            self.fetch.setText("List models")
            try:
                models = fut.result()
            except Exception as exc:
                self.error.setText(f"Could not list models: {one_line(str(exc) or type(exc).__name__)}")
                return
            current = self.model.currentText()
            self.model.clear()
            self.model.addItems(models)
            self.model.setCurrentText(current)
            self.error.setText("")
            self.info.setText(f"{len(models)} models listed." if models else "The provider listed no models.")

        future.add_done_callback(done)

    def build(self) -> Lane:
        """The lane as entered; raises ValueError with the reason when invalid. Every
        ticked parameter is included, with the value typed so far."""
        model = self.model.currentText().strip()
        if not model:
            raise ValueError("choose or type a model")
        for _check, box in self._switches:
            box.interpretText()  # text typed but not yet committed (no Enter, focus still in)
        effort = self.effort.currentText()
        system = self.system.toPlainText().strip() or None
        if system is not None and safety.clean_text(system) != system:
            raise ValueError("the system prompt is not valid Unicode")
        params = LaneParams(
            system=system,
            temperature=round(self.temp.value(), 3) if self.use_temp.isChecked() else None,
            max_output_tokens=self.max_tokens.value() if self.use_max.isChecked() else None,
            reasoning_effort=None if effort == "default" else effort,
            thinking_budget=self.budget.value() if self.use_budget.isChecked() else None,
            think="prompted" if self.think.isChecked() else None,
        )
        check_lane_params(params)
        return dataclasses.replace(
            self._base,
            provider=self.provider.currentText(),
            model=model,
            params=params,
            label=self.label.text().strip(),
        )

    def accept(self) -> None:
        try:
            self.result_lane = self.build()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()
