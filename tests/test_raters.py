"""Several raters: a rating pack that names no model, rated in a second chatlab and merged
back onto the real lanes; merges that add only what is new and refuse a conflict by
its place; session documents of version 1 and a version-8 database carried over."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.core.export import parse_document
from chatlab.core.packs import identities
from chatlab.core.rating import RatingQueue
from chatlab.store.db import Store, default_path
from chatlab.store.migrations import LATEST, MIGRATIONS

SUITE = """
name = "Pack study"
samples = 2
seed = 5
[[prompts]]
id = "haiku"
text = "Write a haiku about rain."
tags = ["writing"]
[[prompts]]
id = "advice"
text = "Should I learn the cello at forty?"
tags = ["advice"]
[[lanes]]
provider = "demo"
model = "demo-reasoner@tps=0"
label = "Deep Thinker"
params = { temperature = 0.7 }
[[lanes]]
provider = "demo"
model = "demo-fast@tps=0"
label = "Speedy"
[[lanes]]
provider = "demo"
model = "demo-hidden@tps=0,think_delay_s=0"
label = "Silent One"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def owner_study(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 0, err


def rate_all(rater: str, pick: int = 0) -> int:
    store = Store(default_path())
    try:
        [info] = store.studies()
        queue = RatingQueue(store.study_sessions(info.id), rater, sink=store)
        while not queue.finished:
            queue.vote(pick, guessed=[0], scores={pick: 4}, notes={pick: f"{rater} liked it"})
        return queue.total
    finally:
        store.close()


def test_a_pack_is_rated_elsewhere_and_merged_back_onto_the_real_lanes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner_home = tmp_path / "owner"
    monkeypatch.setenv("CHATLAB_HOME", str(owner_home))
    owner_study(capsys, tmp_path)
    assert rate_all("ann", pick=1) == 4
    pack = tmp_path / "pack.json"
    code, _, err = run(capsys, "export", "--study", "pack", "--rating-pack", "-o", str(pack))
    assert code == 0, err

    # Nothing in the pack can identify a model: no provider, model, label, lane id, or
    # figure, and no reasoning; no vote of the owner's either.
    store = Store(default_path())
    sessions = store.study_sessions(store.studies()[0].id)
    store.close()
    text = pack.read_text("utf-8")
    secret = identities(sessions) | {"demo-reasoner", "demo-fast", "demo-hidden", "temperature", "ann"}
    secret |= {r.reasoning[:30] for s in sessions for r in s.turns[0].responses.values() if r.reasoning}
    leaks = sorted(x for x in secret if x and x.casefold() in text.casefold())
    assert leaks == []
    doc = json.loads(text)
    for s in doc["sessions"]:
        assert {lane["provider"] for lane in s["lanes"]} == {"blind"} and s["blind"] is True
        for r in s["turns"][0]["responses"]:
            assert r["cost_usd"] is None and r["price"] is None and r["reasoning"] == ""
            assert set(r["timing"].values()) == {None} and r["usage"]["output_tokens"] == 0

    # A second person imports the pack and rates it in their own queue.
    monkeypatch.setenv("CHATLAB_HOME", str(tmp_path / "bo"))
    code, out, err = run(capsys, "import", str(pack))
    assert code == 0 and out.startswith("imported 4 sessions"), err
    assert rate_all("bo", pick=2) == 4
    votes = tmp_path / "votes.json"
    assert run(capsys, "export", "--votes", "-o", str(votes))[0] == 0

    # The owner merges: bo's votes land on the real lanes; ann's stay as they were.
    monkeypatch.setenv("CHATLAB_HOME", str(owner_home))
    code, out, err = run(capsys, "import", str(votes))
    assert code == 0, err
    assert out == "imported 0 sessions (4 already present); merged 4 votes and 4 ratings from other raters\n"
    store = Store(default_path())
    try:
        for s in store.study_sessions(store.studies()[0].id):
            turn = s.turns[0]
            ann, bo = turn.vote_of("ann"), turn.vote_of("bo")
            assert ann is not None and bo is not None
            real = {lane.id for lane in s.lanes}
            assert bo.choice in real and set(bo.shown_order or []) == real and set(bo.guessed or []) <= real
            assert bo.choice == bo.shown_order[2]  # type: ignore[index]
            rating = turn.responses[bo.choice].rating_of("bo")
            assert rating is not None and rating.score == 4 and rating.note == "bo liked it"
    finally:
        store.close()
    # Importing the same votes again adds nothing.
    code, out, _ = run(capsys, "import", str(votes))
    assert code == 0 and "merged" not in out


def test_a_conflicting_vote_is_refused_by_its_place_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    owner_study(capsys, tmp_path)
    rate_all("ann", pick=0)
    out = tmp_path / "votes.json"
    assert run(capsys, "export", "--votes", "-o", str(out))[0] == 0
    doc = json.loads(out.read_text())
    first = doc["sessions"][0]["turns"][0]
    first["votes"][0]["choice"] = "all_bad"  # ann changed her mind in another copy
    # and a new rater's vote in the same file, which must not be written either
    doc["sessions"][1]["turns"][0]["votes"].append(
        {**doc["sessions"][1]["turns"][0]["votes"][0], "rater": "cy", "rater_id": "cy"}
    )
    out.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(out))
    assert code == 2
    assert "sessions[0].turns[0].votes[0]: conflicts with the vote rater 'ann' already has" in err
    store = Store(default_path())
    try:
        raters = {v.rater for s in store.study_sessions(store.studies()[0].id) for v in s.turns[0].votes}
        assert raters == {"ann"}
    finally:
        store.close()


def test_a_version_1_document_still_imports_its_one_vote_and_rating(tmp_path: Path) -> None:
    doc = {
        "format": "chatlab.session",
        "version": 1,
        "exported_at": "2025-01-01T00:00:00Z",
        "app_version": "0.1.0",
        "sessions": [
            {
                "id": "s1",
                "title": "old",
                "created_at": "2025-01-01T00:00:00Z",
                "blind": True,
                "lanes": [
                    {"id": "a", "provider": "demo", "model": "x", "label": "", "params": {}},
                    {"id": "b", "provider": "demo", "model": "y", "label": "", "params": {}},
                ],
                "turns": [
                    {
                        "id": "t1",
                        "prompt": "hi",
                        "created_at": "2025-01-01T00:00:00Z",
                        "shown_order": ["b", "a"],
                        "vote": {"choice": "b", "guess_reasoner": "a", "rater": "old", "voted_at": "x"},
                        "responses": [
                            {
                                "lane_id": lane,
                                "status": "ok",
                                "reasoning": "",
                                "text": "yo",
                                "error": None,
                                "usage": {
                                    "input_tokens": 1,
                                    "cached_input_tokens": 0,
                                    "output_tokens": 1,
                                    "reasoning_tokens": 0,
                                    "estimated": False,
                                },
                                "cost_usd": None,
                                "price": None,
                                "timing": {},
                                "finish_reason": "stop",
                                "rating": {"score": 3, "note": "ok", "rater": "old", "rated_at": "x"}
                                if lane == "a"
                                else None,
                            }
                            for lane in ("a", "b")
                        ],
                    }
                ],
            }
        ],
    }
    [session] = parse_document(doc)
    turn = session.turns[0]
    # A vote with a name and no rater id: its id is made from the name.
    assert [(v.rater, v.rater_name, v.choice, v.guessed) for v in turn.votes] == [
        ("name:old", "old", "b", ["a"])
    ]
    assert [r.score for r in turn.responses["a"].ratings] == [3] and turn.responses["b"].ratings == []
    store = Store(tmp_path / "v.db")
    assert store.import_sessions([session]) == 1
    again = store.load("s1").turns[0]
    assert again.vote_of("name:old") is not None and again.responses["a"].rating_of("name:old") is not None
    # The same file imported again merges nothing and conflicts with nothing.
    result = store.import_document([session])
    assert (result.added, result.votes, result.ratings) == (0, 0, 0)


def test_a_version_8_database_keeps_its_votes_with_their_shown_order(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    for v in range(8):
        con.executescript("BEGIN;" + MIGRATIONS[v] + f"PRAGMA user_version={v + 1}; COMMIT;")
    con.executescript(
        "INSERT INTO sessions (id, title, created_at, updated_at, blind) VALUES ('s', 't', 'c', 'u', 1);"
        "INSERT INTO lanes (id, session_id, position, provider, model) VALUES ('a', 's', 0, 'demo', 'x');"
        "INSERT INTO lanes (id, session_id, position, provider, model) VALUES ('b', 's', 1, 'demo', 'y');"
        "INSERT INTO turns (id, session_id, position, prompt, created_at, shown_order) "
        "VALUES ('t', 's', 0, 'p', 'c', '[\"b\",\"a\"]');"
        "INSERT INTO responses (turn_id, lane_id, status, text, updated_at) "
        "VALUES ('t', 'a', 'ok', 'A', 'u');"
        "INSERT INTO responses (turn_id, lane_id, status, text, updated_at) "
        "VALUES ('t', 'b', 'ok', 'B', 'u');"
        "INSERT INTO votes (turn_id, choice, guessed, rater, voted_at) "
        "VALUES ('t', 'a', '[\"b\"]', 'me', 'v');"
        "INSERT INTO ratings (turn_id, lane_id, score, note, rater, rated_at) "
        "VALUES ('t', 'b', 2, 'n', 'me', 'r');"
    )
    con.close()
    store = Store(path)
    assert store.version == LATEST
    assert list(tmp_path.glob("old.db.v8-*.bak"))
    turn = store.load("s").turns[0]
    vote = turn.vote_of("name:me")  # a name from before rater ids: its id is made from it
    assert (
        vote is not None and vote.choice == "a" and vote.guessed == ["b"] and vote.shown_order == ["b", "a"]
    )
    rating = turn.responses["b"].rating_of("name:me")
    assert rating is not None and rating.score == 2
    # Now a second rater can vote on the same turn.
    from chatlab.core.model import Vote

    store.vote("t", Vote("b", rater="you"))
    assert {v.rater for v in store.load("s").turns[0].votes} == {"name:me", "you"}


def test_each_comparison_of_a_pack_lists_its_lanes_in_its_own_order(tmp_path: Path) -> None:
    import random

    from chatlab.core.packs import rating_pack
    from chatlab.core.study import comparisons
    from chatlab.core.suites import parse_suite

    suite = parse_suite(
        {
            "name": "Order",
            "samples": 4,
            "prompts": [{"id": "p", "text": "Hi"}],
            "lanes": [
                {"provider": "demo", "model": m} for m in ("demo-fast", "demo-reasoner", "demo-hidden")
            ],
        }
    )
    sessions = comparisons(suite, "s1", "Order")
    for s in sessions:
        for lane in s.lanes:
            from chatlab.core.model import Response, Status

            s.turns[0].responses[lane.id] = Response(lane.id, status=Status.OK, text_parts=[lane.model])
    pack = rating_pack(sessions, "Order", rng=random.Random(4))
    doc, mapping = pack.doc, pack.mapping
    orders = []
    for packed, real in zip(doc["sessions"], sessions, strict=True):
        models = [real.lane(mapping[lane["id"]]).model for lane in packed["lanes"]]
        assert sorted(models) == sorted(lane.model for lane in real.lanes)
        assert [r["text"] for r in packed["turns"][0]["responses"]] == models  # answers follow the lanes
        orders.append(tuple(models))
    assert len(set(orders)) > 1  # a place in the file does not stand for one model
