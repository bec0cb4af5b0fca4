"""The main window's actions, each registered once under its name.

The toolbar (``toolbar.py``), the key table (``shortcuts.py``) and the toolbar's menus
bind to these names. Enablement reads a :class:`WindowState` the window makes each time
it redraws: nothing that changes lanes while a turn runs, no export while a blind turn is
masked, no New blind turn over a turn waiting for its vote. Actions without a predicate
are always on; their handlers ignore what does not apply (no lane to retry, no vote bar
shown, no guess to tick).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chatlab.core.lab.controller import MAX_LANES, Lab
from chatlab.ui.lab.lane import LaneWidget
from chatlab.ui.lab.lanes import LanesArea
from chatlab.ui.lab.prompt import PromptArea
from chatlab.ui.lab.session_actions import SessionActions
from chatlab.ui.lab.votebar import VoteBar
from chatlab.ui.shared.actions import ActionRegistry

MAX_SCORE = 5  # scores are 1–5, as in the rating queue


@dataclass(frozen=True)
class WindowState:
    """What enablement depends on: is a turn running, how many lanes, is a turn masked."""

    busy: bool
    lanes: int
    masked: bool

    @classmethod
    def of(cls, lab: Lab) -> WindowState:
        return cls(busy=lab.busy, lanes=len(lab.session.lanes), masked=lab.masked)


class Window(Protocol):
    """The main window as its actions reach it: its commands and the parts the keyboard
    drives. Declared here so that the actions never import the window."""

    @property
    def lab(self) -> Lab: ...
    @property
    def lanes(self) -> LanesArea: ...
    @property
    def vote_bar(self) -> VoteBar: ...
    @property
    def prompt_area(self) -> PromptArea: ...

    def send(self) -> None: ...
    def stop_all(self) -> None: ...
    def new_session(self) -> None: ...
    def new_blind_turn(self) -> None: ...
    def retry_lane(self, lane_id: str) -> None: ...
    def on_focused(self, action: Callable[[LaneWidget], object]) -> None: ...
    def toggle_sidebar(self) -> None: ...
    def open_studies(self) -> object: ...
    def open_leaderboard(self) -> object: ...
    def show_settings(self) -> None: ...
    def close(self) -> bool: ...


Registry = ActionRegistry[WindowState]


def idle(state: WindowState) -> bool:
    return not state.busy


def register(registry: Registry, window: Window, sessions: SessionActions) -> None:
    add = registry.register
    # The toolbar's and its menus'.
    add("sidebar.toggle", "History", window.toggle_sidebar, tip="Show or hide the history", icon="sidebar")
    add(
        "session.new",
        "New session",
        window.new_session,
        tip="Start a new session",
        icon="new",
        enabled_when=idle,
    )
    add(
        "session.new_blind",
        "New blind turn",
        window.new_blind_turn,
        tip="A fresh blind session with these lanes, shuffled anew; the prompt stays in the editor",
        enabled_when=lambda s: not s.busy and s.lanes > 0 and not s.masked,
    )
    add("session.from_preset", "New session from a preset…", sessions.new_from_preset)
    add("preset.save", "Save these lanes as a preset…", sessions.save_preset)
    add(
        "lane.add",
        "Add a lane",
        sessions.add_lane,
        label="Lane",
        tip="Add a lane (a model to compare)",
        icon="add",
        enabled_when=lambda s: not s.busy and s.lanes < MAX_LANES,
    )
    # While a turn is masked, an export would say who is who.
    add(
        "export",
        "Export this session…",
        sessions.export_current,
        label="Export",
        tip="Export this session as JSON",
        icon="export",
        enabled_when=lambda s: not s.masked and not s.busy,
    )
    add("export.all", "Export all sessions…", sessions.export_all, enabled_when=lambda s: not s.masked)
    add(
        "view.studies",
        "Studies",
        window.open_studies,
        tip="Run prompt suites unattended and rate them later, blind",
        icon="studies",
    )
    add(
        "view.leaderboard",
        "Leaderboard",
        window.open_leaderboard,
        tip="Ratings with intervals, and whether raters could tell",
        icon="board",
    )
    add("settings.show", "Settings", window.show_settings, tip="Providers, keys and prices", icon="settings")
    # The keyboard's. The window's parts are looked up when a key is pressed, so these
    # can be registered before the parts exist.
    add("turn.stop", "Stop all lanes", window.stop_all)
    add("prompt.send", "Send", window.send)
    add("prompt.focus", "Go to the prompt", lambda: window.prompt_area.focus())
    add("window.quit", "Quit", window.close)
    add(
        "lane.retry",
        "Retry the focused lane",
        lambda: window.on_focused(lambda w: window.retry_lane(w.lane.id)),
    )
    add("lane.copy", "Copy the focused lane's answer", lambda: window.on_focused(LaneWidget.copy_current))
    add(
        "lane.reasoning",
        "Show or hide the focused lane's reasoning",
        lambda: window.on_focused(LaneWidget.toggle_reasoning),
    )
    add("vote.tie", "Vote: tie", lambda: window.vote_bar.vote_special("tie"))
    add("vote.all_bad", "Vote: all bad", lambda: window.vote_bar.vote_special("all_bad"))
    add("vote.undo", "Undo vote", lambda: window.vote_bar.undo())
    add("guess.none", "Guess: none of them reasoned", lambda: window.vote_bar.guess_none())
    for i in range(MAX_LANES):
        add(f"lane.focus.{i + 1}", f"Go to the lane in place {i + 1}", functools.partial(_focus, window, i))
        add(f"vote.{i + 1}", f"Vote for the lane in place {i + 1}", functools.partial(_vote, window, i))
        add(
            f"guess.{i + 1}",
            f"Guess: the lane in place {i + 1} reasoned (again: it didn't)",
            functools.partial(_guess, window, i),
        )
    for n in range(1, MAX_SCORE + 1):
        add(f"score.{n}", f"Score the focused lane's answer {n}", functools.partial(_score, window, n))


def _focus(window: Window, position: int) -> None:
    window.lanes.focus_lane(position)


def _vote(window: Window, position: int) -> None:
    window.vote_bar.vote_position(position)


def _guess(window: Window, position: int) -> None:
    window.vote_bar.toggle_guess(position)


def _score(window: Window, score: int) -> None:
    """The focused lane's answer (the first shown if none has had focus) scores ``score``,
    as picking it in the lane's score box does."""

    def rate(widget: LaneWidget) -> None:
        if widget.rating_box.isVisibleTo(widget):
            widget.score.setCurrentIndex(score)
            widget.score.activated.emit(score)

    window.on_focused(rate)
