"""A lane's status as a row of small badges: state · TTFT · in / out / reasoning · tok/s · $.

One :class:`~chatlab.core.lab.figures.Figures` record feeds it (the same record the CLI
prints), so the window and the terminal can't disagree. The badges wrap as whole
values on a narrow lane, never mid-number. ``text()`` is the row as one line, for
tests, accessibility and copying. Masked lanes show one neutral badge only.
:func:`reasoning_words` is the reasoning toggle's line (its token count, or that the
text was not returned). :func:`wait_words` is what a card shows while it has nothing to
show yet ("thinking… 0:12").
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from chatlab.core.data import format as fmt
from chatlab.core.data.model import Response, Status
from chatlab.core.lab.figures import Figures
from chatlab.core.lab.orchestrator import live_usage
from chatlab.ui.shared.flow import FlowLayout
from chatlab.ui.shared.safe import plain_tip

_TONES = {"done": "good", "error": "bad", "thinking": "busy", "answering": "busy", "queued": "busy"}


def reasoning_words(resp: Response | None, opened: bool, turn: int | None = None) -> str:
    """The reasoning toggle's words: "Reasoning · ≈661 tokens ▾", "412 reasoning tokens,
    text not returned ▸", or "Reasoning ▾" alone (``resp`` None: a masked lane of a
    session that shows reasoning, the same in every lane). ``turn``: the turn they belong
    to, named when a session has several ("Turn 3 reasoning · ≈661 tokens ▾")."""
    arrow = "▾" if opened else "▸"
    if resp is not None and resp.hidden_reasoning:
        named = f"Turn {turn}: " if turn else ""
        return f"{named}{resp.usage.reasoning_tokens:,} reasoning tokens, text not returned {arrow}"
    extra = ""
    if resp is not None and resp.reasoning_chars:
        usage = live_usage(resp)
        mark = "≈" if usage.estimated or usage.reasoning_estimated else ""
        extra = f" · {mark}{usage.reasoning_tokens:,} tokens"
    return f"{f'Turn {turn} reasoning' if turn else 'Reasoning'}{extra} {arrow}"


def clock(seconds: float) -> str:
    """Elapsed time as a clock: "0:07", "1:23", "1:02:03"."""
    whole = int(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def wait_words(resp: Response | None, reasoning_shown: bool, since: float | None = None) -> str:
    """A card's body while it has nothing to show: "thinking… 0:12" from ``since`` (the
    run's start, the progress line's clock; else the request's) until answer text (or
    reasoning text, shown) arrives; "queued…"; or ""."""
    if resp is None or resp.status.finished or resp.retry is not None:
        return ""  # nothing running, or the badge counts down to the next attempt
    if resp.text_chars or (resp.reasoning_chars and reasoning_shown):
        return ""
    if resp.status is Status.QUEUED:
        return "queued…"
    started = since if since is not None else resp.timing.started
    return f"thinking… {clock(time.monotonic() - started if started is not None else 0.0)}"


def badge_texts(figures: Figures) -> list[tuple[str, str]]:
    """(text, tone) per badge, in order."""
    state = figures.state
    tone = _TONES.get(state.split(" ")[0], "busy" if "retrying" in state else "")
    out = [(state, tone), (f"ttft {fmt.seconds(figures.ttft_s)}", "")]
    out.append((fmt.tokens(figures.usage), ""))
    if figures.tokens_per_s:
        out.append((f"{'≈' if figures.usage.estimated else ''}{figures.tokens_per_s:,.0f} tok/s", ""))
    out.append((fmt.cost(figures.cost_usd, figures.cost_estimated) if figures.cost_known else "cost …", ""))
    if figures.lane_total is not None:
        out.append((f"lane {fmt.cost(figures.lane_total, figures.total_estimated)}", ""))
    if figures.grade_words is not None:
        out.append((figures.grade_words[0], "good" if figures.grade and figures.grade.correct else "bad"))
    return out


class StatusBadges(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self, spacing=4)
        self._labels: list[QLabel] = []
        self._texts: list[tuple[str, str]] = []
        self._tips: dict[str, str] = {}
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.set_badges([("ready", "")])

    def set_badges(self, texts: list[tuple[str, str]], tips: dict[str, str] | None = None) -> None:
        """Show ``texts`` ((text, tone) each); ``tips``: a badge's own tooltip, by its text."""
        tips = tips or {}
        if texts == self._texts and tips == self._tips:
            return
        self._texts, self._tips = texts, tips
        while len(self._labels) < len(texts):
            label = QLabel(self)
            label.setProperty("role", "badge")
            self._layout.addWidget(label)
            self._labels.append(label)
        for i, label in enumerate(self._labels):
            if i < len(texts):
                text, tone = texts[i]
                label.setText(text)
                label.setToolTip(plain_tip(tips.get(text, "")))  # a grade's detail quotes the answer
                if label.property("tone") != tone:
                    label.setProperty("tone", tone)
                    label.style().unpolish(label)
                    label.style().polish(label)
                label.show()
            else:
                label.hide()
        self.setAccessibleName("status: " + self.text())
        self._layout.invalidate()
        self.updateGeometry()

    def text(self) -> str:
        return " · ".join(text for text, _ in self._texts)
