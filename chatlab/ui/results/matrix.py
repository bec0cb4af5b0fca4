"""The win-rate matrix: how often each contender beat each other one, as shaded cells
with the votes each share rests on."""

from __future__ import annotations

import logging

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import QWidget

from chatlab.ui.results.chart import marker
from chatlab.ui.results.figures import Look, finite, short
from chatlab.ui.shared import theme


class MatrixView(QWidget):
    """The win-rate matrix: how often the row beat the column, as shaded cells."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.matrix: list[list[float | None]] = []
        self.meetings: list[list[int]] = []
        self.looks: list[Look | None] = []  # each row's contender's look, as in the other charts
        self.footer = ""
        self.setMinimumSize(QSize(320, 240))

    def show_matrix(
        self,
        labels: list[str],
        matrix: list[list[float | None]],
        meetings: list[list[int]] | None = None,
        looks: list[Look | None] | None = None,
    ) -> None:
        self.labels, self.matrix, self.meetings = labels, matrix, meetings or []
        self.looks = looks or []
        self.update()

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        try:
            self.paint(painter, QRectF(self.rect()))
        except Exception:  # a chart must never take the window down with it
            logging.getLogger(__name__).exception("the win-rate matrix could not be drawn")
        finally:
            painter.end()

    def paint(self, painter: QPainter, area: QRectF) -> None:
        c = theme.colors()
        painter.fillRect(area, QColor(c.base))
        n = len(self.labels)
        painter.setPen(QColor(c.text))
        font = QFont(painter.font())
        painter.setFont(font)
        if not n:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "No votes yet")
            return
        metrics = QFontMetricsF(font)
        widest = max(metrics.horizontalAdvance(f"{i + 1}  {short(t, 40)}") for i, t in enumerate(self.labels))
        swatch = 18.0 if self.looks else 0.0
        left = min(widest + 16 + swatch, area.width() * 0.4)
        top = 40.0
        below = 34 + (22 if self.footer else 0)  # the caption, and the footer under it
        cell = min((area.width() - left - 10) / n, (area.height() - top - below) / n)
        title = QFont(font)
        title.setBold(True)
        painter.setFont(title)
        heading = "How often the row beat the column (a vote a third one won counts half)"
        width = max(left + n * cell, QFontMetricsF(title).horizontalAdvance(heading) + 16)
        painter.drawText(  # centred over the grid where it fits, never cut at the left edge
            QRectF(area.left(), area.top(), min(width, area.width()), 24),
            Qt.AlignmentFlag.AlignCenter,
            heading,
        )
        painter.setFont(font)
        good, bad = QColor(c.accent), QColor(c.error)
        for i, label in enumerate(self.labels):
            painter.setPen(QColor(c.text))
            text = metrics.elidedText(
                f"{i + 1}  {short(label, 40)}", Qt.TextElideMode.ElideRight, left - 8 - swatch
            )
            painter.drawText(
                QRectF(area.left(), area.top() + top + i * cell, left - 6, cell),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            look = self.looks[i] if i < len(self.looks) else None
            if look is not None:
                at = QPointF(
                    area.left() + left - 6 - metrics.horizontalAdvance(text) - 10,
                    area.top() + top + i * cell + cell / 2,
                )
                painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                marker(painter, at, look[1], 9, QColor(look[0]))
                painter.setPen(QColor(c.text))
            painter.drawText(
                QRectF(area.left() + left + i * cell, area.top() + 24, cell, 16),
                Qt.AlignmentFlag.AlignCenter,
                str(i + 1),
            )
            for j in range(n):
                rect = QRectF(area.left() + left + j * cell, area.top() + top + i * cell, cell - 2, cell - 2)
                row = self.matrix[i] if i < len(self.matrix) else []
                value = row[j] if j < len(row) else None
                if value is None or not finite(value):
                    painter.fillRect(rect, QColor(c.alt))
                    continue
                shade = QColor(good if value >= 0.5 else bad)
                shade.setAlphaF(min(1.0, abs(value - 0.5) * 1.8))  # 50 %: neutral
                painter.fillRect(rect, shade)
                painter.setPen(QColor(c.text))
                counts = self.meetings[i] if i < len(self.meetings) else []
                met = counts[j] if j < len(counts) else None
                text = f"{value:.0%}" if met is None else f"{value:.0%}\nof {met}"
                # A small cell (many contenders) keeps the share alone, and a tiny one no
                # words at all: overlapping digits read as nonsense ("f 2(").
                lines = text.split("\n")
                if len(lines) > 1 and (
                    rect.height() < 2.2 * metrics.height()
                    or rect.width() < 1.1 * max(metrics.horizontalAdvance(x) for x in lines)
                ):
                    text = lines[0]
                fits = rect.width() >= 1.1 * metrics.horizontalAdvance(text)
                if fits and rect.height() >= metrics.height():
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.setPen(QColor(c.muted))
        painter.drawText(
            QRectF(area.left() + 8, area.top() + top + n * cell + 4, area.width() - 16, 20),
            Qt.AlignmentFlag.AlignLeft,
            "Columns 1, 2, 3… are the rows in the same order. Observed shares of the votes "
            'where both appeared ("of N": how many), not the model\'s predictions.',
        )
        if self.footer:
            painter.drawText(
                QRectF(area.left() + 8, area.bottom() - 22, area.width() - 16, 20),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                self.footer,
            )
