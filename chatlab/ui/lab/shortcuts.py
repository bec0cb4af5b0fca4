"""The window's keyboard shortcuts, in one table: each key names the action it triggers.

Lane keys follow what is *shown*: Ctrl+1…8 focus and Alt+1…8 vote for the lane in that
place (the shuffled order while masked), so a key never tells which model is which.
Ctrl+R, Ctrl+Shift+C and Ctrl+Shift+R act on the focused lane (the first one if none
has had focus yet). They are window shortcuts: they need the window to be active. A key
does nothing while its action is disabled (Ctrl+N while a turn runs).
"""

from __future__ import annotations

from chatlab.core.lab.controller import MAX_LANES
from chatlab.ui.lab.votebar import ALL_BAD_KEY, TIE_KEY
from chatlab.ui.shared.actions import ActionRegistry

KEYS: tuple[tuple[str, str], ...] = (
    ("Esc", "turn.stop"),
    ("Ctrl+Return", "prompt.send"),
    ("Ctrl+Enter", "prompt.send"),
    ("Ctrl+N", "session.new"),
    ("Ctrl+L", "prompt.focus"),
    ("Ctrl+Q", "window.quit"),
    ("Ctrl+B", "sidebar.toggle"),
    ("Ctrl+Shift+S", "view.studies"),
    ("Ctrl+Shift+L", "view.leaderboard"),
    ("Ctrl+R", "lane.retry"),
    ("Ctrl+Shift+C", "lane.copy"),
    ("Ctrl+Shift+R", "lane.reasoning"),
    (TIE_KEY, "vote.tie"),
    (ALL_BAD_KEY, "vote.all_bad"),
    *((f"Ctrl+{n}", f"lane.focus.{n}") for n in range(1, MAX_LANES + 1)),
    *((f"Alt+{n}", f"vote.{n}") for n in range(1, MAX_LANES + 1)),
)


def install[S](registry: ActionRegistry[S]) -> None:
    """Bind every key of the table (an unknown name raises :class:`UnknownAction`)."""
    for key, name in KEYS:
        registry.bind_key(name, key)
