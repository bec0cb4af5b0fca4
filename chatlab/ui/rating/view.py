"""The blind rating queue ("rate later"): one comparison at a time, keyboard first.

:class:`RateView` shows the current item of a :class:`~chatlab.core.studies.rating.RatingQueue`
from :meth:`~chatlab.core.studies.rating.RatingQueue.shown` alone (the prompt, and the answers as
Model A, B, C…, each in an :class:`~chatlab.ui.rating.card.AnswerCard`), so while an item
is unrevealed no widget can hold a lane, model, figure or reasoning it was never given. A
vote keeps the rater's own score and note from before unless the rater changes them, and
``U`` puts them back as they were; a bottom bar says how far the rater has got, what is
picked, and which keys do what. The view keeps the keyboard focus (only a note being
typed takes it): ``1``–``8`` pick the best answer, ``T`` a tie, ``X`` all bad, ``G``
switches the digits to marking "reasoned?" ("trained to reason?" where the reasoning is
on show), ``Enter``/``Space`` vote and move on, ``U``
takes the last vote back; on the end screen ``Enter`` opens the Leaderboard (or closes,
where there is none to open) and ``Esc`` or ``Ctrl+W`` closes the window. Identities
appear only as the study's reveal policy allows:
after each vote (``each``, in a :class:`~chatlab.ui.rating.panels.RevealPanel` that Enter
dismisses) or, by default, when the queue is done (the
:class:`~chatlab.ui.rating.panels.DonePanel` standings). A vote whose names were shown
can't be taken back: the re-vote would no longer be blind. A hidden repeat looks exactly
like any other item.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QScrollArea, QVBoxLayout, QWidget

from chatlab.core.data.votes import Vote
from chatlab.core.lab.blind import letter
from chatlab.core.studies.rating import RatingError, RatingQueue
from chatlab.store.db import StoreError
from chatlab.ui.rating.card import GUESS, MAX_KEYED, TRAINED_GUESS, AnswerCard
from chatlab.ui.rating.panels import DonePanel, RevealPanel
from chatlab.ui.rating.widgets import nofocus_button, plain_label

PROMPT_LINES = 3  # the prompt's height; a longer prompt scrolls
SIGHTED = "sighted: you exported it with its names, so this vote is left out of blind statistics"

_PASS_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)
_ENTER_KEYS = (Qt.Key.Key_Return.value, Qt.Key.Key_Enter.value, Qt.Key.Key_Space.value)


def key_range(count: int) -> str:
    """The digit keys for ``count`` answers: "1", "1–3"."""
    last = min(count, MAX_KEYED)
    return "1" if last <= 1 else f"1–{last}"


class RateView(QWidget):
    """The queue, one item at a time (see the module docstring).

    ``voted`` is emitted after each vote the queue took; ``finished`` once, when the Done
    panel appears (policy ``each``: after the last reveal is dismissed). A queue already
    done when the view is made shows the Done panel at once.
    """

    voted = Signal()
    finished = Signal()
    leaderboardRequested = Signal()

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
        self.guess_word = GUESS  # TRAINED_GUESS on an item that shows reasoning

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
        self.item_label = plain_label("", "muted")
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
        self.progress = plain_label("", "muted")
        self.pick_label = plain_label("", "title")
        self.mode_label = plain_label("", "badge")
        self.mode_label.setProperty("tone", "busy")
        self.mode_label.hide()
        self.message = plain_label("", "badge")
        self.message.setProperty("tone", "bad")
        self.message.hide()
        self.hint = plain_label("", "muted")
        self.hint.setWordWrap(True)
        self.tie_button = nofocus_button("Tie", "A tie: the answers are equally good (T)")
        self.tie_button.clicked.connect(self.tie)
        self.bad_button = nofocus_button("All bad", "None of the answers is good (X)")
        self.bad_button.clicked.connect(self.all_bad)
        self.undo_button = nofocus_button("Undo", "Take the last vote back and show its item again (U)")
        self.undo_button.clicked.connect(self.undo)
        self.next_button = nofocus_button(
            "Vote and next", "Record the vote and go to the next item (Enter or Space)"
        )
        self.next_button.setProperty("primary", True)
        self.next_button.clicked.connect(self.commit)
        self.close_button = nofocus_button("Close", "Close the rating window (Ctrl+W)")
        self.close_button.setProperty("primary", True)
        self.close_button.clicked.connect(self.close_window)
        self.close_button.hide()
        self.leaderboard_button = nofocus_button("Open Leaderboard", "Open the Leaderboard (Enter)")
        self.leaderboard_button.setProperty("primary", True)
        self.leaderboard_button.clicked.connect(self.leaderboardRequested)
        self.leaderboard_button.hide()
        self.leaderboard_offered = False  # RateWindow sets it where something opens it
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
        for b in (
            self.tie_button,
            self.bad_button,
            self.undo_button,
            self.next_button,
            self.leaderboard_button,
            self.close_button,
        ):
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
        self.guess_word = TRAINED_GUESS if shown.show_reasoning else GUESS
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
        self.refresh_bar()
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
        self.refresh_bar()
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

    def refresh_bar(self) -> None:
        self.progress.setText(self.queue.progress_text())
        self.pick_label.setText(self.pick_text())
        keys = key_range(len(self.cards))
        if self.guess_mode and self.state == "item":
            self.mode_label.setText(f"Guess mode: {keys} mark “{self.guess_word}” · G to pick again")
        self.mode_label.setVisible(self.guess_mode and self.state == "item")
        if self.state == "item":
            tie = " · T tie" if len(self.cards) > 1 else ""
            self.hint.setText(
                f"{keys} best{tie} · X all bad · G guess “{self.guess_word}” · Enter/Space vote · U undo"
                " · PgUp/PgDn scroll"
            )
        elif self.state == "reveal":
            self.hint.setText("Enter or Space: next item")
        elif self.offers_leaderboard:
            self.hint.setText("Every item is rated. Enter: open the Leaderboard · Esc or Ctrl+W: close")
        else:
            self.hint.setText("Enter, Esc or Ctrl+W: close")
        item = self.state == "item"
        self.tie_button.setVisible(item)
        self.tie_button.setEnabled(len(self.cards) > 1)
        self.bad_button.setVisible(item)
        self.undo_button.setVisible(item and not self.each)
        self.undo_button.setEnabled(self.queue.last is not None)
        self.next_button.setVisible(self.state != "done")
        self.close_button.setVisible(self.state == "done")
        if self.close_button.property("primary") != (not self.offers_leaderboard):
            self.close_button.setProperty("primary", not self.offers_leaderboard)
            self.close_button.style().unpolish(self.close_button)
            self.close_button.style().polish(self.close_button)
        self.close_button.setToolTip(
            f"Close the rating window ({'Esc' if self.offers_leaderboard else 'Enter, Esc'} or Ctrl+W)"
        )
        self.leaderboard_button.setVisible(self.offers_leaderboard)
        self.next_button.setText("Next item" if self.state == "reveal" else "Vote and next")
        for card in self.cards:
            card.set_picked(card.position == self.choice)

    @property
    def offers_leaderboard(self) -> bool:
        """The end screen offers the Leaderboard: the names may be shown, and the window
        that holds this view can open it."""
        return self.state == "done" and self.queue.can_reveal and self.leaderboard_offered

    def close_window(self) -> None:
        self.window().close()

    def end(self) -> None:
        """Enter on the end screen: the primary action (the Leaderboard, else Close)."""
        if self.offers_leaderboard:
            self.leaderboardRequested.emit()
        else:
            self.close_window()

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
        self.refresh_bar()
        self.scroller.ensureWidgetVisible(self.cards[position], 0, 0)

    def tie(self) -> None:
        if self.state != "item":
            return
        if len(self.cards) < 2:
            self._say("A tie needs two answers")
            return
        self.choice = "tie"
        self._say("")
        self.refresh_bar()

    def all_bad(self) -> None:
        if self.state != "item":
            return
        self.choice = "all_bad"
        self._say("")
        self.refresh_bar()

    def toggle_guess_mode(self) -> None:
        if self.state != "item":
            return
        self.guess_mode = not self.guess_mode
        self.refresh_bar()

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
            self.refresh_bar()
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
        if self.state == "done" and event.matches(QKeySequence.StandardKey.Close):
            self.close_window()  # the window's own Ctrl+W, should a shortcut not have taken it
            return
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
        elif key in _ENTER_KEYS and self.state == "done":
            self.end()
        elif key == Qt.Key.Key_Escape.value and self.state == "done":
            self.close_window()
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
