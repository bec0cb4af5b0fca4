"""The study lifecycle the window and ``chatlab study`` share: plans, the budget check,
claiming, background runs, how a run's end becomes a status, and deletion, over a real
store and the real SDKs against the loopback server."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path

import pytest

from chatlab.core.data.model import LaneParams
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import load_config
from chatlab.core.studies.controller import (
    StudyController,
    StudyError,
    find_study,
    shown_status,
    status_after,
)
from chatlab.core.studies.suites import Suite, load_suite
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store
from tests.core.studies.test_study import FAST, write_config, write_suite


@pytest.mark.parametrize(
    ("outcome", "to_retry", "status"),
    [
        ("done", 0, "done"),
        ("done", 2, "paused"),  # units to retry keep it open for resume
        ("budget", 0, "paused"),
        ("paused", 0, "paused"),
        ("error", 0, "paused"),
        ("cancelled", 0, "cancelled"),  # Cancel, Ctrl-C, the window closed: in flight was cut off
        ("cancelled", 3, "cancelled"),
    ],
)
def test_a_runs_end_maps_to_one_status(outcome: str, to_retry: int, status: str) -> None:
    assert status_after(outcome, to_retry) == status


def _setup(
    home: Path, tmp_path: Path, server: DemoServer, **suite: object
) -> tuple[Store, StudyController, Suite]:
    """A store, its controller, and a suite of 2 prompts × 2 lanes × 1 sample."""
    write_config(home, server)
    config = load_config()
    path = write_suite(tmp_path / "s.toml", lanes=FAST, prompts=2, samples=1, **suite)
    store = Store(home / "data" / "chatlab.db")
    return store, StudyController(store, lambda: config), load_suite(path, config)


def test_a_new_study_runs_in_the_background_and_ends_done(
    home: Path, tmp_path: Path, server: DemoServer
) -> None:
    store, studies, suite = _setup(home, tmp_path, server)
    ended: list[tuple[str, str]] = []
    studies.on_end = lambda _id, outcome, status: ended.append((outcome, status))
    plan = studies.plan_new(suite)
    assert len(plan.pending) == 4 and plan.info is None and plan.budget_problem() is None
    info = studies.create(plan)
    assert info.status == "new" and store.study(info.id).units == 4

    async def go() -> None:
        runner = Runner(load_config(), KeyStore(), make_adapter)
        studies.start(plan, runner, Checkpointer(store))
        assert studies.running(plan.study_id)
        await asyncio.gather(*studies.tasks.values())
        await runner.aclose()

    asyncio.run(go())
    assert ended == [("done", "done")]
    after = store.study(info.id)
    assert after.status == "done" and after.done == 4 and shown_status(after) == "done"
    assert studies.plan_resume(after).pending == []
    store.close()


def test_a_cancelled_run_keeps_cancelled_and_resumes_what_it_lacks(
    home: Path, tmp_path: Path, server: DemoServer
) -> None:
    store, studies, suite = _setup(home, tmp_path, server)
    plan = studies.plan_new(suite)
    studies.create(plan)
    slow = Runner(load_config(), KeyStore(), make_adapter)

    async def go() -> str:
        run = studies.start(plan, slow, Checkpointer(store))
        studies.cancel(plan.study_id)  # before anything is answered
        await asyncio.gather(*studies.tasks.values(), return_exceptions=True)
        await slow.aclose()
        return run.stopped or ""

    assert asyncio.run(go()) == "cancelled"
    info = store.study(plan.study_id)
    assert info.status == "cancelled"
    again = studies.plan_resume(info)
    assert len(again.pending) == 4 - info.done
    store.close()


def test_a_study_running_in_another_live_process_is_not_claimed(
    home: Path, tmp_path: Path, server: DemoServer
) -> None:
    store, studies, suite = _setup(home, tmp_path, server)
    plan = studies.plan_new(suite)
    studies.create(plan)
    parent = os.getppid()  # alive, and not us
    assert store.claim_study(plan.study_id, parent, lambda pid: True) is None
    taken = rf"running in another chatlab \(process {parent}\); nothing was sent"
    with pytest.raises(StudyError, match=taken):
        studies.claim(plan)
    store.close()


def test_the_budget_problem_says_why(home: Path, tmp_path: Path, server: DemoServer) -> None:
    store, studies, suite = _setup(home, tmp_path, server, budget_usd=1e-9)
    plan = studies.plan_new(suite)
    problem = plan.budget_problem()
    assert problem is not None and problem.total is not None and problem.total > problem.budget == 1e-9
    assert problem.unpriced == () and problem.spent == 0.0
    store.close()


def test_a_budget_is_checked_and_kept(home: Path, tmp_path: Path, server: DemoServer) -> None:
    store, studies, suite = _setup(home, tmp_path, server, budget_usd=1.0)
    plan = studies.plan_new(suite)
    studies.create(plan)
    for bad in (0.0, -1.0, float("nan"), 2e6):
        with pytest.raises(StudyError, match="--budget must be more than 0"):
            studies.set_budget(plan, bad)
    plan = studies.set_budget(plan, 3.5)
    assert plan.suite.budget_usd == 3.5 and store.study(plan.study_id).budget_usd == 3.5
    store.close()


def test_finding_a_study_by_a_name_that_fits_none_says_so(
    home: Path, tmp_path: Path, server: DemoServer
) -> None:
    store, studies, suite = _setup(home, tmp_path, server)
    with pytest.raises(StudyError, match=r"^no study named 'nope.*' \(see `chatlab study list`\)$") as caught:
        find_study(store, "nope\x1b[2J")
    assert "\x1b" not in str(caught.value)  # a terminal can't be driven by a study's name
    plan = studies.plan_new(suite)
    studies.create(plan)
    assert studies.find("Test study").id == plan.study_id
    store.close()


def test_a_dry_run_plan_reserves_no_name(home: Path, tmp_path: Path, server: DemoServer) -> None:
    store, studies, suite = _setup(home, tmp_path, server)
    first = studies.plan_new(suite)
    studies.create(first)
    dry = studies.plan_new(suite, dry_run=True)
    real = studies.plan_new(suite)
    assert dry.name == "Test study" and real.name == "Test study (2)"
    store.close()


def test_an_imported_study_has_nothing_to_resume(home: Path, tmp_path: Path, server: DemoServer) -> None:
    store, studies, suite = _setup(home, tmp_path, server)
    plan = studies.plan_new(suite)
    info = studies.create(plan)
    imported = dataclasses.replace(info, suite={})
    assert not imported.runnable
    with pytest.raises(StudyError, match="was imported: it has no suite to run"):
        studies.plan_resume(imported)
    store.close()


def test_a_running_study_is_not_deleted(home: Path, tmp_path: Path, server: DemoServer) -> None:
    store, studies, suite = _setup(home, tmp_path, server)
    plan = studies.plan_new(suite)
    info = studies.create(plan)

    async def go() -> None:
        runner = Runner(load_config(), KeyStore(), make_adapter)
        studies.start(plan, runner, Checkpointer(store))
        with pytest.raises(StudyError, match="is running: pause or cancel it first"):
            studies.delete(info)
        await studies.shutdown()
        await runner.aclose()

    asyncio.run(go())
    studies.delete(store.study(info.id))
    with pytest.raises(KeyError):
        store.study(info.id)
    store.close()


def test_a_lane_whose_reasoning_setting_cant_be_honoured_is_refused_by_the_plan(
    home: Path, tmp_path: Path, server: DemoServer
) -> None:
    """The plan refuses it up front, naming the lane and why; nothing is written."""
    store, studies, suite = _setup(home, tmp_path, server)
    refused = dataclasses.replace(
        suite.lanes[0], provider="deepseek", model="deepseek-reasoner", params=LaneParams(reasoning="off")
    )
    bad = dataclasses.replace(suite, lanes=(refused, *suite.lanes[1:]))
    with pytest.raises(StudyError, match="deepseek-reasoner always reasons") as caught:
        studies.plan_new(bad)
    assert "nothing was created" in str(caught.value)
    assert studies.plan_new(suite, dry_run=True).name == "Test study"  # the suite itself is fine
    store.close()
