"""The window's toolbar: sidebar, New session (with presets), + Lane, Export, Studies, Settings.

Each button has an icon and a short label; its enabled state follows the lab (nothing
that changes lanes while a turn runs, no export while a blind turn is masked). The
actions themselves are the window's; the toolbar only calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton, QWidget

from chatlab.core.lab.controller import MAX_LANES
from chatlab.ui.shared.icons import icon

if TYPE_CHECKING:
    from chatlab.ui.lab.window import MainWindow


class Toolbar(QToolBar):
    def __init__(self, window: MainWindow, has_store: bool) -> None:
        super().__init__("Main")
        self.setObjectName("toolbar")
        self.setMovable(False)
        self.setIconSize(QSize(18, 18))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.window_ = window
        self.sidebar_button = self._button(
            "sidebar", "", "Show or hide the history (Ctrl+B)", window.toggle_sidebar
        )
        self.sidebar_button.setVisible(has_store)
        self.new_button = self._button(
            "new", "New session", "Start a new session (Ctrl+N)", window.new_session
        )
        self.new_menu = QMenu(self.new_button)
        self.new_menu.addAction("Same lanes", window.new_session)
        self.new_menu.addAction("From a preset…", lambda: window.actions_.new_from_preset())
        self.new_menu.addAction("Save these lanes as a preset…", lambda: window.actions_.save_preset())
        self.new_button.setMenu(self.new_menu)
        self.new_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.add_button = self._button(
            "add", "Lane", "Add a lane (a model to compare)", lambda: window.actions_.add_lane()
        )
        self.export_button = self._button(
            "export", "Export", "Export this session as JSON", lambda: window.actions_.export_current()
        )
        self.export_menu = QMenu(self.export_button)
        self.export_menu.addAction("This session…", lambda: window.actions_.export_current())
        self.export_all_action = self.export_menu.addAction(
            "All sessions…", lambda: window.actions_.export_all()
        )
        self.export_all_action.setVisible(has_store)
        self.export_button.setMenu(self.export_menu)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.studies_button = self._button(
            "studies",
            "Studies",
            "Run prompt suites unattended and rate them later, blind (Ctrl+Shift+S)",
            window.open_studies,
        )
        self.studies_button.setVisible(has_store)
        self.board_button = self._button(
            "board",
            "Leaderboard",
            "Ratings with intervals, and whether raters could tell (Ctrl+Shift+L)",
            window.open_leaderboard,
        )
        self.board_button.setVisible(has_store)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().Policy.Expanding, spacer.sizePolicy().Policy.Preferred)
        self.addWidget(spacer)
        self.settings_button = self._button(
            "settings", "Settings", "Providers, keys and prices", window.show_settings
        )

    def _button(self, name: str, text: str, tip: str, slot: Callable[[], object]) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon(name))
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(text or tip)
        button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon if text else Qt.ToolButtonStyle.ToolButtonIconOnly
        )
        button.clicked.connect(slot)
        self.addWidget(button)
        return button

    def set_state(self, *, busy: bool, lanes: int, masked: bool, turns: bool) -> None:
        self.new_button.setEnabled(not busy)
        self.add_button.setEnabled(not busy and lanes < MAX_LANES)
        # While a turn is masked, an export would say who is who.
        self.export_button.setEnabled(not masked and not busy)
        self.export_all_action.setEnabled(not masked)
