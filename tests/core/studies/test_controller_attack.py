"""Adversarial cases for the study controller (``StudyController``, ``find_study``,
``status_after``) as ``chatlab study`` presents it: names with line breaks, zero-width
characters or bytes that aren't UTF-8, a study deleted or claimed between the plan and
the start, two controllers in one process, a store that stops taking writes, and odd
``--budget`` values. The first seven were findings of an adversarial pass (each failed
before its fix); the rest are attacks that held and stay as guards."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import Config, load_config
from chatlab.core.studies.controller import StudyController, StudyError, shown_status, status_after
from chatlab.core.studies.suites import Suite, load_suite
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store
from tests.core.studies.test_study import FAST, write_config, write_suite

pytestmark = pytest.mark.hostile


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The in-process CLI; an exception out of it is a finding (a traceback for the user)."""
    try:
        code = cli.main(list(argv))
    except Exception as exc:
        capsys.readouterr()
        pytest.fail(f"`chatlab {' '.join(a[:40] for a in argv)}` raised {type(exc).__name__}: {exc}")
    out, err = capsys.readouterr()
    return code, out, err


def one_study(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer, *extra: str
) -> None:
    """A finished study of 1 prompt × 2 lanes (``Test study``, budget $1 unless renamed)."""
    write_config(home, server)
    suite = write_suite(tmp_path / "s.toml", lanes=FAST, prompts=1, samples=1, budget_usd=1.0)
    code, _, err = run(capsys, "study", "run", str(suite), "--yes", *extra)
    assert code == 0, err


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "data" / "chatlab.db")


def budget(home: Path) -> float:
    con = db(home)
    try:
        [(value,)] = con.execute("SELECT json_extract(suite, '$.budget_usd') FROM studies").fetchall()
    finally:
        con.close()
    return float(value)


def setup(
    home: Path, tmp_path: Path, server: DemoServer, store: Store | None = None
) -> tuple[Store, StudyController, Suite, Config]:
    """A store, its controller, and a suite of 2 prompts × 2 lanes × 1 sample."""
    write_config(home, server)
    config = load_config()
    path = write_suite(tmp_path / "s.toml", lanes=FAST, prompts=2, samples=1)
    store = store or Store(home / "data" / "chatlab.db")
    return store, StudyController(store, lambda: config), load_suite(path, config), config


class ReadOnlyLater(Store):
    """A store whose status writes start failing as a read-only file's do (running as
    root, a chmod can't make the file read-only; this is the stand-in)."""

    read_only = False

    def set_study_status(self, study_id: str, status: str, pid: int | None = None) -> None:
        if self.read_only:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        super().set_study_status(study_id, status, pid)


# -- findings ------------------------------------------------------------------------------


def test_a_name_with_a_line_break_can_not_forge_a_row_of_study_list(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    forged = "12345678  2026-01-01 00:00  done      9/9 answered  0 failed  $0  Forged"
    write_config(home, server)
    suite = write_suite(tmp_path / "s.toml", lanes=FAST, prompts=1, samples=1)
    code, _, err = run(capsys, "study", "run", str(suite), "--yes", "--name", f"evil\n{forged}")
    if code == 2:  # refused, as a suite's own name with a line break is: fine
        assert len(err.strip().splitlines()) == 1, err
        return
    assert all(not line.startswith("12345678") for line in err.splitlines()), err
    code, out, _ = run(capsys, "study", "list")
    assert code == 0 and len(out.splitlines()) == 1, out


def test_a_zero_width_character_in_a_name_is_visible_in_study_list(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    one_study(capsys, home, tmp_path, server, "--name", "a\u200bb")
    code, out, _ = run(capsys, "study", "list")
    assert code == 0 and "\u200b" not in out, out


def test_a_name_of_non_utf8_bytes_finds_the_study_it_made(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    name = b"caf\xe9".decode("utf-8", "surrogateescape")  # what Python makes of a Latin-1 argument
    one_study(capsys, home, tmp_path, server, "--name", name)
    code, out, err = run(capsys, "study", "show", name)
    assert "codec" not in err and code == 0, err
    assert "caf\ufffd" in out


@pytest.mark.parametrize("step", ["claim", "set_budget"])
def test_a_study_deleted_after_its_plan_is_a_study_error(
    home: Path, tmp_path: Path, server: DemoServer, step: str
) -> None:
    store, studies, suite, _ = setup(home, tmp_path, server)
    plan = studies.plan_new(suite)
    studies.create(plan)
    again = studies.plan_resume(store.study(plan.study_id))
    store.delete_study(plan.study_id)
    try:
        with pytest.raises(StudyError):
            if step == "claim":
                studies.claim(again)
            else:
                studies.set_budget(again, 2.0)
    finally:
        store.close()


def test_a_resume_refused_as_running_elsewhere_changes_no_budget(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    one_study(capsys, home, tmp_path, server)
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
        code, _, err = run(capsys, "study", "resume", "test", "--budget", "5")
        assert code == 2 and "running in another chatlab" in err and len(server.log) == sent, err
        assert budget(home) == 1.0
    finally:
        other.kill()
        other.wait(10)


def test_two_controllers_in_one_process_do_not_both_run_a_study(
    home: Path, tmp_path: Path, server: DemoServer
) -> None:
    store, first, suite, config = setup(home, tmp_path, server)
    other_store = Store(store.path)
    second = StudyController(other_store, lambda: config)
    plan = first.plan_new(suite)
    first.create(plan)
    same = second.plan_resume(store.study(plan.study_id))
    sent = len(server.log)

    async def go() -> None:
        a, b = Runner(config, KeyStore(), make_adapter), Runner(config, KeyStore(), make_adapter)
        first.start(plan, a, Checkpointer(store))
        with contextlib.suppress(StudyError):
            second.start(same, b, Checkpointer(other_store))
        await asyncio.gather(*first.tasks.values(), *second.tasks.values(), return_exceptions=True)
        await a.aclose()
        await b.aclose()

    try:
        asyncio.run(go())
        assert len(server.log) - sent == len(plan.pending) == 4
    finally:
        store.close()
        other_store.close()


def test_a_run_whose_end_status_is_not_written_does_not_read_as_running(
    home: Path, tmp_path: Path, server: DemoServer
) -> None:
    store = ReadOnlyLater(home / "data" / "chatlab.db")
    _, studies, suite, config = setup(home, tmp_path, server, store)
    plan = studies.plan_new(suite)
    studies.create(plan)

    async def go() -> None:
        runner = Runner(config, KeyStore(), make_adapter)
        studies.start(plan, runner, Checkpointer(store))
        store.read_only = True  # the file turns read-only while the study runs
        await asyncio.gather(*studies.tasks.values(), return_exceptions=True)
        await runner.aclose()

    try:
        asyncio.run(go())
        assert not studies.running(plan.study_id)
        assert shown_status(store.study(plan.study_id)) != "running"
    finally:
        store.close()


# -- attacks that held ---------------------------------------------------------------------


def test_budgets_that_are_not_a_positive_finite_amount_are_one_line_and_change_nothing(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    one_study(capsys, home, tmp_path, server)
    for bad in ("nan", "inf", "-0", "0", "1e309", "-1", "1000000.01", "--budget=-inf"):
        argv = ["study", "resume", "test", *([bad] if bad.startswith("--") else ["--budget", bad])]
        code, _, err = run(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "budget" in err, (bad, err)
        assert budget(home) == 1.0, bad


def test_an_imported_study_is_not_resumed_and_keeps_its_budget(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    one_study(capsys, home, tmp_path, server)
    con = db(home)
    with con:
        con.execute("UPDATE responses SET status = 'interrupted'")
        con.execute(
            "UPDATE studies SET status = 'imported', suite = json_remove(suite, '$.prompts', '$.lanes')"
        )
    con.close()
    sent = len(server.log)
    for extra in ((), ("--budget", "5")):
        code, _, err = run(capsys, "study", "resume", "test", *extra)
        assert code == 2 and "was imported: it has no suite to run" in err, err
    assert len(server.log) == sent and budget(home) == 1.0


def test_a_name_that_is_the_start_of_two_studies_is_ambiguous_until_exact(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    one_study(capsys, home, tmp_path, server)
    one_study(capsys, home, tmp_path, server)  # "Test study (2)"
    code, _, err = run(capsys, "study", "show", "test stu")
    assert code == 2 and "more than one study matches" in err
    assert run(capsys, "study", "show", "Test study")[0] == 0  # the exact name wins over a prefix


def test_no_unknown_outcome_ends_a_study_as_done() -> None:
    for outcome in ("", "DONE", "Done ", "finished", "budget", "error", "paused", "\x00"):
        for to_retry in (0, 3, -1):
            assert status_after(outcome, to_retry) in ("paused", "cancelled"), (outcome, to_retry)
    assert status_after("done", -1) == "paused"
