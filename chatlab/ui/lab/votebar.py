"""The vote bar: which answer is best, and (blind) which answers reasoned.

Buttons carry the names the lane headers show ("Model A" while masked) in the shown
order, so Alt+1…8 vote for the lane in that position, Alt+T for a tie and Alt+X for all
bad. The reasoning guess is a multi-select (several lanes may reason, or none), made
before the vote and sent with it; in a session that shows reasoning it asks which were
trained to reason (the reasoning is on screen). Failed lanes get no button: there is
nothing to judge.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from chatlab.core.lab.controller import Lab

TIE_KEY = "Alt+T"
ALL_BAD_KEY = "Alt+X"


class VoteBar(QFrame):
    voted = Signal(str, object)  # choice, guessed lane ids (list) or None
    rateLater = Signal()  # put this turn into the blind rating queue instead

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vote")
        self.setProperty("role", "votebar")
        self.buttons: dict[str, QPushButton] = {}
        self.guesses: dict[str, QPushButton] = {}
        self._order: list[str] = []
        self.none_guess = QPushButton()  # replaced in show_for while masked
        self.hint = QLabel()
        self._armed = ""  # a choice selected by key, voted on the second press
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 6, 10, 6)
        outer.setSpacing(4)
        # Rows scroll sideways when 8 lanes don't fit, rather than widening the window.
        self.vote_row, self._votes = self._row(outer)
        self.guess_row, self._guess = self._row(outer)
        self.hide()

    @staticmethod
    def _row(outer: QVBoxLayout) -> tuple[QScrollArea, QHBoxLayout]:
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        inner = QWidget()
        row = QHBoxLayout(inner)
        row.setContentsMargins(0, 0, 0, 0)
        area.setWidget(inner)
        outer.addWidget(area)
        return area, row

    @staticmethod
    def _clear(row: QHBoxLayout) -> None:
        while row.count():
            item = row.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]

    def show_for(self, lab: Lab) -> None:
        """Offer the vote on the lab's last turn (hidden when there is nothing to judge)."""
        turn = lab.last_turn
        choices = lab.vote_choices()
        self._clear(self._votes)
        self._clear(self._guess)
        self.buttons.clear()
        self.guesses.clear()
        blind_voted = lab.session.blind and turn is not None and turn.vote is not None
        # A blind vote records what was seen; it is not re-cast once the names are shown.
        if turn is None or not choices or blind_voted or (len(lab.session.lanes) < 2 and not lab.masked):
            self.hide()
            return
        masked = lab.masked
        self._order = [choice for choice, _ in choices]
        title = QLabel("Which answer is best?")
        title.setProperty("role", "title")
        self._votes.addWidget(title)
        current = turn.vote.choice if turn.vote else None
        entries = [(c, n, f"Alt+{i + 1}") for i, (c, n) in enumerate(choices) if i < 8]
        if len(choices) > 1:  # a tie needs two answers
            entries.append(("tie", "Tie", TIE_KEY))
        entries.append(("all_bad", "All bad", ALL_BAD_KEY))
        for choice, name, key in entries:
            button = QPushButton(name)
            button.setObjectName(f"vote-{choice}")
            button.setCheckable(True)
            button.setChecked(choice == current)
            button.setToolTip(f"Vote: {name} ({key})")
            button.clicked.connect(functools.partial(self._vote, choice))
            self._votes.addWidget(button)
            self.buttons[choice] = button
        self._votes.addStretch(1)
        self.guess_row.setVisible(masked)
        if masked:
            # Show reasoning: every pane shows its reasoning (or the same neutral line), so
            # the guess is about the thinking: which came from a model trained to reason?
            trained = lab.session.show_reasoning
            question = "Which of these was trained to reason?" if trained else "Which of these reasoned?"
            label = QLabel(f"{question} (optional, pick any)")
            label.setProperty("role", "muted")
            self._guess.addWidget(label)
            for choice, name in choices:
                box = QPushButton(name)
                box.setObjectName(f"guess-{choice}")
                box.setCheckable(True)
                box.setToolTip(
                    f"I think {name} is a model trained to reason, not one prompted to think"
                    if trained
                    else f"I think {name} reasoned before answering"
                )
                box.toggled.connect(functools.partial(self._ticked, choice))
                self._guess.addWidget(box)
                self.guesses[choice] = box
            self.none_guess = QPushButton("None of them")
            self.none_guess.setObjectName("guess-none")
            self.none_guess.setCheckable(True)
            self.none_guess.setToolTip(
                "I think none of these was trained to reason" if trained else "I think none of these reasoned"
            )
            self.none_guess.toggled.connect(functools.partial(self._ticked, ""))
            self._guess.addWidget(self.none_guess)
            self._guess.addStretch(1)
        self.hint = QLabel("Alt+1…, Alt+T, Alt+X: press twice")
        self.hint.setToolTip(
            "Alt+1… votes for the answer in that place, Alt+T a tie, Alt+X all bad; "
            "the first press selects, the second votes"
        )
        self.hint.setProperty("role", "muted")
        self._votes.insertWidget(self._votes.count() - 1, self.hint)
        if turn.vote is None:
            self.later = QPushButton("Marked to rate later" if turn.to_rate else "Rate later")
            self.later.setObjectName("rate-later")
            self.later.setCheckable(True)
            self.later.setChecked(turn.to_rate)
            self.later.setToolTip(
                "Judge this turn later, blind, in the rating queue with others (chatlab rate --marked)"
            )
            self.later.clicked.connect(self.rateLater)
            self._votes.addWidget(self.later)
        self._armed = ""
        self.show()
        self._fit()
        QTimer.singleShot(0, self, self._fit)  # again once the style has polished the buttons

    def _fit(self) -> None:
        """Rows as tall as their buttons (plus room for a sideways scrollbar); the bar as
        tall as its rows, so the lanes above can never squeeze it."""
        for area in (self.vote_row, self.guess_row):
            inner = area.widget()
            if inner is None:
                continue
            for child in inner.findChildren(QWidget):
                child.ensurePolished()
            bar = area.horizontalScrollBar().sizeHint().height()
            area.setFixedHeight(inner.sizeHint().height() + bar)
        self.setFixedHeight(self.sizeHint().height())

    def _ticked(self, choice: str, checked: bool) -> None:
        """ "None of them" and a lane exclude each other."""
        if not checked:
            return
        if choice:
            self.none_guess.setChecked(False)
        else:
            for box in self.guesses.values():
                box.setChecked(False)

    def guessed(self) -> list[str] | None:
        """The lanes ticked as reasoners ([] for "none of them"); None when the user made
        no guess at all."""
        if not self.guesses:
            return None
        ticked = [choice for choice, box in self.guesses.items() if box.isChecked()]
        if not ticked and self.none_guess.isChecked():
            return []
        return ticked or None

    def _vote(self, choice: str) -> None:
        self.voted.emit(choice, self.guessed())

    def vote_position(self, position: int) -> None:
        """Alt+N: the lane shown in position N (0-based), on the second press."""
        if self.isVisible() and position < len(self._order):
            self._key_vote(self._order[position])

    def vote_special(self, choice: str) -> None:
        if self.isVisible() and choice in self.buttons:
            self._key_vote(choice)

    def _key_vote(self, choice: str) -> None:
        """A key selects; the same key again votes (one slip must not end a blind test)."""
        if self._armed == choice:
            self._armed = ""
            self._vote(choice)
            return
        self._armed = choice
        for key, button in self.buttons.items():
            button.setDown(key == choice)
        name = self.buttons[choice].text()
        self.hint.setText(f"Press the same key again to vote for {name}")
