"""A study's placebo twin is marked on its lane (``Lane.placebo``), never guessed from a
label or a model name: a first lane labelled "X (placebo)" is still two contenders with
its twin, an ordinary lane or a model called "… (placebo)" is no twin and makes no
noise floor, and the mark survives the store, an export and an import, is inferred for
documents from before it, and never reaches a rating pack."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema

from chatlab.core.analysis.gaps import reasoning_pairs
from chatlab.core.analysis.report import compute
from chatlab.core.analysis.votes import collect
from chatlab.core.data.export import document, parse_document, session_dict
from chatlab.core.data.model import Lane, LaneParams, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.resources import resources_dir
from chatlab.core.data.votes import Vote
from chatlab.core.studies.packs import rating_pack
from chatlab.core.studies.study import comparisons, suite_data
from chatlab.core.studies.suites import parse_suite
from chatlab.store.db import Store

SCHEMA = json.loads((resources_dir() / "session.schema.json").read_text())


def suite(
    first_label: str, *, placebo: bool = True, prompts: int = 6, first_model: str = "m"
) -> dict[str, Any]:
    return {
        "name": "Twins",
        "placebo": placebo,
        "prompts": [{"id": f"p{i}", "text": f"Prompt {i}"} for i in range(prompts)],
        "lanes": [
            {"provider": "demo", "model": first_model, "label": first_label},
            {"provider": "demo", "model": "other", "label": "Other"},
        ],
    }


def answer_and_vote(sessions: list[Session], rater: str = "ann") -> None:
    """Every lane answers; the votes go round the lanes (the first lane, the second…),
    so every contender wins some and loses some."""
    k = 0
    for session in sessions:
        for turn in session.turns:
            for lane in session.lanes:
                turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=[f"answer of {lane.label}"])
            turn.votes.append(Vote(session.lanes[k % len(session.lanes)].id, rater=rater))
            k += 1


def rated_study(first_label: str, **kw: Any) -> list[Session]:
    sessions = comparisons(parse_suite(suite(first_label, **kw)), "study1", "Twins")
    answer_and_vote(sessions)
    return sessions


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc["contenders"]}


# -- the statistics -----------------------------------------------------------------------


def test_a_first_lane_labelled_placebo_and_its_twin_are_two_contenders_with_a_noise_floor() -> None:
    sessions = rated_study("X (placebo)")
    doc = compute(sessions, rounds=100)
    found = by_id(doc)
    assert set(found) == {"demo:m", "demo:other", "demo:m (placebo)"}
    assert found["demo:m"]["label"] == "X (placebo)"
    assert found["demo:m (placebo)"]["label"] == "X (placebo) (placebo)"
    # Each copy stood alone on screen once per comparison: its own appearances.
    assert found["demo:m"]["appearances"] == found["demo:m (placebo)"]["appearances"] == 6
    floor = doc["noise_floor"]
    assert floor is not None
    gap = found["demo:m (placebo)"]["rating"] - found["demo:m"]["rating"]
    assert abs(floor["rating_points"] - gap) <= 0.11  # between the original and its twin
    assert [lane.placebo for lane in sessions[0].lanes] == [False, False, True]


def test_the_twin_survives_the_store(tmp_path: Path) -> None:
    info = parse_suite(suite("X (placebo)"))
    sessions = comparisons(info, "study1", "Twins")
    store = Store(tmp_path / "chatlab.db")
    try:
        store.create_study("study1", "Twins", suite_data(info), sessions)  # the bulk writer
        loaded = store.study_sessions("study1")
        assert [[lane.placebo for lane in s.lanes] for s in loaded] == [[False, False, True]] * 6
        answer_and_vote(loaded)
        for s in loaded:
            store.save_session(s)  # the one-by-one writer
        again = store.study_sessions("study1")
    finally:
        store.close()
    assert [[lane.placebo for lane in s.lanes] for s in again] == [[False, False, True]] * 6
    doc = compute(again, rounds=50)
    assert len(doc["contenders"]) == 3 and doc["noise_floor"] is not None


def test_an_ordinary_lane_labelled_placebo_is_the_same_contender_and_makes_no_noise_floor() -> None:
    # An interactive session: a lane the user labelled "foo (placebo)" beside the same
    # model unlabelled. Same provider, model and parameters: one contender (a label is a
    # name, not a design), and no noise floor.
    lanes = [Lane("demo", "m"), Lane("demo", "m", label="foo (placebo)"), Lane("demo", "other")]
    session = Session(lanes=lanes, blind=True)
    for k in range(8):
        turn = Turn(prompt=f"prompt {k}")
        for lane in lanes:
            turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["x"])
        turn.votes.append(Vote(lanes[k % 3].id, rater="ann"))
        session.turns.append(turn)
    doc = compute([session], rounds=50)
    assert doc["noise_floor"] is None
    assert set(by_id(doc)) == {"demo:m", "demo:other"}
    assert not any(lane.placebo for lane in lanes)


def test_a_model_named_placebo_is_no_twin() -> None:
    lanes = [Lane("demo", "m"), Lane("demo", "m (placebo)"), Lane("demo", "other")]
    sessions = []
    for k in range(8):
        ls = [Lane(x.provider, x.model) for x in lanes]
        turn = Turn(prompt=f"prompt {k}")
        for lane in ls:
            turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["x"])
        turn.votes.append(Vote(ls[k % 3].id, rater="ann"))
        sessions.append(Session(lanes=ls, turns=[turn], blind=True, study=StudyRef("s", "S", f"p{k}", 0, ())))
    doc = compute(sessions, rounds=50)
    assert doc["noise_floor"] is None
    assert set(by_id(doc)) == {"demo:m", "demo:m (placebo)", "demo:other"}


def test_a_model_named_placebo_with_and_without_reasoning_is_a_reasoning_pair() -> None:
    # "m (placebo)" with reasoning and without is one model with and without reasoning
    # (it used to be taken for a twin, and left out); "m" is another model.
    ls = [
        Lane("demo", "m (placebo)", LaneParams(reasoning_effort="high")),
        Lane("demo", "m (placebo)"),
        Lane("demo", "m"),
    ]
    turn = Turn(prompt="p")
    for lane in ls:
        turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["x"])
    turn.responses[ls[0].id].reasoning_parts.append("hm")
    turn.votes.append(Vote(ls[0].id, rater="ann"))
    data = collect([Session(lanes=ls, turns=[turn], blind=True)])
    assert data.reasoner == [True, False, False] and reasoning_pairs(data) == [(0, 1)]


def test_a_twin_never_takes_the_id_of_a_model_named_like_it() -> None:
    # A study of "m" with its twin, beside a model that is itself named "m (placebo)":
    # three contenders and the twin, with an id of its own, measures the noise of "m".
    for order in (0, 1):
        sessions = comparisons(parse_suite(suite("M")), "study1", "Twins")
        named = [
            Session(
                lanes=[Lane("demo", "m (placebo)"), Lane("demo", "other")],
                study=StudyRef("s2", "S2", f"q{k}", 0, ()),
            )
            for k in range(4)
        ]
        for s in named:
            s.turns.append(Turn(prompt="q"))
        everything = named + sessions if order else sessions + named
        answer_and_vote(everything)
        doc = compute(everything, rounds=50)
        found = by_id(doc)
        assert set(found) == {"demo:m", "demo:m (placebo)", "demo:m (placebo 2)", "demo:other"}, order
        assert found["demo:m (placebo 2)"]["label"] == "M (placebo)"
        assert found["demo:m (placebo)"]["appearances"] == 4
        gap = found["demo:m (placebo 2)"]["rating"] - found["demo:m"]["rating"]
        assert doc["noise_floor"] is not None and abs(doc["noise_floor"]["rating_points"] - gap) <= 0.11


# -- the session document -----------------------------------------------------------------


def test_export_and_import_keep_the_twin(tmp_path: Path) -> None:
    sessions = rated_study("X (placebo)")
    doc = json.loads(json.dumps(document(sessions)))
    jsonschema.validate(doc, SCHEMA)
    for s in doc["sessions"]:
        assert [lane.get("placebo") for lane in s["lanes"]] == [None, None, True]  # written only when true
    back = parse_document(doc)
    assert [[lane.placebo for lane in s.lanes] for s in back] == [[False, False, True]] * 6
    store = Store(tmp_path / "chatlab.db")
    try:
        store.import_document(back)
        [info] = store.studies()
        imported = store.study_sessions(info.id)
    finally:
        store.close()
    assert [[lane.placebo for lane in s.lanes] for s in imported] == [[False, False, True]] * 6
    assert compute(imported, rounds=50)["noise_floor"] is not None


def test_an_old_documents_twin_is_still_recognised() -> None:
    # Before lanes said "placebo", a twin was known by its label: the suite's last lane,
    # a copy of the first labelled "… (placebo)". Such a document still imports with it.
    sessions = rated_study("X (placebo)")
    doc = json.loads(json.dumps(document(sessions)))
    for s in doc["sessions"]:
        for lane in s["lanes"]:
            lane.pop("placebo", None)
    assert "placebo" not in json.dumps(doc["sessions"][0]["lanes"]).replace("(placebo)", "")
    back = parse_document(doc)
    assert [[lane.placebo for lane in s.lanes] for s in back] == [[False, False, True]] * 6
    found = compute(back, rounds=50)
    assert len(found["contenders"]) == 3 and found["noise_floor"] is not None


def test_an_old_document_marks_no_twin_where_the_label_alone_says_placebo() -> None:
    sessions = rated_study("X (placebo)")
    doc = json.loads(json.dumps(document(sessions)))
    base = doc["sessions"][0]
    for lane in base["lanes"]:
        lane.pop("placebo", None)
    # A different model in the last place, labelled "… (placebo)": no twin.
    other_model = copy.deepcopy(base)
    other_model["lanes"][2]["model"] = "n"
    # Different parameters: no twin.
    other_params = copy.deepcopy(base)
    other_params["lanes"][2]["params"] = {"temperature": 0.5}
    # Not a study comparison (an interactive session): no twin.
    chat = copy.deepcopy(base)
    del chat["study"]
    for d in (other_model, other_params, chat):
        assert not any(lane.placebo for lane in parse_document({**doc, "sessions": [d]})[0].lanes)


def test_a_lookalike_that_is_no_twin_says_so_in_the_document() -> None:
    # A study without a placebo whose user copied the first lane as the last one and
    # labelled it "X (placebo)": no twin, and an export says so, so that an import does
    # not take it for an old document's twin.
    raw = suite("X", placebo=False)
    raw["lanes"].append({"provider": "demo", "model": "m", "label": "X (placebo)"})
    sessions = comparisons(parse_suite(raw), "study1", "Twins")
    answer_and_vote(sessions)
    assert not any(lane.placebo for s in sessions for lane in s.lanes)
    d = session_dict(sessions[0])
    assert [lane.get("placebo") for lane in d["lanes"]] == [None, None, False]
    back = parse_document(json.loads(json.dumps(document(sessions))))
    assert not any(lane.placebo for s in back for lane in s.lanes)
    doc = compute(back, rounds=50)
    assert doc["noise_floor"] is None and set(by_id(doc)) == {"demo:m", "demo:other"}


# -- rating packs -------------------------------------------------------------------------


def test_a_pack_never_says_which_lane_is_the_twin(tmp_path: Path) -> None:
    sessions = comparisons(parse_suite(suite("Thinker")), "study1", "Twins")
    for s in sessions:
        for lane in s.lanes:
            s.turns[0].responses[lane.id] = Response(lane.id, Status.OK, text_parts=["an answer"])
    pack = rating_pack(sessions, "Twins")
    assert pack.comparisons == 6
    for s in pack.doc["sessions"]:
        for lane in s["lanes"]:
            assert "placebo" not in json.dumps(lane).casefold()
    assert "placebo" not in json.dumps(pack.doc).casefold()
    rater = Store(tmp_path / "rater.db")
    try:
        rater.import_document(parse_document(json.loads(json.dumps(pack.doc))))
        [info] = rater.studies()
        theirs = rater.study_sessions(info.id)
    finally:
        rater.close()
    assert len(theirs) == 6 and not any(lane.placebo for s in theirs for lane in s.lanes)


def test_lane_keeps_its_positional_fields() -> None:
    lane = Lane("demo", "m", LaneParams(temperature=0.5), "M", "lane-1")
    assert (lane.label, lane.id, lane.placebo) == ("M", "lane-1", False)
    assert Lane("demo", "m", placebo=True).placebo
