"""The Leaderboard view: the answer to the votes, as the answer card, a table, the
findings under "Details" and five charts.

It shows what ``chatlab stats`` prints, from the same Qt-free
:func:`chatlab.core.analysis.report.analyse`, with the same filters (a study, tags,
raters, and whether votes made with the names showing count). The sessions are read
here (:func:`chatlab.core.analysis.load.load_sessions`, as the CLI reads them); the
statistics run in a worker thread, so the window never freezes. The last result for
each filter is kept and shown at once when the view opens again, then computed afresh in
the background.

First comes the answer card (:mod:`.card`: where reasoning helps, in sentences), then
the table (:mod:`.table`: rank, kind, rating, interval, accuracy…), then the findings
with their terms explained (:mod:`.details`, folded). The charts follow the theme and
give each contender one look throughout (:func:`.figures.looks`): ratings with their
95 % intervals, the win-rate matrix (:mod:`.matrix`), rating against dollars per answer
with the cost frontier, rating and accuracy against reasoning tokens (:mod:`.dose`),
and guess accuracy against chance. Each chart can be saved as PNG or SVG.

Whose votes count is a filter too (Humans, Judges or Both: ``rater_kind``, part of the
cache's key), said in a line at the top once a judge model has rated, and in the
charts' footers as the report counted them (Both with no judge counted: humans' votes
only); the Judges tab (:mod:`.judges`) shows each judge's calibration against the human
votes; reaching it, by a click or opened on it, gives the tabs the same most of the
height (the page above keeps a strip; the split comes back on leaving it), and
:meth:`LeaderboardView.show_judges_of` opens it on one study (the Judge dialog's **Open
Leaderboard**). The window opens at 80 % of a large screen, and fits a
1280×800 one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.analysis.judges import BOTH, HUMANS
from chatlab.core.analysis.load import load_sessions
from chatlab.core.analysis.report import Report, analyse, summary
from chatlab.store.db import Store
from chatlab.ui.results.card import AnswerCard
from chatlab.ui.results.chart import Chart, Plot
from chatlab.ui.results.details import DetailsFold
from chatlab.ui.results.dose import DoseView
from chatlab.ui.results.figures import Look, cost_chart, guess_chart, looks, ratings_chart
from chatlab.ui.results.judges import JudgesPanel, rater_combo
from chatlab.ui.results.matrix import MatrixView
from chatlab.ui.results.table import ContenderTable, Roster
from chatlab.ui.shared import theme
from chatlab.ui.shared.keyboard import close_keys

JUDGES_PAGE = 22  # % of the height the page keeps while the Judges tab is shown
EXPORT_SIZE = QSize(1200, 750)  # saved charts, in points (PNG pixels are twice that)
CHARTS = ("Ratings", "Win rates", "Rating vs cost", "More thinking?", "Could you tell?")
SIGHTED = "Include votes made with names showing"
WHOSE = {"judges": "judges' votes only", "both": "humans' and judges' votes"}
BOTH_NONE = "humans' votes only (no judge counted)"  # under Both, when no judge was
Key = tuple[str | None, tuple[str, ...], tuple[str, ...], bool, str]  # …, sighted, rater kind
_CACHE: dict[Key, tuple[Report, Roster]] = {}


def _words(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _figures(view: QWidget) -> list[Chart]:
    if isinstance(view, Plot):
        return [view.figure]
    return view.figures if isinstance(view, DoseView) else []


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


class LeaderboardView(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("chatlab — leaderboard")
        self.setModal(False)
        close_keys(self)
        self.store = store
        self.doc: Report | None = None  # the report shown
        self.roster: Roster = {}
        self.looks: dict[str, Look] = {}
        self.task: asyncio.Task[tuple[Report, Roster]] | None = None
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
        self.sighted = QCheckBox(SIGHTED)
        self.sighted.setChecked(False)
        self.sighted.setToolTip(
            "Votes cast with the models' names on screen (e.g. after an unblinded export) "
            "are left out unless this is ticked: a name can sway a vote."
        )
        self.kind = rater_combo()
        self.refresh_button = QPushButton("Recompute")
        self.refresh_button.clicked.connect(self.refresh)
        self.study.currentIndexChanged.connect(lambda _i: self.refresh())
        self.tags.returnPressed.connect(self.refresh)
        self.raters.returnPressed.connect(self.refresh)
        self.sighted.toggled.connect(lambda _on: self.refresh())
        self.kind.currentIndexChanged.connect(lambda _i: self.refresh())
        for label, widget in (
            ("Study", self.study),
            ("Tags", self.tags),
            ("Raters", self.raters),
            ("&Votes by", self.kind),
        ):
            caption = QLabel(label)
            caption.setBuddy(widget)
            filters.addWidget(caption)
            filters.addWidget(widget, 2 if widget is self.study else 0 if widget is self.kind else 1)
        filters.addWidget(self.sighted)
        filters.addWidget(self.refresh_button)
        layout.addLayout(filters)
        self.status = QLabel("")
        self.status.setProperty("role", "muted")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.status)
        # Whose votes count, when a judge rated or anyone but humans is asked for.
        self.whose = QLabel("")
        self.whose.setTextFormat(Qt.TextFormat.PlainText)
        self.whose.setWordWrap(True)
        self.whose.hide()
        layout.addWidget(self.whose)
        split = self.split = QSplitter(Qt.Orientation.Vertical)
        self.fitted = False  # the page's share of the height, fitted to the first answer shown
        # The answer, read top to bottom like a page: the card, the table, the details.
        page = QWidget()
        pl = self.page_layout = QVBoxLayout(page)
        pl.setContentsMargins(0, 0, 6, 0)
        self.card = AnswerCard()
        pl.addWidget(self.card)
        self.table = ContenderTable()
        pl.addWidget(self.table)
        self.details = DetailsFold()
        self.details.button.toggled.connect(self._unfolded)
        pl.addWidget(self.details)
        pl.addStretch(1)
        self.page = QScrollArea()
        self.page.setWidgetResizable(True)
        self.page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.page.setWidget(page)
        split.addWidget(self.page)
        self.tabs = QTabWidget()
        self.views: dict[str, QWidget] = {}
        for name in CHARTS:
            tab = QWidget()
            tl = QVBoxLayout(tab)
            tl.setContentsMargins(0, 0, 0, 0)
            view: QWidget
            view = MatrixView() if name == "Win rates" else DoseView() if name == "More thinking?" else Plot()
            self.views[name] = view
            tl.addWidget(view, 1)
            row = QHBoxLayout()
            row.addStretch(1)
            for kind in ("PNG", "SVG"):
                button = QPushButton(f"Save {kind}…")
                button.clicked.connect(lambda _c=False, n=name, k=kind: self.save_chart(n, k))
                row.addWidget(button)
            tl.addLayout(row)
            self.tabs.addTab(tab, name)
        self.judges = JudgesPanel()
        self.tabs.addTab(self.judges, "Judges")
        self.split_before: list[int] | None = None  # the split to restore on leaving Judges
        self.tabs.currentChanged.connect(self._tab_changed)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        screen = self.screen().availableGeometry()
        self.resize(
            max(min(1180, screen.width() - 40), screen.width() * 8 // 10),
            max(min(760, screen.height() - 60), screen.height() * 8 // 10),
        )
        split.setSizes([self.height() * 11 // 20, self.height() * 9 // 20])
        self.refresh()

    def _fit(self) -> None:
        """The page as tall as the answer needs, up to 62 % of the height; the charts
        get the rest. Once: after that, the splitter stays where the user puts it."""
        layout = self.page_layout
        width = self.page.viewport().width()
        need = layout.heightForWidth(width) if layout.hasHeightForWidth() else layout.sizeHint().height()
        total = sum(self.split.sizes())
        if need <= 0 or total <= 0:
            return
        top = min(need + 2 * self.page.frameWidth() + 4, total * 62 // 100)
        if self.tabs.currentWidget() is self.judges:  # opened on Judges: it keeps its share
            self.split_before = [top, total - top]
            top = total * JUDGES_PAGE // 100
        self.split.setSizes([top, total - top])

    def _tab_changed(self, _index: int) -> None:
        """The Judges tab gets most of the height, the same share however it is reached
        (its tables are long); the split comes back on leaving it."""
        on = self.tabs.currentWidget() is self.judges
        sizes = self.split.sizes()
        total = sum(sizes)
        if on and total > 0:
            if self.split_before is None:
                self.split_before = sizes
            self.split.setSizes([total * JUDGES_PAGE // 100, total - total * JUDGES_PAGE // 100])
        elif not on and self.split_before is not None:
            self.split.setSizes(self.split_before)
            self.split_before = None

    def show_judges_of(self, study: str | None) -> None:
        """The Judges tab for one study (by name; one made since the window opened is added)."""
        if study is not None and self.study.findData(study) < 0:
            self.study.addItem(study, study)
        index = self.study.findData(study)
        if index >= 0 and index != self.study.currentIndex():
            self.study.setCurrentIndex(index)  # recomputes
        self.tabs.setCurrentWidget(self.judges)
        self._tab_changed(self.tabs.currentIndex())  # already on it: its share all the same

    def _unfolded(self, open_: bool) -> None:
        """Opening the Details scrolls the page to them, once they are laid out."""
        if open_:
            QTimer.singleShot(0, lambda: self.page.verticalScrollBar().setValue(self.details.y()))

    # -- computing ----------------------------------------------------------------------------

    def key(self) -> Key:
        return (
            self.study.currentData(),
            _words(self.tags.text()),
            _words(self.raters.text()),
            self.sighted.isChecked(),
            self.kind.currentData() or HUMANS,
        )

    def refresh(self) -> None:
        """Show what is cached for these filters at once, and compute afresh behind it."""
        key = self.key()
        cached = _CACHE.get(key)
        if cached is not None:
            self.show_report(*cached)
        study, tags, raters, include_sighted, rater_kind = key
        try:
            study_id = None if study is None else self.store.study(study).id
            sessions = load_sessions(self.store, study_id).sessions
        except Exception as exc:
            self.status.setText(f"Can't read the votes: {exc}")
            return
        self.status.setText("Computing…" if cached is None else "Up to date as of the last run; computing…")
        if cached is None:
            for view in self.views.values():
                if isinstance(view, Plot | DoseView) and not any(f.marks for f in _figures(view)):
                    view.show_chart(Chart(empty_text="Computing the ratings and their intervals…"))
        if self.task is not None and not self.task.done():
            self.task.cancel()

        def work() -> tuple[Report, Roster]:
            # Raters are typed by name (or id): a name no one goes by matches no vote.
            from chatlab.core.analysis.votes import collect, rater_labels
            from chatlab.core.settings.raters import resolve

            names = {v.rater: v.rater_name for s in sessions for t in s.turns for v in t.votes}
            ids, unknown = resolve(raters, rater_labels(sessions), names)
            report = analyse(
                sessions,
                study=study,
                tags=tags,
                raters=[*ids, *unknown],
                include_sighted=include_sighted,
                rater_kind=rater_kind,
            )
            # Every contender in these sessions, whatever the filters: their looks stay
            # put as filters change, and the table names those the report lists by id.
            everyone = collect(sessions)
            roster = dict(
                zip(everyone.contenders, zip(everyone.labels, everyone.kinds, strict=True), strict=True)
            )
            return report, roster

        task = asyncio.ensure_future(asyncio.to_thread(work))
        self.task = task
        task.add_done_callback(functools.partial(self._computed, key))

    def _computed(self, key: Key, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            self.status.setText(f"The statistics failed: {task.exception()}")
            return
        report, roster = task.result()
        _CACHE[key] = (report, roster)
        if key == self.key():
            self.show_report(report, roster)
            self.status.setText(self.counted(report))

    def counted(self, report: Report) -> str:
        """What the numbers rest on, and the votes left out."""
        text = (
            f"{_plural(report.votes, 'vote')} on {_plural(report.prompts, 'prompt')} · "
            "intervals: 1,000 bootstraps over prompts"
        )
        if self.sighted.isChecked():
            return text + " · votes made with names showing included"
        if report.sighted_left_out:
            n = report.sighted_left_out
            text += (
                f" · {_plural(n, 'vote')} made with names showing left out "
                f"(tick “{SIGHTED}” to count {'it' if n == 1 else 'them'})"
            )
        return text

    # -- showing ----------------------------------------------------------------------------

    def show_report(self, report: Report, roster: Roster | None = None) -> None:
        self.doc = report
        self.roster = roster or {}
        ids = set(self.roster) | {c.id for c in report.contenders} | {a.id for a in report.accuracy}
        self.looks = looks(ids)
        self.card.show_report(report)
        self.table.fill(report, self.looks, self.roster)
        whose = report.raters
        if whose is not None and (report.judges or whose.kind != HUMANS):
            self.whose.setText(whose.sentence)
            self.whose.show()
        else:
            self.whose.hide()
        self.judges.show_judges(report.judges)
        # How many sighted votes were left out is said beside the filters.
        lines = [line for line in summary(report) if not line.startswith("Left out")]
        self.details.show_lines(lines if report.votes else ["No votes match these filters yet."])
        footer = self.footer(report)
        for name, build in (
            ("Ratings", functools.partial(ratings_chart, given=self.looks)),
            ("Rating vs cost", functools.partial(cost_chart, given=self.looks)),
            ("Could you tell?", guess_chart),
        ):
            view = self.views[name]
            assert isinstance(view, Plot)
            try:
                figure = build(report)
                figure.footer = footer
            except Exception as exc:  # a damaged result: say so in the chart, not a crash
                logging.getLogger(__name__).exception("the %s chart could not be built", name)
                figure = Chart(name, empty_text=f"This chart can't be drawn from these results ({exc})")
            view.show_chart(figure)
        dose = self.views["More thinking?"]
        assert isinstance(dose, DoseView)
        try:
            dose.show_report(report, self.looks, self.labels(), footer)
        except Exception as exc:
            logging.getLogger(__name__).exception("the dose chart could not be built")
            dose.show_chart(Chart("More thinking?", empty_text=f"This chart can't be drawn ({exc})"))
        matrix = self.views["Win rates"]
        assert isinstance(matrix, MatrixView)
        labels = self.labels()
        rates = report.win_rates
        if not self.fitted and self.isVisible():
            self.fitted = True
            QTimer.singleShot(0, self._fit)
        matrix.footer = footer
        marks: list[Look | None] = [self.looks.get(i) for i in rates.ids]
        matrix.show_matrix([labels.get(i, i) for i in rates.ids], rates.matrix, rates.meetings, marks)

    def labels(self) -> dict[str, str]:
        """Every contender's label by id: the report's, else the sessions'."""
        found = {cid: label for cid, (label, _kind) in self.roster.items()}
        if self.doc is not None:
            found |= {c.id: c.label for c in self.doc.contenders}
        return found

    def footer(self, report: Report) -> str:
        """What a chart shows, written on it, so a saved copy still says so."""
        import datetime

        study, tags, raters, include_sighted, rater_kind = self.key()
        scope = [f"study {study}" if study else "all votes"]
        scope += [f"tags {', '.join(tags)}"] if tags else []
        scope += [f"raters {', '.join(raters)}"] if raters else []
        scope += ["sighted votes included"] if include_sighted else []
        scope += [] if rater_kind == HUMANS else [self.whose_votes(report, rater_kind)]
        day = datetime.date.today().isoformat()
        return f"{report.votes} votes on {report.prompts} prompts · {' · '.join(scope)} · chatlab, {day}"

    @staticmethod
    def whose_votes(report: Report, rater_kind: str) -> str:
        """Whose votes the report counted, as it counted them: under Both with no judge
        counted, the humans' only."""
        counted = report.raters
        if counted is not None:
            rater_kind = counted.kind
            if rater_kind == BOTH and not counted.judges:
                return BOTH_NONE
        return WHOSE.get(rater_kind, rater_kind)

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
        if isinstance(view, MatrixView | Plot | DoseView):
            view.paint(painter, area)
