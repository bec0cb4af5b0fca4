"""The main window: layout and wiring only.

Every session behaviour lives in the Qt-free :class:`~chatlab.core.lab.Lab`; the window
places the small widgets that show it (toolbar, history sidebar, lanes area, reveal card,
vote bar, prompt area, status bar), connects their signals to the lab, and redraws what
the lab's events say changed. Shortcuts follow what is shown: Ctrl+1…8 focus and
Alt+1…8 vote for the lane in that *shown* position, so while a turn is masked they
reveal nothing.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from chatlab.core import format as fmt
from chatlab.core.lab import (
    Lab,
    LabError,
    LabEvent,
    LanesChanged,
    Said,
    Saved,
    TurnFinished,
    TurnStarted,
    Voted,
)
from chatlab.core.model import Lane, Rating, Session
from chatlab.core.orchestrator import Runner, TurnRun
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store
from chatlab.ui.lane import LaneWidget
from chatlab.ui.lanes import LanesArea
from chatlab.ui.prompt import PromptArea
from chatlab.ui.reveal import RevealCard
from chatlab.ui.sessions import SessionActions
from chatlab.ui.toolbar import Toolbar
from chatlab.ui.votebar import ALL_BAD_KEY, TIE_KEY, VoteBar

ESTIMATE_DEBOUNCE_MS = 300
MAX_LANES = 8


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
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        saver = functools.partial(Checkpointer, store) if store is not None else None
        self.lab = Lab(runner, store=store, saver_factory=saver, rater=rater)
        self.store = store
        self._open_settings = open_settings
        self._edit_lane = edit_lane
        self._settings = settings
        self._closing = False
        self.shutdown_done = False
        self.setWindowTitle("chatlab")
        self._init_widgets(demo_banner)
        self._init_layout()
        self._init_shortcuts()
        self.lab.subscribe(self._on_lab)
        self._restore_geometry()
        self._refresh()
        self.prompt_area.focus()

    # -- construction -----------------------------------------------------------------------

    def _init_widgets(self, demo_banner: str) -> None:
        self.estimate_timer = QTimer(self)
        self.estimate_timer.setSingleShot(True)
        self.estimate_timer.setInterval(ESTIMATE_DEBOUNCE_MS)
        self.estimate_timer.timeout.connect(self.update_estimates)
        self.toolbar = Toolbar(self, has_store=self.store is not None)
        self.addToolBar(self.toolbar)
        self.banner = QLabel(demo_banner)
        self.banner.setObjectName("banner")
        self.banner.setProperty("role", "turn")
        self.banner.setWordWrap(True)
        self.banner.setVisible(bool(demo_banner))
        self.actions_ = SessionActions(self)
        self.lanes = LanesArea(self.lab, self.actions_.wire)
        self.lanes.laneFlushed.connect(self.laneFlushed)
        self.reveal = RevealCard()
        self.vote_bar = VoteBar()
        self.vote_bar.voted.connect(self.vote)
        self.prompt_area = PromptArea()
        self.prompt_area.sendRequested.connect(self.send)
        self.prompt_area.stopRequested.connect(self.stop_all)
        self.prompt_area.blindToggled.connect(self._set_blind)
        self.prompt_area.changed.connect(lambda: self.estimate_timer.start())
        self.cost_label = QLabel()
        self.statusBar().addPermanentWidget(self.cost_label)

    def _init_layout(self) -> None:
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(8, 8, 8, 0)
        for widget in (self.banner, self.reveal):
            tl.addWidget(widget)
        tl.addWidget(self.lanes, 1)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(8, 4, 8, 8)
        bl.addWidget(self.vote_bar)
        bl.addWidget(self.prompt_area, 1)
        self.outer = QSplitter(Qt.Orientation.Vertical)
        self.outer.addWidget(top)
        self.outer.addWidget(bottom)
        self.outer.setStretchFactor(0, 4)  # the prompt area takes about a fifth of the height
        self.outer.setStretchFactor(1, 1)
        self.outer.setChildrenCollapsible(False)
        self.main = QSplitter(Qt.Orientation.Horizontal)
        self.sidebar = self.actions_.sidebar
        if self.sidebar is not None:
            self.main.addWidget(self.sidebar)
        self.main.addWidget(self.outer)
        self.main.setStretchFactor(self.main.count() - 1, 1)
        self.setCentralWidget(self.main)
        screen = self.screen().availableGeometry()  # never larger than the screen
        self.resize(min(1400, screen.width()), min(880, screen.height()))
        if self.sidebar is not None:
            self.main.setSizes([220, self.width() - 220])
        self.outer.setSizes([int(self.height() * 0.78), int(self.height() * 0.22)])

    def _init_shortcuts(self) -> None:
        keys: list[tuple[str, Callable[[], object]]] = [
            ("Esc", self.stop_all),
            ("Ctrl+Return", self.send),
            ("Ctrl+Enter", self.send),
            ("Ctrl+N", self.new_session),
            ("Ctrl+L", self.prompt_area.focus),
            ("Ctrl+Q", self.close),
            ("Ctrl+B", self.toggle_sidebar),
            ("Ctrl+R", lambda: self._on_focused(lambda w: self.retry_lane(w.lane.id))),
            ("Ctrl+Shift+C", lambda: self._on_focused(LaneWidget.copy_current)),
            ("Ctrl+Shift+R", lambda: self._on_focused(LaneWidget.toggle_reasoning)),
            (TIE_KEY, lambda: self.vote_bar.vote_special("tie")),
            (ALL_BAD_KEY, lambda: self.vote_bar.vote_special("all_bad")),
        ]
        for i in range(MAX_LANES):
            keys.append((f"Ctrl+{i + 1}", functools.partial(self.lanes.focus_lane, i)))
            keys.append((f"Alt+{i + 1}", functools.partial(self.vote_bar.vote_position, i)))
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

    def _on_focused(self, action: Callable[[LaneWidget], object]) -> None:
        widget = self.lanes.focused_lane() or self.lanes.widget_at(0)
        if widget is not None:
            action(widget)

    # -- state shortcuts for callers and tests -----------------------------------------------

    @property
    def session(self) -> Session:
        return self.lab.session

    @property
    def runs(self) -> list[TurnRun]:
        return self.lab.runs

    @property
    def busy(self) -> bool:
        return self.lab.busy

    @property
    def lane_widgets(self) -> dict[str, LaneWidget]:
        return self.lanes.widgets

    @property
    def prompt(self) -> QPlainTextEdit:  # the editor
        return self.prompt_area.prompt

    # -- the lab's events -------------------------------------------------------------------

    def _on_lab(self, event: LabEvent) -> None:
        if isinstance(event, LanesChanged):
            self._refresh()
        elif isinstance(event, TurnStarted):
            self.reveal.dismiss()
            self.vote_bar.hide()
            self._refresh()
            self.lanes.start_turn(event.turn, event.lane_ids, event.retry)
        elif isinstance(event, TurnFinished):
            self.lanes.flush()
            if self.lab.masked:
                self.lanes.reveal_answers()
            self.vote_bar.show_for(self.lab)
            self._refresh()
            self.estimate_timer.start()
            self.turnFinished.emit()
        elif isinstance(event, Voted):
            if event.reveal is not None:
                self.lanes.sync()
                self.lanes.load()  # the whole history again, now that it is revealed
                self.reveal.show_reveal(event.reveal)
            self.vote_bar.show_for(self.lab)
            self.statusBar().showMessage(
                f"Voted: {event.reveal.winner if event.reveal else self._voted()}", 10_000
            )
        elif isinstance(event, Said):
            self.statusBar().showMessage(event.text, 10_000)
        elif isinstance(event, Saved):
            self.actions_.saved()

    def _voted(self) -> str:
        turn = self.lab.last_turn
        choice = turn.vote.choice if turn and turn.vote else ""
        return (
            self.lab.name_of(choice)
            if choice in (turn.responses if turn else {})
            else choice.replace("_", " ")
        )

    def _refresh(self) -> None:
        self.lanes.sync()
        lab = self.lab
        busy, n = lab.busy, len(lab.session.lanes)
        blind_editable = not lab.session.turns and not busy
        self.prompt_area.set_state(busy=busy, lanes=n, blind=lab.session.blind, blind_editable=blind_editable)
        self.toolbar.set_state(busy=busy, lanes=n, masked=lab.masked, turns=bool(lab.session.turns))
        title = lab.session.title
        self.setWindowTitle(f"chatlab — {title}" if title else "chatlab")
        self._update_cost()

    def _update_cost(self) -> None:
        if self.lab.masked:
            self.cost_label.setText("Session cost hidden until you vote")
            return
        total = self.lab.session_cost()
        text = f"Session cost {fmt.cost(total.total, total.estimated)}"
        if total.unpriced:
            text += f" · {total.unpriced} response{'s' if total.unpriced > 1 else ''} with no price"
        self.cost_label.setText(text)

    def update_estimates(self) -> None:
        """Per-lane input tokens and cost of sending the current prompt (≈, debounced)."""
        self.lab.set_system(self.prompt_area.system_text())
        estimates = self.lab.estimates(self.prompt_area.text())
        per_lane = {e.lane_id: f"≈{e.tokens:,} in · {fmt.cost(e.cost, True)} input" for e in estimates}
        if not estimates:
            self.prompt_area.set_estimate("")
        elif self.lab.masked:  # names and prices would say who is who
            per_lane = {}
            self.prompt_area.set_estimate(
                f"Next send: up to ≈{max(e.tokens for e in estimates):,} input tokens per lane"
            )
        else:
            self.prompt_area.set_estimate(
                "Next send: "
                + " · ".join(f"{self.lab.name_of(e.lane_id)} ≈{e.tokens:,} tok" for e in estimates)
            )
        self.lanes.refresh_status(per_lane)
        self._update_cost()

    # -- actions --------------------------------------------------------------------------

    def _try(self, action: Callable[[], object]) -> bool:
        try:
            action()
        except LabError as exc:
            QMessageBox.warning(self, "chatlab", str(exc))
            return False
        return True

    def send(self, keep: bool = True) -> None:
        """Send the prompt to every lane; ``keep=False`` saves nothing until the user acts."""
        text = self.prompt_area.text()
        if not text.strip() or self.busy or self._closing or not self.lab.session.lanes:
            return
        self.lab.set_system(self.prompt_area.system_text())
        if self._try(lambda: self.lab.send(text, keep)):
            self.prompt_area.prompt.clear()

    def stop_all(self) -> None:
        self.lab.stop_all()

    def retry_lane(self, lane_id: str) -> None:
        self._try(lambda: self.lab.retry(lane_id))

    def add_lane(self, lane: Lane) -> LaneWidget:
        self.lab.add_lane(lane)
        self.estimate_timer.start()
        return self.lanes.widgets[lane.id]

    def vote(self, choice: str, guessed: list[str] | None = None) -> None:
        self._try(lambda: self.lab.vote(choice, guessed))

    def rate(self, lane_id: str, rating: Rating) -> None:
        self.lab.rate(lane_id, rating)

    def _set_blind(self, blind: bool) -> None:
        self._try(lambda: self.lab.set_blind(blind))

    def new_session(self) -> None:
        self.actions_.new_session()

    def open_session(self, session_id: str) -> None:
        self.actions_.open_session(session_id)

    def show_settings(self) -> None:
        if self._open_settings is not None:
            self._open_settings(self)

    def toggle_sidebar(self) -> None:
        if self.sidebar is not None:
            self.sidebar.setVisible(not self.sidebar.isVisible())

    def render_pending_finals(self) -> None:
        self.lanes.render_pending_finals()

    # -- geometry and closing --------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        if self._settings is None:
            return
        geometry = self._settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        screen = self.screen().availableGeometry()
        self.resize(min(self.width(), screen.width()), min(self.height(), screen.height()))
        if self.sidebar is not None and self._settings.value("sidebar") == "hidden":
            self.sidebar.hide()

    def _save_geometry(self) -> None:
        if self._settings is not None:
            self._settings.setValue("geometry", self.saveGeometry())
            hidden = self.sidebar is not None and self.sidebar.isHidden()
            self._settings.setValue("sidebar", "hidden" if hidden else "shown")
            self._settings.sync()

    async def shutdown(self) -> None:
        """Cancel running lanes, wait for them, save, close the adapters."""
        self._closing = True
        self._save_geometry()
        await self.lab.shutdown()
        self.lanes.stop_timers()
        self.shutdown_done = True
        self.shutdownComplete.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing and self.shutdown_done:
            event.accept()
            return
        event.ignore()
        if not self._closing:
            task = asyncio.ensure_future(self.shutdown())
            task.add_done_callback(lambda _t: self.close())
