"""Hostile numbers and paths for the Leaderboard's charts (each a finding from the
hostile review): painting never raises or crashes the process, ticks survive any range,
dollar labels stay exact at tiny costs, every contender gets its own look, and a save
that fails says so."""

from __future__ import annotations

import asyncio
import copy
import math
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from pytestqt.qtbot import QtBot

from chatlab.core.analysis.guesses import Discrimination, Judgements
from chatlab.core.analysis.report import Report
from chatlab.ui.results.chart import Axis, Chart, Mark, Plot, dollars, log_ticks, nice_ticks
from chatlab.ui.results.figures import cost_chart, guess_chart, ratings_chart
from chatlab.ui.results.matrix import MatrixView
from chatlab.ui.shared import theme
from tests.conftest import PYTHON, ROOT, subprocess_env
from tests.ui.results.test_leaderboard import computed_view

pytestmark = pytest.mark.hostile


@pytest.mark.parametrize(
    ("low", "high"),
    [(0, 5e-324), (-1e308, 1e308), (math.nan, 1), (1, math.inf), (-math.inf, 0), (0, 1e-20), (5, 1)],
)
def test_nice_ticks_never_raise_and_stay_inside(low: float, high: float) -> None:
    ticks = nice_ticks(low, high)
    assert len(ticks) <= 100
    assert all(low <= t <= high for t in ticks)
    assert len(set(ticks)) == len(ticks)  # no duplicates from over-eager rounding


@pytest.mark.parametrize(
    ("low", "high"), [(math.nan, 1), (1, math.inf), (1, 1.5e308), (1e-300, 1e300), (0, 1)]
)
def test_log_ticks_never_raise_and_stay_few(low: float, high: float) -> None:
    ticks = log_ticks(low, high)
    assert len(ticks) <= 40 and all(math.isfinite(t) for t in ticks)


def test_a_log_axis_with_a_zero_or_negative_bound_places_nothing_wrongly() -> None:
    assert math.isnan(Axis(0, 1, log=True).fraction(math.nan))
    assert math.isfinite(Axis(0, 1, log=True).fraction(0.5))  # clamped, not a ValueError
    assert math.isnan(Axis(math.inf, 1).fraction(0.5))


def test_dollar_labels_stay_exact_down_to_a_trillionth() -> None:
    assert dollars(1e-9) == "$0.000000001"
    assert dollars(2e-9) == "$0.000000002"
    assert dollars(5e-9) != dollars(1e-8)
    assert dollars(5e-324) == "$5e-324" and dollars(math.nan) == ""


def render(
    plot: Plot | MatrixView, w: int = 400, h: int = 300, painter_class: type[QPainter] = QPainter
) -> QImage:
    image = QImage(w, h, QImage.Format.Format_ARGB32)
    painter = painter_class(image)
    try:
        plot.paint(painter, QRectF(0, 0, w, h))
    finally:
        painter.end()
    return image


def rated_doc(tmp_path: Path, qtbot: QtBot) -> Report:
    store, view = computed_view(qtbot, tmp_path)
    assert view.doc is not None
    doc = copy.deepcopy(view.doc)
    store.close()
    return doc


def test_hostile_numbers_in_a_real_result_draw_without_raising(
    tmp_path: Path, qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> None:
    doc = rated_doc(tmp_path, qtbot)
    plot = Plot()
    qtbot.addWidget(plot)
    # A denormal cost (an imported file or a provider's usage.cost can carry it) used to
    # underflow the log axis to 0 and crash the window while painting.
    for cost in (5e-324, 1e30, -1.0, math.nan, math.inf):
        hostile = copy.deepcopy(doc)
        hostile.contenders[0].mean_cost_usd = cost
        plot.show_chart(cost_chart(hostile))
        render(plot)
    for ci in ((-1e308, 1e308), (math.nan, 1.0), (1200.0, 1300.0)):
        hostile = copy.deepcopy(doc)
        hostile.contenders[0].ci95 = ci
        hostile.contenders[0].rating = 1000.0 if ci[0] != 1200.0 else 900.0  # outside its interval
        figure = ratings_chart(hostile)
        plot.show_chart(figure)
        render(plot)
        finite = [v for v in (*ci, hostile.contenders[0].rating) if math.isfinite(v)]
        assert figure.x.low <= min(finite) and figure.x.high >= max(finite)
    hostile = copy.deepcopy(doc)
    hostile.discrimination = Discrimination(
        trials=0, correct=0, chance=0.5, p_value=1.0, accuracy_ci95=(0, 1), longest_answer_accuracy=None
    )
    hostile.judgements = Judgements(table=[[0, 0], [0, 0]], p_value=math.nan, balanced_accuracy=math.nan)
    figure = guess_chart(hostile)
    assert figure.marks == []
    plot.show_chart(figure)
    render(plot)


def test_a_chart_whose_painting_raises_does_not_take_the_app_down(tmp_path: Path) -> None:
    script = tmp_path / "boom.py"
    script.write_text(
        textwrap.dedent(
            """
            from PySide6.QtWidgets import QApplication
            from chatlab.ui.results.chart import Chart, Plot
            from chatlab.ui.results.matrix import MatrixView
            app = QApplication([])
            def boom(self, painter, area):
                raise ValueError("math domain error")
            Plot.paint = boom
            MatrixView.paint = boom
            widgets = [Plot(), MatrixView()]
            for w in widgets:
                w.show()
                w.repaint()
            app.processEvents()
            print("still here")
            """
        )
    )
    env = subprocess_env(tmp_path)
    env["QT_QPA_PLATFORM"] = "offscreen"
    out = subprocess.run([PYTHON, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "still here" in out.stdout
    assert "could not be drawn" in out.stderr


def test_a_ragged_win_rate_matrix_draws(qtbot: QtBot) -> None:
    view = MatrixView()
    qtbot.addWidget(view)
    view.show_matrix(["a", "b", "c"], [[None, 0.7], [0.3], [math.nan, math.inf, 0.5, 0.1]])
    render(view)


def test_every_contender_up_to_32_gets_its_own_colour_and_shape() -> None:
    looks = [Plot.look(k, theme.colors().dark) for k in range(32)]
    assert len(set(looks)) == 32


def test_a_long_legend_says_how_many_it_left_out(qtbot: QtBot) -> None:
    plot = Plot()
    qtbot.addWidget(plot)
    marks = [Mark("points", [(0.5, 0.5)], label=f"contender {k}") for k in range(30)]
    plot.show_chart(Chart("t", Axis(0, 1), Axis(0, 1), marks, legend=True))
    drawn: list[str] = []

    class Spy(QPainter):
        def drawText(self, *args: Any) -> None:  # type: ignore[override]
            drawn.append(str(args[-1]))
            super().drawText(*args)

    render(plot, 600, 400, Spy)
    more = [t for t in drawn if t.endswith("more (see the table)")]
    shown = [t for t in drawn if t.startswith("contender")]
    assert len(more) == 1 and int(more[0].split()[0].lstrip("+")) + len(shown) == 30


@pytest.mark.qt_log_ignore("QSvgPaintEngine::begin", "QPainter::begin")  # what the failing save says
def test_a_save_that_fails_says_so_and_a_missing_suffix_is_added(
    tmp_path: Path, qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> None:
    store, view = computed_view(qtbot, tmp_path)
    for kind in ("SVG", "PNG"):
        assert view.save_chart("Ratings", kind, str(tmp_path / "no" / "such" / f"r.{kind.lower()}")) is None
        assert view.status.text().startswith("Couldn't save Ratings")
    saved = view.save_chart("Ratings", "PNG", str(tmp_path / "ratings"))
    assert saved == tmp_path / "ratings.png"
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = view.save_chart("Ratings", "PNG", str(tmp_path / "ratings.jpg"))  # PNG, as chosen
    assert saved is not None and saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    qtbot.waitUntil(lambda: view.task is None or view.task.done(), timeout=20_000)
    store.close()
