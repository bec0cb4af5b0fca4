"""The main window: layout and wiring only.

Every session behaviour lives in the Qt-free :class:`~chatlab.core.lab.controller.Lab`; the window
places the small widgets that show it (toolbar, history sidebar, lanes area, reveal card,
vote bar, prompt area, status bar), connects their signals to the lab, and redraws what
the lab's events say changed. What the user can do from the toolbar, its menus and the
keyboard is registered once by name (``actions.py``) and enabled from one place, the
redraw. Shortcuts follow what is shown: Ctrl+1…8 focus and Alt+1…8 vote for the lane in
that *shown* position, so while a turn is masked they reveal nothing. The history
sidebar folds by itself when the lanes need its room and opens again when they don't,
unless the user toggled it (``fit_sidebar``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data.model import Lane, Session
from chatlab.core.lab.controller import Lab, LabError
from chatlab.core.lab.lab_events import (
    LabEvent,
    LanesChanged,
    Said,
    Saved,
    TurnFinished,
    TurnStarted,
    Unvoted,
    Voted,
)
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.raters import Rater
from chatlab.core.studies.study import StudyInfo
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store
from chatlab.ui.lab import actions, geometry, shortcuts
from chatlab.ui.lab.actions import WindowState
from chatlab.ui.lab.lane import LaneWidget
from chatlab.ui.lab.lanes import LanesArea
from chatlab.ui.lab.prompt import PromptArea
from chatlab.ui.lab.session_actions import SessionActions
from chatlab.ui.lab.sidebar import SessionSidebar, show_hit
from chatlab.ui.lab.statusbar import CostLabel
from chatlab.ui.lab.toolbar import Toolbar
from chatlab.ui.lab.votebar import VoteBar
from chatlab.ui.rating.reveal import RevealCard
from chatlab.ui.shared.actions import ActionRegistry

if TYPE_CHECKING:
    from chatlab.ui.results.leaderboard import LeaderboardView
    from chatlab.ui.studies.view import StudiesView

ESTIMATE_DEBOUNCE_MS = 300
SIDEBAR_WIDTH = 220


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
        rater_of: Callable[[], Rater] | None = None,
        demo_banner: str = "",
        open_settings: Callable[[MainWindow], None] | None = None,
        edit_lane: Callable[[MainWindow, Lane | None], Lane | None] | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        saver = functools.partial(Checkpointer, store) if store is not None else None
        if store is not None and rater_of is not None:
            rater_of = functools.partial(self._ask_rater, store)
        self.lab = Lab(runner, store=store, saver_factory=saver, rater=rater, rater_of=rater_of)
        self.store = store
        self._open_settings = open_settings
        self._settings = settings
        self._closing = False
        self.shutdown_done = False
        self.studies: StudiesView | None = None
        self.leaderboard: LeaderboardView | None = None
        self.rate_windows: list[QWidget] = []
        self.setWindowTitle("chatlab")
        self._init_widgets(demo_banner, edit_lane)
        self._init_layout()
        self.lab.subscribe(self._on_lab)
        self.sidebar_user_hidden = geometry.restore(self, settings, self.sidebar)
        self._refresh()
        self.prompt_area.focus()

    # -- construction -----------------------------------------------------------------------

    def _init_widgets(
        self, demo_banner: str, edit_lane: Callable[[MainWindow, Lane | None], Lane | None] | None
    ) -> None:
        self.estimate_timer = QTimer(self)
        self.estimate_timer.setSingleShot(True)
        self.estimate_timer.setInterval(ESTIMATE_DEBOUNCE_MS)
        self.estimate_timer.timeout.connect(self.update_estimates)
        editor = functools.partial(edit_lane, self) if edit_lane is not None else None
        self.actions_ = SessionActions(self.lab, self.store, self, editor)
        # Every action once, by name; the toolbar and the key table bind to the names.
        self.registry: ActionRegistry[WindowState] = ActionRegistry(self)
        actions.register(self.registry, self, self.actions_)
        shortcuts.install(self.registry)
        self.toolbar = Toolbar(self.registry, has_store=self.store is not None)
        self.addToolBar(self.toolbar)
        self.banner = QLabel(demo_banner)
        self.banner.setObjectName("banner")
        self.banner.setProperty("role", "turn")
        self.banner.setWordWrap(True)
        self.banner.setVisible(bool(demo_banner))
        self.lanes: LanesArea = LanesArea(self.lab, self.actions_.wire)
        self.lanes.laneFlushed.connect(self.laneFlushed)
        self.lanes.laneFlushed.connect(self._lane_flushed)
        self.actions_.hitShown.connect(lambda turn, lane: show_hit(self.lanes, turn, lane))
        self.lanes.stopAllRequested.connect(self.stop_all)
        self.reveal = RevealCard()
        self.vote_bar: VoteBar = VoteBar()
        self.vote_bar.voted.connect(self.vote)
        self.vote_bar.rateLater.connect(self.rate_later)
        self.vote_bar.undoRequested.connect(self.undo_vote)
        self.vote_bar.newBlindTurn.connect(lambda: self.registry.trigger("session.new_blind"))
        self.prompt_area: PromptArea = PromptArea()
        self.prompt_area.sendRequested.connect(self.send)
        self.prompt_area.stopRequested.connect(self.stop_all)
        self.prompt_area.blindToggled.connect(self._set_blind)
        self.prompt_area.showReasoningToggled.connect(self._set_show_reasoning)
        self.prompt_area.changed.connect(lambda: self.estimate_timer.start())
        self.cost_label = CostLabel()
        self.unsaved_label: QLabel | None = None
        if self.store is None:
            # Said for as long as it lasts, not only in the dialog at start.
            self.unsaved_label = QLabel("Not saving: the session database can't be opened")
            self.unsaved_label.setProperty("role", "badge")
            self.unsaved_label.setProperty("tone", "bad")
            self.unsaved_label.setToolTip(
                "Sessions, history, studies and the Leaderboard need the database. "
                "Move the damaged file aside and restart chatlab to start a new one."
            )
            self.statusBar().addPermanentWidget(self.unsaved_label)
        self.statusBar().addPermanentWidget(self.cost_label)
        self.actions_.said.connect(self.statusBar().showMessage)
        self.actions_.shown.connect(self._show_session)
        self.actions_.refreshRequested.connect(self._refresh)
        self.actions_.estimatesStale.connect(self.estimate_timer.start)
        self.actions_.retryRequested.connect(self.retry_lane)

    def _init_layout(self) -> None:
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(8, 8, 8, 0)
        for widget in (self.banner, self.reveal):
            tl.addWidget(widget)
        tl.addWidget(self.lanes, 1)
        tl.addWidget(self.vote_bar)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(8, 4, 8, 8)
        bl.addWidget(self.prompt_area, 1)
        self.outer = QSplitter(Qt.Orientation.Vertical)
        self.outer.addWidget(top)
        self.outer.addWidget(bottom)
        self.outer.setStretchFactor(0, 4)  # the prompt area takes about a fifth of the height
        self.outer.setStretchFactor(1, 1)
        self.outer.setChildrenCollapsible(False)
        self.main = QSplitter(Qt.Orientation.Horizontal)
        self.sidebar: SessionSidebar | None = self.actions_.sidebar
        # The sidebar folds by itself when the lanes need its room, and comes back when
        # there is room again, unless the user chose: their own toggle is kept.
        self.sidebar_auto_hidden = False
        self.sidebar_user_hidden = False
        self.sidebar_user_shown = False  # opened by hand over lanes that need the room
        if self.sidebar is not None:
            self.main.addWidget(self.sidebar)
        self.main.addWidget(self.outer)
        self.main.setStretchFactor(self.main.count() - 1, 1)
        self.setCentralWidget(self.main)
        screen = self.screen().availableGeometry()  # never larger than the screen
        self.resize(min(1400, screen.width()), min(880, screen.height()))
        if self.sidebar is not None:
            self.main.setSizes([SIDEBAR_WIDTH, self.width() - SIDEBAR_WIDTH])
        self._two_rows = False  # the lanes' grid had two rows at the last fit
        self._fit_prompt(two_rows=False)

    def _fit_prompt(self, two_rows: bool) -> None:
        """The prompt area about a fifth of the height, never a slab; with two rows of
        lanes, as small as it goes, so the rows have room. Only when the rows change, so a
        height the user dragged stays."""
        self._two_rows = two_rows
        total = max(sum(self.outer.sizes()), self.height())
        prompt = min(170, max(120, int(self.height() * 0.18)))
        bottom = self.outer.widget(1)
        if two_rows and bottom is not None:
            prompt = min(prompt, max(bottom.minimumSizeHint().height(), 96))
        self.outer.setSizes([total - prompt, prompt])

    def on_focused(self, action: Callable[[LaneWidget], object]) -> None:
        widget = self.lanes.focused_lane() or self.lanes.widget_at(0)
        if widget is not None:
            action(widget)

    # -- state shortcuts for callers and tests -----------------------------------------------

    @property
    def session(self) -> Session:
        return self.lab.session

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
            self.update_estimates()  # never a moment of names over a masked turn
        elif isinstance(event, TurnFinished):
            self.lanes.flush()
            if self.lab.masked:
                self.lanes.reveal_answers()
            elif self.lab.void(event.turn):  # stopped while blind: names shown, no vote
                self.lanes.sync()
                self.lanes.load()
                self.statusBar().showMessage(
                    "This blind turn was stopped, so it can't be judged blind: its names are shown "
                    "and it takes no vote",
                    15_000,
                )
            self.vote_bar.show_for(self.lab)
            self._refresh()
            self.estimate_timer.start()
            self.turnFinished.emit()
        elif isinstance(event, Voted):
            self.votes_changed()
            if event.reveal is not None:
                self.banner.hide()  # the demo's question is answered; the lanes get the room
                self.lanes.sync()
                self.lanes.load()  # the whole history again, now that it is revealed
                self.reveal.show_reveal(event.reveal, cramped=self.lanes.two_rows())
            self.vote_bar.show_for(self.lab)
            self.update_estimates()
            choice = event.turn.vote.choice if event.turn.vote else ""
            self.statusBar().showMessage(f"Voted: {self.lab.choice_name(choice)}", 10_000)
        elif isinstance(event, Unvoted):
            self.votes_changed()
            self.reveal.dismiss()  # the card told of the vote taken back; the names stay shown
            self.vote_bar.show_for(self.lab)
            self.statusBar().showMessage(
                "Vote taken back"
                + (": the names stay shown, so a new vote is sighted" if self.lab.session.blind else ""),
                10_000,
            )
        elif isinstance(event, Said):
            self.statusBar().showMessage(event.text, 10_000)
        elif isinstance(event, Saved):
            self.actions_.saved()

    def _refresh(self) -> None:
        self.lanes.sync()
        self.fit_sidebar()
        two_rows = self.lanes.two_rows()
        if two_rows != self._two_rows:
            self._fit_prompt(two_rows)
        lab = self.lab
        busy, n = lab.busy, len(lab.session.lanes)
        blind_editable = not lab.session.turns and not busy
        self.prompt_area.set_state(
            busy=busy,
            lanes=n,
            blind=lab.session.blind,
            blind_editable=blind_editable,
            show_reasoning=lab.session.show_reasoning,
        )
        self.registry.refresh(WindowState.of(lab))
        title = lab.session.title
        self.setWindowTitle(f"chatlab — {title}" if title else "chatlab")
        self._update_cost()

    def _show_session(self, prompt: str | None) -> None:
        """The lab has opened a session (new, reopened, duplicated): show it, with
        ``prompt`` in the editor when there is one to send again."""
        self.reveal.dismiss()
        self.vote_bar.show_for(self.lab)
        if prompt is not None:
            self.prompt_area.prompt.setPlainText(prompt)
        self.prompt_area.system.setPlainText(self.lab.system or "")
        self.update_estimates()
        self.prompt_area.focus()

    def _update_cost(self) -> None:
        self.cost_label.refresh(self.lab)

    def _lane_flushed(self, lane_id: str) -> None:
        """A lane that has just finished counts in the session's cost at once, not at
        the end of the whole turn."""
        turn = self.lab.last_turn
        resp = turn.responses.get(lane_id) if turn is not None else None
        if resp is not None and resp.status.finished:
            self._update_cost()

    def update_estimates(self) -> None:
        """Per-lane input tokens and cost of sending the current prompt (≈, debounced)."""
        self.lab.set_system(self.prompt_area.system_text())
        self.lanes.refresh_status(self.prompt_area.show_estimates(self.lab))
        self._update_cost()

    # -- actions --------------------------------------------------------------------------

    def _try(self, action: Callable[[], object]) -> bool:
        try:
            action()
        except LabError as exc:
            text = str(exc)
            QMessageBox.warning(self, "chatlab", text[:1].upper() + text[1:])
            return False
        return True

    def _vote_first(self, what: str) -> bool:
        """While a blind turn waits for its vote: say so in the status bar and flash the
        vote bar (no modal box); True if it does."""
        if not self.lab.masked or self.lab.busy:
            return False
        self.statusBar().showMessage(
            f"Vote first: {what} before this blind turn's vote would leave it unjudged "
            "(Alt+1… picks, again votes; or Rate later)",
            10_000,
        )
        self.vote_bar.flash()
        return True

    def send(self, keep: bool = True) -> None:
        """Send the prompt to every lane; ``keep=False`` saves nothing until the user acts."""
        text = self.prompt_area.text()
        if not text.strip() or self.lab.busy or self._closing or not self.lab.session.lanes:
            return
        if self._vote_first("a new send"):
            return
        self.lab.set_system(self.prompt_area.system_text())
        if self._try(lambda: self.lab.send(text, keep)):
            self.prompt_area.prompt.clear()

    def stop_all(self) -> None:
        """Stop every lane. A blind turn still masked is asked about first: stopped, it
        can't be judged blind (its names are shown and it takes no vote)."""
        if not self.lab.busy:
            return
        if self.lab.masked:
            answer = QMessageBox.question(
                self,
                "Stop this blind turn?",
                "If you stop now, this blind turn can't be judged blind: every name will be "
                "shown and it will take no vote. Stop all lanes anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.lab.stop_all()

    def retry_lane(self, lane_id: str) -> None:
        if not self._vote_first("a retry"):
            self._try(lambda: self.lab.retry(lane_id))

    def add_lane(self, lane: Lane) -> LaneWidget:
        self.lab.add_lane(lane)
        self.estimate_timer.start()
        return self.lanes.widgets[lane.id]

    def vote(self, choice: str, guessed: list[str] | None = None) -> None:
        """Cast the vote (the first vote anywhere asks for the rater's name; a cancel
        casts nothing)."""
        if not self._know_rater():
            self.statusBar().showMessage("Not voted: votes need the name you rate under", 10_000)
            self.vote_bar.show_for(self.lab)
            return
        self._try(lambda: self.lab.vote(choice, guessed))

    def _know_rater(self) -> bool:
        """Whether votes here have a rater (made now, by name, if this is the first)."""
        try:
            return bool(self.lab.rater) or self.lab.rater_of is None
        except LabError:
            return False

    def _ask_rater(self, store: Store) -> Rater:
        """This installation's rater, its name asked (prefilled with the account's) the
        first time anyone votes or scores, here or in a rating queue; never again once
        config.toml has its id. A cancel raises: nothing is cast."""
        from chatlab.ui.rating.window import queue_rater

        found = queue_rater(store, None, self)
        if found is None:
            raise LabError("no name to rate under")
        return found

    def undo_vote(self) -> None:
        self._try(self.lab.undo_vote)

    def new_blind_turn(self) -> None:
        """A fresh blind session with the same lanes, the prompt kept in the editor."""
        self.actions_.new_blind_turn(self.prompt_area.text())

    def rate_later(self) -> None:
        turn = self.lab.last_turn
        if turn is not None:
            self._try(lambda: self.lab.mark_to_rate(not turn.to_rate))
        self.vote_bar.show_for(self.lab)

    def _set_blind(self, blind: bool) -> None:
        self._try(lambda: self.lab.set_blind(blind))

    def _set_show_reasoning(self, show: bool) -> None:
        if not self._try(lambda: self.lab.set_show_reasoning(show)):
            self._refresh()  # the box shows what the session has

    def new_session(self) -> None:
        self.actions_.new_session()

    def show_settings(self) -> None:
        if self._open_settings is not None:
            self._open_settings(self)

    def open_studies(self) -> StudiesView | None:
        """The Studies view (one per window; studies keep running when it is closed)."""
        if self.store is None:
            return None
        if self.studies is None:
            from chatlab.ui.studies.view import StudiesView

            self.studies = StudiesView(self, self.lab, self.store, self.open_rate)
        self.studies.show()
        self.studies.raise_()
        self.studies.activateWindow()
        return self.studies

    def open_leaderboard(self) -> QWidget | None:
        """The Leaderboard view (one per window)."""
        if self.store is None:
            return None
        if self.leaderboard is None:
            from chatlab.ui.results.leaderboard import LeaderboardView

            self.leaderboard = LeaderboardView(self.store, self)
        else:
            self.leaderboard.refresh()
        self.leaderboard.show()
        self.leaderboard.raise_()
        self.leaderboard.activateWindow()
        return self.leaderboard

    def votes_changed(self) -> None:
        """A vote was cast (here or in a rating queue): an open Leaderboard recomputes."""
        if self.leaderboard is not None and self.leaderboard.isVisible():
            self.leaderboard.refresh()

    def open_rate(self, info: StudyInfo | None) -> None:
        """The blind rating queue of a study (``None``: the comparisons marked to rate
        later), in its own window."""
        if self.store is None:
            return
        from chatlab.ui.rating.window import open_queue

        window = open_queue(self.store, info, self.lab.known_rater(), self, self.open_leaderboard)
        if window is not None:
            window.view.voted.connect(self.votes_changed)
            self.rate_windows.append(window)

    def toggle_sidebar(self) -> None:
        """The user's own toggle: kept, whatever room the lanes need."""
        if self.sidebar is None:
            return
        shown = self.sidebar.isHidden()
        self.sidebar_user_hidden = not shown
        self.sidebar_user_shown = shown and not self._room_for_sidebar()
        self.sidebar_auto_hidden = False
        self.sidebar.setVisible(shown)

    def _room_for_sidebar(self) -> bool:
        """Whether the lanes keep their minimum width with the sidebar open."""
        if self.sidebar is None:
            return False
        margins = 16 + 4  # the lanes' side margins and the scroll area's frame
        side = max(self.sidebar.width(), SIDEBAR_WIDTH) if self.sidebar.isVisible() else SIDEBAR_WIDTH
        room = self.width() - margins - side - self.main.handleWidth()
        return room >= self.lanes.needed_width()

    def fit_sidebar(self) -> None:
        """Fold the sidebar when the lanes need its room; open it again once there is room,
        if it was folded here (not by the user)."""
        sidebar = self.sidebar
        if sidebar is None or self.sidebar_user_hidden:
            return
        room = self._room_for_sidebar()
        if not sidebar.isHidden() and not room and not self.sidebar_user_shown:
            sidebar.hide()
            self.sidebar_auto_hidden = True
        elif sidebar.isHidden() and room and self.sidebar_auto_hidden:
            sidebar.show()
            self.sidebar_auto_hidden = False
        if room:
            self.sidebar_user_shown = False  # a later squeeze may fold it again

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_sidebar()

    def render_pending_finals(self) -> None:
        self.lanes.render_pending_finals()

    # -- geometry and closing --------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Cancel running lanes, wait for them, save, close the adapters."""
        self._closing = True
        geometry.save(self, self._settings, self.sidebar, hidden=self.sidebar_user_hidden)
        if self.studies is not None:
            await self.studies.shutdown()
        await self.lab.shutdown()
        # No timer may fire after this: the caller closes the store next.
        self.lanes.stop_timers()
        self.estimate_timer.stop()
        if self.sidebar is not None:
            self.sidebar.stop()
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
