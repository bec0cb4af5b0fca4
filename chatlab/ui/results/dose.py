"""More thinking, better answers? For each model seen at several reasoning settings
(``Report.dose_response``), its rating and its accuracy against the median reasoning
tokens each setting spent: two charts side by side, saved together as one picture.

Each setting is drawn in its contender's look (:func:`~chatlab.ui.results.figures.looks`),
with its 95 % interval as a line; a value without one is a ring. A model's settings are
joined in order of tokens by a thin dashed line. Tokens chatlab estimated (a lane asked
to think counts its reasoning itself) are marked ≈ in the legend.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QWidget

from chatlab.core.analysis.report import Report
from chatlab.ui.results.chart import Axis, Chart, Mark, Plot, nice_ticks
from chatlab.ui.results.figures import RING, Look, finite, look_of, short

TITLE = "More thinking, better answers?"
EMPTY = (
    "No model seen at several reasoning settings yet: run one model with reasoning off, "
    "asked to think and on (or at several efforts) to see whether more thinking pays."
)
NO_KEY = "No graded answers at these settings: give the prompts an answer key to see accuracy here."


def _tokens_axis(report: Report) -> Axis:
    spent = [p.median_reasoning_tokens for d in report.dose_response for p in d.points]
    top = max([t for t in spent if finite(t)] or [1.0])
    ticks = nice_ticks(0, top * 1.08)
    high = max(top * 1.08, ticks[-1] if ticks else 1.0, 1.0)
    return Axis(-high * 0.04, high, "median reasoning tokens per answer", fmt=lambda v: f"{v:,.0f}")


def _estimated(report: Report, cid: str) -> bool:
    every = report.reasoning_tokens.get(cid, {}).get("all")
    return bool(every and every.estimated)


def dose_charts(report: Report, given: dict[str, Look], labels: dict[str, str]) -> tuple[Chart, Chart]:
    """(rating, accuracy) against median reasoning tokens, one series per dose base."""
    x = _tokens_axis(report)
    rating = Chart(
        title="Rating against reasoning tokens",
        x=x,
        y=Axis(900, 1100, "rating", fmt="{:.0f}"),
        legend=True,
        empty_text=EMPTY,
    )
    accuracy = Chart(
        title="Accuracy against reasoning tokens",
        x=Axis(x.low, x.high, x.title, fmt=x.fmt),
        y=Axis(0, 1, "share right", fmt="{:.0%}"),
        legend=True,
        empty_text=NO_KEY if report.dose_response else EMPTY,
    )
    spans: list[float] = []
    ringed = False
    for dose in report.dose_response:
        path_r = [(p.median_reasoning_tokens, p.rating) for p in dose.points if finite(p.rating)]
        path_a = [(p.median_reasoning_tokens, p.accuracy) for p in dose.points if finite(p.accuracy)]
        for fig, path in ((rating, path_r), (accuracy, path_a)):
            if len(path) > 1:
                fig.marks.append(Mark("line", path, "muted", 1, dashed=True))
        for p in dose.points:
            color, shape = look_of(given, p.id)
            tokens = p.median_reasoning_tokens
            mark = "≈" if _estimated(report, p.id) else ""
            label = f"{short(labels.get(p.id, p.id), 28)} · {mark}{tokens:,.0f} tokens"
            if finite(p.rating):
                spans.append(p.rating)
                if p.ci95 is not None and all(finite(v) for v in p.ci95):
                    spans += list(p.ci95)
                    rating.marks.append(Mark("bar", [(tokens, p.ci95[0]), (tokens, p.ci95[1])], color, 1.5))
                else:
                    ringed = True
                rating.marks.append(
                    Mark("points", [(tokens, p.rating)], color, size=11, shape=shape, label=label,
                         hollow=p.ci95 is None, key=p.id)
                )  # fmt: skip
            if finite(p.accuracy):
                ci = p.accuracy_ci95
                if ci is not None and all(finite(v) for v in ci):
                    accuracy.marks.append(Mark("bar", [(tokens, ci[0]), (tokens, ci[1])], color, 1.5))
                accuracy.marks.append(
                    Mark("points", [(tokens, p.accuracy)], color, size=11, shape=shape, label=label,
                         hollow=ci is None, key=p.id)
                )  # fmt: skip
    if spans:
        rating.y = Axis(math.floor(min(spans) - 30), math.ceil(max(spans) + 30), rating.y.title, fmt="{:.0f}")
    if ringed:
        rating.y.title += f" ({RING})"
    # One legend for both (the looks are the same): beside accuracy, when it has any.
    rating.legend = not accuracy.marks
    return rating, accuracy


class DoseView(QWidget):
    """The two dose charts side by side; one sentence across both when there is no dose."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.rating = Plot()
        self.accuracy = Plot()
        layout.addWidget(self.rating, 1)
        layout.addWidget(self.accuracy, 1)
        self.rating.show_chart(Chart(TITLE, empty_text=EMPTY))
        self.accuracy.hide()

    def show_report(
        self, report: Report, given: dict[str, Look], labels: dict[str, str], footer: str
    ) -> None:
        rating, accuracy = dose_charts(report, given, labels)
        if not report.dose_response:
            rating.title = TITLE
        rating.footer = accuracy.footer = footer  # both: their axes line up
        self.rating.show_chart(rating)
        self.accuracy.show_chart(accuracy)
        self.accuracy.setVisible(bool(report.dose_response))

    def show_chart(self, figure: Chart) -> None:
        """One chart across the view (while computing, or when something went wrong)."""
        self.rating.show_chart(figure)
        self.accuracy.hide()

    @property
    def figures(self) -> list[Chart]:
        return [self.rating.figure] + ([self.accuracy.figure] if not self.accuracy.isHidden() else [])

    def paint(self, painter: QPainter, area: QRectF) -> None:
        """Both charts into ``area`` (a saved copy), side by side as on screen."""
        if self.accuracy.isHidden():
            self.rating.paint(painter, area)
            return
        half = area.width() / 2
        self.rating.paint(painter, QRectF(area.left(), area.top(), half, area.height()))
        self.accuracy.paint(painter, QRectF(area.left() + half, area.top(), half, area.height()))
