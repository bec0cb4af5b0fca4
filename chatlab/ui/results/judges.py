"""The Leaderboard's Judges tab and its rater filter: how far each judge model (a rater
``judge:…``, issue 23) can be trusted, as :mod:`chatlab.core.analysis.judges` measures it
against the blind human votes, and whose votes count (humans', judges' or both).

Each judge gets its answer-card sentence, then one table: a row per measure, the most
telling first (Cohen's κ per human, how often it chose an answer rather than a tie when
the analysis measures it, its agreement with each human beside the humans' own, position
consistency (the same choice in every order); then agreement with the human majority
(with one human: with you), length bias, self-preference, each criterion's correlation,
its weight when votes are by *Both*), with the value, its 95 % interval (κ's from
Cohen's large-sample error; "too few" when there is none), what it rests on, and in
plain words what it means or why it can't be said. Every cell is plain text; each table is as wide as the tab
(the last column wraps) and as tall as its rows, with no scroll bar of its own: the tab
is the one thing that scrolls, up and down.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.analysis.card import judge_line
from chatlab.core.analysis.judges import (
    BOTH,
    HUMANS,
    JUDGES,
    MIN_CALIBRATION,
    MIN_SHARED,
    Calibration,
    Difference,
    Kappa,
    Share,
)
from chatlab.ui.results.card import plain_label

KINDS = ((HUMANS, "Humans"), (JUDGES, "Judges"), (BOTH, "Both"))
RATER_TIP = (
    "Whose votes count in the ratings.\n"
    "Humans: only people's votes (a judge model's count in nothing).\n"
    "Judges: only judge models' votes.\n"
    f"Both: a judge counts only once it shares {MIN_CALIBRATION} or more comparisons with your votes, "
    "so it can be checked against you.\n"
    "Then each of its votes counts with a weight, how far it agrees with you beyond chance at the "
    "least (the lower end of Cohen's κ's 95 % interval: 0 for a judge not shown to beat chance), "
    "on every comparison it judged, including ones no human rated.\n"
    "The Judges tab shows each judge's weight."
)
NO_JUDGE = (
    "No judge model has rated these comparisons. To let one rate them, run "
    "chatlab judge STUDY -m PROVIDER:MODEL (e.g. chatlab judge demo -m demo:demo-judge), "
    "or use Studies → Judge…; its votes are then checked against yours here."
)
COLUMNS = ("Measure", "Value", "95 % interval", "On", "What it means")
MEASURE, VALUE, INTERVAL, ON, MEANING = range(len(COLUMNS))
TOO_FEW = "too few"


def rater_combo() -> QComboBox:
    """Humans / Judges / Both (the data: ``rater_kind``), Humans first."""
    combo = QComboBox()
    for kind, label in KINDS:
        combo.addItem(label, kind)
    combo.setToolTip(RATER_TIP)
    combo.setAccessibleName("Whose votes count")
    combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return combo


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def points(x: float | None) -> str:
    """A difference of rates in percentage points, signed."""
    return "–" if x is None else f"{x * 100:+.0f} points"


def interval(ci: tuple[float, float] | None, value: float | None, show: str = "pct") -> str:
    """``52% – 60%`` (or in points), ``too few`` when there is a value but no interval."""
    if ci is None:
        return "–" if value is None else TOO_FEW
    if show == "points":
        return f"{ci[0] * 100:+.0f} to {ci[1] * 100:+.0f}"
    return f"{ci[0]:.0%} – {ci[1]:.0%}"


def kappa_interval(k: Kappa) -> str:
    """κ's 95 % interval, ``0.12 – 0.58``; ``from 0.12`` with its lower end alone."""
    low, high = k.low, getattr(k, "high", None)  # ``high``: from the core's next version
    if k.kappa is None or low is None:
        return "–" if k.kappa is None else TOO_FEW
    return f"from {low:.2f}" if high is None else f"{low:.2f} – {high:.2f}"


def _n(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def plain(note: str | None) -> str:
    """An analysis ``note`` in plain words, as a sentence."""
    if not note:
        return ""
    if m := re.match(r"too few (.+) for an interval \((\d+); it takes (\d+)\)", note):
        what, n, need = m.groups()
        return f"Only {n} {what}: an interval takes {need} or more."
    if note.startswith("all on one prompt"):
        return "All on one prompt: an interval takes two prompts or more."
    if note == "no comparisons shared with human votes" or note == "no comparison shared with human votes":
        return "No comparison it judged has a human's vote yet: rate some of the same comparisons."
    if note == "no comparisons with two or more human votes":
        return (
            "No comparison has votes from two people, so there is no human agreement to compare the "
            "judge with: ask a second person to rate the same study."
        )
    if note == "no vote says whether its orders agreed":
        return "Its votes don't say whether it chose alike with the answers in both orders."
    if note == "no shared comparison with one longest answer":
        return (
            "Not measured: no comparison you both rated had one answer longer than the others "
            "(identical answers tie for longest)."
        )
    if m := re.match(r"no shared comparison with some but not all answers from its own family (.+)", note):
        return f"Not measured: no comparison you both rated set its own family {m.group(1)} against another."
    if m := re.match(r"too few shared comparisons \((\d+)\)", note):
        return f"Only {m.group(1)} shared comparisons: too few to say."
    if note.startswith("undefined: both always chose alike"):
        return "Can't be said: both always chose alike, so chance explains all their agreement."
    if note == "too few scored answers":
        return "Too few scored answers (it takes 3) to say."
    if note.startswith("no spread"):
        return "Can't be said: every score (or every choice) was the same."
    return note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".")


Row = tuple[str, str, str, str, str, str]  # measure, value, interval, on, meaning, tooltip


def _share_row(measure: str, s: Share, unit: str, meaning: str) -> Row:
    return (
        measure,
        pct(s.value),
        interval(s.ci95, s.value),
        _n(s.n, unit),
        plain(s.note) if s.note and (s.value is None or s.ci95 is None) else meaning,
        s.note or "",
    )


def _difference_row(measure: str, d: Difference, what: str) -> Row:
    if d.difference is None:
        meaning = plain(d.note)
    else:
        meaning = f"It chose {what} in {pct(d.judge_rate)} of these comparisons; you, {pct(d.human_rate)}."
        if d.ci95 is None:
            meaning += " " + plain(d.note)
    return (measure, points(d.difference), interval(d.ci95, d.difference, "points"), _n(d.n, "comparison"),
            meaning, d.note or "")  # fmt: skip


def rows(c: Calibration, one_human: bool = False) -> list[Row]:
    """One judge's measures, the most telling first: agreement beyond chance, how often
    it chose at all, agreement with each of you beside your own, position consistency;
    then the rest."""
    out: list[Row] = []
    for k in c.kappa:
        out.append(
            (
                f"Cohen's κ with {k.rater}",
                "–" if k.kappa is None else f"{k.kappa:.2f}",
                kappa_interval(k),
                _n(k.n, "comparison"),
                plain(k.note)
                if k.kappa is None
                else "Agreement beyond chance: 0 is chance, 1 always the same choice.",
                k.note or "",
            )
        )
    if c.decisive.n:
        out.append(
            _share_row(
                "Chose an answer (not a tie)",
                c.decisive,
                "vote",
                "How often it picked an answer rather than calling a tie. A judge that mostly ties "
                "can still agree half the time, since a tie scores half.",
            )
        )
    out.append(
        _share_row(
            "Agrees with each human, on average",
            c.pairwise,
            "comparison",
            "The figure to set beside the next row: near it, the judge agrees with you "
            "about as well as you agree with each other.",
        )
    )
    ceiling = _share_row(
        "Humans agree with each other",
        c.human_ceiling,
        "comparison",
        "Every pair of you on the same comparison: how far people agree, the most to expect of a judge.",
    )
    if one_human and c.human_ceiling.n == 0:
        measure, value, ci, on, _meaning, tip = ceiling
        alone = (
            "Only one person rated, so there is no human agreement to compare with: "
            "ask a second person to rate the same study."
        )
        ceiling = (measure, value, ci, on, alone, tip)
    out.append(ceiling)
    out.append(
        _share_row(
            "Same choice in every order",
            c.position_consistency,
            "vote",
            "Position bias: shown the answers once with each answer first; how often every order "
            "chose the same answer. Low means the place on screen sways it.",
        )
    )
    out.append(
        _share_row(
            "Agrees with you",
            c.agreement,
            "comparison",
            "Chose what you chose (a tie counts half).",
        )
        if one_human
        else _share_row(
            "Agrees with the human majority",
            c.agreement,
            "comparison",
            "Chose what most of you chose (a tie counts half; where two of you split, "
            "the majority is a tie and any choice scores half, so this flatters the judge).",
        )
    )
    out.append(_difference_row("Length bias: prefers the longest", c.length_bias, "the longest answer"))
    out.append(
        _difference_row(
            f"Self-preference: prefers its family ({c.family})",
            c.self_preference,
            f"an answer from its own family ({c.family})",
        )
    )
    for cr in c.criteria:
        out.append(
            (
                f"Its {cr.criterion} score vs your choice",
                "–" if cr.correlation is None else f"r = {cr.correlation:+.2f}",
                "–",
                _n(cr.n, "answer"),
                plain(cr.note)
                if cr.correlation is None
                else f"How well its {cr.criterion} score follows the answer most of you chose: "
                "+1 perfectly, 0 not at all, below 0 the opposite.",
                cr.note or "",
            )
        )
    if c.weight > 0:
        weight_text = (
            "When votes are by Both, each of its votes counts this much beside a human's (1), "
            "on every comparison it judged: how far it agrees with you beyond chance at the least "
            "(the lower end of κ's 95 % interval)."
        )
    elif c.shared < MIN_CALIBRATION:
        weight_text = (
            f"Not counted when votes are by Both: it shares {c.shared} comparisons with you "
            f"and needs {MIN_CALIBRATION}."
        )
    elif c.weight_note:
        weight_text = f"Not counted when votes are by Both: {c.weight_note}."
    else:
        weight_text = "Not counted when votes are by Both: it agrees with you no better than chance."
    shared = _n(c.shared, "comparison")
    out.append(("Weight when votes by Both", f"{c.weight:.2f}", "–", shared, weight_text, ""))
    return out


class JudgeTable(QTableWidget):
    """One judge's measures; the last column wraps, the table is as tall as its rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        header = self.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(MEANING, QHeaderView.ResizeMode.Stretch)
        # The wrapped column's rows grow or shrink with its width, once it is laid out.
        header.sectionResized.connect(self._resized)
        self.pending = False

    def fill(self, found: list[Row]) -> None:
        self.setRowCount(len(found))
        for r, row in enumerate(found):
            *cells, tip = row
            for col, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if col in (VALUE, INTERVAL, ON):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                if tip and col in (VALUE, INTERVAL, MEANING):
                    item.setToolTip(tip)
                self.setItem(r, col, item)
        self.fit_height()

    def fit_height(self) -> None:
        """Each row as tall as its wrapped text and a little air; the table as its rows."""
        self.resizeRowsToContents()
        for r in range(self.rowCount()):
            self.setRowHeight(r, self.rowHeight(r) + 6)
        header = self.horizontalHeader()
        height = max(header.height(), header.sizeHint().height()) + 2 * self.frameWidth()
        height += sum(self.rowHeight(r) for r in range(self.rowCount()))
        self.setFixedHeight(height + 2)

    def _resized(self, col: int, _old: int, _new: int) -> None:
        if col == MEANING:
            self._refit()

    def _refit(self) -> None:
        if not self.pending:
            self.pending = True
            QTimer.singleShot(0, self._refitted)

    def _refitted(self) -> None:
        self.pending = False
        self.fit_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._refit()

    def cell(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return "" if item is None else item.text()

    def row_of(self, measure: str) -> int:
        """The row of the measure whose name starts so (-1: none)."""
        return next((r for r in range(self.rowCount()) if self.cell(r, MEASURE).startswith(measure)), -1)


class JudgesPanel(QScrollArea):
    """Every judge's calibration, one after another; or how to get a judge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        self.body = QVBoxLayout(body)
        self.body.setContentsMargins(8, 8, 8, 8)
        self.setWidget(body)
        self.tables: list[JudgeTable] = []
        self.labels: list[QLabel] = []
        self.show_judges([])

    def show_judges(self, found: list[Calibration]) -> None:
        while self.body.count():
            item = self.body.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()
        self.tables, self.labels = [], []
        if not found:
            self._label(NO_JUDGE)
        for c in found:
            heading = self._label(
                f"{c.name} · family {c.family} · {_n(c.votes, 'vote')} · "
                f"{_n(c.shared, 'comparison')} shared with human votes · "
                f"weight when votes by Both {c.weight:.2f}"
            )
            font = QFont(heading.font())
            font.setBold(True)
            heading.setFont(font)
            self._label(judge_line(c))
            table = JudgeTable()
            table.fill(rows(c, one_human=len(c.kappa) <= 1))
            self.tables.append(table)
            self.body.addWidget(table)
        if found:
            self._label(
                f"Intervals: 95 %, bootstrap over prompts (position consistency: exact); "
                f"“{TOO_FEW}”: fewer than {MIN_SHARED} comparisons or one prompt. "
                "Hover a value for the analysis's own words."
            ).setProperty("role", "muted")
        self.body.addStretch(1)

    def _label(self, text: str, role: str = "") -> QLabel:
        label = plain_label(text, role)
        label.setWordWrap(True)
        self.labels.append(label)
        self.body.addWidget(label)
        return label

    def text(self) -> str:
        """Everything shown, as plain text (for tests and copying)."""
        parts = [label.text() for label in self.labels]
        for table in self.tables:
            for r in range(table.rowCount()):
                parts.append(" | ".join(table.cell(r, c) for c in range(table.columnCount())))
        return "\n".join(parts)
