"""Adversarial: the study budget (no request starts whose expected cost could cross
``budget_usd``; overshoot at most one request's estimated cost per provider slot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlab.demo.server import DemoServer
from tests.test_study import responses, run, write_config, write_suite


def test_budget_overshoot_with_answers_far_dearer_than_estimated(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    """Expected: a run stops over ``budget_usd`` by at most one request's *estimated* cost
    per provider slot (16 × the estimate's per-request figure here). Actual: every
    answer bills 200,000 hidden reasoning tokens (~$0.12 each against an estimate of
    ~$0.0006 from the 1,024-token guess), all 16 slots start at once on the estimate,
    and the run ends many times over its $0.01 budget."""
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
    spent = sum(r[4] or 0.0 for r in rows)
    per_request_estimate = 1024 * 0.60 / 1e6 + 10 * 0.15 / 1e6
    bound = 0.01 + 16 * per_request_estimate
    assert spent <= bound, (spent, bound, out, err)
