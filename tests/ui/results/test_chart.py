"""The QPainter chart: round ticks on linear and log axes, and marks drawn where their
data says, checked by reading the pixels back."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from pytestqt.qtbot import QtBot

from chatlab.ui.results.chart import Axis, Chart, Mark, Plot, log_ticks, nice_ticks
from chatlab.ui.shared import theme


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (880, 1120, [900, 950, 1000, 1050, 1100]),
        (-0.5, 0.5, [-0.4, -0.2, 0, 0.2, 0.4]),
        (3, 3, [3]),
    ],
)
def test_nice_ticks_are_round_and_inside(low: float, high: float, expected: list[float]) -> None:
    assert nice_ticks(low, high) == pytest.approx(expected)


def test_log_ticks_use_decades_or_1_2_5() -> None:
    assert log_ticks(0.0005, 0.02) == pytest.approx([0.0005, 0.001, 0.002, 0.005, 0.01, 0.02])
    assert log_ticks(1e-6, 10) == pytest.approx([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10])
    assert log_ticks(0, 1) == [] and log_ticks(2, 1) == []


def test_axis_fraction_linear_log_and_flat() -> None:
    assert Axis(0, 10).fraction(2.5) == 0.25
    assert math.isclose(Axis(0.001, 0.1, log=True).fraction(0.01), 0.5)
    assert Axis(5, 5).fraction(5) == 0.5


def _render(fig: Chart, qtbot: QtBot) -> QImage:
    plot = Plot()
    qtbot.addWidget(plot)
    plot.show_chart(fig)
    image = QImage(400, 300, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    plot.paint(painter, QRectF(0, 0, 400, 300))
    painter.end()
    return image


def _where(image: QImage, color: QColor) -> list[tuple[int, int]]:
    want = color.rgb()
    return [(x, y) for y in range(image.height()) for x in range(image.width()) if image.pixel(x, y) == want]


def test_a_point_lands_where_its_value_says(qtbot: QtBot) -> None:
    accent = QColor(theme.colors().accent)
    left = Chart("t", Axis(0, 10), Axis(0, 10), [Mark("points", [(1, 1)], size=12)])
    right = Chart("t", Axis(0, 10), Axis(0, 10), [Mark("points", [(9, 9)], size=12)])
    a, b = _where(_render(left, qtbot), accent), _where(_render(right, qtbot), accent)
    assert a and b
    ax = sum(x for x, _ in a) / len(a)
    ay = sum(y for _, y in a) / len(a)
    bx = sum(x for x, _ in b) / len(b)
    by = sum(y for _, y in b) / len(b)
    assert bx - ax > 200  # further right
    assert ay - by > 120  # higher up (screen y grows downwards)


def test_an_empty_figure_says_so_and_a_tiny_area_draws_no_marks(qtbot: QtBot) -> None:
    plot = Plot()
    qtbot.addWidget(plot)
    plot.show_chart(Chart("x", empty_text="nothing"))
    image = QImage(60, 40, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    plot.paint(painter, QRectF(0, 0, 60, 40))  # too small for axes: no crash
    painter.end()
    accent = QColor(theme.colors().accent)
    tiny = Chart("t", Axis(0, 1), Axis(0, 1), [Mark("points", [(0.5, 0.5)])])
    plot.show_chart(tiny)
    image.fill(QColor("white"))
    painter = QPainter(image)
    plot.paint(painter, QRectF(0, 0, 60, 40))
    painter.end()
    assert not _where(image, accent)


def test_dollar_ticks_never_use_exponents() -> None:
    from chatlab.ui.results.chart import dollars

    assert [dollars(v) for v in (1e-05, 0.0002, 0.001, 0.05, 1.0, 2.5)] == [
        "$0.00001", "$0.0002", "$0.001", "$0.05", "$1", "$2.5"
    ]  # fmt: skip


def test_a_hollow_point_is_a_ring_the_background_shows_through(qtbot: QtBot) -> None:
    accent = QColor(theme.colors().accent)
    base = QColor(theme.colors().base)
    for hollow in (False, True):
        mark = Mark("points", [(5, 5)], size=20, hollow=hollow)
        image = _render(Chart("t", Axis(0, 10), Axis(0, 10), [mark]), qtbot)
        ring = _where(image, accent)
        assert ring
        cx = round(sum(x for x, _ in ring) / len(ring))
        cy = round(sum(y for _, y in ring) / len(ring))
        centre = image.pixelColor(cx, cy)
        assert (centre == base) == hollow  # a dot is its colour all through; a ring is empty inside
