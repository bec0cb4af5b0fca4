"""The rating window, and opening a blind queue in it.

:class:`RateWindow` hosts a :class:`~chatlab.ui.rating.view.RateView` in a window of its
own, and opens the Leaderboard when its end screen asks. :func:`open_queue` makes the
queue of a study (or of the turns marked "to rate") for a rater and opens it;
:func:`queue_rater` finds who rates, asking for a name (:func:`ask_rater`) the first
time this installation rates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QMainWindow, QWidget

from chatlab.core.settings.raters import Rater
from chatlab.core.studies.rating import RatingQueue
from chatlab.core.studies.study import StudyInfo
from chatlab.store.db import Store
from chatlab.ui.rating.view import RateView
from chatlab.ui.shared.keyboard import close_keys

DEFAULT_SIZE = (1240, 760)


class RateWindow(QMainWindow):
    """A window of its own for rating a study's comparisons. ``leaderboard`` opens the
    Leaderboard (the main window's, or one of its own under ``chatlab rate``); the end
    screen offers it, and ``leaderboardRequested`` is emitted each time it is asked for."""

    leaderboardRequested = Signal()

    def __init__(
        self,
        queue: RatingQueue,
        study_name: str,
        parent: QWidget | None = None,
        rater_name: str = "",
        leaderboard: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(parent)
        # The rater by name (their id is never shown).
        self.setWindowTitle(f"chatlab — rate: {study_name}" + (f" · as {rater_name}" if rater_name else ""))
        self.view = RateView(queue)
        self.view.leaderboardRequested.connect(self.leaderboardRequested)
        if leaderboard is not None:
            self.leaderboardRequested.connect(leaderboard)
            self.view.leaderboard_offered = True
            self.view.refresh_bar()
        self.setCentralWidget(self.view)
        width, height = DEFAULT_SIZE
        screen = self.screen().availableGeometry()
        self.resize(min(width, screen.width()), min(height, screen.height()))
        # Centred on its screen: a window manager's own placement put it partly off-screen.
        self.move(screen.center() - self.rect().center())
        self.small_screen = screen.width() < 1500 or screen.height() < 950
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)
        close_keys(self)


def ask_rater(parent: QWidget | None = None, suggested: str = "") -> str | None:
    """The first time someone rates: the name their votes are shown under (their rater
    id is made with it and kept in config.toml; Settings changes the name)."""
    from PySide6.QtWidgets import QInputDialog

    from chatlab.core.settings.config import clean_name
    from chatlab.core.settings.raters import os_user

    name, ok = QInputDialog.getText(
        parent,
        "Your name as a rater",
        "Your votes and ratings are shown under this name, so several people can rate\n"
        "the same study and their votes can be merged. Settings can change it later.",
        text=suggested or os_user(),
    )
    name = clean_name(name)[:80]
    if not ok or not name:
        return None
    return name


def queue_rater(store: Store, rater: Rater | str | None, parent: QWidget | None = None) -> Rater | None:
    """Who rates in a queue: ``rater`` when known, else this installation's rater (the
    first time, after asking for a name; None if the person cancels)."""
    from PySide6.QtWidgets import QMessageBox

    from chatlab.core.settings.config import ConfigError, load_config
    from chatlab.core.settings.raters import installation

    if isinstance(rater, str):
        return Rater(rater, rater) if rater else queue_rater(store, None, parent)
    if rater is not None:
        return rater
    name = None
    try:
        config = load_config()
        if not config.rater_id:
            name = ask_rater(parent, config.rater or "")
            if name is None:
                return None
        return installation(store.claim_rater, name=name)
    except (ConfigError, OSError, sqlite3.Error) as exc:
        QMessageBox.warning(parent, "chatlab", f"There is no rater id to vote under: {exc}")
        return None


def open_queue(
    store: Store,
    info: StudyInfo | None,
    rater: Rater | str | None,
    parent: QWidget | None = None,
    leaderboard: Callable[[], object] | None = None,
) -> RateWindow | None:
    """Open the blind queue of ``info`` for ``rater`` (this installation's rater when
    None, made on first need); with no study, the queue of the turns marked "to rate".
    ``leaderboard`` opens the Leaderboard, offered on the queue's end screen."""
    from PySide6.QtWidgets import QMessageBox

    found = queue_rater(store, rater, parent)
    if found is None:
        return None
    if parent is not None and hasattr(parent, "lab") and not parent.lab.known_rater():
        parent.lab.rater, parent.lab.rater_name = found.id, found.name
    rater = found.id
    if info is None:
        queue = RatingQueue(store.marked_turns([]), rater, sink=store, sighted=store.sighted_turns(rater))
        title = "turns marked to rate"
    else:
        queue = RatingQueue(
            store.study_sessions(info.id, []),
            rater,
            seed=info.seed,
            repeats=info.repeats,
            reveal=info.reveal,
            sink=store,
            complete=info.left == 0,
            sighted=store.sighted_turns(rater),
        )
        title = info.name
    if queue.total == 0:
        QMessageBox.information(
            parent,
            "chatlab",
            "Nothing to rate yet: no comparison has all its answers."
            if info is not None
            else "No turn is marked to rate: use Rate later under a turn's answers.",
        )
        return None
    window = RateWindow(queue, title, rater_name=found.name, leaderboard=leaderboard)
    if window.small_screen:
        window.showMaximized()  # a laptop screen: every pixel goes to the answers
    else:
        window.show()
    window.raise_()
    window.activateWindow()
    return window
