"""The status bar's permanent field: the session's cost, one small widget (as qutebrowser
keeps one widget per status field).

It reads the lab's totals: an estimate is marked ≈, responses with no price are counted
and named as such (never added as $0), and while a blind turn is masked it says the cost
is hidden, since per-session cost moves would tell which lane is which.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from chatlab.core.lab.controller import Lab


class CostLabel(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cost")
        self.setContentsMargins(0, 0, 8, 0)  # clear of the window's edge

    def refresh(self, lab: Lab) -> None:
        if lab.masked:
            self.setText("Session cost hidden until you vote")
            return
        if not any(turn.responses for turn in lab.session.turns):
            self.setText("")  # nothing sent yet: no cost to speak of (not "$0")
            return
        self.setText(f"Session cost {lab.session_cost().words()}")
