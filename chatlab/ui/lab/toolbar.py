"""The window's toolbar: sidebar, New session (with New blind turn and presets), + Lane,
Export, Studies, Settings.

Each button shows a registered action by name (its icon, short label and tooltip) and is
enabled when the action is; the menus' entries name their actions too. The actions and
their enablement are the window's (``actions.py``); the toolbar only places them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton, QWidget

from chatlab.ui.shared.actions import ActionRegistry


class Toolbar(QToolBar):
    def __init__(self, registry: ActionRegistry[Any], has_store: bool) -> None:
        super().__init__("Main")
        self.setObjectName("toolbar")
        self.setMovable(False)
        self.setIconSize(QSize(18, 18))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.registry = registry
        self.places: dict[str, QAction] = {}  # action name -> its button's place on the bar
        self.sidebar_button = self._button("sidebar.toggle", labelled=False)
        self.new_button = self._button("session.new")
        self.new_menu = QMenu(self.new_button)
        registry.menu_entry(self.new_menu, "session.new", "Same lanes")
        registry.menu_entry(self.new_menu, "session.new_blind", "New blind turn: same lanes, reshuffled")
        registry.menu_entry(self.new_menu, "session.from_preset", "From a preset…")
        registry.menu_entry(self.new_menu, "preset.save", "Save these lanes as a preset…")
        self.new_button.setMenu(self.new_menu)
        self.new_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.add_button = self._button("lane.add")
        self.export_button = self._button("export")
        self.export_menu = QMenu(self.export_button)
        registry.menu_entry(self.export_menu, "export", "This session…")
        self.export_all_action = registry.menu_entry(self.export_menu, "export.all", "All sessions…")
        self.export_all_action.setVisible(has_store)
        self.export_button.setMenu(self.export_menu)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.studies_button = self._button("view.studies")
        self.board_button = self._button("view.leaderboard")
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().Policy.Expanding, spacer.sizePolicy().Policy.Preferred)
        self.addWidget(spacer)
        self.settings_button = self._button("settings.show")
        # Without a database there is no history, no study and nothing to rank. A widget
        # on a QToolBar is shown and hidden through its place, not by itself.
        for name in ("sidebar.toggle", "view.studies", "view.leaderboard"):
            self.places[name].setVisible(has_store)

    def _button(self, name: str, *, labelled: bool = True) -> QToolButton:
        """A button for the action ``name``: icon and label, or (``labelled=False``) the
        icon alone, named for screen readers by its tooltip."""
        action = self.registry.qaction(name)
        button = QToolButton()
        button.setDefaultAction(action)
        button.setAccessibleName(action.iconText() if labelled else action.toolTip())
        button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon if labelled else Qt.ToolButtonStyle.ToolButtonIconOnly
        )
        self.places[name] = self.addWidget(button)
        return button
