"""The history sidebar (issue 24, item 10): a study's comparisons folded under the study
with a count; the list follows the database, written by another chatlab, without a click,
keeping the selection and the folds; search hits read as plain text with their turn and
lane, name no model while the names are hidden, and open the session at the hit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QTextEdit, QTreeWidgetItem
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import Lane, Response, Session, Status, Turn
from chatlab.core.data.votes import Vote
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.studies.study import comparisons, suite_data
from chatlab.core.studies.suites import parse_suite
from chatlab.store.db import Store, default_path
from chatlab.ui.lab.sidebar import GROUP_ROLE, ID_ROLE, LANE_ROLE, TURN_ROLE, SessionSidebar
from chatlab.ui.lab.window import MainWindow
from tests.ui.conftest import close_window

SUITE = {
    "name": "Sky study",
    "samples": 2,
    "seed": 3,
    "prompts": [{"id": f"p{i}", "text": f"Question {i}: why is the sky blue?"} for i in range(3)],
    "lanes": [
        {"provider": "demo", "model": "zz-alpha-model", "label": "Alphalabel"},
        {"provider": "demo", "model": "zz-beta-model", "label": "Betalabel"},
    ],
}


def sidebar_for(qtbot: QtBot, store: Store, rater: str = "me") -> SessionSidebar:
    bar = SessionSidebar(store, rater=lambda: rater)
    qtbot.addWidget(bar, before_close_func=lambda _w: bar.stop())
    bar.resize(320, 700)
    bar.show()
    return bar


def study(store: Store, answered: bool = False) -> list[Session]:
    suite = parse_suite(SUITE)
    sessions = comparisons(suite, "st1", "Sky study")
    if answered:
        for s in sessions:
            for lane in s.lanes:
                text = f"The **Rayleigh** answer of {lane.model}"
                s.turns[0].responses[lane.id] = Response(lane.id, status=Status.OK, text_parts=[text])
    store.create_study("st1", "Sky study", suite_data(suite), sessions)
    return sessions


def chat(
    prompts_answers: list[tuple[str, str]], title: str = "", blind: bool = False, label: str = ""
) -> Session:
    lanes = [Lane("demo", "zz-gamma-model", label=label), Lane("demo", "zz-delta-model")]
    session = Session(lanes=lanes, title=title or prompts_answers[0][0], blind=blind)
    for prompt, answer in prompts_answers:
        turn = Turn(prompt=prompt)
        for x in lanes:
            turn.responses[x.id] = Response(x.id, status=Status.OK, text_parts=[f"{answer} ({x.model})"])
        if blind:
            turn.shown_order = [lanes[1].id, lanes[0].id]
        session.turns.append(turn)
    return session


def hit_labels(bar: SessionSidebar) -> list[str]:
    out = []
    for item in bar.top_items():
        label = bar.tree.itemWidget(item, 0)
        out.append(label.text() if isinstance(label, QLabel) else item.text(0))
    return out


def click(bar: SessionSidebar, item: QTreeWidgetItem) -> None:
    rect = bar.tree.visualItemRect(item)
    QTest.mouseClick(bar.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_study_is_one_folded_group_with_its_count(qtbot: QtBot, store: Store) -> None:
    older = chat([("An older chat", "yes")])
    store.save_session(older)
    study(store)  # 3 prompts × 2 samples
    newer = chat([("A newer chat", "no")])
    store.save_session(newer)
    bar = sidebar_for(qtbot, store)
    items = bar.top_items()
    assert [item.data(0, ID_ROLE) or item.data(0, GROUP_ROLE) for item in items] == [
        newer.id,
        "st1",
        older.id,
    ]
    group = items[1]
    assert group.text(0) == "6 · Sky study" and group.childCount() == 6 and not group.isExpanded()
    assert all(child.data(0, ID_ROLE) for child in bar.members(group))
    # Inside, the suite's order: prompt, then sample.
    titles = [child.text(0).split("\n")[0] for child in bar.members(group)]
    assert titles == [f"p{p} · {n}" for p in range(3) for n in (1, 2)]  # the study named once, above
    # A click unfolds it (and opens nothing); a session in it opens with a click.
    with qtbot.assertNotEmitted(bar.openRequested):
        click(bar, group)
    assert group.isExpanded() and bar.open_studies == {"st1"}
    first = bar.members(group)[0]
    with qtbot.waitSignal(bar.openRequested) as opened:
        click(bar, first)
    assert opened.args == [first.data(0, ID_ROLE)]
    # Rename, Delete and Duplicate act on the selected session, never on a group.
    with qtbot.waitSignal(bar.renameRequested) as renamed:
        bar.rename_button.click()
    assert renamed.args == [first.data(0, ID_ROLE)]
    bar.tree.setCurrentItem(group)
    with qtbot.assertNotEmitted(bar.deleteRequested):
        bar.delete_button.click()


def test_the_list_follows_another_chatlab_and_keeps_folds_and_selection(
    qtbot: QtBot, store: Store, tmp_path: Path
) -> None:
    study(store)
    mine = chat([("Mine", "here")])
    store.save_session(mine)
    bar = sidebar_for(qtbot, store)
    group = next(item for item in bar.top_items() if item.data(0, GROUP_ROLE))
    group.setExpanded(True)
    picked = bar.members(group)[2]
    bar.tree.setCurrentItem(picked)
    picked_id = picked.data(0, ID_ROLE)
    # Nothing written: the poll asks, and draws nothing again.
    bar.poll()
    assert shiboken6.isValid(picked) and bar.tree.currentItem() is picked
    # Another chatlab (another connection) saves a session and adds a study.
    other = Store(default_path())
    try:
        theirs = chat([("Written by the other chatlab", "there")])
        other.save_session(theirs)
        suite = parse_suite({**SUITE, "name": "Second study"})
        other.create_study(
            "st2", "Second study", suite_data(suite), comparisons(suite, "st2", "Second study")
        )
    finally:
        other.close()
    qtbot.waitUntil(
        lambda: any(item.data(0, ID_ROLE) == theirs.id for item in bar.top_items()), timeout=10_000
    )
    qtbot.waitUntil(
        lambda: any(item.data(0, GROUP_ROLE) == "st2" for item in bar.top_items()), timeout=10_000
    )
    groups = {item.data(0, GROUP_ROLE): item for item in bar.top_items() if item.data(0, GROUP_ROLE)}
    assert groups["st1"].isExpanded() and not groups["st2"].isExpanded()  # folds kept, the new one folded
    assert groups["st2"].text(0) == "6 · Second study"
    current = bar.tree.currentItem()
    assert current is not None and current.data(0, ID_ROLE) == picked_id  # the selection kept
    # The poll stops with the sidebar (a closed store is never read).
    bar.stop()
    assert not bar._poll.isActive()


def test_hits_are_plain_text_with_their_turn_and_lane(qtbot: QtBot, store: Store) -> None:
    answer = (
        "# Zanzibar\n\nThe **Zanzibar** spice: see [Zanzibar](https://example.com/z) or `zanzibar --help`."
    )
    session = chat([("First question", "nothing here"), ("Second question", answer)], label="Gammalabel")
    store.save_session(session)
    bar = sidebar_for(qtbot, store)
    bar.search.setText("zanzibar")
    bar.refresh()
    labels = hit_labels(bar)
    assert len(labels) == 2  # one hit per lane's answer, told apart by their lane
    assert any("Turn 2 · Gammalabel" in t for t in labels)
    assert any("Turn 2 · demo:zz-delta-model" in t for t in labels)
    for text in labels:
        assert "<b>Zanzibar</b>" in text
        for mark in ("**", "# ", "`", "](", "https://", "[Zanzibar"):
            assert mark not in text
    accessible = [item.data(0, Qt.ItemDataRole.AccessibleTextRole) for item in bar.top_items()]
    assert all(a.startswith("First question · Turn 2 · ") and "\x02" not in a for a in accessible)
    bar.search.setText("second")
    bar.refresh()
    assert ["Turn 2 · prompt" in t for t in hit_labels(bar)] == [True]


def test_a_hidden_hit_names_no_model(qtbot: QtBot, store: Store) -> None:
    blind = chat([("Blind question", "Kumquat answer")], blind=True, label="Gammalabel")
    store.save_session(blind)
    study(store, answered=True)
    bar = sidebar_for(qtbot, store, rater="me")
    identity = ("Gammalabel", "zz-gamma", "zz-delta", "Alphalabel", "Betalabel", "demo:", "Lane ")

    def hits(query: str) -> list[str]:
        bar.search.setText(query)
        bar.refresh()
        # The answers themselves say their model here, on purpose: only the place is checked.
        return [text.split("<br>")[1] for text in hit_labels(bar)]

    places = hits("kumquat")
    # As the turn was shown: lane 2 first, as Model A.
    assert sorted(places) == ["<i>Turn 1 · Model A</i></small>", "<i>Turn 1 · Model B</i></small>"]
    assert not any(name in place for place in places for name in identity)
    study_places = hits("rayleigh")
    assert len(study_places) == 12 and set(study_places) == {"<i>Turn 1 · an answer</i></small>"}
    # Another rater's vote unmasks nothing for this one.
    blind.turns[0].cast(Vote(choice="tie", rater="someone-else"))
    store.save_session(blind)
    assert not any(name in place for place in hits("kumquat") for name in identity)
    # This rater's vote: the names are back.
    blind.turns[0].cast(Vote(choice="tie", rater="me"))
    store.save_session(blind)
    assert sorted(hits("kumquat")) == [
        "<i>Turn 1 · Gammalabel</i></small>",
        "<i>Turn 1 · demo:zz-delta-model</i></small>",
    ]


def test_a_click_on_a_hit_asks_for_its_session_turn_and_lane(qtbot: QtBot, store: Store) -> None:
    session = chat([("First", "plain"), ("Second", "a walrus appears")])
    store.save_session(session)
    bar = sidebar_for(qtbot, store)
    bar.search.setText("walrus")
    bar.refresh()
    item = bar.top_items()[0]
    with qtbot.waitSignal(bar.hitRequested) as hit, qtbot.assertNotEmitted(bar.openRequested):
        click(bar, item)
    assert hit.args == [session.id, session.turns[1].id, item.data(0, LANE_ROLE)]
    assert (
        item.data(0, TURN_ROLE) == session.turns[1].id
        and item.data(0, LANE_ROLE) in session.turns[1].responses
    )


def divider_top(view: QTextEdit, number: int) -> int:
    """Where a lane's "Turn N" divider starts, in its document."""
    cursor = view.document().find(f"─── Turn {number} ───")
    assert not cursor.isNull()
    return int(view.document().documentLayout().blockBoundingRect(cursor.block()).top())


def narwhal_hit(
    qtbot: QtBot, runner: Runner, store: Store, answers: list[str]
) -> tuple[MainWindow, Session, QTextEdit]:
    """A window at 1280×800 over a three-turn session whose lanes answer ``answers`` (one
    holds "narwhal"), the history searched for it and the second lane's hit clicked:
    the window, the session, and that lane's answer view."""
    session = chat(list(zip(("First", "Second", "Third"), answers, strict=True)))
    store.save_session(session)
    win = MainWindow(runner, store=store, rater="tester")
    win.resize(1280, 800)
    win.show()
    bar = win.sidebar
    assert bar is not None
    bar.search.setText("narwhal")
    bar.refresh()
    item = next(i for i in bar.top_items() if i.data(0, LANE_ROLE) == session.lanes[1].id)
    click(bar, item)
    assert win.session.id == session.id
    return win, session, win.lane_widgets[session.lanes[1].id].answer


def test_the_window_opens_a_hit_at_its_turn(
    qtbot: QtBot, runner: Runner, store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    long = "\n\n".join(f"Paragraph {i} of a long answer." for i in range(60))
    win, session, view = narwhal_hit(qtbot, runner, store, [long, long, f"the narwhal {long}"])
    try:
        bar = win.sidebar
        assert bar is not None
        top = divider_top(view, 3)
        assert top > 1000 and view.verticalScrollBar().value() == min(top, view.verticalScrollBar().maximum())
        # A hit in an earlier turn of the session shown: it scrolls there.
        bar.search.setText("paragraph")
        bar.refresh()
        first = next(i for i in bar.top_items() if i.data(0, TURN_ROLE) == session.turns[0].id)
        click(bar, first)
        view = win.lane_widgets[first.data(0, LANE_ROLE)].answer
        assert view.verticalScrollBar().value() == divider_top(view, 1) < 20
    finally:
        close_window(qtbot, win)


def test_a_hit_in_an_earlier_turn_of_another_session_opens_there_and_stays(
    qtbot: QtBot, runner: Runner, store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    """Opening a session shows its latest turn; a hit in its turn 2 must win over that, also
    once the session's layout has settled (it was opened at turn 3 on the first click)."""
    long = "\n\n".join(f"Paragraph {i} of a long answer." for i in range(60))
    win, _session, view = narwhal_hit(qtbot, runner, store, [long, f"the narwhal {long}", long])
    try:
        target = divider_top(view, 2)
        assert 1000 < target < divider_top(view, 3)
        win.render_pending_finals()
        win.resize(1200, 760)  # the layout settles and reflows: the hit stays on top
        qtbot.waitUntil(lambda: view.verticalScrollBar().value() == divider_top(view, 2))
        win.resize(1280, 800)
        qtbot.waitUntil(lambda: view.verticalScrollBar().value() == divider_top(view, 2))
    finally:
        close_window(qtbot, win)
