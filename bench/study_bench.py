"""Benchmark: a 1,000-unit study against the loopback server, at the concurrency limit.

Every unit is one request that the server (``chatlab serve-demo``, in its own process,
pinned to its own core) holds for ``--delay`` seconds before answering a short text
(about 30 chunks). One request alone, with nothing else in flight, takes ``single``
(the delay plus HTTP and the SDK), so the ideal makespan of perfect scheduling at the
limit is ceil(units / limit) × single. Two clients run the same units, alternating,
several rounds:

- ``study``: the real thing (:class:`StudyRun` with per-provider workers, the SQLite
  store and its batched checkpoints, comparisons created first, as ``study run`` does);
- ``bare``: the thinnest correct client (the SDK's async iterator behind an
  ``asyncio.Semaphore``, nothing saved), what the same work costs with no orchestrator.

Reported: the makespan of each (best of the rounds, since noise only adds time), the
study's overhead over the ideal and over the bare client, and the server's peak
requests in flight (which must equal the limit). The target is < 5 % over the ideal.
The last line printed is JSON.

    python bench/study_bench.py [--units 1000] [--limit 20] [--delay 1.0] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

from chatlab.core.lab.orchestrator import Runner  # noqa: E402
from chatlab.core.settings.apikeys import KeyStore  # noqa: E402
from chatlab.core.settings.config import parse_config  # noqa: E402
from chatlab.core.studies.run import StudyRun  # noqa: E402
from chatlab.core.studies.study import comparisons, suite_data  # noqa: E402
from chatlab.core.studies.suites import parse_suite  # noqa: E402
from chatlab.providers import make_adapter  # noqa: E402
from chatlab.store.checkpoint import Checkpointer  # noqa: E402
from chatlab.store.db import Store  # noqa: E402

LANES = 4
CPU: dict[str, list[float]] = {"study": [], "bare": []}  # client CPU seconds per round


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def suite_for(units: int, limit: int, model: str) -> Any:
    prompts = math.ceil(units / LANES)
    return parse_suite(
        {
            "name": "bench",
            "samples": 1,
            "prompts": [{"id": f"p{i}", "text": f"Prompt {i}"} for i in range(prompts)],
            "lanes": [{"provider": "demo", "model": model, "label": f"L{i}"} for i in range(LANES)],
            "concurrency": {"demo": limit},
        }
    )


async def study_client(base: str, units: int, limit: int, model: str, db: Path) -> tuple[float, int]:
    config = parse_config({"providers": {"demo": {"base_url": base, "max_retries": 0}}})
    runner = Runner(config, KeyStore(), make_adapter)
    suite = suite_for(units, limit, model)
    store = Store(db)
    started = time.perf_counter()
    cpu = time.process_time()
    sessions = comparisons(suite, "bench", "bench")
    store.create_study("bench" + str(started), "bench " + str(started), suite_data(suite), sessions)
    run = StudyRun(runner, suite, sessions, Checkpointer(store))
    outcome = await run.run()
    took = time.perf_counter() - started
    CPU["study"].append(time.process_time() - cpu)
    await runner.aclose()
    store.close()
    assert outcome == "done" and run.progress.done == LANES * len(suite.prompts), (outcome, run.progress)
    return took, run.max_in_flight.get("demo", 0)


async def bare_client(base: str, units: int, limit: int, model: str) -> float:
    client = openai.AsyncOpenAI(api_key="x", base_url=base, max_retries=0)
    gate = asyncio.Semaphore(limit)

    async def one(i: int) -> None:
        async with gate:
            parts: list[str] = []
            stream = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": f"Prompt {i}"}], stream=True
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)

    started = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(one(i) for i in range(math.ceil(units / LANES) * LANES)))
    took = time.perf_counter() - started
    CPU["bare"].append(time.process_time() - cpu)
    await client.close()
    return took


async def alone(base: str, model: str, n: int = 15) -> float:
    """The median time of one request with nothing else in flight: what a unit takes at
    best (the server's delay plus HTTP and the SDK), the base of the ideal makespan."""
    client = openai.AsyncOpenAI(api_key="x", base_url=base, max_retries=0)
    times = []
    for i in range(n):
        started = time.perf_counter()
        stream = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"Prompt {i}"}], stream=True
        )
        async for _chunk in stream:
            pass
        times.append(time.perf_counter() - started)
    await client.close()
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    cores = sorted(os.sched_getaffinity(0))
    pin = ["taskset", "-c", str(cores[-1])] if len(cores) > 1 else []
    server = subprocess.Popen(
        [*pin, sys.executable, "-m", "chatlab", "serve-demo", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[0]})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/models", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        model = f"demo-fast@tps=0,think_delay_s={args.delay}"
        units = math.ceil(args.units / LANES) * LANES
        single = asyncio.run(alone(base, model))
        rounds_needed = math.ceil(units / args.limit)
        ideal = rounds_needed * single  # perfect scheduling of requests that each take `single`
        floor = rounds_needed * args.delay  # the server's delay alone
        studies: list[float] = []
        bares: list[float] = []
        peaks: list[int] = []
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                took, peak = asyncio.run(study_client(base, units, args.limit, model, Path(tmp) / f"b{r}.db"))
                studies.append(took)
                peaks.append(peak)
                bares.append(asyncio.run(bare_client(base, units, args.limit, model)))
                print(
                    f"round {r + 1}: study {took:.2f} s, bare {bares[-1]:.2f} s, ideal {ideal:.2f} s",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(10)
    best_study, best_bare = min(studies), min(bares)
    result = {
        "units": units,
        "limit": args.limit,
        "delay_s": args.delay,
        "one_request_s": round(single, 4),
        "ideal_s": round(ideal, 3),
        "delay_only_s": round(floor, 3),
        "over_delay_only": round(best_study / floor - 1, 4),
        "study_s": round(best_study, 3),
        "bare_s": round(best_bare, 3),
        "over_ideal": round(best_study / ideal - 1, 4),
        "over_bare": round(best_study / best_bare - 1, 4),
        "bare_over_ideal": round(best_bare / ideal - 1, 4),
        "peak_in_flight": max(peaks),
        "study_cpu_ms_per_unit": round(min(CPU["study"]) / units * 1000, 3),
        "bare_cpu_ms_per_unit": round(min(CPU["bare"]) / units * 1000, 3),
        "rounds": args.rounds,
    }
    print(
        f"{units} units at {args.limit} in flight; one request alone takes {single * 1000:.0f} ms "
        f"({args.delay * 1000:.0f} ms of it the server's delay): ideal {ideal:.2f} s, "
        f"study {best_study:.2f} s (+{result['over_ideal']:.1%}), bare SDK loop {best_bare:.2f} s "
        f"(+{result['bare_over_ideal']:.1%}); peak in flight {max(peaks)}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
