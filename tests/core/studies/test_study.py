"""Studies run unattended against the loopback server with the real SDKs: the shipped
demo suite end to end, the budget refusal and the spend stop, the per-provider limit
as the server sees it, providers side by side, transient failures tried again at the
end, and an exact resume after ``kill -9`` at several moments."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.core.data.events import Usage
from chatlab.core.settings import prompted
from chatlab.core.studies.study import unit_state
from chatlab.core.studies.suites import shipped_suites
from chatlab.demo.scripts import Script
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path
from tests.conftest import PYTHON, subprocess_env


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_config(home: Path, srv: DemoServer, retries: int = 0) -> None:
    """``demo`` (chat wire format) and ``demo2`` (Anthropic's) on the test's server,
    both priced from the demo table."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'[providers.demo]\nbase_url = "{srv.openai_base_url}"\nmax_retries = {retries}\n\n'
        f'[providers.demo2]\nkind = "anthropic"\nbase_url = "{srv.anthropic_base_url}"\n'
        f'needs_key = false\nvendor = "demo"\nmax_retries = {retries}\n'
    )


def write_suite(
    path: Path, *, lanes: list[tuple[str, str]], prompts: int = 3, samples: int = 2, **top: object
) -> Path:
    lines = ['name = "Test study"', f"samples = {samples}"]
    concurrency = top.pop("concurrency", None)
    for key, value in top.items():
        lines.append(f"{key} = {json.dumps(value)}")
    if concurrency:
        lines.append("[concurrency]")
        lines += [f"{k} = {v}" for k, v in concurrency.items()]  # type: ignore[attr-defined]
    for i in range(prompts):
        lines += ["[[prompts]]", f'id = "p{i}"', f'text = "Prompt number {i}"', 'tags = ["writing"]']
    for provider, model in lanes:
        lines += ["[[lanes]]", f'provider = "{provider}"', f'model = "{model}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def responses(home: Path) -> list[tuple[str, int, int, str, float | None]]:
    """(prompt id, lane position, sample, status, cost) of every study response on disk."""
    con = sqlite3.connect(home / "data" / "chatlab.db")
    try:
        return con.execute(
            "SELECT s.study_prompt, l.position, s.study_sample, r.status, r.cost_usd FROM responses r "
            "JOIN turns t ON t.id = r.turn_id JOIN sessions s ON s.id = t.session_id "
            "JOIN lanes l ON l.id = r.lane_id WHERE s.study_id IS NOT NULL"
        ).fetchall()
    finally:
        con.close()


FAST = [("demo", "demo-fast@tps=0"), ("demo", "demo-reasoner@tps=0")]


@pytest.mark.slow  # the shipped demo suite, paced as a person would see it: about 20 s
def test_the_demo_suite_runs_with_no_keys_and_lists(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    demo = next(p for p in shipped_suites() if p.name == "demo.toml")
    code, out, err = run(capsys, "study", "run", str(demo), "--yes")
    assert code == 0, err
    assert "Estimate, before anything is sent" in out and "a guess of 1,024 (no history" in out
    assert "140 of 140 answered, 0 failed" in out
    rows = responses(home)
    assert len(rows) == 7 * 10 * 2 and {r[3] for r in rows} == {"ok"}
    assert len({(r[0], r[1], r[2]) for r in rows}) == 140
    code, out, _ = run(capsys, "study", "list")
    assert code == 0 and "done" in out and "140/140 answered" in out and "Demo: which one reasoned?" in out
    code, out, _ = run(capsys, "study", "show", "demo")  # a name's start, any case
    assert code == 0 and "answers  140 of 140, 0 failed, 0 left" in out and "(placebo)" in out
    # A second run of the same suite (named as shipped, no path needed) estimates from
    # history, and gets its own name.
    code, out, err = run(capsys, "study", "run", "demo", "--dry-run")
    assert (
        code == 0
        and "your past answers, same model and settings (mean of 20)" in out
        and "dry run: nothing was sent" in err
    )
    code, _, err = run(capsys, "study", "run", "dem", "--dry-run")
    assert code == 2 and "no shipped suite of that name (shipped: demo, reasoning-vs-plain)" in err
    # The comparisons are ordinary sessions: listed, searchable, exported once voted.
    store = Store(default_path())
    try:
        [info] = store.studies()
        sessions = store.study_sessions(info.id)
        assert len(sessions) == 20 and all(s.blind and len(s.turns) == 1 for s in sessions)
        assert sessions[0].study is not None and sessions[0].study.prompt_id == "dice"
        assert store.search("tin roof")
    finally:
        store.close()


def test_over_budget_is_refused_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    suite = write_suite(tmp_path / "s.toml", lanes=FAST, budget_usd=0.001)
    code, out, err = run(capsys, "study", "run", str(suite))
    assert code == 2
    assert "exceeds the budget of $0.0010; nothing was sent; add --yes" in err
    assert server.log == [] and responses(home) == []
    code, out, _ = run(capsys, "study", "list")
    assert out == "no studies yet\n"


def test_unknown_price_can_not_be_checked_against_a_budget(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    with (home / "config.toml").open("a") as f:
        f.write(
            f'\n[providers.plain]\nkind = "openai-chat"\nbase_url = "{server.openai_base_url}"\n'
            "needs_key = false\n"
        )
    suite = write_suite(tmp_path / "s.toml", lanes=[("plain", "demo-fast")], budget_usd=5)
    code, _, err = run(capsys, "study", "run", str(suite))
    assert code == 2 and "no price for plain:demo-fast" in err and server.log == []


def test_the_spend_stops_new_requests_and_resume_finishes(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    # demo-reasoner costs about $0.003 an answer: a $0.01 budget is spent after a few.
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-reasoner@tps=0")],
        prompts=4,
        samples=3,
        budget_usd=0.01,
        concurrency={"demo": 1},
    )
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 1 and "the budget of $0.010 is spent" in err
    rows = responses(home)
    spent = sum(r[4] or 0 for r in rows)
    assert 0.01 - 0.004 < spent <= 0.01  # never past it, and stopped only when no answer fits
    assert len(rows) == len(server.log) < 12
    # Resuming over budget is refused too, unless told; a new budget lets it finish.
    code, _, err = run(capsys, "study", "resume", "test")
    assert code == 2 and "already spent" in err and "--budget USD" in err
    assert len(server.log) == len(rows)
    code, out, err = run(capsys, "study", "resume", "test", "--budget", "1")
    assert code == 0, err
    assert "is now $1.00" in err and "12 of 12 answered" in out
    assert len(responses(home)) == 12 and len(server.log) == 12  # each unit sent once in all


def test_rate_without_a_display_is_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    tmp_path: Path,
    server: DemoServer,
) -> None:
    write_config(home, server)
    suite = write_suite(tmp_path / "s.toml", lanes=FAST, prompts=8, samples=1)
    assert run(capsys, "study", "run", str(suite), "--yes")[0] == 0
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = run(capsys, "rate")
    assert code == 2 and err.startswith("chatlab: no display") and len(err.splitlines()) == 1
    code, out, _ = run(capsys, "study", "show", "test")
    assert "rated    nobody yet (8 comparisons ready to rate" in out


def test_each_providers_limit_holds_and_providers_run_side_by_side(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    # Slow answers (about 0.25 s each), so requests overlap as much as the limits allow.
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-fast@tps=60"), ("demo2", "demo-hidden@tps=0,think_delay_s=0.25")],
        prompts=6,
        samples=2,
        concurrency={"demo": 2, "demo2": 3},
    )
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 0, err
    assert server.peak_in_flight == {"demo-fast": 2, "demo-hidden": 3}
    # Both providers were in flight together: their requests' lifetimes overlap.
    first_hidden = next(i for i, e in enumerate(server.log) if "demo-hidden" in json.dumps(e.body))
    first_fast = next(i for i, e in enumerate(server.log) if "demo-fast" in json.dumps(e.body))
    assert max(first_hidden, first_fast) < 5
    assert len(responses(home)) == 24


def test_transient_failures_are_tried_again_at_the_end(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server, retries=0)
    # The first 2 requests for this model get a 500; each failed unit is tried once more,
    # after the other units of its provider.
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-fast@tps=0,fault=500,fail_times=2"), ("demo", "demo-reasoner@fault=401")],
        prompts=2,
        samples=2,
        concurrency={"demo": 1},
    )
    code, out, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 1
    rows = responses(home)
    statuses = {(r[0], r[1], r[2]): r[3] for r in rows}
    assert [statuses[(p, 0, s)] for p in ("p0", "p1") for s in (0, 1)] == ["ok"] * 4
    assert [statuses[(p, 1, s)] for p in ("p0", "p1") for s in (0, 1)] == ["error"] * 4
    models = [e.body["model"] for e in server.log if e.body]
    assert sum(m.startswith("demo-fast") for m in models) == 6  # 4 units + the 2 that failed, again
    # The two retries went out after the whole first pass (at the end of the queue).
    assert len(models) == 10 and all(m.startswith("demo-fast") for m in models[-2:])
    assert out.count("failed p") == 4 and "auth" in out  # the permanent failures are listed
    # Resume leaves the refused units alone unless asked.
    code, _, err = run(capsys, "study", "resume", "test")
    assert code == 1 and "nothing left to send" in err


@pytest.mark.parametrize("moment", ["created", "streaming"])
def test_kill_9_then_resume_is_exact(home: Path, tmp_path: Path, server: DemoServer, moment: str) -> None:
    write_config(home, server)
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-fast@tps=40"), ("demo2", "demo-reasoner@tps=400")],
        prompts=3,
        samples=2,
        concurrency={"demo": 2, "demo2": 2},
    )
    proc = subprocess.Popen(
        [PYTHON, "-m", "chatlab", "study", "run", str(suite), "--yes"],
        env=subprocess_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = home / "data" / "chatlab.db"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if db.exists():
                with sqlite3.connect(db) as con:
                    try:
                        sessions = con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
                        states = [r[0] for r in con.execute("SELECT status FROM responses")]
                    except sqlite3.OperationalError:  # the schema is being made
                        sessions, states = 0, []
                if moment == "created" and sessions:
                    break
                if moment == "streaming" and "ok" in states and "running" in states:
                    break
            time.sleep(0.005)
        else:
            pytest.fail(f"the study never reached {moment!r}")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    before = responses(home)
    sent_before = len(server.log)
    # Resume in a fresh process, as a user would.
    done = subprocess.run(
        [PYTHON, "-m", "chatlab", "study", "resume", "test"],
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = responses(home)
    assert len(rows) == 3 * 2 * 2 and {r[3] for r in rows} == {"ok"}
    assert len({(r[0], r[1], r[2]) for r in rows}) == 12  # none duplicated, none lost
    # Only what was missing or cut off was sent again.
    finished_before = sum(1 for r in before if r[3] == "ok")
    assert len(server.log) - sent_before == 12 - finished_before
    store = Store(default_path())
    try:
        [info] = store.studies()
        sessions = store.study_sessions(info.id)
        assert len(sessions) == 6
        # Spend: every answer once, plus what a replaced (cut-off) attempt cost, once.
        final = sum(r.cost_usd or 0 for s in sessions for r in s.turns[0].responses.values())
        replaced = sum(
            x.get("cost_usd", 0)
            for s in sessions
            for r in s.turns[0].responses.values()
            for x in r.retries
            if x.get("replaced")
        )
        assert info.spent_usd == pytest.approx(final + replaced)
        cut = [
            x for s in sessions for r in s.turns[0].responses.values() for x in r.retries if x.get("replaced")
        ]
        assert len(cut) == sum(1 for r in before if r[3] == "running")
        if moment == "streaming":
            assert cut and all(x["replaced"] == "interrupted" for x in cut)
            # A cut-off attempt is priced from its saved text (≈), never $0.
            assert all(x.get("cost_usd", 0) > 0 for x in cut if x.get("text_chars"))
        assert all(unit_state(r) == "done" for s in sessions for r in s.turns[0].responses.values())
    finally:
        store.close()


def test_the_budget_holds_at_concurrency_16(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    # Slow answers of about $0.003 each, 16 allowed in flight: with nothing measured yet,
    # each request in flight counts at the estimate's per-request figure (a 1,024-token
    # guess, about $0.0045), so no request starts that could cross the budget.
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-reasoner@tps=0,think_delay_s=0.3")],
        prompts=10,
        samples=4,
        budget_usd=0.01,
        concurrency={"demo": 16},
    )
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 1 and "the budget of $0.010 is spent" in err
    rows = responses(home)
    costs = [r[4] for r in rows if r[4]]
    assert costs and max(costs) < 0.0045
    spent = sum(costs)
    # The overshoot is at most one request's estimated cost per slot, and here, where the
    # estimate is above what an answer costs, nothing at all.
    assert spent <= 0.01
    assert 0.01 - spent < 0.0045  # and it stopped only when another answer would not fit
    assert len(server.log) == len(rows) < 40


@pytest.mark.parametrize("where", ["suite", "flag"])
def test_a_hanging_provider_times_out_at_the_idle_timeout(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer, where: str
) -> None:
    write_config(home, server)
    # The provider sends a few chunks, then nothing for 60 s: the unit is given up after
    # the idle timeout (not the interactive 300 s), recorded as a timeout, tried once more.
    extra: dict[str, object] = {"idle_timeout_s": 0.4} if where == "suite" else {}
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-fast@tps=0,fault=stall,after=2")],
        prompts=1,
        samples=1,
        **extra,
    )
    argv = ["study", "run", str(suite), "--yes", *(["--idle-timeout", "0.4"] if where == "flag" else [])]
    code, out, _ = run(capsys, *argv)
    assert code == 1 and "timeout: no data from the provider for 0.4 s" in out
    assert [r[3] for r in responses(home)] == ["interrupted"]
    assert len(server.log) == 2  # tried once more at the end


def test_the_idle_timeout_is_checked(capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.toml", lanes=[("demo", "demo-fast")], idle_timeout_s=0)
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 2 and "idle_timeout_s" in err
    code, _, err = run(capsys, "study", "run", "demo", "--yes", "--idle-timeout", "nan")
    assert code == 2 and "--idle-timeout must be more than 0" in err
    assert not default_path().exists()  # nothing was created


def test_an_answer_cut_off_by_a_crash_is_priced_from_its_saved_text(home: Path) -> None:
    from chatlab.core.costs.tokens import count_tokens
    from chatlab.core.data.model import Lane, Price, Response, Session, Status, Turn

    path = home / "data" / "chatlab.db"
    store = Store(path)
    price = Price(input=1.0, output=10.0)
    lanes = [Lane("demo", "demo-reasoner"), Lane("demo", "demo-fast"), Lane("demo", "demo-hidden")]
    session = Session(lanes=lanes)
    turn = Turn(prompt="Write a poem")
    session.turns.append(turn)
    store.save_session(session)
    streaming = Response(lanes[0].id, Status.RUNNING, price=price)
    streaming.reasoning_parts.append("Let me think about rhyme. " * 20)
    streaming.text_parts.append("Roses are red, " * 30)
    streaming.usage = Usage(input_tokens=12, estimated=True)
    reported = Response(lanes[1].id, Status.RUNNING, price=price, cost_usd=0.5)  # the provider's usage came
    reported.text_parts.append("Done")
    reported.usage = Usage(input_tokens=12, output_tokens=40_000, estimated=False)
    queued = Response(lanes[2].id, Status.QUEUED, price=price)
    for resp in (streaming, reported, queued):
        turn.responses[resp.lane_id] = resp
    store.checkpoint(session, [(turn, r) for r in (streaming, reported, queued)])
    store.close()  # as if killed: the next start recovers

    store = Store(path)
    try:
        assert store.recovered == 3
        got = store.load(session.id).turns[0].responses
        cut = got[lanes[0].id]
        reasoning = count_tokens(streaming.reasoning, "demo-reasoner").tokens
        out = reasoning + count_tokens(streaming.text, "demo-reasoner").tokens
        assert cut.status is Status.INTERRUPTED and cut.usage.estimated
        assert (cut.usage.input_tokens, cut.usage.output_tokens, cut.usage.reasoning_tokens) == (
            12,
            out,
            reasoning,
        )
        assert cut.cost_usd == pytest.approx((12 * 1.0 + out * 10.0) / 1e6)
        assert cut.cost_source == "price"
        assert got[lanes[1].id].cost_usd == 0.5 and got[lanes[1].id].usage.output_tokens == 40_000
        assert got[lanes[2].id].cost_usd is None  # never sent
    finally:
        store.close()


def test_units_that_failed_twice_transiently_show_as_to_retry(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server, retries=0)
    # Every request of the first lane gets a 500 in the first run: both tries fail.
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-fast@tps=0,fault=500,fail_times=4"), ("demo", "demo-reasoner@tps=0")],
        prompts=2,
        samples=1,
        concurrency={"demo": 1},
    )
    code, out, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 1
    assert "2 of 4 answered, 0 failed, 2 to retry" in out and "resume 'Test study'" in err
    code, out, _ = run(capsys, "study", "show", "test")
    assert "status   paused" in out  # not "done": resume has work to do
    assert "answers  2 of 4, 0 failed, 2 to retry, 0 left" in out
    assert "to retry\n  p0/0/0  server" in out
    # Not in the blind queue until resumed: the one answer there would say whose it is.
    assert "nobody yet (0 comparisons ready to rate" in out
    code, out, _ = run(capsys, "study", "list")
    assert "2 to retry" in out
    # Resume sends exactly those two, and then the study is done.
    sent = len(server.log)
    code, out, err = run(capsys, "study", "resume", "test")
    assert code == 0, err
    assert len(server.log) - sent == 2 and "4 of 4 answered, 0 failed, spent" in out
    code, out, _ = run(capsys, "study", "show", "test")
    assert "status   done" in out and "answers  4 of 4, 0 failed, 0 left" in out
    assert "nobody yet (2 comparisons ready to rate" in out


def test_the_budget_is_reached_when_no_request_of_the_work_left_fits() -> None:
    from chatlab.core.studies.estimate import LaneEstimate, budget_reached

    def lane(requests: int, cost: float | None) -> LaneEstimate:
        return LaneEstimate("x", requests, 0, 0, 0, cost, "")

    rows = [lane(10, 0.05), lane(4, 0.04)]  # $0.005 and $0.01 a request
    assert not budget_reached(None, rows, 99.0)
    assert not budget_reached(0.01, rows, 0.0049)  # one request of the first lane still fits
    assert budget_reached(0.01, rows, 0.0051)  # spent $0.0051 < $0.01, yet nothing fits
    assert not budget_reached(0.01, [*rows, lane(3, None)], 0.0051)  # an unpriced lane can run
    assert not budget_reached(0.01, [lane(0, 1.0)], 0.0)  # nothing left to send


def test_a_prompted_lane_of_a_suite_is_asked_to_think_in_every_unit(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    """A suite's lane carries ``think`` and its own ``system`` in ``params``; a study's
    units go through the same core as the window, so each request sends the instruction
    first, then the lane's system prompt (or the prompt's own, which replaces it)."""
    write_config(home, server)
    server.add("thinks", Script(answer="<think>Plan it.</think>\n\nDone.", tokens_per_s=0))
    suite = tmp_path / "prompted.toml"
    suite.write_text(
        'name = "Prompted"\n'
        '[[prompts]]\nid = "a"\ntext = "First?"\n'
        '[[prompts]]\nid = "b"\ntext = "Second?"\nsystem = "Answer in verse."\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "thinks"\n'
        'params = { think = "prompted", system = "Be brief." }\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast@tps=0"\nparams = { system = "Be brief." }\n'
    )
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 0, err
    told = prompted.shipped_instruction()
    sent = sorted(
        (b["model"], b["messages"][-1]["content"], b["messages"][0]["content"])
        for b in (entry.body for entry in server.log)
        if b
    )
    assert sent == [
        ("demo-fast@tps=0", "First?", "Be brief."),
        ("demo-fast@tps=0", "Second?", "Answer in verse."),
        ("thinks", "First?", f"{told}\n\nBe brief."),
        ("thinks", "Second?", f"{told}\n\nAnswer in verse."),
    ]
    store = Store(default_path())
    try:
        [info] = store.studies()
        for session in store.study_sessions(info.id):
            lane = next(x for x in session.lanes if x.model == "thinks")
            answer = session.turns[0].responses[lane.id]
            assert (answer.reasoning, answer.text) == (
                "Plan it.",
                "Done.",
            ) and answer.usage.reasoning_estimated
    finally:
        store.close()


def test_the_estimate_counts_a_prompted_lanes_instruction_and_its_thinking() -> None:
    from chatlab.core.settings.config import parse_config
    from chatlab.core.studies.estimate import estimate
    from chatlab.core.studies.study import comparisons, work
    from chatlab.core.studies.suites import parse_suite

    lanes = [
        {"provider": "demo", "model": "m", "params": {"max_output_tokens": 500, **extra}}
        for extra in ({"think": "prompted"}, {})
    ]
    suite = parse_suite({"name": "S", "prompts": [{"id": "p", "text": "Why?"}], "lanes": lanes})
    config = parse_config({})
    asked, plain = estimate(suite, work(comparisons(suite, "x", "S")), config, lambda *_: None)
    assert asked.reasoning_tokens == 500 and plain.reasoning_tokens == 0  # the cap bounds both
    assert asked.input_tokens > plain.input_tokens + 20  # the instruction is sent too


def test_the_estimate_takes_effort_none_for_no_reasoning() -> None:
    from chatlab.core.settings.config import parse_config
    from chatlab.core.studies.estimate import estimate
    from chatlab.core.studies.study import comparisons, work
    from chatlab.core.studies.suites import parse_suite

    lanes = [
        {"provider": "demo", "model": "m", "params": {"max_output_tokens": 500, "reasoning_effort": effort}}
        for effort in ("none", "low")
    ]
    suite = parse_suite({"name": "S", "prompts": [{"id": "p", "text": "Why?"}], "lanes": lanes})
    off, low = estimate(suite, work(comparisons(suite, "x", "S")), parse_config({}), lambda *_: None)
    assert off.reasoning_tokens == 0 and low.reasoning_tokens == 500


def test_with_no_history_and_no_cap_a_reasoning_lane_is_guessed_to_think_by_its_effort() -> None:
    from chatlab.core.settings.config import parse_config
    from chatlab.core.studies.estimate import ASSUMED_OUTPUT_TOKENS, ASSUMED_REASONING, estimate
    from chatlab.core.studies.study import comparisons, work
    from chatlab.core.studies.suites import parse_suite

    lanes = [{"provider": "demo", "model": "m", "params": p} for p in ({"reasoning_effort": "high"}, {})]
    suite = parse_suite({"name": "S", "prompts": [{"id": "p", "text": "Why?"}], "lanes": lanes})
    high, plain = estimate(suite, work(comparisons(suite, "x", "S")), parse_config({}), lambda *_: None)
    assert high.reasoning_tokens == ASSUMED_REASONING["high"] and plain.reasoning_tokens == 0
    assert high.output_tokens == ASSUMED_OUTPUT_TOKENS + ASSUMED_REASONING["high"]
    assert "+ 4,096 reasoning" in high.basis
