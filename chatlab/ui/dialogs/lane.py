"""The lane editor: a provider and model (the provider's models listed from the cache at
once, fetched again on request: :mod:`chatlab.ui.dialogs.lane_models`), parameters, the
one Reasoning knob, the lane's own system prompt, "Think first (prompted)" and a label.

Reasoning offers default, off, low, medium, high or a token budget; what the chosen model
can't honour (:func:`chatlab.core.settings.reasoning.problem`) is greyed out in the list,
and a setting it can't honour is refused under the field with the reason, the OK button
disabled, before anything is sent; it updates as the provider or model changes. The
older, provider-specific reasoning effort and thinking budget live in a "Provider's own
settings" fold, and are never set together with Reasoning. Other invalid values are
refused inside the dialog with the reason shown, so nothing half-valid reaches a lane;
an unticked parameter is greyed out and not sent, and changing its value ticks it, so a
typed value is never dropped silently.
"""

from __future__ import annotations

import dataclasses
from typing import cast

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QStandardItemModel
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
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data import safety
from chatlab.core.data.constants import EFFORTS, REASONING_LEVELS
from chatlab.core.data.model import Lane, LaneParams
from chatlab.core.settings import reasoning
from chatlab.core.settings.config import Config, ProviderConfig, check_lane_params
from chatlab.core.settings.model_lists import ModelListCache
from chatlab.ui.dialogs.common import button_box, error_label
from chatlab.ui.dialogs.lane_models import ListModels, ModelPicker, refusal_label

BUDGET = "budget"  # the Reasoning item whose value is the budget box's
DEFAULT_BUDGET = 8192
MAX_BUDGET = 1_000_000
BOTH = (
    "Reasoning and the provider's own settings can't both be set: choose Reasoning "
    '"default", or clear the reasoning effort and thinking budget below'
)
THINK_FIRST = (
    "A lane asked to think first keeps its own reasoning off: choose Reasoning "
    '"off" or "default", or untick Think first'
)


def takes_words(model: str, support: reasoning.Support) -> str:
    """What ``model`` takes, in a sentence: "o4-mini takes low, medium or high (sent as…)."."""
    if support.levels == (reasoning.OFF,) and support.budget is None:
        return f"{support.note}: Reasoning can only be off or default."
    return f"{model} takes {reasoning.takes(support)}: {support.note}."


class LaneDialog(QDialog):
    """Choose a provider and model, set parameters and a label."""

    def __init__(
        self,
        config: Config,
        lane: Lane | None,
        list_models: ListModels | None = None,
        parent: QWidget | None = None,
        model_lists: ModelListCache | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lane" if lane is None else f"Lane — {lane.display}")
        self.config = config
        lane = lane or Lane(provider="demo", model="demo-fast")
        p = lane.params

        self.provider = QComboBox()
        self.provider.addItems(sorted(config.providers))
        self.provider.setCurrentText(lane.provider)
        self.picker = ModelPicker(list_models, model_lists or ModelListCache(), self)
        self.model = self.picker.combo
        self.model.setCurrentText(lane.model)
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
        self._reasoning_row(p)
        self._own_settings(p)
        self.think = QCheckBox("Think first (prompted)")
        self.think.setChecked(p.think == "prompted")
        self.think.setToolTip(
            "Asks this model, in an instruction before its system prompt, to think step by step "
            "inside <think>…</think> before answering; that thinking shows as its reasoning, its "
            "tokens estimated (≈). The control for a trained reasoner: a plain model asked to think. "
            "The instruction can be changed in config.toml (think_instruction). Reasoning stays "
            "off (or default) with it."
        )
        self.system = QPlainTextEdit(p.system or "")
        self.system.setObjectName("lane-system")
        self.system.setTabChangesFocus(True)
        self.system.setPlaceholderText("This lane's own system prompt (optional; empty: the shared one)")
        self.system.setToolTip(
            "Sent to this lane only, in place of the shared system prompt below the prompt box"
        )
        self.system.setMaximumHeight(self.system.fontMetrics().lineSpacing() * 4 + 12)
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
        form.addRow("Model", self.picker)
        form.addRow("Label", self.label)
        form.addRow(self.use_temp, self.temp)
        form.addRow(self.use_max, self.max_tokens)
        form.addRow("Reasoning", self.reasoning_field)
        form.addRow("", self.think)
        form.addRow("", self.fold)
        form.addRow("", self.own)
        form.addRow("System prompt", self.system)
        note = QLabel(
            "Unticked parameters are not sent (the provider's default applies). Parameters a model "
            "family rejects are not sent either (e.g. temperature to o-series models)."
        )
        note.setProperty("role", "muted")
        note.setWordWrap(True)
        self.error = error_label()
        self.buttons = button_box(QDialogButtonBox.StandardButton.Ok, self)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        self.ok = ok
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addStretch(1)  # a little height to spare goes here, not between the rows
        layout.addWidget(self.buttons)
        self.result_lane: Lane | None = None
        self._base = lane

        for signal in (
            self.picker.textChanged,
            self.reasoning.currentIndexChanged,
            self.reasoning_budget.valueChanged,
            self.think.toggled,
            self.effort.currentIndexChanged,
            self.use_budget.toggled,
            self.budget.valueChanged,
            self.use_max.toggled,
            self.max_tokens.valueChanged,
        ):
            signal.connect(self._update_knob)
        self.picker.fetched.connect(lambda _name: self._refit())
        self.provider.currentTextChanged.connect(self._provider_switched)
        self._provider_changed()
        self._fit()

    def _refit(self) -> None:
        """Fit again once the event loop has laid out what just changed (a wrapped
        error under the model field is only measured then)."""
        self.picker.updateGeometry()
        self._fit()
        QTimer.singleShot(0, self._fit_if_open)

    def _fit_if_open(self) -> None:
        if shiboken6.isValid(self):
            self._fit()

    def _fit(self) -> None:
        """As large as the contents need, at the width it has once shown: the wrapped
        notes and refusals trade width for height, which ``adjustSize`` doesn't follow."""
        layout = self.layout()
        assert layout is not None
        layout.activate()
        least = self.minimumSizeHint()
        width = max(self.width() if self.isVisible() else 0, self.sizeHint().width(), least.width())
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else self.sizeHint().height()
        self.resize(width, max(height, least.height()))

    # -- Reasoning, and the provider's own settings ------------------------------------

    def _reasoning_row(self, p: LaneParams) -> None:
        self.reasoning = QComboBox()
        self.reasoning.setObjectName("lane-reasoning")
        self.reasoning.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.reasoning.addItem("default", None)
        for level in REASONING_LEVELS:
            self.reasoning.addItem(level, level)
        self.reasoning.addItem("a token budget", BUDGET)
        self.reasoning.setToolTip(
            "How much the model reasons, the same for every provider: chatlab sends what the "
            "provider's API takes for it. default: the model's own."
        )
        self.reasoning_budget = QSpinBox()
        self.reasoning_budget.setObjectName("lane-reasoning-budget")
        self.reasoning_budget.setRange(1, MAX_BUDGET)
        self.reasoning_budget.setSingleStep(1024)
        self.reasoning_budget.setGroupSeparatorShown(True)
        self.reasoning_budget.setSuffix(" tokens")
        knob = p.reasoning
        self.reasoning_budget.setValue(knob if isinstance(knob, int) else DEFAULT_BUDGET)
        self.reasoning.setCurrentIndex(self.reasoning.findData(BUDGET if isinstance(knob, int) else knob))
        self.reasoning_note = QLabel()
        self.reasoning_note.setProperty("role", "muted")
        self.reasoning_note.setWordWrap(True)
        self.reasoning_error = refusal_label("reasoning-error")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.reasoning)
        row.addWidget(self.reasoning_budget)
        row.addStretch(1)
        self.reasoning_field = QWidget()
        column = QVBoxLayout(self.reasoning_field)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(row)
        column.addWidget(self.reasoning_note)
        column.addWidget(self.reasoning_error)

    def _own_settings(self, p: LaneParams) -> None:
        """The older, provider-specific controls, in a fold (open when the lane uses them)."""
        self.effort = QComboBox()
        self.effort.addItems(["default", *EFFORTS])
        self.effort.setCurrentText(p.reasoning_effort or "default")
        self.use_budget = QCheckBox("Thinking budget")
        self.budget = QSpinBox()
        self.budget.setRange(0, 1_000_000)
        self.budget.setSingleStep(1024)
        self.budget.setValue(p.thinking_budget if p.thinking_budget is not None else 4096)
        self.use_budget.setChecked(p.thinking_budget is not None)
        self.fold = QToolButton()
        self.fold.setText("Provider's own settings")
        self.fold.setToolTip(
            "The older, provider-specific reasoning settings, sent as they are: OpenAI's "
            "reasoning_effort, Claude's thinking budget. Use these or Reasoning, not both."
        )
        self.fold.setCheckable(True)
        self.fold.setAutoRaise(True)
        self.fold.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.own = QWidget()
        own = QFormLayout(self.own)
        own.setContentsMargins(18, 0, 0, 0)
        own.addRow("Reasoning effort", self.effort)
        own.addRow(self.use_budget, self.budget)
        self.fold.toggled.connect(self._unfold)
        self.fold.setChecked(p.reasoning_effort is not None or p.thinking_budget is not None)
        self._unfold(self.fold.isChecked())

    def _unfold(self, open_: bool) -> None:
        self.fold.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.own.setVisible(open_)
        if self.isVisible():
            self._fit()

    def _own_set(self) -> bool:
        return self.effort.currentText() != "default" or self.use_budget.isChecked()

    def _provider_config(self) -> ProviderConfig | None:
        return self.config.providers.get(self.provider.currentText())

    def _provider_switched(self) -> None:
        """The user chose another provider: a model id from the one before stays only if
        the new provider lists it (another provider's "demo-fast" is no model of this one),
        and the provider's own settings (an effort, a thinking budget) are the last one's:
        they go back to default."""
        before = self.model.currentText().strip()
        self.effort.setCurrentText("default")
        self.use_budget.setChecked(False)
        self._provider_changed()
        if before and before not in self.picker.models():
            self.model.setCurrentText("")
        self._update_knob()

    def _provider_changed(self) -> None:
        provider = self._provider_config()
        if provider is not None:
            self.picker.set_provider(provider)
        self._update_knob()

    def knob(self) -> str | int | None:
        """The Reasoning chosen: None (default), a level, or the budget box's tokens."""
        value = self.reasoning.currentData()
        if value == BUDGET:
            return self.reasoning_budget.value()
        return cast(str | None, value)

    def _refusal(self, value: str | int | None) -> str | None:
        """Why Reasoning can't be ``value`` for the model chosen (and Think first, and the
        max output tokens), or None; with Reasoning at default, why the provider's own
        settings can't be (an effort of none where the model can't be off, a budget it
        doesn't take): the same rules."""
        provider, model = self._provider_config(), self.model.currentText().strip()
        cap = self.max_tokens.value() if self.use_max.isChecked() else None
        if value is None:
            if provider is None or not model or not self._own_set():
                return None
            effort = self.effort.currentText()
            own = LaneParams(
                max_output_tokens=cap,
                reasoning_effort=None if effort == "default" else effort,
                thinking_budget=self.budget.value() if self.use_budget.isChecked() else None,
            )
            return reasoning.problem(provider, model, own)
        if self._own_set():
            return BOTH
        if self.think.isChecked() and value != reasoning.OFF:
            return THINK_FIRST
        if provider is None or not model:
            return None
        return reasoning.problem(provider, model, LaneParams(reasoning=value, max_output_tokens=cap))

    def knob_problem(self) -> str | None:
        """Why the Reasoning chosen can't be honoured, or None."""
        return self._refusal(self.knob())

    def _update_knob(self) -> None:
        provider, model = self._provider_config(), self.model.currentText().strip()
        support = reasoning.support(provider, model) if provider is not None and model else None
        items = cast(QStandardItemModel, self.reasoning.model())
        for row in range(1, items.rowCount()):
            item = items.item(row)
            value = item.data(Qt.ItemDataRole.UserRole)
            if value == BUDGET:  # any budget, if the model takes one (the box's own is checked below)
                value = support.budget[0] if support is not None and support.budget else 1
            why = self._refusal(value)
            item.setEnabled(why is None or row == self.reasoning.currentIndex())
            item.setToolTip(why or "")
        self.reasoning_budget.setVisible(self.reasoning.currentData() == BUDGET)
        if support is not None and model:
            self.reasoning_note.setText(takes_words(model, support))
        else:
            self.reasoning_note.setText("")
        why = self.knob_problem()
        self.reasoning_error.setText(why or "")
        self.reasoning_error.setVisible(why is not None)
        self.reasoning_note.setVisible(why is None and bool(self.reasoning_note.text()))
        if why is not None and self._own_set() and not self.fold.isChecked():
            self.fold.setChecked(True)
        self.ok.setEnabled(why is None)
        if self.isVisible():
            self._fit()

    # -- the lane --------------------------------------------------------------------

    def build(self) -> Lane:
        """The lane as entered; raises ValueError with the reason when invalid. Every
        ticked parameter is included, with the value typed so far."""
        model = self.model.currentText().strip()
        if not model:
            raise ValueError("choose or type a model")
        for _check, box in [*self._switches, (self.use_budget, self.reasoning_budget)]:
            box.interpretText()  # text typed but not yet committed (no Enter, focus still in)
        why = self.knob_problem()
        if why is not None:
            raise ValueError(why)
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
            reasoning=self.knob(),
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
