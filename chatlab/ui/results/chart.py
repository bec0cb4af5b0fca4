"""A small chart widget drawn with QPainter: points, interval bars, lines and two axes.

The Leaderboard needs four plain charts, and QtCharts would pull in the whole
``PySide6-Addons`` wheel (hundreds of megabytes, WebEngine included) for them. A
:class:`Plot` holds a :class:`Chart` (a title, an x axis that may be logarithmic, a y
axis of values or of named rows, and a list of marks) and paints it with the theme's
colours at any size, so the same drawing goes to the screen, to a PNG at a chosen size
and to an SVG. :func:`nice_ticks` and :func:`log_ticks` choose round tick values.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from chatlab.ui.shared import theme

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
        """Where ``value`` sits between low (0) and high (1); NaN when it can't be placed
        (a non-finite value or axis), which the plot then leaves out."""
        try:
            if self.log:
                low, high = _log10(self.low), _log10(self.high)
                value = _log10(value)
            else:
                low, high = self.low, self.high
            if not all(map(math.isfinite, (low, high, value))):
                return math.nan
            return 0.5 if high == low else (value - low) / (high - low)
        except (OverflowError, ValueError, ZeroDivisionError):
            return math.nan


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
    hollow: bool = False  # points drawn as rings: a value without an interval
    key: str = ""  # what the mark stands for (a contender's id), never drawn


@dataclass
class Chart:
    title: str = ""
    x: Axis = field(default_factory=Axis)
    y: Axis = field(default_factory=Axis)
    marks: list[Mark] = field(default_factory=list)
    legend: bool = False
    empty_text: str = "No data yet"
    footer: str = ""  # what the data is (N, filters, date), small in the corner; saved with it


def _log10(value: float) -> float:
    """log10, with anything at or below the smallest normal float clamped there."""
    return math.log10(max(value, 1e-300)) if not math.isnan(value) else math.nan


def nice_ticks(low: float, high: float, most: int = 7) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) inside [low, high]; none when
    the range can't be ticked (not finite, or too narrow or wide for a float)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        return []
    if high == low:
        return [low]
    try:
        raw = (high - low) / max(1, most - 1)
        exponent = math.floor(math.log10(raw))
        power = 10.0**exponent
        step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
        first = math.ceil(low / step - 1e-9) * step
        count = math.floor((high - first) / step + 1e-9) + 1
    except (OverflowError, ValueError, ZeroDivisionError):
        return []
    if not (math.isfinite(first) and 0 < count <= 100):
        return []
    digits = max(0, 2 - exponent)  # enough decimals for the step, rounding float noise away
    return [round(first + k * step, digits) for k in range(count)]


def log_ticks(low: float, high: float, most: int = 12) -> list[float]:
    """Powers of ten inside [low, high]; with 1, 2 and 5 of each when the span is short,
    and every second, third… decade when it is very long."""
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high <= low:
        return []
    first, last = math.floor(_log10(low)), math.ceil(_log10(high))
    every = max(1, math.ceil((last - first + 1) / most))
    steps = (1.0,) if last - first > 3 else (1.0, 2.0, 5.0)
    values = []
    for e in range(first, last + 1, every):
        for m in steps:
            with contextlib.suppress(OverflowError):
                values.append(m * 10.0**e)
    return [v for v in values if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]


def dollars(value: float) -> str:
    """A tick label in dollars without exponent notation down to a trillionth of a
    dollar: $0.00001, $0.002, $1.5."""
    if not math.isfinite(value):
        return ""
    if value >= 1:
        return f"${value:,.2f}".rstrip("0").rstrip(".")
    if value < 1e-12:
        return f"${value:.0e}" if value > 0 else "$0"
    decimals = math.ceil(-math.log10(value)) + 1
    return "$" + f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def palette(dark: bool) -> list[str]:
    """Eight colours that stay apart from each other on the theme's background, and for
    the common kinds of colour blindness: Okabe and Ito's set (its black and yellow
    swapped for a grey and an olive where they would vanish into the background)."""
    if dark:
        return ["#56b4e9", "#e69f00", "#009e73", "#cc79a7", "#f0e442", "#d55e00", "#bbbbbb", "#4c8fd6"]
    return ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#555555", "#a39200"]


def _placed(point: QPointF) -> bool:
    return math.isfinite(point.x()) and math.isfinite(point.y())


class Plot(QWidget):
    """Shows one :class:`Chart`; :meth:`paint` draws it into any painter and rectangle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = Chart()
        self.setMinimumSize(QSize(320, 220))

    def show_chart(self, figure: Chart) -> None:
        self.figure = figure
        self.setToolTip("")
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self.paint(painter, QRectF(self.rect()))
        except Exception:  # a chart must never take the window down with it
            logging.getLogger(__name__).exception("a chart could not be drawn")
        finally:
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
        if fig.footer:
            painter.setPen(QColor(c.muted))
            painter.drawText(
                QRectF(area.left() + 8, area.bottom() - line - 2, area.width() - 16, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(fig.footer, Qt.TextElideMode.ElideMiddle, area.width() - 16),
            )
        if not fig.marks:
            painter.setPen(QColor(c.muted))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, fig.empty_text)
            return
        legend = [m for m in fig.marks if fig.legend and m.label]
        legend_w = 0.0
        if legend:
            legend_w = min(area.width() * 0.35, max(metrics.horizontalAdvance(m.label) for m in legend) + 34)
        y_labels = [fig.y.label(t) for t in fig.y.ticks()[:200]]
        y_w = max([metrics.horizontalAdvance(s) for s in y_labels] or [0.0]) + 10
        y_w = min(y_w, area.width() * 0.4)
        left = area.left() + y_w + (line + 6 if fig.y.title else 6)
        top = area.top() + line * 2 + 8
        right = area.right() - 14 - legend_w
        bottom = area.bottom() - line * (2 if fig.x.title else 1) - 14 - (line if fig.footer else 0)
        if right - left < 40 or bottom - top < 40:
            return
        inner = QRectF(left, top, right - left, bottom - top)

        def to_px(x: float, y: float) -> QPointF:
            fx = fig.x.fraction(x)
            fy = fig.y.fraction(y)
            return QPointF(inner.left() + fx * inner.width(), inner.bottom() - fy * inner.height())

        grid = QPen(QColor(c.border), 1)
        painter.setPen(grid)
        x_ticks = [t for t in fig.x.ticks() if math.isfinite(fig.x.fraction(t))]
        y_ticks = [t for t in fig.y.ticks() if math.isfinite(fig.y.fraction(t))]
        for t in x_ticks:
            x = inner.left() + fig.x.fraction(t) * inner.width()
            painter.drawLine(QPointF(x, inner.top()), QPointF(x, inner.bottom()))
        for t in y_ticks:
            y = inner.bottom() - fig.y.fraction(t) * inner.height()
            painter.drawLine(QPointF(inner.left(), y), QPointF(inner.right(), y))
        painter.drawRect(inner)
        painter.setPen(QColor(c.text))
        for t in y_ticks:
            y = inner.bottom() - fig.y.fraction(t) * inner.height()
            text = metrics.elidedText(fig.y.label(t), Qt.TextElideMode.ElideRight, y_w - 8)
            painter.drawText(
                QRectF(inner.left() - y_w - 2, y - line / 2, y_w - 4, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
        room = inner.width() / max(1, len(x_ticks))
        right_edge = -math.inf
        for t in x_ticks:
            x = inner.left() + fig.x.fraction(t) * inner.width()
            text = metrics.elidedText(fig.x.label(t), Qt.TextElideMode.ElideRight, max(room, 60))
            w = metrics.horizontalAdvance(text) + 4
            if x - w / 2 < right_edge + 6:
                continue  # no room: leave this label out rather than overlap its neighbour
            right_edge = x + w / 2
            painter.drawText(
                QRectF(x - w / 2, inner.bottom() + 4, w, line), Qt.AlignmentFlag.AlignCenter, text
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
            points = [p for p in (to_px(x, y) for x, y in mark.xy) if _placed(p)]
            if mark.kind in ("line", "bar") and len(points) >= 2:
                painter.setPen(pen)
                for a, b in itertools.pairwise(points):
                    painter.drawLine(a, b)
            elif mark.kind == "points":
                for point in points:
                    marker(painter, point, mark.shape, mark.size, color, mark.hollow)
        painter.restore()
        if legend:
            x0 = inner.right() + 16
            y0 = inner.top()
            fits = max(1, int((area.bottom() - y0) // (line + 4)))
            if len(legend) > fits:
                more = len(legend) - fits + 1
                legend = legend[: fits - 1]
                painter.setPen(QColor(c.muted))
                painter.drawText(
                    QRectF(x0, y0 + (fits - 1) * (line + 4), legend_w, line),
                    Qt.AlignmentFlag.AlignVCenter,
                    f"+{more} more (see the table)",
                )
            for k, mark in enumerate(legend):
                y = y0 + k * (line + 4)
                color = self.color(mark.color)
                if mark.kind == "points":
                    at = QPointF(x0 + 8, y + line / 2)
                    marker(painter, at, mark.shape, min(mark.size, 10), color, mark.hollow)
                else:
                    pen = QPen(color, mark.width)
                    if mark.dashed:
                        pen.setStyle(Qt.PenStyle.DashLine)
                    painter.setPen(pen)
                    painter.drawLine(QPointF(x0, y + line / 2), QPointF(x0 + 16, y + line / 2))
                painter.setPen(QColor(c.text))
                text = metrics.elidedText(mark.label, Qt.TextElideMode.ElideRight, legend_w - 26)
                painter.drawText(QRectF(x0 + 22, y, legend_w - 22, line), Qt.AlignmentFlag.AlignVCenter, text)

    @staticmethod
    def look(k: int, dark: bool) -> tuple[str, Shape]:
        """The k-th series' colour and shape: 32 distinct pairs before any repeats."""
        colors = palette(dark)
        return colors[k % len(colors)], SHAPES[(k // len(colors)) % len(SHAPES)]


def marker(
    painter: QPainter, at: QPointF, shape: Shape, size: float, color: QColor, hollow: bool = False
) -> None:
    """A marker: filled, or a ring in the colour on the background (``hollow``)."""
    if hollow:
        painter.setPen(QPen(color, 2))
        painter.setBrush(QColor(theme.colors().base))
    else:
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
