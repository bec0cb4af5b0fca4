"""Studies, rating packs and several raters under hostile input: vote files that are
malformed or written to graft work onto a local study, tampered study rows, a damaged
comparison, two resumes at once, a full disk, names that collide or overflow, packs
that must stay blind and still be rateable, and the spend across replaced attempts.
Each finding is a test; the attacks that already behave stay covered here too."""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatlab import cli
from chatlab.core.data.events import ErrorKind, Usage
from chatlab.core.data.export import parse_document
from chatlab.core.data.model import ErrorInfo, Response, Session, Status
from chatlab.core.studies.packs import identities, rating_pack
from chatlab.core.studies.rating import MAX_NOTE, RatingError, RatingQueue
from chatlab.core.studies.study import comparisons, suite_data
from chatlab.core.studies.suites import parse_suite
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path

pytestmark = pytest.mark.hostile

# -- helpers -----------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The in-process CLI; an exception out of it is a finding (a traceback for the user)."""
    try:
        code = cli.main(list(argv))
    except Exception as exc:  # a traceback for the user: that is what is being tested
        capsys.readouterr()
        pytest.fail(f"`chatlab {' '.join(a[:40] for a in argv)}` raised {type(exc).__name__}: {exc}")
    out, err = capsys.readouterr()
    return code, out, err


def write_config(home: Path, srv: DemoServer) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'[providers.demo]\nbase_url = "{srv.openai_base_url}"\nmax_retries = 0\n'
    )


def write_suite(path: Path, text: str | None = None) -> Path:
    path.write_text(
        text
        or 'name = "Hostile"\nsamples = 1\n'
        '[[prompts]]\nid = "p0"\ntext = "Prompt zero"\n'
        '[[prompts]]\nid = "p1"\ntext = "Prompt one"\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast@tps=0"\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-reasoner@tps=0"\n',
        encoding="utf-8",
    )
    return path


def run_study(capsys: pytest.CaptureFixture[str], home: Path, srv: DemoServer, tmp_path: Path) -> None:
    write_config(home, srv)
    code, _, err = run(capsys, "study", "run", str(write_suite(tmp_path / "s.toml")), "--yes")
    assert code == 0, err


SUITE: dict[str, Any] = {
    "name": "Queue test",
    "samples": 2,
    "seed": 3,
    "prompts": [{"id": "p0", "text": "Prompt 0"}, {"id": "p1", "text": "Prompt 1"}],
    "lanes": [
        {"provider": "demo", "model": "demo-reasoner", "label": "Thinker"},
        {"provider": "demo", "model": "demo-fast", "label": "Quick"},
    ],
}


def answered(data: dict[str, Any], study_id: str = "study1", name: str = "Queue test") -> list[Session]:
    """A study's comparisons with every lane answered."""
    suite = parse_suite(data)
    sessions = comparisons(suite, study_id, name)
    for s in sessions:
        for i, lane in enumerate(s.lanes):
            resp = Response(lane.id, status=Status.OK, text_parts=[f"answer {i} to {s.turns[0].prompt}"])
            resp.usage = Usage(5, 50)
            s.turns[0].responses[lane.id] = resp
    return sessions


def make_study(store: Store, data: dict[str, Any], study_id: str = "study1", name: str | None = None) -> str:
    name = name or data["name"]
    sessions = answered(data, study_id, name)
    return store.create_study(study_id, name, suite_data(parse_suite(data)), sessions)


def response(lane: str, text: str = "yo") -> dict[str, Any]:
    return {
        "lane_id": lane,
        "status": "ok",
        "reasoning": "",
        "text": text,
        "error": None,
        "usage": {"input_tokens": 1, "output_tokens": 1, "reasoning_tokens": 0, "estimated": False},
        "cost_usd": None,
        "price": None,
        "timing": {},
        "finish_reason": "stop",
    }


def session_doc(
    sid: str = "s1",
    tid: str = "t1",
    lanes: tuple[str, ...] = ("a", "b"),
    votes: list[dict[str, Any]] | None = None,
    vote: dict[str, Any] | None = None,
    study: dict[str, Any] | None = None,
    answered_lanes: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    turn: dict[str, Any] = {
        "id": tid,
        "prompt": "hi",
        "created_at": "2025-01-01T00:00:00Z",
        "responses": [response(x) for x in (lanes if answered_lanes is None else answered_lanes)],
    }
    if votes is not None:
        turn["votes"] = votes
    if vote is not None:
        turn["vote"] = vote
    s: dict[str, Any] = {
        "id": sid,
        "title": "t",
        "created_at": "2025-01-01T00:00:00Z",
        "blind": True,
        "lanes": [{"id": x, "provider": "demo", "model": "m-" + x, "label": "", "params": {}} for x in lanes],
        "turns": [turn],
    }
    if study is not None:
        s["study"] = study
    return s


def document(*sessions: dict[str, Any], version: int = 2) -> dict[str, Any]:
    return {
        "format": "chatlab.session",
        "version": version,
        "exported_at": "2025-01-01T00:00:00Z",
        "app_version": "0.0.0",
        "sessions": list(sessions),
    }


def write_doc(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def session_count() -> int:
    if not default_path().exists():
        return 0
    con = sqlite3.connect(default_path())
    try:
        return int(con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])
    finally:
        con.close()


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "data" / "chatlab.db")


# == findings: each fails now ==============================================================

# -- 1. vote fields the schema does not type reach code that assumes their type ---------


@pytest.mark.parametrize(
    ("version", "where", "vote"),
    [
        (2, "votes", {"rater": "x", "choice": "tie", "voted_at": "x", "guessed": 5}),
        (2, "votes", {"rater": "x", "choice": "tie", "voted_at": "x", "guess_reasoner": ["a"]}),
        (1, "vote", {"choice": "a", "voted_at": "x", "shown_order": 7}),
    ],
    ids=["v2-guessed-int", "v2-guess_reasoner-list", "v1-shown_order-int"],
)
def test_an_untyped_vote_field_is_refused_by_its_place_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, version: int, where: str, vote: dict[str, Any]
) -> None:
    s = session_doc(**({"votes": [vote]} if where == "votes" else {"vote": vote}))
    code, _, err = run(capsys, "import", write_doc(tmp_path / "v.json", document(s, version=version)))
    assert code == 2 and "sessions[0].turns[0].vote" in err and "nothing was imported" in err
    assert session_count() == 0


def test_a_version_1_vote_with_v2_fields_of_the_wrong_type_never_makes_an_unexportable_session(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The v1 ``vote`` object types none of the fields Vote.from_dict reads from it: a
    # string time and "no" as repeat went in, and the vote became a hidden *repeat*, so
    # the blind turn counts as not voted on and every later export leaves it out.
    vote = {"choice": "a", "voted_at": "x", "rater": "r", "seconds_to_vote": "slow", "repeat": "no"}
    code, _, err = run(
        capsys, "import", write_doc(tmp_path / "v.json", document(session_doc(vote=vote), version=1))
    )
    if code == 2:  # refused: fine, as long as it names the place and wrote nothing
        assert "sessions[0].turns[0].vote" in err and session_count() == 0
        return
    assert code == 0, err
    code, out, err = run(capsys, "export", "--all")
    assert code == 0 and "left out" not in err
    [s] = json.loads(out)["sessions"]
    [v] = s["turns"][0]["votes"]
    assert v.get("repeat", False) is False and not isinstance(v.get("seconds_to_vote"), str)


def test_a_turn_with_both_a_v1_vote_and_v2_votes_loses_neither(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    s = session_doc(
        votes=[{"rater": "new", "choice": "a", "voted_at": "x"}],
        vote={"rater": "old", "choice": "b", "voted_at": "x"},
    )
    code, _, err = run(capsys, "import", write_doc(tmp_path / "v.json", document(s)))
    if code == 2:  # refusing the ambiguous turn is fine too
        assert "sessions[0].turns[0]" in err and session_count() == 0
        return
    assert code == 0, err
    store = Store(default_path())
    try:
        assert {v.rater for v in store.load("s1").turns[0].votes} == {"name:new", "name:old"}
    finally:
        store.close()


# -- 2. imports that name a study slot twice, or graft work onto a local study -----------


def test_two_comparisons_for_one_study_slot_are_refused_by_their_place(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    study = {"id": "st1", "name": "S", "prompt_id": "p", "sample": 0}
    doc = document(
        session_doc("s1", "t1", ("a", "b"), study=study), session_doc("s2", "t2", ("c", "d"), study=study)
    )
    code, _, err = run(capsys, "import", write_doc(tmp_path / "v.json", doc))
    # Today: "<db>: the database can't be written; nothing was imported" (an IntegrityError
    # worded as a storage problem, naming no place in the file).
    assert code == 2 and "sessions[1]" in err and "can't be written" not in err
    assert session_count() == 0


def test_an_import_can_not_graft_a_comparison_onto_a_study_run_here(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    run_study(capsys, home, server, tmp_path)
    store = Store(default_path())
    [info] = store.studies()
    store.close()
    # A "votes file" from a stranger adds an unanswered comparison to *our* study, with a
    # lane and prompt of the stranger's choosing (it could be a real, paid model).
    graft = session_doc(
        "evil",
        "evil-turn",
        ("evil-lane",),
        answered_lanes=(),
        study={"id": info.id, "name": "anything", "prompt_id": "injected", "sample": 0},
    )
    graft["lanes"][0]["model"] = "demo-fast@tps=0"
    graft["turns"][0]["prompt"] = "INJECTED PROMPT"
    run(capsys, "import", write_doc(tmp_path / "g.json", document(graft)))
    sent = len(server.log)
    run(capsys, "study", "resume", "hostile")  # today: sends the stranger's prompt
    assert not any("INJECTED" in json.dumps(e.body) for e in server.log[sent:])
    code, _, err = run(capsys, "study", "show", "hostile")  # today: IndexError
    assert code == 0, err


def test_study_show_survives_comparisons_with_different_lane_counts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # An imported study (a pack from someone else) whose comparisons disagree on lanes.
    study = {"id": "st1", "name": "Odd pack", "prompt_id": "p", "sample": 0}
    doc = document(
        session_doc("s1", "t1", ("a", "b", "c"), study=study),
        session_doc("s2", "t2", ("d",), study={**study, "sample": 1}),
    )
    code, _, err = run(capsys, "import", write_doc(tmp_path / "v.json", doc))
    assert code == 0, err
    code, out, err = run(capsys, "study", "show", "odd")  # IndexError today
    assert code == 0 and "Odd pack" in out, err


# -- 3. rating packs: rateable elsewhere, stable prompt ids, every model name scrubbed ---


def test_a_pack_rater_can_rate_every_comparison_the_owner_can(tmp_path: Path) -> None:
    owner = Store(tmp_path / "owner.db")
    # Three lanes: a comparison with one lane refused still has two answers to compare.
    three = {
        **SUITE,
        "lanes": [*SUITE["lanes"], {"provider": "demo", "model": "demo-coder", "label": "Coder"}],
    }
    sessions = answered(three)
    first = sessions[0]
    lane = first.lanes[1]
    first.turns[0].responses[lane.id] = Response(
        lane.id, status=Status.ERROR, error=ErrorInfo(ErrorKind.BAD_REQUEST, "boom", 400)
    )
    owner.create_study("study1", "Queue test", suite_data(parse_suite(three)), sessions)
    mine = RatingQueue(owner.study_sessions("study1"), "ann").total
    doc = rating_pack(owner.study_sessions("study1"), "Queue test").doc
    rater = Store(tmp_path / "rater.db")
    rater.import_document(parse_document(json.loads(json.dumps(doc))))
    [info] = rater.studies()
    theirs = RatingQueue(rater.study_sessions(info.id), "bo").total
    # A failed answer is left out of the pack, so that comparison is never "complete"
    # for the rater: it silently drops out of their queue (3 of 4 today).
    assert theirs == mine == 4


def test_a_renamed_prompt_id_is_the_same_for_every_sample_of_that_prompt(tmp_path: Path) -> None:
    data = {**SUITE, "prompts": [{"id": "quick-check", "text": "P0"}, {"id": "p1", "text": "P1"}]}
    store = Store(tmp_path / "o.db")
    make_study(store, data)
    doc = rating_pack(store.study_sessions("study1"), "Queue test").doc
    ids = [(s["study"]["prompt_id"], s["study"]["sample"]) for s in doc["sessions"]]
    assert "quick" not in json.dumps(doc).casefold()
    # Each sample gets its own random id today, so the rater's queue sees two prompts
    # (and can show the "same" prompt twice in a row, and analyses split it).
    assert len({p for p, _ in ids}) == 2, ids


def test_a_study_name_naming_a_vendor_prefixed_model_is_scrubbed(tmp_path: Path) -> None:
    data = {
        **SUITE,
        "lanes": [
            {"provider": "openrouter", "model": "anthropic/claude-3.5-sonnet"},
            {"provider": "openrouter", "model": "openai/gpt-4o"},
        ],
    }
    name = "claude-3.5-sonnet vs gpt-4o"
    store = Store(tmp_path / "o.db")
    make_study(store, data, name=name)
    doc = rating_pack(store.study_sessions("study1"), name).doc
    text = json.dumps(doc).casefold()
    assert "claude" not in text and "gpt-4o" not in text


def test_a_pack_of_a_study_whose_name_got_a_suffix_still_exports(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Two studies of the longest allowed name: the second is "<name> (2)", 204 characters,
    # more than the document allows, and the pack export raised DocumentError.
    store = Store(default_path())
    long = "x" * 200
    make_study(store, SUITE, "aaaa1111", long)
    assert make_study(store, SUITE, "bbbb2222", long) != long
    store.close()
    pack = tmp_path / "p.json"
    code, _, err = run(capsys, "export", "--study", "bbbb2222", "--rating-pack", "-o", str(pack))
    assert code == 0, err
    parse_document(json.loads(pack.read_text("utf-8")))


def test_the_owners_reveal_and_repeats_travel_with_the_pack(tmp_path: Path) -> None:
    data = {**SUITE, "reveal": "end", "repeats": 0.25}
    owner = Store(tmp_path / "o.db")
    owner.create_study("study1", "Queue test", suite_data(parse_suite(data)), answered(data), reveal="end")
    assert owner.study("study1").repeats == 0.25
    doc = rating_pack(owner.study_sessions("study1"), "Queue test").doc
    rater = Store(tmp_path / "r.db")
    rater.import_document(parse_document(json.loads(json.dumps(doc))))
    [info] = rater.studies()
    # The rater's queue runs with reveal "end" and no hidden repeats: the owner's
    # test-retest design is lost for every other rater.
    assert (info.reveal, info.repeats) == ("end", 0.25)


# -- 4. tampered or damaged study rows ----------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "command"),
    [
        ("suite", "{not json", "list"),
        ("suite", '{"prompts": 5}', "show"),
        ("extra", '{"pid": "abc"}', "list"),
        ("extra", "{bad", "list"),
    ],
    ids=["suite-not-json", "suite-prompts-int", "pid-string", "extra-not-json"],
)
def test_a_tampered_study_row_is_a_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    tmp_path: Path,
    server: DemoServer,
    column: str,
    value: str,
    command: str,
) -> None:
    run_study(capsys, home, server, tmp_path)
    con = db(home)
    with con:
        con.execute(f"UPDATE studies SET {column} = ?, status = 'running'", (value,))
    con.close()
    code, _, err = run(capsys, "study", command, *(["hostile"] if command == "show" else []))
    assert code in (0, 1, 2) and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ("study", "show", "hostile"),
        ("study", "resume", "hostile"),
        ("export", "--study", "hostile"),
        ("export", "--study", "hostile", "--rating-pack"),
    ],
    ids=["show", "resume", "export", "pack"],
)
def test_one_damaged_comparison_is_named_not_a_traceback(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer, argv: tuple[str, ...]
) -> None:
    run_study(capsys, home, server, tmp_path)
    con = db(home)
    with con:
        con.execute("UPDATE responses SET usage = '{bad' WHERE rowid = (SELECT MIN(rowid) FROM responses)")
        [bad] = con.execute(
            "SELECT t.session_id FROM responses r JOIN turns t ON t.id = r.turn_id WHERE r.usage = '{bad'"
        ).fetchone()
    con.close()
    code, out, err = run(capsys, *argv)  # StoreError out of study_sessions today
    assert code in (0, 1, 2) and bad in out + err


# -- 5. two resumes at once; the spend across replaced attempts; a full disk -------------


def test_resume_refuses_while_another_live_process_runs_the_study(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    # Two real `study resume` at once sent every unit twice (12 requests for 6 units) and
    # the study recorded half the money spent: the last write of each answer wins.
    run_study(capsys, home, server, tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        con = db(home)
        with con:
            con.execute("UPDATE responses SET status = 'interrupted'")
            con.execute(
                "UPDATE studies SET status = 'running', extra = json_set(extra, '$.pid', ?)", (other.pid,)
            )
        con.close()
        sent = len(server.log)
        code, _, err = run(capsys, "study", "resume", "hostile")
        assert code == 2 and "running" in err, err
        assert len(server.log) == sent
    finally:
        other.kill()
        other.wait(10)


def test_resume_keeps_the_cost_of_every_replaced_attempt(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    run_study(capsys, home, server, tmp_path)
    # One answer was cut off twice before: the first cut-off cost $0.25 (kept in its
    # retries), the second $0.50. Resuming replaced it, but kept only the last attempt's
    # record, so the study's spend went *down* from $0.75 to about $0.50.
    earlier = [
        {"kind": "network", "message": "cut", "replaced": "interrupted", "waited_s": 0.0, "cost_usd": 0.25}
    ]
    con = db(home)
    with con:
        con.execute(
            "UPDATE responses SET status = 'interrupted', cost_usd = 0.5, extra = ? "
            "WHERE rowid = (SELECT MIN(rowid) FROM responses)",
            (json.dumps({"retries": earlier}),),
        )
    con.close()
    store = Store(default_path())
    before = store.studies()[0].spent_usd
    store.close()
    code, _, err = run(capsys, "study", "resume", "hostile")
    assert code == 0, err
    store = Store(default_path())
    try:
        assert store.studies()[0].spent_usd > before  # every attempt once: never less than before
    finally:
        store.close()


def test_a_full_disk_while_creating_a_study_is_one_line(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    tmp_path: Path,
    server: DemoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(home, server)
    prompts = "".join(f'[[prompts]]\nid = "p{i}"\ntext = "{"word " * 500}"\n' for i in range(20))
    suite = write_suite(
        tmp_path / "big.toml",
        'name = "Big"\nsamples = 3\n' + prompts + '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast@tps=0"\n',
    )
    Store(default_path()).close()
    real_open = Store._open.__func__  # type: ignore[attr-defined]

    def nearly_full(cls: type[Store], path: Path) -> sqlite3.Connection:
        con: sqlite3.Connection = real_open(cls, path)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages + 5}")  # SQLITE_FULL a few pages on
        return con

    monkeypatch.setattr(Store, "_open", classmethod(nearly_full))
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")  # OperationalError today
    assert code in (1, 2) and "full" in err and len(err.strip().splitlines()) == 1
    assert server.log == []


# -- 6. names -----------------------------------------------------------------------------


def test_a_key_matching_one_study_by_id_and_another_by_name_is_ambiguous(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(default_path())
    make_study(store, SUITE, "ca11" + "0" * 28, "zeta")
    make_study(store, SUITE, "ff22" + "0" * 28, "cafe study")
    store.close()
    # `study resume ca` meant "cafe study" and silently resumed (and spent on) "zeta".
    code, _, err = run(capsys, "study", "show", "ca")
    assert code == 2 and "more than one" in err


def test_an_empty_name_flag_is_refused_like_a_blank_one(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    suite = write_suite(tmp_path / "s.toml")
    code, _, err = run(capsys, "study", "run", str(suite), "--name", "   ", "--dry-run")
    assert code == 2 and "--name" in err
    code, _, err = run(capsys, "study", "run", str(suite), "--name", "", "--dry-run")
    assert code == 2 and "--name" in err  # today: quietly uses the suite's name


def test_a_long_rater_name_can_still_send_its_votes_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(default_path())
    make_study(store, SUITE)
    rater = "r" * 300
    try:
        queue = RatingQueue(store.study_sessions("study1"), rater, sink=store)
    except RatingError:
        store.close()
        return  # refused up front: fine
    queue.vote(0)
    store.close()
    # The vote was kept, but the document allows raters of 200 characters at most, so
    # `export --votes` leaves that comparison out and the votes never reach the owner.
    code, out, err = run(capsys, "export", "--votes")
    assert code == 0 and len(json.loads(out)["sessions"]) == 1, err


# == attacks that already behave: keep them covered ==========================================


def test_a_pack_names_no_model_param_reasoning_error_or_owner_judgement(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    suite = write_suite(
        tmp_path / "s.toml",
        'name = "Thinker versus Speedy"\nsamples = 2\n'
        '[[prompts]]\nid = "speedy-prompt"\ntext = "Write a haiku."\ntags = ["thinker", "poetry"]\n'
        '[[prompts]]\nid = "p1"\ntext = "Explain tides."\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-reasoner@tps=0"\nlabel = "Thinker"\n'
        'params = { temperature = 0.7, max_output_tokens = 4000, system = "You are SECRETSYS." }\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast@tps=0"\nlabel = "Speedy"\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-hidden@tps=0,think_delay_s=0"\nlabel = "Silent"\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast@tps=0,fault=400"\nlabel = "Broken"\n',
    )
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 1, err  # the broken lane fails
    store = Store(default_path())
    info = store.studies()[0]
    queue = RatingQueue(store.study_sessions(info.id), "ownerann", sink=store)
    while not queue.finished:
        queue.vote(0, guessed=[0], scores={0: 4}, notes={0: "ownernote"})
    sessions = store.study_sessions(info.id)
    store.close()
    pack = tmp_path / "pack.json"
    code, _, err = run(capsys, "export", "--study", info.name, "--rating-pack", "-o", str(pack))
    assert code == 0, err
    text = pack.read_text("utf-8").casefold()
    secret = identities(sessions) | {"demo-", "temperature", "max_output_tokens", "secretsys"}
    secret |= {"ownerann", "ownernote", "thinker", "speedy", "silent", "broken"}
    for s in sessions:
        for r in s.turns[0].responses.values():
            if r.reasoning:
                secret |= {r.reasoning[:25], r.reasoning[len(r.reasoning) // 2 :][:25]}
            if r.error:
                secret.add(r.error.message[:25])
    leaks = sorted(x for x in secret if x and x.casefold() in text)
    assert leaks == []
    doc = json.loads(pack.read_text("utf-8"))
    for s in doc["sessions"]:
        for r in s["turns"][0]["responses"]:
            assert r["usage"]["output_tokens"] == r["usage"]["reasoning_tokens"] == 0
            assert r["hidden_reasoning"] is False and r["ratings"] == [] and r["notes"] == []
        assert s["turns"][0]["votes"] == []


@pytest.mark.parametrize(
    ("mutate", "place"),
    [
        (lambda v: v.update(seconds_to_vote=-1), "seconds_to_vote"),
        (lambda v: v.update(seconds_to_vote=1e300), "seconds_to_vote"),
        (lambda v: v.update(repeat="yes"), "repeat"),
        (lambda v: v.update(shown_order=["a", "a"]), "shown_order"),
        (lambda v: v.update(choice="nobody"), "choice"),
        (lambda v: v.update(guess_reasoners=["zz"]), "guess_reasoners"),
        (lambda v: v.update(rater="r" * 201), "rater"),
    ],
    ids=[
        "negative-time",
        "huge-time",
        "repeat-str",
        "shown-dup",
        "unknown-choice",
        "unknown-guess",
        "long-rater",
    ],
)
def test_a_hostile_vote_is_refused_by_its_place_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mutate: Any, place: str
) -> None:
    vote = {"rater": "x", "choice": "a", "voted_at": "x", "shown_order": ["a", "b"]}
    mutate(vote)
    code, _, err = run(capsys, "import", write_doc(tmp_path / "v.json", document(session_doc(votes=[vote]))))
    assert code == 2 and f"sessions[0].turns[0].votes[0].{place}" in err and "nothing was imported" in err
    assert session_count() == 0


def test_nan_duplicate_raters_and_too_many_votes_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    vote = {"rater": "x", "choice": "a", "voted_at": "x"}
    path = tmp_path / "nan.json"
    path.write_text(
        json.dumps(document(session_doc(votes=[vote]))).replace(
            '"voted_at"', '"seconds_to_vote": NaN, "voted_at"'
        )
    )
    code, _, err = run(capsys, "import", str(path))
    assert code == 2 and "NaN" in err
    code, _, err = run(
        capsys, "import", write_doc(tmp_path / "d.json", document(session_doc(votes=[vote, vote])))
    )
    assert code == 2 and "votes[1].rater: votes twice" in err
    many = [{**vote, "rater": f"r{i}"} for i in range(10_001)]
    code, _, err = run(capsys, "import", write_doc(tmp_path / "m.json", document(session_doc(votes=many))))
    assert code == 2 and "at most 10000" in err
    assert session_count() == 0


def test_merged_votes_must_name_this_comparisons_lanes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = Store(default_path())
    make_study(store, SUITE, "study1")
    make_study(store, SUITE, "study2", "Other")
    mine, other = store.study_sessions("study1")[0], store.study_sessions("study2")[0]
    other_map = rating_pack([other], "Other").mapping
    store.remember_pack(other_map)
    store.close()
    base = json.loads(json.dumps(parse_doc_of(mine)))
    for choice in ("not-a-lane", next(iter(other_map)), other.lanes[0].id):
        doc = copy.deepcopy(base)
        doc["lanes"].append({"id": choice, "provider": "x", "model": "y", "label": "", "params": {}})
        doc["turns"][0]["votes"] = [{"rater": "bo", "choice": choice, "voted_at": "x"}]
        code, _, err = run(capsys, "import", write_doc(tmp_path / "v.json", document(doc)))
        assert code == 2 and "sessions[0].turns[0].votes[0].choice" in err, (choice, err)
    store = Store(default_path())
    try:
        assert all(not s.turns[0].votes for s in store.study_sessions("study1"))
    finally:
        store.close()


def parse_doc_of(session: Session) -> dict[str, Any]:
    from chatlab.core.data.export import session_dict

    return session_dict(session)


def test_a_merge_adds_votes_and_nothing_else(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store = Store(default_path())
    make_study(store, SUITE)
    s = store.study_sessions("study1")[0]
    store.close()
    d = parse_doc_of(s)
    d["title"] = "HIJACKED"
    d["turns"][0]["prompt"] = "HIJACKED prompt"
    for r in d["turns"][0]["responses"]:
        r["text"] = "HIJACKED answer"
        r["cost_usd"] = 123456.789
    d["lanes"].append({"id": "extra", "provider": "evil", "model": "x", "label": "", "params": {}})
    d["turns"][0]["responses"].append(response("extra", "HIJACKED extra"))
    d["turns"].append(
        {"id": "new-turn", "prompt": "HIJACKED 2", "created_at": "x", "responses": [], "votes": []}
    )
    d["turns"][0]["votes"] = [{"rater": "bo", "choice": s.lanes[0].id, "voted_at": "x"}]
    code, out, err = run(capsys, "import", write_doc(tmp_path / "v.json", document(d)))
    assert code == 0 and "merged 1 vote" in out, err
    code, out, _ = run(capsys, "export", "--all")
    assert "HIJACKED" not in out and "123456.789" not in out
    store = Store(default_path())
    try:
        assert store.load(s.id).turns[0].vote_of("name:bo") is not None and store.studies()[0].spent_usd == 0
    finally:
        store.close()


def test_a_pack_imported_into_its_owner_or_twice_adds_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(default_path())
    make_study(store, SUITE)
    store.close()
    pack = tmp_path / "pack.json"
    assert run(capsys, "export", "--study", "queue", "--rating-pack", "-o", str(pack))[0] == 0
    code, out, _ = run(capsys, "import", str(pack))
    assert code == 0 and out == "imported 0 sessions (4 already present)\n"
    monkeypatch.setenv("CHATLAB_HOME", str(tmp_path / "bo"))
    assert run(capsys, "import", str(pack))[1] == "imported 4 sessions\n"
    assert run(capsys, "import", str(pack))[1] == "imported 0 sessions (4 already present)\n"
    store = Store(default_path())
    try:
        assert len(store.studies()) == 1 and store.studies()[0].status == "imported"
    finally:
        store.close()
    code, _, err = run(capsys, "study", "resume", "queue")
    assert code == 2 and "imported" in err


def test_a_pack_of_a_pack_brings_a_third_raters_votes_home(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    homes = {who: tmp_path / who for who in ("owner", "bo", "cy")}
    monkeypatch.setenv("CHATLAB_HOME", str(homes["owner"]))
    store = Store(default_path())
    make_study(store, SUITE)
    store.close()
    p1, p2, v_cy, v_bo = (tmp_path / f"{n}.json" for n in ("p1", "p2", "vcy", "vbo"))
    assert run(capsys, "export", "--study", "queue", "--rating-pack", "-o", str(p1))[0] == 0
    monkeypatch.setenv("CHATLAB_HOME", str(homes["bo"]))
    assert run(capsys, "import", str(p1))[0] == 0
    assert run(capsys, "export", "--study", "queue", "--rating-pack", "-o", str(p2))[0] == 0
    monkeypatch.setenv("CHATLAB_HOME", str(homes["cy"]))
    assert run(capsys, "import", str(p2))[0] == 0
    store = Store(default_path())
    queue = RatingQueue(store.study_sessions(store.studies()[0].id), "cy", sink=store)
    while not queue.finished:
        queue.vote(1, scores={1: 2})
    store.close()
    assert run(capsys, "export", "--votes", "-o", str(v_cy))[0] == 0
    monkeypatch.setenv("CHATLAB_HOME", str(homes["bo"]))
    assert "merged 4 votes and 4 ratings" in run(capsys, "import", str(v_cy))[1]
    assert run(capsys, "export", "--votes", "-o", str(v_bo))[0] == 0
    monkeypatch.setenv("CHATLAB_HOME", str(homes["owner"]))
    code, out, err = run(capsys, "import", str(v_bo))
    assert code == 0 and "merged 4 votes and 4 ratings" in out, err
    store = Store(default_path())
    try:
        for s in store.study_sessions("study1"):
            vote = s.turns[0].vote_of("cy")
            assert vote is not None and vote.choice in {lane.id for lane in s.lanes}
            rating = s.turns[0].responses[vote.choice].rating_of("cy")
            assert rating is not None and rating.score == 2
    finally:
        store.close()


def test_the_queue_takes_empty_and_all_failed_studies_and_hostile_notes(tmp_path: Path) -> None:
    assert RatingQueue([], "ann").total == 0 and RatingQueue([], "ann").current is None
    failed = answered(SUITE)
    for s in failed:
        for lane in s.lanes:
            s.turns[0].responses[lane.id] = Response(
                lane.id, status=Status.ERROR, error=ErrorInfo(ErrorKind.BAD_REQUEST, "boom", 400)
            )
    queue = RatingQueue(failed, "ann")
    assert queue.total == 0 and queue.finished
    with pytest.raises(RatingError):
        queue.vote("tie")
    store = Store(tmp_path / "q.db")
    make_study(store, SUITE)
    queue = RatingQueue(store.study_sessions("study1"), "ann", sink=store)
    item = queue.current
    assert item is not None
    queue.vote(0, scores={0: 3}, notes={0: "a\x00b\ud800c" + "z" * 1_000_000, 1: "\x1b\x07 \t "})
    turn = store.load(item.session.id).turns[0]
    notes = [rating.note for resp in turn.responses.values() for rating in resp.ratings]
    assert len(notes) == 1 and len(notes[0]) == MAX_NOTE and notes[0].startswith("ab\ufffdc")
    assert "\x00" not in notes[0]


def test_hostile_names_and_suites_are_one_line(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    assert run(capsys, "study", "show", "nothing")[0] == 2  # no database yet
    run_study(capsys, home, server, tmp_path)
    for key in ("", " ", "\u202enope", "x" * 10_000, "\x1b[2J", "%", "_"):
        for command in ("show", "resume"):
            code, _, err = run(capsys, "study", command, key)
            assert code == 2 and len(err.strip().splitlines()) == 1 and len(err) < 300, (key, err)
            assert "\x1b" not in err
    lane, prompt = '[[lanes]]\nprovider = "demo"\nmodel = "m"\n', '[[prompts]]\nid = "p"\ntext = "t"\n'
    for bad in (
        'name = "a\\u001b[2Jb"\n' + prompt + lane,  # a control character in the name
        'name = "n"\nsamples = 0\n' + prompt + lane,
        'name = "n"\n' + prompt * 2 + lane,  # the same prompt id twice
        'name = "n"\n' + "".join(f'[[prompts]]\nid = "p{i}"\ntext = "t"\n' for i in range(2001)) + lane,
    ):
        code, _, err = run(capsys, "study", "run", str(write_suite(tmp_path / "bad.toml", bad)), "--dry-run")
        assert code == 2 and len(err.strip().splitlines()) == 1, err
    # The same suite again gets a name of its own; odd text in prompts is just text.
    odd = write_suite(
        tmp_path / "odd.toml",
        'name = "Hostile"\n[[prompts]]\nid = "p"\ntext = "\\u202eRTL \\u0000 NUL \\u001b[2J 😀"\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast@tps=0"\n',
    )
    code, _, err = run(capsys, "study", "run", str(odd), "--yes")
    assert code == 0 and "'Hostile (2)'" in err, err
    code, out, _ = run(capsys, "study", "list")
    assert code == 0 and "Hostile (2)" in out and "\x1b" not in out


def test_orphaned_comparisons_and_a_trimmed_snapshot_do_not_crash(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    run_study(capsys, home, server, tmp_path)
    con = db(home)
    with con:
        [(suite_json, study_id)] = con.execute("SELECT suite, id FROM studies").fetchall()
        suite = json.loads(suite_json)
        suite["prompts"] = suite["prompts"][:1]  # a prompt taken out of the snapshot
        con.execute("UPDATE studies SET suite = ?", (json.dumps(suite),))
        con.execute("UPDATE responses SET status = 'interrupted'")
    con.close()
    sent = len(server.log)
    code, _, err = run(capsys, "study", "resume", "hostile")
    assert code == 0, err
    assert len(server.log) - sent == 4  # the comparisons on record decide what is sent
    con = db(home)
    with con:
        con.execute("DELETE FROM studies")
    con.close()
    assert run(capsys, "study", "list")[1] == "no studies yet\n"
    assert run(capsys, "study", "show", study_id[:8])[0] == 2
    code, out, _ = run(capsys, "sessions")
    assert code == 0 and out.count("[blind]") == 2
    assert run(capsys, "export", "--all")[0] in (0, 1)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a" * 300, "…aaa"),  # too long for the file system: one line, not a traceback
        ("a" * 300 + ".toml", "…aaa"),
        ("", "(shipped suites, by name: demo, reasoning-vs-plain)"),
        ("demo.toml", "No such file or directory (shipped suites, by name: demo,"),
        ("dem", "no suite file 'dem', and no shipped suite of that name"),
        ("../demo", "../demo: cannot read"),
    ],
)
def test_a_suite_name_that_is_neither_a_file_nor_shipped_is_one_line(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    monkeypatch.chdir(home.parent)
    code, _out, err = run(capsys, "study", "run", name, "--dry-run")
    assert code == 2 and expected in err and err.count("\n") == 1, err


def test_a_folder_named_like_a_shipped_suite_does_not_shadow_it(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(home.parent)
    (home.parent / "demo").mkdir()
    code, _out, err = run(capsys, "study", "run", "demo", "--dry-run")
    assert code == 0 and "dry run: nothing was sent" in err
    # A file of that name does win: it is what the user pointed at.
    (home.parent / "demo").rmdir()
    (home.parent / "demo").write_text("not toml [")
    code, _out, err = run(capsys, "study", "run", "demo", "--dry-run")
    assert code == 2 and "demo: invalid TOML" in err
