"""The prompt area: the shared system prompt, the prompt editor, the next-send estimate,
blind mode and its "show reasoning" option, and Send / Stop all.

Ctrl+Enter in the editor sends. The estimate sits in the buttons' row while it fits
there, and takes a line of its own above them (wrapping) when it doesn't, so it is never
cut and never sets the window's width; its whole text is in the tooltip too. The area
owns no session state: the window wires its signals to the lab.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data import format as fmt
from chatlab.core.lab.controller import Lab
from chatlab.ui.shared.icons import icon


class _SendKeys(QObject):
    """Ctrl+Enter in the prompt editor sends instead of inserting a newline."""

    def __init__(self, area: PromptArea) -> None:
        super().__init__(area)
        self._area = area

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self._area.sendRequested.emit()
                return True
        return False


class PromptArea(QWidget):
    sendRequested = Signal()
    stopRequested = Signal()
    blindToggled = Signal(bool)
    showReasoningToggled = Signal(bool)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.system_toggle = QToolButton()
        self.system_toggle.setCheckable(True)
        self.system_toggle.setText("System prompt ▸")
        self.system_toggle.setToolTip("One system prompt for every lane")
        self.system_toggle.toggled.connect(self._toggle_system)
        self.system = QPlainTextEdit()
        self.system.setObjectName("system")
        self.system.setPlaceholderText("Shared system prompt for every lane (optional)")
        self.system.setMaximumHeight(80)
        self.system.hide()
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("prompt")
        self.prompt.setPlaceholderText("Ask every lane…  (Ctrl+Enter sends · Esc stops all)")
        self.prompt.setMinimumHeight(56)
        self.prompt.installEventFilter(_SendKeys(self))
        self.prompt.textChanged.connect(self.changed)
        self.system.textChanged.connect(self.changed)

        self.estimate = QLabel()
        self.estimate.setObjectName("estimate")
        self.estimate.setProperty("role", "muted")
        # Its text can be long (8 lanes): it is cut, never allowed to widen the window.
        self.estimate.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.blind_check = QCheckBox("Blind")
        self.blind_check.setToolTip(
            "Hide which model wrote what (names, parameters, tokens, cost, speed, reasoning) until you "
            "vote. Set before the first send."
        )
        self.blind_check.toggled.connect(self.blindToggled)
        self.reasoning_check = QCheckBox("Show reasoning")
        self.reasoning_check.setToolTip(
            'Blind, with every model\'s reasoning shown alike before the vote ("reasoning not shown" where '
            "there is none to show): guess which was trained to reason. Set before the first send."
        )
        self.reasoning_check.setEnabled(False)  # a blind option: only while Blind is on
        self.reasoning_check.toggled.connect(self.showReasoningToggled)
        self.stop_button = QPushButton(icon("stop"), "Stop all")
        self.stop_button.setToolTip("Stop every lane (Esc)")
        self.stop_button.clicked.connect(self.stopRequested)
        self.send_button = QPushButton(icon("send", "#ffffff"), "Send")
        self.send_button.setProperty("primary", True)
        self.send_button.setToolTip("Send to every lane (Ctrl+Enter)")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.sendRequested)

        self.row = row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.system_toggle)
        row.addWidget(self.estimate, 1)
        self._row_others: tuple[QWidget, ...] = (
            self.system_toggle,
            self.blind_check,
            self.reasoning_check,
            self.stop_button,
            self.send_button,
        )
        row.addWidget(self.blind_check)
        row.addWidget(self.reasoning_check)
        row.addWidget(self.stop_button)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.system)
        layout.addWidget(self.prompt, 1)
        self.estimate_line = QVBoxLayout()  # the estimate, when the row has no room for it
        self.estimate_line.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.estimate_line)
        layout.addLayout(row)

    def _toggle_system(self, shown: bool) -> None:
        self.system.setVisible(shown)
        self.system_toggle.setText("System prompt " + ("▾" if shown else "▸"))

    def text(self) -> str:
        return self.prompt.toPlainText()

    def system_text(self) -> str:
        return self.system.toPlainText()

    def set_estimate(self, text: str) -> None:
        self.estimate.setText(text)
        self.estimate.setToolTip(text)
        self._place_estimate()

    def estimate_on_own_line(self) -> bool:
        return self.estimate_line.indexOf(self.estimate) >= 0

    def _row_room(self) -> int:
        """The width the estimate has in the buttons' row."""
        spacing = max(self.row.spacing(), 0)
        others = sum(w.sizeHint().width() + spacing for w in self._row_others if not w.isHidden())
        return self.width() - others - spacing

    def _place_estimate(self) -> None:
        """In the row while its text fits there; on its own line, wrapped, when not."""
        fits = self.estimate.fontMetrics().horizontalAdvance(self.estimate.text()) <= self._row_room()
        if fits == (not self.estimate_on_own_line()):
            if not fits:  # as tall as its lines at this width, no taller
                self.estimate.setFixedHeight(self.estimate.heightForWidth(max(self.width(), 1)))
            return
        if fits:
            self.estimate.setMinimumHeight(0)
            self.estimate.setMaximumHeight(16777215)
            self.estimate_line.removeWidget(self.estimate)
            self.estimate.setWordWrap(False)
            self.estimate.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.row.insertWidget(1, self.estimate, 1)
        else:
            self.row.removeWidget(self.estimate)
            self.row.insertStretch(1, 1)
            self.estimate.setWordWrap(True)
            self.estimate.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.estimate.setFixedHeight(self.estimate.heightForWidth(max(self.width(), 1)))
            self.estimate_line.addWidget(self.estimate)
        if fits:  # the stretch that kept the buttons right goes
            item = self.row.itemAt(2)
            if item is not None and item.spacerItem() is not None:
                self.row.removeItem(item)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_estimate()

    def show_estimates(self, lab: Lab) -> dict[str, str]:
        """Show the next send's estimate for the prompt typed; returns each lane's line.
        While masked it names no lane and no price (they would say who is who)."""
        estimates = lab.estimates(self.text())
        if not estimates:
            self.set_estimate("")
            return {}
        if lab.masked:
            self.set_estimate(f"Next send: up to ≈{max(e.tokens for e in estimates):,} input tokens per lane")
            return {}
        self.set_estimate(
            "Next send: "
            + " · ".join(
                f"{lab.name_of(e.lane_id)} ≈{e.tokens:,} tok, {fmt.cost(e.cost, True)}" for e in estimates
            )
        )
        return {e.lane_id: f"≈{e.tokens:,} in · {fmt.cost(e.cost, True)} input" for e in estimates}

    def set_state(
        self, *, busy: bool, lanes: int, blind: bool, blind_editable: bool, show_reasoning: bool = False
    ) -> None:
        self.send_button.setEnabled(not busy and lanes > 0)
        self.stop_button.setEnabled(busy)
        for box, checked, editable in (
            (self.blind_check, blind, blind_editable),
            (self.reasoning_check, show_reasoning, blind_editable and blind),
        ):
            box.blockSignals(True)
            box.setChecked(checked)
            box.blockSignals(False)
            box.setEnabled(editable)

    def focus(self) -> None:
        self.prompt.setFocus(Qt.FocusReason.ShortcutFocusReason)
