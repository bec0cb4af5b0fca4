"""The reveal card: after a blind vote, who was who, who reasoned, what it cost.

It shows the lab's :class:`~chatlab.core.lab.blind.Reveal` record as a small table (Model A,
B, C… with the model behind each, its kind: "trained reasoner", "asked to think" or
"plain", whether and how much it reasoned, cost and time to first token side by side),
says whether the reasoning guess was right, and keeps a running tally for the session.
It stays until the user moves on (Close, a new send, or another session).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from chatlab.core.data import format as fmt
from chatlab.core.data.kinds import kind_words
from chatlab.core.lab.blind import Reveal
from chatlab.ui.rating.widgets import grid_table, plain_label
from chatlab.ui.shared.icons import icon


def reasoning_words(row_reasoned: bool, tokens: int, estimated: bool, hidden: bool) -> str:
    if not row_reasoned:
        return "no"
    count = f"{'≈' if estimated else ''}{tokens:,} tokens" if tokens else "yes"
    return f"{count}, text hidden" if hidden else count


def guess_words(guessed: bool, reasoned: bool) -> str:
    """What the rater said of one lane, and whether it was so."""
    said = "you said yes" if guessed else "you said no"
    return f"{said} {'✓' if guessed == reasoned else '✗'}"


class RevealCard(QFrame):
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reveal")
        self.setProperty("role", "reveal")
        self.headline = plain_label("", "title")
        self.headline.setWordWrap(True)
        self.guess = plain_label("")
        self.guess.setWordWrap(True)
        self.tally = plain_label("", "muted")
        self.tally.setWordWrap(True)
        close = QToolButton()
        close.setIcon(icon("remove"))
        close.setToolTip("Close the reveal")
        close.setAccessibleName("Close the reveal")
        close.clicked.connect(self.dismiss)
        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.table, self.grid = grid_table()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.guess)
        layout.addWidget(self.tally)
        self.reveal: Reveal | None = None
        self.hide()

    def show_reveal(self, reveal: Reveal) -> None:
        self.reveal = reveal
        self.headline.setText(f"Revealed. You chose: {self._chosen(reveal)}")
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        heads = ["", "model", "kind", "reasoned", "cost", "first token"] + (
            ["your guess"] if reveal.guess_made else []
        )
        for col, head in enumerate(heads):
            self.grid.addWidget(plain_label(head, "muted"), 0, col)
        for r, row in enumerate(reveal.rows, start=1):
            name = row.spec if row.name == row.spec else f"{row.name} ({row.spec})"
            cells = [
                f"Model {row.letter}",
                name,
                kind_words(row.kind),
                reasoning_words(
                    row.reasoned, row.reasoning_tokens, row.reasoning_estimated, row.reasoning_hidden
                )
                # The guess asked "trained to reason?": say which reasoning was only asked for.
                + (", prompted" if reveal.about_training and row.prompted else ""),
                "failed" if row.failed else fmt.cost(row.cost, row.cost_estimated),
                fmt.seconds(row.ttft_s),
                guess_words(row.guessed, row.truth) if reveal.guess_made else "",
            ]
            for col, text in enumerate(cells):
                self.grid.addWidget(plain_label(text, "title" if col == 0 else ""), r, col)
        if not reveal.guess_made:
            self.guess.setText("You made no reasoning guess this time.")
        else:
            what = (
                "Your guess of which were trained to reason"
                if reveal.about_training
                else "Your reasoning guess"
            )
            self.guess.setText(f"{what}: {'right ✓' if reveal.guess_right else 'wrong ✗'}")
        t = reveal.tally
        wins = ", ".join(f"{name} {n}" for name, n in sorted(t.wins.items(), key=lambda kv: -kv[1]))
        tally = f"This session: {t.votes} blind vote{'s' if t.votes != 1 else ''}"
        if t.guesses:
            tally += f" · reasoning guessed right {t.guesses_right} of {t.guesses}"
        if wins:
            tally += f" · wins: {wins}"
        self.tally.setText(tally)
        self.show()

    @staticmethod
    def _chosen(reveal: Reveal) -> str:
        if reveal.choice in ("tie", "all_bad"):
            return reveal.winner.capitalize()
        row = next((x for x in reveal.rows if x.lane_id == reveal.choice), None)
        return f"Model {row.letter} — {row.name}" if row else reveal.winner

    def dismiss(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()
