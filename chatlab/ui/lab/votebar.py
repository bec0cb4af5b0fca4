"""The vote bar: which answer is best, and (blind) which answers reasoned.

Buttons carry the names the lane headers show ("Model A" while masked) in the shown
order. The mouse and the keyboard work alike: a click on an answer's button, or Alt+1…8
(Alt+T a tie, Alt+X all bad), *selects* it; **Vote**, or the same button or key again,
casts the vote, so one slip never ends a blind test. The reasoning guess is a
multi-select (several lanes may reason, or none; Alt+G then a digit, Alt+G then 0 for
none of them), made before the vote and sent with it; in a session that shows reasoning
it asks which were trained to reason (the reasoning is on screen). Failed lanes get no
button: there is nothing to judge.

After a vote the bar stays: **Undo vote** takes it back until the next send (a blind
turn's names stay shown, so a new vote on it is sighted), and in a blind session **New
blind turn** starts a fresh blind comparison with the same lanes. :meth:`VoteBar.flash`
draws the eye to the bar for a moment (a send or retry refused until the vote).
"""

from __future__ import annotations

import functools

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from chatlab.core.lab.controller import Lab
from chatlab.ui.lab.lane_header import elide_spec
from chatlab.ui.shared.flow import FlowLayout
from chatlab.ui.shared.safe import plain_tip

NAME_WIDTH = 200  # px: a vote button's name past this is cut (whole in its tooltip)
TIE_KEY = "Alt+T"
ALL_BAD_KEY = "Alt+X"
GUESS_KEY = "Alt+G"  # then a digit: the guess for the lane in that place; then 0: none of them
UNDO_KEY = "Alt+U"
FLASH_MS = 600


def hint_text(count: int) -> str:
    """The keys, in words: "Alt+1–3 picks, press again to vote · Alt+T tie · Alt+X all bad"."""
    keys = "Alt+1" if count <= 1 else f"Alt+1–{min(count, 8)}"
    tie = f" · {TIE_KEY} tie" if count > 1 else ""
    return f"{keys} picks, press again to vote{tie} · {ALL_BAD_KEY} all bad"


class VoteBar(QFrame):
    voted = Signal(str, object)  # choice, guessed lane ids (list) or None
    rateLater = Signal()  # put this turn into the blind rating queue instead
    undoRequested = Signal()  # take this rater's vote on the turn back
    newBlindTurn = Signal()  # a fresh blind session with the same lanes

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vote")
        self.setProperty("role", "votebar")
        self.setProperty("flash", False)
        self.buttons: dict[str, QPushButton] = {}
        self._names: dict[str, str] = {}  # choice → its whole name (the buttons may cut it)
        self.guesses: dict[str, QPushButton] = {}
        self._order: list[str] = []
        self.none_guess = QPushButton()  # replaced in show_for while masked
        self.hint = QLabel()  # the keys in words, on a line of its own under the buttons
        self.hint.setTextFormat(Qt.TextFormat.PlainText)  # it may name a lane
        self.hint.setObjectName("vote-hint")
        self.hint.setProperty("role", "muted")
        self.title = QLabel()  # "Which answer is best?", or the vote that stands
        self.vote_button: QPushButton | None = None
        self.undo_button: QPushButton | None = None
        self.new_blind_button: QPushButton | None = None
        self.armed = ""  # the choice selected (by a click or a key), voted on confirmation
        self._hint = ""
        self._unflash = QTimer(self)
        self._unflash.setSingleShot(True)
        self._unflash.setInterval(FLASH_MS)
        self._unflash.timeout.connect(lambda: self._set_flash(False))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 6, 10, 6)
        outer.setSpacing(4)
        # Rows wrap when 8 lanes don't fit on one line, rather than widening the window.
        self.vote_row, self._votes = self._row(outer)
        self.guess_row, self._guess = self._row(outer)
        outer.addWidget(self.hint)
        self.hide()

    @staticmethod
    def _row(outer: QVBoxLayout) -> tuple[QWidget, FlowLayout]:
        """A row of buttons that wraps to a second line when they don't fit (eight long
        names at 1280 px), rather than scrolling sideways or widening the window."""
        row = QWidget()
        flow = FlowLayout(row, spacing=6)
        outer.addWidget(row)
        return row, flow

    @staticmethod
    def _clear(row: FlowLayout) -> None:
        while row.count():
            item = row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()  # gone from view now, not when the deletion comes round
                widget.deleteLater()
        row.invalidate()

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        """A button named by ``text`` (a lane's label or model: untrusted, and perhaps
        long): cut at the provider first past ``NAME_WIDTH`` px, whole in its tooltip, and
        an "&" shown as one (never a keyboard mnemonic)."""
        button = QPushButton()
        metrics = button.fontMetrics()
        shown = elide_spec(
            text,
            NAME_WIDTH,
            metrics.horizontalAdvance,
            lambda s, w: metrics.elidedText(s, Qt.TextElideMode.ElideMiddle, w),
        )
        button.setText(shown.replace("&", "&&"))
        button.setObjectName(name)
        button.setToolTip(plain_tip(tip))
        return button

    def show_for(self, lab: Lab) -> None:
        """Offer the vote on the lab's last turn, or (voted) its undo; hidden when there
        is nothing to judge."""
        turn = lab.last_turn
        choices = lab.vote_choices()
        self._clear(self._votes)
        self._clear(self._guess)
        self.buttons.clear()
        self._names.clear()
        self.guesses.clear()
        self.vote_button = self.undo_button = self.new_blind_button = None
        self.armed = ""
        known = lab.known_rater()
        mine = turn.vote_of(known.id) if turn is not None and known is not None else None
        if turn is None or not choices or (len(lab.session.lanes) < 2 and not lab.masked and mine is None):
            self.hide()
            return
        masked = lab.masked
        self._order = [choice for choice, _ in choices]
        if lab.session.blind and mine is not None and not mine.sighted:
            # A blind vote records what was seen; it can be taken back (the names stay
            # shown, so a new one is sighted), not re-cast here.
            self._after_blind_vote(lab, lab.choice_name(mine.choice))
            return
        # A vote cast with the names showing can be changed here: the bar says it stands.
        title = QLabel(
            f"You voted: {lab.choice_name(mine.choice)} · another pick changes it"
            if mine is not None
            else "Which answer is best?"
        )
        title.setObjectName("vote-title")
        self.title = title
        title.setTextFormat(Qt.TextFormat.PlainText)  # it may name a lane
        title.setProperty("role", "title")
        self._votes.addWidget(title)
        current = mine.choice if mine is not None else None
        entries = [(c, n, f"Alt+{i + 1}") for i, (c, n) in enumerate(choices) if i < 8]
        if len(choices) > 1:  # a tie needs two answers
            entries.append(("tie", "Tie", TIE_KEY))
        entries.append(("all_bad", "All bad", ALL_BAD_KEY))
        for choice, name, key in entries:
            button = self._button(
                name, f"vote-{choice}", f"Select {name} ({key}); click again or Vote to vote"
            )
            button.setCheckable(True)
            button.setChecked(choice == current)
            button.clicked.connect(functools.partial(self._pick, choice))
            self._votes.addWidget(button)
            self.buttons[choice] = button
            self._names[choice] = name
        self.vote_button = self._button("Vote", "vote-confirm", "Vote for the selected answer")
        self.vote_button.setProperty("primary", True)
        self.vote_button.setEnabled(False)
        self.vote_button.clicked.connect(self._confirm)
        self._votes.addWidget(self.vote_button)
        self.guess_row.setVisible(masked)
        if masked:
            self._guess_row(lab, choices)
        self._hint = hint_text(len(choices))
        self.hint.setText(self._hint)
        self.hint.setToolTip(
            "Alt+1… selects the answer in that place, Alt+T a tie, Alt+X all bad; the same key "
            f"again (or a second click, or Vote) votes. {GUESS_KEY} then a digit ticks a reasoning "
            f"guess ({GUESS_KEY} then 0: none of them)."
        )
        if mine is not None:
            self._add_undo()
        if lab.session.blind and not masked:
            self._add_new_blind()
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
        self._shown()

    def _after_blind_vote(self, lab: Lab, choice_name: str) -> None:
        self.guess_row.setVisible(False)
        voted = QLabel(f"You voted: {choice_name}")
        voted.setTextFormat(Qt.TextFormat.PlainText)  # a lane's label: never markup
        voted.setObjectName("voted")
        voted.setProperty("role", "title")
        self._votes.addWidget(voted)
        self._add_undo()
        self._add_new_blind()
        self._hint = "A later turn here is sighted (names showing): New blind turn compares these lanes blind"
        self.hint.setText(self._hint)
        self.hint.setToolTip("")
        self._shown()

    def _add_undo(self) -> None:
        self.undo_button = self._button(
            "Undo vote",
            "vote-undo",
            f"Take your vote back ({UNDO_KEY}); after a reveal the names stay shown: a new vote is sighted",
        )
        self.undo_button.clicked.connect(self.undoRequested)
        self._votes.addWidget(self.undo_button)

    def _add_new_blind(self) -> None:
        self.new_blind_button = self._button(
            "New blind turn",
            "vote-new-blind",
            "A fresh blind session with these lanes, shuffled anew (the prompt stays in the editor)",
        )
        self.new_blind_button.clicked.connect(self.newBlindTurn)
        self._votes.addWidget(self.new_blind_button)

    def _guess_row(self, lab: Lab, choices: list[tuple[str, str]]) -> None:
        # Show reasoning: every pane shows its reasoning (or the same neutral line), so
        # the guess is about the thinking: which came from a model trained to reason?
        trained = lab.session.show_reasoning
        question = "Which of these was trained to reason?" if trained else "Which of these reasoned?"
        label = QLabel(f"{question} (optional, pick any · {GUESS_KEY} then 1–{min(len(choices), 8)}, 0 none)")
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

    def _shown(self) -> None:
        self.show()
        self._fit()
        QTimer.singleShot(0, self, self._fit)  # again once the style has polished the buttons

    def _fit(self) -> None:
        """The bar as tall as its rows at its width (they wrap), so the lanes above can
        never squeeze it."""
        for row in (self.vote_row, self.guess_row):
            for child in row.findChildren(QWidget):
                child.ensurePolished()
        layout = self.layout()
        width = self.width() if self.isVisible() else max(self.width(), 640)
        if layout is not None and layout.hasHeightForWidth():
            self.setFixedHeight(layout.heightForWidth(width))
        else:
            self.setFixedHeight(self.sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()  # a narrower bar may wrap its buttons onto another line

    # -- flashing ---------------------------------------------------------------------------

    def flash(self) -> None:
        """Highlight the bar for a moment (a send or retry waits for the vote)."""
        if self.isVisible():
            self._set_flash(True)
            self._unflash.start()

    def _set_flash(self, on: bool) -> None:
        self.setProperty("flash", on)
        style = self.style()
        style.unpolish(self)
        style.polish(self)

    # -- the guess ----------------------------------------------------------------------------

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

    def toggle_guess(self, position: int) -> None:
        """Alt+G then N: tick (or untick) the guess for the lane shown in place N (0-based)."""
        if self.isVisible() and position < len(self._order) and self._order[position] in self.guesses:
            self.guesses[self._order[position]].toggle()

    def guess_none(self) -> None:
        """Alt+G then 0: "none of them"."""
        if self.isVisible() and self.guesses:
            self.none_guess.toggle()

    # -- selecting and voting -------------------------------------------------------------------

    def vote_position(self, position: int) -> None:
        """Alt+N: select the lane shown in position N (0-based); the same key again votes."""
        if self.isVisible() and position < len(self._order) and self._order[position] in self.buttons:
            self._pick(self._order[position])

    def vote_special(self, choice: str) -> None:
        if self.isVisible() and choice in self.buttons:
            self._pick(choice)

    def undo(self) -> None:
        """Alt+U: Undo vote, when the bar offers it."""
        if self.isVisible() and self.undo_button is not None:
            self.undo_button.click()

    def _pick(self, choice: str) -> None:
        """A click or a key selects; the same again votes (one slip must not end a blind test)."""
        if self.armed == choice:
            self._confirm()
            return
        self.armed = choice
        for key, button in self.buttons.items():
            button.setChecked(key == choice)
        if self.vote_button is not None:
            self.vote_button.setEnabled(True)
        name = self._names.get(choice, choice)
        self.hint.setText(f"{name} selected: again, or Vote, to vote")

    def _confirm(self) -> None:
        choice = self.armed
        if not choice:
            return
        self.armed = ""
        if self.vote_button is not None:
            self.vote_button.setEnabled(False)
        self.hint.setText(self._hint)
        self.voted.emit(choice, self.guessed())
