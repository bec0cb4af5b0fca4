"""The Leaderboard with a judge model's votes (issue 23): the Humans / Judges / Both
filter changes whose votes count (and is part of the cache's key), the line at the top
says whose, and the Judges tab shows each judge's calibration as ``chatlab stats --json``
has it; with no judge, or one human, it says so plainly."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from chatlab import cli
from chatlab.core.analysis.judges import Calibration, Difference, Kappa, Share
from chatlab.core.data.model import Session
from chatlab.core.data.votes import Vote
from chatlab.store.db import Store, default_path
from chatlab.ui.results import leaderboard
from chatlab.ui.results.judges import INTERVAL, MEANING, NO_JUDGE, ON, TOO_FEW, VALUE, JudgeTable, rows
from chatlab.ui.results.leaderboard import LeaderboardView
from tests.ui.results.boards import PROMPTS, board_sessions
from tests.ui.results.test_leaderboard import computed

JUDGE = "judge:demo:demo-judge"
FOLLOWS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11)  # the prompts where the judge chose what ann chose


def judged_sessions(humans: tuple[str, ...] = ("ann", "cy")) -> list[Session]:
    """The board's sessions (ann on every prompt, cy on the last six, bo sighted) with
    a judge's vote on every comparison: ann's choice on eleven prompts, another answer on
    one; its orders agreeing on two thirds; a quality score that favours its choice."""
    sessions = board_sessions()
    for session in sessions:
        turn = session.turns[0]
        turn.votes = [v for v in turn.votes if v.rater_name in humans or v.sighted]
        if len(turn.responses) < 2:
            continue
        k = int(turn.id.removeprefix("t"))
        lanes = [lane.id for lane in session.lanes]
        ann = next(v.choice for v in board_sessions()[k].turns[0].votes if v.rater_name == "ann")
        choice = ann if k in FOLLOWS else lanes[(lanes.index(ann) + 1) % len(lanes)]
        scores = {lane: {"quality": 4.0 if lane == choice else 2.0 + (k % 2)} for lane in lanes}
        judgement: dict[str, Any] = {"judge": "demo:demo-judge", "consistent": k % 3 != 0, "scores": scores}
        turn.votes.append(
            Vote(choice, rater=JUDGE, rater_name=JUDGE, voted_at="2026-02-03", shown_order=lanes,
                 judgement=judgement)
        )  # fmt: skip
    return sessions


def judged_store(path: Path, humans: tuple[str, ...] = ("ann", "cy")) -> Store:
    store = Store(path)
    for session in judged_sessions(humans):
        store.save_session(session)
    return store


def settled(qtbot: QtBot, view: LeaderboardView, kind: str) -> None:
    """Until the report for these filters, of this kind, is the one shown."""
    qtbot.waitUntil(
        lambda: view.doc is not None and view.doc.raters is not None and view.doc.raters.kind == kind,
        timeout=20_000,
    )
    qtbot.waitUntil(functools.partial(computed, view), timeout=20_000)


def cells(view: LeaderboardView) -> list[list[str]]:
    table = view.table
    return [[table.cell(r, c) for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_the_filter_changes_whose_votes_count_and_keys_the_cache(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    view = LeaderboardView(judged_store(tmp_path / "j.db"))
    qtbot.addWidget(view)
    view.show()
    assert view.kind.currentText() == "Humans" and view.kind.currentData() == "humans"
    tip = view.kind.toolTip()
    assert "only once it shares 10 or more comparisons with your votes" in tip
    assert "on every comparison it judged, including ones no human rated" in tip and "Cohen's κ" in tip
    assert "only where it could be checked" not in tip
    assert view.kind.focusPolicy() == Qt.FocusPolicy.StrongFocus  # reached by Tab, and by Alt+V:
    captions = view.findChildren(QLabel)
    assert any(label.buddy() is view.kind and label.text() == "&Votes by" for label in captions)
    settled(qtbot, view, "humans")
    humans = cells(view)
    assert view.doc is not None and view.doc.raters is not None
    # A judge rated, so whose votes count is said even under Humans.
    assert view.whose.isVisible()
    assert view.whose.text() == view.doc.raters.sentence
    assert view.whose.text().startswith("Humans' votes only (2 raters)") and "see Judges" in view.whose.text()
    assert view.key()[-1] == "humans"

    view.kind.setCurrentIndex(view.kind.findData("both"))
    settled(qtbot, view, "both")
    both = cells(view)
    assert view.doc.raters.weights and view.doc.judges[0].weight > 0
    assert view.whose.text() == view.doc.raters.sentence and "demo-judge weighs" in view.whose.text()
    assert both != humans  # the judge's votes moved the numbers
    assert view.doc.votes > 18  # ann's 12 and cy's 6, and the judge's

    view.kind.setCurrentIndex(view.kind.findData("judges"))
    settled(qtbot, view, "judges")
    judges = cells(view)
    assert view.whose.text().startswith("Judges' votes only (1 judge)")
    assert judges != humans and judges != both
    assert view.doc.votes == PROMPTS

    # Three results kept, for keys that differ by the kind alone; going back to Humans
    # shows the Humans result at once, never another kind's.
    kinds = {key[-1]: key[:-1] for key in leaderboard._CACHE}
    assert set(kinds) == {"humans", "both", "judges"} and len(set(kinds.values())) == 1
    view.kind.setCurrentIndex(view.kind.findData("humans"))
    assert view.doc.raters.kind == "humans" and cells(view) == humans
    assert "humans' and judges' votes" not in view.footer(view.doc)
    qtbot.waitUntil(functools.partial(computed, view), timeout=20_000)


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _ci(ci: list[float]) -> str:
    return f"{ci[0]:.0%} – {ci[1]:.0%}"


def test_the_judges_tab_shows_the_calibration_as_stats_json_has_it(
    qtbot: QtBot,
    tmp_path: Path,
    loop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CHATLAB_HOME", str(tmp_path))
    store = judged_store(default_path())
    assert cli.main(["stats", "--json", "--raters", "both"]) == 0
    [judge] = json.loads(capsys.readouterr().out)["judges"]
    view = LeaderboardView(store)
    qtbot.addWidget(view)
    view.show()
    view.kind.setCurrentIndex(view.kind.findData("both"))
    settled(qtbot, view, "both")
    view.tabs.setCurrentWidget(view.judges)
    [table] = view.judges.tables
    text = view.judges.text()
    assert (
        f"demo-judge · family demo · {judge['votes']} votes · {judge['shared']} comparisons shared "
        f"with human votes · weight when votes by Both {judge['weight']:.2f}" in text
    )
    for measure, key in (
        ("Agrees with the human majority", "agreement"),
        ("Agrees with each human", "pairwise"),
        ("Humans agree with each other", "human_ceiling"),
        ("Same choice in every order", "position_consistency"),
    ):
        row = table.row_of(measure)
        share = judge[key]
        assert table.cell(row, VALUE) == _pct(share["value"]), measure
        assert table.cell(row, INTERVAL) == (_ci(share["ci95"]) if share["ci95"] else TOO_FEW), measure
        assert table.cell(row, ON).startswith(f"{share['n']} "), measure
    assert table.cell(table.row_of("Same choice"), MEANING) == (
        "Position bias: shown the answers once with each answer first; how often every order chose "
        "the same answer. Low means the place on screen sways it."
    )
    for k in judge["kappa"]:
        row = table.row_of(f"Cohen's κ with {k['rater']}")
        assert row >= 0 and table.cell(row, VALUE) == f"{k['kappa']:.2f}"
        assert table.cell(row, MEANING) == "Agreement beyond chance: 0 is chance, 1 always the same choice."
        low, high = k.get("low"), k.get("high")
        if low is not None:  # its interval: both ends once the core gives the upper one
            assert table.cell(row, INTERVAL) == (
                f"{low:.2f} – {high:.2f}" if high is not None else f"from {low:.2f}"
            )
    lb = judge["length_bias"]
    row = table.row_of("Length bias")
    assert table.cell(row, VALUE) == f"{lb['difference'] * 100:+.0f} points"
    assert table.cell(row, INTERVAL) == f"{lb['ci95'][0] * 100:+.0f} to {lb['ci95'][1] * 100:+.0f}"
    assert f"It chose the longest answer in {_pct(lb['judge_rate'])}" in table.cell(row, MEANING)
    assert f"you, {_pct(lb['human_rate'])}" in table.cell(row, MEANING)
    row = table.row_of("Self-preference")
    assert table.cell(row, VALUE) == "–"
    assert table.cell(row, MEANING).startswith("Not measured: no comparison")
    [criterion] = judge["criteria"]
    row = table.row_of("Its quality score")
    assert table.cell(row, VALUE) == f"r = {criterion['correlation']:+.2f}"
    assert table.cell(row, ON) == f"{criterion['n']} answers"
    assert table.cell(table.row_of("Weight when votes by Both"), VALUE) == f"{judge['weight']:.2f}"
    # Readable without sideways scrolling: the table is as wide as the tab, wrapping.
    view.resize(1280, 800)
    qtbot.waitUntil(lambda: table.width() <= view.judges.viewport().width())
    header = table.horizontalHeader()
    assert sum(header.sectionSize(c) for c in range(table.columnCount())) <= table.viewport().width() + 1
    assert table.height() >= sum(table.rowHeight(r) for r in range(table.rowCount()))
    # The most telling rows first: κ, each human beside the humans, position; then the rest.
    assert table.cell(0, 0).startswith("Cohen's κ with ")
    order = [
        table.row_of(m)
        for m in ("Agrees with each human", "Humans agree", "Same choice", "Agrees with the human majority")
    ]
    assert table.cell(len(judge["kappa"]), 0) == "Chose an answer (not a tie)"
    assert order == sorted(order) and order[0] == len(judge["kappa"]) + 1
    assert "shown the answers once with each answer first" in table.cell(order[2], MEANING)
    # The Judges tab takes most of the height; the page comes back on leaving it.
    total = sum(view.split.sizes())
    assert view.split.sizes()[1] >= total * 7 // 10
    view.tabs.setCurrentIndex(0)
    assert view.split.sizes()[1] < total * 7 // 10
    # The Judge dialog's Open Leaderboard: one study, on its Judges tab, with the same share.
    view.show_judges_of("Board")
    assert view.study.currentData() == "Board" and view.tabs.currentWidget() is view.judges
    settled(qtbot, view, "both")
    assert view.split.sizes()[0] == total * leaderboard.JUDGES_PAGE // 100


def test_opened_on_the_judges_tab_it_keeps_its_share_after_the_first_fit(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    """Open Leaderboard lands on Judges before the first answer is fitted: the fit keeps
    the Judges tab's share, and leaving the tab gives the page its fitted height back."""
    view = LeaderboardView(judged_store(tmp_path / "f.db"))
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    view.show_judges_of(None)
    settled(qtbot, view, "humans")
    qtbot.waitUntil(lambda: view.fitted)
    qtbot.waitUntil(lambda: view.split_before is not None)
    total = sum(view.split.sizes())
    qtbot.waitUntil(lambda: view.split.sizes()[0] == total * leaderboard.JUDGES_PAGE // 100)
    fitted = view.split_before
    assert fitted is not None and fitted[0] > view.split.sizes()[0]
    view.tabs.setCurrentIndex(0)  # the page's fitted height back (as far as the charts allow)
    assert view.split.sizes()[0] > total * leaderboard.JUDGES_PAGE // 100


def test_under_both_with_no_judge_counted_the_footer_says_humans_only(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    view = LeaderboardView(judged_store(tmp_path / "b.db", humans=("ann",)))
    qtbot.addWidget(view)
    view.show()
    view.kind.setCurrentIndex(view.kind.findData("both"))
    settled(qtbot, view, "both")
    doc = view.doc
    assert doc is not None and doc.raters is not None
    # The footer follows whom the report counted, not the filter's name.
    none = dataclasses.replace(doc, raters=dataclasses.replace(doc.raters, kind="both", judges=[]))
    footer = view.footer(none)
    assert "humans' votes only (no judge counted)" in footer and "judges' votes" not in footer
    some = dataclasses.replace(
        doc, raters=dataclasses.replace(doc.raters, kind="both", judges=["demo-judge"])
    )
    assert "humans' and judges' votes" in view.footer(some)
    assert ("humans' and judges' votes" in view.footer(doc)) == bool(doc.raters.judges)


def test_the_rows_read_plainly_and_a_decisive_share_comes_second() -> None:
    """How often a judge chose at all (when the analysis measures it) follows κ; the
    wording is the one a newcomer follows."""
    share = Share(0.1, (0.0, 0.3), 20)
    nobody = "no comparisons with two or more human votes"
    longest = "no shared comparison with one longest answer"
    family = "no shared comparison with some but not all answers from its own family demo"
    base = Calibration(
        rater="judge:demo:demo-judge",
        name="demo-judge",
        family="demo",
        votes=20,
        shared=10,
        agreement=share,
        pairwise=share,
        human_ceiling=Share(None, None, 0, nobody),
        kappa=[Kappa("alice", 0.0, 10)],
        position_consistency=share,
        length_bias=Difference(None, None, None, None, 0, longest),
        self_preference=Difference(None, None, None, None, 0, family),
        criteria=[],
        weight=0.0,
    )
    found = rows(base, one_human=True)
    assert not any(r[0].startswith("Chose an answer") for r in found)  # no votes: no row
    length = next(r for r in found if r[0].startswith("Length bias"))
    assert length[4] == (
        "Not measured: no comparison you both rated had one answer longer than the others "
        "(identical answers tie for longest)."
    )
    assert found[-1][0] == "Weight when votes by Both"
    assert found[-1][4] == "Not counted when votes are by Both: it agrees with you no better than chance."
    decisive = dataclasses.replace(base, decisive=Share(0.1, (0.0, 0.3), 20))
    found = rows(decisive, one_human=True)
    assert found[0][0] == "Cohen's κ with alice"
    assert found[1][:4] == ("Chose an answer (not a tie)", "10%", "0% – 30%", "20 votes")


def test_no_judge_says_how_to_get_one(qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop) -> None:
    store = Store(tmp_path / "plain.db")
    for session in board_sessions():
        store.save_session(session)
    view = LeaderboardView(store)
    qtbot.addWidget(view)
    view.show()
    settled(qtbot, view, "humans")
    assert not view.whose.isVisible()  # humans only, and no judge: nothing to say
    assert view.judges.tables == [] and view.judges.text() == NO_JUDGE
    assert "chatlab judge STUDY -m PROVIDER:MODEL" in NO_JUDGE and "Studies → Judge…" in NO_JUDGE
    view.kind.setCurrentIndex(view.kind.findData("both"))
    settled(qtbot, view, "both")
    assert view.whose.isVisible() and view.whose.text().startswith("Humans' votes only (2 raters)")


def test_one_human_reads_plainly(qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop) -> None:
    view = LeaderboardView(judged_store(tmp_path / "o.db", humans=("ann",)))
    qtbot.addWidget(view)
    settled(qtbot, view, "humans")
    [table] = view.judges.tables
    assert isinstance(table, JudgeTable)
    row = table.row_of("Humans agree with each other")
    assert table.cell(row, VALUE) == "–" and table.cell(row, INTERVAL) == "–"
    assert table.cell(row, MEANING).startswith("Only one person rated")
    kappas = [table.cell(r, 0) for r in range(table.rowCount()) if "κ" in table.cell(r, 0)]
    assert len(kappas) == 1 and kappas[0].endswith("ann")  # the name as the store gives it
    assert "agrees with you on" in view.judges.text()  # the card's sentence: one human, "you"
    row = table.row_of("Agrees with you")  # not "the human majority … most of you"
    assert row >= 0 and table.cell(row, MEANING) == "Chose what you chose (a tie counts half)."
    assert "most of you" not in table.cell(row, MEANING)
    assert "no human figure to set it beside" in view.judges.text()
