"""Keys every secondary window shares: Ctrl+W closes it, Ctrl+Q quits chatlab from it;
and :func:`close_popup`, so that Escape in a dialog closes an open drop-down first.

The Leaderboard, the Studies view and the rating queue are windows of their own; a
user who presses Ctrl+Q there expects chatlab to quit, as it does from the main window
(see ``shortcuts.py`` for the main window's table).
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QComboBox, QWidget


def close_keys(window: QWidget) -> None:
    """Ctrl+W closes this secondary window (Leaderboard, Studies, the rating queue), and
    Ctrl+Q quits chatlab from it as from the main window: it closes the main window when
    there is one (which stops lanes and saves first), or this window when it stands alone."""
    owner = window.parentWidget()

    def quit_all() -> None:
        window.close()
        if owner is not None:
            owner.window().close()

    QShortcut(QKeySequence("Ctrl+W"), window, window.close)
    QShortcut(QKeySequence("Ctrl+Q"), window, quit_all)


def close_popup(boxes: tuple[QComboBox, ...]) -> bool:
    """Close an open drop-down of these boxes (or an editable one's completions, or any
    other popup): True when one was open, so the Escape that did it closes nothing else."""
    for box in boxes:
        if box.view().isVisible():
            box.hidePopup()
            return True
        completer = box.completer()
        popup = completer.popup() if completer is not None else None
        if popup is not None and popup.isVisible():
            popup.hide()
            return True
    active = QApplication.activePopupWidget()
    if active is not None:
        active.close()
        return True
    return False
