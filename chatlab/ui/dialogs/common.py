"""What the dialogs share: the error and OK colours, text cut to one line, tables sized
to their contents, the label a dialog shows its error in, and its OK/Cancel buttons.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget

from chatlab.core.data.safety import clean_text

ERROR_STYLE = "color: #c62828;"
OK_STYLE = "color: #2e7d32;"
RESULT_CHARS = 160  # a connection test's result is shown on one line, cut to this length
SCREEN_MARGIN = 80  # a dialog leaves this much of the screen's width free


def one_line(text: str, limit: int = RESULT_CHARS) -> str:
    """``text`` on one line: control characters and runs of whitespace become one space,
    cut to ``limit`` characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in clean_text(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_table(table: QTableWidget, min_rows: int = 3, max_rows: int = 12) -> None:
    """Size ``table`` for its contents: every column as wide as its widest cell or header
    (no clipped column; on a screen too narrow for that, the table scrolls sideways), and
    tall enough for a few rows."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    table.resizeColumnsToContents()
    columns = sum(
        max(table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(table.columnCount())
    )
    vertical = table.verticalHeader()
    side = vertical.sizeHint().width() if vertical.isVisible() else 0
    frame = 2 * table.frameWidth()
    width = columns + side + frame + table.verticalScrollBar().sizeHint().width()
    room = table.screen().availableGeometry().width() - SCREEN_MARGIN  # very long cells scroll
    table.setMinimumWidth(min(width, room))
    # Every column fits in that width: a sideways scroll bar could only ever show the
    # stretched last column's few spare pixels. On a screen too narrow, the table scrolls.
    table.setHorizontalScrollBarPolicy(
        Qt.ScrollBarPolicy.ScrollBarAlwaysOff if width <= room else Qt.ScrollBarPolicy.ScrollBarAsNeeded
    )
    rows = min(max(table.rowCount(), min_rows), max_rows)
    # More rows than shown: the scroll bar is there from the start, so the last column,
    # stretched to the width, never overflows by the bar's width when it appears.
    table.setVerticalScrollBarPolicy(
        Qt.ScrollBarPolicy.ScrollBarAlwaysOn
        if table.rowCount() > rows
        else Qt.ScrollBarPolicy.ScrollBarAsNeeded
    )
    table.setMinimumHeight(header.sizeHint().height() + rows * vertical.defaultSectionSize() + frame)


def new_table(columns: Sequence[str], editable: bool = False) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    if not editable:
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    return table


def error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("error")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    return label


def button_box(ok: QDialogButtonBox.StandardButton, dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons
