"""The window's keyboard shortcuts, in one table: each key names the action it triggers.

Lane keys follow what is *shown*: Ctrl+1…8 focus and Alt+1…8 vote for the lane in that
place (the shuffled order while masked), so a key never tells which model is which; Alt+G
then a digit ticks the reasoning guess for the lane in that place (Alt+G then 0: none of
them), Alt+S then 1–5 scores the focused lane, Alt+U undoes the vote.
Ctrl+R, Ctrl+Shift+C and Ctrl+Shift+R act on the focused lane (the first one if none
has had focus yet). They are window shortcuts: they need the window to be active. A key
does nothing while its action is disabled (Ctrl+N while a turn runs).
"""

from __future__ import annotations

from chatlab.core.lab.controller import MAX_LANES
from chatlab.ui.lab.actions import MAX_SCORE
from chatlab.ui.lab.votebar import ALL_BAD_KEY, GUESS_KEY, TIE_KEY, UNDO_KEY
from chatlab.ui.shared.actions import ActionRegistry

SCORE_KEY = "Alt+S"  # then 1–5: the focused lane's score

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
    (UNDO_KEY, "vote.undo"),
    (f"{GUESS_KEY}, 0", "guess.none"),
    *((f"{GUESS_KEY}, {n}", f"guess.{n}") for n in range(1, MAX_LANES + 1)),
    *((f"{SCORE_KEY}, {n}", f"score.{n}") for n in range(1, MAX_SCORE + 1)),
    *((f"Ctrl+{n}", f"lane.focus.{n}") for n in range(1, MAX_LANES + 1)),
    *((f"Alt+{n}", f"vote.{n}") for n in range(1, MAX_LANES + 1)),
)


def install[S](registry: ActionRegistry[S]) -> None:
    """Bind every key of the table (an unknown name raises :class:`UnknownAction`)."""
    for key, name in KEYS:
        registry.bind_key(name, key)
