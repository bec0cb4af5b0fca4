"""The Leaderboard view: the answer to the votes, as a table, findings and four charts.

It shows what ``chatlab stats`` prints, from the same Qt-free
:func:`chatlab.core.analysis.report.analyse`, with the same filters (a study, tags, raters). The
sessions are read here (:func:`chatlab.core.analysis.load.load_sessions`, as the CLI
reads them); the statistics run in a worker thread, so the window never
freezes. The last result for each filter is kept and shown at once when the view opens
again, then computed afresh in the background. The charts follow the theme. They show
ratings with their 95 % intervals, the win-rate matrix, rating against dollars per
answer with the cost frontier, and guess accuracy against chance. Each chart can be
saved as PNG or SVG.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
from pathlib import Path
from typing import Any, TypeGuard

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.analysis.load import load_sessions
from chatlab.core.analysis.report import Contender, Report, analyse, summary
from chatlab.core.data import format as fmt
from chatlab.store.db import Store
from chatlab.ui.results.chart import Axis, Chart, Mark, Plot, dollars
from chatlab.ui.shared import theme
from chatlab.ui.shared.keyboard import close_keys

COLUMNS = (
    "Rank",
    "Contender",
    "Rating",
    "95 % interval",
    "Length-controlled",
    "Reasoned",
    "Shown",
    "Wins",
    "All bad",
    "$ / answer",
)
EXPORT_SIZE = QSize(1200, 750)  # saved charts, in points (PNG pixels are twice that)
_CACHE: dict[tuple[str | None, tuple[str, ...], tuple[str, ...]], Report] = {}


def ratings_chart(report: Report) -> Chart:
    """Each contender's rating with its 95 % interval, best at the top."""
    rows = list(reversed(report.contenders))
    values = [v for c in rows for v in (c.rating, *(c.ci95 or ())) if _finite(v)]
    lows, highs = values or [900.0], values or [1100.0]
    fig = Chart(
        title="Ratings with 95 % intervals",
        x=Axis(
            min(lows) - 20,
            max(highs) + 20,
            "rating (Elo scale, mean 1000; a line is the 95 % interval)",
            fmt="{:.0f}",
        ),
        y=Axis(-0.5, max(0.5, len(rows) - 0.5)),
        empty_text="No votes yet",
    )
    for i, c in enumerate(rows):
        if c.ci95 and all(_finite(v) for v in c.ci95):
            fig.marks.append(Mark("bar", [(c.ci95[0], i), (c.ci95[1], i)]))
        fig.y.categories.append(_short(c.label, 40) + (f"  (rank {c.rank})" if c.rank else ""))
    if rows:
        fig.marks.append(Mark("points", [(c.rating, i) for i, c in enumerate(rows) if _finite(c.rating)]))
    return fig


def cost_chart(report: Report) -> Chart:
    """Rating (with its 95 % interval) against dollars per answer; the frontier joins
    those no one beats on both."""
    # A log axis needs positive costs; below a trillionth of a dollar there is nothing to see.
    priced: list[tuple[Contender, float, float]] = []  # (contender, cost, rating)
    for c in report.contenders:
        cost, rating = c.mean_cost_usd, c.rating
        if _finite(cost) and cost > 0 and _finite(rating):
            priced.append((c, cost, rating))
    costs = [cost for _, cost, _ in priced] or [0.001, 0.01]
    spans = [v for c, _, rating in priced for v in (rating, *(c.ci95 or ())) if _finite(v)] or [1000.0]
    low, high = max(min(costs) / 2, 1e-12), min(max(costs) * 2, 1e12)
    frontier = sorted((p for p in priced if p[0].on_cost_frontier), key=lambda p: p[1])
    fig = Chart(
        title="Rating against $ per answer, with 95 % intervals"
        + (" (the line: no one is both better and cheaper)" if len(frontier) > 1 else ""),
        x=Axis(low, max(high, low * 10), "mean cost per answer (log scale)", log=True, fmt=dollars),
        y=Axis(min(spans) - 40, max(spans) + 40, "rating", fmt="{:.0f}"),
        legend=True,
        empty_text="No priced answers yet",
    )
    if len(frontier) > 1:
        # A step, not a slope: nothing between two frontier points can be bought.
        steps = [(frontier[0][1], frontier[0][2])]
        for _, cost, rating in frontier[1:]:
            steps += [(cost, steps[-1][1]), (cost, rating)]
        fig.marks.append(Mark("line", steps, "muted", 2, dashed=True, label="cost frontier"))
    dark = theme.colors().dark
    for k, (c, cost, rating) in enumerate(priced):
        color, shape = Plot.look(k, dark)
        if c.ci95 and all(_finite(v) for v in c.ci95):
            fig.marks.append(Mark("bar", [(cost, c.ci95[0]), (cost, c.ci95[1])], color, 1.5))
        fig.marks.append(
            Mark("points", [(cost, rating)], color, size=11, shape=shape, label=_short(c.label, 30))
        )
    return fig


def guess_chart(report: Report) -> Chart:
    """Accuracy of single guesses with its interval, beside chance and the longest answer."""
    d = report.discrimination
    fig = Chart(
        title="Could you tell which one reasoned?",
        x=Axis(-0.5, 1.5, categories=["your guesses", "the longest answer"]),
        y=Axis(0, 1, "share right", fmt="{:.0%}"),
        empty_text="No guesses yet: mark the answers you think reasoned (G) while rating",
    )
    j = report.judgements
    if d is not None and not (d.trials and _finite(d.correct)):
        d = None  # nothing to plot (a hand-made or damaged result)
    if d is not None:
        fig.legend = True
        right = d.correct / d.trials
        fig.marks.append(Mark("line", [(-0.5, d.chance), (1.5, d.chance)], "muted", 1, dashed=True,
                              label=f"chance ({d.chance:.0%})"))  # fmt: skip
        fig.marks.append(Mark("bar", [(0, d.accuracy_ci95[0]), (0, d.accuracy_ci95[1])]))
        label = f"your guesses: {d.correct} of {d.trials} right, line: 95 % interval"
        fig.marks.append(Mark("points", [(0.0, right)], size=12, label=label))
        if d.longest_answer_accuracy is not None:
            fig.marks.append(Mark("points", [(1.0, d.longest_answer_accuracy)], "muted", size=12,
                                  shape="square", label="always guessing the longest answer"))  # fmt: skip
    elif j is not None and _finite(j.balanced_accuracy):
        # No single-guess trials (several answers reasoned): each answer's "reasoned?"
        # mark judged instead, as balanced accuracy against 50 %. It has a p-value, not
        # an interval, and no "longest answer" baseline.
        fig.title = 'Could you tell which ones reasoned? (each answer\'s "reasoned?" mark)'
        fig.x = Axis(-0.5, 0.5, categories=["your marks"])
        fig.legend = True
        fig.marks.append(
            Mark("line", [(-0.5, 0.5), (0.5, 0.5)], "muted", 1, dashed=True, label="chance (50 %)")
        )
        p_value = j.p_value
        detail = f", permutation p over votes = {p_value:.3g}" if _finite(p_value) else ""
        fig.marks.append(
            Mark("points", [(0.0, j.balanced_accuracy)], size=12,
                 label=f"balanced accuracy (no interval{detail})")
        )  # fmt: skip
    return fig


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _words(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class MatrixView(QWidget):
    """The win-rate matrix: how often the row beat the column, as shaded cells."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.matrix: list[list[float | None]] = []
        self.meetings: list[list[int]] = []
        self.footer = ""
        self.setMinimumSize(QSize(320, 240))

    def show_matrix(
        self, labels: list[str], matrix: list[list[float | None]], meetings: list[list[int]] | None = None
    ) -> None:
        self.labels, self.matrix, self.meetings = labels, matrix, meetings or []
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
        widest = max(
            metrics.horizontalAdvance(f"{i + 1}  {_short(t, 40)}") for i, t in enumerate(self.labels)
        )
        left = min(widest + 16, area.width() * 0.4)
        top = 40.0
        cell = min((area.width() - left - 10) / n, (area.height() - top - 34) / n)
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
            painter.drawText(
                QRectF(area.left(), area.top() + top + i * cell, left - 6, cell),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(f"{i + 1}  {_short(label, 40)}", Qt.TextElideMode.ElideRight, left - 8),
            )
            painter.drawText(
                QRectF(area.left() + left + i * cell, area.top() + 24, cell, 16),
                Qt.AlignmentFlag.AlignCenter,
                str(i + 1),
            )
            for j in range(n):
                rect = QRectF(area.left() + left + j * cell, area.top() + top + i * cell, cell - 2, cell - 2)
                row = self.matrix[i] if i < len(self.matrix) else []
                value = row[j] if j < len(row) else None
                if value is None or not _finite(value):
                    painter.fillRect(rect, QColor(c.alt))
                    continue
                shade = QColor(good if value >= 0.5 else bad)
                shade.setAlphaF(min(1.0, abs(value - 0.5) * 1.8))  # 50 %: neutral
                painter.fillRect(rect, shade)
                painter.setPen(QColor(c.text))
                counts = self.meetings[i] if i < len(self.meetings) else []
                met = counts[j] if j < len(counts) else None
                text = f"{value:.0%}" if met is None else f"{value:.0%}\nof {met}"
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


class LeaderboardView(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("chatlab — leaderboard")
        self.setModal(False)
        close_keys(self)
        self.store = store
        self.doc: Report | None = None  # the report shown
        self.task: asyncio.Task[Report] | None = None
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.study = QComboBox()
        self.study.addItem("All votes", None)
        with contextlib.suppress(Exception):
            for info in store.studies():
                self.study.addItem(info.name, info.name)
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, e.g. writing, advice")
        self.raters = QLineEdit()
        self.raters.setPlaceholderText("raters (all)")
        self.refresh_button = QPushButton("Recompute")
        self.refresh_button.clicked.connect(self.refresh)
        self.study.currentIndexChanged.connect(lambda _i: self.refresh())
        self.tags.returnPressed.connect(self.refresh)
        self.raters.returnPressed.connect(self.refresh)
        for label, widget in (("Study", self.study), ("Tags", self.tags), ("Raters", self.raters)):
            filters.addWidget(QLabel(label))
            filters.addWidget(widget, 1 if widget is not self.study else 2)
        filters.addWidget(self.refresh_button)
        layout.addLayout(filters)
        self.status = QLabel("")
        self.status.setProperty("role", "muted")
        layout.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        tl.addWidget(self.table, 1)
        self.findings = QLabel("")
        self.findings.setWordWrap(True)
        self.findings.setTextFormat(Qt.TextFormat.PlainText)
        tl.addWidget(self.findings)
        split.addWidget(top)
        self.tabs = QTabWidget()
        self.views: dict[str, QWidget] = {}
        for name in ("Ratings", "Win rates", "Rating vs cost", "Could you tell?"):
            page = QWidget()
            pl = QVBoxLayout(page)
            pl.setContentsMargins(0, 0, 0, 0)
            view: QWidget
            view = MatrixView() if name == "Win rates" else Plot()
            self.views[name] = view
            pl.addWidget(view, 1)
            row = QHBoxLayout()
            row.addStretch(1)
            for kind in ("PNG", "SVG"):
                button = QPushButton(f"Save {kind}…")
                button.clicked.connect(lambda _c=False, n=name, k=kind: self.save_chart(n, k))
                row.addWidget(button)
            pl.addLayout(row)
            self.tabs.addTab(page, name)
        split.addWidget(self.tabs)
        split.setSizes([330, 420])
        layout.addWidget(split, 1)
        screen = self.screen().availableGeometry()
        self.resize(min(1180, screen.width() - 40), min(760, screen.height() - 60))
        self.refresh()

    # -- computing ----------------------------------------------------------------------------

    def key(self) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
        return self.study.currentData(), _words(self.tags.text()), _words(self.raters.text())

    def refresh(self) -> None:
        """Show what is cached for these filters at once, and compute afresh behind it."""
        key = self.key()
        cached = _CACHE.get(key)
        if cached is not None:
            self.show_report(cached)
        study, tags, raters = key
        try:
            study_id = None if study is None else self.store.study(study).id
            sessions = load_sessions(self.store, study_id).sessions
        except Exception as exc:
            self.status.setText(f"Can't read the votes: {exc}")
            return
        self.status.setText("Computing…" if cached is None else "Up to date as of the last run; computing…")
        if cached is None:
            for view in self.views.values():
                if isinstance(view, Plot) and not view.figure.marks:
                    view.show_chart(Chart(empty_text="Computing the ratings and their intervals…"))
        if self.task is not None and not self.task.done():
            self.task.cancel()

        def work() -> Report:
            # Raters are typed by name (or id): a name no one goes by matches no vote.
            from chatlab.core.analysis.votes import rater_labels
            from chatlab.core.settings.raters import resolve

            names = {v.rater: v.rater_name for s in sessions for t in s.turns for v in t.votes}
            ids, unknown = resolve(raters, rater_labels(sessions), names)
            return analyse(sessions, study=study, tags=tags, raters=[*ids, *unknown])

        task = asyncio.ensure_future(asyncio.to_thread(work))
        self.task = task
        task.add_done_callback(functools.partial(self._computed, key))

    def _computed(
        self, key: tuple[str | None, tuple[str, ...], tuple[str, ...]], task: asyncio.Task[Any]
    ) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            self.status.setText(f"The statistics failed: {task.exception()}")
            return
        report: Report = task.result()
        _CACHE[key] = report
        if key == self.key():
            self.show_report(report)
            self.status.setText(
                f"{report.votes} votes on {report.prompts} prompts · intervals: 1,000 bootstraps over prompts"
            )

    # -- showing ----------------------------------------------------------------------------

    def show_report(self, report: Report) -> None:
        self.doc = report
        rows = report.contenders
        self.table.setRowCount(len(rows))
        for r, c in enumerate(rows):
            name = c.label if c.label == c.id else f"{c.label}  ({c.id})"
            lc = c.rating_length_controlled
            values = [
                str(c.rank) if c.rank else "–",
                name,
                "–" if c.rating is None else f"{c.rating:.0f}",
                f"{c.ci95[0]:.0f} – {c.ci95[1]:.0f}" if c.ci95 else "–",
                "–" if lc is None else f"{lc:.0f}",
                "yes" if c.reasoner else "no",
                str(c.appearances),
                f"{c.wins:.1f}",
                f"{c.all_bad_rate:.0%}",
                fmt.cost(c.mean_cost_usd),
            ]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col not in (1, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, col, item)
        left_out = [line for line in summary(report) if line.startswith("Left out")]
        self.findings.setText(
            "\n".join(summary(report))
            if report.votes
            else "\n".join(["No votes match these filters yet.", *left_out])
        )
        for name, build in (
            ("Ratings", ratings_chart),
            ("Rating vs cost", cost_chart),
            ("Could you tell?", guess_chart),
        ):
            view = self.views[name]
            assert isinstance(view, Plot)
            try:
                figure = build(report)
                figure.footer = self.footer(report)
            except Exception as exc:  # a damaged result: say so in the chart, not a crash
                logging.getLogger(__name__).exception("the %s chart could not be built", name)
                figure = Chart(name, empty_text=f"This chart can't be drawn from these results ({exc})")
            view.show_chart(figure)
        matrix = self.views["Win rates"]
        assert isinstance(matrix, MatrixView)
        labels = {c.id: c.label for c in rows}
        rates = report.win_rates
        matrix.show_matrix([labels.get(i, i) for i in rates.ids], rates.matrix, rates.meetings)
        matrix.footer = self.footer(report)

    def footer(self, report: Report) -> str:
        """What a chart shows, written on it, so a saved copy still says so."""
        import datetime

        study, tags, raters = self.key()
        scope = [f"study {study}" if study else "all votes"]
        scope += [f"tags {', '.join(tags)}"] if tags else []
        scope += [f"raters {', '.join(raters)}"] if raters else []
        day = datetime.date.today().isoformat()
        return f"{report.votes} votes on {report.prompts} prompts · {' · '.join(scope)} · chatlab, {day}"

    def save_chart(self, name: str, kind: str, path: str | None = None) -> Path | None:
        """Save one chart as PNG or SVG (``path``, or asked for)."""
        if path is None:
            suffix = kind.lower()
            path, _ = QFileDialog.getSaveFileName(
                self,
                f"Save {name} as {kind}",
                str(Path.home() / f"{name.lower().replace(' ', '-').strip('?')}.{suffix}"),
                f"{kind} (*.{suffix})",
            )
            if not path:
                return None
        view = self.views[name]
        size = EXPORT_SIZE  # a document's shape, whatever the window's is
        target = Path(path)
        if target.suffix.lower() != f".{kind.lower()}":
            target = target.with_name(target.name + f".{kind.lower()}")  # what was asked for
        area = QRectF(0, 0, size.width(), size.height())
        if kind == "PNG":
            # Drawn afresh at twice the on-screen size, so it stays sharp in a document.
            image = QImage(size * 2, QImage.Format.Format_ARGB32)
            image.setDevicePixelRatio(2.0)
            image.fill(QColor(theme.colors().base))
            painter = QPainter(image)
            try:
                self._paint(view, painter, area)
            finally:
                painter.end()
            saved = image.save(str(target), "PNG")  # type: ignore[call-overload]  # the stubs say bytes; PySide wants str
        else:
            generator = QSvgGenerator()
            generator.setFileName(str(target))
            generator.setSize(size)
            generator.setViewBox(area)
            generator.setTitle(f"chatlab — {name}")
            painter = QPainter()
            saved = painter.begin(generator)  # False when the file can't be opened
            if saved:
                try:
                    self._paint(view, painter, area)
                finally:
                    painter.end()
        if not saved:
            self.status.setText(f"Couldn't save {name} to {target}")
            return None
        self.status.setText(f"Saved {name} to {target}")
        return target

    @staticmethod
    def _paint(view: QWidget, painter: QPainter, area: QRectF) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if isinstance(view, MatrixView | Plot):
            view.paint(painter, area)
