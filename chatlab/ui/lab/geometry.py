"""The window's size, place and sidebar state, remembered between runs, never off-screen.

They are kept in an INI file in chatlab's config folder (``window.ini``) through
QSettings. A saved size larger than the current screen (the laptop after the big
monitor) is cut down to it. The sidebar's state saved is the user's choice, not a fold
the window made for its lanes.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QWidget


def restore(window: QMainWindow, settings: QSettings | None, sidebar: QWidget | None) -> bool:
    """Restore; returns whether the user had hidden the sidebar."""
    if settings is None:
        return False
    saved = settings.value("geometry")
    if isinstance(saved, QByteArray):
        window.restoreGeometry(saved)
    screen = window.screen().availableGeometry()
    window.resize(min(window.width(), screen.width()), min(window.height(), screen.height()))
    if sidebar is not None and settings.value("sidebar") == "hidden":
        sidebar.hide()
        return True
    return False


def save(
    window: QMainWindow, settings: QSettings | None, sidebar: QWidget | None, hidden: bool | None = None
) -> None:
    """Save; ``hidden``: the user's own choice for the sidebar (default: as it is now)."""
    if settings is None:
        return
    settings.setValue("geometry", window.saveGeometry())
    if hidden is None:
        hidden = sidebar is not None and sidebar.isHidden()
    settings.setValue("sidebar", "hidden" if sidebar is not None and hidden else "shown")
    settings.sync()
