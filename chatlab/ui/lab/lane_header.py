"""A lane card's header: its title, its model (the provider elided first), the run and
edit buttons, the rarer actions' menu, and the parameter chips.

The title row holds the name and the buttons; the model has a line of its own below, so
a narrow lane cuts the provider ("…:demo-reasoner") before the model, and only when the
whole ``provider:model`` really doesn't fit (the whole of it is in the tooltip). While a
blind turn is masked the header shows the letter only (``show_masked``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from chatlab.core.data import format as fmt
from chatlab.core.data.model import Lane
from chatlab.ui.shared.flow import FlowLayout
from chatlab.ui.shared.icons import icon
from chatlab.ui.shared.safe import plain_tip


def chips(lane: Lane) -> list[str]:
    """The lane's parameters as short chips ("temp 0.7", "effort high", "thinking 4,096")."""
    return fmt.params(lane.params)


def tool(name: str, tip: str, slot: Callable[[], None], text: str = "") -> QToolButton:
    b = QToolButton()
    b.setIcon(icon(name))
    b.setToolTip(tip)
    b.setAccessibleName(tip)
    if text:
        b.setText(text)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    b.clicked.connect(slot)
    return b


def elide_spec(spec: str, width: int, advance: Callable[[str], int], elide: Callable[[str, int], str]) -> str:
    """``provider:model`` as it fits in ``width``: whole; else "…:model"; else the model
    cut as ``elide`` cuts (the window cuts its middle, so "@options" and a twin's "#2",
    which tell lanes apart, stay). The provider goes first: the model tells lanes apart."""
    if advance(spec) <= width:
        return spec
    _provider, sep, model = spec.partition(":")
    if not sep:
        return elide(spec, width)
    short = f"…:{model}"
    if advance(short) <= width:
        return short
    return elide(model, width)


class SpecLabel(QLabel):
    """A lane's ``provider:model`` on one line, the provider elided first; ``text()`` is
    the whole of it, as is the tooltip. Its width never comes from its text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(plain_tip(text))  # a model's name: untrusted
        self._elide()

    def text(self) -> str:
        return self._full

    def shown(self) -> str:
        """What is on screen (perhaps elided)."""
        return super().text()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        width = max(self.contentsRect().width(), 1)
        super().setText(
            elide_spec(
                self._full,
                width,
                metrics.horizontalAdvance,
                lambda s, w: metrics.elidedText(s, Qt.TextElideMode.ElideMiddle, w),
            )
        )


class LaneHeader(QWidget):
    """The title row (name, Stop, Retry, Copy, Parameters, More), the model line and the
    chips. The buttons call the card's slots; the card decides what they mean."""

    def __init__(
        self,
        *,
        stop: Callable[[], None],
        retry: Callable[[], None],
        copy: Callable[[], None],
        edit: Callable[[], None],
        move: Callable[[int], None],
        copy_reasoning: Callable[[], None],
        remove: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # The label, or for a lane without one its model (never its place, which a blind
        # turn shuffles), cut at the provider first when it doesn't fit.
        self.title = SpecLabel()
        self.title.setProperty("role", "title")
        self.spec = SpecLabel()
        self.spec.setProperty("role", "muted")
        self.stop_button = tool("stop", "Stop this lane", stop)
        self.retry_button = tool("retry", "Send this lane's prompt again (Ctrl+R)", retry)
        self.copy_answer = tool("copy", "Copy the answer (Ctrl+Shift+C)", copy)
        self.params_button = tool("edit", "Model and parameters…", edit)
        # Rarer actions live in one menu, so the header never clips at the minimum width.
        self.more_button = tool("more", "More lane actions", lambda: None)
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.more_button)
        self.left_action = menu.addAction("Move left", lambda: move(-1))
        self.right_action = menu.addAction("Move right", lambda: move(1))
        self.copy_reasoning = menu.addAction("Copy reasoning", copy_reasoning)
        menu.addSeparator()
        self.remove_action = menu.addAction("Remove lane", remove)
        self.more_button.setMenu(menu)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.title, 1)
        for button in (
            self.stop_button,
            self.retry_button,
            self.copy_answer,
            self.params_button,
            self.more_button,
        ):
            row.addWidget(button)
        self.chip_row = QWidget()
        self._chips = FlowLayout(self.chip_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.spec)
        layout.addWidget(self.chip_row)

    def show_masked(self, letter: str) -> None:
        """The letter only; nothing else here may tell which model this is."""
        self.title.setText(f"Model {letter}")
        self.title.setToolTip("")
        self.spec.setText("")
        self.set_chips([])

    def show_lane(self, lane: Lane, index: int, count: int | None, name: str = "") -> None:
        """``name``: what the lab calls the lane (its label or model, "#2" for a twin)."""
        self.title.setText(name or lane.display)
        self.spec.setText(lane.spec if lane.label else "")  # an unlabelled lane's title is its model
        self.spec.setVisible(bool(lane.label))
        self.set_chips(chips(lane))
        if count is not None:
            self.left_action.setEnabled(index > 0)
            self.right_action.setEnabled(index < count - 1)

    def set_chips(self, texts: list[str]) -> None:
        while self._chips.count():
            item = self._chips.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        for text in texts:
            chip = QLabel(text)
            chip.setProperty("role", "chip")
            self._chips.addWidget(chip)
        self.chip_row.setVisible(bool(texts))

    def set_editable(self, editable: bool) -> None:
        for b in (self.params_button, self.left_action, self.right_action, self.remove_action):
            b.setEnabled(editable)
