"""Every stream chatlab knows means exactly what it meant when it was recorded.

Each scenario of :mod:`tests.golden_events` (the captured real-provider streams, every
demo script in every wire format, the fault matrix, the hostile options and the
hand-written rule-bending streams) is sent through its real adapter over loopback HTTP,
and the events it yields (text, reasoning, usage, cost, finish, errors, notes) must equal
the recorded ones. Captured and hand-written streams are also served in 1- and 4,096-byte
pieces: where the network cuts a stream must not change what it says.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from chatlab.demo.server import DemoServer
from tests.golden_events import FIXTURES, Scenario, golden_form, load, record, scenarios

pytestmark = pytest.mark.golden

ALL = list(scenarios())
GOLDEN: dict[str, dict[str, Any]] = {}


def golden(scenario: Scenario) -> Any:
    if scenario.group not in GOLDEN:
        GOLDEN[scenario.group] = load(scenario.group)
    return GOLDEN[scenario.group].get(scenario.name)


def check(server: DemoServer, scenario: Scenario, chunk: int = 97) -> None:
    expected = golden(scenario)
    assert expected is not None, (
        f"no golden sequence for {scenario.name}: record it (python -m tests.golden_events --write)"
    )
    actual = golden_form(scenario, asyncio.run(record(server, scenario, chunk)))
    assert actual == expected, json.dumps(actual, indent=1)[:4000]


@pytest.mark.parametrize("scenario", ALL, ids=[f"{s.group}:{s.name}" for s in ALL])
def test_events_match_the_recording(server: DemoServer, scenario: Scenario) -> None:
    check(server, scenario)


SERVED = [s for s in ALL if s.replay is not None]


@pytest.mark.parametrize("chunk", [1, 4096])
@pytest.mark.parametrize("scenario", SERVED, ids=[f"{s.group}:{s.name}" for s in SERVED])
def test_where_the_stream_is_cut_changes_nothing(server: DemoServer, scenario: Scenario, chunk: int) -> None:
    check(server, scenario, chunk)


def test_every_recording_has_a_scenario() -> None:
    names = {(s.group, s.name) for s in ALL}
    for group in ("fixtures", "demo", "faults", "hostile"):
        if group == "fixtures" and not FIXTURES.is_dir():
            continue  # the captured streams live outside the project
        for name in load(group):
            assert (group, name) in names, f"{group}:{name} is recorded but no longer tested"
