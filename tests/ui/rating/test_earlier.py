"""The rating window (``rate --marked``) with a rater's earlier score and note: the card
shows them, a vote that changes the score keeps the note, and U puts the rating back
exactly as it was."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from chatlab.store.db import Store
from chatlab.ui.rating.window import RateWindow, open_queue
from tests.core.studies.test_rating_earlier import EARLIER, marked_session, ratings_on_disk


def test_the_card_shows_the_earlier_score_and_note_and_undo_restores_them(
    qtbot: QtBot, tmp_path: Path
) -> None:
    store = Store(tmp_path / "rate.db")
    # Two such turns: after the first vote the queue is not done (and names not shown).
    sessions = {s.id: s for s in (marked_session(store), marked_session(store))}
    window = open_queue(store, None, "ann")  # what `chatlab rate --marked` opens
    assert isinstance(window, RateWindow)
    qtbot.addWidget(window)
    qtbot.waitExposed(window)
    view = window.view
    item = view.queue.current
    assert item is not None
    session = sessions[item.session.id]
    first, second = (lane.id for lane in session.lanes)
    before = ratings_on_disk(store, session, "ann")
    a, b = item.lanes.index(first), item.lanes.index(second)
    card, other = view.cards[a], view.cards[b]
    assert card.score == 3 and card.score_buttons[2].isChecked()
    assert card.note_text == EARLIER.note and card.earlier.isVisibleTo(card)
    assert other.score is None and other.note_text == "" and not other.earlier.isVisibleTo(other)

    # Score 5 by mouse, pick with the keyboard, vote: the note she wrote before stays.
    qtbot.mouseClick(card.score_buttons[4], Qt.MouseButton.LeftButton)
    QTest.keyClick(view, [Qt.Key.Key_1, Qt.Key.Key_2][a])
    with qtbot.waitSignal(view.voted, timeout=5000):
        QTest.keyClick(view, Qt.Key.Key_Return)
    now = ratings_on_disk(store, session, "ann")[first]
    assert now is not None and (now.score, now.note) == (5, EARLIER.note)
    assert ratings_on_disk(store, session, "ann")[second] is None

    # U: the vote is gone and the rating on disk is back as it was; the card shows what
    # the vote said (pick, score and note), to change and vote again: undo takes the
    # vote back, not the work of scoring.
    QTest.keyClick(view, Qt.Key.Key_U)
    assert view.queue.rated == 0 and store.load(session.id).turns[0].vote_of("ann") is None
    assert ratings_on_disk(store, session, "ann") == before
    card = view.cards[a]
    assert card.score == 5 and card.note_text == EARLIER.note and view.choice == a
    # Enter votes again with them.
    with qtbot.waitSignal(view.voted, timeout=5000):
        QTest.keyClick(view, Qt.Key.Key_Return)
    again = ratings_on_disk(store, session, "ann")[first]
    assert again is not None and (again.score, again.note) == (5, EARLIER.note)
    window.close()
    store.close()
