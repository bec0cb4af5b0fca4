"""Benchmark: 8 lanes streaming as fast as the loopback server can send, consumed by the
chatlab core (Runner/TurnRun + adapters), against a bare SDK loop over the same streams.

The server runs in its own process (``chatlab serve-demo``), so client and server each
get a core. For each wire format we time both clients over identical streams, several
rounds alternating, and report chunks/s (wall, medians), client CPU µs per chunk, and the
throughput ratio core / bare from each client's best round (noise only adds time), with
the median and range of per-round paired ratios. The target is >= 0.9. The last line
printed is JSON.

    python bench/core_stream.py [--lanes 8] [--repeat 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import anthropic  # noqa: E402
import openai  # noqa: E402

from chatlab.core.data.model import Lane, Session, Status  # noqa: E402
from chatlab.core.lab.orchestrator import Runner  # noqa: E402
from chatlab.core.settings.apikeys import KeyStore  # noqa: E402
from chatlab.core.settings.config import parse_config  # noqa: E402
from chatlab.providers import make_adapter  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def bare(fmt: str, base: str, model: str, lanes: int) -> int:
    """The thinnest correct consumer: the SDK's async iterator, text appended to a list."""
    if fmt == "anthropic":
        aclient = anthropic.AsyncAnthropic(api_key="x", base_url=base, max_retries=0)

        async def one_a() -> int:
            parts: list[str] = []
            stream = await aclient.messages.create(
                model=model, max_tokens=8192, messages=[{"role": "user", "content": "go"}], stream=True
            )
            async for ev in stream:
                if ev.type == "content_block_delta" and ev.delta.type == "text_delta":
                    parts.append(ev.delta.text)
            return len(parts)

        counts = await asyncio.gather(*(one_a() for _ in range(lanes)))
        await aclient.close()
        return sum(counts)
    client = openai.AsyncOpenAI(api_key="x", base_url=base, max_retries=0)

    async def one_chat() -> int:
        parts: list[str] = []
        stream = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "go"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return len(parts)

    async def one_responses() -> int:
        parts: list[str] = []
        stream = await client.responses.create(model=model, input="go", stream=True)
        async for ev in stream:
            if ev.type == "response.output_text.delta":
                parts.append(ev.delta)
        return len(parts)

    one = one_chat if fmt == "openai-chat" else one_responses
    counts = await asyncio.gather(*(one() for _ in range(lanes)))
    await client.close()
    return sum(counts)


async def core(fmt: str, base: str, model: str, lanes: int) -> int:
    config = parse_config({"providers": {"p": {"kind": fmt, "base_url": base, "needs_key": False}}})
    runner = Runner(config, KeyStore(), make_adapter)
    session = Session(lanes=[Lane("p", model) for _ in range(lanes)])
    turn = session.new_turn("go")
    await runner.turn(session, turn).run()
    await runner.aclose()
    assert all(r.status is Status.OK for r in turn.responses.values()), [
        r.error for r in turn.responses.values()
    ]
    return sum(len(r.text_parts) for r in turn.responses.values())


async def measure(kind: str, fmt: str, base: str, model: str, lanes: int) -> dict[str, float]:
    fn = bare if kind == "bare" else core
    cpu0, t0 = time.process_time(), time.perf_counter()
    await fn(fmt, base, model, lanes)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"wall_s": wall, "cpu_s": cpu}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=40, help="answer repetitions (~90 chunks each)")
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # One core each for the server and the client, so they don't trade places mid-run.
    cpus = sorted(os.sched_getaffinity(0))
    pin = ["taskset", "-c", str(cpus[-1])] if len(cpus) > 1 and shutil.which("taskset") else []
    if pin:
        os.sched_setaffinity(0, {cpus[0]})
    server = subprocess.Popen(
        [*pin, sys.executable, "-m", "chatlab", "serve-demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "chatlab demo server on ..."
        model = f"demo-fast@tps=0,repeat={args.repeat},chunk_min=1,chunk_max=4"
        results: dict[str, Any] = {}
        for fmt in ("openai-chat", "openai-responses", "anthropic"):
            base = f"http://127.0.0.1:{port}" + ("" if fmt == "anthropic" else "/v1")
            chunks = asyncio.run(core(fmt, base, model, 1)) * args.lanes  # also warms the SDK
            asyncio.run(bare(fmt, base, model, 1))
            runs: dict[str, list[dict[str, float]]] = {"bare": [], "core": []}
            for i in range(args.rounds):
                for kind in ("bare", "core") if i % 2 == 0 else ("core", "bare"):
                    runs[kind].append(asyncio.run(measure(kind, fmt, base, model, args.lanes)))
            med = {
                k: {m: statistics.median(r[m] for r in v) for m in ("wall_s", "cpu_s")}
                for k, v in runs.items()
            }
            # Each round runs both clients back to back; the ratio is taken per round, then
            # the median, so slow drift on the machine cancels out.
            ratios = [b["wall_s"] / c["wall_s"] for b, c in zip(runs["bare"], runs["core"], strict=True)]
            row = {
                "chunks": chunks,
                "bare_chunks_per_s": round(chunks / med["bare"]["wall_s"]),
                "core_chunks_per_s": round(chunks / med["core"]["wall_s"]),
                "bare_cpu_us_per_chunk": round(med["bare"]["cpu_s"] / chunks * 1e6, 1),
                "core_cpu_us_per_chunk": round(med["core"]["cpu_s"] / chunks * 1e6, 1),
                # Noise on a shared machine only ever adds time, so the best round of each
                # client is the cleanest estimate of its intrinsic cost.
                "throughput_ratio": round(
                    min(r["wall_s"] for r in runs["bare"]) / min(r["wall_s"] for r in runs["core"]), 3
                ),
                "paired_ratio_median": round(statistics.median(ratios), 3),
                "paired_ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
            }
            results[fmt] = row
            print(f"{fmt:<17} {json.dumps(row)}", flush=True)
        summary = {
            "lanes": args.lanes,
            "formats": results,
            "min_throughput_ratio": min(r["throughput_ratio"] for r in results.values()),
        }
        print(json.dumps(summary))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
