"""The window's keyboard shortcuts, in one table.

Lane keys follow what is *shown*: Ctrl+1…8 focus and Alt+1…8 vote for the lane in that
place (the shuffled order while masked), so a key never tells which model is which.
Ctrl+R, Ctrl+Shift+C and Ctrl+Shift+R act on the focused lane (the first one if none
has had focus yet). They are window shortcuts: they need the window to be active.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut

from chatlab.core.lab.controller import MAX_LANES
from chatlab.ui.lab.lane import LaneWidget
from chatlab.ui.lab.votebar import ALL_BAD_KEY, TIE_KEY

if TYPE_CHECKING:
    from chatlab.ui.lab.window import MainWindow


def install(window: MainWindow) -> None:
    keys: list[tuple[str, Callable[[], object]]] = [
        ("Esc", window.lab.stop_all),
        ("Ctrl+Return", window.send),
        ("Ctrl+Enter", window.send),
        ("Ctrl+N", window.new_session),
        ("Ctrl+L", window.prompt_area.focus),
        ("Ctrl+Q", window.close),
        ("Ctrl+B", window.toggle_sidebar),
        ("Ctrl+Shift+S", window.open_studies),
        ("Ctrl+Shift+L", window.open_leaderboard),
        ("Ctrl+R", lambda: window.on_focused(lambda w: window.retry_lane(w.lane.id))),
        ("Ctrl+Shift+C", lambda: window.on_focused(LaneWidget.copy_current)),
        ("Ctrl+Shift+R", lambda: window.on_focused(LaneWidget.toggle_reasoning)),
        (TIE_KEY, lambda: window.vote_bar.vote_special("tie")),
        (ALL_BAD_KEY, lambda: window.vote_bar.vote_special("all_bad")),
    ]
    for i in range(MAX_LANES):
        keys.append((f"Ctrl+{i + 1}", functools.partial(window.lanes.focus_lane, i)))
        keys.append((f"Alt+{i + 1}", functools.partial(window.vote_bar.vote_position, i)))
    for key, slot in keys:
        shortcut = QShortcut(QKeySequence(key), window)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(slot)
