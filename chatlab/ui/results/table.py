"""The Leaderboard's table: one row per contender, best first, then those without an
interval, then those graded on keyed prompts but never voted on. Each contender's cell
carries a swatch of its look in the charts; every cell is plain text."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from chatlab.core.analysis.accuracy import Accuracy
from chatlab.core.analysis.report import Report
from chatlab.core.data import format as fmt
from chatlab.core.data.kinds import kind_words
from chatlab.ui.results.card import shown
from chatlab.ui.results.chart import marker
from chatlab.ui.results.figures import Look, look_of, why_no_interval

COLUMNS = (
    "Rank",
    "Contender",
    "Kind",
    "Rating",
    "95 % interval",
    "Length-controlled",
    "Shown",
    "Wins",
    "All bad",
    "Accuracy",
    "$ / answer",
)
CONTENDER, KIND, INTERVAL, WINS, ACCURACY = 1, 2, 4, 7, 9
LEFT = {CONTENDER, KIND}
# A contender's label and kind, from every session shown (for those the report lists
# only by id: graded on keyed prompts, never voted on).
Roster = dict[str, tuple[str, str]]


def accuracy_text(a: Accuracy | None) -> str:
    """``4/6 · 67% (22–96%)``: right of graded, the share, its exact 95 % interval."""
    if a is None:
        return "–"
    return f"{a.correct}/{a.graded} · {a.accuracy:.0%} ({a.ci95[0]:.0%}–{a.ci95[1]:.0%})"


def swatch(look: Look) -> QIcon:
    """A contender's marker, as its charts draw it, for its table cell."""
    color, shape = look
    pixmap = QPixmap(28, 28)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        marker(painter, QPointF(7, 7), shape, 10, QColor(color))
    finally:
        painter.end()
    return QIcon(pixmap)


class ContenderTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CONTENDER, QHeaderView.ResizeMode.Stretch)
        self.ids: list[str] = []  # the contender of each row

    def fill(self, report: Report, looks: dict[str, Look], roster: Roster) -> None:
        graded = {a.id: a for a in report.accuracy}
        voted = {c.id for c in report.contenders}
        unvoted = [a for a in report.accuracy if a.id not in voted]
        self.setRowCount(len(report.contenders) + len(unvoted))
        self.ids = []
        rows: list[tuple[str, str, list[str], str | None]] = []  # (id, label, cells, interval note)
        for c in report.contenders:
            lc = c.rating_length_controlled
            cells = [
                str(c.rank) if c.rank else "–",
                "",
                kind_words(c.kind) or c.kind,
                "–" if c.rating is None else f"{c.rating:.0f}",
                f"{c.ci95[0]:.0f} – {c.ci95[1]:.0f}" if c.ci95 else why_no_interval(c),
                "–" if lc is None else f"{lc:.0f}",
                str(c.appearances),
                f"{c.wins:.1f}",
                f"{c.all_bad_rate:.0%}",
                accuracy_text(graded.get(c.id)),
                fmt.cost(c.mean_cost_usd),
            ]
            rows.append((c.id, c.label, cells, c.note))
        for a in unvoted:
            label, kind = roster.get(a.id, (a.id, ""))
            cells = [
                "–",
                "",
                kind_words(kind) or "–",
                "–",
                "no votes",
                "–",
                "0",
                "–",
                "–",
                accuracy_text(a),
                "–",
            ]
            rows.append((a.id, label, cells, "graded on keyed prompts, never in a voted comparison"))
        for r, (cid, label, cells, note) in enumerate(rows):
            self.ids.append(cid)
            cells[CONTENDER] = shown(fmt.label_and_id(label, cid))
            for col, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if col not in LEFT:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == CONTENDER:
                    item.setIcon(swatch(look_of(looks, cid)))
                if col == INTERVAL and note:
                    item.setToolTip(note)
                self.setItem(r, col, item)
        self.fit_height()

    def fit_height(self) -> None:
        """As tall as its rows: the page around it scrolls, not the table."""
        header = self.horizontalHeader()
        height = max(header.height(), header.sizeHint().height()) + 2 * self.frameWidth()
        height += sum(self.rowHeight(r) for r in range(self.rowCount()))
        if self.horizontalScrollBar().isVisible():
            height += self.horizontalScrollBar().height()
        self.setFixedHeight(height + 2)

    def cell(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return "" if item is None else item.text()
