"""Benchmark: the real window, offscreen, with 8 lanes streaming at 1,000 tokens/s each.

Each lane streams reasoning first, then a Markdown answer, in 1–4 character chunks,
from an in-process synthetic adapter (the network and SDK parsing are measured by
``core_stream.py``; this measures what the window does with the tokens). Chunks arrive
in small bursts every 4 ms, as socket reads deliver several SSE events at once.

Measured:
- event-loop lag: lateness of a repeating 5 ms asyncio sleep, p50 and p99;
- chunk to screen: from a chunk's arrival to the flush that puts it in its widget, p50;
- the mean cost of one frame flush while answer panes hold ~10 KB and ~100 KB;
- peak RSS; and cold start to a visible window (a separate process).

``--quick`` (< 40 s) reaches 100 KB panes by prefilling 90 KB of answer in one burst;
the full run streams everything. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncGenerator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from chatlab.core.config import ProviderConfig, parse_config  # noqa: E402
from chatlab.core.events import Done, ReasoningDelta, StreamEvent, TextDelta, Usage, UsageReport  # noqa: E402
from chatlab.core.keys import KeyStore  # noqa: E402
from chatlab.core.model import Lane, Request  # noqa: E402
from chatlab.core.orchestrator import Runner  # noqa: E402
from chatlab.ui.loop import QtLoop  # noqa: E402
from chatlab.ui.window import MainWindow  # noqa: E402

TICK_S = 0.004

WORDS = ("rain", "tin", "roof", "autumn", "drum", "song", "night", "house", "cold", "leaf", "year", "sound")


def markdown_text(size: int, rng: random.Random) -> str:
    """Paragraphs, lists and code blocks, about ``size`` characters."""
    out: list[str] = []
    n = 0
    while n < size:
        kind = rng.random()
        if kind < 0.15:
            block = "```python\n" + "\n".join(f"x{i} = {rng.randint(0, 99)}" for i in range(6)) + "\n```\n\n"
        elif kind < 0.3:
            block = "".join(f"- **{rng.choice(WORDS)}** {rng.choice(WORDS)}\n" for _ in range(4)) + "\n"
        else:
            block = " ".join(rng.choice(WORDS) for _ in range(70)) + ".\n\n"
        out.append(block)
        n += len(block)
    return "".join(out)[:size]


def chunks(text: str, rng: random.Random) -> list[str]:
    out, i = [], 0
    while i < len(text):
        k = rng.randint(1, 4)
        out.append(text[i : i + k])
        i += k
    return out


class Probe:
    """Arrival times of sampled chunks, and the flush that displayed them."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[tuple[int, float]]] = {}  # lane -> (part index, t)
        self.latencies: list[float] = []

    def arrived(self, lane_id: str, index: int) -> None:
        self.arrivals.setdefault(lane_id, []).append((index, time.perf_counter()))

    def shown(self, lane_id: str, parts_shown: int) -> None:
        now = time.perf_counter()
        pending = self.arrivals.get(lane_id, [])
        keep = []
        for index, t in pending:
            if index < parts_shown:
                self.latencies.append(now - t)
            else:
                keep.append((index, t))
        self.arrivals[lane_id] = keep


class SyntheticAdapter:
    """Streams a lane's reasoning then answer at ``rate`` chunks/s, in 4 ms bursts."""

    def __init__(self, rate: float, reasoning_kb: int, answer_kb: int, prefill_kb: int, probe: Probe) -> None:
        self.rate = rate
        self.reasoning_kb = reasoning_kb
        self.answer_kb = answer_kb
        self.prefill_kb = prefill_kb
        self.probe = probe

    def warm_up(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        lane_id = request.model  # the bench names each lane's model after its id
        rng = random.Random(lane_id)
        words = " ".join(rng.choice(WORDS) for _ in range(self.reasoning_kb * 200))
        answer = markdown_text(self.answer_kb * 1024, rng)
        head = 14 * 1024 if self.prefill_kb else len(answer)
        burst = answer[head : head + self.prefill_kb * 1024]
        plan: list[StreamEvent] = [ReasoningDelta(p) for p in chunks(words[: self.reasoning_kb * 1024], rng)]
        plan += [TextDelta(p) for p in chunks(answer[:head], rng)]
        plan += [TextDelta(burst[i : i + 1024]) for i in range(0, len(burst), 1024)]  # unpaced
        plan += [TextDelta(p) for p in chunks(answer[head + len(burst) :], rng)]
        t0 = time.perf_counter()
        paced = 0
        text_index = 0
        for ev in plan:
            if not (isinstance(ev, TextDelta) and len(ev.text) == 1024):
                paced += 1
                delay = t0 + paced / self.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(max(delay, TICK_S))
            else:
                t0 -= 1 / self.rate  # the burst does not count against the pace
            if isinstance(ev, TextDelta):
                if text_index % 25 == 0:
                    self.probe.arrived(lane_id, text_index)
                text_index += 1
            yield ev
        yield UsageReport(Usage(input_tokens=10, output_tokens=len(plan)))
        yield Done("stop")


def cold_start() -> float:
    env = dict(os.environ, CHATLAB_STARTUP_PROBE="1", CHATLAB_HOME=str(ROOT / "bench" / "results" / "home"))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatlab", "--no-autosend"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait(30)
    assert "window shown" in line, line
    return elapsed


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def run(args: argparse.Namespace, app: QApplication) -> dict[str, object]:
    probe = Probe()
    adapter = SyntheticAdapter(args.rate, args.reasoning_kb, args.answer_kb, args.prefill_kb, probe)

    def factory(_p: ProviderConfig, _k: str | None) -> SyntheticAdapter:
        return adapter

    config = parse_config({"providers": {"synthetic": {"kind": "openai-chat", "needs_key": False}}})
    window = MainWindow(Runner(config, KeyStore(), factory))
    window.resize(1600, 1000)
    window.show()
    for _ in range(args.lanes):
        lane = Lane("synthetic", "")
        lane.model = lane.id
        window.add_lane(lane)

    flush_costs: list[tuple[int, float]] = []  # (largest answer pane chars, seconds)
    original = window.flush

    def timed_flush() -> None:
        t = time.perf_counter()
        original()
        cost = time.perf_counter() - t
        size = max((w.response.text_chars if w.response else 0) for w in window.lane_widgets.values())
        flush_costs.append((size, cost))

    window.frame.timeout.disconnect()
    window.frame.timeout.connect(timed_flush)
    window.laneFlushed.connect(lambda lane_id: probe.shown(lane_id, window.lane_widgets[lane_id]._t_i))

    lags: list[float] = []
    stop = asyncio.Event()

    async def lag_probe() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - t - 0.005)

    lag_task = asyncio.ensure_future(lag_probe())
    done = asyncio.get_running_loop().create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    window.turnFinished.connect(finished)
    window.prompt.setPlainText("go")
    t0 = time.perf_counter()
    window.send()
    await done
    elapsed = time.perf_counter() - t0
    stop.set()
    await lag_task
    window.render_pending_finals()
    for w in window.lane_widgets.values():
        assert w.response is not None and w.response.status.value == "ok", w.response
    await window.shutdown()

    def mean_flush(lo_kb: float, hi_kb: float) -> float:
        sample = [c for size, c in flush_costs if lo_kb * 1024 <= size <= hi_kb * 1024]
        return statistics.mean(sample) * 1000 if sample else float("nan")

    answer_chars = [w.answer.document().characterCount() for w in window.lane_widgets.values()]
    return {
        "lanes": args.lanes,
        "tokens_per_s_per_lane": args.rate,
        "duration_s": round(elapsed, 2),
        "p50_lag_ms": round(pct(lags, 0.5) * 1000, 2),
        "p99_lag_ms": round(pct(lags, 0.99) * 1000, 2),
        "p50_chunk_to_screen_ms": round(pct(probe.latencies, 0.5) * 1000, 1),
        "flush_ms_at_10kb": round(mean_flush(8, 14), 3),
        "flush_ms_at_100kb": round(mean_flush(args.answer_kb - 12, args.answer_kb), 3),
        "flushes": len(flush_costs),
        "answer_pane_kb": round(min(answer_chars) / 1024, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="prefill 90 KB so the run takes seconds")
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--rate", type=float, default=1000.0, help="chunks (tokens) per second per lane")
    args = ap.parse_args()
    args.reasoning_kb = 4 if args.quick else 20
    args.answer_kb = 100
    # Quick: stream the first 14 KB, receive the next 76 KB in one burst, stream the last 10 KB.
    args.prefill_kb = 76 if args.quick else 0
    app = QApplication.instance() or QApplication(sys.argv[:1])
    start = cold_start()
    result = asyncio.run(run(args, app), loop_factory=lambda: QtLoop(app))  # type: ignore[arg-type]
    result["cold_start_s"] = round(start, 3)
    result["mode"] = "quick" if args.quick else "full"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
