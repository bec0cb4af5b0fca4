"""The small parts the rating windows are built of: labels that never read markup,
buttons that leave the keyboard to the queue view, and borderless tables of labels
(the reveal card's, the reveal and Done panels')."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget


def plain_label(text: str = "", role: str = "") -> QLabel:
    """A plain-text label (never rich text: nothing here is markup)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if role:
        label.setProperty("role", role)
    return label


def nofocus_button(text: str, tip: str, checkable: bool = False) -> QPushButton:
    """A button that never takes the keyboard focus from the view."""
    button = QPushButton(text)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setCheckable(checkable)
    return button


def grid_table(across: int = 16, down: int = 2) -> tuple[QWidget, QGridLayout]:
    """A borderless table of labels (the reveal card's and the queue's panels')."""
    table = QWidget()
    grid = QGridLayout(table)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(across)
    grid.setVerticalSpacing(down)
    return table, grid
