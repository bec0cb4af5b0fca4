"""The reveal card with hostile model labels (a lane's label is whatever the user or a
suite wrote; a model id is whatever the server lists): very long, right-to-left
overrides, line breaks, HTML-like ``<b>``. Plain text, elided, one line a row, and the
window never wider than the screen it was given."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from chatlab.core.lab.blind import Reveal, Tally
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.rating.reveal import RevealCard
from tests.ui.rating.test_reveal import row, themed, visible_texts

LONG = "Very-long-model-name-without-any-space-" * 60
RTL = "\u202egnp.exe\u202c model"
BREAKS = "first line\nsecond line\nthird line\n\n\n\n\nlast"
TAGS = "<b>bold</b> <img src='http://127.0.0.1:9/x.png'> <a href='http://x'>link</a>"


def hostile_reveal(choice: str = "lane-A") -> Reveal:
    return Reveal(
        turn_id="t1",
        choice=choice,
        winner=LONG,
        rows=[
            row("A", LONG, "demo:" + LONG, 0.2),
            row("B", RTL, "demo:rtl", 0.3),
            row("C", BREAKS, "demo:breaks", 0.4),
            row("D", TAGS, "demo:" + TAGS, 0.5),
        ],
        guess_made=False,
        guess_right=None,
        tally=Tally(votes=1, wins={LONG: 1, BREAKS: 1}),
    )


def test_hostile_labels_never_widen_the_window(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(1280, 800)
    themed(window)
    window.reveal.show_reveal(hostile_reveal())
    qtbot.waitUntil(lambda: window.reveal.isVisibleTo(window))
    assert window.minimumSizeHint().width() <= 1280
    assert window.reveal.minimumSizeHint().width() <= 1280
    window.resize(1280, 800)
    assert window.width() == 1280
    window.grab().save("/tmp/h24/hostile-reveal.png")


def test_hostile_labels_stay_plain_text_on_one_line(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(1280, 800)
    window.reveal.show_reveal(hostile_reveal("lane-D"))
    labels = [x for x in window.reveal.findChildren(QLabel) if x.isVisibleTo(window.reveal)]
    for label in labels:
        assert label.textFormat().name in ("PlainText",) or "<" not in label.text(), label.text()
    texts = visible_texts(window.reveal)
    assert any("<b>bold</b>" in t for t in texts)  # shown as the characters it is
    row_texts = [t for t in texts if "line" in t and "first" in t]
    assert row_texts and all("\n" not in t for t in row_texts), row_texts
    assert not any("\u202e" in t for t in texts)  # an override made visible, not obeyed


def test_the_folded_line_with_hostile_labels_is_one_elided_line(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(1280, 800)
    card: RevealCard = window.reveal
    card.set_folded(True)
    card.show_reveal(hostile_reveal())
    assert "\n" not in card.line.text() or card.line.height() < 40
    assert window.minimumSizeHint().width() <= 1280
