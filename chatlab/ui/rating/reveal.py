"""The reveal card: after a blind vote, who was who, who reasoned, what it cost.

It shows the lab's :class:`~chatlab.core.lab.blind.Reveal` record compactly, so the
lanes keep their room: a table with one row per lane (Model A, B, C… with the model
behind each, its kind: "trained reasoner", "asked to think" or "plain", whether and how
much it reasoned, cost and time to first token, in one unit down the column, and the
rater's guess), and beside it what was chosen, whether the reasoning guess was right and
the session's running tally. The fold button (▾) folds it to one line that still says
what was chosen and how the guess did; the fold holds for the next reveal. It stays
until the user moves on (Close, a new send, or another session). A model's name is one
line of plain text (``safe.name_line``), elided in the table and cut beside it, so no
name can widen the window.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from chatlab.core.data import format as fmt
from chatlab.core.data.kinds import kind_words
from chatlab.core.lab.blind import Reveal
from chatlab.ui.rating.widgets import grid_table, plain_label
from chatlab.ui.shared.flow import ElidedLabel
from chatlab.ui.shared.icons import icon
from chatlab.ui.shared.safe import name_line

SUMMARY_WIDTH = 260  # the chosen / guess / tally column beside the table
MODEL_MIN_WIDTH = 90  # a model's name is cut (whole in its tooltip) before the card may widen the window
NAME_PX = 360  # the widest a model's name is drawn in the table (the rest elided, whole in its tooltip)
NAME_CHARS = 60  # of a model's name in the sentences beside the table


def reasoning_words(row_reasoned: bool, tokens: int, estimated: bool, hidden: bool) -> str:
    if not row_reasoned:
        return "no"
    count = f"{'≈' if estimated else ''}{tokens:,} tokens" if tokens else "yes"
    return f"{count}, text hidden" if hidden else count


def guess_words(guessed: bool, reasoned: bool) -> str:
    """What the rater said of one lane, and whether it was so."""
    said = "you said yes" if guessed else "you said no"
    return f"{said} {'✓' if guessed == reasoned else '✗'}"


class ModelCell(ElidedLabel):
    """A model's name in the table: as wide as its text where there is room, cut with "…"
    (whole in its tooltip) where there isn't, so a long name never widens the window."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        wide = min(self.fontMetrics().horizontalAdvance(self.text()) + 2, NAME_PX)
        return QSize(wide, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(min(MODEL_MIN_WIDTH, self.sizeHint().width()), super().minimumSizeHint().height())


class RevealCard(QFrame):
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reveal")
        self.setProperty("role", "reveal")
        # Never wider than the room it is given: its cells cut and wrap instead.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.fold = QToolButton()
        self.fold.setCheckable(True)
        self.fold.setAutoRaise(True)
        self.fold.setArrowType(Qt.ArrowType.DownArrow)
        self.fold.setToolTip("Fold the reveal to one line")
        self.fold.setAccessibleName("Fold the reveal")
        self.fold.toggled.connect(self.set_folded)
        self.fold.clicked.connect(lambda checked: setattr(self, "_unfolded_by_hand", not checked))
        self._unfolded_by_hand = False  # a person's own unfolding wins over a cramped window
        self.line = ElidedLabel()  # the one line of the folded card
        self.line.setAccessibleName("The reveal, folded")
        self.headline = plain_label("")
        self.headline.setWordWrap(True)
        bold = self.headline.font()
        bold.setBold(True)
        self.headline.setFont(bold)
        self.guess = plain_label("")
        self.guess.setWordWrap(True)
        self.tally = plain_label("", "muted")
        self.tally.setWordWrap(True)
        close = QToolButton()
        close.setIcon(icon("remove"))
        close.setAutoRaise(True)
        close.setToolTip("Close the reveal")
        close.setAccessibleName("Close the reveal")
        close.clicked.connect(self.dismiss)
        self.table, self.grid = grid_table(14, 0)
        self.summary = QWidget()
        side = QVBoxLayout(self.summary)
        side.setContentsMargins(0, 0, 0, 0)
        side.setSpacing(2)
        for label in (self.headline, self.guess, self.tally):
            side.addWidget(label)
        side.addStretch(1)
        self.summary.setMinimumWidth(SUMMARY_WIDTH)
        # The table (who was who) takes the room it wants first; the sentences wrap in the rest.
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.body = QWidget()
        body = QHBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(18)
        body.addWidget(self.table, 0, Qt.AlignmentFlag.AlignTop)
        body.addWidget(self.summary, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(4)
        top = Qt.AlignmentFlag.AlignTop
        layout.addWidget(self.fold, 0, top)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.body, 1)
        layout.addWidget(close, 0, top)
        self.line.hide()
        self.reveal: Reveal | None = None
        self.hide()

    @property
    def folded(self) -> bool:
        return self.fold.isChecked()

    def set_folded(self, folded: bool) -> None:
        """Fold to one line (or unfold to the table); the next reveal keeps the choice."""
        if self.fold.isChecked() != folded:
            self.fold.setChecked(folded)  # comes back here through toggled
            return
        self.fold.setArrowType(Qt.ArrowType.RightArrow if folded else Qt.ArrowType.DownArrow)
        what = "Unfold the reveal: one row per lane" if folded else "Fold the reveal to one line"
        self.fold.setToolTip(what)
        self.fold.setAccessibleName(what)
        self.body.setVisible(not folded)
        self.line.setVisible(folded)

    def show_reveal(self, reveal: Reveal, cramped: bool = False) -> None:
        """Show ``reveal``; ``cramped`` (lanes in two rows) folds it to its one line,
        unless the person unfolded it themselves then."""
        self.reveal = reveal
        if cramped and not self.folded and not self._unfolded_by_hand:
            self.set_folded(True)
        chosen = self._chosen(reveal)
        self.headline.setText(f"Revealed. You chose: {chosen}")
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        heads = ["", "model", "kind", "reasoned", "cost", "first token"] + (
            ["your guess"] if reveal.guess_made else []
        )
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        numbers = (heads.index("cost"), heads.index("first token"))
        for col, head in enumerate(heads):
            label = plain_label(head, "muted")
            if col in numbers:
                label.setAlignment(right)
            self.grid.addWidget(label, 0, col)
        times = fmt.seconds_column([row.ttft_s for row in reveal.rows])
        for r, (row, ttft) in enumerate(zip(reveal.rows, times, strict=True), start=1):
            cells = [
                f"Model {row.letter}",
                fmt.label_and_id(row.name, row.spec),
                kind_words(row.kind),
                reasoning_words(
                    row.reasoned, row.reasoning_tokens, row.reasoning_estimated, row.reasoning_hidden
                )
                # The guess asked "trained to reason?": say which reasoning was only asked for.
                + (", prompted" if reveal.about_training and row.prompted else ""),
                "failed" if row.failed else fmt.cost(row.cost, row.cost_estimated),
                ttft,
                guess_words(row.guessed, row.truth) if reveal.guess_made else "",
            ]
            for col, text in enumerate(cells):
                cell: QLabel = ModelCell(name_line(text)) if col == 1 else plain_label(text)
                if col == 0:
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                if col in numbers:
                    cell.setAlignment(right)
                self.grid.addWidget(cell, r, col)
        if not reveal.guess_made:
            self.guess.setText("You made no reasoning guess this time.")
            short_guess = "no reasoning guess"
        else:
            what = (
                "Your guess of which were trained to reason"
                if reveal.about_training
                else "Your reasoning guess"
            )
            verdict = "right ✓" if reveal.guess_right else "wrong ✗"
            self.guess.setText(f"{what}: {verdict}")
            short_guess = f"reasoning guess {verdict}"
        t = reveal.tally
        wins = ", ".join(
            f"{name_line(name, NAME_CHARS)} {n}" for name, n in sorted(t.wins.items(), key=lambda kv: -kv[1])
        )
        session = f"{t.votes} blind vote{'s' if t.votes != 1 else ''}"
        tally = f"This session: {session}"
        if t.guesses:
            tally += f" · reasoning guessed right {t.guesses_right} of {t.guesses}"
            session += f", guesses {t.guesses_right} of {t.guesses} right"
        if wins:
            tally += f" · wins: {wins}"
        self.tally.setText(tally)
        self.line.setText(f"Revealed: you chose {chosen} · {short_guess} · this session: {session}")
        self.show()

    @staticmethod
    def _chosen(reveal: Reveal) -> str:
        if reveal.choice in ("tie", "all_bad"):
            return reveal.winner.capitalize()
        row = next((x for x in reveal.rows if x.lane_id == reveal.choice), None)
        return (
            f"Model {row.letter} — {name_line(row.name, NAME_CHARS)}"
            if row
            else name_line(reveal.winner, NAME_CHARS)
        )

    def dismiss(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()
