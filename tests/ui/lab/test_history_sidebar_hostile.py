"""The history sidebar under hostile input: answers whose hits are HTML and Markdown
floods (shown as text, nothing loaded), FTS5 syntax typed in the search box, a study
name or title with line breaks, bidi overrides and tags, a session deleted by another
chatlab while its hit is shown and then clicked, another writer holding its transaction
during the poll, and thousands of sessions (a poll with nothing changed reads no list)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from PySide6.QtGui import Qt as QtGui_Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from chatlab.core.lab.orchestrator import Runner
from chatlab.core.studies.study import comparisons, suite_data
from chatlab.core.studies.suites import parse_suite
from chatlab.store.db import Store
from chatlab.store.sessions import SessionSummary
from chatlab.ui.lab.sidebar import GROUP_ROLE, ID_ROLE, SessionSidebar
from chatlab.ui.lab.window import MainWindow
from tests.ui.conftest import close_window
from tests.ui.lab.test_history_sidebar import SUITE, chat, click, sidebar_for


def hit_labels(bar: SessionSidebar) -> list[QLabel]:
    labels = [bar.tree.itemWidget(item, 0) for item in bar.top_items()]
    return [x for x in labels if isinstance(x, QLabel)]


def test_html_in_an_answer_shows_as_text_and_loads_nothing(qtbot: QtBot, store: Store) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.setblocking(False)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/leak.png"
        answers = [
            f'<img src="{url}"> walrus',
            f"<script>fetch('{url}')</script> walrus",
            f"![alt]({url}) walrus",
            f"&lt;img src={url}&gt; walrus",
            f'walrus <a href="{url}">x</a> <style>*{{background:url({url})}}</style>',
        ]
        for answer in answers:
            store.save_session(chat([("p", answer)]))
        bar = sidebar_for(qtbot, store)
        bar.search.setText("walrus")
        bar.refresh()
        labels = hit_labels(bar)
        assert len(labels) == 2 * len(answers)  # two lanes each
        for label in labels:
            label.grab()  # laid out and painted
            shown = label.text()
            for tag in ("<img", "<script", "<a ", "<style", "<IMG"):
                assert tag not in shown
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected


def test_fts_syntax_typed_in_the_search_box_is_searched_as_words(qtbot: QtBot, store: Store) -> None:
    store.save_session(chat([("p", 'NEAR(sky blue) "quoted" -minus OR * star')]))
    bar = sidebar_for(qtbot, store)
    for query in ['"', '"unbalanced', "NEAR(", "*", "-", "OR", "AND", "(", "body:", "\x00", "\ud800"]:
        bar.search.setText(query)
        bar.refresh()
        texts = [item.text(0) for item in bar.top_items()]
        assert "Search failed" not in texts, query
    bar.search.setText("NEAR(")
    bar.refresh()
    assert len(hit_labels(bar)) == 2 and "<b>NEAR</b>" in hit_labels(bar)[0].text()


HOSTILE_NAME = "Evil\nstudy\r\n\u202e<b>gnp.exe</b>\u202c " + "x" * 3000


def test_a_study_name_with_breaks_bidi_and_tags_is_one_plain_line(qtbot: QtBot, store: Store) -> None:
    """A study's name comes from a suite or a rating pack someone else wrote."""
    suite = parse_suite(SUITE)
    store.create_study("st1", HOSTILE_NAME, suite_data(suite), comparisons(suite, "st1", HOSTILE_NAME))
    bar = sidebar_for(qtbot, store)
    [group] = [item for item in bar.top_items() if item.data(0, GROUP_ROLE)]
    text = group.text(0)
    assert "\n" not in text and "\r" not in text
    assert "\u202e" not in text and "\\u202e" in text
    assert len(text) < 300 and text.startswith("6 · ")
    tip = group.toolTip(0)
    assert not QtGui_Qt.mightBeRichText(tip) or "&lt;b&gt;" in tip  # shown as the characters it is
    bar.resize(320, 700)
    assert bar.tree.visualItemRect(group).height() < 80
    assert bar.sizeHint().width() < 1000


def test_a_hit_in_a_session_deleted_by_another_chatlab_is_said_not_raised(
    qtbot: QtBot, runner: Runner, store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    gone = chat([("First", "a narwhal here")])
    store.save_session(gone)
    win = MainWindow(runner, store=store, rater="tester")
    win.resize(1280, 800)
    win.show()
    try:
        bar = win.sidebar
        assert bar is not None
        bar.search.setText("narwhal")
        bar.refresh()
        item = bar.top_items()[0]
        other = Store(store.path)
        try:
            other.delete(gone.id)
        finally:
            other.close()
        with qtbot.waitSignal(win.actions_.said) as said:
            click(bar, item)
        assert "Could not open the session" in said.args[0]
        assert win.session.id != gone.id
        # The next poll sees the deletion: the hit goes.
        bar.poll()
        qtbot.waitUntil(lambda: not hit_labels(bar))
    finally:
        close_window(qtbot, win)


def test_another_writer_holding_its_transaction_does_not_stall_the_poll(qtbot: QtBot, store: Store) -> None:
    store.save_session(chat([("committed", "yes")]))
    bar = sidebar_for(qtbot, store)
    other = sqlite3.connect(store.path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE sessions SET title = 'uncommitted'")
        start = time.perf_counter()
        bar.poll()
        bar.refresh()
        assert time.perf_counter() - start < 1
        assert bar.top_items()[0].text(0).startswith("committed")
        other.execute("COMMIT")
    finally:
        other.close()
    bar.poll()
    assert bar.top_items()[0].text(0).startswith("uncommitted")


def test_with_thousands_of_sessions_a_quiet_poll_reads_no_list(
    qtbot: QtBot, store: Store, tmp_path: Path
) -> None:
    for i in range(2000):
        store.save_session(chat([(f"prompt {i}", f"answer {i}")]))
    bar = sidebar_for(qtbot, store)
    assert len(bar.top_items()) == 2000
    reads: list[int] = []
    listing = store.sessions

    def counted() -> list[SessionSummary]:
        reads.append(1)
        return listing()

    store.sessions = counted  # type: ignore[method-assign]
    for _ in range(20):
        bar.poll()
    assert reads == []
    start = time.perf_counter()
    store.save_session(chat([("one more", "x")]))
    bar.poll()
    assert reads == [1] and len(bar.top_items()) == 2001
    assert time.perf_counter() - start < 5
    assert bar.top_items()[0].data(0, ID_ROLE)


def test_a_hostile_title_and_label_in_a_hit_stay_on_their_line(qtbot: QtBot, store: Store) -> None:
    session = chat(
        [("p", "the walrus")], title="Title\nwith\nbreaks \u202eevil", label="Lane\n<b>bold</b>\u202e"
    )
    store.save_session(session)
    bar = sidebar_for(qtbot, store)
    bar.search.setText("walrus")
    bar.refresh()
    shown = [label.text() for label in hit_labels(bar)]
    assert any("Title with breaks \\u202eevil" in t for t in shown)
    assert any("Lane &lt;b&gt;bold&lt;/b&gt;\\u202e" in t for t in shown)
    assert all("\u202e" not in t and "<b>bold" not in t for t in shown)
    bar.grab().save("/tmp/h24/hostile-sidebar-hits.png")


def test_a_database_another_program_broke_is_said_in_the_list_not_raised(qtbot: QtBot, store: Store) -> None:
    """Another program drops a table the list reads (a damaged or foreign database): the
    poll must neither raise in the window's timer nor stop the window."""
    store.save_session(chat([("fine", "yes")]))
    bar = sidebar_for(qtbot, store)
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("PRAGMA foreign_keys = OFF")
        other.execute("DROP TABLE studies")
    finally:
        other.close()
    bar.poll()
    texts = [item.text(0) for item in bar.top_items()]
    assert texts == ["The history can't be read"], texts
    bar.search.setText("fine")
    bar.refresh()
    assert [item.text(0) for item in bar.top_items()] == ["Search failed"]
