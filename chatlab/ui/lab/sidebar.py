"""The history sidebar: saved sessions, a study's comparisons folded under the study,
full-text search whose hits read as plain text with their turn and lane, and the session
actions (open, rename, duplicate, delete, export).

It only reads and writes through :class:`chatlab.store.db.Store`; the window decides
what opening or duplicating a session means, and where a search hit's turn is
(:func:`show_hit`). It looks at the database every :data:`POLL_MS` with one cheap
question (:meth:`~chatlab.store.sessions.SessionRows.data_version`) and redraws only
when the answer moved and the list it would show differs: a study finishing in another
chatlab appears without a click, the selection and the folded groups stay as they were.

Titles and study names are one line of plain text (``safe.name_line``). A hit in a
session whose names are still hidden from this rater (a blind turn not yet
voted on, or a study comparison) names no model: "Model B" as its turn was shown, or
"an answer" (:func:`hit_place`).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data.export import masked
from chatlab.core.data.model import Session
from chatlab.core.lab.blind import letter
from chatlab.store.db import Store
from chatlab.store.search import SearchHit, plain_snippet
from chatlab.store.sessions import SessionSummary
from chatlab.ui.shared.safe import name_line, plain_tip

if TYPE_CHECKING:
    from chatlab.ui.lab.lanes import LanesArea

ID_ROLE = Qt.ItemDataRole.UserRole  # a session's id (none on a study's group)
TURN_ROLE = Qt.ItemDataRole.UserRole + 1  # a search hit's turn id
LANE_ROLE = Qt.ItemDataRole.UserRole + 2  # a search hit's lane id ("" for a prompt)
GROUP_ROLE = Qt.ItemDataRole.UserRole + 3  # a study's id, on its group
POLL_MS = 2_000
NAME_CHARS = 120  # of a title or a study's name, shown on its one line
log = logging.getLogger("chatlab")


def highlight(snippet: str) -> str:
    """FTS snippet (matches between \\x02 and \\x03) as safe rich text with bold hits."""
    return html.escape(snippet).replace("\x02", "<b>").replace("\x03", "</b>")


def names_hidden(session: Session, rater: str) -> bool:
    """May a hit in this session not name its models? A blind session waiting for this
    rater's vote (:func:`~chatlab.core.data.export.masked`), and every study comparison
    but one this rater has voted on in a study that reveals after each vote (a study
    that reveals at the end of the queue holds its names until then)."""
    if masked(session, rater):
        return True
    study = session.study
    if study is None or all(lane.provider == "blind" for lane in session.lanes):
        return False
    return study.reveal != "each" or not any(t.vote_of(rater) for t in session.turns)


def hit_place(session: Session | None, hit: SearchHit, rater: str) -> str:
    """Where a hit is: "Turn 2 · prompt", "Turn 2 · demo:demo-fast", or, with the names hidden,
    "Turn 2 · Model B" (as its turn was shown) or "Turn 2 · an answer"."""
    if session is None:
        return "prompt" if hit.kind == "prompt" else "an answer"
    number = next((i for i, t in enumerate(session.turns, start=1) if t.id == hit.turn_id), None)
    where = f"Turn {number} · " if number else ""
    if hit.kind == "prompt":
        return where + "prompt"
    if names_hidden(session, rater):
        turn = session.turns[number - 1] if number else None
        order = turn.shown_order if turn is not None and session.study is None else None
        if order and hit.lane_id in order:
            return where + f"Model {letter(order.index(hit.lane_id))}"
        return where + "an answer"
    lanes = (*session.lanes, *session.retired)
    for lane in lanes:
        if lane.id == hit.lane_id:
            # As the lane's header names it: its label or model, never its place (which a
            # blind turn shuffles); a twin of the same name by its place among its twins.
            twins = [x.id for x in session.lanes if x.display == lane.display]
            twin = f" #{twins.index(lane.id) + 1}" if len(twins) > 1 and lane.id in twins else ""
            return where + lane.display + twin
    return where + "a removed lane"


def show_hit(area: LanesArea, turn_id: str, lane_id: str) -> bool:
    """Bring a search hit into view in the session the lanes show: its lane's card (every
    card for a prompt), each scrolled to the hit's "Turn N" divider. False when that
    turn isn't shown (a masked turn shows only itself)."""
    session = area.lab.session
    number = next((i for i, t in enumerate(session.turns, start=1) if t.id == turn_id), None)
    if number is None:
        return False
    widgets = [w for lane, w in area.widgets.items() if not lane_id or lane == lane_id]
    found = False
    for widget in widgets:
        view = widget.answer
        cursor = view.document().find(f"─── Turn {number} ───")
        if cursor.isNull():
            continue
        view.hold_at(cursor.block().position())  # held there while the session settles
        found = True
    if widgets:
        order = area.lab.shown_order()
        first = min(widgets, key=lambda w: order.index(w.lane.id) if w.lane.id in order else len(order))
        area.scroller.ensureWidgetVisible(first)
    return found


def _natural(text: str) -> list[tuple[int, int | str]]:
    """A sort key that puts "p2" before "p10"."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]


def _session_text(s: SessionSummary, in_group: bool = False) -> str:
    blind = " · blind" if s.blind else ""
    lanes = f"{s.lanes} lane{'s' if s.lanes != 1 else ''}"
    turns = f"{s.turns} turn{'s' if s.turns != 1 else ''}"
    title = s.title or "Untitled"
    prefix = f"{s.study_name} · "
    if in_group and s.study_name and title.startswith(prefix) and len(title) > len(prefix):
        title = title[len(prefix) :]  # under its study's row, the study's name is said once
    title = name_line(title, NAME_CHARS) or "Untitled"
    return f"{title}\n{s.created_at[:16].replace('T', ' ')} · {lanes} · {turns}{blind}"


class SessionSidebar(QWidget):
    openRequested = Signal(str)
    hitRequested = Signal(str, str, str)  # a search hit clicked: session, turn, lane ("" for a prompt)
    renameRequested = Signal(str)
    deleteRequested = Signal(str)
    duplicateRequested = Signal(str)

    def __init__(
        self, store: Store, parent: QWidget | None = None, rater: Callable[[], str] | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._rater = rater  # this installation's rater id, for what may be named ("": none yet)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts and answers…")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setObjectName("sessions")
        self.tree.setHeaderHidden(True)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setExpandsOnDoubleClick(False)
        self.tree.setIndentation(12)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemExpanded.connect(self._folded)
        self.tree.itemCollapsed.connect(self._folded)
        self.rename_button = QPushButton("Rename")
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Run this session's first prompt again, with lanes you choose")
        self.delete_button = QPushButton("Delete")
        self.rename_button.clicked.connect(lambda: self._emit(self.renameRequested.emit))
        self.duplicate_button.clicked.connect(lambda: self._emit(self.duplicateRequested.emit))
        self.delete_button.clicked.connect(lambda: self._emit(self.deleteRequested.emit))
        buttons = QHBoxLayout()
        for b in (self.rename_button, self.duplicate_button, self.delete_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("Sessions"))
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.current_id: str | None = None
        self.open_studies: set[str] = set()  # the groups unfolded (all are folded at first)
        self._shown: object = None  # what the list shows now; the same again is not redrawn
        self._version: tuple[int, int] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.poll)
        self.refresh()
        self._poll.start()

    def stop(self) -> None:
        """Stop the timers (a search waiting to run, the watch on the database) before
        the store is closed."""
        self._debounce.stop()
        self._poll.stop()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._poll.isActive():
            self.poll()  # hidden, it did not look

    def poll(self) -> None:
        """Redraw if the database changed since the list was drawn (one cheap query)."""
        if not self.isVisible():
            return
        try:
            version = self.store.data_version()
        except Exception:  # a closed or broken store: the next refresh says so, never a crash
            log.warning("history: the database can't be watched", exc_info=True)
            self._poll.stop()
            return
        if version != self._version:
            self.refresh()

    def _emit(self, emit: Callable[[str], None]) -> None:
        item = self.tree.currentItem()
        if item is not None and item.data(0, ID_ROLE):
            emit(item.data(0, ID_ROLE))

    def _clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        if item.data(0, GROUP_ROLE):
            item.setExpanded(not item.isExpanded())
            return
        self._activated(item)

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        session_id = item.data(0, ID_ROLE)
        if not session_id:
            return
        turn_id = item.data(0, TURN_ROLE)
        if turn_id is not None:  # a search hit: open it there, even in the session shown
            self.hitRequested.emit(session_id, turn_id, item.data(0, LANE_ROLE) or "")
        elif session_id != self.current_id:
            self.openRequested.emit(session_id)

    def _folded(self, item: QTreeWidgetItem) -> None:
        study_id = item.data(0, GROUP_ROLE)
        if study_id:
            if item.isExpanded():
                self.open_studies.add(study_id)
            else:
                self.open_studies.discard(study_id)

    # -- drawing -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Draw the list again (the sessions, or the search's hits) if it changed."""
        try:
            self._version = self.store.data_version()
        except Exception:
            self._version = None
        query = self.search.text().strip()
        if query:
            self._show_hits(query)
        else:
            self._show_sessions()

    def _begin(self, shown: object) -> tuple[str | None, int] | None:
        """Start drawing ``shown``, or None when the list already shows it. Returns the
        selection and the scroll position to restore."""
        if shown == self._shown:
            return None
        self._shown = shown
        current = self.tree.currentItem()
        selected = None
        if current is not None:
            selected = current.data(0, ID_ROLE) or current.data(0, GROUP_ROLE)
        position = self.tree.verticalScrollBar().value()
        self.tree.clear()
        return selected, position

    def top_items(self) -> list[QTreeWidgetItem]:
        """The list's rows: sessions and studies' groups, or search hits."""
        tree = self.tree
        return [x for i in range(tree.topLevelItemCount()) if (x := tree.topLevelItem(i)) is not None]

    @staticmethod
    def members(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
        """A group's sessions."""
        return [x for i in range(item.childCount()) if (x := item.child(i)) is not None]

    def _end(self, selected: str | None, position: int) -> None:
        """Select the session shown (else what was selected) without unfolding its group,
        and scroll back to where the list was."""
        want = [x for x in (self.current_id, selected) if x]
        found: dict[str, QTreeWidgetItem] = {}
        for top in self.top_items():
            for item in (top, *self.members(top)):
                key = item.data(0, ID_ROLE) or item.data(0, GROUP_ROLE)
                if key and key not in found:
                    found[key] = item
        self.tree.setAutoScroll(False)  # selecting must not unfold a group the user folded
        try:
            for key in want:
                if key in found:
                    self.tree.setCurrentItem(found[key])
                    break
        finally:
            self.tree.setAutoScroll(True)
        self.tree.verticalScrollBar().setValue(position)

    def _show_sessions(self) -> None:
        try:
            rows = self.store.sessions()
        except Exception:  # a damaged or foreign database: said in the list, never a crash
            log.warning("history: the sessions can't be listed", exc_info=True)
            if self._begin(("unreadable",)) is not None:
                failed = QTreeWidgetItem(["The history can't be read"])
                failed.setToolTip(0, "The session database could not be read; see the log.")
                self.tree.addTopLevelItem(failed)
            return
        shown = (
            "sessions",
            self.current_id,
            [(s.id, _session_text(s), s.study_id, s.study_name) for s in rows],
        )
        begun = self._begin(shown)
        if begun is None:
            return
        groups: dict[str, tuple[QTreeWidgetItem, list[SessionSummary]]] = {}
        for s in rows:  # the newest first: a study's group sits where its newest session would
            if s.study_id is None:
                item = QTreeWidgetItem([_session_text(s)])
                item.setData(0, ID_ROLE, s.id)
                self.tree.addTopLevelItem(item)
                continue
            if s.study_id not in groups:
                group = QTreeWidgetItem()
                group.setData(0, GROUP_ROLE, s.study_id)
                group.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.tree.addTopLevelItem(group)
                groups[s.study_id] = (group, [])
            group, members = groups[s.study_id]
            members.append(s)
            child = QTreeWidgetItem([_session_text(s, in_group=True)])
            child.setData(0, ID_ROLE, s.id)
            group.addChild(child)
        for study_id, (group, members) in groups.items():
            # In a group, the comparisons in the suite's order: prompt, then sample.
            order = sorted(members, key=lambda s: _natural(s.title))
            if order != members:
                children = group.takeChildren()
                by_id = {child.data(0, ID_ROLE): child for child in children}
                group.addChildren([by_id[s.id] for s in order])
            name = name_line(members[0].study_name or study_id, NAME_CHARS)
            group.setText(0, f"{len(members)} · {name}")  # the count first: a long name is cut
            group.setToolTip(0, plain_tip(f"Study “{name}”: {len(members)} comparisons (prompts × samples)"))
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setExpanded(study_id in self.open_studies)
        self._end(*begun)

    def _show_hits(self, query: str) -> None:
        try:
            hits = self.store.search(query)
            titles = {s.id: s.title for s in self.store.sessions()}
            sessions = self.store.load_many({hit.session_id for hit in hits})
        except Exception:  # whatever the query or the store does: no results, never a crash
            log.warning("history search failed", exc_info=True)
            if self._begin(("failed", query)) is not None:
                failed = QTreeWidgetItem(["Search failed"])
                failed.setToolTip(0, "This search could not be run; try other words.")
                self.tree.addTopLevelItem(failed)
            return
        rater = self._rater() if self._rater is not None else ""
        lines = []
        for hit in hits:
            place = name_line(
                hit_place(sessions.get(hit.session_id), hit, rater), NAME_CHARS
            )  # a lane's label too
            lines.append(
                (
                    hit,
                    name_line(titles.get(hit.session_id, ""), NAME_CHARS) or "Untitled",
                    place,
                    plain_snippet(hit.snippet),
                )
            )
        shown = ("hits", query, [(h.session_id, h.turn_id, h.lane_id, t, p, s) for h, t, p, s in lines])
        begun = self._begin(shown)
        if begun is None:
            return
        for hit, title, place, snippet in lines:
            item = QTreeWidgetItem()
            item.setData(0, ID_ROLE, hit.session_id)
            item.setData(0, TURN_ROLE, hit.turn_id)
            item.setData(0, LANE_ROLE, hit.lane_id)
            words = snippet.replace("\x02", "").replace("\x03", "")
            item.setData(0, Qt.ItemDataRole.AccessibleTextRole, f"{title} · {place}: {words}")
            label = QLabel(
                f"<small>{html.escape(title)}<br><i>{html.escape(place)}</i></small><br>{highlight(snippet)}"
            )
            label.setObjectName("hit")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setContentsMargins(4, 2, 4, 4)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            self.tree.addTopLevelItem(item)
            self.tree.setItemWidget(item, 0, label)
            item.setSizeHint(0, label.sizeHint())
        if not self.tree.topLevelItemCount():
            self.tree.addTopLevelItem(QTreeWidgetItem(["No matches"]))
        self._end(*begun)
