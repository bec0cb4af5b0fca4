"""The Leaderboard view: computed in a worker from a rated study, the table, findings
and four charts filled, filters recomputing, cached results shown at once, and each
chart saved as PNG and SVG."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from pytestqt.qtbot import QtBot

from chatlab.core.studies.rating import RatingQueue
from chatlab.store.db import Store
from chatlab.ui.results.leaderboard import LeaderboardView
from tests.core.studies.test_rating import SUITE, answered


def rated_store(tmp_path: Path) -> Store:
    from chatlab.core.studies.study import suite_data
    from chatlab.core.studies.suites import parse_suite

    store = Store(tmp_path / "l.db")
    store.create_study("study1", "Queue test", suite_data(parse_suite(SUITE)), answered())
    queue = RatingQueue(store.study_sessions("study1"), "ann", sink=store)
    while (item := queue.current) is not None:
        thinker = next(i for i, lane in enumerate(item.lanes) if item.session.lane(lane).label == "Thinker")
        queue.vote(thinker, guessed=[thinker])
    return store


def computed_view(qtbot: QtBot, tmp_path: Path) -> tuple[Store, LeaderboardView]:
    """A Leaderboard over :func:`rated_store`, its first computation finished."""
    store = rated_store(tmp_path)
    view = LeaderboardView(store)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.doc is not None and view.doc.votes == 10, timeout=20_000)
    qtbot.waitUntil(functools.partial(computed, view), timeout=20_000)
    return store, view


def test_the_leaderboard_fills_filters_and_saves_its_charts(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    store = rated_store(tmp_path)
    view = LeaderboardView(store)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.doc is not None and view.doc.votes == 10, timeout=20_000)
    assert view.table.rowCount() == 3
    first = view.table.item(0, 1)
    assert first is not None and first.text().startswith("Thinker")
    assert "Could you tell which one reasoned?" in view.details.text()
    for name in ("Ratings", "Could you tell?"):
        figure = view.views[name].figure  # type: ignore[attr-defined]
        assert figure.marks, name
    ratings = view.views["Ratings"].figure  # type: ignore[attr-defined]
    assert ratings.y.categories[-1].startswith("Thinker")  # best at the top
    guess = view.views["Could you tell?"].figure  # type: ignore[attr-defined]
    # Several answers reasoned in each vote: a single guess is right when it names any
    # of them, at their share of chance, so the guesses have an interval of their own.
    assert guess.title == "Could you tell which one reasoned?"
    assert any(m.label.startswith("your guesses: ") for m in guess.marks)
    assert view.views["Win rates"].matrix  # type: ignore[attr-defined]
    # A filter nobody matches: no votes; back to all: the cached result at once.
    view.raters.setText("nobody")
    view.refresh()
    qtbot.waitUntil(lambda: view.doc is not None and view.doc.votes == 0, timeout=20_000)
    assert "No votes match" in view.details.text()
    view.raters.setText("")
    view.refresh()
    assert view.doc is not None and view.doc.votes == 10  # shown before the recompute ends
    for name in view.views:
        for kind in ("PNG", "SVG"):
            saved = view.save_chart(
                name, kind, str(tmp_path / f"{name.replace(' ', '_').strip('?')}.{kind.lower()}")
            )
            assert saved is not None and saved.stat().st_size > 500
    svg = (tmp_path / "Ratings.svg").read_text("utf-8")
    assert "<svg" in svg and "Thinker" in svg
    qtbot.waitUntil(lambda: view.task is None or view.task.done(), timeout=20_000)
    store.close()


def test_ctrl_w_closes_the_leaderboard_and_ctrl_q_quits_from_it(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    # The offscreen platform never makes a window active, so the shortcut is found by
    # its key and fired as Qt would fire it.
    from PySide6.QtGui import QKeySequence, QShortcut
    from PySide6.QtWidgets import QMainWindow

    store = rated_store(tmp_path)
    main = QMainWindow()
    qtbot.addWidget(main)
    main.show()
    for key, main_open in (("Ctrl+W", True), ("Ctrl+Q", False)):
        view = LeaderboardView(store, main)
        view.show()
        [shortcut] = [s for s in view.findChildren(QShortcut) if s.key() == QKeySequence(key)]
        shortcut.activated.emit()
        assert not view.isVisible()
        assert main.isVisible() == main_open
        qtbot.waitUntil(functools.partial(computed, view), timeout=20_000)
    store.close()


def computed(view: LeaderboardView) -> bool:
    return view.task is None or view.task.done()


def test_the_leaderboard_says_how_many_sighted_votes_it_left_out(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    from chatlab.core.studies.study import suite_data
    from chatlab.core.studies.suites import parse_suite

    store = Store(tmp_path / "l.db")
    store.create_study("study1", "Queue test", suite_data(parse_suite(SUITE)), answered())
    sessions = store.study_sessions("study1")
    # Exported with their names for ann (export --study … --unblind): her votes are sighted.
    store.mark_sighted([s.turns[0].id for s in sessions], "ann")
    queue = RatingQueue(sessions, "ann", sink=store)
    while queue.current is not None:
        queue.vote(0)
    view = LeaderboardView(store)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.doc is not None and view.doc.sighted_left_out == 10, timeout=20_000)
    qtbot.waitUntil(functools.partial(computed, view), timeout=20_000)
    assert view.doc is not None and view.doc.votes == 0
    assert "10 votes made with names showing left out" in view.status.text()
    store.close()


def test_a_study_that_showed_the_reasoning_charts_its_own_quiz() -> None:
    """The guess tab showed "No guesses yet" (or the answer quiz of other sessions)
    while the card reported the quiz on reasoning traces."""
    from chatlab.core.analysis.report import analyse, summary
    from chatlab.ui.results.figures import guess_chart
    from tests.core.analysis.test_guesses import comparison, guess

    sessions = [comparison(k, 3) for k in range(8)]
    for k, session in enumerate(sessions):
        guess(session, 0 if k % 4 else 1)
    report = analyse(sessions, rounds=50)
    assert report.discrimination is None and report.discrimination_reasoning is not None
    chart = guess_chart(report)
    assert chart.title == "Could you tell which reasoning was trained?"
    assert any(m.label == "your guesses: 6 of 8 right, line: 95 % interval" for m in chart.marks)
    assert not any(line.startswith("Could you tell which one reasoned? No vote") for line in summary(report))
