"""The typed report serialises to the ``chatlab.stats`` document unchanged: a fixed data
set (every part of the report filled: a reasoning pair, a placebo twin, a contender never
voted on, two raters with scores and hidden repeats, guesses, screen order, prices, a
sighted vote) gives the golden document in tests/golden/stats.json key for key and byte
for byte, and ``chatlab stats --json`` (and ``--csv``) over the same sessions in a
database writes what it wrote before the report was typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatlab import cli
from chatlab.core.analysis.report import compute
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Grade, Lane, LaneParams, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Rating, Vote
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "stats.json"
CASES: dict[str, tuple[bool, dict[str, Any]]] = {  # (few sessions?, options)
    "all": (False, {}),
    "filtered": (False, {"study": "S", "tags": ["math"], "raters": ["id:bo"]}),
    "sighted": (False, {"include_sighted": True}),
    "few": (True, {}),
    "few by ann": (True, {"raters": ["id:ann"]}),
    "none match": (False, {"tags": ["code"]}),
}


def golden_sessions() -> list[Session]:
    """Sixteen study comparisons of four lanes (one model with reasoning and without,
        another, and its placebo twin), each voted on by two raters, and one interactive turn
        that brings a fifth contender no one voted on. The answers to every third prompt are
    graded by a key. Everything is fixed: ids, times and
        choices."""
    sessions = []
    for k in range(16):
        lanes = [
            Lane("demo", "m", LaneParams(reasoning_effort="high"), label="Dénker", id=f"l{k}a"),
            Lane("demo", "m", label="Plain", id=f"l{k}b"),
            Lane("demo", "other", label="Other", id=f"l{k}c"),
            Lane("demo", "other", label="Other (placebo)", id=f"l{k}d", placebo=True),
        ]
        turn = Turn(prompt=f"Prompt {k}", id=f"t{k}", created_at=f"2026-01-01T00:{k:02d}:00+00:00")
        for i, lane in enumerate(lanes):
            failed = k == 5 and i == 3
            turn.responses[lane.id] = Response(
                lane.id,
                Status.ERROR if failed else Status.OK,
                text_parts=["x" * (10 + 7 * i + k)],
                usage=Usage(
                    input_tokens=5, output_tokens=40 + 30 * i + k, reasoning_tokens=25 if i == 0 else 0
                ),
                cost_usd=None if i == 2 else 0.001 * (4 - i) + 0.0001 * k,
            )
            if k % 3 == 0 and not failed:  # a keyed prompt: every answer graded
                right = (k + i) % 4 != 3 if i == 0 else (k + i) % 3 == 0
                turn.responses[lane.id].grades = [
                    Grade(right, "expected 4, found " + ("4" if right else "5"))
                ]
            if i < 3:
                turn.responses[lane.id].ratings = [
                    Rating(1 + (i + k) % 5, rater="id:ann", rater_name="ann", rated_at="2026-01-02"),
                    Rating(1 + (i + k + k % 2) % 5, rater="id:bo", rater_name="bo", rated_at="2026-01-02"),
                ]
        order = [lanes[(k + j) % 4].id for j in range(4)]
        picks = {
            "id:ann": lanes[(0, 0, 1, 2, 0, 3)[k % 6]].id if k % 7 != 6 else "tie",
            "id:bo": lanes[(0, 2, 1, 0, 3)[k % 5]].id if k % 9 != 8 else "all_bad",
        }
        for rater, choice in picks.items():
            guess = [lanes[0].id] if (k + len(rater)) % 3 else [lanes[1].id, lanes[2].id]
            turn.votes.append(
                Vote(
                    choice,
                    guessed=guess,
                    rater=rater,
                    rater_name=rater.removeprefix("id:"),
                    voted_at="2026-01-03",
                    shown_order=order,
                    sighted=rater == "id:bo" and k == 3,
                )
            )
        if k % 4 == 1:
            turn.votes.append(
                Vote(lanes[k % 3].id, rater="id:ann", rater_name="ann", voted_at="2026-01-04", repeat=True)
            )
        study = StudyRef("s1", "S", f"p{k}", 0, ("math",) if k % 2 else ("writing", "math") if k % 5 else ())
        created = f"2026-01-01T00:{k:02d}:00+00:00"
        sessions.append(
            Session(lanes=lanes, turns=[turn], id=f"s{k}", created_at=created, blind=True, study=study)
        )
    lone = Lane("demo", "lonely", label="Lonely", id="lz")
    turn = Turn(prompt="hi", id="tz", created_at="2026-01-01T01:00:00+00:00")
    turn.responses[lone.id] = Response(lone.id, Status.OK, text_parts=["hello"], usage=Usage(output_tokens=3))
    sessions.append(Session(lanes=[lone], turns=[turn], id="sz", created_at="2026-01-01T01:00:00+00:00"))
    return sessions


def few_sessions() -> list[Session]:
    """The first three comparisons without the plain lane and the twin: no reasoning
    pair, no noise floor, and too few prompts for intervals."""
    sessions = golden_sessions()[:3]
    for session in sessions:
        session.lanes = [session.lanes[0], session.lanes[2]]
        for turn in session.turns:
            turn.responses = {
                k: v for k, v in turn.responses.items() if k in {lane.id for lane in session.lanes}
            }
    return sessions


def text(doc: dict[str, Any]) -> str:
    """The document as ``chatlab stats --json`` writes it."""
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def test_the_typed_report_serialises_to_the_golden_document() -> None:
    golden = json.loads(GOLDEN.read_text("utf-8"))
    for case, (few, options) in CASES.items():
        doc = compute(few_sessions() if few else golden_sessions(), **options)
        assert doc == golden[case], case
        assert text(doc) == text(golden[case]), case  # the same keys in the same order


def test_chatlab_stats_json_writes_the_golden_document(capsys: pytest.CaptureFixture[str]) -> None:
    from chatlab.store.db import Store, default_path

    default_path().parent.mkdir(parents=True, exist_ok=True)
    store = Store(default_path())
    try:
        for session in golden_sessions():
            store.save_session(session)
    finally:
        store.close()
    golden = json.loads(GOLDEN.read_text("utf-8"))
    capsys.readouterr()
    assert cli.main(["stats", "--json"]) == 0
    assert capsys.readouterr().out == text(golden["cli"])
    assert cli.main(["stats", "--csv"]) == 0
    assert capsys.readouterr().out == GOLDEN.with_suffix(".csv").read_bytes().decode("utf-8")


def test_the_loader_leaves_a_damaged_session_out_and_says_which(tmp_path: Path) -> None:
    from chatlab.core.analysis.load import load_sessions
    from chatlab.store.db import Store

    store = Store(tmp_path / "x.db")
    try:
        sessions = golden_sessions()
        store.create_study("s1", "S", {}, sessions[:-1])
        store.save_session(sessions[-1])
        assert [s.id for s in load_sessions(store).sessions] == [s.id for s in sessions]
        store.con.execute("UPDATE lanes SET params = 'not json' WHERE session_id = 's3'")
        every = load_sessions(store)
        assert [s.id for s in every.sessions] == [s.id for s in sessions if s.id != "s3"]
        assert len(every.skipped) == 1 and "s3" in every.skipped[0]
        study = load_sessions(store, "s1")
        assert [s.id for s in study.sessions] == [s.id for s in sessions[:-1] if s.id != "s3"]
        assert len(study.skipped) == 1 and "s3" in study.skipped[0]
    finally:
        store.close()
