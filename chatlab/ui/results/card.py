"""The answer card, the Leaderboard's first panel: "where does reasoning help?" as the
core says it (:mod:`chatlab.core.analysis.card`), the headline in bold and each section
under a short heading; one sentence on what would fill it when it says nothing yet.

Every sentence carries data (contenders' labels, tags), so every label here is plain
text (no rich text from data), with control characters made visible.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from chatlab.core.analysis.card import Section, answer_card, headline
from chatlab.core.analysis.report import Report
from chatlab.core.data.safety import clean_text, visible_controls

HINT = "Add a model with reasoning on and off, or prompts with an answer key, to see where reasoning helps."
HINT_PAIR = (
    "Add the same model with reasoning on and off to see where reasoning helps "
    "(accuracy on the prompts with an answer key is in the table)."
)
NO_VOTES = "No votes or graded answers match these filters yet."


def shown(text: str) -> str:
    """Data as a label shows it: valid Unicode, control characters (bidi overrides
    included) as visible escapes."""
    return visible_controls(clean_text(text))


def plain_label(text: str = "", role: str = "") -> QLabel:
    label = QLabel(shown(text))
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        label.setProperty("role", role)
    return label


class SectionView(QWidget):
    """One section: its heading in bold, then its sentences as bullets with a hanging
    indent (a wrapped sentence lines up under its first word)."""

    def __init__(self, section: Section, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 6, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        self.heading = plain_label(section.heading)
        font = QFont(self.heading.font())
        font.setBold(True)
        self.heading.setFont(font)
        grid.addWidget(self.heading, 0, 0, 1, 2)
        self.lines: list[QLabel] = []
        for row, line in enumerate(section.lines, start=1):
            bullet = QLabel("•")
            bullet.setProperty("role", "muted")
            grid.addWidget(bullet, row, 0, Qt.AlignmentFlag.AlignTop)
            label = plain_label(line)
            grid.addWidget(label, row, 1)
            self.lines.append(label)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(len(section.lines) + 1, 1)  # short sections sit at the top of their row

    def text(self) -> str:
        return "\n".join([self.heading.text(), *(line.text() for line in self.lines)])


class AnswerCard(QFrame):
    """The card: :attr:`headline`, :attr:`warning`, then one :class:`SectionView` per
    section (:attr:`sections`; two side by side when the card is wide), then
    :attr:`hint` when it applies."""

    WIDE = 1000  # from this width (in pixels), sections go two to a row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("card", True)
        self.setObjectName("answerCard")
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 10, 14, 12)
        box.setSpacing(4)
        self.headline = plain_label()
        font = QFont(self.headline.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.headline.setFont(font)
        self.warning = plain_label(role="muted")
        self.hint = plain_label(role="muted")
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(28)
        self.grid.setVerticalSpacing(6)
        self.sections: list[SectionView] = []
        self.columns = 1
        box.addWidget(self.headline)
        box.addWidget(self.warning)
        box.addLayout(self.grid)
        box.addWidget(self.hint)
        self.headline.hide()
        self.warning.hide()
        self.hint.setText("Computing the answer…")

    @property
    def headings(self) -> list[QLabel]:
        return [s.heading for s in self.sections]

    def show_report(self, report: Report) -> None:
        for view in self.sections:
            self.grid.removeWidget(view)
            view.deleteLater()
        first = headline(report)
        self.headline.setText(shown(first or ""))
        self.headline.setVisible(bool(first))
        self.warning.setText(f"Careful: {report.warning}." if report.warning else "")
        self.warning.setVisible(bool(report.warning))
        self.sections = [SectionView(section) for section in answer_card(report)]
        self.place()
        if report.reasoning_help:
            hint = ""
        elif not report.votes and not report.accuracy:
            hint = NO_VOTES + " " + HINT
        else:
            hint = HINT_PAIR if report.accuracy else HINT
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))

    def place(self) -> None:
        """The sections in reading order, one or two to a row as the width allows."""
        self.columns = 2 if self.width() >= self.WIDE and len(self.sections) > 1 else 1
        for view in self.sections:
            self.grid.removeWidget(view)
        for k, view in enumerate(self.sections):
            self.grid.addWidget(view, k // self.columns, k % self.columns)
        for col in range(2):
            self.grid.setColumnStretch(col, 1 if col < self.columns else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        wanted = 2 if self.width() >= self.WIDE and len(self.sections) > 1 else 1
        if wanted != self.columns:
            self.place()

    def text(self) -> str:
        """What the card says, top to bottom (for tests and the clipboard)."""
        parts = [w.text() for w in (self.headline, self.warning) if not w.isHidden() and w.text()]
        parts += [view.text() for view in self.sections]
        if not self.hint.isHidden() and self.hint.text():
            parts.append(self.hint.text())
        return "\n".join(parts)
