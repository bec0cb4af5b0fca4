"""The lane editor's model field: the provider's models, listed at once from the cache
(:mod:`chatlab.core.settings.model_lists`) and fetched again with Refresh, which never
blocks the window (the fetch is a task on the event loop). A failed fetch shows its one
line and keeps the list it had. Each model is marked when it reasons, with the reasoning
settings it takes beside it and how they are sent in its tooltip; typing filters the list
(any part of the id), and an id not listed can still be typed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import shiboken6
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.settings.config import ProviderConfig
from chatlab.core.settings.model_lists import ModelList, ModelListCache, fetched_words, marker
from chatlab.ui.dialogs.common import SCREEN_MARGIN, one_line

# Given a provider's name, its models (an awaitable), or None when it can't be asked.
ListModels = Callable[[str], Awaitable[list[str]] | None]
NOTE_ROLE = Qt.ItemDataRole.UserRole + 1  # the words beside a model ("reasons · low/high")
PAD = 8
VISIBLE_ROWS = 14


def refusal_label(name: str) -> QLabel:
    """A label for a refusal under a field: the theme's error box (its ``role``), so it
    reads in the light and the dark look alike; hidden while empty."""
    label = QLabel()
    label.setObjectName(name)
    label.setProperty("role", "error")
    label.setWordWrap(True)
    label.setMargin(4)
    label.hide()
    return label


class NoteDelegate(QStyledItemDelegate):
    """Draws a model's id, and its note right-aligned in the muted colour beside it."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        note = index.data(NOTE_ROLE)
        if not note:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        metrics = opt.fontMetrics
        room = opt.rect.width() - metrics.horizontalAdvance(note) - 3 * PAD
        opt.text = metrics.elidedText(opt.text, Qt.TextElideMode.ElideMiddle, max(room, 40))
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        painter.save()
        painter.setPen(opt.palette.color(role))
        painter.drawText(
            opt.rect.adjusted(0, 0, -PAD, 0),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            note,
        )
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        note = index.data(NOTE_ROLE)
        if note:
            size.setWidth(size.width() + option.fontMetrics.horizontalAdvance(note) + 3 * PAD)
        return size


class ModelPicker(QWidget):
    """The model combo box, its Refresh button and a line saying what the list is."""

    textChanged = Signal(str)
    fetched = Signal(str)  # a fetch of this provider's models ended (listed or failed)

    def __init__(
        self, list_models: ListModels | None, cache: ModelListCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._list_models = list_models
        self._cache = cache
        self._provider: ProviderConfig | None = None
        self._shown: ModelList | None = None
        self._fetching: dict[str, asyncio.Future[ModelList]] = {}
        self._tried: set[str] = set()  # providers fetched once already while the dialog is open

        self.items = QStandardItemModel(self)
        self.combo = QComboBox()
        self.combo.setObjectName("lane-model")
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setModel(self.items)
        self.combo.setMaxVisibleItems(VISIBLE_ROWS)
        self.combo.setMinimumContentsLength(34)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.delegate = NoteDelegate(self)
        self.combo.setItemDelegate(self.delegate)
        line = self.combo.lineEdit()
        assert line is not None
        line.setPlaceholderText("Type a model id, or part of one to filter")
        self.completer = QCompleter(self.items, self)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setMaxVisibleItems(VISIBLE_ROWS)
        popup = self.completer.popup()
        assert popup is not None
        popup.setItemDelegate(self.delegate)
        self.combo.setCompleter(self.completer)
        self.combo.currentTextChanged.connect(self.textChanged)

        self.refresh = QPushButton("Refresh")
        self.refresh.setMinimumWidth(
            max(self.refresh.fontMetrics().horizontalAdvance(t) for t in ("Refresh", "Fetching…")) + 3 * PAD
        )
        self.refresh.clicked.connect(self.fetch)
        self.status = QLabel()
        self.status.setProperty("role", "muted")
        self.status.setWordWrap(True)
        self.error = refusal_label("model-error")

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.error)

    # -- the text ---------------------------------------------------------------------

    def text(self) -> str:
        return self.combo.currentText()

    def setText(self, text: str) -> None:
        self.combo.setCurrentText(text)

    def models(self) -> list[str]:
        """The ids listed now."""
        return [self.items.item(r).text() for r in range(self.items.rowCount())]

    # -- the provider and its list ----------------------------------------------------

    def set_provider(self, provider: ProviderConfig) -> None:
        """Show ``provider``'s list: the cached one at once; none kept yet, fetch it (once)."""
        self._provider = provider
        self.refresh.setToolTip(f"Ask {provider.name} for its models again (GET /models)")
        self.error.hide()
        self._show(self._cache.get(provider))
        fetching = provider.name in self._fetching
        self._busy(fetching)
        if self._shown is None and not fetching and provider.name not in self._tried:
            self.fetch()

    def _show(self, listed: ModelList | None) -> None:
        self._shown = listed
        provider = self._provider
        text = self.combo.currentText()
        self.combo.blockSignals(True)
        self.items.clear()
        widest = 0
        metrics = self.combo.fontMetrics()
        if listed is not None and provider is not None:
            for model in listed.models:
                item = QStandardItem(model)
                beside, tip = marker(provider, model)
                item.setData(beside, NOTE_ROLE)
                item.setToolTip(tip)
                item.setEditable(False)
                self.items.appendRow(item)
                width = metrics.horizontalAdvance(model) + (
                    metrics.horizontalAdvance(beside) if beside else 0
                )
                widest = max(widest, width)
        self.combo.setCurrentText(text)
        self.combo.blockSignals(False)
        room = self.screen().availableGeometry().width() - SCREEN_MARGIN
        width = min(widest + 8 * PAD, room)
        self.combo.view().setMinimumWidth(width)
        popup = self.completer.popup()
        if popup is not None:
            popup.setMinimumWidth(width)
        self._say()

    def _say(self) -> None:
        listed, provider = self._shown, self._provider
        if provider is not None and provider.name in self._fetching:
            self.status.setText(f"Fetching {provider.name}'s models…")
        elif listed is None and self._list_models is None:
            self.status.setText("No model list kept: type the model's id.")
        elif listed is None and not self.error.isHidden():
            self.status.setText("")  # the error under it says why there is none
        elif listed is None:
            self.status.setText("No model list yet: Refresh asks the provider for it.")
        else:
            n = len(listed.models)
            count = f"{n:,} model{'' if n == 1 else 's'}" if n else "No models"
            self.status.setText(f"{count}, fetched {fetched_words(listed.fetched)}; type to filter.")

    def _busy(self, busy: bool) -> None:
        self.refresh.setEnabled(not busy and self._list_models is not None)
        self.refresh.setText("Fetching…" if busy else "Refresh")
        self._say()

    def fetch(self) -> None:
        """Ask the provider for its models again, in the background; the list shown stays
        until the answer comes (and stays, with the error shown, if the fetch fails)."""
        provider = self._provider
        if provider is None or self._list_models is None or provider.name in self._fetching:
            return
        self._tried.add(provider.name)
        asked = self._list_models(provider.name)
        if asked is None:
            self._failed(provider, f"chatlab can't ask {provider.name} for its models")
            self.fetched.emit(provider.name)
            return
        cache = self._cache

        async def fetched() -> ModelList:
            models = await asked
            return cache.put(provider, models)  # kept even if the dialog has closed

        future = asyncio.ensure_future(fetched())
        self._fetching[provider.name] = future
        self._busy(True)
        future.add_done_callback(lambda fut: self._done(provider, fut))

    def _done(self, provider: ProviderConfig, future: asyncio.Future[ModelList]) -> None:
        if not shiboken6.isValid(self):
            if not future.cancelled():
                future.exception()  # retrieved: no "exception never retrieved" warning
            return
        self._fetching.pop(provider.name, None)
        try:
            self._show_result(provider, future)
        finally:
            self.fetched.emit(provider.name)

    def _show_result(self, provider: ProviderConfig, future: asyncio.Future[ModelList]) -> None:
        current = self._provider is not None and self._provider.name == provider.name
        if current:
            self._busy(False)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            if current:
                self._failed(provider, str(exc) or type(exc).__name__)
            return
        if current:
            self.error.hide()
            self._show(future.result())

    def _failed(self, provider: ProviderConfig, why: str) -> None:
        self.error.setText(f"Could not list {provider.name}'s models: {one_line(why)}")
        self.error.show()
        self._say()
