"""The rating window's reveal panel: the answer key's grade is a column of its own, with
its detail as the tooltip, shown only when the comparison was graded."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import Grade
from chatlab.core.studies.rating import RevealRow
from chatlab.ui.rating.panels import RevealPanel


def _row(letter: str, grade: Grade | None) -> RevealRow:
    return RevealRow(letter, f"model {letter}", True, letter == "A", False, True, "native", grade)


def _cells(panel: RevealPanel) -> dict[str, str]:
    return {label.text(): label.toolTip() for label in panel.findChildren(QLabel)}


def test_a_graded_comparison_reveals_each_answers_grade_with_its_detail(qtbot: QtBot) -> None:
    panel = RevealPanel()
    qtbot.addWidget(panel)
    panel.show_rows(
        [_row("A", Grade(True, "expected 42, found it")), _row("B", Grade(False, "expected 42, found 41"))],
        "a",
        guess_made=False,
    )
    cells = _cells(panel)
    assert cells["answer key"] == ""
    assert cells["✓ right"] == "answer key: expected 42, found it"
    assert cells["✗ wrong"] == "answer key: expected 42, found 41"
    panel.show_rows([_row("A", None), _row("B", None)], "tie", guess_made=False)
    assert "answer key" not in _cells(panel)  # an open prompt: no column
