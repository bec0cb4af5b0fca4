"""Sessions in the window: saved as they stream, reopened from the sidebar, searched with
highlighted hits, rated; and blind mode, which hides every identifying field until the
vote and then reveals them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import LaneParams
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.store.db import Store, default_path
from chatlab.ui.lab.lane import LaneWidget
from chatlab.ui.lab.window import MainWindow
from tests.ui.conftest import add_lanes, close_window, wait_turn


@pytest.fixture
def store(home: object) -> Iterator[Store]:
    s = Store(default_path())
    yield s
    s.close()


@pytest.fixture
def saving_window(
    qtbot: QtBot, runner: Runner, store: Store, loop: asyncio.AbstractEventLoop
) -> Iterator[MainWindow]:
    win = MainWindow(runner, store=store, rater="tester")
    win.show()
    yield win
    close_window(qtbot, win)


def test_blind_mode_hides_everything_until_the_vote(
    saving_window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    win = saving_window
    lanes = add_lanes(
        win,
        "chat:demo-reasoner@tps=300",
        "responses:demo-hidden@tps=0,think_delay_s=0.3",
        "claude:demo-fast@tps=0",
    )
    lanes[1].params = LaneParams(temperature=0.2)
    win.prompt_area.blind_check.setChecked(True)
    assert win.session.blind
    seen_while_streaming: list[tuple[str, ...]] = []

    def snapshot(_lane_id: str) -> None:
        if win.lab.busy:
            widgets = list(win.lane_widgets.values())
            seen_while_streaming.append(tuple(w.status.text() for w in widgets))
            for w in widgets:  # nothing streams into view while masked
                assert "Tin roof" not in w.answer.toPlainText() and "Rain on" not in w.answer.toPlainText()

    win.laneFlushed.connect(snapshot)
    win.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, win)
    turn = win.session.turns[-1]
    # Every lane looked the same while any was running.
    assert seen_while_streaming and all(set(s) == {"waiting for all models…"} for s in seen_while_streaming)
    # The order shown is the turn's shuffled order, lettered A, B, C.
    assert turn.shown_order is not None and sorted(turn.shown_order) == sorted(lane.id for lane in lanes)
    shown = [win.lanes.splitter.widget(i) for i in range(3)]
    assert all(isinstance(w, LaneWidget) for w in shown)
    assert [w.lane.id for w in shown if isinstance(w, LaneWidget)] == turn.shown_order
    for letter, widget in zip("ABC", shown, strict=True):
        assert isinstance(widget, LaneWidget) and widget.title.text() == f"Model {letter}"
    for widget in win.lane_widgets.values():
        visible_text = " ".join(
            label.text() for label in widget.findChildren(QLabel) if label.isVisibleTo(win)
        )
        for lane in lanes:
            assert lane.model not in visible_text and lane.provider + ":" not in visible_text
        assert not widget.spec.isVisibleTo(win) and not widget.params_button.isVisibleTo(win)
        assert not widget.reasoning.isVisibleTo(win) and not widget.reasoning_toggle.isVisibleTo(win)
        assert widget.status.text() == "finished — vote to reveal the details"
        assert not any(ch.isdigit() for ch in widget.status.text())
        shown_text = widget.answer.toPlainText()
        assert "Turn 1" in shown_text and len(shown_text) > 20  # answers shown, all at once
    assert "hidden" in win.cost_label.text()
    assert win.vote_bar.isVisibleTo(win)

    # Vote: record what the user saw, then reveal.
    assert [b.text() for b in win.vote_bar.guesses.values()] == ["Model A", "Model B", "Model C"]
    win.vote_bar.guesses[lanes[0].id].setChecked(True)
    win.vote_bar.buttons[turn.shown_order[0]].click()
    win.vote_bar.buttons[turn.shown_order[0]].click()  # a click selects, the same click again votes
    saved = store.load(win.session.id).turns[-1].vote
    assert saved is not None and saved.choice == turn.shown_order[0] and saved.guessed == [lanes[0].id]
    assert saved.rater == "tester"
    for lane in lanes:
        widget = win.lane_widgets[lane.id]
        assert widget.title.text() == lane.spec == widget.accessibleName()  # unlabelled: its model
        assert "out " in widget.status.text()
        # The reasoning toggle exists only where there was reasoning (shown or hidden).
        assert widget.reasoning_toggle.isVisibleTo(win) == (lane is not lanes[2])
    assert win.lane_widgets[lanes[0].id].reasoning.toPlainText().startswith("The user wants a haiku")
    # Revealed: the cost shows (these demo lanes, with options in their names, have no
    # price: the total is unknown, never $0).
    assert win.cost_label.text() == "Session cost unknown (3 responses with no price)"
    # A blind vote records what was seen: it is not re-cast, only undone (issue 24, item 1).
    assert win.vote_bar.isVisibleTo(win) and not win.vote_bar.buttons and win.vote_bar.undo_button is not None
    # The reveal card says who was who and judges the guess (two lanes reasoned, one was named).
    assert win.reveal.isVisibleTo(win) and win.reveal.reveal is not None
    card = win.reveal.reveal
    assert [row.name for row in card.rows] == [win.session.lane(x).display for x in turn.shown_order]
    assert {row.lane_id for row in card.rows if row.reasoned} == {lanes[0].id, lanes[1].id}
    assert card.guess_made and card.guess_right is False and card.tally.votes == 1
    assert "wrong" in win.reveal.guess.text()
    # Each lane's kind: the visible and the hidden reasoner were trained to reason.
    kinds = {row.lane_id: row.kind for row in card.rows}
    assert kinds == {lanes[0].id: "native", lanes[1].id: "native", lanes[2].id: "plain"}
    words = [label.text() for label in win.reveal.findChildren(QLabel) if label.isVisibleTo(win)]
    assert words.count("trained reasoner") == 2 and words.count("plain") == 1


def test_sessions_are_saved_reopened_searched_and_rated(
    saving_window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    win = saving_window
    lanes = add_lanes(win, "chat:echo", "claude:echo")
    win.prompt.setPlainText("Tell me about Zanzibar")
    wait_turn(qtbot, win)
    assert win.sidebar is not None and win.sidebar.tree.topLevelItemCount() == 1
    widget = win.lane_widgets[lanes[0].id]
    widget.score.setCurrentIndex(4)
    widget.note.setText("solid")
    widget._rated()
    first_id = win.session.id

    win.new_session()
    win.prompt.setPlainText("Something else entirely")
    wait_turn(qtbot, win)
    assert win.sidebar.tree.topLevelItemCount() == 2

    win.actions_.open_session(first_id)
    assert win.session.id == first_id
    reopened = win.lane_widgets[lanes[0].id]
    assert "echo (turn 1): Tell me about Zanzibar" in reopened.answer.toPlainText()
    rating = store.load(first_id).turns[0].responses[lanes[0].id].rating
    assert rating is not None and (rating.score, rating.note, rating.rater) == (4, "solid", "tester")
    assert reopened.score.currentIndex() == 4 and reopened.note.text() == "solid"

    win.sidebar.search.setText("zanzibar")
    win.sidebar.refresh()
    labels = [win.sidebar.tree.itemWidget(item, 0) for item in win.sidebar.top_items()]
    texts = [label.text() for label in labels if isinstance(label, QLabel)]
    assert texts and all("<b>Zanzibar</b>" in t for t in texts)

    win.actions_.delete_session(first_id, confirm=False)
    assert [s.id for s in store.sessions()] != [] and first_id not in [s.id for s in store.sessions()]


def test_votes_outside_blind_mode_can_be_changed(
    saving_window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    win = saving_window
    a, b = add_lanes(win, "chat:echo", "claude:echo")
    win.prompt.setPlainText("pick one")
    wait_turn(qtbot, win)
    assert win.vote_bar.isVisibleTo(win)
    buttons = {btn.objectName(): btn for btn in win.vote_bar.findChildren(QPushButton)}
    assert set(buttons) == {
        f"vote-{a.id}",
        f"vote-{b.id}",
        "vote-tie",
        "vote-all_bad",
        "vote-confirm",
        "rate-later",
    }
    # Not blind: the names the lane headers show (a lane's label, else its model).
    assert buttons[f"vote-{a.id}"].text() == "chat:echo" == win.lane_widgets[a.id].title.text()
    buttons[f"vote-{a.id}"].click()
    buttons["vote-confirm"].click()  # a click selects, Vote votes
    buttons = {btn.objectName(): btn for btn in win.vote_bar.findChildren(QPushButton)}
    buttons["vote-tie"].click()
    buttons["vote-tie"].click()
    vote = store.load(win.session.id).turns[-1].vote
    assert vote is not None and vote.choice == "tie" and vote.rater == "tester"


def test_a_second_blind_turn_is_sighted_with_its_history_and_names(
    saving_window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    """Issue 24 (7): after the reveal, a follow-up is not blind theatre: each lane goes on
    with its own history, under its own name, and says it is sighted."""
    win = saving_window
    lanes = add_lanes(win, "chat:echo", "claude:demo-fast@tps=50")
    win.prompt_area.blind_check.setChecked(True)
    win.prompt.setPlainText("first question")
    wait_turn(qtbot, win)
    win.vote("tie")
    assert "first question" in win.lane_widgets[lanes[0].id].answer.toPlainText()  # revealed history
    titles: list[str] = []
    win.laneFlushed.connect(lambda _id: titles.extend(w.title.text() for w in win.lane_widgets.values()))
    win.prompt.setPlainText("second question")
    wait_turn(qtbot, win)
    assert titles and not any(t.startswith("Model ") for t in titles)  # names from the first token
    assert "sighted — names shown since turn 1's reveal" in win.lanes.turn_header.text()
    win.vote(lanes[0].id)
    text = win.lane_widgets[lanes[0].id].answer.toPlainText()
    assert "first question" in text and "second question" in text
    vote = store.load(win.session.id).turns[-1].vote
    assert vote is not None and vote.sighted


def test_a_reopened_session_shows_its_figures(
    qtbot: QtBot, server: DemoServer, store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    model = "demo-fast@tps=200"
    config = parse_config(
        {
            "providers": {
                "chat": {"kind": "openai-chat", "base_url": server.openai_base_url, "needs_key": False}
            },
            "prices": {f"chat:{model}": {"input": 1.0, "output": 2.0}},
        }
    )
    win = MainWindow(Runner(config, KeyStore(), make_adapter), store=store)
    win.show()
    try:
        [lane] = add_lanes(win, f"chat:{model}")
        win.prompt.setPlainText("hi")
        wait_turn(qtbot, win)
        live = win.lane_widgets[lane.id].status.text()
        assert "ttft –" not in live and "tok/s" in live and "lane < $0.0001" in live
        session_id = win.session.id
        win.new_session()
        win.actions_.open_session(session_id)
        reopened = win.lane_widgets[win.session.lanes[0].id].status.text()
        # ttft, tok/s and the lane's total survive a reopen: the same line as when it streamed.
        assert reopened == live
    finally:
        close_window(qtbot, win)


def test_editing_or_removing_a_lane_never_rewrites_history(
    qtbot: QtBot, runner: Runner, store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    from chatlab.core.data.export import document, parse_document, session_dict
    from chatlab.core.data.model import Lane

    win = MainWindow(runner, store=store, edit_lane=lambda _w, _lane: Lane("chat", "echo", label="now echo"))
    win.show()
    try:
        reasoner, fast = add_lanes(win, "chat:demo-reasoner@tps=0", "claude:demo-fast@tps=0")
        win.prompt.setPlainText("Write a haiku.")
        wait_turn(qtbot, win)
        win.actions_.edit_lane(reasoner.id)  # a new model for this position, from the next turn on
        win.lab.remove_lane(fast.id)
        assert [lane.model for lane in win.session.lanes] == ["echo"]
        win.prompt.setPlainText("again")
        wait_turn(qtbot, win)
        for session in (win.session, store.load(win.session.id)):  # in memory and reopened
            d = session_dict(session)
            lanes = {lane["id"]: lane for lane in d["lanes"]}
            first, second = d["turns"]
            by_model = {lanes[r["lane_id"]]["model"]: r for r in first["responses"]}
            # The haiku is still the reasoner's, and the fast lane's answer is still there.
            assert "Tin roof" in by_model["demo-reasoner@tps=0"]["text"]
            assert "Rain on the tin roof" in by_model["demo-fast@tps=0"]["text"]
            assert lanes[reasoner.id].get("retired") and lanes[fast.id].get("retired")
            assert [lanes[r["lane_id"]]["model"] for r in second["responses"]] == ["echo"]
            assert parse_document(document([session]))  # the export validates and re-imports
        assert [lane.model for lane in store.load(win.session.id).lanes] == ["echo"]
    finally:
        close_window(qtbot, win)


def said(widget: QWidget) -> list[str]:
    """Everything a widget shows or tells assistive technology."""
    out = [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription(), widget.statusTip()]
    out.append(widget.whatsThis())
    if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
        out.append(widget.text())
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        out.append(widget.toPlainText())
    return out


def window_texts(win: MainWindow) -> list[str]:
    """The walk: every visible widget's text and tooltip, the window's title and status
    bar, and every action's words (menus: a lane's More menu, New session, Export)."""
    texts = [win.windowTitle(), win.statusBar().currentMessage()]
    for widget in win.findChildren(QWidget):
        if widget.isVisibleTo(win):
            texts += said(widget)
    for action in win.findChildren(QAction):
        texts += [action.text(), action.toolTip(), action.statusTip()]
    return texts


def test_nothing_on_screen_says_who_is_who_while_masked(saving_window: MainWindow, qtbot: QtBot) -> None:
    win = saving_window
    lanes = add_lanes(
        win,
        "chat:demo-reasoner@tps=0",
        "responses:demo-hidden@tps=0,think_delay_s=0",
        "claude:demo-fast@tps=0",
    )
    for lane, label in zip(lanes, ("Alpha-label", "Beta-label", "Gamma-label"), strict=True):
        lane.label = label
    lanes[2].params = LaneParams(think="prompted")  # asked to think: its kind is no clue either
    win.prompt_area.blind_check.setChecked(True)
    win.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, win)
    turn = win.session.turns[-1]
    assert turn.vote is None and turn.shown_order is not None
    identity = {
        "demo-reasoner",
        "demo-hidden",
        "demo-fast",
        "claude",
        "Alpha-label",
        "Beta-label",
        "Gamma-label",
        "prompted",  # the lane's parameter chip
        "trained reasoner",  # and the kinds the reveal shows
        "asked to think",
    }
    identity |= {lane.spec for lane in lanes}

    win.prompt.setPlainText("And now a limerick.")  # the next prompt's estimate must not name them
    win.update_estimates()
    leaks = [t for t in window_texts(win) for name in identity if name in t]
    assert leaks == []
    # Without show reasoning, no reasoning shows while masked (the option was not taken).
    assert not win.session.show_reasoning and not win.prompt_area.reasoning_check.isChecked()
    assert not any(w.reasoning_toggle.isVisibleTo(win) for w in win.lane_widgets.values())
    # The vote bar and the reasoning guess use the headers' names, in the shown order.
    assert [win.vote_bar.buttons[x].text() for x in turn.shown_order] == ["Model A", "Model B", "Model C"]
    assert [win.vote_bar.guesses[x].text() for x in turn.shown_order] == ["Model A", "Model B", "Model C"]
    assert not win.reveal.isVisibleTo(win)
    assert not win.toolbar.export_button.isEnabled() and not win.toolbar.export_all_action.isEnabled()
    # Ctrl+1…3 follow the shown order: Ctrl+1 is Model A.
    for position, lane_id in enumerate(turn.shown_order):
        win.lanes.focus_lane(position)
        shown = win.lanes.splitter.widget(position)
        assert shown is win.lane_widgets[lane_id] and shown.title.text() == f"Model {chr(65 + position)}"
        assert shown.toolTip() == ""  # no tooltip: it once named the model and its shortcut
    # After the vote, the reveal says which kind each was.
    win.vote_bar.buttons["tie"].click()
    win.vote_bar.buttons["tie"].click()  # a click selects, the same click again votes
    card = win.reveal.reveal
    assert card is not None and win.reveal.isVisibleTo(win)
    assert {row.lane_id: row.kind for row in card.rows} == {
        lanes[0].id: "native",
        lanes[1].id: "native",
        lanes[2].id: "prompted",
    }
    words = [label.text() for label in win.reveal.findChildren(QLabel) if label.isVisibleTo(win)]
    assert words.count("trained reasoner") == 2 and words.count("asked to think") == 1


def test_the_demo_prompt_is_saved_only_once_the_user_acts(
    saving_window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    win = saving_window
    lanes = add_lanes(win, "chat:demo-reasoner@tps=0", "claude:demo-fast@tps=0")
    win.prompt.setPlainText("Write a haiku.")
    with qtbot.waitSignal(win.turnFinished, timeout=60_000, check_params_cb=lambda *_: not win.lab.runs):
        win.send(keep=False)  # what the app does at a demo launch
    assert store.ids() == []  # launching the demo again and again adds nothing
    win.vote(lanes[0].id)
    [saved] = [store.load(i) for i in store.ids()]
    turn = saved.turns[0]
    assert turn.vote is not None and turn.vote.choice == lanes[0].id
    assert "Tin roof" in turn.responses[lanes[0].id].text and turn.responses[lanes[1].id].status.finished


def card_walk(card: LaneWidget, win: MainWindow) -> list[tuple[object, ...]]:
    """A lane card as the walk sees it, with its own content put aside (the answer, the
    reasoning text, the letter): each widget's kind, whether it shows, is on, is
    checked, and every word it shows or tells assistive technology. Alike cards give
    the same list."""
    letter = card.blind_letter or ""
    content = (card.answer, card.reasoning)
    out: list[tuple[object, ...]] = []
    for widget in [card, *card.findChildren(QWidget)]:
        if any(widget is view or view.isAncestorOf(widget) for view in content):
            out.append(("content", widget is card.reasoning and widget.isVisibleTo(win)))
            continue
        checked = widget.isChecked() if isinstance(widget, QAbstractButton) else None
        words = tuple(t.replace(f"Model {letter}", "Model ?") for t in said(widget))
        out.append((type(widget).__name__, widget.objectName(), widget.isVisibleTo(win), checked, words))
    return out


def test_show_reasoning_shows_every_lanes_reasoning_alike_and_nothing_else_tells(
    saving_window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    win = saving_window
    lanes = add_lanes(
        win,
        "chat:demo-reasoner@tps=0",  # reasons, and sends its reasoning
        "responses:demo-hidden@tps=0,think_delay_s=0",  # reasons, and sends a count only
        "claude:demo-fast@tps=0",  # does not reason
    )
    for lane, label in zip(lanes, ("Alpha-label", "Beta-label", "Gamma-label"), strict=True):
        lane.label = label
    area = win.prompt_area
    assert not area.reasoning_check.isEnabled()  # a blind option: off until Blind is on
    area.blind_check.setChecked(True)
    assert area.reasoning_check.isEnabled() and not area.reasoning_check.isChecked()
    area.reasoning_check.setChecked(True)
    assert win.session.show_reasoning
    seen_while_streaming: set[tuple[str, ...]] = set()

    def snapshot(_lane_id: str) -> None:
        if win.lab.busy:  # nothing streams into view, the reasoning neither
            cards = win.lane_widgets.values()
            seen_while_streaming.add(
                tuple(c.reasoning.toPlainText() + c.reasoning_toggle.text() for c in cards)
            )

    win.laneFlushed.connect(snapshot)
    win.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, win)
    assert seen_while_streaming == {("Reasoning ▾",) * 3}
    assert not area.reasoning_check.isEnabled() and area.reasoning_check.isChecked()  # set before the send
    turn = win.session.turns[-1]
    reasoner, hidden, plain = (turn.responses[lane.id] for lane in lanes)
    assert reasoner.reasoning_chars and hidden.hidden_reasoning and not plain.usage.reasoning_tokens
    cards = [win.lane_widgets[lane.id] for lane in lanes]
    # The reasoning text itself is shown; the hidden reasoner and the plain model read alike.
    assert all(c.reasoning.isVisibleTo(win) and c.reasoning_toggle.isChecked() for c in cards)
    assert cards[0].reasoning.toPlainText().startswith("The user wants a haiku")
    assert cards[1].reasoning.toPlainText() == cards[2].reasoning.toPlainText() == "reasoning not shown"
    assert {c.reasoning_toggle.text() for c in cards} == {"Reasoning ▾"}

    win.prompt.setPlainText("And now a limerick.")
    win.update_estimates()
    texts = window_texts(win)
    identity = {
        "demo-reasoner",
        "demo-hidden",
        "demo-fast",
        "claude",
        "Alpha-label",
        "Beta-label",
        "Gamma-label",
    }
    identity |= {lane.spec for lane in lanes}
    assert [t for t in texts for name in identity if name in t] == []
    # No token count, and no word that says how a reasoning came (or didn't).
    counts = {f"{r.usage.reasoning_tokens:,}" for r in (reasoner, hidden)} | {"412"}
    trace = cards[0].reasoning.toPlainText()
    assert [t for t in texts if t != trace and any(n in t for n in counts)] == []
    words = ("token", "hidden", "not returned", "summary", "redacted", "thought", "≈", "$")
    lane_texts = [t for c in (*cards, win.vote_bar) for w in [c, *c.findChildren(QWidget)] for t in said(w)]
    lane_texts = [t for t in lane_texts if t and t != trace]
    assert [t for t in lane_texts if any(w in t.lower() for w in words)] == []
    assert [t for t in lane_texts if re.search(r"\d\s*(ms|s|min)\b", t)] == []  # no timing either
    # Card by card, with its own answer, reasoning and letter put aside, the same walk:
    # the same widgets shown, the same fold, the same words and tooltips.
    walks = [card_walk(c, win) for c in cards]
    assert walks[0] == walks[1] == walks[2]
    # The guess is about the thinking.
    assert any(t.startswith("Which of these was trained to reason?") for t in texts)
    assert (
        win.vote_bar.guesses[lanes[0].id].toolTip().endswith("trained to reason, not one prompted to think")
    )

    # Reopened from the history before the vote: still masked, still alike.
    session_id = win.session.id
    win.new_session()
    win.actions_.open_session(session_id)
    assert win.lab.masked
    cards = [win.lane_widgets[lane.id] for lane in lanes]
    assert [c.reasoning.toPlainText() for c in cards] == [trace, "reasoning not shown", "reasoning not shown"]
    walks = [card_walk(c, win) for c in cards]
    assert walks[0] == walks[1] == walks[2] and len(walks[0]) > 20

    win.vote_bar.guesses[lanes[0].id].setChecked(True)
    win.vote_bar.guesses[lanes[1].id].setChecked(True)
    win.vote_bar.buttons["tie"].click()
    win.vote_bar.buttons["tie"].click()  # a click selects, the same click again votes
    saved = store.load(win.session.id).turns[-1].vote
    # What is recorded is the list of lanes named, as ever.
    assert saved is not None and sorted(saved.guessed or []) == sorted([lanes[0].id, lanes[1].id])
    assert win.reveal.guess.text() == "Your guess of which were trained to reason: right ✓"
    # Revealed, each lane is itself again: the hidden reasoner's count, the plain lane's nothing.
    assert cards[1].reasoning_toggle.text().startswith("412 reasoning tokens, text not returned")
    assert not cards[2].reasoning_toggle.isVisibleTo(win)


def test_a_grade_is_hidden_until_the_vote_then_a_badge_with_its_detail(
    saving_window: MainWindow, qtbot: QtBot
) -> None:
    from chatlab.core.data.model import Grade

    win = saving_window
    right, wrong = add_lanes(win, "chat:demo-reasoner@tps=0", "claude:demo-fast@tps=0")
    win.prompt_area.blind_check.setChecked(True)
    win.prompt.setPlainText("What is 6 × 7?")
    wait_turn(qtbot, win)
    turn = win.session.turns[-1]
    # As a study grades a keyed prompt's answers the moment they end.
    turn.responses[right.id].grades = [Grade(True, "expected 42, found it")]
    turn.responses[wrong.id].grades = [Grade(False, "expected 42, found 41")]
    for widget in win.lane_widgets.values():
        widget.update_status()
    masked = " ".join(window_texts(win))
    for word in ("✓", "✗", "wrong", "answer key", "expected 42"):
        assert word not in masked
    win.vote_bar.buttons["tie"].click()
    win.vote_bar.buttons["tie"].click()  # a click selects, the same click again votes
    labels = {
        lane.id: {x.text(): x.toolTip() for x in win.lane_widgets[lane.id].status.findChildren(QLabel)}
        for lane in (right, wrong)
    }
    assert labels[right.id]["✓ right"] == "answer key: expected 42, found it"
    assert labels[wrong.id]["✗ wrong"] == "answer key: expected 42, found 41"
    assert "✓ right" in win.lane_widgets[right.id].status.text()
