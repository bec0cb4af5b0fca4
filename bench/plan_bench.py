"""Benchmark: how long a big study takes before its first request, and to resume.

A suite of ``--prompts`` × ``--samples`` × 2 lanes (200,000 units by default) goes
through what ``study run`` does before it sends anything (parse the suite, make the
comparisons, list the work, estimate it, write the study) and what ``study resume``
does (open the store, read the study, load its comparisons, list and estimate the
work). Each step's seconds are printed, then the two totals; the last line is JSON.
The aim (issue 19) is O(units) with small constants: a few seconds for 200,000 units.

    python bench/plan_bench.py [--prompts 1000] [--samples 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatlab.core.settings.config import parse_config  # noqa: E402
from chatlab.core.studies.estimate import estimate  # noqa: E402
from chatlab.core.studies.study import comparisons, suite_data, work  # noqa: E402
from chatlab.core.studies.suites import parse_suite  # noqa: E402
from chatlab.store.db import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    data = {
        "name": "big",
        "samples": args.samples,
        "budget_usd": 1000,
        "prompts": [{"id": f"p{i}", "text": f"Prompt number {i}. " * 20} for i in range(args.prompts)],
        "lanes": [{"provider": "demo", "model": "demo-fast"}, {"provider": "demo", "model": "demo-reasoner"}],
    }
    config = parse_config({})
    seconds: dict[str, float] = {}
    clock = time.perf_counter

    def step(name: str, started: float) -> None:
        seconds[name] = round(clock() - started, 2)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chatlab.db"
        t = clock()
        suite = parse_suite(data, config)
        step("run: parse", t)
        t = clock()
        sessions = comparisons(suite, "study", "big")
        step("run: comparisons", t)
        t = clock()
        pending = work(sessions)
        step("run: work", t)
        t = clock()
        estimate(suite, pending, config, lambda provider, model, params: None)
        step("run: estimate", t)
        store = Store(path)
        t = clock()
        store.create_study("study", "big", suite_data(suite), sessions)
        step("run: write the study", t)
        store.close()
        del sessions, pending
        t = clock()
        store = Store(path)
        info = store.study("study")
        step("resume: open and read the study", t)
        t = clock()
        loaded = store.study_sessions(info.id, [])
        step("resume: load the comparisons", t)
        t = clock()
        pending = work(loaded)
        estimate(suite, pending, config, store.model_history)
        step("resume: work and estimate", t)
        store.close()
    units = args.prompts * args.samples * 2
    run_s = round(sum(v for k, v in seconds.items() if k.startswith("run")), 2)
    resume_s = round(sum(v for k, v in seconds.items() if k.startswith("resume")), 2)
    for name, value in seconds.items():
        print(f"{name:<36} {value:>7.2f} s")
    print(f"{units:,} units: {run_s:.2f} s before the first request, {resume_s:.2f} s to resume")
    print(json.dumps({"units": units, "run_s": run_s, "resume_s": resume_s, "steps": seconds}))


if __name__ == "__main__":
    main()
