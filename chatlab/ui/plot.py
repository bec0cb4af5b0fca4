"""A small chart widget drawn with QPainter: points, interval bars, lines and two axes.

The Leaderboard needs four plain charts, and QtCharts would pull in the whole
``PySide6-Addons`` wheel (hundreds of megabytes, WebEngine included) for them. A
:class:`Plot` holds a :class:`Figure` (a title, an x axis that may be logarithmic, a y
axis of values or of named rows, and a list of marks) and paints it with the theme's
colours at any size, so the same drawing goes to the screen, to a PNG at a chosen size
and to an SVG. :func:`nice_ticks` and :func:`log_ticks` choose round tick values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from chatlab.ui import theme

Shape = Literal["circle", "square", "diamond", "triangle"]
SHAPES: tuple[Shape, ...] = ("circle", "square", "diamond", "triangle")


@dataclass
class Axis:
    """One axis: a value range, linear or log, or named rows (``categories``) at 0, 1, 2…"""

    low: float = 0.0
    high: float = 1.0
    title: str = ""
    log: bool = False
    fmt: str | Callable[[float], str] = "{:g}"
    categories: list[str] = field(default_factory=list)

    def ticks(self) -> list[float]:
        if self.categories:
            return [float(i) for i in range(len(self.categories))]
        return log_ticks(self.low, self.high) if self.log else nice_ticks(self.low, self.high)

    def label(self, value: float) -> str:
        if self.categories:
            i = round(value)
            return self.categories[i] if 0 <= i < len(self.categories) else ""
        return self.fmt(value) if callable(self.fmt) else self.fmt.format(value)

    def fraction(self, value: float) -> float:
        """Where ``value`` sits between low (0) and high (1)."""
        if self.log:
            low, high = math.log10(self.low), math.log10(self.high)
            value = math.log10(max(value, 1e-300))
        else:
            low, high = self.low, self.high
        return 0.5 if high == low else (value - low) / (high - low)


@dataclass
class Mark:
    """Something drawn in data coordinates: ``points`` (dots), ``line`` (a polyline)
    or ``bar`` (a segment from the first point to the second)."""

    kind: Literal["points", "line", "bar"]
    xy: list[tuple[float, float]]
    color: str = "accent"
    width: float = 2.0
    size: float = 10.0
    shape: Shape = "circle"
    dashed: bool = False
    label: str = ""  # shown in the legend when the figure has one


@dataclass
class Figure:
    title: str = ""
    x: Axis = field(default_factory=Axis)
    y: Axis = field(default_factory=Axis)
    marks: list[Mark] = field(default_factory=list)
    legend: bool = False
    empty_text: str = "No data yet"


def nice_ticks(low: float, high: float, most: int = 7) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) inside [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    return [round(first + k * step, 12) for k in range(max(0, count))]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten inside [low, high]; with 1, 2 and 5 of each when the span is short."""
    if low <= 0 or high <= low:
        return []
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1.0,) if last - first > 3 else (1.0, 2.0, 5.0)
    values = [m * 10.0**e for e in range(first, last + 1) for m in steps]
    return [v for v in values if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]


def dollars(value: float) -> str:
    """A tick label in dollars without exponent notation: $0.00001, $0.002, $1.5."""
    if value >= 1:
        return f"${value:,.2f}".rstrip("0").rstrip(".")
    return "$" + f"{value:.8f}".rstrip("0").rstrip(".")


def palette(dark: bool) -> list[str]:
    """Eight colours that stay apart from each other on the theme's background."""
    if dark:
        return ["#7aa2f7", "#e0af68", "#9ece6a", "#f7768e", "#bb9af7", "#7dcfff", "#ff9e64", "#c0caf5"]
    return ["#2f5fd0", "#b26b00", "#2e7d32", "#c62828", "#7b3fb5", "#00838f", "#d84315", "#455a64"]


class Plot(QWidget):
    """Shows one :class:`Figure`; :meth:`paint` draws it into any painter and rectangle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = Figure()
        self.setMinimumSize(QSize(320, 220))

    def show_figure(self, figure: Figure) -> None:
        self.figure = figure
        self.setToolTip("")
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRectF(self.rect()))
        painter.end()

    # -- drawing ----------------------------------------------------------------------------

    def color(self, name: str) -> QColor:
        c = theme.colors()
        return QColor(getattr(c, name)) if hasattr(c, name) and not name.startswith("#") else QColor(name)

    def paint(self, painter: QPainter, area: QRectF) -> None:
        fig = self.figure
        c = theme.colors()
        painter.fillRect(area, QColor(c.base))
        font = QFont(painter.font())
        metrics = QFontMetricsF(font)
        line = metrics.height()
        title_font = QFont(font)
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.setPen(QColor(c.text))
        painter.drawText(
            QRectF(area.left() + 8, area.top() + 6, area.width() - 16, line + 4),
            Qt.AlignmentFlag.AlignCenter,
            fig.title,
        )
        painter.setFont(font)
        if not fig.marks:
            painter.setPen(QColor(c.muted))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, fig.empty_text)
            return
        legend = [m for m in fig.marks if fig.legend and m.label]
        legend_w = 0.0
        if legend:
            legend_w = min(area.width() * 0.35, max(metrics.horizontalAdvance(m.label) for m in legend) + 34)
        y_labels = [fig.y.label(t) for t in fig.y.ticks()]
        y_w = max([metrics.horizontalAdvance(s) for s in y_labels] or [0.0]) + 10
        y_w = min(y_w, area.width() * 0.4)
        left = area.left() + y_w + (line + 6 if fig.y.title else 6)
        top = area.top() + line * 2 + 8
        right = area.right() - 14 - legend_w
        bottom = area.bottom() - line * (2 if fig.x.title else 1) - 14
        if right - left < 40 or bottom - top < 40:
            return
        inner = QRectF(left, top, right - left, bottom - top)

        def to_px(x: float, y: float) -> QPointF:
            fx = fig.x.fraction(x)
            fy = fig.y.fraction(y)
            return QPointF(inner.left() + fx * inner.width(), inner.bottom() - fy * inner.height())

        grid = QPen(QColor(c.border), 1)
        painter.setPen(grid)
        for t in fig.x.ticks():
            p = to_px(t, fig.y.low)
            painter.drawLine(QPointF(p.x(), inner.top()), QPointF(p.x(), inner.bottom()))
        for t in fig.y.ticks():
            p = to_px(fig.x.low, t)
            painter.drawLine(QPointF(inner.left(), p.y()), QPointF(inner.right(), p.y()))
        painter.drawRect(inner)
        painter.setPen(QColor(c.text))
        for t in fig.y.ticks():
            p = to_px(fig.x.low, t)
            text = metrics.elidedText(fig.y.label(t), Qt.TextElideMode.ElideRight, y_w - 8)
            painter.drawText(
                QRectF(inner.left() - y_w - 2, p.y() - line / 2, y_w - 4, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
        x_ticks = fig.x.ticks()
        room = inner.width() / max(1, len(x_ticks))
        for t in x_ticks:
            p = to_px(t, fig.y.low)
            text = metrics.elidedText(fig.x.label(t), Qt.TextElideMode.ElideRight, max(room, 60))
            w = metrics.horizontalAdvance(text) + 4
            painter.drawText(
                QRectF(p.x() - w / 2, inner.bottom() + 4, w, line), Qt.AlignmentFlag.AlignCenter, text
            )
        painter.setPen(QColor(c.muted))
        if fig.x.title:
            painter.drawText(
                QRectF(inner.left(), inner.bottom() + line + 8, inner.width(), line + 2),
                Qt.AlignmentFlag.AlignCenter,
                fig.x.title,
            )
        if fig.y.title:
            painter.save()
            painter.translate(area.left() + line / 2 + 4, inner.center().y())
            painter.rotate(-90)
            painter.drawText(
                QRectF(-inner.height() / 2, -line / 2, inner.height(), line),
                Qt.AlignmentFlag.AlignCenter,
                fig.y.title,
            )
            painter.restore()
        painter.save()
        painter.setClipRect(inner.adjusted(-8, -8, 8, 8))
        for mark in fig.marks:
            color = self.color(mark.color)
            pen = QPen(color, mark.width)
            if mark.dashed:
                pen.setStyle(Qt.PenStyle.DashLine)
            if mark.kind in ("line", "bar") and len(mark.xy) >= 2:
                painter.setPen(pen)
                points = [to_px(x, y) for x, y in mark.xy]
                for a, b in itertools.pairwise(points):
                    painter.drawLine(a, b)
            elif mark.kind == "points":
                for x, y in mark.xy:
                    self._dot(painter, to_px(x, y), mark.shape, mark.size, color)
        painter.restore()
        if legend:
            x0 = inner.right() + 16
            y0 = inner.top()
            for k, mark in enumerate(legend):
                y = y0 + k * (line + 4)
                color = self.color(mark.color)
                if mark.kind == "points":
                    self._dot(painter, QPointF(x0 + 8, y + line / 2), mark.shape, min(mark.size, 10), color)
                else:
                    painter.setPen(QPen(color, mark.width))
                    painter.drawLine(QPointF(x0, y + line / 2), QPointF(x0 + 16, y + line / 2))
                painter.setPen(QColor(c.text))
                text = metrics.elidedText(mark.label, Qt.TextElideMode.ElideRight, legend_w - 26)
                painter.drawText(QRectF(x0 + 22, y, legend_w - 22, line), Qt.AlignmentFlag.AlignVCenter, text)

    @staticmethod
    def _dot(painter: QPainter, at: QPointF, shape: Shape, size: float, color: QColor) -> None:
        painter.setPen(QPen(color.darker(130), 1))
        painter.setBrush(color)
        r = size / 2
        if shape == "square":
            painter.drawRect(QRectF(at.x() - r * 0.9, at.y() - r * 0.9, r * 1.8, r * 1.8))
        elif shape in ("diamond", "triangle"):
            path = QPainterPath()
            corners = (
                [(0, -r * 1.2), (r * 1.2, 0), (0, r * 1.2), (-r * 1.2, 0)]
                if shape == "diamond"
                else [(0, -r * 1.2), (r * 1.1, r * 0.8), (-r * 1.1, r * 0.8)]
            )
            path.moveTo(at + QPointF(*corners[0]))
            for dx, dy in corners[1:]:
                path.lineTo(at + QPointF(dx, dy))
            path.closeSubpath()
            painter.drawPath(path)
        else:
            painter.drawEllipse(at, r, r)
        painter.setBrush(Qt.BrushStyle.NoBrush)
