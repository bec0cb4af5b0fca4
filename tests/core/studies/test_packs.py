"""Rating packs hold exactly what the owner's own queue would show (a cut-off, stopped or
unfinished comparison is left out, and the export says how many and why), and a newer
pack of the same study updates the comparisons a rater has not voted on yet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatlab import cli
from chatlab.core.data.events import ErrorKind
from chatlab.core.data.export import parse_document
from chatlab.core.data.model import ErrorInfo, Lane, Response, Session, Status, Turn
from chatlab.core.studies.packs import rating_pack
from chatlab.core.studies.rating import CUT_OFF, NO_ANSWER, ONE_ANSWER, STILL_ANSWERING, RatingQueue
from chatlab.core.studies.study import comparisons
from chatlab.core.studies.suites import parse_suite
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path

SUITE: dict[str, Any] = {
    "name": "Pack rules",
    "samples": 2,
    "seed": 3,
    "prompts": [{"id": f"p{i}", "text": f"Prompt {i}"} for i in range(3)],
    "lanes": [
        {"provider": "demo", "model": "demo-reasoner", "label": "Thinker"},
        {"provider": "demo", "model": "demo-fast", "label": "Quick"},
    ],
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def answer(lane_id: str, status: Status, text: str = "") -> Response:
    resp = Response(lane_id, status=status, text_parts=[text] if text else [])
    if status is Status.ERROR:  # refused: failed for good
        resp.error = ErrorInfo(ErrorKind.BAD_REQUEST, "refused", 400)
    elif status in (Status.INTERRUPTED, Status.CANCELLED):
        resp.error = ErrorInfo(ErrorKind.NETWORK, "the stream ended before the provider's end marker")
    return resp


def mixed() -> list[Session]:
    """Six comparisons: ready, cut off, stopped, still streaming, one lane failed for
    good (one answer is no comparison: left out), and both failed (nothing to judge)."""
    sessions = comparisons(parse_suite(SUITE), "study1", "Pack rules")
    second = [
        (Status.OK, "a complete answer"),
        (Status.INTERRUPTED, "a cut-off ans"),
        (Status.CANCELLED, "a stopped ans"),
        (Status.RUNNING, "still stream"),
        (Status.ERROR, ""),
        (Status.ERROR, ""),
    ]
    for i, (s, (status, text)) in enumerate(zip(sessions, second, strict=True)):
        first, other = s.lanes
        turn = s.turns[0]
        turn.responses[first.id] = answer(first.id, Status.ERROR if i == 5 else Status.OK, f"first {i}")
        turn.responses[other.id] = answer(other.id, status, text)
    return sessions


def test_a_pack_holds_exactly_the_comparisons_the_owners_queue_shows(tmp_path: Path) -> None:
    sessions = mixed()
    pack = rating_pack(sessions, "Pack rules")
    owners = RatingQueue(sessions, "ann")
    packed = {s["id"] for s in pack.doc["sessions"]}
    assert packed == {s.id for s in owners.sessions.values()} == {sessions[0].id}
    assert pack.left_out == {CUT_OFF: 2, STILL_ANSWERING: 1, ONE_ANSWER: 1, NO_ANSWER: 1}
    assert pack.left_out_text() == (
        "left out 5 comparisons not ready to rate (2 with an answer cut off or stopped, "
        "1 not answered yet, 1 with no answer to judge, 1 with one answer only (the others failed))"
    )
    # No answer is called "ok" unless it is the owner's complete "ok" answer.
    real = {s.id: s for s in sessions}
    for s in pack.doc["sessions"]:
        texts = {r.text for r in real[s["id"]].turns[0].responses.values() if r.status is Status.OK}
        for r in s["turns"][0]["responses"]:
            assert r["status"] == "error" or (r["status"] == "ok" and r["text"] in texts)
    # The rater's queue is the owner's: the same comparisons, the same answers.
    rater = Store(tmp_path / "rater.db")
    try:
        rater.import_document(parse_document(json.loads(json.dumps(pack.doc))))
        [info] = rater.studies()
        theirs = RatingQueue(rater.study_sessions(info.id), "bo")
        assert theirs.total == owners.total == 1
    finally:
        rater.close()


CUT_SUITE = """
name = "Cut study"
samples = 1
[[prompts]]
id = "p0"
text = "Prompt zero"
[[prompts]]
id = "p1"
text = "Prompt one"
[[lanes]]
provider = "demo"
model = "demo-fast@tps=0,fault=truncate,after=3"
[[lanes]]
provider = "demo"
model = "demo-reasoner@tps=0"
"""


def test_the_pack_export_leaves_out_cut_off_answers_and_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    suite = tmp_path / "cut.toml"
    suite.write_text(CUT_SUITE)
    run(capsys, "study", "run", str(suite), "--yes")  # the cut-off lane fails: exit 1
    store = Store(default_path())
    sessions = store.study_sessions(store.studies()[0].id)
    statuses = {r.status for s in sessions for r in s.turns[0].responses.values()}
    store.close()
    assert statuses == {Status.OK, Status.INTERRUPTED}  # each comparison has a cut-off answer, with its text
    pack = tmp_path / "pack.json"
    code, _, err = run(capsys, "export", "--study", "cut", "--rating-pack", "-o", str(pack))
    assert code == 0, err
    assert "exported 0 sessions" in err
    assert "left out 2 comparisons not ready to rate (2 with an answer cut off or stopped)" in err
    assert json.loads(pack.read_text("utf-8"))["sessions"] == []
    code, out, _ = run(capsys, "study", "show", "cut")
    assert "0 comparisons ready to rate" in out


def write_config(home: Path, srv: DemoServer) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'[providers.demo]\nbase_url = "{srv.openai_base_url}"\nmax_retries = 0\n'
    )


FAILING_SUITE = """
name = "Second pack"
samples = 1
[[prompts]]
id = "p0"
text = "Prompt zero"
[[prompts]]
id = "p1"
text = "Prompt one"
[[lanes]]
provider = "demo"
model = "demo-reasoner@tps=0"
[[lanes]]
provider = "demo"
model = "demo-fast@tps=0"
[[lanes]]
provider = "demo"
model = "demo-coder@tps=0,fault=401,fail_times=2"
[concurrency]
demo = 1
"""


def texts(home: Path) -> dict[str, list[tuple[str, str]]]:
    """Each comparison of the (one) study in this home: its answers (status, text), sorted."""
    store = Store(home / "data" / "chatlab.db")
    try:
        [info] = store.studies()
        return {
            s.id: sorted((r.status.value, r.text) for r in s.turns[0].responses.values())
            for s in store.study_sessions(info.id)
        }
    finally:
        store.close()


def test_a_newer_pack_updates_what_the_rater_has_not_voted_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: DemoServer
) -> None:
    owner, rater = tmp_path / "owner", tmp_path / "rater"
    monkeypatch.setenv("CHATLAB_HOME", str(owner))
    write_config(owner, server)
    suite = tmp_path / "s.toml"
    suite.write_text(FAILING_SUITE)
    run(capsys, "study", "run", str(suite), "--yes")  # the third lane is refused (401) on both prompts
    assert {r[0] for answers in texts(owner).values() for r in answers} == {"ok", "error"}
    first = tmp_path / "pack1.json"
    code, _, err = run(capsys, "export", "--study", "second", "--rating-pack", "-o", str(first))
    assert code == 0 and "exported 2 sessions" in err, err
    assert "created_at" in json.loads(first.read_text("utf-8"))["pack"]

    # The rater imports it and votes on one comparison (two answers of three).
    monkeypatch.setenv("CHATLAB_HOME", str(rater))
    assert run(capsys, "import", str(first))[1] == "imported 2 sessions\n"
    store = Store(default_path())
    [info] = store.studies()
    queue = RatingQueue(store.study_sessions(info.id), "bo", sink=store)
    voted = queue.current
    assert voted is not None and queue.total == 2
    queue.vote(0, scores={0: 4}, notes={0: "fine"})
    store.close()
    before = texts(rater)

    # The owner fixes the lane (the server answers now) and resumes, then packs again.
    monkeypatch.setenv("CHATLAB_HOME", str(owner))
    code, _, err = run(capsys, "study", "resume", "second", "--yes", "--retry-failed")
    assert code == 0, err
    assert {r[0] for answers in texts(owner).values() for r in answers} == {"ok"}
    second = tmp_path / "pack2.json"
    assert run(capsys, "export", "--study", "second", "--rating-pack", "-o", str(second))[0] == 0

    # The newer pack updates the comparison bo has not voted on, and says which it kept.
    monkeypatch.setenv("CHATLAB_HOME", str(rater))
    code, out, err = run(capsys, "import", str(second))
    assert code == 0, err
    assert out == (
        "imported 0 sessions (2 already present); updated 1 comparison to this newer pack's answers; "
        "kept 1 comparison as before: voted on or rated already\n"
    )
    after = texts(rater)
    assert after[voted.session.id] == before[voted.session.id]  # bo's vote stays on what bo saw
    [other] = set(after) - {voted.session.id}
    assert [r[0] for r in after[other]] == ["ok", "ok", "ok"] and after[other] == texts(owner)[other]
    store = Store(default_path())
    try:
        [info] = store.studies()
        sessions = store.study_sessions(info.id)
        kept = next(s for s in sessions if s.id == voted.session.id).turns[0]
        vote = kept.vote_of("bo")
        assert vote is not None and vote.choice in kept.responses
        rating = kept.responses[vote.choice].rating_of("bo")
        assert rating is not None and (rating.score, rating.note) == (4, "fine")
        queue = RatingQueue(sessions, "bo", sink=store)
        assert (queue.total, queue.rated) == (2, 1)  # the updated one waits, with both answers
        current = queue.shown()
        assert current is not None and len(current.answers) == 3
        assert store.search("Prompt")  # the search index follows the new answers
    finally:
        store.close()

    # The first pack again (older) changes nothing; the second again changes nothing.
    code, out, _ = run(capsys, "import", str(first))
    assert code == 0 and out == (
        "imported 0 sessions (2 already present); this pack is older than one imported before: "
        "2 comparisons left as they are\n"
    )
    assert run(capsys, "import", str(second))[1] == "imported 0 sessions (2 already present)\n"
    assert texts(rater) == after

    # bo's votes go back to the owner and land on the real lanes, both of them.
    store = Store(default_path())
    queue = RatingQueue(store.study_sessions(store.studies()[0].id), "bo", sink=store)
    queue.vote(1)
    store.close()
    votes = tmp_path / "votes.json"
    assert run(capsys, "export", "--votes", "-o", str(votes))[0] == 0
    monkeypatch.setenv("CHATLAB_HOME", str(owner))
    code, out, err = run(capsys, "import", str(votes))
    assert code == 0 and out.endswith("merged 2 votes and 1 rating from other raters\n"), (out, err)
    store = Store(default_path())
    try:
        for s in store.study_sessions(store.studies()[0].id):
            vote = s.turns[0].vote_of("bo")
            assert vote is not None and vote.choice in {lane.id for lane in s.lanes}
            assert s.turns[0].responses[vote.choice].status is Status.OK
    finally:
        store.close()


def test_a_pack_date_that_cant_be_compared_is_refused_by_its_place(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = rating_pack(mixed(), "Pack rules").doc
    doc["pack"]["created_at"] = "9999"  # would sort after every real date: no later pack could update
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(path))
    assert code == 2 and "pack.created_at" in err and "nothing was imported" in err
    store = Store(default_path())
    try:
        assert store.studies() == []
    finally:
        store.close()


def test_a_pack_updates_only_comparisons_of_its_own_study(tmp_path: Path) -> None:
    # A pack naming the ids of one of the rater's own chats (claiming it for the study)
    # must not replace that chat's answers.
    rater = Store(tmp_path / "rater.db")
    try:
        sessions = mixed()
        first = rating_pack(sessions, "Pack rules").doc
        rater.import_document(parse_document(first), first["pack"]["created_at"])
        chat = Session(lanes=[Lane("openai", "gpt-x")], turns=[Turn("hello")], title="my chat")
        chat.turns[0].responses[chat.lanes[0].id] = Response(chat.lanes[0].id, Status.OK, text_parts=["mine"])
        rater.save_session(chat)
        later = rating_pack(sessions, "Pack rules").doc  # fresh lane ids
        later["pack"]["created_at"] = "2999-01-01T00:00:00.000Z"
        forged = later["sessions"][0]
        forged["id"], forged["turns"][0]["id"] = chat.id, chat.turns[0].id
        forged["turns"][0]["responses"][0]["text"] = "not mine"
        result = rater.import_document(parse_document(later), later["pack"]["created_at"])
        assert result.updated == 0
        back = rater.load(chat.id)
        assert [lane.model for lane in back.lanes] == ["gpt-x"]
        assert [r.text for r in back.turns[0].responses.values()] == ["mine"]
    finally:
        rater.close()
