"""What the window does with dialogs: sessions (open, rename, delete, duplicate, new, new blind
turn, from a preset, export) and lanes (add, edit, move, remove).

Each action asks the user what is needed (a file name, a confirmation, a lane's model),
then hands the decision to the lab, which owns the rules (a lane with answers is never
re-attributed; nothing changes while a turn runs; no export while masked). The history
sidebar is built here too, since only these actions use the store directly.

The actions know the lab, the store, the widget their dialogs belong to and the lane
editor; what the window must then do (show a message, show the session just opened,
redraw, re-estimate, retry a lane) they ask for with signals.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from chatlab.core.data.export import export_sessions
from chatlab.core.data.model import Lane, Session
from chatlab.core.data.votes import Rating
from chatlab.core.lab.controller import MAX_LANES, Lab, LabError
from chatlab.core.settings.config import Config, ConfigError, load_config, save_config
from chatlab.store.db import Store, StoreError
from chatlab.ui.lab.lane import LaneWidget
from chatlab.ui.lab.sidebar import SessionSidebar

LaneEditor = Callable[[Lane | None], Lane | None]  # a new lane (None) or an edited one; None: cancelled


class SessionActions(QObject):
    said = Signal(str, int)  # a status message and for how many ms it shows
    shown = Signal(object)  # the lab opened a session; the prompt to put in the editor (str) or None
    refreshRequested = Signal()  # the session's title changed
    estimatesStale = Signal()  # the lanes changed: the next send's estimates are due again
    retryRequested = Signal(str)  # a lane's Retry button (lane id)
    hitShown = Signal(str, str)  # a search hit's session is shown: bring its turn and lane (or "") into view

    def __init__(
        self, lab: Lab, store: Store | None, parent: QWidget, edit_lane: LaneEditor | None = None
    ) -> None:
        super().__init__(parent)
        self.lab = lab
        self.store = store
        self._parent = parent  # where dialogs and message boxes open
        self._edit_lane = edit_lane
        self.sidebar: SessionSidebar | None = None
        if self.store is not None:
            known = lab.known_rater
            self.sidebar = SessionSidebar(self.store, rater=lambda: r.id if (r := known()) else "")
            self.sidebar.openRequested.connect(self.open_session)
            self.sidebar.hitRequested.connect(self.open_hit)
            self.sidebar.renameRequested.connect(self.rename_session)
            self.sidebar.deleteRequested.connect(self.delete_session)
            self.sidebar.duplicateRequested.connect(self.duplicate_session)

    def _say(self, text: str, ms: int = 10_000) -> None:
        self.said.emit(text, ms)

    def _try(self, action: Callable[[], object]) -> bool:
        try:
            action()
        except LabError as exc:
            self._say(str(exc))
            return False
        return True

    def saved(self) -> None:
        if self.sidebar is not None:
            self.sidebar.current_id = self.lab.session.id
            self.sidebar.refresh()

    # -- lanes -----------------------------------------------------------------------------

    def wire(self, widget: LaneWidget) -> None:
        lab = self.lab
        widget.stopRequested.connect(lab.stop)
        widget.retryRequested.connect(self.retryRequested)
        widget.removeRequested.connect(lambda lane_id: self._try(lambda: lab.remove_lane(lane_id)))
        widget.moveRequested.connect(lambda lane_id, d: self._try(lambda: lab.move_lane(lane_id, d)))
        widget.editRequested.connect(self.edit_lane)
        widget.rated.connect(self._rate)
        widget.said.connect(lambda text: self._say(text, 3_000))

    def _rate(self, lane_id: str, rating: Rating) -> None:
        """A lane's score or note (the first judgement anywhere asks the rater's name; a
        cancel keeps nothing)."""
        try:
            self.lab.rate(lane_id, rating)
        except LabError as exc:
            self._say(f"Not scored: {exc}")

    def add_lane(self) -> None:
        edit = self._edit_lane
        if edit is None or self.lab.busy or len(self.lab.session.lanes) >= MAX_LANES:
            return
        lane = edit(None)
        if lane is not None:
            self.lab.add_lane(lane)
            self.estimatesStale.emit()

    def edit_lane(self, lane_id: str) -> None:
        edit = self._edit_lane
        if edit is None or self.lab.busy:
            return
        edited = edit(self.lab.session.lane(lane_id))
        if edited is not None:
            self._try(lambda: self.lab.edit_lane(lane_id, edited))
            self.estimatesStale.emit()

    # -- sessions --------------------------------------------------------------------------

    def _show(self, session: Session, prompt: str | None = None) -> None:
        if not self._try(lambda: self.lab.open(session)):
            return
        if self.sidebar is not None:
            self.sidebar.current_id = session.id if session.turns else None
            self.sidebar.refresh()
        self.shown.emit(prompt)

    def _load(self, session_id: str) -> Session | None:
        assert self.store is not None
        try:
            return self.store.load(session_id)
        except (KeyError, StoreError) as exc:
            self._say(f"Could not open the session: {exc}", 15_000)
            return None

    def open_session(self, session_id: str) -> None:
        if self.lab.busy or self.store is None:
            return
        session = self._load(session_id)
        if session is not None and self._held(session):
            QMessageBox.information(
                self._parent,
                "chatlab",
                "This comparison belongs to a study that shows its names only at the end of "
                "your rating queue. Rate it there (Studies → Rate…); it opens here after that.",
            )
            return
        if session is not None:
            self._show(session)

    def open_hit(self, session_id: str, turn_id: str, lane_id: str) -> None:
        """A search hit: its session opened (unless shown already), then its turn shown."""
        if session_id != self.lab.session.id:
            self.open_session(session_id)
        if session_id == self.lab.session.id:
            self.hitShown.emit(turn_id, lane_id)

    def _held(self, session: Session) -> bool:
        """A study comparison whose names this rater may not see yet: its study reveals
        at the end, and this rater's queue of it is not done (or the study isn't)."""
        if session.study is None or self.store is None:
            return False
        if all(lane.provider == "blind" for lane in session.lanes):
            return False  # a rating pack's comparison: there are no names to hold back
        try:
            info = self.store.study(session.study.id)
        except (KeyError, ValueError):
            return False
        from chatlab.core.studies.rating import RatingError, RatingQueue

        known = self.lab.known_rater()  # no rater id yet: this person has voted on nothing
        rater = known.id if known else ""
        if info.reveal == "each":
            return session.turns[0].vote_of(rater) is None if session.turns else False
        try:
            queue = RatingQueue(self.store.study_sessions(info.id, []), rater or "?", complete=info.left == 0)
        except RatingError:
            return True
        return not queue.can_reveal

    def new_session(self) -> None:
        if not self.lab.busy:
            self._try(self.lab.new_session)
            self._show(self.lab.session)

    def new_blind_turn(self, prompt: str) -> None:
        """A fresh blind session with the same lanes (shuffled at its first send), with
        ``prompt`` kept in the editor."""
        if not self.lab.busy and self._try(self.lab.new_blind_turn):
            self._show(self.lab.session, prompt)
            self._say("A new blind comparison: the same lanes, shuffled anew at the send")

    def duplicate_session(self, session_id: str) -> None:
        """Run a session's first prompt again: same lanes (editable), prompt ready to send."""
        if self.lab.busy or self.store is None:
            return
        source = self._load(session_id)
        if source is None:
            return
        try:
            prompt = self.lab.duplicate(source)
        except LabError as exc:
            self._say(str(exc))
            return
        self._show(self.lab.session, prompt)

    def rename_session(self, session_id: str) -> None:
        if self.store is None:
            return
        current = self.lab.session.title if session_id == self.lab.session.id else ""
        title, ok = QInputDialog.getText(self._parent, "Rename session", "Title:", text=current)
        if ok and title.strip():
            self.store.rename(session_id, title.strip())
            if session_id == self.lab.session.id:
                self.lab.session.title = title.strip()
            self.refreshRequested.emit()
            if self.sidebar is not None:
                self.sidebar.refresh()

    def delete_session(self, session_id: str, confirm: bool = True) -> None:
        if self.store is None or (self.lab.busy and session_id == self.lab.session.id):
            return
        if confirm:
            answer = QMessageBox.question(
                self._parent, "Delete session", "Delete this session and all its answers?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.store.delete(session_id)
        if session_id == self.lab.session.id:
            self.new_session()
        if self.sidebar is not None:
            self.sidebar.refresh()

    # -- presets ---------------------------------------------------------------------------

    def _config(self) -> Config | None:
        """The config file as the user wrote it (presets may have been saved since)."""
        try:
            return load_config()
        except ConfigError as exc:
            self._say(str(exc))
            return None

    def new_from_preset(self) -> None:
        from chatlab.core.settings.presets import all_presets
        from chatlab.ui.dialogs.preset import choose_preset

        config = self._config()
        if self.lab.busy or config is None:
            return
        preset = choose_preset(self._parent, all_presets(config), providers=config.providers)
        if preset is not None:
            self._try(lambda: self.lab.new_session(preset.lanes()))
            self._show(self.lab.session)

    def save_preset(self) -> None:
        from chatlab.core.settings.presets import save_preset
        from chatlab.ui.dialogs.preset import ask_preset_name

        if not self.lab.session.lanes:
            self._say("Add lanes first: a preset is a set of lanes")
            return
        config = self._config()
        if config is None:
            return
        name = ask_preset_name(self._parent, config)
        if not name:
            return
        try:
            save_config(save_preset(config, name, self.lab.session.lanes))
        except (ConfigError, OSError) as exc:
            self._say(f"Could not save the preset: {exc}")
            return
        self._say(f"Saved the preset “{name}”: pick it under New session")

    # -- export ----------------------------------------------------------------------------

    def export_current(self) -> None:
        if not self.lab.session.turns:
            self._say("Nothing to export yet: send a prompt first")
            return
        if self.lab.masked:
            self._say("Vote first: an export would say which model is which")
            return
        session = self.lab.session
        slug = "".join(ch if ch.isalnum() else "-" for ch in session.title.lower()).strip("-")[:40]
        self._export([session.id], lambda _id: session, f"chatlab-{slug or session.id[:8]}.json")

    def export_all(self) -> None:
        if self.store is not None and not self.lab.masked:
            self._export(self.store.ids(), self.store.load, "chatlab-sessions.json")

    def _export(self, ids: list[str], load: Callable[[str], Session], name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self._parent, "Export sessions", name, "JSON (*.json)")
        if not path:
            return
        me = self.lab.known_rater()
        doc, problems = export_sessions(ids, load, rater=me.id if me is not None else "")
        try:
            Path(path).write_text(
                json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False), encoding="utf-8"
            )
        except OSError as exc:
            QMessageBox.warning(self._parent, "chatlab", f"Could not write {path}: {exc.strerror}")
            return
        message = f"Exported {len(doc['sessions'])} session(s) to {path}"
        if problems:
            message += f"; left out {len(problems)} damaged: " + "; ".join(problems)[:300]
        self._say(message, 15_000)
