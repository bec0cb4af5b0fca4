"""Session document version 3: graded answers, and whether each vote was blind; older
documents still import, read by the rules the format page states."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chatlab.core.data.export import DocumentError, document, parse_document, validate_document
from chatlab.core.data.model import Grade, Lane, Session, Status
from chatlab.core.data.votes import Vote


def _session(blind: bool) -> Session:
    session = Session(lanes=[Lane("demo", "a"), Lane("demo", "b")], blind=blind)
    turn = session.new_turn("2 + 2?")
    for lane in session.lanes:
        resp = turn.responses[lane.id]
        resp.status = Status.OK
        resp.text_parts.append("4")
    first = turn.responses[session.lanes[0].id]
    first.grades.append(Grade(True, "expected 4, found 4"))
    turn.cast(Vote(session.lanes[0].id, rater="name:ann", rater_name="ann", sighted=not blind))
    return session


def _doc(*sessions: Session) -> dict[str, Any]:
    return document(sessions)


def test_version_3_writes_grades_and_blind_and_reads_them_back() -> None:
    doc = _doc(_session(blind=True), _session(blind=False))
    assert doc["version"] == 3
    blind_vote = doc["sessions"][0]["turns"][0]["votes"][0]
    sighted_vote = doc["sessions"][1]["turns"][0]["votes"][0]
    assert blind_vote["blind"] is True and "sighted" not in blind_vote
    assert sighted_vote["blind"] is False and sighted_vote["sighted"] is True
    grades = doc["sessions"][0]["turns"][0]["responses"][0]["grades"]
    assert grades == [{"grader": "key", "correct": True, "detail": "expected 4, found 4"}]
    assert "grades" not in doc["sessions"][0]["turns"][0]["responses"][1]  # ungraded: no field
    back = parse_document(doc)
    assert [s.turns[0].votes[0].sighted for s in back] == [False, True]
    assert back[0].turns[0].responses[back[0].lanes[0].id].grades == [Grade(True, "expected 4, found 4")]


@pytest.mark.parametrize("blind", [True, False])
def test_an_older_vote_saying_neither_is_blind_only_in_a_blind_session(blind: bool) -> None:
    doc = _doc(_session(blind))
    doc["version"] = 2
    vote = doc["sessions"][0]["turns"][0]["votes"][0]
    vote.pop("blind")
    vote.pop("sighted", None)
    [session] = parse_document(doc)
    assert session.turns[0].votes[0].sighted is (not blind)


def test_an_older_vote_that_says_sighted_is_taken_at_its_word() -> None:
    doc = _doc(_session(blind=True))
    doc["version"] = 2
    vote = doc["sessions"][0]["turns"][0]["votes"][0]
    vote.pop("blind")
    vote["sighted"] = True
    assert parse_document(doc)[0].turns[0].votes[0].sighted


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (lambda v, r: v.update(blind=True, sighted=True), "votes[0].blind", "contradicts its sighted"),
        (lambda v, r: v.update(blind="yes"), "votes[0].blind", "must be true or false"),
        (
            lambda v, r: r.update(grades=[{"grader": "key", "correct": True, "detail": ""}] * 2),
            "responses[0].grades",
            "two grades from one grader",
        ),
        (
            lambda v, r: r.update(grades=[{"grader": "key", "correct": "yes", "detail": ""}]),
            "grades[0].correct",
            "must be true or false",
        ),
        (
            lambda v, r: r.update(grades=[{"grader": "key", "correct": True, "detail": "x" * 501}]),
            "grades[0].detail",
            "is too long",
        ),
        (
            lambda v, r: r.update(grades=[{"grader": "key", "correct": True}]),
            "grades[0].detail",
            "is missing",
        ),
    ],
)
def test_bad_grades_and_blind_fields_are_refused_naming_the_place(change: Any, where: str, says: str) -> None:
    doc = copy.deepcopy(_doc(_session(blind=True)))
    turn = doc["sessions"][0]["turns"][0]
    change(turn["votes"][0], turn["responses"][0])
    with pytest.raises(DocumentError) as info:
        validate_document(doc)
    assert where in info.value.path and says in str(info.value)
