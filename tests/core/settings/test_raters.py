"""Several raters: a rating pack that names no model, rated in a second chatlab and merged
back onto the real lanes; merges that add only what is new and refuse a conflict by
its place; session documents of version 1 and a version-8 database carried over."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chatlab import cli
from chatlab.core.data.export import parse_document
from chatlab.core.data.model import Lane, Session
from chatlab.core.data.votes import Vote
from chatlab.core.settings.config import load_config
from chatlab.core.settings.raters import installation
from chatlab.core.studies.packs import identities
from chatlab.core.studies.rating import RatingQueue
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
    """Rate every comparison of the one study here as this installation's rater (made
    on first need and named ``rater``), as `chatlab rate` does."""
    from chatlab.core.settings.raters import installation

    store = Store(default_path())
    try:
        [info] = store.studies()
        queue = RatingQueue(
            store.study_sessions(info.id), installation(store.claim_rater, name=rater).id, sink=store
        )
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
    ann_id = load_config().rater_id
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
    bo_id = load_config().rater_id
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
            ann, bo = turn.vote_of(str(ann_id)), turn.vote_of(str(bo_id))
            assert ann is not None and bo is not None
            real = {lane.id for lane in s.lanes}
            assert bo.choice in real and set(bo.shown_order or []) == real and set(bo.guessed or []) <= real
            assert bo.choice == bo.shown_order[2]  # type: ignore[index]
            rating = turn.responses[bo.choice].rating_of(str(bo_id))
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
    ann_id = load_config().rater_id
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
        assert raters == {ann_id}
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
    from chatlab.core.data.votes import Vote

    store.vote("t", Vote("b", rater="you"))
    assert {v.rater for v in store.load("s").turns[0].votes} == {"name:me", "you"}


def test_each_comparison_of_a_pack_lists_its_lanes_in_its_own_order(tmp_path: Path) -> None:
    import random

    from chatlab.core.studies.packs import rating_pack
    from chatlab.core.studies.study import comparisons
    from chatlab.core.studies.suites import parse_suite

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
            from chatlab.core.data.model import Response, Status

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


# -- rater ids -----------------------------------------------------------------------------


def home_of(monkeypatch: pytest.MonkeyPatch, where: Path) -> None:
    monkeypatch.setenv("CHATLAB_HOME", str(where))


def rate_as_me(name: str, pick: int = 0) -> str:
    """Rate the (only) study here as this installation's rater, going by ``name``; its id."""
    store = Store(default_path())
    try:
        rater = installation(store.claim_rater, name=name)
        [info] = store.studies()
        queue = RatingQueue(store.study_sessions(info.id), rater.id, sink=store)
        while not queue.finished:
            queue.vote(pick, guessed=[0], scores={pick: 4}, notes={pick: f"{name} liked it"})
        return rater.id
    finally:
        store.close()


def export_pack(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> Path:
    code, _, err = run(capsys, "export", "--study", "pack", "--rating-pack", *extra, "-o", str(path))
    assert code == 0, err
    return path


def rate_pack_elsewhere(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, pack: Path, name: str
) -> tuple[str, Path]:
    """Another person imports ``pack``, rates it and exports their votes: (their id, the file)."""
    home_of(monkeypatch, home)
    code, _, err = run(capsys, "import", str(pack))
    assert code == 0, err
    rater = rate_as_me(name, pick=1)
    votes = home.parent / f"votes-{home.name}-{pack.stem}.json"
    code, _, err = run(capsys, "export", "--votes", "--study", "pack", "-o", str(votes))
    assert code == 0, err
    return rater, votes


def study_votes(rater: str) -> dict[str, str]:
    """{session id: the choice} of ``rater``'s votes on the study here."""
    store = Store(default_path())
    try:
        out = {}
        for s in store.study_sessions(store.studies()[0].id):
            vote = s.turns[0].vote_of(rater)
            if vote is not None:
                out[s.id] = vote.choice
        return out
    finally:
        store.close()


def every_rater() -> set[str]:
    store = Store(default_path())
    try:
        return {r[0] for r in store.con.execute("SELECT rater FROM votes UNION SELECT rater FROM ratings")}
    finally:
        store.close()


def test_a_remote_rater_named_like_the_owner_is_someone_else(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner_home = tmp_path / "owner"
    home_of(monkeypatch, owner_home)
    owner_study(capsys, tmp_path)
    owner = rate_as_me("ann", pick=0)
    mine = study_votes(owner)
    pack = export_pack(capsys, tmp_path / "pack.json")
    remote, votes = rate_pack_elsewhere(capsys, monkeypatch, tmp_path / "other", pack, "ann")
    assert remote != owner and remote.startswith("r") and len(remote) == 33

    home_of(monkeypatch, owner_home)
    code, out, err = run(capsys, "import", str(votes))
    assert code == 0 and out.endswith("merged 4 votes and 4 ratings from other raters\n"), err
    assert study_votes(owner) == mine  # the owner's votes are the owner's, as they were
    theirs = study_votes(remote)
    assert set(theirs) == set(mine) and len(mine) == 4  # a second rater on the same comparisons
    code, out, _ = run(capsys, "study", "show", "pack")
    assert code == 0 and "ann 4" in out and "ann (2) 4" in out  # two people who go by one name
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["agreement"]["raters"] == 2


def test_a_votes_file_with_invented_raters_is_refused_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner_home = tmp_path / "owner"
    home_of(monkeypatch, owner_home)
    owner_study(capsys, tmp_path)
    pack = export_pack(capsys, tmp_path / "pack.json")
    bo, votes = rate_pack_elsewhere(capsys, monkeypatch, tmp_path / "bo", pack, "bo")
    home_of(monkeypatch, owner_home)
    honest = json.loads(votes.read_text("utf-8"))

    # 50 invented raters added to bo's votes file.
    doc = json.loads(votes.read_text("utf-8"))
    for i in range(50):
        turn = doc["sessions"][i % 4]["turns"][0]
        turn["votes"].append({**turn["votes"][0], "rater": f"fan {i}", "rater_id": f"fan{i}"})
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(forged))
    assert code == 2 and err.count("\n") == 1
    assert "sessions[0].turns[0].votes[1].rater_id: is a second rater in a rating pack's votes" in err
    assert "nothing was imported" in err and every_rater() == set()

    # The same, dressed as a full document: lanes of its own, and ties that name no lane.
    doc = json.loads(votes.read_text("utf-8"))
    for i, s in enumerate(doc["sessions"]):
        renamed = {lane["id"]: f"made-up-{i}-{j}" for j, lane in enumerate(s["lanes"])}
        for lane in s["lanes"]:
            lane["id"] = renamed[lane["id"]]
        turn = s["turns"][0]
        for r in turn["responses"]:
            r["lane_id"], r["ratings"] = renamed[r["lane_id"]], []
        turn["votes"] = [
            {"rater": f"fan {k}", "rater_id": f"fan{k}", "choice": "tie", "voted_at": "x"} for k in range(50)
        ]
    forged.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(forged))
    assert code == 2 and "sessions[0].turns[0].votes[0]: is on a comparison whose lanes this file" in err
    assert every_rater() == set()

    # A pack's votes moved onto another comparison: its lanes are not that comparison's.
    doc = json.loads(json.dumps(honest))
    first, second = doc["sessions"][0], doc["sessions"][1]
    first["id"], second["id"] = second["id"], first["id"]
    first["turns"][0]["id"], second["turns"][0]["id"] = second["turns"][0]["id"], first["turns"][0]["id"]
    forged.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(forged))
    assert code == 2 and "sessions[0].turns[0].votes[0]" in err and every_rater() == set()

    # bo's own file merges: every vote and rating is bo's.
    code, out, err = run(capsys, "import", str(votes))
    assert code == 0 and "merged 4 votes and 4 ratings" in out, err
    assert every_rater() == {bo}


def test_a_packs_votes_come_from_one_rater_and_never_from_the_owner(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner_home = tmp_path / "owner"
    home_of(monkeypatch, owner_home)
    owner_study(capsys, tmp_path)
    pack = export_pack(capsys, tmp_path / "pack.json", "--for", "bo")
    assert json.loads(pack.read_text("utf-8"))["pack"]["for"] == "bo"
    bo, bo_votes = rate_pack_elsewhere(capsys, monkeypatch, tmp_path / "bo", pack, "bo")
    # cy got the same pack (forwarded) and rated it too.
    _cy, cy_votes = rate_pack_elsewhere(capsys, monkeypatch, tmp_path / "cy", pack, "cy")

    home_of(monkeypatch, owner_home)
    code, _, err = run(capsys, "import", str(bo_votes))
    assert code == 0, err
    code, _, err = run(capsys, "import", str(cy_votes))
    assert code == 2 and err.count("\n") == 1
    assert (
        "sessions[0].turns[0].votes[0].rater_id: is not the rater this rating pack's votes came from" in err
    )
    assert every_rater() == {bo}

    # Claiming the owner's own id, in a pack's votes or anywhere else, is refused.
    store = Store(default_path())
    owner = installation(store.claim_rater)
    store.close()
    doc = json.loads(cy_votes.read_text("utf-8"))
    for s in doc["sessions"]:
        for v in s["turns"][0]["votes"]:
            v["rater_id"] = owner.id
        for r in s["turns"][0]["responses"]:
            for rating in r["ratings"]:
                rating["rater_id"] = owner.id
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(forged))
    assert code == 2 and "sessions[0].turns[0].votes[0].rater_id: is this chatlab's own rater id" in err
    full = tmp_path / "full.json"
    assert run(capsys, "export", "--study", "pack", "--unblind", "-o", str(full))[0] == 0
    doc = json.loads(full.read_text("utf-8"))
    turn = doc["sessions"][0]["turns"][0]
    turn["votes"] = [{"rater": "me?", "rater_id": owner.id, "choice": "tie", "voted_at": "x"}]
    forged.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(forged))
    assert code == 2 and "sessions[0].turns[0].votes[0].rater_id: claims this chatlab's own rater id" in err
    doc["sessions"] = [doc["sessions"][0]]
    doc["sessions"][0]["id"] = "a-new-session"
    doc["sessions"][0].pop("study")
    for lane in doc["sessions"][0]["lanes"]:
        lane["id"] += "-new"
    for r in turn["responses"]:
        r["lane_id"] += "-new"
    turn["id"] += "-new"
    forged.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(forged))
    assert code == 2 and "claims this chatlab's own rater id" in err
    assert every_rater() == {bo}

    # A second pack, made for dee: dee's votes for it come home.
    pack2 = export_pack(capsys, tmp_path / "pack2.json", "--for", "dee")
    dee, dee_votes = rate_pack_elsewhere(capsys, monkeypatch, tmp_path / "dee", pack2, "dee")
    home_of(monkeypatch, owner_home)
    code, out, err = run(capsys, "import", str(dee_votes))
    assert code == 0 and "merged 4 votes and 4 ratings" in out, err
    assert every_rater() == {bo, dee}
    code, out, _ = run(capsys, "study", "show", "pack")
    assert "rated    bo 4, dee 4" in out


def test_a_version_1_vote_with_no_rater_is_not_the_owners(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from chatlab.core.lab.controller import Lab
    from tests.fakes import ScriptedAdapter, scripted_runner

    code, _, err = run(capsys, "ask", "-m", "demo:demo-fast@tps=0", "-m", "demo:echo", "Hello?")
    assert code == 0, err
    store = Store(default_path())
    [session_id] = store.ids()
    lab = Lab(
        scripted_runner(ScriptedAdapter()),
        store=store,
        session=store.load(session_id),
        rater_of=lambda: installation(store.claim_rater),
    )
    first, second = lab.session.lanes
    lab.vote(first.id)  # the owner, in the main window
    owner = lab.rater
    store.close()
    path = tmp_path / "all.json"
    assert run(capsys, "export", "--all", "-o", str(path))[0] == 0
    doc = json.loads(path.read_text("utf-8"))
    doc["version"] = 1
    turn = doc["sessions"][0]["turns"][0]
    turn.pop("votes")
    turn["vote"] = {"choice": second.id, "voted_at": "2025-01-01T00:00:00Z"}  # a v1 vote: no rater
    path.write_text(json.dumps(doc))
    code, out, err = run(capsys, "import", str(path))
    assert code == 0 and "merged 1 vote" in out, err
    store = Store(default_path())
    try:
        votes = {v.rater: v.choice for v in store.load(session_id).turns[0].votes}
        assert votes == {owner: first.id, "name:": second.id}
    finally:
        store.close()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_export_votes_asks_before_interactive_sessions_and_study_limits_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner_study(capsys, tmp_path)
    me = rate_as_me("ann")
    assert run(capsys, "ask", "-m", "demo:echo", "a private chat")[0] == 0
    store = Store(default_path())
    [chat] = store.interactive_ids()
    chat_session = store.load(chat)
    store.vote(chat_session.turns[0].id, Vote(chat_session.lanes[0].id, rater=me))
    store.close()

    def sessions(out: str) -> set[str]:
        return {s["id"] for s in json.loads(out)["sessions"]}

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal
    code, out, err = run(capsys, "export", "--votes")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "1 interactive session" in err and "--all" in err and "--study" in err
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    code, out, err = run(capsys, "export", "--votes")
    assert code == 2 and out == "" and "include them? [y/N]" in err
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    code, out, err = run(capsys, "export", "--votes")
    assert code == 0 and chat in sessions(out) and len(sessions(out)) == 5
    code, out, err = run(capsys, "export", "--votes", "--study", "pack")
    assert code == 0 and chat not in sessions(out) and len(sessions(out)) == 4 and "[y/N]" not in err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = run(capsys, "export", "--votes", "--all")
    assert code == 0 and chat in sessions(out) and len(sessions(out)) == 5
    assert run(capsys, "export", "--votes", "--all", "--study", "pack")[0] == 2
    assert run(capsys, "export", "--votes", chat)[0] == 2


def test_colleagues_full_exports_still_merge(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner_home = tmp_path / "owner"
    home_of(monkeypatch, owner_home)
    owner_study(capsys, tmp_path)
    ann = rate_as_me("ann", pick=0)
    full = tmp_path / "full.json"
    assert run(capsys, "export", "--study", "pack", "-o", str(full))[0] == 0
    home_of(monkeypatch, tmp_path / "cy")
    assert run(capsys, "import", str(full))[0] == 0
    cy = rate_as_me("cy", pick=1)  # cy's own queue: ann's votes are ann's
    back = tmp_path / "back.json"
    assert run(capsys, "export", "--votes", "--study", "pack", "-o", str(back))[0] == 0
    home_of(monkeypatch, owner_home)
    code, out, err = run(capsys, "import", str(back))  # ann's own votes come back unchanged: nothing new
    assert code == 0 and out.endswith("merged 4 votes and 4 ratings from other raters\n"), err
    assert every_rater() == {ann, cy}
    code, out, _ = run(capsys, "stats", "--json")
    report = json.loads(out)
    assert report["agreement"]["votes_per_rater"] == {"ann": 4, "cy": 4}
    code, out, _ = run(capsys, "stats", "--json", "--rater", "cy")
    assert code == 0 and json.loads(out)["votes"] == 4 and json.loads(out)["filters"]["raters"] == ["cy"]
    code, out, _ = run(capsys, "stats", "--json", "--rater", cy)  # an id works too
    assert code == 0 and json.loads(out)["votes"] == 4


def old_version() -> int:
    """The schema version just before rater ids (the first migration that adds them)."""
    return next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE raters" in m)


def legacy_db(path: Path, version: int) -> None:
    """A database at ``version`` (from multi-rater votes on, before rater ids): a blind
    study of 3 prompts x 2 samples, voted on by the owner in the queue ("ann"), by "bo",
    and in the main window (no name) on a chat, with ratings."""
    con = sqlite3.connect(path)
    for v in range(version):
        con.executescript("BEGIN;" + MIGRATIONS[v] + f"PRAGMA user_version={v + 1}; COMMIT;")

    def add(table: str, **row: object) -> None:
        con.execute(
            f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )

    add("studies", id="st", name="Old", created_at="c", updated_at="u", status="done")
    add("sessions", id="chat", title="chat", created_at="c", updated_at="u", blind=0)
    add("turns", id="chat-t", session_id="chat", position=0, prompt="p", created_at="c")
    for i, lane in enumerate(("chat-a", "chat-b")):
        add("lanes", id=lane, session_id="chat", position=i, provider="demo", model=lane)
        add("responses", turn_id="chat-t", lane_id=lane, status="ok", text=lane, updated_at="u")
    add("votes", turn_id="chat-t", rater="", choice="chat-a", voted_at="v")  # the main window's
    for n in range(6):
        s = f"s{n}"
        add("sessions", id=s, title="t", created_at="c", updated_at="u", blind=1, study_id="st")
        con.execute(
            "UPDATE sessions SET study_prompt = ?, study_sample = ? WHERE id = ?", (f"p{n // 2}", n % 2, s)
        )
        add("turns", id=f"{s}-t", session_id=s, position=0, prompt="p", created_at="c")
        for i, model in enumerate(MODELS):
            add("lanes", id=f"{s}-{i}", session_id=s, position=i, provider="demo", model=model)
            add(
                "responses",
                turn_id=f"{s}-t",
                lane_id=f"{s}-{i}",
                status="ok",
                text=f"{model} {n}",
                updated_at="u",
            )
        for rater, chosen in PICKS.items():
            lane = f"{s}-{chosen[n]}"
            order = json.dumps([f"{s}-0", f"{s}-1", f"{s}-2"])
            add("votes", turn_id=f"{s}-t", rater=rater, choice=lane, guessed=json.dumps([lane]), voted_at="v")
            con.execute(
                "UPDATE votes SET shown_order = ? WHERE turn_id = ? AND rater = ?", (order, f"{s}-t", rater)
            )
            add(
                "ratings",
                turn_id=f"{s}-t",
                lane_id=lane,
                rater=rater,
                score=2 + chosen[n],
                note="",
                rated_at="r",
            )
    con.commit()
    con.close()


MODELS = ("fast", "reasoner", "hidden")
PICKS = {"ann": [0, 0, 1, 0, 2, 0], "bo": [0, 1, 1, 2, 2, 0]}


def legacy_sessions() -> list[Session]:
    """What a chatlab before rater ids loaded from :func:`legacy_db`: votes under names."""
    from chatlab.core.data.model import Lane, Response, Session, Status, StudyRef, Turn
    from chatlab.core.data.votes import Rating

    out = []
    for n in range(6):
        s = f"s{n}"
        lanes = [Lane("demo", m, id=f"{s}-{i}") for i, m in enumerate(MODELS)]
        turn = Turn("p", id=f"{s}-t")
        for lane in lanes:
            turn.responses[lane.id] = Response(lane.id, status=Status.OK, text_parts=[f"{lane.model} {n}"])
        for rater, chosen in PICKS.items():
            lane_id = f"{s}-{chosen[n]}"
            turn.votes.append(Vote(lane_id, [lane_id], rater, "v", [f"{s}-0", f"{s}-1", f"{s}-2"]))
            turn.responses[lane_id].ratings.append(Rating(2 + chosen[n], "", rater, "r"))
        out.append(
            Session(
                lanes=lanes, turns=[turn], id=s, blind=True, study=StudyRef("st", "Old", f"p{n // 2}", n % 2)
            )
        )
    return out


def same_numbers(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["votes"] == b["votes"] and a["prompts"] == b["prompts"]
    assert [(c["id"], c["rating"], c["ci95"], c["mean_score"]) for c in a["contenders"]] == [
        (c["id"], c["rating"], c["ci95"], c["mean_score"]) for c in b["contenders"]
    ]
    for key in ("votes_alpha", "scores_alpha", "items", "raters"):
        assert a["agreement"][key] == b["agreement"][key], key


SEVERAL_RATERS = next(i for i, m in enumerate(MIGRATIONS) if "votes_v9" in m) + 1  # votes keyed by rater


@pytest.mark.parametrize("version", range(SEVERAL_RATERS, old_version() + 1))
def test_upgrading_keeps_votes_names_and_statistics_and_the_owner_becomes_one_rater(
    capsys: pytest.CaptureFixture[str], home: Path, version: int
) -> None:
    from chatlab.core.analysis.report import compute

    before = compute(legacy_sessions(), rounds=200)
    assert before["agreement"]["raters"] == 2 and before["agreement"]["votes_per_rater"] == {
        "ann": 6,
        "bo": 6,
    }
    path = default_path()
    path.parent.mkdir(parents=True)
    legacy_db(path, version)
    (home / "config.toml").write_text('rater = "ann"\n')  # the owner's name, from before
    store = Store(path)
    try:
        assert store.version == LATEST
        names = dict(store.con.execute("SELECT id, name FROM raters").fetchall())
        assert names == {"name:": "", "name:ann": "ann", "name:bo": "bo"}
        sessions = store.study_sessions("st")
        after = compute(sessions, rounds=200)
        same_numbers(before, after)
        assert after["agreement"]["votes_per_rater"] == {"ann": 6, "bo": 6}
        assert {(v.rater, v.rater_name) for s in sessions for v in s.turns[0].votes} == {
            ("name:ann", "ann"),
            ("name:bo", "bo"),
        }

        # The installation's id is made: the owner's votes (the queue's "ann", the
        # window's no name) move to it, in one go, and no one else's.
        owner = installation(store.claim_rater)
        assert owner.name == "ann"
        assert 'id = "' + owner.id + '"' in (home / "config.toml").read_text()
        raters = dict(store.con.execute("SELECT id, name FROM raters").fetchall())
        assert raters == {owner.id: "ann", "name:bo": "bo"}
        assert store.load("chat").turns[0].vote_of(owner.id) is not None
        claimed = store.study_sessions("st")
        assert {v.rater for s in claimed for v in s.turns[0].votes} == {owner.id, "name:bo"}
        same_numbers(before, compute(claimed, rounds=200))
        # Made once: again, nothing moves (a later nameless vote is not the owner's).
        store.vote("chat-t", Vote("chat-b", rater="name:"))
        assert installation(store.claim_rater) == owner
        assert store.load("chat").turns[0].vote_of("name:") is not None
    finally:
        store.close()
    code, out, _ = run(capsys, "study", "show", "Old")
    assert code == 0 and "rated    ann 6, bo 6" in out


def test_unblind_exports_unvoted_comparisons_warns_and_marks_later_votes_sighted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    owner_study(capsys, tmp_path)
    out_file = tmp_path / "names.json"
    code, out, err = run(capsys, "export", "--study", "pack", "-o", str(out_file))
    assert code == 1 and "left out session" in err and json.loads(out_file.read_text())["sessions"] == []
    assert run(capsys, "export", "--unblind", "-o", str(out_file))[0] == 2
    code, _, err = run(capsys, "export", "--study", "pack", "--unblind", "-o", str(out_file))
    assert code == 0, err
    warning = [line for line in err.splitlines() if line.startswith("chatlab:")]
    assert warning == [
        "chatlab: this file names the models of 4 comparisons (4 not voted on yet): your votes on them "
        "from now on are sighted, left out of chatlab stats unless --include-sighted"
    ]
    doc = json.loads(out_file.read_text("utf-8"))
    assert len(doc["sessions"]) == 4 and "demo-reasoner" in out_file.read_text("utf-8")

    me = rate_as_me("ann")
    store = Store(default_path())
    try:
        votes = [v for s in store.study_sessions(store.studies()[0].id) for v in s.turns[0].votes]
        assert len(votes) == 4 and all(v.sighted and v.rater == me for v in votes)
    finally:
        store.close()
    code, out, _ = run(capsys, "stats", "--json")
    report = json.loads(out)
    assert (report["votes"], report["sighted_left_out"]) == (0, 4)
    code, out, _ = run(capsys, "stats")
    assert "Left out 4 sighted votes" in out
    code, out, _ = run(capsys, "stats", "--json", "--include-sighted")
    report = json.loads(out)
    assert (report["votes"], report["sighted_left_out"]) == (4, 0)
    # The export says so too, and a colleague's chatlab keeps it.
    assert run(capsys, "export", "--votes", "--study", "pack", "-o", str(out_file))[0] == 0
    doc = json.loads(out_file.read_text("utf-8"))
    assert all(v["sighted"] is True for s in doc["sessions"] for v in s["turns"][0]["votes"])


def test_votes_cast_with_names_showing_are_sighted(tmp_path: Path) -> None:
    from chatlab.core.analysis.report import compute
    from tests.core.lab.test_controller import make_lab, plain
    from tests.core.lab.test_controller import run as send
    from tests.fakes import ScriptedAdapter

    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    a, _ = (lab.add_lane(Lane("fake", m)) for m in ("one", "two"))
    for _ in range(2):
        adapter.enqueue(*plain())
    send(lab)
    lab.vote(a.id)  # names showing: not blind
    assert lab.session.turns[0].votes[0].sighted
    blind = make_lab(adapter, tmp_path)
    c, d = (blind.add_lane(Lane("fake", m)) for m in ("one", "two"))
    blind.set_blind(True)
    for _ in range(2):
        adapter.enqueue(*plain())
    send(blind)
    blind.vote(c.id)
    assert not blind.session.turns[0].votes[0].sighted  # cast blind
    blind.vote(d.id)  # changed after the reveal: names showing
    [vote] = blind.session.turns[0].votes
    assert vote.sighted and vote.choice == d.id
    store = Store(tmp_path / "lab.db")
    try:
        sessions = [store.load(i) for i in store.ids()]
    finally:
        store.close()
    assert all(v.sighted for s in sessions for t in s.turns for v in t.votes)
    assert compute(sessions, rounds=10)["sighted_left_out"] == 2
    assert compute(sessions, rounds=10, include_sighted=True)["votes"] == 2


def test_a_pack_names_whom_it_is_for_but_never_a_model(tmp_path: Path) -> None:
    import re

    from chatlab.core.data.model import Response, Status
    from chatlab.core.studies.packs import rating_pack
    from chatlab.core.studies.study import comparisons
    from chatlab.core.studies.suites import parse_suite

    suite = parse_suite(
        {
            "name": "For",
            "samples": 1,
            "placebo": True,
            "prompts": [{"id": "p", "text": "Hi"}],
            "lanes": [
                {"provider": "demo", "model": "demo-fast", "label": "Speedy"},
                {"provider": "demo", "model": "demo-reasoner", "label": "Deep Thinker"},
            ],
        }
    )
    sessions = comparisons(suite, "s1", "For")
    for s in sessions:
        for lane in s.lanes:
            s.turns[0].responses[lane.id] = Response(lane.id, status=Status.OK, text_parts=["an answer"])
    kept = rating_pack(sessions, "For", for_name="bo")
    assert kept.made_for == "bo" and not kept.dropped_for
    assert re.fullmatch(r"p[0-9a-f]{32}", kept.id) and kept.id != rating_pack(sessions, "For").id
    names = identities(sessions) | {"placebo"}
    for for_name in ("Deep Thinker fans", "the demo-reasoner crowd", "placebo group"):
        pack = rating_pack(sessions, "For", for_name=for_name)
        assert pack.dropped_for and "for" not in pack.doc["pack"]
        fields = json.dumps(pack.doc["pack"]).casefold()
        assert [n for n in names if len(n) >= 3 and n.casefold() in fields] == []
    assert [n for n in names if len(n) >= 3 and n.casefold() in json.dumps(kept.doc["pack"]).casefold()] == []


def test_the_config_keeps_one_rater_and_reads_an_older_name(home: Path) -> None:
    from chatlab.core.settings.config import ConfigError, load_config

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('rater = "ann"\n')
    assert (load_config().rater, load_config().rater_id) == ("ann", None)
    first = installation()
    assert first.name == "ann" and load_config().rater_id == first.id
    assert installation() == first  # made once
    renamed = installation(name="Ann B.")
    assert renamed == type(first)(first.id, "Ann B.")  # a new name, never a new id
    assert load_config().rater == "Ann B."
    for bad in ('[rater]\nid = "name:ann"\n', "[rater]\nid = 3\n", '[rater]\nwho = "x"\n', "rater = 3\n"):
        (home / "config.toml").write_text(bad)
        with pytest.raises(ConfigError):
            load_config()
    (home / "config.toml").write_text("")
    assert installation().name  # the account's name, or "me"


def test_an_id_made_from_a_name_goes_by_that_name() -> None:
    from chatlab.core.data.votes import Rating

    vote = Vote.from_dict({"rater": "ann", "rater_id": "name:bo", "choice": "tie", "voted_at": "x"})
    assert (vote.rater, vote.rater_name) == ("name:bo", "bo")  # a file can't show bo's votes as ann's
    rating = Rating.from_dict({"score": 3, "note": "", "rater": "", "rated_at": "x"})
    assert (rating.rater, rating.to_dict()["rater_id"]) == ("name:", "name:")
    assert Vote("tie", rater="r" + "0" * 32, rater_name="cy").to_dict()["rater"] == "cy"
