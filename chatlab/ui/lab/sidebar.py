"""The history sidebar: saved sessions, full-text search with highlighted hits, and the
session actions (open, rename, duplicate, delete, export).

It only reads and writes through :class:`chatlab.store.db.Store`; the window decides
what opening or duplicating a session means.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chatlab.store.db import Store

ID_ROLE = Qt.ItemDataRole.UserRole
log = logging.getLogger("chatlab")


def highlight(snippet: str) -> str:
    """FTS snippet (matches between \\x02 and \\x03) as safe rich text with bold hits."""
    return html.escape(snippet).replace("\x02", "<b>").replace("\x03", "</b>")


class SessionSidebar(QWidget):
    openRequested = Signal(str)
    renameRequested = Signal(str)
    deleteRequested = Signal(str)
    duplicateRequested = Signal(str)

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts and answers…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("sessions")
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self.rename_button = QPushButton("Rename")
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Run this session's first prompt again, with lanes you choose")
        self.delete_button = QPushButton("Delete")
        self.rename_button.clicked.connect(lambda: self._emit(self.renameRequested.emit))
        self.duplicate_button.clicked.connect(lambda: self._emit(self.duplicateRequested.emit))
        self.delete_button.clicked.connect(lambda: self._emit(self.deleteRequested.emit))
        buttons = QHBoxLayout()
        for b in (self.rename_button, self.duplicate_button, self.delete_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("Sessions"))
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.current_id: str | None = None
        self.refresh()

    def stop(self) -> None:
        """Drop a search refresh still waiting to run, before the store is closed."""
        self._debounce.stop()

    def _emit(self, emit: Callable[[str], None]) -> None:
        item = self.list.currentItem()
        if item is not None and item.data(ID_ROLE):
            emit(item.data(ID_ROLE))

    def _activated(self, item: QListWidgetItem) -> None:
        session_id = item.data(ID_ROLE)
        if session_id and session_id != self.current_id:
            self.openRequested.emit(session_id)

    def refresh(self) -> None:
        query = self.search.text().strip()
        self.list.clear()
        if query:
            try:
                titles = {s.id: s.title for s in self.store.sessions()}
                hits = self.store.search(query)
            except Exception:  # whatever the query or the store does: no results, never a crash
                log.warning("history search failed", exc_info=True)
                failed = QListWidgetItem("Search failed")
                failed.setToolTip("This search could not be run; try other words.")
                self.list.addItem(failed)
                return
            for hit in hits:
                item = QListWidgetItem()
                item.setData(ID_ROLE, hit.session_id)
                title = html.escape(titles.get(hit.session_id, "") or "Untitled")
                label = QLabel(f"<small>{title} · {hit.kind}</small><br>{highlight(hit.snippet)}")
                label.setTextFormat(Qt.TextFormat.RichText)
                label.setWordWrap(True)
                label.setContentsMargins(4, 2, 4, 2)
                item.setSizeHint(label.sizeHint())
                self.list.addItem(item)
                self.list.setItemWidget(item, label)
            if not self.list.count():
                self.list.addItem(QListWidgetItem("No matches"))
            return
        for s in self.store.sessions():
            blind = " · blind" if s.blind else ""
            lanes = f"{s.lanes} lane{'s' if s.lanes != 1 else ''}"
            turns = f"{s.turns} turn{'s' if s.turns != 1 else ''}"
            item = QListWidgetItem(
                f"{s.title or 'Untitled'}\n{s.created_at[:16].replace('T', ' ')} · {lanes} · {turns}{blind}"
            )
            item.setData(ID_ROLE, s.id)
            self.list.addItem(item)
            if s.id == self.current_id:
                self.list.setCurrentItem(item)
