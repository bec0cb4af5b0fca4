"""One lane: a model's header, its reasoning pane, its answer pane and its live counters.

The widget is a view over the lane's :class:`Response` objects. ``flush()`` is called by
the window's frame timer, never per token: it appends only the parts that arrived since
the last flush (the response's part lists only grow), refreshes the status line, and
when the response has finished asks the window to render the final Markdown once.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatlab.core import format as fmt
from chatlab.core.figures import Figures
from chatlab.core.model import Lane, Rating, Response, Session, Status, Turn
from chatlab.core.orchestrator import live_usage
from chatlab.ui.text import AnswerView, ReasoningView

MIN_LANE_WIDTH = 340


def reasoning_tint(palette: QPalette) -> QColor:
    """A tinted background for reasoning that works in light and dark themes."""
    base = palette.color(QPalette.ColorRole.Base)
    tint = QColor(120, 110, 200)
    mix = 0.12 if base.lightness() > 128 else 0.22
    return QColor(
        int(base.red() * (1 - mix) + tint.red() * mix),
        int(base.green() * (1 - mix) + tint.green() * mix),
        int(base.blue() * (1 - mix) + tint.blue() * mix),
    )


class LaneWidget(QFrame):
    stopRequested = Signal(str)
    retryRequested = Signal(str)
    removeRequested = Signal(str)
    moveRequested = Signal(str, int)
    editRequested = Signal(str)
    rated = Signal(str, object)  # lane id, Rating

    def __init__(self, lane: Lane, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.blind_letter: str | None = None  # "A", "B"… while masked in blind mode
        self.setObjectName(f"lane-{index}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(MIN_LANE_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.spec = QLabel()
        self.spec.setTextFormat(Qt.TextFormat.PlainText)
        self.spec.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.params_button = self._tool(
            "⚙", "Lane model and parameters…", lambda: self.editRequested.emit(lane.id)
        )
        self.left_button = self._tool("◀", "Move left", lambda: self.moveRequested.emit(lane.id, -1))
        self.right_button = self._tool("▶", "Move right", lambda: self.moveRequested.emit(lane.id, 1))
        self.remove_button = self._tool("✕", "Remove lane", lambda: self.removeRequested.emit(lane.id))
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title)
        header.addWidget(self.spec, 1)
        for tool in (self.params_button, self.left_button, self.right_button, self.remove_button):
            header.addWidget(tool)

        self.reasoning_toggle = QToolButton()
        self.reasoning_toggle.setCheckable(True)
        self.reasoning_toggle.setChecked(True)
        self.reasoning_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasoning_toggle.setAutoRaise(True)
        self.reasoning_toggle.toggled.connect(self._set_reasoning_visible)
        self.reasoning_toggle.clicked.connect(self._user_toggle)
        self.reasoning = ReasoningView()
        self.reasoning.setObjectName("reasoning")
        pal = self.reasoning.palette()
        pal.setColor(QPalette.ColorRole.Base, reasoning_tint(pal))
        self.reasoning.setPalette(pal)
        self.reasoning.setPlaceholderText("Reasoning appears here when the model shows it.")
        self.answer = AnswerView()
        self.answer.setObjectName("answer")
        self.panes = QSplitter(Qt.Orientation.Vertical)
        self.panes.addWidget(self.reasoning)
        self.panes.addWidget(self.answer)
        self.panes.setStretchFactor(0, 1)
        self.panes.setStretchFactor(1, 2)
        self.panes.setChildrenCollapsible(False)

        self.status = QLabel("ready")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setObjectName("status")
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.error.hide()

        self.score = QComboBox()
        self.score.addItems(["score", "1", "2", "3", "4", "5"])
        self.score.setToolTip("Your score for this answer (1 = poor, 5 = excellent)")
        self.note = QLineEdit()
        self.note.setPlaceholderText("note")
        self.score.activated.connect(lambda _i: self._rated())
        self.note.editingFinished.connect(self._rated)
        rating_row = QHBoxLayout()
        rating_row.addWidget(self.score)
        rating_row.addWidget(self.note, 1)
        self.rating_box = QWidget()
        self.rating_box.setLayout(rating_row)
        rating_row.setContentsMargins(0, 0, 0, 0)
        self.rating_box.hide()

        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(lambda: self.stopRequested.emit(lane.id))
        self.retry_button = QPushButton("Retry")
        self.retry_button.clicked.connect(lambda: self.retryRequested.emit(lane.id))
        self.copy_answer = QPushButton("Copy answer")
        self.copy_answer.clicked.connect(lambda: self._copy(self._current_text()))
        self.copy_reasoning = QPushButton("Copy reasoning")
        self.copy_reasoning.clicked.connect(lambda: self._copy(self._current_reasoning()))
        buttons = QHBoxLayout()
        for b in (self.stop_button, self.retry_button, self.copy_answer, self.copy_reasoning):
            buttons.addWidget(b)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(header)
        layout.addWidget(self.reasoning_toggle)
        layout.addWidget(self.panes, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addWidget(self.rating_box)
        layout.addLayout(buttons)

        self.response: Response | None = None
        self._revisions = 0  # resp.revisions when the panes were last rebuilt
        self.next_estimate = ""
        self._r_i = 0
        self._t_i = 0
        self._answer_started = False
        self._finalized = True
        self._user_toggled = False
        self._answer_revealed = False
        self.update_header(index)
        self._set_idle()

    def _tool(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(slot)
        return b

    # -- header and layout -------------------------------------------------------------

    def update_header(self, index: int, count: int | None = None) -> None:
        if self.blind_letter is not None:
            # Masked: the letter and its shown position only (Ctrl+N follows what is shown).
            shown = ord(self.blind_letter) - ord("A")
            self.title.setText(f"Model {self.blind_letter}")
            self.spec.setText("")
            self.setToolTip(f"Model {self.blind_letter} — Ctrl+{shown + 1} focuses this lane")
            return
        self.title.setText(self.lane.label or f"Lane {index + 1}")
        self.spec.setText(self.lane.spec)
        self.setToolTip(
            f"{self.lane.spec} — Ctrl+{index + 1} focuses this lane" if index < 8 else self.lane.spec
        )
        if count is not None:
            self.left_button.setEnabled(index > 0)
            self.right_button.setEnabled(index < count - 1)

    def set_editable(self, editable: bool) -> None:
        for b in (self.params_button, self.left_button, self.right_button, self.remove_button):
            b.setEnabled(editable)

    # -- blind mode ----------------------------------------------------------------------------

    def set_blind(self, letter: str | None) -> None:
        """Mask (``letter`` = "A", "B"…) or reveal everything that identifies the model.

        Masked: no provider, model, label or parameters; no tokens, cost, timing or speed;
        no reasoning pane (its presence and length reveal a reasoner). The answer is
        shown only when every lane of the turn has finished (see :meth:`reveal_answer`).
        """
        if letter is not None and self.blind_letter is None:
            # Earlier turns were revealed: they would tell which model this is.
            self.answer.clear()
            self.reasoning.clear()
        self.blind_letter = letter
        masked = letter is not None
        for w in (
            self.params_button,
            self.left_button,
            self.right_button,
            self.remove_button,
            self.spec,
            self.reasoning_toggle,
            self.copy_reasoning,
            # Stop and Retry too: a lane whose Stop greys out first has visibly finished first.
            self.stop_button,
            self.retry_button,
        ):
            w.setVisible(not masked)
        self._answer_revealed = False
        self.reasoning.setVisible(not masked and self.reasoning_toggle.isChecked())
        self.update_header(0)
        self.update_status()

    # -- rating --------------------------------------------------------------------------------

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

    def _user_toggle(self) -> None:
        self._user_toggled = True

    def _set_reasoning_visible(self, visible: bool) -> None:
        self.reasoning.setVisible(visible and self.blind_letter is None)  # never while masked
        self._refresh_toggle()

    def _refresh_toggle(self) -> None:
        arrow = "▾" if self.reasoning_toggle.isChecked() else "▸"
        resp = self.response
        extra = ""
        if resp is not None:
            hidden = fmt.hidden_reasoning(resp)
            if hidden:
                extra = f" — {hidden}"
            elif resp.reasoning_chars:
                usage = live_usage(resp)
                mark = "≈" if usage.estimated or usage.reasoning_estimated else ""
                extra = f" — {mark}{usage.reasoning_tokens:,} tokens"
        self.reasoning_toggle.setText(f"{arrow} Reasoning{extra}")

    def focus_answer(self) -> None:
        self.answer.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- turns ---------------------------------------------------------------------------

    def start_turn(self, turn: Turn, number: int, retry: bool = False) -> None:
        self.response = turn.responses[self.lane.id]
        if retry:
            self.answer.reset_answer()
            self.reasoning.reset_turn()
        else:
            self.answer.add_prompt(turn.prompt, first=number == 1 or self.answer.document().isEmpty())
            self.reasoning.start_turn(
                f"turn {number}", first=number == 1 or self.reasoning.document().isEmpty()
            )
        self._r_i = self._t_i = 0
        self._revisions = self.response.revisions
        self._answer_started = False
        self._finalized = False
        self._user_toggled = False
        self.reasoning_toggle.setChecked(True)
        self.reasoning.setPlaceholderText("Reasoning appears here when the model shows it.")
        self.error.hide()
        self.stop_button.setEnabled(True)
        self.retry_button.setEnabled(False)
        self.flush(None)

    def load(self, session: Session, only_last: bool = False) -> None:
        """Show a session's history for this lane (finished turns); ``only_last`` for a
        masked blind turn, whose lane must not show its earlier, revealed answers."""
        turns = []
        reasoning: list[str] = []  # built whole, then set once: one layout, not one per turn
        history = session.turns[-1:] if only_last else session.turns
        for i, turn in enumerate(history, start=len(session.turns) - len(history)):
            resp = turn.responses.get(self.lane.id)
            if resp is None:
                continue
            note = f"[{resp.error.kind.value}] {resp.error.message}" if resp.error else ""
            turns.append((turn.prompt, resp.text, note))
            if reasoning:
                reasoning.append(f"\n\n— turn {i + 1} —\n")
            hidden = fmt.hidden_reasoning(resp)
            reasoning.append(f"[{hidden}]" if hidden else resp.reasoning)
            self.response = resp
        self.reasoning.setPlainText("".join(reasoning))
        self.answer.load_transcript(turns)
        self._finalized = True
        if self.response is not None:
            self.rating_box.setVisible(not self.response.failed)
            self.show_rating(self.response.rating)
        self._set_idle()

    def flush(self, on_finished: Callable[[LaneWidget], None] | None) -> None:
        """Bring the panes and counters up to date with the response (once per frame)."""
        resp = self.response
        if resp is None:
            return
        if self.blind_letter is not None:
            # Blind: nothing streams into view; every answer appears when all have finished.
            self.update_status()
            if resp.status.finished and not self._finalized:
                self._finalized = True
                self.stop_button.setEnabled(False)
                self.retry_button.setEnabled(True)
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
        parts = resp.text_parts
        if len(parts) > self._t_i:
            if not self._answer_started:
                self._answer_started = True
                # Collapse the reasoning once the answer starts (unless the user chose).
                if not self._user_toggled and resp.reasoning_chars:
                    self.reasoning_toggle.setChecked(False)
            self.answer.append("".join(parts[self._t_i :]))
            self._t_i = len(parts)
        self.update_status()
        if resp.status.finished and not self._finalized:
            self._finalized = True
            self.stop_button.setEnabled(False)
            self.retry_button.setEnabled(True)
            self._show_error(resp)
            if on_finished is not None:
                on_finished(self)

    def _show_error(self, resp: Response) -> None:
        """A failure in red, once; a Stop the user asked for is no error (the status says
        "stopped")."""
        if resp.error is not None and resp.status is not Status.CANCELLED:
            self.error.setText(f"{resp.error.kind.value}: {resp.error.message}")
            self.error.show()

    def mark_revealed(self) -> None:
        """Blind mode, a finished turn reopened: the answers are on screen, details are not."""
        self._answer_revealed = True
        self.update_status()

    def reveal_answer(self) -> None:
        """Blind mode: show this turn's reasoning and answer (all lanes at once)."""
        resp = self.response
        if resp is None:
            return
        self.reasoning.append("".join(resp.reasoning_parts[self._r_i :]))
        self._r_i = len(resp.reasoning_parts)
        self._t_i = len(resp.text_parts)
        self._answer_revealed = True
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
            note = f"[{fmt.state(resp)} — {resp.error.kind.value}] {resp.error.message}"
        if resp.refusal:
            note = (note + " " if note else "") + "[the provider flagged this answer as a refusal]"
        for extra in resp.notes:
            note = (note + " " if note else "") + f"[{extra}]"
        self.answer.finish(resp.text, note)
        hidden = fmt.hidden_reasoning(resp)
        if hidden:
            self.reasoning.append(f"[{hidden}: the provider reasoned but sent no reasoning text]")
        elif not resp.reasoning_chars and not self._user_toggled:
            self.reasoning_toggle.setChecked(False)
        self._refresh_toggle()

    # -- status ----------------------------------------------------------------------------

    def update_status(self, lane_total: float | None = None, total_estimated: bool = False) -> None:
        resp = self.response
        if self.blind_letter is not None:
            # Every masked lane reads the same until all have finished: no lane may look
            # faster, slower, thinking or answering.
            if resp is None:
                self.status.setText("ready")
            elif self._answer_revealed:
                self.status.setText("finished — vote to reveal the details")
            else:
                self.status.setText("waiting for all models…")
            return
        if resp is None:
            self.status.setText("ready" + (f" · next: {self.next_estimate}" if self.next_estimate else ""))
            return
        parts = Figures.of(resp, lane_total, total_estimated).parts()
        if self.next_estimate and resp.status.finished:
            parts.append(f"next: {self.next_estimate}")
        self.status.setText(" · ".join(parts))
        self._refresh_toggle()

    def _set_idle(self) -> None:
        running = self.response is not None and not self.response.status.finished
        self.stop_button.setEnabled(running)
        self.retry_button.setEnabled(self.response is not None and not running)
        self.update_status()

    # -- clipboard -------------------------------------------------------------------------

    def _current_text(self) -> str:
        return self.response.text if self.response else ""

    def _current_reasoning(self) -> str:
        return self.response.reasoning if self.response else ""

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    @property
    def is_running(self) -> bool:
        return self.response is not None and self.response.status in (Status.QUEUED, Status.RUNNING)
