"""The action registry: the toolbar, its menus and the key table bind to registered names;
a name nobody registered fails loudly; enabled-when decides whether a button, a menu
entry and a key act; a key runs its handler."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from chatlab.core.lab.controller import MAX_LANES
from chatlab.ui.lab import shortcuts
from chatlab.ui.lab.actions import WindowState
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.shared.actions import ActionRegistry, UnknownAction
from tests.ui.conftest import add_lanes

# Every key the main window has had, each with what it does.
WINDOW_KEYS = {
    "Esc": "turn.stop",
    "Ctrl+Return": "prompt.send",
    "Ctrl+Enter": "prompt.send",
    "Ctrl+N": "session.new",
    "Ctrl+L": "prompt.focus",
    "Ctrl+Q": "window.quit",
    "Ctrl+B": "sidebar.toggle",
    "Ctrl+Shift+S": "view.studies",
    "Ctrl+Shift+L": "view.leaderboard",
    "Ctrl+R": "lane.retry",
    "Ctrl+Shift+C": "lane.copy",
    "Ctrl+Shift+R": "lane.reasoning",
    "Alt+T": "vote.tie",
    "Alt+X": "vote.all_bad",
    **{f"Ctrl+{n}": f"lane.focus.{n}" for n in range(1, 9)},
    **{f"Alt+{n}": f"vote.{n}" for n in range(1, 9)},
    "Alt+U": "vote.undo",
    "Alt+G, 0": "guess.none",
    **{f"Alt+G, {n}": f"guess.{n}" for n in range(1, 9)},
    **{f"Alt+S, {n}": f"score.{n}" for n in range(1, 6)},
}


def buttons(window: MainWindow) -> list[QToolButton]:
    return [b for b in window.toolbar.findChildren(QToolButton) if b.objectName() != "qt_toolbar_ext_button"]


def test_every_toolbar_button_menu_entry_and_key_is_a_registered_action(window: MainWindow) -> None:
    registry = window.registry
    bound = [b.defaultAction() for b in buttons(window)]
    assert [a.objectName() for a in bound] == [
        "sidebar.toggle",
        "session.new",
        "lane.add",
        "export",
        "view.studies",
        "view.leaderboard",
        "settings.show",
    ]
    assert all(registry.qaction(a.objectName()) is a for a in bound)
    # What the toolbar shows is what it showed before it bound to names.
    icon_only = Qt.ToolButtonStyle.ToolButtonIconOnly
    assert [b.text() if b.toolButtonStyle() != icon_only else "" for b in buttons(window)] == [
        "",
        "New session",
        "Lane",
        "Export",
        "Studies",
        "Leaderboard",
        "Settings",
    ]
    assert [b.toolTip() for b in buttons(window)] == [
        "Show or hide the history (Ctrl+B)",
        "Start a new session (Ctrl+N)",
        "Add a lane (a model to compare)",
        "Export this session as JSON",
        "Run prompt suites unattended and rate them later, blind (Ctrl+Shift+S)",
        "Ratings with intervals, and whether raters could tell (Ctrl+Shift+L)",
        "Providers, keys and prices",
    ]
    menus = (window.toolbar.new_menu, window.toolbar.export_menu)
    assert [a.text() for menu in menus for a in menu.actions()] == [
        "Same lanes",
        "New blind turn: same lanes, reshuffled",
        "From a preset…",
        "Save these lanes as a preset…",
        "This session…",
        "All sessions…",
    ]
    assert registry.keys() == WINDOW_KEYS == dict(shortcuts.KEYS)
    for key, name in WINDOW_KEYS.items():
        assert key in [k.toString() for k in registry.qaction(name).shortcuts()]


def test_a_name_nobody_registered_fails_loudly(qtbot: QtBot) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    registry: ActionRegistry[object] = ActionRegistry(owner)
    registry.register("demo.go", "Go", lambda: None)
    with pytest.raises(UnknownAction, match=r"demo\.gone"):
        registry.qaction("demo.gone")
    with pytest.raises(UnknownAction):
        registry.bind_key("demo.gone", "Ctrl+J")
    with pytest.raises(UnknownAction):
        registry.menu_entry(QMenu(owner), "demo.gone", "Gone")
    with pytest.raises(UnknownAction):
        shortcuts.install(registry)  # the window's key table names actions this one lacks
    with pytest.raises(ValueError, match="twice"):
        registry.register("demo.go", "Go again", lambda: None)
    registry.bind_key("demo.go", "Ctrl+J")
    with pytest.raises(ValueError, match="twice"):
        registry.bind_key("demo.go", "Ctrl+J")


def test_enabled_when_decides_whether_an_action_acts(qtbot: QtBot) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    registry: ActionRegistry[bool] = ActionRegistry(owner)
    calls: list[tuple[object, ...]] = []
    registry.register("demo.go", "Go", lambda *args: calls.append(args), enabled_when=lambda on: on)
    entry = registry.menu_entry(QMenu(owner), "demo.go", "Go now")
    registry.refresh(False)
    assert not registry.qaction("demo.go").isEnabled() and not entry.isEnabled()
    registry.trigger("demo.go")
    entry.trigger()
    assert calls == []
    registry.refresh(True)
    assert entry.isEnabled()
    registry.trigger("demo.go")
    entry.trigger()
    assert calls == [(), ()]  # a handler is called with nothing (never Qt's "checked" flag)


def test_the_window_enables_its_actions_from_its_state(window: MainWindow) -> None:
    bar = window.toolbar
    add_lanes(window, *["chat:echo"] * MAX_LANES)
    assert not bar.add_button.isEnabled() and bar.new_button.isEnabled()  # eight lanes: no ninth
    window.registry.refresh(WindowState(busy=True, lanes=1, masked=False))
    assert not bar.new_button.isEnabled() and not bar.add_button.isEnabled()
    export_all = window.registry.qaction("export.all")  # its menu entry is hidden: no store
    assert not bar.export_button.isEnabled() and export_all.isEnabled()
    assert not window.registry.qaction("session.new").isEnabled()  # so Ctrl+N is off too
    window.registry.refresh(WindowState(busy=False, lanes=1, masked=True))
    assert bar.new_button.isEnabled() and bar.add_button.isEnabled()
    assert not bar.export_button.isEnabled() and not export_all.isEnabled()


def test_a_key_runs_its_handler_while_its_action_is_enabled(qtbot: QtBot) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    registry: ActionRegistry[bool] = ActionRegistry(owner)
    calls: list[str] = []
    registry.register("demo.go", "Go", lambda: calls.append("go"), enabled_when=lambda on: on)
    registry.bind_key("demo.go", "Ctrl+J")
    owner.show()
    owner.activateWindow()
    qtbot.waitUntil(owner.isActiveWindow, timeout=5_000)
    qtbot.keyClick(owner, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    assert calls == ["go"]
    registry.refresh(False)
    qtbot.keyClick(owner, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    assert calls == ["go"]


def test_the_window_s_keys_run_their_actions(window: MainWindow, qtbot: QtBot) -> None:
    first, second = add_lanes(window, "chat:echo", "claude:demo-fast@tps=0")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # the lane in place 2
    qtbot.waitUntil(lambda: window.lanes.focused_lane() is window.lane_widgets[second.id], timeout=5_000)
    assert not window.prompt.hasFocus()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # back to the prompt
    qtbot.waitUntil(window.prompt.hasFocus, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.lanes.focused_lane() is window.lane_widgets[first.id], timeout=5_000)


def test_without_a_database_the_toolbar_hides_history_studies_and_leaderboard(
    qtbot: QtBot, window: MainWindow, tmp_path: object
) -> None:
    """A window with no store (``--no-save``) has no history, study or ranking to open:
    their buttons are hidden, not merely disabled; with a store they show."""
    from pathlib import Path

    from chatlab.store.db import Store
    from tests.ui.conftest import close_window

    bar = window.toolbar
    for button in (bar.sidebar_button, bar.studies_button, bar.board_button):
        assert not button.isVisibleTo(window)
    assert bar.new_button.isVisibleTo(window) and bar.settings_button.isVisibleTo(window)
    # ...and the status bar says so for as long as it lasts, not only in the dialog at start.
    assert window.unsaved_label is not None and window.unsaved_label.isVisibleTo(window)
    assert window.unsaved_label.text() == "Not saving: the session database can't be opened"
    store = Store(Path(str(tmp_path)) / "chatlab.db")
    saved = MainWindow(window.lab.runner, store=store)
    saved.show()
    try:
        for button in (
            saved.toolbar.sidebar_button,
            saved.toolbar.studies_button,
            saved.toolbar.board_button,
        ):
            assert button.isVisibleTo(saved)
        assert saved.unsaved_label is None
    finally:
        close_window(qtbot, saved)
        store.close()
