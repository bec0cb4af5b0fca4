"""Named actions: each registered once, with a title, a handler, an optional tooltip and
icon, and an enabled-when predicate over its window's state.

A window registers what it can do under dotted names ("session.new", "lane.add"); its
toolbar, its key table and its menus then bind by name, so a name is the one place an
action's title, keys, tooltip and enablement live. Each action is a QAction added to the
window, so its keys work while that window is active; a toolbar button shows it as its
default action, and a menu entry (which may word it differently) follows its enabled
state. ``refresh(state)`` evaluates every predicate; a disabled action's button, menu
entries and keys are off together. A name that was never registered fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from chatlab.ui.shared.icons import icon as line_icon


class UnknownAction(KeyError):
    """A name no action was registered under (a typo in a toolbar, a menu or a key table)."""


@dataclass
class _Entry[S]:
    action: QAction
    tip: str
    enabled_when: Callable[[S], bool] | None
    keys: list[str] = field(default_factory=list)


class ActionRegistry[S]:
    """The actions of one window, by name; ``S`` is the state their predicates read."""

    def __init__(self, owner: QWidget) -> None:
        self._owner = owner
        self._entries: dict[str, _Entry[S]] = {}
        self._keys: dict[str, str] = {}  # a key, as written, -> the name it triggers

    def register(
        self,
        name: str,
        title: str,
        handler: Callable[[], object],
        *,
        label: str = "",
        tip: str = "",
        icon: str = "",
        enabled_when: Callable[[S], bool] | None = None,
    ) -> QAction:
        """Register ``handler`` under ``name``. ``label`` is the shorter text a toolbar
        button shows (default: the title); ``tip`` is the tooltip, to which the first key
        bound is added; ``icon`` names a line icon."""
        if name in self._entries:
            raise ValueError(f"action {name!r} is registered twice")
        action = QAction(title, self._owner)
        action.setObjectName(name)
        if label:
            action.setIconText(label)
        if tip:
            action.setToolTip(tip)
        if icon:
            action.setIcon(line_icon(icon))

        def run() -> None:  # takes no argument: ``triggered`` would pass its checked state
            handler()

        action.triggered.connect(run)
        self._owner.addAction(action)
        self._entries[name] = _Entry(action, tip, enabled_when)
        return action

    def _entry(self, name: str) -> _Entry[S]:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownAction(f"no action is registered as {name!r}") from None

    def qaction(self, name: str) -> QAction:
        return self._entry(name).action

    def names(self) -> list[str]:
        return list(self._entries)

    def keys(self) -> dict[str, str]:
        """Every key bound, as written in its table, and the name of the action it triggers."""
        return dict(self._keys)

    def bind_key(self, name: str, key: str) -> None:
        """Make ``key`` (e.g. "Ctrl+N") trigger the action ``name`` while the window is active."""
        entry = self._entry(name)
        if key in self._keys:
            raise ValueError(f"{key} is bound twice: to {self._keys[key]!r} and {name!r}")
        self._keys[key] = name
        entry.keys.append(key)
        entry.action.setShortcuts([QKeySequence(k) for k in entry.keys])
        if entry.tip:
            entry.action.setToolTip(f"{entry.tip} ({entry.keys[0]})")

    def trigger(self, name: str) -> None:
        """Run the action as its button or key would (nothing while it is disabled)."""
        self.qaction(name).trigger()

    def menu_entry(self, menu: QMenu, name: str, text: str) -> QAction:
        """An entry in ``menu`` worded ``text`` that triggers ``name`` and follows its
        enabled state."""
        action = self.qaction(name)
        entry = menu.addAction(text)
        entry.triggered.connect(action.trigger)
        entry.setEnabled(action.isEnabled())
        action.enabledChanged.connect(entry.setEnabled)
        return entry

    def refresh(self, state: S) -> None:
        """Enable each action whose predicate holds in ``state`` (and disable the rest)."""
        for entry in self._entries.values():
            if entry.enabled_when is not None:
                entry.action.setEnabled(entry.enabled_when(state))
