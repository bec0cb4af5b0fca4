"""The blind rating queue view: driven by the keyboard alone (no text box ever takes the
focus), no widget names a model while an item is unrevealed (a hidden repeat looks like
any other item), the reveal after each vote, notes and scores by mouse, a one-answer item
refuses a tie, four cards fit 1280 pixels, and the picked card wears the accent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from chatlab.core.data.events import ErrorKind, Usage
from chatlab.core.data.model import ErrorInfo, Response, Session, Status
from chatlab.core.studies.rating import RatingQueue
from chatlab.core.studies.study import comparisons
from chatlab.core.studies.suites import parse_suite
from chatlab.store.db import Store
from chatlab.ui.rating.card import MIN_CARD_WIDTH, AnswerCard
from chatlab.ui.rating.view import RateView
from chatlab.ui.rating.window import RateWindow
from chatlab.ui.shared import theme

LABELS = ("Zephyrine", "Quokkabot", "Marlinex", "Osprey", "Pelican", "Heron", "Ibis", "Egret")
MODELS = tuple(f"zz-{name.lower()}-model" for name in LABELS)
PROVIDER = "demo"
STUDY = "Rate view test"
K = Qt.Key


# The kinds the reveal names ("plain" is left out: "explain" would match it).
KIND_WORDS = ("trained reasoner", "asked to think")


def suite(prompts: int = 10, samples: int = 2, lanes: int = 3, prompted: int = -1) -> dict[str, object]:
    """``prompted``: the lane asked to think first (think = "prompted"), if any."""
    return {
        "name": STUDY,
        "samples": samples,
        "seed": 7,
        "prompts": [{"id": f"p{i}", "text": f"Question {i}: why is the sky blue?"} for i in range(prompts)],
        "lanes": [
            {
                "provider": PROVIDER,
                "model": MODELS[i],
                "label": LABELS[i],
                **({"params": {"think": "prompted"}} if i == prompted else {}),
            }
            for i in range(lanes)
        ],
    }


def answered(data: dict[str, object], failed: int = 0) -> list[Session]:
    """Every lane answered (lane 0 reasons visibly, lane 2 with hidden tokens); the first
    ``failed`` lanes after lane 0 fail on prompt p0."""
    parsed = parse_suite(data)
    sessions = comparisons(parsed, "study1", parsed.name)
    for s in sessions:
        turn = s.turns[0]
        for i, lane in enumerate(s.lanes):
            text = f"Take {i}: it is **Rayleigh** scattering."
            resp = Response(lane.id, status=Status.OK, text_parts=[text])
            if i == 0:
                resp.reasoning_parts.append("thinking")
                resp.reasoning_chars = 8
            if i == 2:
                resp.usage = Usage(5, 50, reasoning_tokens=40)
            if s.study is not None and s.study.prompt_id == "p0" and 1 <= i <= failed:
                resp = Response(
                    lane.id, status=Status.ERROR, error=ErrorInfo(ErrorKind.BAD_REQUEST, "boom", 400)
                )
            turn.responses[lane.id] = resp
    return sessions


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store(tmp_path / "rate.db")
    yield st
    st.close()


def make_queue(store: Store, reveal: str = "end", failed: int = 0, **shape: int) -> RatingQueue:
    data = suite(**shape)
    store.create_study("study1", STUDY, data, answered(data, failed), reveal=reveal)
    return RatingQueue(store.study_sessions("study1"), "ann", sink=store, reveal=reveal)


def show(qtbot: QtBot, widget: QWidget, size: tuple[int, int] = (1280, 800)) -> None:
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)


def identities(store: Store) -> list[str]:
    """Every string that would tell who wrote an answer."""
    out = [*LABELS, *MODELS, PROVIDER, *KIND_WORDS]
    for s in store.study_sessions("study1"):
        out += [lane.id for lane in s.lanes] + [lane.spec for lane in s.lanes]
    return out


def own_texts(w: QWidget) -> list[str]:
    """Everything one widget could show or tell assistive technology."""
    out = [w.toolTip(), w.accessibleName(), w.accessibleDescription(), w.statusTip(), w.whatsThis()]
    out.append(w.windowTitle())
    if isinstance(w, QLabel | QAbstractButton):
        out.append(w.text())
    if isinstance(w, QLineEdit):
        out += [w.text(), w.placeholderText()]
    if isinstance(w, QTextEdit | QPlainTextEdit):
        out += [w.toPlainText(), w.document().toPlainText(), w.placeholderText()]
    return out


def widget_texts(root: QWidget) -> list[str]:
    """Everything a widget tree could show or tell assistive technology."""
    return [t for w in [root, *root.findChildren(QWidget)] for t in own_texts(w) if t]


def leaks(root: QWidget, names: list[str]) -> list[str]:
    return sorted({n for n in names for t in widget_texts(root) if n.lower() in t.lower()})


def press(view: RateView, *keys: Qt.Key) -> None:
    """Key clicks on the view, and after each one: the view has the focus, no text box."""
    for key in keys:
        QTest.keyClick(view, key)
        focus = QApplication.focusWidget()
        assert not isinstance(focus, QLineEdit | QTextEdit | QPlainTextEdit), key
        assert focus is view, key


def test_twenty_items_by_keyboard_alone(qtbot: QtBot, store: Store) -> None:
    queue = make_queue(store)
    assert queue.total == 20
    view = RateView(queue)
    show(qtbot, view)
    votes: list[None] = []
    view.voted.connect(lambda: votes.append(None))
    assert QApplication.focusWidget() is view
    assert view.progress.text() == "0 of 20 rated"
    expected: dict[str, tuple[str, list[str] | None]] = {}
    k = 0
    while k < 20:
        item = queue.current
        assert item is not None and view.pick_text() == "Pick the best answer: 1–3, T tie, X all bad"
        lanes = item.lanes
        kind = k % 5
        last = [K.Key_Return] if k < 19 else []
        if kind == 0:  # guess A and C reasoned, pick B
            press(view, K.Key_G, K.Key_1, K.Key_3, K.Key_G, K.Key_2)
            assert view.pick_text() == "Best: Model B" and view.cards[1].property("focused") is True
            expected[item.turn.id] = (lanes[1], [lanes[0], lanes[2]])
        elif kind == 1:  # a tie, by Space
            press(view, K.Key_T)
            last = [K.Key_Space] if last else []
            expected[item.turn.id] = ("tie", None)
        elif kind == 2:  # all bad; a mark toggled on and off again is a guess of "none"
            press(view, K.Key_G, K.Key_2, K.Key_2, K.Key_G, K.Key_X)
            assert view.pick_text() == "All bad"
            expected[item.turn.id] = ("all_bad", [])
        elif kind == 3:  # changes its mind; keypad Enter
            press(view, K.Key_1, K.Key_3)
            assert view.pick_text() == "Best: Model C" and view.cards[0].property("focused") is False
            last = [K.Key_Enter] if last else []
            expected[item.turn.id] = (lanes[2], None)
        else:  # Enter before a pick does nothing but say so
            press(view, K.Key_Return)
            assert queue.current is item and view.message.text().startswith("No pick yet")
            press(view, K.Key_1)
            expected[item.turn.id] = (lanes[0], None)
        if k == 19:
            with qtbot.waitSignal(view.finished, timeout=5000):
                press(view, K.Key_Return)
        else:
            press(view, *last)
        assert queue.rated == k + 1
        if k == 6:  # take it back: the same item again, the vote put back to change, gone from the store
            before = queue.last[1] if queue.last else None
            press(view, K.Key_U)
            assert queue.current is item and queue.rated == 6 and before is not None
            assert view.message.text() == "Vote taken back: change it, then Enter"
            if before.choice == "tie":
                assert view.pick_text() == "Tie"
            elif before.choice == "all_bad":
                assert view.pick_text() == "All bad"
            else:
                assert view.pick_text() == f"Best: Model {'ABCDEFGH'[item.lanes.index(before.choice)]}"
            marked = [i for i, card in enumerate(view.cards) if card.marked]
            assert marked == sorted(item.lanes.index(g) for g in (before.guessed or []))
            assert store.load(item.session.id).turns[0].vote_of("ann") is None
            press(view, K.Key_2, K.Key_Space)
            expected[item.turn.id] = (lanes[1], None)
        k += 1
    assert len(votes) == 21  # twenty, and the one taken back
    sessions = store.study_sessions("study1")
    stored = {s.turns[0].id: s.turns[0].vote_of("ann") for s in sessions}
    assert len(stored) == 20
    for turn_id, (choice, guessed) in expected.items():
        vote = stored[turn_id]
        assert vote is not None and vote.choice == choice and vote.guessed == guessed
        assert vote.shown_order is not None and len(vote.shown_order) == 3
        assert vote.seconds_to_vote is not None and vote.seconds_to_vote >= 0
    # The end: every name, each with its record, and nothing left to vote on.
    assert view.done_panel.isVisible() and not view.scroller.isVisible()
    rows = view.done_panel.rows()
    assert rows[0] == [
        "model",
        "shown",
        "wins",
        "ties",
        "you guessed reasoned",
        "reasoned",
        "your guess right",
    ]
    table = {r[0]: r[1:] for r in rows[1:]}
    assert set(table) == set(LABELS[:3])
    label = {lane.id: lane.label for s in sessions for lane in s.lanes}
    choices = [choice for choice, _ in expected.values()]
    ties = str(choices.count("tie"))
    assert ties == "3" and choices.count("all_bad") == 4  # item 6 was a tie, then a vote for B
    guesses = [gs for _, gs in expected.values() if gs is not None]
    for name, (shown, wins, tied, said, reasoned, right) in table.items():
        # Each guess said yes or no of this one: right when it was so (only Quokkabot is plain).
        calls = [(name in {label[g] for g in gs}) == (name != "Quokkabot") for gs in guesses]
        assert right == f"{sum(calls)} of {len(guesses)}"
        assert (shown, tied) == ("20", ties)
        assert wins == str(sum(label.get(c) == name for c in choices))
        assert said == str(sum(name in {label[g] for g in gs or []} for _, gs in expected.values()))
        assert reasoned == ("0" if name == "Quokkabot" else "20")
    assert view.progress.text() == "20 of 20 rated"
    press(view, K.Key_U)  # names were shown: nothing is taken back
    assert queue.rated == 20 and "can't be taken back" in view.message.text()


def test_no_widget_names_a_model_until_the_end(qtbot: QtBot, store: Store) -> None:
    data = suite()
    store.create_study("study1", STUDY, data, answered(data))
    queue = RatingQueue(store.study_sessions("study1"), "ann", sink=store, repeats=0.2)
    assert queue.total == 24 and sum(item.repeat for item in queue.items) == 4
    window = RateWindow(queue, STUDY)
    show(qtbot, window)
    view = window.view
    names = identities(store)
    assert window.windowTitle() == f"chatlab — rate: {STUDY}"
    first = widget_texts(window)
    assert any("why is the sky blue?" in t for t in first)  # the prompt shows
    answer = view.cards[0].answer.toPlainText()
    assert "Rayleigh scattering" in answer and "**" not in answer  # Markdown, rendered
    # Without show reasoning no card shows any reasoning, and the guess is "reasoned?".
    assert not any(c.thinking.isVisibleTo(view) for c in view.cards)
    assert {c.reasoned.text() for c in view.cards} == {"reasoned?"}
    chrome: set[tuple[str, ...]] = set()
    while not queue.finished:
        item = queue.current
        assert item is not None
        assert leaks(window, names) == []
        # Besides the prompt, the answers and the count, a repeat reads like any other item.
        texts = [t for t in widget_texts(view) if not any(c.isdigit() for c in t)]
        chrome.add(tuple(sorted(t for t in texts if "sky blue" not in t and "Rayleigh" not in t)))
        press(view, K.Key_G, K.Key_1, K.Key_G, K.Key_2)
        assert leaks(window, names) == []
        press(view, K.Key_Return)
    assert len(chrome) == 1
    # The end is the first moment a name appears, and the walk does see it.
    assert set(leaks(window, names)) >= set(LABELS[:3])


def test_each_policy_reveals_after_the_vote(qtbot: QtBot, store: Store) -> None:
    queue = make_queue(store, reveal="each", prompted=1)
    view = RateView(queue)
    show(qtbot, view)
    names = identities(store)
    item = queue.current
    assert item is not None and leaks(view, names) == []
    press(view, K.Key_G, K.Key_3, K.Key_G, K.Key_2, K.Key_Return)
    assert queue.rated == 1 and view.reveal_panel.isVisible() and view.pick_text() == "Voted"
    shown = {item.session.lane(lane_id).label for lane_id in item.lanes}
    assert set(leaks(view.reveal_panel, names)) >= shown
    picked = item.session.lane(item.lanes[1]).label
    assert picked in view.reveal_panel.headline.text()
    # Each one's kind, from the study's answers: lane 0 reasons visibly, lane 2 with
    # hidden tokens (both trained reasoners), lane 1 was asked to think.
    kinds = {row.name: row.kind for row in queue.reveal(item, queue.last[1])} if queue.last else {}
    assert kinds == {LABELS[0]: "native", LABELS[1]: "prompted", LABELS[2]: "native"}
    words = [t for t in widget_texts(view.reveal_panel) if t in KIND_WORDS]
    assert sorted(words) == ["asked to think", "trained reasoner", "trained reasoner"]
    press(view, K.Key_U)  # the names are out: the vote stands
    assert queue.rated == 1 and "can't be taken back" in view.message.text()
    press(view, K.Key_1)  # no new pick while the reveal shows
    assert queue.current is not item and view.reveal_panel.isVisible()
    press(view, K.Key_Return)
    assert not view.reveal_panel.isVisible() and queue.rated == 1
    assert view.pick_text().startswith("Pick the best answer")
    assert leaks(view, names) == []  # the next item is masked again, hidden labels too
    vote = store.load(item.session.id).turns[0].vote_of("ann")
    assert vote is not None and vote.choice == item.lanes[1] and vote.guessed == [item.lanes[2]]


def test_a_sighted_comparison_says_so_before_the_vote(qtbot: QtBot, store: Store) -> None:
    """A comparison this rater exported with its names (--unblind): the queue says, with
    the prompt, that the vote will be sighted; the others don't."""
    data = suite(prompts=2, samples=1)
    store.create_study("study1", STUDY, data, answered(data))
    sessions = store.study_sessions("study1")
    marked = sessions[0].turns[0].id
    store.mark_sighted([marked], "ann")
    queue = RatingQueue(sessions, "ann", sink=store, sighted=store.sighted_turns("ann"))
    view = RateView(queue)
    show(qtbot, view)
    seen = {}
    for _ in range(2):
        item = queue.current
        assert item is not None
        seen[item.turn.id] = "sighted" in view.item_label.text()
        with qtbot.waitSignal(view.voted, timeout=5000):
            press(view, K.Key_1, K.Key_Return)
    assert seen == {marked: True, sessions[1].turns[0].id: False}
    votes = {s.turns[0].id: store.load(s.id).turns[0].vote_of("ann") for s in sessions}
    assert {k: v.sighted for k, v in votes.items() if v is not None} == seen


def test_notes_scores_and_the_mouse(qtbot: QtBot, store: Store) -> None:
    queue = make_queue(store)
    view = RateView(queue)
    show(qtbot, view)
    item = queue.current
    assert item is not None
    card = view.cards[1]
    qtbot.mouseClick(card.note, Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() is card.note
    qtbot.keyClicks(card.note, "clear, 5 stars")
    assert view.choice is None and view.pick_text().startswith("Pick")  # keys went to the note
    QTest.keyClick(card.note, K.Key_Escape)
    assert QApplication.focusWidget() is view and card.note_text == "clear, 5 stars"
    score = card.score_buttons[3]
    qtbot.mouseClick(score, Qt.MouseButton.LeftButton)
    assert card.score == 4 and score.isChecked()
    qtbot.mouseClick(score, Qt.MouseButton.LeftButton)  # the checked one again clears it
    assert card.score is None and not score.isChecked()
    qtbot.mouseClick(card.score_buttons[1], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(score, Qt.MouseButton.LeftButton)
    assert card.score == 4 and [b.isChecked() for b in card.score_buttons] == [False] * 3 + [True, False]
    assert QApplication.focusWidget() is view  # a click on a button leaves the keys with the view
    qtbot.mouseClick(view.cards[0].header, Qt.MouseButton.LeftButton)
    assert view.pick_text() == "Best: Model A"
    qtbot.mouseClick(view.tie_button, Qt.MouseButton.LeftButton)
    assert view.pick_text() == "Tie"
    qtbot.mouseClick(view.bad_button, Qt.MouseButton.LeftButton)
    assert view.pick_text() == "All bad"
    qtbot.mouseClick(view.cards[2].header, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.voted, timeout=5000):
        qtbot.mouseClick(view.next_button, Qt.MouseButton.LeftButton)
    assert queue.rated == 1 and QApplication.focusWidget() is view
    turn = store.load(item.session.id).turns[0]
    vote = turn.vote_of("ann")
    assert vote is not None and vote.choice == item.lanes[2]
    rating = turn.responses[item.lanes[1]].rating_of("ann")
    assert rating is not None and rating.score == 4 and rating.note == "clear, 5 stars"
    assert turn.responses[item.lanes[0]].rating_of("ann") is None
    qtbot.mouseClick(view.undo_button, Qt.MouseButton.LeftButton)
    # The vote and its rating are gone from disk; the card keeps them, to vote again.
    assert queue.rated == 0 and view.cards[1].score == 4 and view.cards[1].note_text == "clear, 5 stars"
    assert store.load(item.session.id).turns[0].responses[item.lanes[1]].rating_of("ann") is None


def test_a_study_comparison_left_with_one_answer_is_not_offered(qtbot: QtBot, store: Store) -> None:
    # Two of three lanes refused: one answer is no comparison, and it would say whose it
    # is to anyone who knows which lanes failed.
    queue = make_queue(store, failed=2, prompts=1, samples=1)
    assert queue.total == 0
    view = RateView(queue)
    show(qtbot, view)
    assert view.cards == []


@pytest.mark.parametrize(("lanes", "scrolls"), [(4, False), (8, True)])
def test_four_cards_fit_and_more_scroll_sideways(
    qtbot: QtBot, store: Store, lanes: int, scrolls: bool
) -> None:
    queue = make_queue(store, prompts=1, samples=1, lanes=lanes)
    window = RateWindow(queue, STUDY)
    show(qtbot, window)
    assert window.width() <= 1280 and window.height() <= 800
    window.resize(1280, 800)
    view = window.view
    bar = view.scroller.horizontalScrollBar()
    qtbot.waitUntil(lambda: all(card.width() >= MIN_CARD_WIDTH for card in view.cards))
    assert len(view.cards) == lanes and (bar.maximum() > 0) == scrolls
    press(view, getattr(K, f"Key_{lanes}"))
    assert view.pick_text() == f"Best: Model {'ABCDEFGH'[lanes - 1]}"
    assert (bar.value() > 0) == scrolls  # the picked card is scrolled into view


@pytest.mark.parametrize("width", [1240, 1280, 1600])
def test_reasoned_and_the_word_score_never_overlap(qtbot: QtBot, store: Store, width: int) -> None:
    window = RateWindow(make_queue(store, prompts=1, samples=1, lanes=4), STUDY)
    show(qtbot, window)
    window.resize(width, 790)
    view = window.view
    qtbot.waitUntil(lambda: all(card.width() >= MIN_CARD_WIDTH for card in view.cards))
    for card in view.cards:
        words = next(w for w in card.findChildren(QLabel) if w.text() == "score")
        assert not words.isVisible() or card.reasoned.geometry().right() < words.geometry().left()
        assert card.reasoned.geometry().right() < card.score_buttons[0].geometry().left()


@pytest.mark.parametrize("dark", [False, True])
def test_the_picked_card_wears_the_accent(qtbot: QtBot, store: Store, dark: bool) -> None:
    colors = theme.DARK if dark else theme.LIGHT
    view = RateView(make_queue(store, prompts=1, samples=1))
    view.setStyleSheet(theme.style_sheet(colors))  # on the view only: other tests keep theirs
    show(qtbot, view)

    def edge(i: int) -> QColor:
        card = view.cards[i]
        return card.grab().toImage().pixelColor(0, card.height() // 2)

    assert edge(0).name() == colors.border
    press(view, K.Key_1)
    assert edge(0).name() == colors.accent and edge(1).name() == colors.border


def card_walk(card: AnswerCard) -> list[tuple[object, ...]]:
    """A card as the walk sees it, with its own content (answer, reasoning) and its place
    (letter, digit key) put aside: alike cards give the same list."""
    content = (card.answer, card.thinking)
    place = {f"Model {card.letter}": "Model ?", f"press {card.position + 1}": "press ?"}
    out: list[tuple[object, ...]] = []
    for widget in [card, *card.findChildren(QWidget)]:
        if any(widget is view or view.isAncestorOf(widget) for view in content):
            out.append(("content", widget is card.thinking and widget.isVisibleTo(card)))
            continue
        words = []
        for text in own_texts(widget):
            for mark, stand_in in place.items():
                text = text.replace(mark, stand_in)
            words.append(text)
        checked = widget.isChecked() if isinstance(widget, QAbstractButton) else None
        out.append(
            (type(widget).__name__, widget.objectName(), widget.isVisibleTo(card), checked, tuple(words))
        )
    return out


def test_show_reasoning_shows_every_answers_reasoning_alike_and_nothing_else_tells(
    qtbot: QtBot, store: Store
) -> None:
    data = {**suite(prompts=3, samples=1), "show_reasoning": True}
    sessions = answered(data)  # lane 0 reasons visibly, lane 1 not at all, lane 2 hides 40 tokens
    assert all(s.show_reasoning for s in sessions)
    store.create_study("study1", STUDY, data, sessions)
    queue = RatingQueue(store.study_sessions("study1"), "ann", sink=store)
    window = RateWindow(queue, STUDY)
    show(qtbot, window)
    view = window.view
    item = queue.current
    assert item is not None
    card_of = dict(zip(item.lanes, view.cards, strict=True))
    visible, plain, hidden = (card_of[lane.id] for lane in item.session.lanes)
    # The reasoning text itself is shown; the plain and the hidden reasoner read alike.
    assert all(c.thinking.isVisibleTo(window) and c.thinking_title.isVisibleTo(window) for c in view.cards)
    assert visible.thinking.toPlainText() == "thinking"
    assert plain.thinking.toPlainText() == hidden.thinking.toPlainText() == "reasoning not shown"
    assert leaks(window, identities(store)) == []
    texts = [t for t in widget_texts(window) if t != "thinking"]
    words = ("token", "hidden", "not returned", "summary", "redacted", "thought", "40")
    assert [t for t in texts if any(w in t.lower() for w in words)] == []
    walks = [card_walk(c) for c in view.cards]
    assert walks[0] == walks[1] == walks[2] and len(walks[0]) > 10
    # The guess is about the thinking; what is recorded is the list of lanes, as ever.
    assert {c.reasoned.text() for c in view.cards} == {"trained to reason?"}
    assert "G guess “trained to reason?”" in view.hint.text()
    position = view.cards.index(hidden)
    press(view, K.Key_G, getattr(K, f"Key_{position + 1}"))
    assert "mark “trained to reason?”" in view.mode_label.text()
    press(view, K.Key_G, K.Key_1, K.Key_Return)
    vote = store.load(item.session.id).turns[0].vote_of("ann")
    assert vote is not None and vote.guessed == [item.lanes[position]]
