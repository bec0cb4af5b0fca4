"""Adversarial: the study budget (no request starts whose expected cost could cross
``budget_usd``; overshoot at most one request's estimated cost per provider slot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlab.demo.server import DemoServer
from tests.core.studies.test_study import responses, run, write_config, write_suite

pytestmark = pytest.mark.hostile


def test_budget_overshoot_with_answers_far_dearer_than_estimated(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    """Every answer bills 200,000 hidden reasoning tokens (~$0.12 each against an estimate
    of ~$0.0006 from the 1,024-token guess), 16 slots, a $0.01 budget. Before: all 16
    slots started at once on the estimate and the run spent $1.92. Now a lane whose cost
    is not measured yet sends one request at a time, so the run stops after the first
    answer: over the budget by that one answer (nothing can know it costs 200× the
    estimate before it comes back), never by one answer per slot."""
    write_config(home, server)
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-fast@tps=0,hidden=200000,think_delay_s=0.2")],
        prompts=10,
        samples=4,
        budget_usd=0.01,
        concurrency={"demo": 16},
    )
    code, out, err = run(capsys, "study", "run", str(suite), "--yes")
    rows = responses(home)
    assert code == 1 and "the budget of $0.010 is spent" in err, (out, err)
    assert len(server.log) == 1 and len(rows) == 1
    assert server.peak_in_flight == {"demo-fast": 1}
    [(_, _, _, status, cost)] = rows
    assert status == "ok" and cost is not None and cost > 0.1


def test_a_measured_lane_opens_to_its_concurrency(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    """Once a lane has a measured answer, its requests go out side by side again, each
    counted at the measured mean: 16 at once within a roomy budget."""
    write_config(home, server)
    suite = write_suite(
        tmp_path / "s.toml",
        lanes=[("demo", "demo-fast@tps=0,think_delay_s=0.3")],
        prompts=10,
        samples=4,
        budget_usd=5,
        concurrency={"demo": 16},
    )
    code, out, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 0, (out, err)
    assert server.peak_in_flight == {"demo-fast": 16} and len(server.log) == 40


def test_an_idle_timeout_below_a_quarter_second_fires_while_data_flows(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    """``--idle-timeout 0.2`` (accepted: anything above 0) on a provider that streams a
    chunk every ~50 ms. Expected: no timeout, the provider never goes quiet for 0.2 s.
    Actual: the timer is re-armed only when more than 0.25 s have passed since the last
    re-arm, so the first deadline (start + 0.2 s) fires mid-stream: "timeout: no data from
    the provider for 0.2 s", twice, and the unit ends "to retry"."""
    write_config(home, server)
    suite = write_suite(tmp_path / "s.toml", lanes=[("demo", "demo-fast@tps=60")], prompts=1, samples=1)
    code, out, err = run(capsys, "study", "run", str(suite), "--yes", "--idle-timeout", "0.2")
    assert code == 0 and "1 of 1 answered" in out, (out, err)


def test_history_of_a_model_under_other_parameters_drives_the_estimate_and_the_budget(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    """The history behind an estimate (and so the budget's per-request figure for a
    request in flight) is keyed by provider and model only. After two answers of
    demo-reasoner with reasoning on (~646 output tokens, 611 of them reasoning), a lane of
    the same model with ``thinking_budget = 0`` and ``max_output_tokens = 100`` is
    estimated at 646 output and 611 reasoning tokens per request, "from your past
    answers". Expected: a lane's estimate never exceeds its own max_output_tokens, and
    history from answers given with reasoning on is not used for a lane with reasoning
    off (or the reverse: a reasoning lane estimated from plain answers, which
    under-counts what is in flight against the budget: the shipped
    reasoning-vs-plain suite puts one model in both ways)."""
    from chatlab.core.settings.config import load_config
    from chatlab.core.studies.estimate import estimate
    from chatlab.core.studies.study import work
    from chatlab.core.studies.suites import load_suite
    from chatlab.store.db import Store, default_path

    write_config(home, server)
    first = tmp_path / "first.toml"
    first.write_text(
        'name = "First"\nsamples = 2\n[[prompts]]\nid = "p0"\ntext = "hello"\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-reasoner"\n[lanes.params]\nreasoning_effort = "high"\n'
    )
    assert run(capsys, "study", "run", str(first), "--yes")[0] == 0
    second = tmp_path / "second.toml"
    second.write_text(
        'name = "Second"\nsamples = 1\nbudget_usd = 1\n[[prompts]]\nid = "p0"\ntext = "hello"\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-reasoner"\n[lanes.params]\n'
        "thinking_budget = 0\nmax_output_tokens = 100\n"
    )
    config = load_config()
    suite = load_suite(second, config)
    from chatlab.core.studies.study import comparisons

    pending = work(comparisons(suite, "x", "Second"))
    store = Store(default_path())
    try:
        [row] = estimate(suite, pending, config, store.model_history)
    finally:
        store.close()
    assert row.output_tokens <= 100 * row.requests, row
    assert row.reasoning_tokens == 0, row
