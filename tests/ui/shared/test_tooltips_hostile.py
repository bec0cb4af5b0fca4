"""Tooltips of untrusted text under attack: a grade's detail quotes the model's answer
("found '<img src=…>'") and an imported document brings its own details, labels and
model names. Qt renders any tooltip that looks like HTML, so each must show exactly
its characters, tags and all."""

from __future__ import annotations

import pytest
from PySide6.QtGui import Qt, QTextDocument
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import Grade, Response, Status
from chatlab.core.lab.figures import Figures
from chatlab.core.studies.answers import grade, parse_key
from chatlab.core.studies.rating import RevealRow
from chatlab.ui.lab.badges import StatusBadges
from chatlab.ui.rating.panels import RevealPanel
from chatlab.ui.shared.flow import ElidedLabel

pytestmark = pytest.mark.hostile

HOSTILE = [
    "<b>41</b>",
    "<img src='file:///etc/passwd'> <a href='https://evil.example'>right</a>",
    "<h1>✓ right</h1>",
    "&lt;not a tag&gt;",
    "plain words",
]


def shown(tip: str) -> str:
    """What Qt's tooltip shows for ``tip``: rich text when it looks like HTML."""
    doc = QTextDocument()
    if Qt.mightBeRichText(tip):
        doc.setHtml(tip)
    else:
        doc.setPlainText(tip)
    return doc.toPlainText()


@pytest.mark.parametrize("answer", HOSTILE)
def test_a_grade_detail_quoting_the_answer_shows_as_written(qtbot: QtBot, answer: str) -> None:
    found = grade(parse_key({"exact": "42"}), answer)
    figures = Figures.of(Response("lane", Status.OK, text_parts=[answer], grades=[found]))
    assert figures.grade_words is not None
    badge, tip = figures.grade_words
    badges = StatusBadges()
    qtbot.addWidget(badges)
    badges.set_badges([(badge, "")], {badge: tip})
    [label] = [x for x in badges.findChildren(QLabel) if x.text() == badge]
    assert shown(label.toolTip()) == tip


@pytest.mark.parametrize("detail", HOSTILE)
def test_an_imported_grade_detail_shows_as_written_in_the_reveal(qtbot: QtBot, detail: str) -> None:
    panel = RevealPanel()
    qtbot.addWidget(panel)
    row = RevealRow("A", "model A", True, True, False, True, "native", Grade(False, detail))
    panel.show_rows([row], "a", guess_made=False)
    [cell] = [x for x in panel.findChildren(QLabel) if x.text() == "✗ wrong"]
    assert shown(cell.toolTip()) == f"answer key: {detail}"


@pytest.mark.parametrize("name", HOSTILE)
def test_a_label_or_model_name_shows_as_written_in_its_tooltip(qtbot: QtBot, name: str) -> None:
    label = ElidedLabel(f"demo:{name}")
    qtbot.addWidget(label)
    assert shown(label.toolTip()) == f"demo:{name}"
    assert label.text() == f"demo:{name}"
