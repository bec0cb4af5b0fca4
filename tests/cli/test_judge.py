"""``chatlab judge`` end to end over the loopback server with the real SDK: every finished
comparison gets a judge vote or a "no verdict" with its reason, the judge's spend is its
own, the budget refusal sends nothing, a kill -9 and a second run give exactly one
judgement per comparison (each order's call once, its spend once), a comparison whose
answer changed is judged again, and hostile judges (10 MB of text, a stream that never
ends, prose instead of JSON) end as "no verdict", never as a guess."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from chatlab.core.data import format as fmt
from chatlab.core.data.model import Status
from chatlab.core.judging.plan import spend_words
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path
from tests.conftest import PYTHON, subprocess_env
from tests.core.studies.test_study import run, write_config, write_suite

JUDGE = "demo:demo-judge@tps=0"
RATER = "judge:" + JUDGE


def _study(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str], **kw: object
) -> None:
    write_config(home, server)
    lanes = kw.pop("lanes", [("demo", "demo-fast@tps=0"), ("demo", "demo-reasoner@tps=0")])
    suite = write_suite(tmp_path / "s.toml", lanes=lanes, prompts=3, samples=2, **kw)  # type: ignore[arg-type]
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 0, err


def _rows(home: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(home / "data" / "chatlab.db")
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _judged(home: Path, rater: str = RATER) -> dict[str, dict[str, object]]:
    """Each comparison's judge vote, by turn id: its choice and judgement."""
    return {
        str(t): {"choice": c, **json.loads(str(j))}
        for t, c, j in _rows(home, "SELECT turn_id, choice, judgement FROM votes WHERE rater = ?", rater)
    }


def test_the_judge_gives_every_finished_comparison_a_vote_and_its_spend_is_its_own(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    spent_before = _rows(home, "SELECT SUM(cost_usd) FROM responses")[0][0]
    code, out, err = run(capsys, "judge", "Test study", "-m", JUDGE)
    assert code == 0, err
    assert "6 comparisons, 6 finished" in out and "to judge 6" in out
    assert "12 calls (2 orders each)" in out  # both ways round, before anything is sent
    votes = _judged(home)
    assert len(votes) == 6
    lanes = {str(r[0]) for r in _rows(home, "SELECT id FROM lanes")}
    for v in votes.values():
        assert v["choice"] == "tie" or v["choice"] in lanes
        orders = v["orders"]
        assert isinstance(orders, list) and len(orders) == 2 and orders[0] == orders[1][::-1]
        assert v["consistent"] is (v["choice"] != "tie" or v["choices"] == ["tie", "tie"])
        assert isinstance(v["cost_usd"], float) and v["cost_usd"] > 0
    # The judge's spend is its calls', and no contender's cost moved.
    calls = _rows(home, "SELECT COUNT(*), SUM(cost_usd) FROM judge_calls WHERE rater = ?", RATER)[0]
    assert calls[0] == 12
    assert _rows(home, "SELECT SUM(cost_usd) FROM responses")[0][0] == spent_before
    assert f"judge spend {fmt.cost(float(str(calls[1])))}" in out  # shown, as its own
    # `study show` keeps the judge apart from the people who rated.
    code, shown, _ = run(capsys, "study", "show", "Test study")
    assert "rated    nobody yet" in shown
    assert f"judged   {RATER} 6; its own spend {fmt.cost(float(str(calls[1])))}" in shown
    # Again: nothing left, nothing sent.
    sent = len(server.log)
    code, out, err = run(capsys, "judge", "Test study", "-m", JUDGE)
    assert code == 0 and "judged   6; to judge 0" in out and "has judged every finished" in err
    assert len(server.log) == sent


def test_an_estimate_over_the_budget_is_refused_and_nothing_is_sent(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    sent = len(server.log)
    code, _, err = run(capsys, "judge", "Test study", "-m", JUDGE, "--budget", "0.000001")
    assert code == 2 and "exceeds the budget" in err and "nothing was sent" in err
    assert len(server.log) == sent and not _rows(home, "SELECT * FROM judge_calls")
    code, _, err = run(capsys, "judge", "Test study", "-m", JUDGE, "--dry-run")
    assert code == 0 and "dry run: nothing was sent" in err and len(server.log) == sent


def test_usage_errors_are_one_line(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    for argv, said in (
        (["judge", "No such", "-m", JUDGE], "no study named"),
        (["judge", "Test study", "-m", "nope:model"], "nope"),
        (["judge", "Test study", "-m", JUDGE, "--rubric", "no-such"], "no rubric 'no-such'"),
        (["judge", "Test study", "-m", JUDGE, "--budget", "nan"], "--budget"),
        (["judge", "Test study", "-m", JUDGE, "--timeout", "0"], "--timeout"),
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2 and said in err and err.count("\n") == 1, (argv, err)


def test_a_comparison_whose_answer_changed_is_judged_again(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    assert run(capsys, "judge", "Test study", "-m", JUDGE)[0] == 0
    before = _judged(home)
    # A lane's answer is replaced (as a study resume --retry-failed would).
    with closing(Store(default_path())) as store:
        [study] = store.studies()
        session = store.study_sessions(study.id)[0]
    turn = session.turns[0]
    lane = session.lanes[0].id
    assert turn.responses[lane].status is Status.OK
    con = sqlite3.connect(home / "data" / "chatlab.db")
    with con:
        con.execute(
            "UPDATE responses SET text = ? WHERE turn_id = ? AND lane_id = ?",
            ("A different answer, sent again.", turn.id, lane),
        )
    con.close()
    code, out, err = run(capsys, "judge", "Test study", "-m", JUDGE)
    assert code == 0, err
    assert "to judge 1, 1 again for new answers" in out
    after = _judged(home)
    assert after[turn.id]["seen"] != before[turn.id]["seen"]
    assert {k: v for k, v in after.items() if k != turn.id} == {
        k: v for k, v in before.items() if k != turn.id
    }
    # The old calls stay on record: they were paid for.
    assert _rows(home, "SELECT COUNT(*) FROM judge_calls WHERE turn_id = ?", turn.id)[0][0] == 4


def test_kill_9_then_judge_again_gives_exactly_one_judgement_per_comparison(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    slow = "demo:demo-judge@tps=60"  # long enough for a kill between calls
    proc = subprocess.Popen(
        [PYTHON, "-m", "chatlab", "judge", "Test study", "-m", slow, "--concurrency", "2"],
        env=subprocess_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    rater = "judge:" + slow
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            kept = _rows(home, "SELECT COUNT(*) FROM judge_calls WHERE rater = ?", rater)[0][0]
            if 3 <= int(str(kept)) < 12:  # some kept, some not: a comparison may be half judged
                break
            time.sleep(0.005)
        else:
            pytest.fail("the judge never got part-way")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    kept_before = _rows(home, "SELECT turn_id, position, cost_usd FROM judge_calls WHERE rater = ?", rater)
    assert len(kept_before) < 12
    done = subprocess.run(
        [PYTHON, "-m", "chatlab", "judge", "Test study", "-m", slow],
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    calls = _rows(home, "SELECT turn_id, position, cost_usd FROM judge_calls WHERE rater = ?", rater)
    assert len(calls) == 12 and len({(t, p) for t, p, _ in calls}) == 12  # each order once
    assert set(kept_before) <= set(calls)  # what was kept stayed as it was
    assert len(_judged(home, rater)) == 6  # one vote per comparison
    spend = sum(float(str(c)) for _, _, c in calls)
    assert "judge spend" in done.stdout and spend > 0


def _chat_body(text: str, pieces: int, field: str = "content") -> bytes:
    """A Chat Completions stream whose answer (or, with ``field="reasoning_content"``, its
    reasoning alone) is ``text`` in ``pieces`` chunks."""
    step = max(1, len(text) // pieces)
    frames = []
    for i in range(0, len(text), step):
        chunk = {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {field: text[i : i + step]}, "finish_reason": None}],
        }
        frames.append(f"data: {json.dumps(chunk)}\n\n")
    end = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    frames.append(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n")
    return "".join(frames).encode()


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("I think Answer A is better, clearly.", "no JSON found"),
        ('{"choice": "A", "reason": "x"}\n{"choice": "B", "reason": "y"}', "two JSON answers"),
        ('{"scores": {}, "choice": "Model C", "reason": "x"}', "C"),
        ("", "empty"),
    ],
)
def test_hostile_judge_output_is_no_verdict_with_its_reason(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str], reply: str, said: str
) -> None:
    _study(home, tmp_path, server, capsys)
    server.add_replay("bad-judge", _chat_body(reply, 3) if reply else _chat_body("", 1))
    code, out, err = run(capsys, "judge", "Test study", "-m", "demo:bad-judge")
    assert code == 0, err
    assert "0 judged" in out and "6 no verdict" in out and said in out
    assert not _judged(home, "judge:demo:bad-judge")  # never a guess
    problems = _rows(home, "SELECT DISTINCT problem FROM judge_calls WHERE rater = ?", "judge:demo:bad-judge")
    assert problems and all(said in str(p[0]) for p in problems)


def test_a_judge_that_streams_10_mb_is_stopped_and_has_no_verdict(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys, lanes=[("demo", "demo-fast@tps=0"), ("demo", "demo-coder@tps=0")])
    server.add_replay("flood", _chat_body("blah " * 2_000_000, 2_000), chunk_size=65_536)
    code, out, err = run(capsys, "judge", "Test study", "-m", "demo:flood", "--concurrency", "1")
    assert code == 0, err
    assert "6 no verdict" in out and "passed 200,000 characters" in out
    [(longest,)] = _rows(home, "SELECT MAX(LENGTH(raw)) FROM judge_calls")
    assert 200_000 <= int(str(longest)) < 1_000_000  # stopped near the cap, not read to the end


def test_a_judge_that_never_ends_times_out_as_no_verdict(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    code, out, err = run(
        capsys,
        "judge",
        "Test study",
        "-m",
        "demo:demo-judge@fault=stall,after=2,stall_s=600",
        "--timeout",
        "0.5",
    )
    assert code == 0, err
    assert "6 no verdict" in out and "took too long" in out
    # Timed out is for good: the next run sends nothing.
    sent = len(server.log)
    code, out, _ = run(capsys, "judge", "Test study", "-m", "demo:demo-judge@fault=stall,after=2,stall_s=600")
    assert code == 0 and "to judge 0" in out and len(server.log) == sent


def test_a_judge_on_a_rating_pack_sees_no_identity_and_its_votes_merge_back_onto_the_real_lanes(
    home: Path,
    tmp_path: Path,
    server: DemoServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _study(home, tmp_path, server, capsys)
    pack = tmp_path / "pack.json"
    code, _, err = run(capsys, "export", "--study", "Test study", "--rating-pack", "-o", str(pack))
    assert code == 0, err
    # A colleague imports the pack and lets a judge rate it there.
    other = tmp_path / "colleague"
    monkeypatch.setenv("CHATLAB_HOME", str(other))
    write_config(other, server)
    assert run(capsys, "import", str(pack))[0] == 0
    sent = len(server.log)
    code, out, err = run(capsys, "judge", "Test study", "-m", JUDGE)
    assert code == 0 and "6 judged" in out, (out, err)
    judge_requests = [json.dumps(r.body) for r in server.log[sent:]]
    assert len(judge_requests) == 12
    for body in judge_requests:  # names, models and labels never reach the judge
        assert "demo-fast" not in body and "demo-reasoner" not in body
    votes = tmp_path / "votes.json"
    assert run(capsys, "export", "--votes", "-o", str(votes))[0] == 0
    # Back with the owner: the judge's votes merge like any rater's, on the real lanes.
    monkeypatch.setenv("CHATLAB_HOME", str(home))
    code, out, err = run(capsys, "import", str(votes))
    assert code == 0, err
    merged = _judged(home)
    assert len(merged) == 6
    with closing(Store(default_path())) as store:
        [study] = store.studies()
        lanes = {t.id: {lane.id for lane in s.lanes} for s in store.study_sessions(study.id) for t in s.turns}
    for turn_id, v in merged.items():
        assert v["choice"] == "tie" or v["choice"] in lanes[turn_id]
        assert all(set(order) == lanes[turn_id] for order in v["orders"])  # type: ignore[attr-defined]
        assert set(v["scores"]) == lanes[turn_id]  # type: ignore[call-overload]
    # Importing the same votes again changes nothing.
    code, out, _ = run(capsys, "import", str(votes))
    assert code == 0 and len(_judged(home)) == 6


def test_a_judges_spend_with_no_price_is_never_zero_dollars() -> None:
    assert spend_words(0.0, 12, 12) == "no price (12 calls)"
    assert spend_words(0.5, 2, 12) == "$0.50 + 2 unpriced calls"
    assert spend_words(0.0, 0, 0) == "$0"


def test_two_runs_of_one_judge_at_once_are_refused_so_no_call_is_paid_twice(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    slow = "demo:demo-judge@tps=30"
    proc = subprocess.Popen(
        [PYTHON, "-m", "chatlab", "judge", "Test study", "-m", slow, "--concurrency", "1"],
        env=subprocess_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the first run holds its claim once it sends
            claimed = _rows(home, "SELECT json_extract(extra, '$.judging') FROM studies")
            if claimed and claimed[0][0] and str(proc.pid) in str(claimed[0][0]):
                break
            time.sleep(0.005)
        else:
            pytest.fail("the first run never claimed the study")
        code, _, err = run(capsys, "judge", "Test study", "-m", slow)
        assert code == 2 and f"in another chatlab (process {proc.pid})" in err
        # Another judge may judge it meanwhile.
        assert run(capsys, "judge", "Test study", "-m", JUDGE)[0] == 0
        os.killpg(proc.pid, signal.SIGKILL)  # killed: its claim is taken over by the next run
    finally:
        proc.wait(10)
    code, _, err = run(capsys, "judge", "Test study", "-m", slow)
    assert code == 0, err
    calls = _rows(home, "SELECT turn_id, position FROM judge_calls WHERE rater = ?", "judge:" + slow)
    assert len(calls) == len(set(calls)) == 12
    assert _rows(home, "SELECT json_extract(extra, '$.judging') FROM studies")[0][0] == "{}"


def test_a_full_disk_stops_the_judge_with_one_line_and_what_was_kept_stays(
    home: Path,
    tmp_path: Path,
    server: DemoServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _study(home, tmp_path, server, capsys)
    verdict = '{"scores": {"A": {"quality": 7, "clarity": 7}, "B": {"quality": 5, "clarity": 5}}, '
    verdict += '"choice": "A", "reason": "fuller"}'
    server.add_replay("wordy", _chat_body("Let me think. " * 4_000 + verdict, 40))  # ~56 KB a call
    real_open = Store._open.__func__  # type: ignore[attr-defined]

    def nearly_full(cls: type[Store], path: Path) -> sqlite3.Connection:
        con: sqlite3.Connection = real_open(cls, path)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages + 60}")  # a few calls, then SQLITE_FULL
        return con

    monkeypatch.setattr(Store, "_open", classmethod(nearly_full))
    code, _, err = run(capsys, "judge", "Test study", "-m", "demo:wordy", "--concurrency", "1")
    assert code == 1 and "full" in err and "judges the rest" in err and "Traceback" not in err
    kept = _rows(home, "SELECT COUNT(*) FROM judge_calls")[0][0]
    assert 0 < int(str(kept)) < 12
    monkeypatch.setattr(Store, "_open", classmethod(real_open))  # room again
    code, _, err = run(capsys, "judge", "Test study", "-m", "demo:wordy")
    assert code == 0, err
    assert (
        _rows(home, "SELECT COUNT(*) FROM judge_calls")[0][0] == 12
        and len(_judged(home, "judge:demo:wordy")) == 6
    )


def test_a_judge_with_parameters_is_a_rater_of_its_own_and_keeps_its_votes(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-m 'demo:demo-judge{temperature=0}'` was paid for and its votes written under the
    plain judge's id, over that judge's votes; it then said it had judged everything."""
    _study(home, tmp_path, server, capsys)
    assert run(capsys, "judge", "Test study", "-m", JUDGE)[0] == 0
    plain = _judged(home)
    cool = JUDGE + "{temperature=0}"
    code, out, err = run(capsys, "judge", "Test study", "-m", cool)
    assert code == 0, err
    [rater] = [r for (r,) in _rows(home, "SELECT DISTINCT rater FROM judge_calls") if r != RATER]
    assert str(rater).startswith(RATER + " {temperature=")
    assert len(_judged(home, str(rater))) == 6  # its votes, under its own id
    assert _judged(home) == plain  # the plain judge's are as they were
    code, out, err = run(capsys, "judge", "Test study", "-m", cool)
    assert code == 0 and "judged   6; to judge 0" in out
