"""The reveal card in the main window at 1280×800: compact (one row per lane, under 110 px
with 4 lanes and 200 px with 8), folded to one line and back, one time unit down its
column, and a label said once beside its model."""

from __future__ import annotations

import os

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from chatlab.core.data import format as fmt
from chatlab.core.lab.blind import Reveal, RevealRow, Tally
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.rating.reveal import RevealCard
from chatlab.ui.shared import theme
from tests.ui.conftest import add_lanes, wait_turn

SHOTS = os.environ.get("CHATLAB_SHOTS")  # a folder: save the grabs there to look at them

MODELS = (
    "chat:demo-reasoner@tps=0",
    "claude:demo-fast@tps=0",
    "chat:echo",
    "responses:demo-hidden@tps=0",
    "chat:demo-coder@tps=0",
    "claude:demo-hybrid@tps=0",
    "responses:echo",
    "chat:demo-fast@tps=0",
)


def grab(window: QWidget, name: str) -> None:
    """With CHATLAB_SHOTS set, save the window in the app's light and dark looks, to look
    at (the app's look is put back after)."""
    if not SHOTS:
        return
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = (app.style().name(), app.palette(), app.styleSheet())
    window.setStyleSheet("")
    for dark in (True, False):
        theme.apply(app, dark)
        QApplication.processEvents()  # the new look laid out (for the picture only)
        window.grab().save(os.path.join(SHOTS, f"{name}-{'dark' if dark else 'light'}.png"))
    app.setStyle(before[0])
    app.setPalette(before[1])
    app.setStyleSheet(before[2])
    themed(window)


def themed(window: QWidget) -> None:
    """The app's light look, on this window only (other tests keep theirs)."""
    window.setStyleSheet(theme.style_sheet(theme.LIGHT))


def revealed(window: MainWindow, qtbot: QtBot, lanes: int) -> RevealCard:
    """A blind turn of ``lanes`` demo lanes, voted with a guess, at 1280×800."""
    window.resize(1280, 800)
    themed(window)
    add_lanes(window, *MODELS[:lanes])
    window.lab.set_blind(True)
    window.prompt.setPlainText("Write a haiku about autumn rain on a tin roof.")
    wait_turn(qtbot, window)
    turn = window.session.turns[-1]
    assert turn.shown_order is not None
    window.lab.vote(turn.shown_order[0], guessed=[turn.shown_order[0]])
    card = window.reveal
    qtbot.waitUntil(lambda: card.isVisibleTo(window) and card.reveal is not None)
    qtbot.waitUntil(lambda: card.height() == card.sizeHint().height() or card.height() < 200)
    return card


def visible_texts(card: RevealCard) -> list[str]:
    return [label.text() for label in card.findChildren(QLabel) if label.isVisibleTo(card)]


@pytest.mark.parametrize(("lanes", "limit"), [(4, 110), (8, 200)])
def test_the_reveal_is_compact_one_row_per_lane_and_folds(
    window: MainWindow, qtbot: QtBot, lanes: int, limit: int
) -> None:
    card = revealed(window, qtbot, lanes)
    assert card.reveal is not None and len(card.reveal.rows) == lanes
    if lanes > 4:  # two rows of lanes: it comes folded, to leave them the room
        assert card.folded
        card.fold.click()
        qtbot.waitUntil(lambda: card.table.isVisibleTo(window) and card.height() > 40)
    grab(window, f"reveal-{lanes}")
    assert card.height() <= limit, card.height()
    # One row per lane: each letter once, on its own row of the table.
    letters = [f"Model {chr(65 + i)}" for i in range(lanes)]
    rows = {
        card.grid.getItemPosition(card.grid.indexOf(w))[0]  # type: ignore[index]
        for w in card.table.findChildren(QLabel)
        if w.text() in letters
    }
    assert len(rows) == lanes and [t for t in visible_texts(card) if t in letters] == letters
    # Every fact it showed stays: the kind, the guess, the tally, the choice.
    texts = visible_texts(card)
    assert "trained reasoner" in texts and any(t.startswith("you said yes") for t in texts)
    assert card.headline.text().startswith("Revealed. You chose: Model A — ")
    assert card.tally.text().startswith("This session: 1 blind vote · reasoning guessed right")
    lanes_height = window.lanes.height()

    # Folded: one line, still saying what was chosen and how the guess did.
    card.fold.click()
    assert card.folded and not card.table.isVisibleTo(window) and card.line.isVisibleTo(window)
    qtbot.waitUntil(lambda: card.height() <= card.fontMetrics().lineSpacing() * 2 + 8)
    assert card.line.text().startswith("Revealed: you chose Model A — ")
    assert "reasoning guess" in card.line.text() and "1 blind vote" in card.line.text()
    assert card.line.height() < card.fontMetrics().lineSpacing() * 2  # one line, never wrapped
    qtbot.waitUntil(lambda: window.lanes.height() > lanes_height)  # the lanes get the room
    grab(window, f"reveal-{lanes}-folded")
    folded_height = window.lanes.height()

    # And back.
    card.fold.click()
    assert not card.folded and card.table.isVisibleTo(window) and not card.line.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.lanes.height() < folded_height)
    assert card.height() <= limit


def row(letter: str, name: str, spec: str, ttft: float | None, **kw: object) -> RevealRow:
    base: dict[str, object] = dict(
        lane_id=f"lane-{letter}",
        letter=letter,
        name=name,
        spec=spec,
        reasoned=False,
        reasoning_tokens=0,
        reasoning_estimated=False,
        reasoning_hidden=False,
        prompted=False,
        cost=None,
        cost_estimated=False,
        ttft_s=ttft,
        guessed=False,
        failed=False,
        truth=False,
        kind="plain",
    )
    base.update(kw)
    return RevealRow(**base)  # type: ignore[arg-type]


def test_one_unit_per_column_and_each_name_once(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(1280, 800)
    reveal = Reveal(
        turn_id="t1",
        choice="lane-A",
        winner="Visible reasoner",
        rows=[
            row("A", "Visible reasoner", "demo:demo-reasoner", 0.191, reasoned=True, kind="native"),
            row("B", "Visible reasoner (placebo)", "demo:demo-reasoner", 2.1, reasoned=True, kind="native"),
            row("C", "demo:echo", "demo:echo", None),
            row("D", "demo-fast", "demo:demo-fast", 0.04),
        ],
        guess_made=False,
        guess_right=None,
        tally=Tally(votes=1),
    )
    window.reveal.show_reveal(reveal)
    texts = visible_texts(window.reveal)
    # 191 ms beside 2.1 s: both in seconds, alike; a missing time is a dash.
    assert [t for t in texts if t.endswith(" s") or t == "–"] == ["0.19 s", "2.10 s", "–", "0.04 s"]
    assert not any(t.endswith(" ms") for t in texts)
    # The placebo's label and its model, each once; a label that is its spec, or the
    # spec's model part, is not said twice.
    assert "Visible reasoner (placebo) · demo:demo-reasoner" in texts
    assert "demo:echo" in texts and "demo:demo-fast" in texts
    assert not any(t.count("placebo") > 1 or t.count("echo") > 1 or t.count("fast") > 1 for t in texts)
    # Folded, the next reveal comes folded too (the user's choice holds), its line new.
    window.reveal.set_folded(True)
    window.reveal.show_reveal(Reveal("t2", "tie", "tie", reveal.rows, False, None, Tally(votes=2)))
    assert window.reveal.folded and window.reveal.line.isVisibleTo(window)
    assert not window.reveal.table.isVisibleTo(window)
    assert window.reveal.line.text() == (
        "Revealed: you chose Tie · no reasoning guess · this session: 2 blind votes"
    )


def test_times_under_a_second_stay_in_ms() -> None:
    assert fmt.seconds_column([0.191, 0.9, None]) == ["191 ms", "900 ms", "–"]
    assert fmt.seconds_column([1.2, 12.25]) == ["1.2 s", "12.2 s"]
    assert fmt.seconds_column([]) == []


@pytest.mark.parametrize(
    ("label", "ident", "shown"),
    [
        # The string the review quoted, from a placebo twin's contender id.
        (
            "Visible reasoner (placebo)",
            "demo:demo-reasoner (placebo)",
            "Visible reasoner (placebo) · demo:demo-reasoner",
        ),
        (
            "Visible reasoner (placebo)",
            "demo:demo-reasoner",
            "Visible reasoner (placebo) · demo:demo-reasoner",
        ),
        ("demo:echo", "demo:echo", "demo:echo"),
        ("", "demo:echo", "demo:echo"),
        ("demo-fast", "demo:demo-fast", "demo:demo-fast"),
        ("My echo (demo:echo)", "demo:echo", "My echo (demo:echo)"),
        ("Fast", "demo:demo-fast", "Fast · demo:demo-fast"),
    ],
)
def test_a_label_with_its_id_says_each_word_once(label: str, ident: str, shown: str) -> None:
    assert fmt.label_and_id(label, ident) == shown
