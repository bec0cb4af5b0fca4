"""The lanes area: the turn header, the run's progress, the lane cards in a grid, and the
per-frame flush.

It keeps one :class:`LaneWidget` per lab lane, in the order the lab shows them (the
turn's shuffle while masked). Up to four lanes sit side by side; five to eight wrap into
a second row, as a grid (5 → 3 + 2, 6 → 3 + 3, 7 → 4 + 3, 8 → 4 + 4), each row a
splitter the user can drag. ``needed_width`` is what a row needs, so the window can make
room (fold the sidebar); narrower still, the grid scrolls sideways rather than widening
the window. A single lane is kept to a reading width of about 100 characters.

A 40 ms frame timer collects the lanes that received events (``Lab.take_dirty``) and
brings only those up to date; finished answers get their final Markdown render
staggered across frames so no frame renders several long answers. The same frame
redraws the progress line, "3 of 8 finished · 0:41" with a Stop all (its clock once a
second, its count as it moves), and every card's wait text with it: while a blind turn
is masked, the line's words in every card at the same moment, never which lanes have
finished. The prompt of the
current turn shows once, in the turn header, not inside every lane.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data.model import Turn
from chatlab.core.lab.controller import Lab
from chatlab.ui.lab.badges import clock
from chatlab.ui.lab.lane import MIN_LANE_WIDTH, LaneWidget
from chatlab.ui.shared.icons import icon

FRAME_MS = 40
FINAL_RENDER_STAGGER_MS = 60
READING_CHARS = 100
TURN_HEADER_CHARS = 600
PROGRESS_EVERY_S = 1.0
MIN_ROW_HEIGHT = 220  # a row of the grid: header, a few lines of answer, the badges
HANDLE = 8


def columns(n: int) -> int:
    """Lanes per row: up to four in one row, five to eight in two (the first the fuller)."""
    return n if n <= 4 else math.ceil(n / 2)


class _Resized(QObject):
    def __init__(self, area: LanesArea) -> None:
        super().__init__(area)
        self._area = area

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._area._fit_reading_width()
            if not self._area._dragged:
                self._area._equalize()
        return False


class LanesArea(QWidget):
    laneFlushed = Signal(str)
    stopAllRequested = Signal()

    def __init__(self, lab: Lab, wire: Callable[[LaneWidget], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lab = lab
        self._wire = wire  # connects a new card's buttons to the window's actions
        self.widgets: dict[str, LaneWidget] = {}
        self._final_queue: list[LaneWidget] = []
        self._new_lanes: list[LaneWidget] = []  # added since the row last scrolled to one
        self._scroll_to: tuple[LaneWidget, float] | None = None  # and when
        self._focused: LaneWidget | None = None
        self._count = 0  # lanes shown at the last sync
        self._run: tuple[Turn, list[str], float] | None = None  # the turn running, its lanes, since
        self._progress_at = 0.0  # when the progress line was last drawn
        self._dragged = False  # the user set a row's widths: the window leaves them

        self.turn_header = QLabel()
        self.turn_header.setObjectName("turn-header")
        self.turn_header.setProperty("role", "turn")
        self.turn_header.setTextFormat(Qt.TextFormat.PlainText)
        self.turn_header.setWordWrap(True)
        self.turn_header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)
        self.turn_header.setMaximumHeight(self.turn_header.fontMetrics().lineSpacing() * 3 + 16)
        self.turn_header.hide()

        self.progress = QLabel()
        self.progress.setObjectName("progress")
        self.progress.setTextFormat(Qt.TextFormat.PlainText)
        self.stop_all = QPushButton(icon("stop"), "Stop all")
        self.stop_all.setToolTip("Stop every lane (Esc)")
        self.stop_all.clicked.connect(self.stopAllRequested)
        self.progress_line = QWidget()
        self.progress_line.setObjectName("progress-line")
        line = QHBoxLayout(self.progress_line)
        line.setContentsMargins(4, 0, 0, 0)
        line.addWidget(self.progress, 1)
        line.addWidget(self.stop_all)
        self.progress_line.hide()

        # The grid: rows (splitters of cards) in a vertical splitter. ``splitter`` is the
        # first row, which holds every lane up to four.
        self.rows = [QSplitter(Qt.Orientation.Horizontal) for _ in range(2)]
        for row in self.rows:
            row.setChildrenCollapsible(False)
            row.setHandleWidth(HANDLE)
            row.splitterMoved.connect(self._handle_dragged)
        self.splitter = self.rows[0]
        self.grid = QSplitter(Qt.Orientation.Vertical)
        self.grid.setChildrenCollapsible(False)
        self.grid.setHandleWidth(HANDLE)
        for row in self.rows:
            self.grid.addWidget(row)
        self.rows[1].hide()
        self.holder = QWidget()
        self.holder_layout = QHBoxLayout(self.holder)
        self.holder_layout.setContentsMargins(0, 0, 0, 0)
        self.holder_layout.addWidget(self.grid)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroller.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroller.setWidget(self.holder)
        self.scroller.horizontalScrollBar().rangeChanged.connect(self._row_resized)
        self.scroller.viewport().installEventFilter(_Resized(self))
        self.empty_hint = QLabel("No lanes yet: add one with “+ Lane”, or pick a preset under New session.")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setProperty("role", "muted")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.turn_header)
        layout.addWidget(self.progress_line)
        layout.addWidget(self.empty_hint, 1)
        layout.addWidget(self.scroller, 1)

        self.frame = QTimer(self)
        self.frame.setInterval(FRAME_MS)
        self.frame.timeout.connect(self.flush)
        self.final_timer = QTimer(self)
        self.final_timer.setInterval(FINAL_RENDER_STAGGER_MS)
        self.final_timer.timeout.connect(self._render_next_final)
        QApplication.instance().focusChanged.connect(self._focus_changed)  # type: ignore[union-attr]

    # -- lanes --------------------------------------------------------------------------

    def sync(self) -> None:
        """Match the cards to the lab's lanes, their order and the blind state."""
        lanes = {lane.id: lane for lane in self.lab.session.lanes}
        for lane_id in [x for x in self.widgets if x not in lanes]:
            widget = self.widgets.pop(lane_id)
            if widget in self._final_queue:
                self._final_queue.remove(widget)
            widget.setParent(None)
            widget.deleteLater()
        masked = self.lab.masked
        added: list[LaneWidget] = []
        for lane_id, lane in lanes.items():
            if lane_id not in self.widgets:
                self.widgets[lane_id] = widget = LaneWidget(self.lab, lane)
                self._wire(widget)
                if masked:
                    widget.set_blind(self.lab.letter_of(lane_id))
                if self.lab.session.has_history(lane_id):
                    widget.load(self.lab.session, only_last=masked)
                    if masked:
                        widget.mark_revealed()  # a finished blind turn reopened
                added.append(widget)
        order = self.lab.shown_order()
        if added:
            # A lane added is scrolled into view (in blind mode a half-hidden lane is
            # unfair); of several added at once (a session opened, the window started with
            # lanes), the leftmost, so the row starts at its left end.
            if not self._new_lanes:
                QTimer.singleShot(0, self, self._show_new_lanes)
            self._new_lanes += added
        busy = self.lab.busy
        n = len(order)
        cols = columns(n)
        for position, lane_id in enumerate(order):
            widget = self.widgets[lane_id]
            row, index = divmod(position, max(cols, 1))
            if self.rows[row].indexOf(widget) != index:
                self.rows[row].insertWidget(index, widget)
            wanted = self.lab.letter_of(lane_id) if masked else None
            if wanted != widget.blind_letter:
                if wanted is not None and widget.blind_letter is not None:
                    widget.answer.clear()  # a new shuffle: the old letter's text must go
                    widget.reasoning.clear()
                widget.set_blind(wanted)
            widget.update_header(position, len(order))
            widget.set_editable(not busy)
        self.grid.setMinimumWidth(self.needed_width())
        two = n > cols
        self.rows[1].setVisible(two)
        for widget in self.widgets.values():
            widget.compact = two
        self.grid.setMinimumHeight(2 * MIN_ROW_HEIGHT + HANDLE if two else 0)
        if n != self._count:  # a lane came or went: every lane gets the same width again
            self._count = n
            self._dragged = False
            self._equalize()
            height = max(self.scroller.viewport().height(), 2 * MIN_ROW_HEIGHT)
            self.grid.setSizes([height // 2, height // 2] if two else [height, 0])
        self.empty_hint.setVisible(n == 0)
        self.scroller.setVisible(n > 0)
        self._fit_reading_width()
        self.show_turn_header()

    def _equalize(self) -> None:
        """Every lane of a row as wide as the others (until the user drags a handle), so
        the grid's columns line up."""
        width = max(self.scroller.viewport().width(), self.needed_width())
        for strip in self.rows:
            count = strip.count()
            if count:
                strip.setSizes([width // count] * count)

    def _handle_dragged(self, _pos: int, _index: int) -> None:
        self._dragged = True

    def two_rows(self) -> bool:
        n = len(self.widgets)
        return n > columns(n)

    def needed_width(self) -> int:
        """The width the grid needs for every lane of a row to have its minimum."""
        cols = columns(len(self.widgets))
        return cols * MIN_LANE_WIDTH + max(cols - 1, 0) * HANDLE

    def _fit_reading_width(self) -> None:
        """One lane: about 100 characters wide, centred. More lanes: the whole width."""
        width = self.scroller.viewport().width()
        margin = 0
        if len(self.widgets) == 1:
            reading = self.fontMetrics().averageCharWidth() * READING_CHARS + 60
            margin = max(0, (width - reading) // 2)
        if self.holder_layout.contentsMargins().left() != margin:
            self.holder_layout.setContentsMargins(margin, 0, margin, 0)

    def show_turn_header(self) -> None:
        turns = self.lab.session.turns
        if not turns:
            self.turn_header.hide()
            return
        prompt = " ".join(turns[-1].prompt.split())
        if len(prompt) > TURN_HEADER_CHARS:
            prompt = prompt[:TURN_HEADER_CHARS] + "…"
        count = f"Turn {len(turns)}" + (f" of {len(turns)}" if len(turns) > 1 else "")
        sighted = self.lab.sighted_note(turns[-1])  # after a blind reveal: said, not masked
        self.turn_header.setText(f"{count} · {sighted} · {prompt}" if sighted else f"{count} · {prompt}")
        self.turn_header.show()

    def _show_new_lanes(self) -> None:
        new, self._new_lanes = self._new_lanes, []
        order = self.lab.shown_order()
        alive = [w for w in new if self.widgets.get(w.lane.id) is w and w.lane.id in order]
        if alive:
            target = min(alive, key=lambda w: order.index(w.lane.id))
            self.scroller.ensureWidgetVisible(target)
            # The row may grow for the new cards only after this; follow it once more.
            self._scroll_to = (target, time.monotonic())

    def _row_resized(self, _low: int, _high: int) -> None:
        if self._scroll_to is None:
            return
        target, when = self._scroll_to
        self._scroll_to = None
        if time.monotonic() - when < 1.0 and self.widgets.get(target.lane.id) is target:
            self.scroller.ensureWidgetVisible(target)

    def widget_at(self, position: int) -> LaneWidget | None:
        """The card shown in ``position`` (left to right, then the second row)."""
        order = self.lab.shown_order()
        return self.widgets.get(order[position]) if 0 <= position < len(order) else None

    def focus_lane(self, position: int) -> None:
        """Focus the lane shown in ``position`` (the shuffled order while masked)."""
        widget = self.widget_at(position)
        if widget is not None:
            self.scroller.ensureWidgetVisible(widget)
            widget.focus_answer()

    def focused_lane(self) -> LaneWidget | None:
        return self._focused

    def _clear_focus(self) -> None:
        if self._focused is not None and self._focused in self.widgets.values():
            self._focused.set_focused(False)
        self._focused = None

    def _focus_changed(self, _old: QWidget | None, now: QWidget | None) -> None:
        node: QWidget | None = now
        while node is not None and not isinstance(node, LaneWidget):
            node = node.parentWidget()
        widget = node
        if widget is None or widget is self._focused or widget not in self.widgets.values():
            return
        if self._focused is not None and self._focused in self.widgets.values():
            self._focused.set_focused(False)
        self._focused = widget
        widget.set_focused(True)

    # -- turns --------------------------------------------------------------------------

    def start_turn(self, turn: Turn, lane_ids: list[str], retry: bool) -> None:
        number = len(self.lab.session.turns)
        if self.lab.masked and not retry:
            # A masked turn starts alike in every lane: no earlier text, no focus mark.
            self._clear_focus()
            for card in self.widgets.values():
                card.answer.clear()
                card.reasoning.clear()
        since = time.monotonic()
        for lane_id in lane_ids:
            widget = self.widgets.get(lane_id)
            if widget is not None:
                widget.wait_since = since
                widget.start_turn(turn, number, retry=retry)
        self.show_turn_header()
        self._run = (turn, list(lane_ids), since)
        self._show_progress()
        self.frame.start()

    def load(self) -> None:
        """Show the lab's session from scratch (opened, or revealed after a blind vote)."""
        masked = self.lab.masked
        for widget in self.widgets.values():
            widget.load(self.lab.session, only_last=masked)
            if masked:
                widget.mark_revealed()

    def reveal_answers(self) -> None:
        """Blind mode: every answer appears at the same moment."""
        for lane_id in self.lab.shown_order():
            self.widgets[lane_id].reveal_answer()

    def flush(self) -> None:
        """One frame: bring every lane that received events up to date."""
        dirty = self.lab.take_dirty()
        for lane_id, widget in self.widgets.items():
            if widget.response is not None and widget.response.retry is not None:
                dirty.add(lane_id)  # the "retrying in N s" countdown ticks
        for lane_id in dirty:
            card = self.widgets.get(lane_id)
            if card is not None:
                card.flush(self._queue_final)
                self.laneFlushed.emit(lane_id)
        if time.monotonic() - self._progress_at >= PROGRESS_EVERY_S or self._count_moved():
            self._show_progress()
        if not self.lab.busy:
            self.frame.stop()
            self._run = None
            self._show_progress()

    def progress_text(self) -> str:
        """ "3 of 8 finished · 0:41" for the run going on, or "" when none is."""
        if self._run is None or not self.lab.busy:
            return ""
        turn, lane_ids, since = self._run
        done = sum(1 for i in lane_ids if i in turn.responses and turn.responses[i].status.finished)
        return f"{done} of {len(lane_ids)} finished · {clock(time.monotonic() - since)}"

    def _count_moved(self) -> bool:
        """A lane finished since the line was drawn (the count shows at once, in every
        card alike; the clock waits for its second)."""
        return self.progress_text().split(" · ")[0] != self.progress.text().split(" · ")[0]

    def _show_progress(self) -> None:
        """The progress line, and every card's wait text, all at once (masked cards show
        the line's words, alike; the others their own "thinking… 0:12")."""
        self._progress_at = time.monotonic()
        text = self.progress_text()
        self.progress.setText(text)
        self.progress.setAccessibleName(text)
        self.progress_line.setVisible(bool(text))
        for card in self.widgets.values():
            card.update_wait(text)

    def refresh_status(self, estimates: dict[str, str]) -> None:
        for lane_id, widget in self.widgets.items():
            widget.next_estimate = estimates.get(lane_id, "")
            widget.update_status()

    def _queue_final(self, widget: LaneWidget) -> None:
        self._final_queue.append(widget)
        if not self.final_timer.isActive():
            self._render_next_final()
            self.final_timer.start()

    def _render_next_final(self) -> None:
        if not self._final_queue:
            self.final_timer.stop()
            return
        self._final_queue.pop(0).render_final()

    def render_pending_finals(self) -> None:
        """Render every queued final answer now (tests and shutdown)."""
        while self._final_queue:
            self._render_next_final()

    def stop_timers(self) -> None:
        self.frame.stop()
        self.final_timer.stop()
