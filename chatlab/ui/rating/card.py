"""One answer card of the blind rating queue, as the rater sees it.

The card shows "Model A" (a header that picks the answer on a click, with its digit key),
the answer rendered as Markdown in the project's safe :class:`~chatlab.ui.shared.text.AnswerView`,
and the rater's marks under it: a "reasoned?" guess, a 1–5 score and a note (with the
rater's own score and note from before, if they gave one). It is made from a
:class:`~chatlab.core.studies.rating.Answer` alone, so it can't hold a lane, model or
figure; nothing in it takes the keyboard focus but a note being typed. When the
comparison shows reasoning, the card shows the answer's reasoning above it, alike on
every card ("Reasoning", its text or "reasoning not shown", no count), and the guess
asks "trained to reason?" instead.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.studies.rating import MAX_NOTE, Answer
from chatlab.ui.rating.widgets import nofocus_button, plain_label
from chatlab.ui.shared.text import AnswerView, ReasoningView

MAX_KEYED = 8  # answers reachable with the digit keys
MIN_CARD_WIDTH = 280  # four cards fit 1280 pixels; more scroll sideways
SCORES = 5
GUESS = "reasoned?"
TRAINED_GUESS = "trained to reason?"  # with the reasoning on show, the guess is about training


def _restyle(widget: QWidget, name: str, value: object) -> None:
    """Set a dynamic property the style sheet reads, and draw the widget again."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class _Header(QFrame):
    """A card's header: clicking it picks the card's answer."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            event.accept()  # so the release comes here too
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)


class NoteEdit(QLineEdit):
    """A one-line note: focus only by a click; Esc (or Enter) hands the keys back."""

    left = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMaxLength(MAX_NOTE)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # QLineEdit passes Esc and Enter on to its parent: here they would vote.
        if event.key() in (Qt.Key.Key_Escape.value, Qt.Key.Key_Return.value, Qt.Key.Key_Enter.value):
            event.accept()
            self.left.emit()
            return
        super().keyPressEvent(event)


class AnswerCard(QFrame):
    """One answer as the rater sees it: "Model A", the text, and the rater's marks."""

    picked = Signal(int)  # this card's position
    guessToggled = Signal(int)  # the "reasoned?" mark was clicked
    noteLeft = Signal()

    def __init__(self, position: int, answer: Answer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = position
        self.letter = answer.letter
        self.name = f"Model {answer.letter}"
        self.score: int | None = None
        self.setProperty("card", True)
        self.setAccessibleName(self.name)
        self.setMinimumWidth(MIN_CARD_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.header = _Header()
        key = f"press {position + 1}" if position < MAX_KEYED else ""
        self.header.setToolTip(f"Pick {self.name} as the best answer" + (f" ({key})" if key else ""))
        self.title = plain_label(self.name, "title")
        self.best = plain_label("best", "badge")
        self.best.setProperty("tone", "good")
        self.best.hide()
        self.key_hint = plain_label(key, "muted")
        top = QHBoxLayout(self.header)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title)
        top.addWidget(self.best)
        top.addStretch(1)
        top.addWidget(self.key_hint)
        self.header.clicked.connect(lambda: self.picked.emit(self.position))

        self.answer = AnswerView()
        self.answer.setObjectName("answer")
        self.answer.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the view keeps the keys
        self.answer.setPlaceholderText("(empty answer)")
        self.answer.finish(answer.text)

        # With show reasoning, its text (or the same neutral line) above the answer, alike
        # on every card: one title, the same share of the card, no count.
        self.thinking = ReasoningView()
        self.thinking.setObjectName("reasoning")
        self.thinking.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.thinking.setPlainText(answer.reasoning or "")
        self.thinking_title = plain_label("Reasoning", "muted")
        self.panes = QSplitter(Qt.Orientation.Vertical)
        self.panes.addWidget(self.thinking)
        self.panes.addWidget(self.answer)
        self.panes.setStretchFactor(0, 1)
        self.panes.setStretchFactor(1, 2)
        self.panes.setChildrenCollapsible(False)
        shows = answer.reasoning is not None
        self.thinking.setVisible(shows)
        self.thinking_title.setVisible(shows)

        guess = TRAINED_GUESS if shows else GUESS
        tip = (
            f"I think {self.name} is a model trained to reason, not one prompted to think"
            if shows
            else f"I think {self.name} reasoned before answering"
        )
        self.reasoned = nofocus_button(guess, tip, True)
        # Never clipped: the card can be narrow, and "easoned?" reads as nonsense.
        self.reasoned.setMinimumWidth(self.reasoned.fontMetrics().horizontalAdvance(guess) + 26)
        self.reasoned.clicked.connect(lambda: self.guessToggled.emit(self.position))
        self.score_buttons: list[QPushButton] = []
        marks = QHBoxLayout()
        marks.setContentsMargins(0, 0, 0, 0)
        marks.setSpacing(3)
        # "trained to reason?" is too long to share a narrow card's row with the scores
        # (it was drawn under them): with the reasoning on show it has a row of its own.
        guess_row = QHBoxLayout() if shows else marks
        guess_row.setContentsMargins(0, 0, 0, 0)
        guess_row.addWidget(self.reasoned)
        if shows:
            guess_row.addStretch(1)
        marks.addStretch(1)
        # The word goes when a narrow card (many answers) has no room for it, rather
        # than be drawn under "reasoned?".
        self.score_word = plain_label("score", "muted")
        marks.addWidget(self.score_word)
        for n in range(1, SCORES + 1):
            tip = f"Score {n} of {SCORES} for {self.name} (click again to clear)"
            button = nofocus_button(str(n), tip, True)
            button.setObjectName(f"score-{n}")
            button.setFixedWidth(max(28, button.fontMetrics().horizontalAdvance("5") + 22))
            button.clicked.connect(functools.partial(self._score_clicked, n))
            marks.addWidget(button)
            self.score_buttons.append(button)
        self.note = NoteEdit()
        self.note.setPlaceholderText("note (click to type, Esc when done)")
        self.note.setAccessibleName(f"Note on {self.name}")
        self.note.left.connect(self.noteLeft)
        # The rater's own marks from before (given in the main window): shown, so that
        # voting keeps them unless the rater changes them.
        self.earlier = plain_label("your score and note from before", "muted")
        self.earlier.setToolTip("A vote keeps them as they are unless you change them (U undoes the vote)")
        self.has_earlier = answer.score is not None or bool(answer.note)
        self.earlier.setVisible(self.has_earlier)
        self.set_marks(answer.score, answer.note)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.header)
        layout.addWidget(self.thinking_title)
        layout.addWidget(self.panes, 1)
        if guess_row is not marks:
            layout.addLayout(guess_row)
        layout.addLayout(marks)
        layout.addWidget(self.note)
        layout.addWidget(self.earlier)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        layout = self.layout()
        if layout is None:
            return
        margins = layout.contentsMargins()
        inner = self.width() - margins.left() - margins.right()
        needed = (
            self.reasoned.minimumWidth()
            + self.score_word.sizeHint().width()
            + sum(b.width() for b in self.score_buttons)
            + 3 * (len(self.score_buttons) + 2)
            + 8
        )
        self.score_word.setVisible(inner >= needed)

    @property
    def marked(self) -> bool:
        """The rater thinks this answer reasoned."""
        return self.reasoned.isChecked()

    @property
    def note_text(self) -> str:
        return self.note.text()

    def _score_clicked(self, n: int) -> None:
        # A click has checked the button, or unchecked the one that was: that clears it.
        self.set_score(n if self.score_buttons[n - 1].isChecked() else None)

    def set_score(self, score: int | None) -> None:
        """``score`` (1–5), or None to clear it."""
        self.score = score
        for n, button in enumerate(self.score_buttons, start=1):
            button.setChecked(n == score)

    def set_marks(self, score: int | None, note: str) -> None:
        """Show a score and note (the rater's own, from before)."""
        self.set_score(score)
        self.note.setText(note)
        self.note.setCursorPosition(0)

    def set_picked(self, picked: bool) -> None:
        self.best.setVisible(picked)
        _restyle(self, "focused", picked)

    def set_locked(self, locked: bool) -> None:
        """After the vote: the marks stay on show but can't change."""
        for w in (self.reasoned, *self.score_buttons, self.note):
            w.setEnabled(not locked)
        self.header.setCursor(Qt.CursorShape.ArrowCursor if locked else Qt.CursorShape.PointingHandCursor)
