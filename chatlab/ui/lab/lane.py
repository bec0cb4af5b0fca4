"""One lane as a card: header and parameter chips, reasoning, answer, status badges.

The card is a view over the lab's responses for its lane. ``flush()`` is called by the
window's frame timer, never per token: it appends only the parts that arrived since the
last flush (the response's part lists only grow), refreshes the badges, and when the
response has finished hands itself to the window for one final Markdown render. The
reasoning pane stays hidden until reasoning arrives, then takes a third of the card and
folds away when the answer starts; with several turns it is named for its turn ("Turn 3
reasoning") and opens at that turn's start, as the answer opens at its latest turn's
divider. A card with nothing to show yet reads "thinking… 0:12" (``update_wait``;
masked, the progress every card shares). The
header is :mod:`.lane_header`. While a blind turn is masked the card shows only
its letter: no names, chips, figures, reasoning, or buttons whose state would tell. A
session that shows reasoning shows it masked too, alike in every lane: "Reasoning",
open, no count, its text or "reasoning not shown" (:func:`~chatlab.core.lab.blind.shown_reasoning`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data import format as fmt
from chatlab.core.data.model import Lane, Response, Session, Status, Turn
from chatlab.core.data.votes import Rating
from chatlab.core.lab.blind import shown_reasoning
from chatlab.core.lab.controller import Lab
from chatlab.core.lab.figures import Figures
from chatlab.ui.lab.badges import StatusBadges, badge_texts, reasoning_words, wait_words
from chatlab.ui.lab.lane_header import LaneHeader, tool
from chatlab.ui.shared.icons import icon
from chatlab.ui.shared.text import AnswerView, ReasoningView

MIN_LANE_WIDTH = 280
STATUS_EVERY_S = 0.25  # how often a streaming lane's counters are redrawn


class LaneWidget(QFrame):
    stopRequested = Signal(str)
    retryRequested = Signal(str)
    removeRequested = Signal(str)
    moveRequested = Signal(str, int)
    editRequested = Signal(str)
    rated = Signal(str, object)  # lane id, Rating
    said = Signal(str)  # a short confirmation for the status bar ("Copied")

    def __init__(self, lab: Lab, lane: Lane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lab = lab
        self.lane = lane
        self.blind_letter: str | None = None  # "A", "B"… while masked in blind mode
        self.setProperty("card", True)
        self.setMinimumWidth(MIN_LANE_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._init_header()
        self._init_panes()
        self._init_footer()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.head)
        layout.addWidget(self.reasoning_toggle)
        layout.addWidget(self.wait_note)
        layout.addWidget(self.panes, 1)
        layout.addWidget(self.error_box)
        layout.addWidget(self.status)
        layout.addWidget(self.rating_box)

        self.response: Response | None = None
        self._revisions = 0  # resp.revisions when the panes were last rebuilt
        self.next_estimate = ""
        self._r_i = 0
        self._t_i = 0
        self._status_at = 0.0  # when the counters were last drawn
        self._status_phase: tuple[object, ...] = ()  # the lane's state when they were
        self._answer_started = False
        self._finalized = True
        self._user_toggled = False
        self._answer_revealed = False
        self._earlier_reasoning = False  # reasoning text from earlier turns (a reopened session)
        self._loaded = False  # the panes were filled by load(), not by streaming
        self._turn_number = 0  # the number of the turn the card shows last
        self.wait_since: float | None = None  # the run's start, for "thinking… 0:12"
        self.update_header(0)
        self._show_reasoning_pane()
        self._set_idle()

    def _init_header(self) -> None:
        lane_id = self.lane.id
        self.head = head = LaneHeader(
            stop=lambda: self.stopRequested.emit(lane_id),
            retry=self._retry,
            copy=lambda: self._copy(self._current_text()),
            edit=lambda: self.editRequested.emit(lane_id),
            move=lambda step: self.moveRequested.emit(lane_id, step),
            copy_reasoning=lambda: self._copy(self._current_reasoning()),
            remove=lambda: self.removeRequested.emit(lane_id),
        )
        self.title, self.spec, self.chip_row = head.title, head.spec, head.chip_row
        self.stop_button, self.retry_button = head.stop_button, head.retry_button
        self.copy_answer, self.params_button, self.more_button = (
            head.copy_answer,
            head.params_button,
            head.more_button,
        )
        self.left_action, self.right_action = head.left_action, head.right_action
        self.copy_reasoning, self.remove_action = head.copy_reasoning, head.remove_action

    def _init_panes(self) -> None:
        # What a card shows while it has nothing to show yet: "thinking… 0:12" (a hidden
        # reasoner is otherwise blank for minutes), or, masked, the wait every card shares.
        self.wait_note = QLabel()
        self.wait_note.setObjectName("wait")
        self.wait_note.setProperty("role", "muted")
        self.wait_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.wait_note.setTextFormat(Qt.TextFormat.PlainText)
        self.wait_note.hide()
        self.reasoning_toggle = QToolButton()
        self.reasoning_toggle.setCheckable(True)
        self._open_wanted = True  # whether the reasoning pane should be open once there is text
        self.compact = False  # in a grid of two rows: a reopened turn's reasoning starts folded
        self.reasoning_toggle.setChecked(True)
        self.reasoning_toggle.setIcon(icon("reasoning"))
        self.reasoning_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasoning_toggle.setToolTip("Show or hide this lane's reasoning (Ctrl+Shift+R)")
        self.reasoning_toggle.toggled.connect(self._set_reasoning_visible)
        self.reasoning_toggle.clicked.connect(self._user_toggle)
        self.reasoning = ReasoningView()
        self.reasoning.setObjectName("reasoning")
        self.answer = AnswerView()
        self.answer.setObjectName("answer")
        self.panes = QSplitter(Qt.Orientation.Vertical)
        self.panes.addWidget(self.reasoning)
        self.panes.addWidget(self.answer)
        self.panes.setStretchFactor(0, 1)
        self.panes.setStretchFactor(1, 2)
        self.panes.setChildrenCollapsible(False)

    def _init_footer(self) -> None:
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_retry = tool("retry", "Send this lane's prompt again (Ctrl+R)", self._retry, "Retry")
        self.error_box = QFrame()
        self.error_box.setProperty("role", "error")
        row = QHBoxLayout(self.error_box)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.error, 1)
        row.addWidget(self.error_retry, 0, Qt.AlignmentFlag.AlignTop)
        self.error_box.hide()
        self.status = StatusBadges()
        self.status.setObjectName("status")

        self.score = QComboBox()
        self.score.addItems(["Score…", "1 · poor", "2 · weak", "3 · fair", "4 · good", "5 · excellent"])
        self.score.setToolTip("Your score for this answer (1 = poor, 5 = excellent)")
        self.note = QLineEdit()
        self.note.setPlaceholderText("note")
        self.score.activated.connect(lambda _i: self._rated())
        self.note.editingFinished.connect(self._rated)
        self.rating_box = QWidget()
        rating_row = QHBoxLayout(self.rating_box)
        rating_row.setContentsMargins(0, 0, 0, 0)
        rating_row.addWidget(self.score)
        rating_row.addWidget(self.note, 1)
        self.rating_box.hide()

    def _retry(self) -> None:
        self.retryRequested.emit(self.lane.id)

    # -- header ------------------------------------------------------------------------

    def update_header(self, index: int, count: int | None = None) -> None:
        if self.blind_letter is not None:
            # Masked: the letter only; nothing else here may tell which model this is.
            self.head.show_masked(self.blind_letter)
            self.setToolTip("")
            self.setAccessibleName(f"Model {self.blind_letter}")
            return
        name = self.lab.name_of(self.lane.id)
        self.head.show_lane(self.lane, index, count, name)
        self.setAccessibleName(name)

    def set_editable(self, editable: bool) -> None:
        self.head.set_editable(editable)

    def set_focused(self, focused: bool) -> None:
        if self.property("focused") != focused:
            self.setProperty("focused", focused)
            self.style().unpolish(self)
            self.style().polish(self)

    # -- blind mode ----------------------------------------------------------------------

    def set_blind(self, letter: str | None) -> None:
        """Mask (``letter`` = "A", "B"…) or reveal everything that identifies the model."""
        if letter is not None and self.blind_letter is None:
            # Earlier turns were revealed: they would tell which model this is.
            self.answer.clear()
            self.reasoning.clear()
        self.blind_letter = letter
        masked = letter is not None
        for w in (
            self.params_button,
            self.more_button,
            self.spec,
            # Stop and Retry too: a lane whose Stop greys out first has visibly finished first.
            self.stop_button,
            self.retry_button,
        ):
            w.setVisible(not masked)
        self._answer_revealed = False
        self._show_reasoning_pane()
        self._show_run_buttons()
        self.update_header(0)
        self.update_status()

    # -- rating --------------------------------------------------------------------------

    def _rated(self) -> None:
        resp = self.response
        if resp is None or not resp.status.finished:
            return
        score = self.score.currentIndex() or None
        note = self.note.text().strip()
        current = resp.rating
        if current is not None and (current.score, current.note) == (score, note):
            return
        if current is None and score is None and not note:
            return
        self.rated.emit(self.lane.id, Rating(score=score, note=note))

    def show_rating(self, rating: Rating | None) -> None:
        self.score.setCurrentIndex((rating.score or 0) if rating else 0)
        self.note.setText(rating.note if rating else "")

    # -- reasoning pane ------------------------------------------------------------------

    def _has_reasoning(self) -> bool:
        """Reasoning text to show (now, or in this lane's earlier turns)."""
        resp = self.response
        return bool(resp is not None and resp.reasoning_chars) or self._earlier_reasoning

    def _alike(self) -> bool:
        """Masked in a session that shows reasoning: every lane's pane looks the same."""
        return self.blind_letter is not None and self.lab.session.show_reasoning

    def _show_reasoning_pane(self) -> None:
        """The toggle exists once the model reasoned (or said it did), the pane only when
        there is reasoning text to read; while masked, never (or in every lane alike).
        The pane opens at a third of the card."""
        resp = self.response
        masked = self.blind_letter is not None
        text = self._alike() or (not masked and self._has_reasoning())
        hidden_only = not masked and resp is not None and resp.hidden_reasoning and not text
        self.reasoning_toggle.setVisible(text or hidden_only)
        was_checkable = self.reasoning_toggle.isCheckable()
        self.reasoning_toggle.setCheckable(text)  # Qt unchecks a button made uncheckable
        if text and not was_checkable:
            self.reasoning_toggle.setChecked(self._open_wanted)
        shown = text and self.reasoning_toggle.isChecked()
        if shown and not self.reasoning.isVisible():
            total = max(self.panes.height(), 300)
            self.panes.setSizes([total // 3, total - total // 3])
        self.reasoning.setVisible(shown)
        if text or hidden_only:
            self._refresh_toggle()

    def _user_toggle(self) -> None:
        self._user_toggled = True

    def toggle_reasoning(self) -> None:
        if self.reasoning_toggle.isVisible():
            self._user_toggled = True
            self.reasoning_toggle.toggle()

    def _set_reasoning_visible(self, visible: bool) -> None:
        if self.reasoning_toggle.isCheckable():
            self._open_wanted = visible
        self._show_reasoning_pane()

    def _fold(self, open_: bool) -> None:
        """Open or fold the reasoning pane, now or (while there is no reasoning text yet)
        as soon as there is some."""
        self._open_wanted = open_
        self.reasoning_toggle.setChecked(open_)

    def _refresh_toggle(self) -> None:
        # Masked with show reasoning: the same words in every lane, no count, no "not returned".
        resp = None if self._alike() else self.response
        turns = len(self.lab.session.turns)
        number = self._turn_number if resp is not None and turns > 1 else None
        self.reasoning_toggle.setText(reasoning_words(resp, self.reasoning_toggle.isChecked(), number))

    def focus_answer(self) -> None:
        self.answer.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- turns ---------------------------------------------------------------------------

    def start_turn(self, turn: Turn, number: int, retry: bool = False) -> None:
        self.response = turn.responses[self.lane.id]
        if retry and self._loaded:
            # A reopened session: the old answer is inside the loaded transcript; show the
            # history again with this turn's answer (now empty), then stream after it.
            self.load(self.lab.session)
            self.response = turn.responses[self.lane.id]
        elif retry:
            self.answer.reset_answer()
            self.reasoning.reset_turn()
        else:
            first = number == 1 or self.answer.document().isEmpty()
            self.answer.add_prompt(turn.prompt, first=first, number=number)
            self.reasoning.start_turn(
                f"turn {number}", first=number == 1 or self.reasoning.document().isEmpty()
            )
            self.reasoning.show_turn_start()  # this turn's reasoning, not the last one's end
        self._turn_number = number
        self._r_i = self._t_i = 0
        self._revisions = self.response.revisions
        self._answer_started = False
        self._finalized = False
        self._status_at = 0.0  # when the counters were last drawn
        self._status_phase = ()
        self._loaded = False
        self._user_toggled = False
        self._fold(open_=True)
        self._show_reasoning_pane()
        self.error_box.hide()
        self.rating_box.hide()
        self._show_run_buttons()
        self.flush(None)

    def load(self, session: Session, only_last: bool = False) -> None:
        """Show a session's history for this lane (finished turns); ``only_last`` for a
        masked blind turn, whose lane must not show its earlier, revealed answers."""
        turns = []
        reasoning: list[str] = []  # built whole, then set once: one layout, not one per turn
        history = session.turns[-1:] if only_last else session.turns
        self.response = None
        latest = 0  # where the latest turn's reasoning starts
        for i, turn in enumerate(history, start=len(session.turns) - len(history)):
            resp = turn.responses.get(self.lane.id)
            if resp is None:
                continue
            note = f"[{resp.error.kind.value}] {resp.error.message}" if resp.error else ""
            turns.append((str(i + 1), resp.text, note))  # a lane added later keeps true numbers
            hidden = fmt.hidden_reasoning(resp)
            text = shown_reasoning(resp) if self._alike() else f"[{hidden}]" if hidden else resp.reasoning
            if text:
                # Each turn's reasoning under its turn's name, once there are several.
                if len(history) > 1 and reasoning:
                    reasoning.append("\n\n")
                latest = sum(map(len, reasoning))
                if len(history) > 1:
                    reasoning.append(f"— turn {i + 1} —\n")
                reasoning.append(text)
            self.response = resp
            self._turn_number = i + 1
        self.reasoning.setPlainText("".join(reasoning))
        self.reasoning.show_turn_start(latest)
        self._earlier_reasoning = any(
            resp is not None and resp.reasoning_chars
            for resp in (turn.responses.get(self.lane.id) for turn in history)
        )
        self.answer.load_transcript(turns)
        self.answer.show_turn_start()
        self._finalized = True
        self._loaded = True
        self.error_box.hide()
        if self.response is not None:
            self.rating_box.setVisible(not self.response.failed)  # masked answers can be scored too
            self.show_rating(self.response.rating)
            nothing = not self.response.reasoning_chars and not self.response.hidden_reasoning
            if (nothing or self.compact) and not self._alike():
                self._fold(open_=False)  # a card in two rows keeps its few lines for the answer
        self._show_reasoning_pane()
        self._set_idle()

    def flush(self, on_finished: Callable[[LaneWidget], None] | None) -> None:
        """Bring the panes and badges up to date with the response (once per frame)."""
        resp = self.response
        if resp is None:
            return
        if self.blind_letter is not None:
            # Blind: nothing streams into view; every answer appears when all have finished.
            self.update_status()
            if resp.status.finished and not self._finalized:
                self._finalized = True
                self._show_run_buttons()
            return
        if resp.revisions != self._revisions:
            # The provider's final word replaced what was streamed: show it from scratch.
            self._revisions = resp.revisions
            self.answer.reset_answer()
            self.reasoning.reset_turn()
            self._r_i = self._t_i = 0
        parts = resp.reasoning_parts
        if len(parts) > self._r_i:
            self.reasoning.append("".join(parts[self._r_i :]))
            self._r_i = len(parts)
            if not self.reasoning_toggle.isVisible():
                self._show_reasoning_pane()
        parts = resp.text_parts
        if len(parts) > self._t_i:
            if not self._answer_started:
                self._answer_started = True
                # Fold the reasoning away once the answer starts (unless the user chose).
                if not self._user_toggled and resp.reasoning_chars:
                    self._fold(open_=False)
            self.answer.append("".join(parts[self._t_i :]))
            self._t_i = len(parts)
        now = time.monotonic()
        phase = (resp.status, resp.timing.first_token is None, resp.text_chars > 0, resp.retry is None)
        if phase != self._status_phase or now - self._status_at >= STATUS_EVERY_S:
            # The counters move on every frame; a few updates a second read as live and
            # spare the footer's relayout 25 times a second in every lane. A change of
            # state (first token, answering, done, retrying) shows at once.
            self._status_phase = phase
            self._status_at = now
            self.update_status()
            self.update_wait("")
        if resp.status.finished and not self._finalized:
            self._finalized = True
            self._show_run_buttons()
            self._show_error(resp)
            if on_finished is not None:
                on_finished(self)

    def _show_error(self, resp: Response) -> None:
        """A failure once, in its lane, with a Retry; a Stop the user asked for is no
        error (the badge says "stopped")."""
        if resp.error is not None and resp.status is not Status.CANCELLED:
            if self.blind_letter is not None:  # its message could name the provider or model
                self.error.setText("This model failed to answer; what went wrong shows after your vote.")
            else:
                code = f" (HTTP {resp.error.status_code})" if resp.error.status_code else ""
                self.error.setText(f"{resp.error.kind.value}{code}: {resp.error.message}")
            self.error_box.show()

    def mark_revealed(self) -> None:
        """Blind mode, a finished turn reopened: the answers are on screen, details are not."""
        self._answer_revealed = True
        self.update_status()
        self.update_wait("")

    def reveal_answer(self) -> None:
        """Blind mode: show this turn's answer (all lanes at once); reasoning stays hidden,
        unless the session shows it (then alike in every lane)."""
        resp = self.response
        if resp is None:
            return
        self.reasoning.append("".join(resp.reasoning_parts[self._r_i :]))
        self._r_i = len(resp.reasoning_parts)
        self._t_i = len(resp.text_parts)
        self._answer_revealed = True
        self.update_wait("")
        self._show_error(resp)
        self.render_final()
        self.update_status()

    def render_final(self) -> None:
        """Render the finished answer as Markdown, once."""
        resp = self.response
        if resp is None:
            return
        self.rating_box.setVisible(not resp.failed)  # nothing to score
        self.show_rating(resp.rating)
        note = ""
        if resp.status is Status.CANCELLED:
            note = "[stopped]"
        elif resp.error is not None:
            note = ""  # the error shows once, in the box under the answer, with its Retry
        if resp.refusal:
            note = (note + " " if note else "") + "[the provider flagged this answer as a refusal]"
        for extra in resp.notes:
            note = (note + " " if note else "") + f"[{extra}]"
        self.answer.finish(resp.text, note)
        self.answer.show_turn_start()  # a long answer opens at its start, not its end
        hidden = fmt.hidden_reasoning(resp)
        if self._alike():  # every lane alike: its text or the neutral line, all open
            self.reasoning.setPlainText(shown_reasoning(resp))
        elif hidden:
            self.reasoning.append(f"[{hidden}: the provider reasoned but sent no reasoning text]")
            if not self._user_toggled:
                self._fold(open_=False)
        elif not resp.reasoning_chars and not self._user_toggled:
            self._fold(open_=False)
        self._show_reasoning_pane()
        if not self._alike():
            self.reasoning.show_turn_start()  # this turn's reasoning from its start

    # -- status ----------------------------------------------------------------------------

    def update_status(self) -> None:
        resp = self.response
        if self.blind_letter is not None:
            # Every masked lane reads the same until all have finished: no lane may look
            # faster, slower, thinking or answering.
            if resp is None:
                text = "ready"
            elif self._answer_revealed:
                text = "finished — vote to reveal the details"
            else:
                text = "waiting for all models…"
            self.status.set_badges([(text, "")])
            self.status.setToolTip("")
            return
        if resp is None:
            problem = self.lab.lane_problem(self.lane)
            if problem:  # say it now, not when Send is pressed
                self.status.set_badges([(problem, "bad")])
                self.status.setToolTip(problem)
                return
            # Before the first answer the next send's estimate is the useful figure.
            self.status.set_badges([(f"next: {self.next_estimate}" if self.next_estimate else "ready", "")])
            return
        total, estimated = self.lab.lane_total(self.lane.id)
        figures = Figures.of(resp, total, estimated)
        badges = badge_texts(figures)
        if resp.failed and not resp.text_chars and not resp.reasoning_chars:
            badges = badges[:1]  # nothing was generated: no ttft, no tokens, nothing billed
        self.status.set_badges(badges, dict(w for w in (figures.grade_words, figures.cost_words) if w))
        self.status.setToolTip(f"next send: {self.next_estimate}" if self.next_estimate else "")
        if self.reasoning_toggle.isVisible():
            self._refresh_toggle()

    def update_wait(self, shared: str) -> None:
        """The card's body while it has nothing to show. Masked: ``shared``, the wait every
        card shows alike ("3 of 8 finished · 0:41", empty once all have finished), whatever
        this lane's own state. Otherwise "thinking… 0:12" until answer or reasoning text
        arrives (a hidden reasoner sends none for minutes)."""
        if self.blind_letter is not None:
            text = "" if self._answer_revealed else shared
        else:
            text = wait_words(self.response, self.reasoning.isVisible(), self.wait_since)
        if text != self.wait_note.text():
            self.wait_note.setText(text)
        if self.wait_note.isHidden() == bool(text):
            self.wait_note.setVisible(bool(text))

    def _set_idle(self) -> None:
        self._show_run_buttons()
        self.update_status()
        self.update_wait("")

    def _show_run_buttons(self) -> None:
        """Stop while the lane runs, Retry once it has finished; neither while masked."""
        running = self.response is not None and not self.response.status.finished
        masked = self.blind_letter is not None
        self.stop_button.setVisible(running and not masked)
        self.stop_button.setEnabled(running)
        self.retry_button.setVisible(self.response is not None and not running and not masked)
        self.retry_button.setEnabled(self.response is not None and not running)

    # -- clipboard -------------------------------------------------------------------------

    def _current_text(self) -> str:
        return self.response.text if self.response else ""

    def _current_reasoning(self) -> str:
        return self.response.reasoning if self.response else ""

    def _copy(self, text: str) -> None:
        if text:  # "nothing to copy" must not empty the clipboard
            QGuiApplication.clipboard().setText(text)
        self.said.emit("Copied to the clipboard" if text else "Nothing to copy yet")

    def copy_current(self) -> None:
        self._copy(self._current_text())

    @property
    def is_running(self) -> bool:
        return self.response is not None and self.response.status in (Status.QUEUED, Status.RUNNING)
