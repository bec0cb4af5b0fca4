"""The blind rating queue ("rate later"): one comparison at a time, keyboard first.

:class:`RateView` shows the current item of a :class:`~chatlab.core.studies.rating.RatingQueue`
from :meth:`~chatlab.core.studies.rating.RatingQueue.shown` alone (the prompt, and the answers as
Model A, B, C… rendered as Markdown in the project's safe views), so while an item is
unrevealed no widget can hold a lane, model, figure or reasoning it was never given.
Under each answer card are a "reasoned?" guess mark, a 1–5 score and a note (with the
rater's own score and note from before, if they gave one: a vote keeps them unless the
rater changes them, and ``U`` puts them back as they were); a bottom
bar says how far the rater has got, what is picked, and which keys do what. The view
keeps the keyboard focus (only a note being typed takes it): ``1``–``8`` pick the best
answer, ``T`` a tie, ``X`` all bad, ``G`` switches the digits to marking "reasoned?",
``Enter``/``Space`` vote and move on, ``U`` takes the last vote back. Identities appear
only as the study's reveal policy allows: after each vote (``each``, in a reveal panel
that Enter dismisses) or, by default, when the queue is done (the standings table). A
vote whose names were shown can't be taken back: the re-vote would no longer be blind.
A hidden repeat looks exactly like any other item. :class:`RateWindow` hosts the view.
"""

from __future__ import annotations

import functools
import sqlite3

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data.votes import Vote
from chatlab.core.lab.blind import letter
from chatlab.core.settings.raters import Rater
from chatlab.core.studies.rating import MAX_NOTE, Answer, RatingError, RatingQueue, RevealRow
from chatlab.core.studies.study import StudyInfo
from chatlab.store.db import Store, StoreError
from chatlab.ui.rating.reveal import grid_table, guess_words
from chatlab.ui.shared.keyboard import close_keys
from chatlab.ui.shared.text import AnswerView

MAX_KEYED = 8  # answers reachable with the digit keys
MIN_CARD_WIDTH = 280  # four cards fit 1280 pixels; more scroll sideways
PROMPT_LINES = 3  # the prompt's height; a longer prompt scrolls
SCORES = 5
DEFAULT_SIZE = (1240, 760)

_PASS_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)
_ENTER_KEYS = (Qt.Key.Key_Return.value, Qt.Key.Key_Enter.value, Qt.Key.Key_Space.value)


def _label(text: str = "", role: str = "") -> QLabel:
    """A plain-text label (never rich text: nothing here is markup)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if role:
        label.setProperty("role", role)
    return label


def _button(text: str, tip: str, checkable: bool = False) -> QPushButton:
    """A button that never takes the keyboard focus from the view."""
    button = QPushButton(text)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setCheckable(checkable)
    return button


def _restyle(widget: QWidget, name: str, value: object) -> None:
    """Set a dynamic property the style sheet reads, and draw the widget again."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def _clear_grid(grid: QGridLayout) -> None:
    while grid.count():
        item = grid.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.hide()
            widget.setParent(None)  # out of the tree now: a label waiting to be deleted holds a name
            widget.deleteLater()


def _compact(table: QWidget) -> QHBoxLayout:
    """``table`` at its own width, on the left (not spread across the panel)."""
    row = QHBoxLayout()
    row.addWidget(table)
    row.addStretch(1)
    return row


def key_range(count: int) -> str:
    """The digit keys for ``count`` answers: "1", "1–3"."""
    last = min(count, MAX_KEYED)
    return "1" if last <= 1 else f"1–{last}"


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


SIGHTED = "sighted: you exported it with its names, so this vote is left out of blind statistics"


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
        self.title = _label(self.name, "title")
        self.best = _label("best", "badge")
        self.best.setProperty("tone", "good")
        self.best.hide()
        self.key_hint = _label(key, "muted")
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

        self.reasoned = _button("reasoned?", f"I think {self.name} reasoned before answering", True)
        # Never clipped: the card can be narrow, and "easoned?" reads as nonsense.
        self.reasoned.setMinimumWidth(self.reasoned.fontMetrics().horizontalAdvance("reasoned?") + 26)
        self.reasoned.clicked.connect(lambda: self.guessToggled.emit(self.position))
        self.score_buttons: list[QPushButton] = []
        marks = QHBoxLayout()
        marks.setContentsMargins(0, 0, 0, 0)
        marks.setSpacing(3)
        marks.addWidget(self.reasoned)
        marks.addStretch(1)
        # The word goes when a narrow card (many answers) has no room for it, rather
        # than be drawn under "reasoned?".
        self.score_word = _label("score", "muted")
        marks.addWidget(self.score_word)
        for n in range(1, SCORES + 1):
            button = _button(str(n), f"Score {n} of {SCORES} for {self.name} (click again to clear)", True)
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
        self.earlier = _label("your score and note from before", "muted")
        self.earlier.setToolTip("A vote keeps them as they are unless you change them (U undoes the vote)")
        self.has_earlier = answer.score is not None or bool(answer.note)
        self.earlier.setVisible(self.has_earlier)
        self.set_marks(answer.score, answer.note)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.header)
        layout.addWidget(self.answer, 1)
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


class RevealPanel(QFrame):
    """After a vote (policy ``each``): who each letter was, and how the rater did."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rate-reveal")
        self.setProperty("role", "reveal")
        self.headline = _label("", "title")
        self.headline.setWordWrap(True)
        self.table, self.grid = grid_table()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.headline)
        layout.addLayout(_compact(self.table))
        self.hide()

    def show_rows(self, rows: list[RevealRow], choice: str, guess_made: bool) -> None:
        self.clear()
        chosen = next((r for r in rows if r.chosen), None)
        said = {"tie": "a tie", "all_bad": "all bad"}.get(choice, "")
        if chosen is not None:
            said = f"Model {chosen.letter} — {chosen.name}"
        self.headline.setText(f"Revealed. You chose {said}")
        heads = ["", "model", "reasoned", "your pick", "your guess"]
        for col, head in enumerate(heads):
            self.grid.addWidget(_label(head, "muted"), 0, col)
        for r, row in enumerate(rows, start=1):
            cells = [
                f"Model {row.letter}",
                row.name,
                "yes" if row.reasoned else "no",
                "best ✓" if row.chosen else "",
                guess_words(row.guessed, row.reasoned) if guess_made else "no guess",
            ]
            for col, text in enumerate(cells):
                self.grid.addWidget(_label(text, "title" if col == 0 else ""), r, col)
        self.show()

    def clear(self) -> None:
        """Hide, and forget every name (a hidden label would still hold one)."""
        self.hide()
        self.headline.setText("")
        _clear_grid(self.grid)


class DonePanel(QFrame):
    """The queue is done: each contender's record in this rater's votes."""

    HEADS = ("model", "shown", "wins", "ties", "you guessed reasoned", "reasoned")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rate-done")
        self.setProperty("role", "reveal")
        self.headline = _label("", "title")
        self.sub = _label("", "muted")
        self.sub.setWordWrap(True)
        self.table, self.grid = grid_table(24, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.headline)
        layout.addWidget(self.sub)
        layout.addLayout(_compact(self.table))
        layout.addStretch(1)
        self.hide()

    def show_standings(self, queue: RatingQueue) -> None:
        _clear_grid(self.grid)
        self.headline.setText(f"Done — {queue.rated} of {queue.total} rated")
        self.sub.setText("Who was who, from your votes (a tie counts for every answer shown):")
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for col, head in enumerate(self.HEADS):
            label = _label(head, "muted")
            if col:
                label.setAlignment(right)
            self.grid.addWidget(label, 0, col)
        for r, s in enumerate(queue.standings(), start=1):
            cells = [s.name, s.shown, s.wins, s.ties, s.guessed_reasoned, s.reasoned]
            for col, value in enumerate(cells):
                label = _label(str(value), "title" if col == 0 else "")
                if col:
                    label.setAlignment(right)
                self.grid.addWidget(label, r, col)
        self.show()

    def show_waiting(self, queue: RatingQueue) -> None:
        """Rated everything there is to rate, but the names can't be shown (yet)."""
        _clear_grid(self.grid)
        self.headline.setText(f"Done for now — {queue.rated} of {queue.total} rated")
        if queue.from_pack:
            self.sub.setText(
                "The names are with the study's owner. Send them your votes: "
                "chatlab export --votes -o votes.json"
            )
        else:
            self.sub.setText(
                "Some comparisons of this study are still being answered. Names are shown once "
                "the study is complete and you have rated it all: open Rate again then."
            )
        self.show()

    def rows(self) -> list[list[str]]:
        """The table's text, row by row (the header first)."""
        out: list[list[str]] = []
        for r in range(self.grid.rowCount()):
            row = []
            for c in range(self.grid.columnCount()):
                item = self.grid.itemAtPosition(r, c)
                widget = item.widget() if item is not None else None
                row.append(widget.text() if isinstance(widget, QLabel) else "")
            if any(row):
                out.append(row)
        return out


class RateView(QWidget):
    """The queue, one item at a time (see the module docstring).

    ``voted`` is emitted after each vote the queue took; ``finished`` once, when the Done
    panel appears (policy ``each``: after the last reveal is dismissed). A queue already
    done when the view is made shows the Done panel at once.
    """

    voted = Signal()
    finished = Signal()

    def __init__(self, queue: RatingQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.each = queue.reveal_policy == "each"
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.state = "item"  # "item" | "reveal" (policy each, after a vote) | "done"
        self.cards: list[AnswerCard] = []
        self.choice: int | str | None = None
        self.guess_mode = False
        self._guess_touched = False
        self._finished_emitted = False

        self.prompt_frame = QFrame()
        self.prompt_frame.setProperty("role", "banner")
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("rate-prompt")
        self.prompt.setReadOnly(True)
        self.prompt.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.prompt.setFrameShape(QFrame.Shape.NoFrame)
        self.prompt.setFixedHeight(self.prompt.fontMetrics().lineSpacing() * PROMPT_LINES + 12)
        prompt_row = QVBoxLayout(self.prompt_frame)
        prompt_row.setContentsMargins(10, 6, 10, 6)
        prompt_row.setSpacing(2)
        self.item_label = _label("", "muted")
        prompt_row.addWidget(self.item_label)
        prompt_row.addWidget(self.prompt)

        self.holder = QWidget()
        self.cards_row = QHBoxLayout(self.holder)
        self.cards_row.setContentsMargins(0, 0, 0, 0)
        self.cards_row.setSpacing(8)
        self.scroller = QScrollArea()
        self.scroller.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroller.setWidgetResizable(True)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroller.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.setWidget(self.holder)

        self.reveal_panel = RevealPanel()
        self.done_panel = DonePanel()
        self._init_bar()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addWidget(self.prompt_frame)
        layout.addWidget(self.scroller, 1)
        layout.addWidget(self.reveal_panel)
        layout.addWidget(self.done_panel, 1)
        layout.addWidget(self.bar)
        self._show_item()

    def _init_bar(self) -> None:
        self.bar = QFrame()
        self.bar.setObjectName("rate-bar")
        self.bar.setProperty("role", "votebar")
        self.progress = _label("", "muted")
        self.pick_label = _label("", "title")
        self.mode_label = _label("", "badge")
        self.mode_label.setProperty("tone", "busy")
        self.mode_label.hide()
        self.message = _label("", "badge")
        self.message.setProperty("tone", "bad")
        self.message.hide()
        self.hint = _label("", "muted")
        self.hint.setWordWrap(True)
        self.tie_button = _button("Tie", "A tie: the answers are equally good (T)")
        self.tie_button.clicked.connect(self.tie)
        self.bad_button = _button("All bad", "None of the answers is good (X)")
        self.bad_button.clicked.connect(self.all_bad)
        self.undo_button = _button("Undo", "Take the last vote back and show its item again (U)")
        self.undo_button.clicked.connect(self.undo)
        self.next_button = _button(
            "Vote and next", "Record the vote and go to the next item (Enter or Space)"
        )
        self.next_button.setProperty("primary", True)
        self.next_button.clicked.connect(self.commit)
        self.close_button = _button("Close", "Close the rating window (Ctrl+W)")
        self.close_button.setProperty("primary", True)
        self.close_button.clicked.connect(lambda: self.window().close())
        self.close_button.hide()
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.pick_label)
        top.addWidget(self.mode_label)
        top.addWidget(self.message)
        top.addStretch(1)
        top.addWidget(self.progress)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.hint, 1)
        for b in (self.tie_button, self.bad_button, self.undo_button, self.next_button, self.close_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self.bar)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(buttons)

    # -- items ---------------------------------------------------------------------------

    def _show_item(self) -> None:
        """Show the queue's current item, fresh (no pick, no marks), or the end."""
        self.reveal_panel.clear()
        shown = self.queue.shown()
        self._clear_cards()
        if shown is None:
            self._show_done()
            return
        self.state = "item"
        self.choice = None
        self.guess_mode = False
        self._guess_touched = False
        self.item_label.setText(
            f"Item {shown.number} · the prompt" + (f" · {SIGHTED}" if shown.sighted else "")
        )
        self.prompt.setPlainText(shown.prompt)
        for position, answer in enumerate(shown.answers):
            card = AnswerCard(position, answer)
            card.picked.connect(self.pick)
            card.guessToggled.connect(self._guess_clicked)
            card.noteLeft.connect(self._take_focus)
            self.cards_row.addWidget(card, 1)
            self.cards.append(card)
        if any(card.has_earlier for card in self.cards):
            # The line under an earlier rating takes its room on every card, so the
            # marks of all cards stay level.
            for card in self.cards:
                policy = card.earlier.sizePolicy()
                policy.setRetainSizeWhenHidden(True)
                card.earlier.setSizePolicy(policy)
        self.scroller.horizontalScrollBar().setValue(0)
        self._say("")
        self._refresh_bar()
        self._take_focus()

    def _clear_cards(self) -> None:
        for card in self.cards:
            self.cards_row.removeWidget(card)
            card.hide()
            card.setParent(None)
            card.deleteLater()
        self.cards = []

    def _show_done(self) -> None:
        self.state = "done"
        self.choice = None
        self.guess_mode = False
        self.prompt.clear()
        self.item_label.setText("")
        self.prompt_frame.hide()
        self.scroller.hide()
        if self.queue.can_reveal:
            self.done_panel.show_standings(self.queue)
        else:
            self.done_panel.show_waiting(self.queue)
        self._say("")
        self._refresh_bar()
        self._take_focus()
        if not self._finished_emitted:
            self._finished_emitted = True
            self.finished.emit()

    def _take_focus(self) -> None:
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- the bottom bar ------------------------------------------------------------------

    def _say(self, text: str) -> None:
        """A one-line message (a refused key or vote), or none."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def pick_text(self) -> str:
        if self.state == "done":
            return "Done"
        if self.state == "reveal":
            return "Voted"
        if isinstance(self.choice, int):
            return f"Best: Model {letter(self.choice)}"
        if self.choice == "tie":
            return "Tie"
        if self.choice == "all_bad":
            return "All bad"
        keys = key_range(len(self.cards))
        return f"Pick the best answer: {keys}" + (", T tie" if len(self.cards) > 1 else "") + ", X all bad"

    def _refresh_bar(self) -> None:
        self.progress.setText(self.queue.progress_text())
        self.pick_label.setText(self.pick_text())
        keys = key_range(len(self.cards))
        if self.guess_mode and self.state == "item":
            self.mode_label.setText(f"Guess mode: {keys} mark “reasoned?” · G to pick again")
        self.mode_label.setVisible(self.guess_mode and self.state == "item")
        if self.state == "item":
            tie = " · T tie" if len(self.cards) > 1 else ""
            self.hint.setText(
                f"{keys} best{tie} · X all bad · G guess “reasoned?” · Enter/Space vote · U undo"
                " · PgUp/PgDn scroll"
            )
        elif self.state == "reveal":
            self.hint.setText("Enter or Space: next item")
        else:
            self.hint.setText(
                "Every item is rated. The Leaderboard (Ctrl+Shift+L in the main window) has the results."
            )
        item = self.state == "item"
        self.tie_button.setVisible(item)
        self.tie_button.setEnabled(len(self.cards) > 1)
        self.bad_button.setVisible(item)
        self.undo_button.setVisible(item and not self.each)
        self.undo_button.setEnabled(self.queue.last is not None)
        self.next_button.setVisible(self.state != "done")
        self.close_button.setVisible(self.state == "done")
        self.next_button.setText("Next item" if self.state == "reveal" else "Vote and next")
        for card in self.cards:
            card.set_picked(card.position == self.choice)

    # -- what the rater does -------------------------------------------------------------

    def pick(self, position: int) -> None:
        """Answer ``position`` (0 = Model A) is the best."""
        if self.state != "item":
            return
        if not 0 <= position < len(self.cards):
            self._say(f"There is no Model {letter(position)}")
            return
        self.choice = position
        self._say("")
        self._refresh_bar()
        self.scroller.ensureWidgetVisible(self.cards[position], 0, 0)

    def tie(self) -> None:
        if self.state != "item":
            return
        if len(self.cards) < 2:
            self._say("A tie needs two answers")
            return
        self.choice = "tie"
        self._say("")
        self._refresh_bar()

    def all_bad(self) -> None:
        if self.state != "item":
            return
        self.choice = "all_bad"
        self._say("")
        self._refresh_bar()

    def toggle_guess_mode(self) -> None:
        if self.state != "item":
            return
        self.guess_mode = not self.guess_mode
        self._refresh_bar()

    def toggle_guess(self, position: int) -> None:
        """Mark (or unmark) answer ``position`` as one that reasoned."""
        if self.state != "item":
            return
        if not 0 <= position < len(self.cards):
            self._say(f"There is no Model {letter(position)}")
            return
        card = self.cards[position]
        card.reasoned.setChecked(not card.reasoned.isChecked())
        self._guess_clicked(position)

    def _guess_clicked(self, position: int) -> None:
        self._guess_touched = True
        self._say("")
        self.scroller.ensureWidgetVisible(self.cards[position], 0, 0)

    def guessed(self) -> list[int] | None:
        """The positions marked "reasoned?"; None if no mark was touched on this item."""
        if not self._guess_touched:
            return None
        return [card.position for card in self.cards if card.marked]

    def commit(self) -> None:
        """Enter/Space: vote and go on (or, after a reveal, go on)."""
        if self.state == "reveal":
            self._show_item()
            return
        if self.state != "item":
            return
        if self.choice is None:
            self._say(f"No pick yet — {self.pick_text()}")
            return
        scores = {card.position: card.score for card in self.cards if card.score is not None}
        notes = {card.position: card.note_text for card in self.cards if card.note_text.strip()}
        try:
            self.queue.vote(self.choice, guessed=self.guessed(), scores=scores, notes=notes)
        except RatingError as exc:
            message = str(exc)
            self._say(message[:1].upper() + message[1:])
            return
        except StoreError as exc:  # the vote was not taken: the item stays, as it was
            self._say(f"The vote could not be saved: {exc}")
            return
        self.voted.emit()
        last = self.queue.last
        if self.each and last is not None:
            item, vote = last
            self.state = "reveal"
            for card in self.cards:
                card.set_locked(True)
            self.guess_mode = False
            self.reveal_panel.show_rows(self.queue.reveal(item, vote), vote.choice, vote.guessed is not None)
            self._say("")
            self._refresh_bar()
            self._take_focus()
        else:
            self._show_item()

    def undo(self) -> None:
        """Take the last vote back and show its item again, fresh; never once the names
        behind that vote were shown."""
        if self.queue.last is None:
            self._say("Nothing to undo in this sitting")
            return
        if self.state != "item" or self.each:
            self._say("This vote was revealed: it can't be taken back")
            return
        undone = self.queue.last[1] if self.queue.last else None
        try:
            item = self.queue.undo()
        except StoreError as exc:
            self._say(f"The vote could not be taken back: {exc}")
            return
        if item is None:
            self._say("Nothing to undo in this sitting")
            return
        self._show_item()
        self._restore(undone)
        self._say("Vote taken back: change it, then Enter")

    def _restore(self, vote: Vote | None) -> None:
        """Put back what the undone vote said (its pick, guesses, scores and notes), to be
        changed: on disk they are as they were before that vote until Enter."""
        item = self.queue.current
        if vote is None or item is None:
            return
        for lane_id, rating in self.queue.undone.items():
            if lane_id in item.lanes:
                self.cards[item.lanes.index(lane_id)].set_marks(rating.score, rating.note)
        if vote.choice in item.lanes:
            self.pick(item.lanes.index(vote.choice))
        elif vote.choice == "tie":
            self.tie()
        elif vote.choice == "all_bad":
            self.all_bad()
        for lane_id in vote.guessed or []:
            if lane_id in item.lanes:
                self.toggle_guess(item.lanes.index(lane_id))
        if vote.guessed == []:
            self._guess_touched = True

    def scroll_answers(self, pages: int) -> None:
        for card in self.cards:
            bar = card.answer.verticalScrollBar()
            bar.setValue(bar.value() + pages * bar.pageStep())

    # -- keys ------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.modifiers() & _PASS_MODIFIERS or not self._key(event.key()):
            super().keyPressEvent(event)
            return
        event.accept()

    def _key(self, key: int) -> bool:
        """Act on ``key``; False if it means nothing here."""
        if Qt.Key.Key_1.value <= key <= Qt.Key.Key_8.value:
            position = key - Qt.Key.Key_1.value
            if self.guess_mode:
                self.toggle_guess(position)
            else:
                self.pick(position)
        elif key == Qt.Key.Key_T.value:
            self.tie()
        elif key == Qt.Key.Key_X.value:
            self.all_bad()
        elif key == Qt.Key.Key_G.value:
            self.toggle_guess_mode()
        elif key in _ENTER_KEYS:
            self.commit()
        elif key == Qt.Key.Key_U.value:
            self.undo()
        elif key == Qt.Key.Key_PageDown.value:
            self.scroll_answers(1)
        elif key == Qt.Key.Key_PageUp.value:
            self.scroll_answers(-1)
        else:
            return False
        return True


class RateWindow(QMainWindow):
    """A window of its own for rating a study's comparisons."""

    def __init__(
        self, queue: RatingQueue, study_name: str, parent: QWidget | None = None, rater_name: str = ""
    ) -> None:
        super().__init__(parent)
        # The rater by name (their id is never shown).
        self.setWindowTitle(f"chatlab — rate: {study_name}" + (f" · as {rater_name}" if rater_name else ""))
        self.view = RateView(queue)
        self.setCentralWidget(self.view)
        width, height = DEFAULT_SIZE
        screen = self.screen().availableGeometry()
        self.resize(min(width, screen.width()), min(height, screen.height()))
        self.small_screen = screen.width() < 1500 or screen.height() < 950
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)
        close_keys(self)


def ask_rater(parent: QWidget | None = None, suggested: str = "") -> str | None:
    """The first time someone rates: the name their votes are shown under (their rater
    id is made with it and kept in config.toml; Settings changes the name)."""
    from PySide6.QtWidgets import QInputDialog

    from chatlab.core.settings.config import clean_name
    from chatlab.core.settings.raters import os_user

    name, ok = QInputDialog.getText(
        parent,
        "Your name as a rater",
        "Your votes and ratings are shown under this name, so several people can rate\n"
        "the same study and their votes can be merged. Settings can change it later.",
        text=suggested or os_user(),
    )
    name = clean_name(name)[:80]
    if not ok or not name:
        return None
    return name


def queue_rater(store: Store, rater: Rater | str | None, parent: QWidget | None = None) -> Rater | None:
    """Who rates in a queue: ``rater`` when known, else this installation's rater (the
    first time, after asking for a name; None if the person cancels)."""
    from PySide6.QtWidgets import QMessageBox

    from chatlab.core.settings.config import ConfigError, load_config
    from chatlab.core.settings.raters import installation

    if isinstance(rater, str):
        return Rater(rater, rater) if rater else queue_rater(store, None, parent)
    if rater is not None:
        return rater
    name = None
    try:
        config = load_config()
        if not config.rater_id:
            name = ask_rater(parent, config.rater or "")
            if name is None:
                return None
        return installation(store.claim_rater, name=name)
    except (ConfigError, OSError, sqlite3.Error) as exc:
        QMessageBox.warning(parent, "chatlab", f"There is no rater id to vote under: {exc}")
        return None


def open_queue(
    store: Store, info: StudyInfo | None, rater: Rater | str | None, parent: QWidget | None = None
) -> RateWindow | None:
    """Open the blind queue of ``info`` for ``rater`` (this installation's rater when
    None, made on first need); with no study, the queue of the turns marked "to rate"."""
    from PySide6.QtWidgets import QMessageBox

    found = queue_rater(store, rater, parent)
    if found is None:
        return None
    if parent is not None and hasattr(parent, "lab") and not parent.lab.known_rater():
        parent.lab.rater, parent.lab.rater_name = found.id, found.name
    rater = found.id
    if info is None:
        queue = RatingQueue(store.marked_turns([]), rater, sink=store, sighted=store.sighted_turns(rater))
        title = "turns marked to rate"
    else:
        queue = RatingQueue(
            store.study_sessions(info.id, []),
            rater,
            seed=info.seed,
            repeats=info.repeats,
            reveal=info.reveal,
            sink=store,
            complete=info.left == 0,
            sighted=store.sighted_turns(rater),
        )
        title = info.name
    if queue.total == 0:
        QMessageBox.information(
            parent,
            "chatlab",
            "Nothing to rate yet: no comparison has all its answers."
            if info is not None
            else "No turn is marked to rate: use Rate later under a turn's answers.",
        )
        return None
    window = RateWindow(queue, title, rater_name=found.name)
    if window.small_screen:
        window.showMaximized()  # a laptop screen: every pixel goes to the answers
    else:
        window.show()
    window.raise_()
    window.activateWindow()
    return window
