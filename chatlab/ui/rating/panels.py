"""The panels where the blind rating queue shows names, once its reveal policy allows.

:class:`RevealPanel` appears under the locked cards after each vote (policy ``each``):
who each letter was and its kind (trained reasoner, asked to think, plain), whether it
reasoned, and how the rater's pick and guesses did; it forgets every name when cleared.
:class:`DonePanel` ends the queue: each contender's record in this rater's votes (the
standings, with how many of the rater's reasoning guesses were right, in plain counts),
or, while the names can't be shown yet, why not.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from chatlab.core.data.kinds import kind_words
from chatlab.core.studies.rating import GuessRecord, RatingQueue, RevealRow
from chatlab.ui.rating.reveal import NAME_CHARS, ModelCell, guess_words
from chatlab.ui.rating.widgets import grid_table, plain_label
from chatlab.ui.shared.safe import name_line, plain_tip


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


def guess_sentence(record: GuessRecord | None) -> str:
    """This rater's reasoning guesses over the queue, as plain counts (a handful of votes
    makes no percentage worth printing); "" before the names may be shown."""
    if record is None:
        return ""
    if not record.items:
        return "You made no reasoning guess."
    items = f"{record.items} item{'s' if record.items != 1 else ''}"
    return (
        f"Your reasoning guesses: {record.right} of {items} entirely right (every answer called "
        "right). The “your guess right” column counts your calls on each model."
    )


class RevealPanel(QFrame):
    """After a vote (policy ``each``): who each letter was, and how the rater did."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rate-reveal")
        self.setProperty("role", "reveal")
        self.headline = plain_label("", "title")
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
            said = f"Model {chosen.letter} — {name_line(chosen.name, NAME_CHARS)}"
        self.headline.setText(f"Revealed. You chose {said}")
        keyed = any(row.grade is not None for row in rows)
        heads = [
            "",
            "model",
            "kind",
            "reasoned",
            "your pick",
            "your guess",
            *(["answer key"] if keyed else []),
        ]
        for col, head in enumerate(heads):
            self.grid.addWidget(plain_label(head, "muted"), 0, col)
        for r, row in enumerate(rows, start=1):
            cells = [
                f"Model {row.letter}",
                row.name,
                kind_words(row.kind),
                "yes" if row.reasoned else "no",
                "best ✓" if row.chosen else "",
                guess_words(row.guessed, row.truth) if guess_made else "no guess",
            ]
            if keyed:
                cells.append("" if row.grade is None else "✓ right" if row.grade.correct else "✗ wrong")
            for col, text in enumerate(cells):
                # A name (from someone's suite: untrusted, perhaps long) is one line, cut.
                label = (
                    ModelCell(name_line(text)) if col == 1 else plain_label(text, "title" if col == 0 else "")
                )
                if col == 6 and row.grade is not None:
                    label.setToolTip(plain_tip(f"answer key: {row.grade.detail}"))
                self.grid.addWidget(label, r, col)
        self.show()

    def clear(self) -> None:
        """Hide, and forget every name (a hidden label would still hold one)."""
        self.hide()
        self.headline.setText("")
        _clear_grid(self.grid)


class DonePanel(QFrame):
    """The queue is done: each contender's record in this rater's votes."""

    HEADS = ("model", "shown", "wins", "ties", "you guessed reasoned", "reasoned", "your guess right")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rate-done")
        self.setProperty("role", "reveal")
        self.headline = plain_label("", "title")
        self.sub = plain_label("", "muted")
        self.sub.setWordWrap(True)
        self.table, self.grid = grid_table(24, 4)
        self.guesses = plain_label("")
        self.guesses.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.headline)
        layout.addWidget(self.sub)
        layout.addLayout(_compact(self.table))
        layout.addWidget(self.guesses)
        layout.addStretch(1)
        self.hide()

    def show_standings(self, queue: RatingQueue) -> None:
        _clear_grid(self.grid)
        self.headline.setText(f"Done — {queue.rated} of {queue.total} rated")
        self.sub.setText("Who was who, from your votes (a tie counts for every answer shown):")
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for col, head in enumerate(self.HEADS):
            label = plain_label(head, "muted")
            if col:
                label.setAlignment(right)
            self.grid.addWidget(label, 0, col)
        for r, s in enumerate(queue.standings(), start=1):
            right_of = f"{s.guesses_right} of {s.guesses}" if s.guesses else "no guess"
            cells = [s.name, s.shown, s.wins, s.ties, s.guessed_reasoned, s.reasoned, right_of]
            for col, value in enumerate(cells):
                if col == 0:  # the name: one line, cut (whole in its tooltip)
                    label = ModelCell(name_line(str(value)))
                    label.setProperty("role", "title")
                else:
                    label = plain_label(str(value))
                if col:
                    label.setAlignment(right)
                self.grid.addWidget(label, r, col)
        self.guesses.setText(guess_sentence(queue.guess_record()))
        self.guesses.setVisible(bool(self.guesses.text()))
        self.show()

    def show_waiting(self, queue: RatingQueue) -> None:
        """Rated everything there is to rate, but the names can't be shown (yet)."""
        _clear_grid(self.grid)
        self.guesses.setText("")
        self.guesses.hide()
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
