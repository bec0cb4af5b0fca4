"""The window's size, place and sidebar state, remembered between runs, never off-screen.

They are kept in an INI file in chatlab's config folder (``window.ini``) through
QSettings. A saved size larger than the current screen (the laptop after the big
monitor) is cut down to it.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QWidget


def restore(window: QMainWindow, settings: QSettings | None, sidebar: QWidget | None) -> None:
    if settings is None:
        return
    saved = settings.value("geometry")
    if isinstance(saved, QByteArray):
        window.restoreGeometry(saved)
    screen = window.screen().availableGeometry()
    window.resize(min(window.width(), screen.width()), min(window.height(), screen.height()))
    if sidebar is not None and settings.value("sidebar") == "hidden":
        sidebar.hide()


def save(window: QMainWindow, settings: QSettings | None, sidebar: QWidget | None) -> None:
    if settings is None:
        return
    settings.setValue("geometry", window.saveGeometry())
    settings.setValue("sidebar", "hidden" if sidebar is not None and sidebar.isHidden() else "shown")
    settings.sync()
