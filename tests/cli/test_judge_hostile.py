"""Hostile imports of judge votes (``chatlab import FILE``): a ``judgement`` that names
lanes the comparison lacks, contradicts its own vote, sits on a person's vote, or is
missing from a judge's, is refused by its place and writes nothing; a good one merges,
once; and ``chatlab stats`` never crashes on what was imported."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path
from tests.cli.test_judge import JUDGE, RATER, _chat_body, _judged, _rows, _study
from tests.core.studies.test_study import run, write_config

Doc = dict[str, Any]


def _exported(home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]) -> Doc:
    """A judged study's full document."""
    _study(home, tmp_path, server, capsys)
    code, _, err = run(capsys, "judge", "Test study", "-m", JUDGE)
    assert code == 0, err
    out = tmp_path / "study.json"
    code, _, err = run(capsys, "export", "--study", "Test study", "-o", str(out))
    assert code == 0, err
    return cast("Doc", json.loads(out.read_text("utf-8")))


def _judge_vote(doc: Doc, s: int = 0) -> dict[str, Any]:
    [vote] = [v for v in doc["sessions"][s]["turns"][0]["votes"] if v.get("rater_id") == RATER]
    return cast("dict[str, Any]", vote)


def _lanes(doc: Doc, s: int = 0) -> list[str]:
    return [lane["id"] for lane in doc["sessions"][s]["lanes"]]


def _snapshot(home: Path) -> tuple[object, ...]:
    counts = [
        _rows(home, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("sessions", "turns", "votes", "judge_calls")
    ]
    return (*counts, _rows(home, "SELECT group_concat(judgement, '|') FROM votes")[0][0])


def _swap(v: dict[str, Any]) -> None:
    """A judge vote choosing the other answer than its judgement says."""
    lanes = v["judgement"]["orders"][0]
    v["choice"] = lanes[1] if v["choice"] == lanes[0] else lanes[0]


def _lookalike(v: dict[str, Any]) -> None:
    v["judgement"]["choices"] = ["А" if c == "A" else c for c in v["judgement"]["choices"]]  # Cyrillic A


def _huge_orders(v: dict[str, Any]) -> None:
    letters = [chr(ord("a") + i) * 8 for i in range(26)]
    v["judgement"]["orders"] = [letters[i:] + letters[:i] for i in range(26)]
    v["judgement"]["choices"] = ["A"] * 26


HOSTILE: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("human-with-judgement", lambda v: v.update(rater_id="alice", rater="Alice"), "judgement"),
    ("judge-without-judgement", lambda v: v.pop("judgement"), "judgement"),
    ("unknown-lane-in-orders", lambda v: v["judgement"]["orders"][0].__setitem__(0, "ghost"), "orders[0]"),
    ("unknown-lane-in-scores", lambda v: v["judgement"]["scores"].update(ghost={"quality": 5}), "scores"),
    ("choice-disagrees", _swap, "choice"),
    (
        "inconsistent-but-not-a-tie",
        lambda v: v["judgement"].update(consistent=not v["judgement"]["consistent"]),
        "consistent",
    ),
    ("lookalike-letter", _lookalike, "choices"),
    ("26x26-orders", _huge_orders, "orders"),
    ("fewer-choices-than-orders", lambda v: v["judgement"]["choices"].pop(), "choices"),
    ("null-choice-but-a-vote", lambda v: v["judgement"]["choices"].__setitem__(0, None), "choices[0]"),
    (
        "orders-of-different-lanes",
        lambda v: v["judgement"]["orders"][1].__setitem__(0, v["judgement"]["orders"][1][1] + "x"),
        "orders[1]",
    ),
    ("another-judge-named", lambda v: v["judgement"].update(judge="demo:someone-else"), "judge"),
    ("negative-cost", lambda v: v["judgement"].update(cost_usd=-1.0), "cost_usd"),
    ("raw-too-long", lambda v: v["judgement"]["raw"].__setitem__(0, "x" * 20_001), "raw[0]"),
    (
        "score-over-ten",
        lambda v: v["judgement"]["scores"][v["judgement"]["orders"][0][0]].update(quality=11),
        "scores",
    ),
]


@pytest.mark.parametrize(("name", "spoil", "place"), HOSTILE, ids=[h[0] for h in HOSTILE])
@pytest.mark.parametrize("where", ["fresh", "merge"])
def test_a_hostile_judgement_is_refused_by_its_place_and_writes_nothing(
    home: Path,
    tmp_path: Path,
    server: DemoServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    spoil: Callable[[dict[str, Any]], None],
    place: str,
    where: str,
) -> None:
    doc = _exported(home, tmp_path, server, capsys)
    bad = copy.deepcopy(doc)
    spoil(_judge_vote(bad))
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), "utf-8")
    if where == "fresh":
        target = tmp_path / "other"
        monkeypatch.setenv("CHATLAB_HOME", str(target))
        write_config(target, server)
        Store(default_path()).close()  # makes the database
    else:
        target = home
        con = sqlite3.connect(home / "data" / "chatlab.db")
        with con:
            con.execute("DELETE FROM votes WHERE rater = ?", (RATER,))
        con.close()
    before = _snapshot(target)
    code, out, err = run(capsys, "import", str(path))
    assert code != 0, (name, out)
    assert place in err and "Traceback" not in err, (name, err)
    assert _snapshot(target) == before


def test_nan_and_infinity_in_a_judgement_are_refused(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _exported(home, tmp_path, server, capsys)
    for token in ("NaN", "Infinity", "-Infinity"):
        bad = copy.deepcopy(doc)
        _judge_vote(bad)["judgement"]["cost_usd"] = "@@"
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad).replace('"@@"', token), "utf-8")
        before = _snapshot(home)
        code, _, err = run(capsys, "import", str(path))
        assert code != 0 and "Traceback" not in err, (token, err)
        assert _snapshot(home) == before


def test_a_good_judge_vote_merges_once_and_a_conflicting_one_is_refused(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _exported(home, tmp_path, server, capsys)
    path = tmp_path / "doc.json"
    con = sqlite3.connect(home / "data" / "chatlab.db")
    with con:
        con.execute("DELETE FROM votes WHERE rater = ?", (RATER,))
    con.close()
    path.write_text(json.dumps(doc), "utf-8")
    code, _, err = run(capsys, "import", str(path))
    assert code == 0, err
    assert _rows(home, "SELECT COUNT(*) FROM votes WHERE rater = ?", RATER)[0][0] == 6
    before = _snapshot(home)
    code, _, err = run(capsys, "import", str(path))  # twice: nothing changes
    assert code == 0, err
    assert _snapshot(home) == before
    # The same judge's vote on that comparison, changed: refused, the first one kept.
    bad = copy.deepcopy(doc)
    _swap(vote := _judge_vote(bad))
    j = vote["judgement"]
    j["choices"] = ["B" if c == "A" else "A" if c == "B" else c for c in j["choices"]]
    path.write_text(json.dumps(bad), "utf-8")
    if vote["choice"] != "tie":
        code, _, err = run(capsys, "import", str(path))
        assert code != 0 and "conflicts" in err, err
        assert _snapshot(home) == before


def test_stats_never_crash_on_imported_judgements(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _exported(home, tmp_path, server, capsys)
    odd = copy.deepcopy(doc)
    for s in range(len(odd["sessions"])):
        v = _judge_vote(odd, s)
        j = v["judgement"]
        # Valid but odd: no scores, no usage, no raw, no price, no rubric.
        for key in ("scores", "usage", "raw", "problems", "rubric", "seen", "judged_at"):
            j.pop(key, None)
        j["cost_usd"] = None
    con = sqlite3.connect(home / "data" / "chatlab.db")
    with con:
        con.execute("DELETE FROM votes WHERE rater = ?", (RATER,))
    con.close()
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(odd), "utf-8")
    code, _, err = run(capsys, "import", str(path))
    assert code == 0, err
    for argv in (["stats"], ["stats", "--raters", "both", "--json"], ["study", "show", "Test study"]):
        code, out, err = run(capsys, *argv)
        assert code in (0, 1) and "Traceback" not in err, (argv, err)
    code, out, _ = run(capsys, "stats", "--raters", "both", "--json")
    json.loads(out)


# --- the judge's stream -------------------------------------------------------------


def _calls(home: Path, rater: str) -> list[tuple[object, ...]]:
    return _rows(home, "SELECT turn_id, position, problem, cost_usd FROM judge_calls WHERE rater = ?", rater)


def test_a_401_stops_the_run_as_refused_and_keeps_nothing(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    spec = "demo:demo-judge@tps=0,fault=401"
    code, out, err = run(capsys, "judge", "Test study", "-m", spec, "--concurrency", "1")
    assert code != 0 and "refused" in (out + err).lower() and "Traceback" not in err, (out, err)
    assert not _calls(home, "judge:" + spec) and not _judged(home, "judge:" + spec)


def test_a_429_then_success_judges_everything_after_one_more_run(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    spec = "demo:demo-judge@tps=0,fault=429,fail_times=1"
    rater = "judge:" + spec
    _, _, err = run(capsys, "judge", "Test study", "-m", spec, "--concurrency", "1")
    assert "Traceback" not in err, err
    kept = _calls(home, rater)
    assert len(kept) == 11 and all(p is None for _, _, p, _ in kept)  # the busy one: not kept
    code, _, err = run(capsys, "judge", "Test study", "-m", spec)
    assert code == 0, err
    calls = _calls(home, rater)
    assert len(calls) == len({(t, p) for t, p, _, _ in calls}) == 12
    assert set(kept) <= set(calls) and len(_judged(home, rater)) == 6


@pytest.mark.parametrize("fault", ["500", "drop,after=3"])
def test_a_judge_that_fails_every_time_keeps_nothing_and_guesses_nothing(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    _study(home, tmp_path, server, capsys)
    spec = f"demo:demo-judge@tps=0,fault={fault}"
    _, out, err = run(capsys, "judge", "Test study", "-m", spec, "--concurrency", "2")
    assert "Traceback" not in err, err
    assert not _calls(home, "judge:" + spec) and not _judged(home, "judge:" + spec)
    assert "0 judged" in out, out
    # Nothing was kept, so the next run sends every order again.
    _, out, err = run(capsys, "judge", "Test study", "-m", spec, "--dry-run")
    assert "to judge 6" in out, out


@pytest.mark.parametrize("fault", ["malformed,after=3", "truncate,after=3", "error,after=3"])
def test_a_stream_chatlab_cant_read_ends_in_no_verdict_or_a_retry_never_a_guess(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    _study(home, tmp_path, server, capsys)
    spec = f"demo:demo-judge@tps=0,fault={fault}"
    rater = "judge:" + spec
    _, _, err = run(capsys, "judge", "Test study", "-m", spec)
    assert "Traceback" not in err, err
    assert not _judged(home, rater)
    for _, _, problem, _ in _calls(home, rater):
        assert problem  # every kept call says why it has no verdict


def test_a_reasoning_only_answer_and_a_refusal_are_no_verdict_with_their_reason(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    reasoning = "I compare A and B. " + '{"choice": "A"} is what I would say.'
    server.add_replay("thinker", _chat_body(reasoning, 2, field="reasoning_content"))
    code, out, err = run(capsys, "judge", "Test study", "-m", "demo:thinker")
    assert code == 0, err
    assert "6 no verdict" in out and not _judged(home, "judge:demo:thinker")
    assert all(p for _, _, p, _ in _calls(home, "judge:demo:thinker"))
    spec = "demo:demo-judge@tps=0,refusal=1"
    code, out, err = run(capsys, "judge", "Test study", "-m", spec)
    assert code == 0, err
    assert not _judged(home, "judge:" + spec)
    problems = {str(p) for _, _, p, _ in _calls(home, "judge:" + spec)}
    assert problems and all("refused" in p for p in problems), problems


# --- user input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "demo:{braces}"],
        ["-m", "demo:a\nb"],
        ["-m", "demo:" + "x" * 10_000],
        ["-m", ""],
        ["-m", JUDGE, "--rubric", "../x"],
        ["-m", JUDGE, "--rubric", "/etc/passwd"],
        ["-m", JUDGE, "--budget", "-1"],
        ["-m", JUDGE, "--budget", "inf"],
        ["-m", JUDGE, "--concurrency", "0"],
        ["-m", JUDGE, "--concurrency", "-3"],
        ["-m", JUDGE, "--timeout", "nan"],
    ],
)
def test_odd_user_input_is_one_line_and_sends_nothing(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    sent = len(server.log)
    code, _, err = run(capsys, "judge", "Test study", *argv)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert len(err) < 600 and len(server.log) == sent and not _rows(home, "SELECT * FROM judge_calls")


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\xff\xfe binary",
        b"not = [toml",
        b"x" * 300_000,
        b'name = "bad"\n'
        + b"".join(b'[[criteria]]\nname = "c%d"\ndescription = "d"\n' % i for i in range(13)),
        b'name = "bad"\ninstruction = "i"\n[[criteria]]\nname = "c"\ndescription = "d"\nweight = 0\n',
        b'name = "bad"\ninstruction = "i"\n[[criteria]]\nname = "c"\ndescription = "d"\nweight = nan\n',
    ],
)
def test_a_bad_rubric_file_is_one_line_and_sends_nothing(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str], body: bytes
) -> None:
    _study(home, tmp_path, server, capsys)
    folder = home / "rubrics"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bad.toml").write_bytes(body)
    sent = len(server.log)
    code, _, err = run(capsys, "judge", "Test study", "-m", JUDGE, "--rubric", "bad")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert len(server.log) == sent


def test_a_concurrency_of_1000_is_bounded_and_judges_everything(
    home: Path, tmp_path: Path, server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _study(home, tmp_path, server, capsys)
    code, _, err = run(capsys, "judge", "Test study", "-m", JUDGE, "--concurrency", "1000")
    assert "Traceback" not in err, err
    if code == 0:
        assert len(_judged(home)) == 6
    else:
        assert code == 2 and "--concurrency" in err
