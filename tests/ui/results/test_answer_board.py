"""The Leaderboard says the answer: the answer card first (headline, then each section),
the table's kind and accuracy columns, contenders graded but never voted on, the sighted
box, rings for contenders without an interval (listed last), wins to one decimal, the
Details fold with its terms explained, one colour per contender everywhere, and the
dose-response chart. Sessions are built in code (tests/ui/results/boards.py), saved in
a real Store, and the view computes in its worker thread as it does for a user."""

from __future__ import annotations

import asyncio
import functools
import re
from pathlib import Path

from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from chatlab.core.analysis.card import answer_card, headline
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Lane, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Vote
from chatlab.store.db import Store
from chatlab.ui.results.card import HINT
from chatlab.ui.results.chart import Chart, Mark, Plot
from chatlab.ui.results.dose import EMPTY, DoseView
from chatlab.ui.results.leaderboard import LeaderboardView
from chatlab.ui.results.table import ACCURACY, CONTENDER, INTERVAL, KIND, WINS
from tests.ui.results.boards import BLIND, SIGHTED, board_store
from tests.ui.results.test_leaderboard import computed

DEEP, PLAIN, ASKED = "demo:m {reasoning_effort=high}", "demo:m", "demo:m {think=prompted}"
RARE, QUIZ = "demo:rare", "demo:quiz"


def opened(qtbot: QtBot, store: Store) -> LeaderboardView:
    """The Leaderboard on ``store``, shown, its first computation finished."""
    view = LeaderboardView(store)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: computed(view) and view.doc is not None, timeout=20_000)
    return view


def row_of(view: LeaderboardView, cid: str) -> int:
    return view.table.ids.index(cid)


def points(figure: Chart) -> dict[str, Mark]:
    return {m.key: m for m in figure.marks if m.kind == "points" and m.key}


def plot(view: LeaderboardView, name: str) -> Chart:
    widget = view.views[name]
    assert isinstance(widget, Plot)
    return widget.figure


def dose(view: LeaderboardView) -> DoseView:
    widget = view.views["More thinking?"]
    assert isinstance(widget, DoseView)
    return widget


def test_the_answer_card_comes_first_then_the_table_then_the_details(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    store = board_store(tmp_path / "b.db")
    view = opened(qtbot, store)
    assert view.doc is not None
    card = view.card
    assert card.headline.isVisible() and card.headline.font().bold()
    assert card.headline.text() == headline(view.doc)
    assert card.headline.text().startswith(
        "Where does reasoning help? Where answers can be checked, reasoning made a clear difference: "
        "Deep vs Plain +67 points"
    )
    headings = [h.text() for h in card.headings]
    assert headings == [s.heading for s in answer_card(view.doc)]
    assert headings[:2] == ["Reasoning: Deep vs Plain", "Reasoning: Asked vs Plain"]
    assert "Reasoning tokens per answer" in headings
    assert all(h.font().bold() for h in card.headings)
    assert "Asked: median ≈126" in card.text()  # an estimate stays marked
    assert card.hint.isHidden()  # a reasoning pair: nothing to ask for
    # Top to bottom: the card, the table, the Details fold.
    assert card.geometry().bottom() < view.table.geometry().top() < view.details.geometry().top()
    # The Details fold starts folded, and explains the terms its findings name.
    assert view.details.button.text().startswith("Details")
    assert not view.details.body.isVisible()
    text = view.details.text()
    assert "Krippendorff's alpha: how much raters agree beyond chance; 0 = coin flips" in text
    assert "χ² test: whether the place on screen" in text
    assert "Balanced accuracy:" in text
    assert text.count("p: how often chance alone") == 1  # a term explained once, where first named
    view.details.button.click()
    assert view.details.body.isVisible()
    assert any("Krippendorff's alpha -0.17" in f.text() for f in view.details.findings if f.isVisible())
    store.close()


def test_the_table_shows_kind_accuracy_and_who_was_only_graded(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    store = board_store(tmp_path / "b.db")
    view = opened(qtbot, store)
    table = view.table
    kinds = {cid: table.cell(row_of(view, cid), KIND) for cid in (DEEP, PLAIN, ASKED, RARE, QUIZ)}
    assert kinds == {
        DEEP: "trained reasoner",
        PLAIN: "plain",
        ASKED: "asked to think",
        RARE: "plain",
        QUIZ: "plain",
    }
    assert table.cell(row_of(view, DEEP), ACCURACY) == "4/6 · 67% (22%–96%)"
    assert table.cell(row_of(view, PLAIN), ACCURACY) == "0/6 · 0% (0%–46%)"
    # Quiz never met a vote: no rating, but its accuracy is listed, last.
    quiz = row_of(view, QUIZ)
    assert quiz == table.rowCount() - 1
    assert table.cell(quiz, CONTENDER).startswith("Quiz")
    assert table.cell(quiz, INTERVAL) == "no votes"
    assert table.cell(quiz, ACCURACY) == "3/6 · 50% (12%–88%)"
    # Wins to one decimal place, for every contender that was voted on.
    for cid in (DEEP, PLAIN, ASKED, RARE):
        assert re.fullmatch(r"\d+\.\d", table.cell(row_of(view, cid), WINS)), cid
    store.close()


def test_a_contender_on_too_few_prompts_is_a_ring_listed_last(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    store = board_store(tmp_path / "b.db")
    view = opened(qtbot, store)
    assert view.doc is not None
    voted = [c.id for c in view.doc.contenders]
    assert voted[-1] == RARE and view.table.ids[: len(voted)] == voted
    rare = row_of(view, RARE)
    assert view.table.cell(rare, 0) == "–"  # no rank
    assert view.table.cell(rare, INTERVAL) == "too few votes"
    why = view.table.item(rare, INTERVAL)
    assert why is not None and "on 3 prompts" in why.toolTip()
    ratings = plot(view, "Ratings")
    dots = points(ratings)
    assert dots[RARE].hollow
    assert not any(dots[cid].hollow for cid in (DEEP, PLAIN, ASKED))
    assert ratings.y.categories[0] == "Rare  (too few votes)"  # at the bottom: best at the top
    assert dots[RARE].xy[0][1] == 0
    assert "a ring: no interval" in ratings.x.title
    assert not [m for m in ratings.marks if m.kind == "bar" and m.key == RARE]  # no interval line
    store.close()


def test_the_sighted_box_counts_the_votes_made_with_names_showing(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    store = board_store(tmp_path / "b.db")
    view = opened(qtbot, store)
    assert view.doc is not None
    assert not view.sighted.isChecked()
    assert view.doc.votes == BLIND and view.doc.sighted_left_out == SIGHTED
    assert f"{SIGHTED} votes made with names showing left out" in view.status.text()
    view.sighted.setChecked(True)  # recomputes
    qtbot.waitUntil(lambda: computed(view) and view.doc is not None and view.doc.votes == BLIND + SIGHTED)
    assert view.doc.sighted_left_out == 0
    assert "left out" not in view.status.text() and "names showing included" in view.status.text()
    assert "sighted votes included" in plot(view, "Ratings").footer
    view.sighted.setChecked(False)
    assert view.doc.votes == BLIND  # the result for these filters, shown at once
    qtbot.waitUntil(functools.partial(computed, view), timeout=20_000)
    store.close()


def swatch_color(view: LeaderboardView, cid: str) -> QColor:
    item = view.table.item(row_of(view, cid), CONTENDER)
    assert item is not None
    image = item.icon().pixmap(14, 14).toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def test_each_contender_has_one_colour_in_every_chart_the_table_and_across_filters(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    store = board_store(tmp_path / "b.db")
    view = opened(qtbot, store)
    ratings, cost = points(plot(view, "Ratings")), points(plot(view, "Rating vs cost"))
    dosed = points(dose(view).rating.figure)
    seen = {}
    for cid in (DEEP, PLAIN, ASKED):
        color = ratings[cid].color
        assert cost[cid].color == color and dosed[cid].color == color, cid
        assert swatch_color(view, cid) == QColor(color), cid
        seen[cid] = color
    assert swatch_color(view, RARE) == QColor(ratings[RARE].color)
    assert len({*seen.values(), ratings[RARE].color}) == 4  # told apart
    # Another filter, fewer contenders: each keeps its colour.
    view.tags.setText("math")
    view.refresh()
    qtbot.waitUntil(lambda: computed(view) and view.doc is not None and view.doc.filters.tags == ["math"])
    after = points(plot(view, "Ratings"))
    assert RARE not in after
    assert {cid: after[cid].color for cid in seen} == seen
    store.close()


def test_the_dose_chart_plots_rating_and_accuracy_against_reasoning_tokens(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    store = board_store(tmp_path / "b.db")
    view = opened(qtbot, store)
    assert view.tabs.tabText(3) == "More thinking?"
    shown = dose(view)
    assert [f.title for f in shown.figures] == [
        "Rating against reasoning tokens",
        "Accuracy against reasoning tokens",
    ]
    rating, accuracy = points(shown.rating.figure), points(shown.accuracy.figure)
    assert set(rating) == set(accuracy) == {DEEP, PLAIN, ASKED}
    assert [rating[cid].xy[0][0] for cid in (PLAIN, ASKED, DEEP)] == [0, 125.5, 455]
    assert accuracy[DEEP].xy[0] == (455, 0.6667)
    assert rating[ASKED].label == "Asked · ≈126 tokens"  # chatlab counted them: ≈
    assert rating[DEEP].label == "Deep · 455 tokens"
    bars = [m for m in shown.accuracy.figure.marks if m.kind == "bar"]
    assert len(bars) == 3  # each accuracy with its interval
    saved = view.save_chart("More thinking?", "SVG", str(tmp_path / "dose.svg"))
    assert saved is not None and "Accuracy against reasoning tokens" in saved.read_text("utf-8")
    store.close()


def plain_sessions() -> list[Session]:
    """Two different plain models (one with a label that looks like markup), voted on:
    no reasoning pair, no answer key, no guesses."""
    sessions = []
    for k in range(6):
        lanes = [Lane("demo", "x", label="<b>Ex</b>", id=f"x{k}"), Lane("demo", "y", label="Why", id=f"y{k}")]
        turn = Turn(prompt=f"P{k}", id=f"pt{k}", created_at=f"2026-03-01T00:{k:02d}:00+00:00")
        for lane in lanes:
            turn.responses[lane.id] = Response(
                lane.id, Status.OK, text_parts=["ok"], usage=Usage(output_tokens=5)
            )
        turn.votes.append(Vote(lanes[k % 2].id, rater="id:ann", rater_name="ann", voted_at="2026-03-02"))
        study = StudyRef("s2", "Plain", f"p{k}", 0)
        sessions.append(
            Session(lanes=lanes, turns=[turn], id=f"ps{k}", created_at=turn.created_at, study=study)
        )
    return sessions


def test_with_nothing_to_say_about_reasoning_the_card_says_what_would_fill_it(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    store = Store(tmp_path / "p.db")
    for session in plain_sessions():
        store.save_session(session)
    view = opened(qtbot, store)
    card = view.card
    assert card.headings == [] and card.headline.isHidden()
    assert card.hint.isVisible() and card.hint.text() == HINT
    assert view.table.cell(0, ACCURACY) == "–"
    # A label is shown as written, never read as markup.
    names = [view.table.cell(r, CONTENDER) for r in range(view.table.rowCount())]
    assert any(n.startswith("<b>Ex</b>") for n in names)
    shown = dose(view)
    assert shown.figures[0].empty_text == EMPTY and not shown.figures[0].marks
    assert shown.accuracy.isHidden()
    store.close()
