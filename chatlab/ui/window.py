"""The main window: lanes side by side, the prompt editor, and the frame-coalesced updates.

The window drives the streaming core: a send creates a turn and one :class:`TurnRun`
whose listener only marks the lane dirty (O(1) per token). A single frame timer (40 ms)
flushes every dirty lane at once, and finished answers get their final Markdown render
staggered across lanes so no frame renders several long answers. The window adds no
second way to call providers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import random
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from chatlab.core import format as fmt
from chatlab.core import pricing
from chatlab.core.events import Done, StreamError, StreamEvent
from chatlab.core.export import export_sessions
from chatlab.core.model import Lane, Message, Rating, Response, Session, Turn, Vote
from chatlab.core.orchestrator import Runner, TurnRun
from chatlab.core.tokens import count_messages
from chatlab.store.checkpoint import CHECKPOINT_INTERVAL_S, Checkpointer
from chatlab.store.db import Store, StoreError
from chatlab.ui.lane import MIN_LANE_WIDTH, LaneWidget
from chatlab.ui.sidebar import SessionSidebar

FRAME_MS = 40
FINAL_RENDER_STAGGER_MS = 60
ESTIMATE_DEBOUNCE_MS = 300
MAX_LANES = 8


class _PromptKeys(QObject):
    """Ctrl+Enter in the prompt editor sends instead of inserting a newline."""

    def __init__(self, send: Callable[[], None]) -> None:
        super().__init__()
        self._send = send

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self._send()
                return True
        return False


class MainWindow(QMainWindow):
    turnFinished = Signal()
    laneFlushed = Signal(str)
    shutdownComplete = Signal()

    def __init__(
        self,
        runner: Runner,
        *,
        store: Store | None = None,
        rater: str = "",
        demo_banner: str = "",
        open_settings: Callable[[MainWindow], None] | None = None,
        edit_lane: Callable[[MainWindow, Lane | None], Lane | None] | None = None,
    ) -> None:
        super().__init__()
        self.runner = runner
        self.session = Session()
        self.lane_widgets: dict[str, LaneWidget] = {}
        self.runs: list[TurnRun] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._dirty: set[str] = set()
        self._final_queue: list[LaneWidget] = []
        self._closing = False
        self.shutdown_done = False
        self._shutdown_task: asyncio.Future[None] | None = None
        self._open_settings = open_settings
        self._edit_lane = edit_lane
        self.store = store
        self.rater = rater
        self.saver: Checkpointer | None = None
        # The demo prompt sent at launch is not saved until the user does something with
        # it (votes, rates, follows up): launching the demo must not add a session each time.
        self.unsaved_demo = False
        self._rng = random.Random()

        self.setWindowTitle("chatlab")
        # Never larger than the screen: on 1280×800 the window opens within it.
        screen = self.screen().availableGeometry()
        self.resize(min(1400, screen.width()), min(860, screen.height()))

        self.banner = QLabel(demo_banner)
        self.banner.setWordWrap(True)
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet("QLabel#banner { padding: 6px; background: palette(alternate-base); }")
        self.banner.setVisible(bool(demo_banner))

        self.lanes_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.lanes_splitter.setChildrenCollapsible(False)
        self.lanes_splitter.setHandleWidth(6)
        self.lanes_scroll = QScrollArea()
        self.lanes_scroll.setWidgetResizable(True)
        self.lanes_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.lanes_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.lanes_scroll.setWidget(self.lanes_splitter)
        self.empty_hint = QLabel("No lanes yet: add one with “+ Lane”.")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.system_toggle = QToolButton()
        self.system_toggle.setCheckable(True)
        self.system_toggle.setAutoRaise(True)
        self.system_toggle.setText("▸ System prompt")
        self.system_toggle.toggled.connect(self._toggle_system)
        self.system = QPlainTextEdit()
        self.system.setPlaceholderText("Shared system prompt for every lane (optional)")
        self.system.setMaximumHeight(90)
        self.system.hide()
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("prompt")
        self.prompt.setPlaceholderText("Ask every lane… (Ctrl+Enter sends, Esc stops all)")
        self.prompt.setMinimumHeight(70)
        self._prompt_keys = _PromptKeys(self.send)
        self.prompt.installEventFilter(self._prompt_keys)
        self.prompt.textChanged.connect(self._schedule_estimate)
        self.system.textChanged.connect(self._schedule_estimate)

        self.send_button = QPushButton("Send  (Ctrl+Enter)")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop all  (Esc)")
        self.stop_button.clicked.connect(self.stop_all)
        self.add_button = QPushButton("+ Lane")
        self.add_button.clicked.connect(self.add_lane_dialog)
        self.settings_button = QPushButton("Settings")
        self.settings_button.clicked.connect(self.show_settings)
        self.new_button = QPushButton("New session")
        self.new_button.clicked.connect(self.new_session)
        self.estimate = QLabel()
        self.estimate.setObjectName("estimate")
        # Its text can be long (8 lanes): it is cut, never allowed to widen the window.
        self.estimate.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.blind_check = QCheckBox("Blind")
        self.blind_check.setToolTip(
            "Hide which model wrote what (names, parameters, tokens, cost, speed, reasoning) until you vote. "
            "Set before the first send."
        )
        self.blind_check.toggled.connect(self._set_blind)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.export_current)
        self.export_all_button = QPushButton("Export all…")
        self.export_all_button.clicked.connect(self.export_all)
        self.export_all_button.setVisible(store is not None)

        # The vote row scrolls sideways when its buttons don't fit (8 lanes on a small
        # screen), rather than widening the window past the screen.
        self.vote_box = QScrollArea()
        self.vote_box.setObjectName("vote")
        self.vote_box.setWidgetResizable(True)
        self.vote_box.setFrameShape(QFrame.Shape.NoFrame)
        self.vote_box.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        vote_row = QWidget()
        self.vote_layout = QHBoxLayout(vote_row)
        self.vote_layout.setContentsMargins(0, 0, 0, 0)
        self.vote_box.setWidget(vote_row)
        self.guess = QComboBox()
        self.vote_box.hide()

        row = QHBoxLayout()
        row.addWidget(self.system_toggle)
        row.addWidget(self.estimate, 1)
        row.addWidget(self.blind_check)
        for b in (
            self.add_button,
            self.new_button,
            self.export_button,
            self.export_all_button,
            self.settings_button,
            self.stop_button,
            self.send_button,
        ):
            row.addWidget(b)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(6, 0, 6, 6)
        bl.addWidget(self.vote_box)
        bl.addWidget(self.system)
        bl.addWidget(self.prompt)
        bl.addLayout(row)

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.banner)
        tl.addWidget(self.empty_hint)
        tl.addWidget(self.lanes_scroll, 1)
        outer = QSplitter(Qt.Orientation.Vertical)
        outer.addWidget(top)
        outer.addWidget(bottom)
        outer.setStretchFactor(0, 5)
        outer.setStretchFactor(1, 1)
        outer.setChildrenCollapsible(False)
        self.sidebar: SessionSidebar | None = None
        if store is not None:
            self.sidebar = SessionSidebar(store)
            self.sidebar.openRequested.connect(self.open_session)
            self.sidebar.renameRequested.connect(self.rename_session)
            self.sidebar.deleteRequested.connect(self.delete_session)
            self.sidebar.duplicateRequested.connect(self.duplicate_session)
            main = QSplitter(Qt.Orientation.Horizontal)
            main.addWidget(self.sidebar)
            main.addWidget(outer)
            main.setStretchFactor(1, 1)
            main.setSizes([240, 1160])
            self.setCentralWidget(main)
        else:
            self.setCentralWidget(outer)
        self.checkpoint_timer = QTimer(self)
        self.checkpoint_timer.setInterval(int(CHECKPOINT_INTERVAL_S * 1000))
        self.checkpoint_timer.timeout.connect(self._checkpoint)

        self.cost_label = QLabel()
        self.statusBar().addPermanentWidget(self.cost_label)

        self.frame = QTimer(self)
        self.frame.setInterval(FRAME_MS)
        self.frame.timeout.connect(self.flush)
        self.final_timer = QTimer(self)
        self.final_timer.setInterval(FINAL_RENDER_STAGGER_MS)
        self.final_timer.timeout.connect(self._render_next_final)
        self.estimate_timer = QTimer(self)
        self.estimate_timer.setSingleShot(True)
        self.estimate_timer.setInterval(ESTIMATE_DEBOUNCE_MS)
        self.estimate_timer.timeout.connect(self.update_estimates)

        self._shortcut("Esc", self.stop_all)
        self._shortcut("Ctrl+Return", self.send)
        self._shortcut("Ctrl+Enter", self.send)
        self._shortcut("Ctrl+N", self.new_session)
        self._shortcut("Ctrl+L", self.focus_prompt)
        self._shortcut("Ctrl+Q", self.close)
        for i in range(MAX_LANES):
            self._shortcut(f"Ctrl+{i + 1}", functools.partial(self.focus_lane, i))
        self._refresh()
        self.prompt.setFocus()

    def _shortcut(self, keys: str, slot: Callable[[], object]) -> None:
        sc = QShortcut(QKeySequence(keys), self)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(slot)

    # -- lanes -----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks)

    def add_lane(self, lane: Lane) -> LaneWidget:
        if len(self.session.lanes) >= MAX_LANES:
            raise ValueError(f"at most {MAX_LANES} lanes")
        self.session.lanes.append(lane)
        widget = self._add_widget(lane)
        if self.session.turns:
            widget.load(self.session)
        self._refresh()
        self._schedule_estimate()
        return widget

    def _add_widget(self, lane: Lane) -> LaneWidget:
        widget = LaneWidget(lane, len(self.lane_widgets))
        widget.stopRequested.connect(self.stop_lane)
        widget.retryRequested.connect(self.retry_lane)
        widget.removeRequested.connect(self.remove_lane)
        widget.moveRequested.connect(self.move_lane)
        widget.editRequested.connect(self.edit_lane)
        widget.rated.connect(self._rate)
        self.lane_widgets[lane.id] = widget
        self.lanes_splitter.addWidget(widget)
        return widget

    def remove_lane(self, lane_id: str) -> None:
        if self.busy:
            return
        widget = self.lane_widgets.pop(lane_id)
        self.session.retire(self.session.lane(lane_id))  # its answers stay, attributed to it
        widget.setParent(None)
        widget.deleteLater()
        self._refresh()

    def move_lane(self, lane_id: str, delta: int) -> None:
        lanes = self.session.lanes
        i = next(k for k, lane in enumerate(lanes) if lane.id == lane_id)
        j = i + delta
        if self.busy or not 0 <= j < len(lanes):
            return
        lanes[i], lanes[j] = lanes[j], lanes[i]
        self.lanes_splitter.insertWidget(j, self.lane_widgets[lane_id])
        self._refresh()

    def edit_lane(self, lane_id: str) -> None:
        if self._edit_lane is None or self.busy:
            return
        lane = self.session.lane(lane_id)
        edited = self._edit_lane(self, lane)
        if edited is None:
            return
        same_model = (edited.provider, edited.model, edited.params) == (
            lane.provider,
            lane.model,
            lane.params,
        )
        if same_model or not self.session.has_history(lane.id):
            lane.provider, lane.model, lane.params, lane.label = (
                edited.provider,
                edited.model,
                edited.params,
                edited.label,
            )
        else:
            # Answers are never re-attributed: the old lane keeps them (retired), and a
            # new lane with the new model takes its place from the next turn on.
            index = self.session.lanes.index(lane)
            fresh = Lane(edited.provider, edited.model, edited.params, edited.label)
            self.remove_lane(lane.id)
            self.session.lanes.insert(index, fresh)
            widget = self._add_widget(fresh)
            self.lanes_splitter.insertWidget(index, widget)
            self.statusBar().showMessage(
                f"{lane.display} keeps its answers; {fresh.display} answers from the next turn on", 10_000
            )
        self._refresh()
        self._schedule_estimate()

    def add_lane_dialog(self) -> None:
        if self._edit_lane is None or self.busy or len(self.session.lanes) >= MAX_LANES:
            return
        lane = self._edit_lane(self, None)
        if lane is not None:
            self.add_lane(lane)

    def focus_lane(self, index: int) -> None:
        """Focus the lane shown in position ``index`` (the shuffled order while masked)."""
        widget = self.lanes_splitter.widget(index) if index < self.lanes_splitter.count() else None
        if isinstance(widget, LaneWidget):
            self.lanes_scroll.ensureWidgetVisible(widget)
            widget.focus_answer()

    def focus_prompt(self) -> None:
        self.prompt.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _refresh(self) -> None:
        n = len(self.session.lanes)
        for i, lane in enumerate(self.session.lanes):
            widget = self.lane_widgets[lane.id]
            widget.update_header(i, n)
            widget.set_editable(not self.busy)
        self.lanes_splitter.setMinimumWidth(n * (MIN_LANE_WIDTH + 8))
        self.empty_hint.setVisible(n == 0)
        self.lanes_scroll.setVisible(n > 0)
        busy = self.busy
        self.send_button.setEnabled(not busy and n > 0)
        self.stop_button.setEnabled(busy)
        self.add_button.setEnabled(not busy and n < MAX_LANES)
        self.new_button.setEnabled(not busy)
        self.blind_check.blockSignals(True)
        self.blind_check.setChecked(self.session.blind)
        self.blind_check.blockSignals(False)
        self.blind_check.setEnabled(not self.session.turns and not busy)
        # While a turn is masked, an export would say who is who.
        last = self.session.turns[-1] if self.session.turns else None
        masked = self.session.blind and last is not None and last.vote is None
        self.export_button.setEnabled(not masked)
        self.export_all_button.setEnabled(not masked)
        title = self.session.title
        self.setWindowTitle(f"chatlab — {title}" if title else "chatlab")
        self._update_cost()

    def _toggle_system(self, shown: bool) -> None:
        self.system.setVisible(shown)
        self.system_toggle.setText(("▾" if shown else "▸") + " System prompt")

    # -- running ---------------------------------------------------------------------------

    def _listener(self, lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        self._dirty.add(lane.id)
        if self.saver is not None:
            self.saver.touch(self.session.turns[-1], resp)
            if isinstance(ev, Done | StreamError):
                self.saver.flush()  # a finished response is written at once

    def _system_text(self) -> str | None:
        text = self.system.toPlainText().strip()
        return text or None

    def _apply_system(self) -> None:
        system = self._system_text()
        for lane in self.session.lanes:
            if lane.params.system != system:
                from dataclasses import replace

                lane.params = replace(lane.params, system=system)

    def send(self, keep: bool = True) -> None:
        """Send the prompt to every lane; ``keep=False`` saves nothing until the user acts."""
        prompt = self.prompt.toPlainText()
        if not prompt.strip() or self.busy or not self.session.lanes or self._closing:
            return
        problems = []
        for lane in self.session.lanes:
            try:
                self.runner.check_lane(lane)
            except Exception as exc:
                problems.append(f"{lane.display}: {exc}")
        if problems:
            QMessageBox.warning(self, "chatlab", "These lanes can't run:\n\n" + "\n".join(problems))
            return
        self._apply_system()
        turn = self.session.new_turn(prompt)
        self.prompt.clear()
        run = self.runner.turn(self.session, turn, listener=self._listener)
        number = len(self.session.turns)
        if self.session.blind:
            turn.shown_order = [lane.id for lane in self.session.lanes]
            self._rng.shuffle(turn.shown_order)
            self._mask(turn)
        for lane in self.session.lanes:
            self.lane_widgets[lane.id].start_turn(turn, number)
        self.unsaved_demo = not keep
        self._persist()
        self.vote_box.hide()
        self._start(run)

    def retry_lane(self, lane_id: str) -> None:
        if not self.session.turns or self._closing:
            return
        widget = self.lane_widgets[lane_id]
        if widget.is_running:
            return
        turn = self.session.turns[-1]
        lane = self.session.lane(lane_id)
        run = self.runner.turn(self.session, turn, lanes=[lane], listener=self._listener)
        widget.start_turn(turn, len(self.session.turns), retry=True)
        self._start(run)

    def _start(self, run: TurnRun) -> None:
        self.runs.append(run)
        task = asyncio.ensure_future(self._drive(run))
        self._tasks.add(task)
        self.frame.start()
        if self.saver is not None:
            self.checkpoint_timer.start()
        self._refresh()

    async def _drive(self, run: TurnRun) -> None:
        try:
            await run.run()
        finally:
            self.runs.remove(run)
            self.flush()
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            if not self.runs:
                self.frame.stop()
                self.checkpoint_timer.stop()
                self._checkpoint()
                last = self.session.turns[-1] if self.session.turns else None
                if last is not None and self.session.blind and last.vote is None:
                    for widget in self.lane_widgets.values():
                        widget.reveal_answer()  # every answer appears at the same moment
                    self._show_vote_box(last)
                elif last is not None and len(self.session.lanes) > 1:
                    self._show_vote_box(last)
            self._refresh()
            self._schedule_estimate()
            self.turnFinished.emit()

    def stop_lane(self, lane_id: str) -> None:
        for run in self.runs:
            run.cancel(lane_id)

    def stop_all(self) -> None:
        for run in self.runs:
            run.cancel_all()

    def flush(self) -> None:
        """One frame: bring every lane that received events up to date."""
        for lane_id, shown in self.lane_widgets.items():
            if shown.response is not None and shown.response.retry is not None:
                self._dirty.add(lane_id)  # the "retrying in N s" countdown ticks
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        for lane_id in dirty:
            widget = self.lane_widgets.get(lane_id)
            if widget is not None:
                widget.flush(self._queue_final)
                total, est = self._lane_total(lane_id)
                widget.update_status(total, est)
                self.laneFlushed.emit(lane_id)
        self._update_cost()

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

    # -- figures ---------------------------------------------------------------------------

    def _lane_total(self, lane_id: str) -> tuple[float | None, bool]:
        total: float | None = None
        estimated = False
        for turn in self.session.turns:
            resp = turn.responses.get(lane_id)
            if resp is not None and resp.cost_usd is not None:
                total = (total or 0.0) + resp.cost_usd
                estimated = estimated or resp.usage.estimated
        return total, estimated

    def _update_cost(self) -> None:
        last = self.session.turns[-1] if self.session.turns else None
        if self.session.blind and last is not None and last.vote is None:
            self.cost_label.setText("Session cost hidden until you vote")
            return
        total = 0.0
        estimated = False
        unpriced = 0
        for turn in self.session.turns:
            for resp in turn.responses.values():
                if resp.cost_usd is None:
                    unpriced += resp.status.finished
                else:
                    total += resp.cost_usd
                    estimated = estimated or resp.usage.estimated
        text = f"Session cost {fmt.cost(total, estimated)}"
        if unpriced:
            text += f" · {unpriced} response{'s' if unpriced > 1 else ''} with no price"
        self.cost_label.setText(text)

    def _schedule_estimate(self) -> None:
        self.estimate_timer.start()

    def update_estimates(self) -> None:
        """Per-lane input tokens and cost of sending the current prompt (≈, debounced)."""
        prompt = self.prompt.toPlainText()
        system = self._system_text()
        if not prompt.strip():
            self.estimate.setText("")
            self.estimate.setToolTip("")
            for widget in self.lane_widgets.values():
                widget.next_estimate = ""
                widget.update_status(*self._lane_total(widget.lane.id))
            return
        cheapest: list[str] = []
        most = 0
        for lane in self.session.lanes:
            texts = [m.content for m in self._history(lane)] + [prompt] + ([system] if system else [])
            tokens = count_messages(texts, lane.model).tokens
            price = pricing.lookup(self.runner.config, lane.provider, lane.model)
            cost = None if price is None else tokens * price.input / 1_000_000
            widget = self.lane_widgets[lane.id]
            widget.next_estimate = f"≈{tokens:,} in · {fmt.cost(cost, True)} input"
            widget.update_status(*self._lane_total(lane.id))
            cheapest.append(f"{lane.display}: ≈{tokens:,} tok")
            most = max(most, tokens)
        last = self.session.turns[-1] if self.session.turns else None
        if self.session.blind and last is not None and last.vote is None:
            # Masked: names and prices would say who is who.
            self.estimate.setText(f"Next send — up to ≈{most:,} tokens of input per lane")
            self.estimate.setToolTip(self.estimate.text())
            return
        self.estimate.setText("Next send — " + " · ".join(cheapest))
        self.estimate.setToolTip(" · ".join(cheapest))  # the label may be cut; the tip is whole

    def _history(self, lane: Lane) -> list[Message]:
        if not self.session.turns:
            return []
        ghost = Turn(prompt="")
        self.session.turns.append(ghost)
        try:
            return self.session.history(lane.id, ghost)[:-1]
        finally:
            self.session.turns.pop()

    # -- sessions and settings -------------------------------------------------------------------

    # -- persistence, blind mode, votes and ratings ------------------------------------------------

    def _persist(self) -> None:
        if self.store is None or self.unsaved_demo:
            return
        try:
            self.store.save_session(self.session)
        except Exception as exc:  # a full disk must not take the lanes down
            self.statusBar().showMessage(f"Could not save the session: {exc}", 10_000)
            return
        if self.saver is None or self.saver.session is not self.session:
            self.saver = Checkpointer(self.store, self.session)
        if self.sidebar is not None:
            self.sidebar.current_id = self.session.id
            self.sidebar.refresh()

    def _checkpoint(self) -> None:
        if self.saver is not None and not self.saver.flush() and self.saver.problem:
            self.statusBar().showMessage(self.saver.problem.capitalize(), 10_000)

    def _set_blind(self, blind: bool) -> None:
        if not self.session.turns:
            self.session.blind = blind

    def _mask(self, turn: Turn) -> None:
        """Show the lanes as Model A, B, C… in the turn's shuffled order."""
        order = turn.shown_order or [lane.id for lane in self.session.lanes]
        for position, lane_id in enumerate(order):
            widget = self.lane_widgets[lane_id]
            self.lanes_splitter.insertWidget(position, widget)
            widget.set_blind(chr(ord("A") + position))
        self.vote_box.hide()

    def _unmask(self) -> None:
        for i, lane in enumerate(self.session.lanes):
            widget = self.lane_widgets[lane.id]
            self.lanes_splitter.insertWidget(i, widget)
            widget.set_blind(None)
            widget.load(self.session)  # the whole history again, now that it is revealed
            widget.update_status(*self._lane_total(lane.id))
        self._refresh()

    def _show_vote_box(self, turn: Turn) -> None:
        while self.vote_layout.count():
            item = self.vote_layout.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        masked = self.session.blind and turn.vote is None
        order = turn.shown_order if masked and turn.shown_order else [lane.id for lane in self.session.lanes]
        names = {lane.id: lane.display for lane in (*self.session.lanes, *self.session.retired)}
        self.vote_layout.addWidget(QLabel("Which answer is best?"))
        choices = [
            (lane_id, f"Model {chr(ord('A') + i)}" if masked else names.get(lane_id, "?"))
            for i, lane_id in enumerate(order)
            if lane_id in turn.responses and not turn.responses[lane_id].failed  # nothing to vote for
        ]
        if not choices:  # every lane failed: there is no answer to judge
            self.vote_box.hide()
            return
        for choice, text in [*choices, ("tie", "Tie"), ("all_bad", "All bad")]:
            button = QPushButton(text)
            button.setObjectName(f"vote-{choice}")
            button.setCheckable(True)
            button.setChecked(turn.vote is not None and turn.vote.choice == choice)
            button.clicked.connect(functools.partial(self.vote, choice))
            self.vote_layout.addWidget(button)
        self.guess = QComboBox()
        if masked:
            self.guess.addItem("Which one reasoned? (optional guess)", None)
            for i, lane_id in enumerate(order):
                self.guess.addItem(f"Model {chr(ord('A') + i)}", lane_id)
            self.vote_layout.addWidget(self.guess)
        self.vote_layout.addStretch(1)
        row = self.vote_box.widget()
        bar = self.vote_box.horizontalScrollBar().sizeHint().height()
        self.vote_box.setFixedHeight((row.sizeHint().height() if row is not None else 30) + bar)
        self.vote_box.show()

    def vote(self, choice: str) -> None:
        """Record the vote on the last turn (what the user saw), then reveal everything."""
        if not self.session.turns or self.busy:
            return
        turn = self.session.turns[-1]
        was_masked = self.session.blind and turn.vote is None
        guess = self.guess.currentData() if was_masked else (turn.vote.guess_reasoner if turn.vote else None)
        turn.vote = Vote(choice=choice, guess_reasoner=guess, rater=self.rater)
        self._write(lambda store: store.vote(turn.id, turn.vote) if turn.vote else None)
        if was_masked:
            self.vote_box.hide()  # a blind vote records what was seen; it is not re-cast after the reveal
            self._unmask()
        else:
            self._show_vote_box(turn)  # votes can be changed: the choice stays highlighted
        lane_names = {lane.id: lane.display for lane in self.session.lanes}
        self.statusBar().showMessage(f"Voted: {lane_names.get(choice, choice.replace('_', ' '))}", 10_000)

    def _rate(self, lane_id: str, rating: Rating) -> None:
        if not self.session.turns:
            return
        turn = self.session.turns[-1]
        resp = turn.responses.get(lane_id)
        if resp is None:
            return
        rating.rater = self.rater
        resp.rating = rating
        self._write(lambda store: store.rate(turn.id, lane_id, rating))

    def _write(self, change: Callable[[Store], object]) -> None:
        """Save a user's change (a vote, a rating); an unsaved demo session is kept now."""
        if self.store is None:
            return
        if self.unsaved_demo:
            self.unsaved_demo = False
            self._persist()  # the whole session, with its answers, then the change
        try:
            change(self.store)
        except Exception as exc:  # a full or busy disk must not take the window down
            self.statusBar().showMessage(f"Could not save: {exc}", 10_000)

    # -- sessions from the sidebar -----------------------------------------------------------------

    def _replace_session(self, session: Session) -> None:
        for widget in self.lane_widgets.values():
            widget.setParent(None)
            widget.deleteLater()
        self.lane_widgets.clear()
        self.session = session
        self.saver = Checkpointer(self.store, session) if self.store is not None and session.turns else None
        for lane in session.lanes:
            widget = self._add_widget(lane)
            if session.turns:
                widget.load(session)
        self.vote_box.hide()
        last = session.turns[-1] if session.turns else None
        if session.blind and last is not None and last.vote is None:
            self._mask(last)
            for widget in self.lane_widgets.values():
                widget.load(session, only_last=True)
                widget.mark_revealed()
            self._show_vote_box(last)
        elif last is not None and len(session.lanes) > 1:
            self._show_vote_box(last)
        for lane_id, widget in self.lane_widgets.items():
            widget.update_status(*self._lane_total(lane_id))  # the same line as when it streamed
        if self.sidebar is not None:
            self.sidebar.current_id = session.id if session.turns else None
        self._refresh()

    def _load(self, session_id: str) -> Session | None:
        assert self.store is not None
        try:
            return self.store.load(session_id)
        except (KeyError, StoreError) as exc:
            self.statusBar().showMessage(f"Could not open the session: {exc}", 15_000)
            return None

    def open_session(self, session_id: str) -> None:
        if self.busy or self.store is None:
            return
        session = self._load(session_id)
        if session is not None:
            self._replace_session(session)

    def rename_session(self, session_id: str) -> None:
        if self.store is None:
            return
        current = self.session.title if session_id == self.session.id else ""
        title, ok = QInputDialog.getText(self, "Rename session", "Title:", text=current)
        if ok and title.strip():
            self.store.rename(session_id, title.strip())
            if session_id == self.session.id:
                self.session.title = title.strip()
            self._refresh()
            if self.sidebar is not None:
                self.sidebar.refresh()

    def delete_session(self, session_id: str, confirm: bool = True) -> None:
        if self.store is None or (self.busy and session_id == self.session.id):
            return
        if confirm:
            answer = QMessageBox.question(self, "Delete session", "Delete this session and all its answers?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.store.delete(session_id)
        if session_id == self.session.id:
            self.new_session()
        if self.sidebar is not None:
            self.sidebar.refresh()

    def duplicate_session(self, session_id: str) -> None:
        """Run a session's first prompt again: same lanes (editable), prompt ready to send."""
        if self.busy or self.store is None:
            return
        source = self._load(session_id)
        if source is None:
            return
        fresh = Session(
            lanes=[Lane(x.provider, x.model, x.params, x.label) for x in source.lanes], blind=source.blind
        )
        self._replace_session(fresh)
        if source.turns:
            self.prompt.setPlainText(source.turns[0].prompt)
        self.focus_prompt()

    def export_current(self) -> None:
        if not self.session.turns:
            return
        session = self.session
        self._export([session.id], lambda _id: session, f"chatlab-{session.id[:8]}.json")

    def export_all(self) -> None:
        if self.store is not None:
            self._export(self.store.ids(), self.store.load, "chatlab-sessions.json")

    def _export(self, ids: list[str], load: Callable[[str], Session], name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export sessions", name, "JSON (*.json)")
        if not path:
            return
        doc, problems = export_sessions(ids, load)
        try:
            Path(path).write_text(
                json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False), encoding="utf-8"
            )
        except OSError as exc:
            QMessageBox.warning(self, "chatlab", f"Could not write {path}: {exc.strerror}")
            return
        message = f"Exported {len(doc['sessions'])} session(s) to {path}"
        if problems:
            message += f"; left out {len(problems)} damaged: " + "; ".join(problems)[:300]
        self.statusBar().showMessage(message, 15_000)

    def new_session(self) -> None:
        if self.busy:
            return
        lanes = [Lane(lane.provider, lane.model, lane.params, lane.label) for lane in self.session.lanes]
        for widget in self.lane_widgets.values():
            widget.setParent(None)
            widget.deleteLater()
        self.lane_widgets.clear()
        self.session = Session(blind=self.session.blind)
        self.saver = None
        self.vote_box.hide()
        if self.sidebar is not None:
            self.sidebar.current_id = None
            self.sidebar.refresh()
        for lane in lanes:
            self.add_lane(lane)
        self._refresh()
        self.focus_prompt()

    def show_settings(self) -> None:
        if self._open_settings is not None:
            self._open_settings(self)

    # -- closing ---------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Cancel running lanes, wait for them, close the adapters."""
        self._closing = True
        self.stop_all()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._checkpoint()
        with contextlib.suppress(Exception):
            await self.runner.aclose()
        self.frame.stop()
        self.final_timer.stop()
        self.shutdown_done = True
        self.shutdownComplete.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing and not self._tasks:
            event.accept()
            return
        event.ignore()
        if not self._closing:
            self._shutdown_task = asyncio.ensure_future(self.shutdown())
            self._shutdown_task.add_done_callback(lambda _t: self.close())
