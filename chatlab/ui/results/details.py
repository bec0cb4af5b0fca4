"""The Leaderboard's "Details" fold: the findings behind the card (the core's
:func:`~chatlab.core.analysis.report.summary`, which names its tests), folded away at
first, each followed by a plain line on every term it names for the first time.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from chatlab.ui.results.card import plain_label

# A term as the findings write it (a pattern), and what it means, in one line.
TERMS: dict[str, tuple[str, str]] = {
    "ci": (
        r"95 ?% (CI|interval)",
        "95 % CI: a range made so that it holds the true value 95 times in 100; wide means few data.",
    ),
    "p": (
        r"\bp = ",
        "p: how often chance alone would give a result at least this strong; under 0.05 is the usual bar.",
    ),
    "longest": (
        r"longest answer",
        "The longest answer: a baseline; if always picking it does as well, length gave the reasoner away.",
    ),
    "power": (
        r"80 % power",
        "α 0.05, 80 % power: a false alarm 1 time in 20, and 4 chances in 5 to see a real effect that size.",
    ),
    "points": (
        r"rating points",
        "Rating points: the Elo scale; 100 points more means winning about 64 % of head-to-heads.",
    ),
    "balanced": (
        r"balanced accuracy",
        "Balanced accuracy: the mean of the shares of reasoners and of plain answers called right; "
        "50 % is guessing.",
    ),
    "permutation": (
        r"permutation",
        "Permutation test: every way the marks could have fallen within each vote by chance, "
        "counted exactly, against the marks made.",
    ),
    "placebo": (
        r"placebo|noise floor",
        "Noise floor: the same model entered twice under two names; their gap is what noise alone makes.",
    ),
    "alpha": (
        r"Krippendorff",
        "Krippendorff's alpha: how much raters agree beyond chance; 0 = coin flips, 1 = always agree.",
    ),
    "repeats": (
        r"Hidden repeats",
        "Hidden repeats: a comparison shown to the same rater again, unannounced: do they choose alike?",
    ),
    "chi2": (
        r"χ²",
        "χ² test: whether the place on screen (A, B, C…) was chosen more often than chance would; "
        "a small p means position swayed votes.",
    ),
    "fisher": (
        r"Fisher",
        "Fisher's exact test: whether two shares differ, counted exactly rather than approximated.",
    ),
    "clopper": (
        r"Clopper",
        "Clopper–Pearson interval: an exact interval for a share, never narrower than the data allow.",
    ),
    "bootstrap": (
        r"bootstrap",
        "Bootstrap: the prompts drawn again at random 1,000 times; the results' spread is the interval.",
    ),
}


def explained(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Each finding with the explanations of the terms it is the first to name."""
    seen: set[str] = set()
    out = []
    for line in lines:
        notes = []
        for key, (pattern, note) in TERMS.items():
            if key not in seen and re.search(pattern, line, re.IGNORECASE):
                seen.add(key)
                notes.append(note)
        out.append((line, notes))
    return out


class DetailsFold(QWidget):
    """A disclosure button ("▸ Details") over the findings, folded at first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.button = QToolButton()
        self.button.setCheckable(True)
        self.button.setChecked(False)
        self.button.setArrowType(Qt.ArrowType.RightArrow)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setText("Details: the tests behind these numbers")
        self.button.toggled.connect(self.unfold)
        layout.addWidget(self.button)
        self.body = QWidget()
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.lines = QVBoxLayout(self.body)
        self.lines.setContentsMargins(22, 0, 8, 8)
        self.lines.setSpacing(2)
        layout.addWidget(self.body)
        self.body.hide()
        self.findings: list[QLabel] = []
        self.notes: list[QLabel] = []
        self.shown: list[QLabel] = []  # both, in order

    def unfold(self, open_: bool) -> None:
        self.button.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.body.setVisible(open_)

    def show_lines(self, lines: list[str]) -> None:
        for label in self.shown:
            self.lines.removeWidget(label)
            label.deleteLater()
        self.findings, self.notes, self.shown = [], [], []
        for line, notes in explained(lines):
            finding = plain_label(line)
            finding.setContentsMargins(0, 4, 0, 0)
            self.lines.addWidget(finding)
            self.findings.append(finding)
            self.shown.append(finding)
            for note in notes:
                label = plain_label(note, role="muted")
                label.setContentsMargins(14, 0, 0, 0)
                self.lines.addWidget(label)
                self.notes.append(label)
                self.shown.append(label)
        self.button.setText(
            f"Details: the tests behind these numbers ({len(lines)} finding{'s' if len(lines) != 1 else ''})"
        )

    def text(self) -> str:
        return "\n".join(label.text() for label in self.shown)
