"""The session store: migrations from every past version, refusal of newer or damaged
files (left untouched), crash recovery after kill -9, batched checkpoints, ratings,
search, and export/import as documented JSON."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest

from chatlab.core.data.export import DocumentError, document, parse_document, session_dict
from chatlab.core.data.model import Lane, LaneParams, Response, Session, Status, Turn
from chatlab.core.data.resources import resources_dir
from chatlab.core.data.votes import Rating, Vote
from chatlab.core.lab.orchestrator import Runner
from chatlab.demo.scripts import DEMO_SCRIPTS
from chatlab.store import schema
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store, StoreError, default_path
from chatlab.store.migrations import LATEST, MIGRATIONS
from tests.conftest import PYTHON, ROOT, run_turn, subprocess_env

USAGE = '{"input_tokens":3,"output_tokens":5,"reasoning_tokens":0,"estimated":false}'
SCHEMA = json.loads((resources_dir() / "session.schema.json").read_text())


def make_db_at(path: Path, version: int) -> None:
    """A database at schema ``version`` holding one session, as that version wrote it."""
    con = sqlite3.connect(path)
    for v in range(version):
        con.executescript("BEGIN;" + MIGRATIONS[v] + f"PRAGMA user_version={v + 1}; COMMIT;")
    if version >= 1:
        con.executescript(
            "INSERT INTO sessions (id, title, created_at, updated_at) "
            "VALUES ('s1', 'old', '2026-01-01', '2026-01-01');"
            "INSERT INTO lanes (id, session_id, position, provider, model) "
            "VALUES ('l1', 's1', 0, 'demo', 'echo');"
            "INSERT INTO turns (id, session_id, position, prompt, created_at) "
            "VALUES ('t1', 's1', 0, 'an old prompt about lighthouses', '2026-01-01');"
            "INSERT INTO responses (turn_id, lane_id, status, text, usage, timing, updated_at) VALUES "
            "('t1', 'l1', 'ok', 'the keeper lit the lamp', "
            f"'{USAGE}', '{{}}', '2026-01-01');"
        )
    if version >= 3:  # from version 3 on, chatlab indexes what it writes
        con.executescript(
            "INSERT INTO search (rowid, session_id, turn_id, lane_id, kind, body) VALUES "
            "(1, 's1', 't1', '', 'prompt', 'an old prompt about lighthouses'), "
            "(2, 's1', 't1', 'l1', 'answer', 'the keeper lit the lamp');"
        )
    if version >= 4:
        con.executescript(
            "INSERT INTO search_map (session_id, turn_id, lane_id, kind, fts_rowid) VALUES "
            "('s1', 't1', '', 'prompt', 1), ('s1', 't1', 'l1', 'answer', 2);"
        )
    con.close()


@pytest.mark.parametrize("version", range(LATEST + 1))
def test_upgrade_from_every_version(tmp_path: Path, version: int) -> None:
    path = tmp_path / "chatlab.db"
    make_db_at(path, version)
    store = Store(path)
    assert store.version == LATEST
    backups = list(tmp_path.glob("chatlab.db.v*.bak"))
    if 0 < version < LATEST:
        assert (
            len(backups) == 1
            and sqlite3.connect(backups[0]).execute("PRAGMA user_version").fetchone()[0] == version
        )
    else:
        assert backups == []
    if version >= 1:
        session = store.load("s1")
        assert session.title == "old" and session.turns[0].responses["l1"].text == "the keeper lit the lamp"
        assert {h.turn_id for h in store.search("lighthouses")} == {"t1"}
        assert {h.kind for h in store.search("keeper")} == {"answer"}
        # Reindexing an answer replaces its search row (found through search_map).
        session.turns[0].responses["l1"].text_parts = ["the keeper slept"]
        store.save_session(session)
        assert store.search("lamp") == [] and len(store.search("keeper")) == 1
    assert store.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()


def test_schema_sql_is_what_the_migrations_build(tmp_path: Path) -> None:
    """chatlab/store/schema.sql documents the schema; the migrations are the truth. It
    matches what they build, and a store opened on a new file builds just that."""
    written = (ROOT / "chatlab" / "store" / "schema.sql").read_text(encoding="utf-8")
    assert written == schema.render(), f"chatlab/store/schema.sql is out of date; run: {schema.COMMAND}"
    store = Store(tmp_path / "chatlab.db")
    try:
        assert schema.dump(store.con) == schema.built()
    finally:
        store.close()


def test_an_existing_databases_placebo_twin_is_recognised_after_the_upgrade(tmp_path: Path) -> None:
    """Version 11 knew a twin only by its label. The upgrade marks each study
    comparison's last active lane labelled "… (placebo)" as the twin, when its study's
    suite snapshot says placebo and it copies the first lane; nothing else."""
    from chatlab.core.analysis.report import compute

    path = tmp_path / "chatlab.db"
    make_db_at(path, 11)
    con = sqlite3.connect(path)
    studies = [
        ("placebo", '{"name": "P", "placebo": true}'),
        ("plain", '{"name": "Q", "placebo": false}'),
        ("damaged", '{"placebo": true'),
    ]
    for study_id, snapshot in studies:
        con.execute(
            "INSERT INTO studies (id, name, suite, created_at, updated_at) "
            "VALUES (?, ?, ?, '2026-01-01', '2026-01-01')",
            (study_id, study_id, snapshot),
        )
    lanes = [  # (lane id, position, model, label, params, retired)
        ("0", 0, "m", "X (placebo)", "{}", 0),
        ("1", 1, "other", "O", "{}", 0),
        ("2", 2, "m", "X (placebo) (placebo)", "{}", 0),
        ("3", 3, "m", "gone (placebo)", "{}", 1),  # retired: not the last active lane
    ]
    sessions: list[tuple[str, str | None]] = [(f"{s}-{k}", s) for s, _ in studies for k in range(4)]
    sessions.append(("chat", None))
    for session_id, of_study in sessions:
        con.execute(
            "INSERT INTO sessions (id, title, created_at, updated_at, blind, study_id, study_prompt, "
            "study_sample, study_tags) VALUES (?, 't', '2026-01-01', '2026-01-01', 1, ?, ?, 0, '[]')",
            (session_id, of_study, session_id if of_study else None),
        )
        for lane_id, position, model, label, params, retired in lanes:
            con.execute(
                "INSERT INTO lanes (id, session_id, position, provider, model, label, params, retired) "
                "VALUES (?, ?, ?, 'demo', ?, ?, ?, ?)",
                (f"{session_id}/{lane_id}", session_id, position, model, label, params, retired),
            )
    # Not a copy of the first lane (other parameters): no twin either.
    con.execute("UPDATE lanes SET params = '{\"temperature\":1}' WHERE id = 'placebo-3/2'")
    con.commit()
    con.close()
    store = Store(path)
    try:
        assert store.version == LATEST
        marked = {r[0] for r in store.con.execute("SELECT id FROM lanes WHERE placebo = 1")}
        assert marked == {"placebo-0/2", "placebo-1/2", "placebo-2/2"}
        loaded = store.study_sessions("placebo")
        assert [[lane.placebo for lane in s.lanes] for s in loaded[:3]] == [[False, False, True]] * 3
        assert not any(lane.placebo for s in store.study_sessions("plain") for lane in s.lanes)
        assert not any(lane.placebo for lane in store.load("chat").lanes)
        for k, session in enumerate(loaded[:3]):  # each copy wins once
            turn = Turn(prompt=f"prompt {k}")
            session.turns.append(turn)
            for j, lane in enumerate(session.lanes):
                turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["x"])
                if j == k:
                    turn.votes.append(Vote(lane.id, rater="ann"))
            store.save_session(session)
        doc = compute(store.study_sessions("placebo")[:3], rounds=50)
    finally:
        store.close()
    assert {c["id"] for c in doc["contenders"]} == {"demo:m", "demo:other", "demo:m (placebo)"}
    assert doc["noise_floor"] is not None


def test_newer_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "chatlab.db"
    make_db_at(path, LATEST)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {LATEST + 1}")
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer chatlab"):
        Store(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chatlab.db"]


@pytest.mark.parametrize("content", [b"this is not a database", b"SQLite format 3\x00" + b"\xff" * 5000])
def test_bad_files_are_reported_and_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "chatlab.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="left it untouched"):
        Store(path)
    assert path.read_bytes() == content


def test_corrupt_pages_are_reported_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "chatlab.db"
    make_db_at(path, LATEST)
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\x00garbage" * 512  # wipe the second page
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged"):
        Store(path)
    assert path.read_bytes() == bytes(data)


def test_kill_9_mid_stream_keeps_the_partial_text(home: Path) -> None:
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "chatlab",
            "ask",
            "-m",
            "demo:demo-reasoner@tps=120",
            "-m",
            "demo:demo-fast@tps=5",
            "haiku",
        ],
        env=subprocess_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = home / "data" / "chatlab.db"
    deadline = time.monotonic() + 60
    try:
        # Wait (on the database itself) until a checkpoint holds some streamed text.
        while time.monotonic() < deadline:
            if db.exists():
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                try:
                    row = con.execute(
                        "SELECT length(reasoning) + length(text) FROM responses "
                        "WHERE status = 'running' ORDER BY 1 DESC"
                    ).fetchone()
                except sqlite3.OperationalError:
                    row = None
                finally:
                    con.close()
                if row and row[0] > 0:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("no checkpoint with text appeared")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    store = Store(db)
    assert store.recovered == 2
    [summary] = store.sessions()
    session = store.load(summary.id)
    reasoner, fast = (session.turns[0].responses[lane.id] for lane in session.lanes)
    for resp in (reasoner, fast):
        assert resp.status is Status.INTERRUPTED and resp.error is not None
        assert "stopped before this stream ended" in resp.error.message
    # What was checkpointed before the kill survives: a non-empty prefix of the trace.
    assert reasoner.reasoning and DEMO_SCRIPTS["demo-reasoner"].reasoning.startswith(reasoner.reasoning)
    store.close()


def test_checkpoints_are_batched(runner: Runner, home: Path) -> None:
    import asyncio

    store = Store(default_path())
    lanes = [Lane("chat", "demo-fast@tps=60"), Lane("claude", "demo-fast@tps=60"), Lane("responses", "echo")]
    session = Session(lanes=lanes)
    turn = session.new_turn("hi")
    store.save_session(session)
    saver = Checkpointer(store, session, interval_s=0.2)
    events = 0

    def counting(lane, resp, ev):
        nonlocal events
        events += 1
        saver_listener(lane, resp, ev)

    saver_listener = saver.listener(turn)

    async def go() -> None:
        task = asyncio.create_task(saver.run())
        await runner.turn(session, turn, listener=counting).run()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.aclose()

    asyncio.run(go())
    assert events > 60
    # About one write per interval plus one per finished lane, never one per chunk.
    assert saver.writes < events / 4
    loaded = store.load(session.id)
    for lane in lanes:
        assert loaded.turns[0].responses[lane.id].to_dict() == turn.responses[lane.id].to_dict()
    store.close()


def test_ratings_and_votes_persist_and_can_be_edited(runner: Runner, home: Path) -> None:
    session, turn = run_turn(runner, [Lane("chat", "echo"), Lane("claude", "echo")], "rate me")
    a, b = session.lanes
    store = Store(default_path())
    store.save_session(session)
    store.rate(turn.id, a.id, Rating(score=2, note="meh", rater="ann"))
    store.rate(turn.id, a.id, Rating(score=4, note="better on rereading", rater="ann"))
    store.vote(turn.id, Vote(choice=a.id, guessed=[b.id], rater="ann"))
    store.close()
    store = Store(default_path())
    loaded = store.load(session.id)
    rating = loaded.turns[0].responses[a.id].rating
    assert rating is not None and (rating.score, rating.note, rating.rater) == (
        4,
        "better on rereading",
        "ann",
    )
    assert loaded.turns[0].vote is not None and loaded.turns[0].vote.choice == a.id
    with pytest.raises(sqlite3.IntegrityError):
        store.con.execute(
            "INSERT INTO ratings (turn_id, lane_id, score, rated_at) VALUES (?, ?, 9, 'x')", (turn.id, b.id)
        )
    store.close()


def test_search_highlights_hits(runner: Runner, home: Path) -> None:
    session, _ = run_turn(runner, [Lane("chat", "echo")], "Tell me about Zanzibar spice markets")
    store = Store(default_path())
    store.save_session(session)
    hits = store.search("zanzibar")
    assert {h.kind for h in hits} == {"prompt", "answer"}
    assert all("\x02Zanzibar\x03" in h.snippet for h in hits)
    assert store.search("nonexistentword") == [] and store.search("   ") == []
    store.close()


def test_export_round_trip_is_identical(
    runner: Runner, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, turn = run_turn(
        runner,
        [
            Lane("chat", "demo-reasoner@tps=0", LaneParams(temperature=0.5)),
            Lane("responses", "demo-hidden@tps=0,think_delay_s=0"),
            Lane("claude", "demo-fast@fault=429"),
        ],
        "haiku",
    )
    session.blind = True
    turn.shown_order = [session.lanes[2].id, session.lanes[0].id, session.lanes[1].id]
    turn.vote = Vote(choice="tie", guessed=[session.lanes[0].id], rater="bo")
    turn.responses[session.lanes[0].id].rating = Rating(score=5, note="yes", rater="bo")
    store = Store(default_path())
    store.save_session(session)
    exported = document(store.load(i) for i in store.ids())
    store.close()
    jsonschema.validate(exported, SCHEMA)
    assert exported["sessions"][0] == document([session])["sessions"][0]

    monkeypatch.setenv("CHATLAB_HOME", str(tmp_path / "other"))  # an empty home
    other = Store(default_path())
    assert other.import_sessions(parse_document(json.loads(json.dumps(exported)))) == 1
    assert other.import_sessions(parse_document(exported)) == 0  # stable ids: nothing added twice
    again = document(other.load(i) for i in other.ids())
    assert again["sessions"] == exported["sessions"]
    other.close()


@pytest.mark.parametrize(
    "mutate,path",
    [
        (lambda d: d["sessions"][0].pop("turns"), "sessions[0].turns: is missing"),
        (lambda d: d.update(version=99), "version: unknown version 99"),
        (lambda d: d.update(format="other"), "format: must be 'chatlab.session'"),
        (
            lambda d: d["sessions"][0]["turns"][0]["responses"][0].update(status="great"),
            "sessions[0].turns[0].responses[0].status: unknown status 'great'",
        ),
        (
            lambda d: d["sessions"][0]["turns"][0]["responses"][0]["usage"].update(output_tokens="many"),
            "sessions[0].turns[0].responses[0].usage.output_tokens: must be an integer",
        ),
        (
            lambda d: d["sessions"][0]["turns"][0]["responses"][0].update(lane_id="ghost"),
            "sessions[0].turns[0].responses[0].lane_id: names no lane",
        ),
        (lambda d: d["sessions"].append(dict(d["sessions"][0])), "sessions[1].id: repeats session id"),
    ],
)
def test_malformed_import_names_the_path_and_writes_nothing(
    runner: Runner,
    home: Path,
    tmp_path: Path,
    mutate,
    path: str,
) -> None:
    session, _ = run_turn(runner, [Lane("chat", "echo")], "hi")
    doc = json.loads(json.dumps(document([session])))
    doc["sessions"].insert(
        0, json.loads(json.dumps(document([Session(lanes=[], title="fine")])["sessions"][0]))
    )
    doc["sessions"] = doc["sessions"][1:]  # the bad session comes first
    good = json.loads(json.dumps(doc))
    mutate(doc)
    with pytest.raises(DocumentError) as info:
        parse_document(doc)
    assert str(info.value).startswith(path)
    store = Store(default_path())
    before = store.con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    store.close()
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(doc))
    proc = subprocess.run(
        [PYTHON, "-m", "chatlab", "import", str(file)],
        capture_output=True,
        text=True,
        env=subprocess_env(home),
        timeout=60,
    )
    assert proc.returncode == 2 and path in proc.stderr and "nothing was imported" in proc.stderr
    store = Store(default_path())
    assert store.con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == before == 0
    store.close()
    assert parse_document(good)  # the unmutated document is fine


def test_no_key_in_exports_or_database(home: Path, tmp_path: Path) -> None:
    secret = "sk-live-" + "q" * 32
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[providers.demo]\napi_key_env = "DEMO_KEY"\nneeds_key = true\n')
    env = {**subprocess_env(home), "DEMO_KEY": secret}
    out = tmp_path / "all.json"
    for args in (["ask", "-m", "demo:demo-fast@tps=0", "hi"], ["export", "--all", "-o", str(out)]):
        proc = subprocess.run(
            [PYTHON, "-m", "chatlab", *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
    assert secret not in out.read_text()
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_cli_sessions_and_export_errors(home: Path) -> None:
    def chatlab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-m", "chatlab", *args],
            capture_output=True,
            text=True,
            env=subprocess_env(home),
            timeout=60,
        )

    assert chatlab("sessions").stdout == "no sessions yet\n"
    assert chatlab("ask", "-m", "demo:echo", "first prompt").returncode == 0
    assert chatlab("ask", "--no-save", "-m", "demo:echo", "not kept").returncode == 0
    listing = chatlab("sessions").stdout.splitlines()
    assert len(listing) == 1 and "first prompt" in listing[0] and "lanes 1  turns 1" in listing[0]
    sid = listing[0].split()[0]
    doc = json.loads(chatlab("export", sid[:6]).stdout)
    assert doc["sessions"][0]["id"] == sid
    bad = chatlab("export", "zzzz")
    assert bad.returncode == 2 and "no session matches 'zzzz'" in bad.stderr
    assert chatlab("export").returncode == 2


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE lanes SET params = 'not json' WHERE session_id = :bad",
        "UPDATE turns SET shown_order = '{' WHERE session_id = :bad",
        "UPDATE votes SET guessed = '[1]' WHERE turn_id IN (SELECT id FROM turns WHERE session_id = :bad)",
        "UPDATE responses SET usage = 'x' WHERE turn_id IN (SELECT id FROM turns WHERE session_id = :bad)",
        "UPDATE studies SET suite = '{', extra = '[' WHERE 1",
    ],
)
def test_a_study_loads_at_once_and_a_damaged_comparison_is_left_out(tmp_path: Path, damage: str) -> None:
    from chatlab.core.data.model import Response, StudyRef, Turn

    store = Store(tmp_path / "x.db")
    sessions = []
    for i in range(3):
        lanes = [Lane("demo", "demo-fast"), Lane("demo", "demo-reasoner")]
        s = Session(lanes=lanes, blind=True, study=StudyRef("st", "S", f"p{i}", 0))
        turn = Turn(prompt=f"prompt {i}")
        turn.responses = {lane.id: Response(lane.id, Status.OK, text_parts=[f"answer {i}"]) for lane in lanes}
        turn.votes.append(Vote(lanes[0].id, rater="ann", guessed=[lanes[1].id]))
        s.turns.append(turn)
        sessions.append(s)
    store.create_study("st", "S", {"repeats": 0.2}, sessions, reveal="each")
    good = store.study_sessions("st")
    assert [session_dict(s) for s in good] == [session_dict(store.load(s.id)) for s in sessions]
    assert [s.turns[0].votes[0].guessed for s in good] == [[s.lanes[1].id] for s in sessions]
    bad = sessions[1].id
    store.con.execute(damage, {"bad": bad})
    problems: list[str] = []
    loaded = store.study_sessions("st", problems)
    if damage.startswith("UPDATE studies"):  # the design reads as none; every comparison loads
        assert len(loaded) == 3 and not problems and loaded[0].study and loaded[0].study.reveal == "each"
        return
    assert [s.id for s in loaded] == [sessions[0].id, sessions[2].id]
    assert len(problems) == 1 and bad in problems[0]
    with pytest.raises(StoreError, match="damaged"):
        store.load(bad)
    with pytest.raises(StoreError, match=bad):
        store.study_sessions("st")
    store.close()


def test_a_session_that_shows_reasoning_says_so_in_the_store_the_export_and_the_queue(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane = Lane("demo", "demo-reasoner", id="l1")
    turn = Turn("a prompt", id="t1", to_rate=True)
    turn.responses["l1"] = Response("l1", Status.OK, reasoning_parts=["hm"], text_parts=["yes"])
    shows = Session(lanes=[lane], turns=[turn], id="s1", blind=True, show_reasoning=True)
    plain = Session(lanes=[Lane("demo", "echo", id="l2")], id="s2", blind=True)
    store = Store(default_path())
    store.save_session(shows)
    store.save_session(plain)
    assert store.load("s1").show_reasoning and not store.load("s2").show_reasoning
    # A turn marked to rate later keeps its session's choice in the queue of marked turns.
    assert [s.show_reasoning for s in store.marked_turns()] == [True]
    exported = document(store.load(i) for i in ("s1", "s2"))
    store.close()
    jsonschema.validate(exported, SCHEMA)
    # Written only when true: a document without it reads as it always did.
    assert exported["sessions"][0]["show_reasoning"] is True
    assert "show_reasoning" not in exported["sessions"][1]
    monkeypatch.setenv("CHATLAB_HOME", str(tmp_path / "other"))
    other = Store(default_path())
    assert other.import_sessions(parse_document(json.loads(json.dumps(exported)))) == 2
    assert document(other.load(i) for i in ("s1", "s2"))["sessions"] == exported["sessions"]
    other.close()
    exported["sessions"][0]["show_reasoning"] = "yes"
    with pytest.raises(DocumentError, match=r"sessions\[0\]\.show_reasoning"):
        parse_document(exported)
