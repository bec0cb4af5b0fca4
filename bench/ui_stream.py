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

``--long-line 200,1024,5120`` runs the long-line scenario instead: one lane streams a
single line of that many KB (one unbroken run of letters, or words and spaces with
``--spaces``; never a newline) into its answer pane (or its reasoning pane, ``--pane
reasoning``) at ``--line-rate`` KB/s, in 1–64 character chunks every 4 ms. For each size:
event-loop lag while the line streams and while its final render runs; the final render
itself; in a second run, Esc pressed half-way (from another thread, as a user would) and
the time until the stream stops and until the window is idle again; and reopening the
finished session in the lane (``LaneWidget.load``). A watchdog (``--deadline``) prints
what was measured so far and exits if the window freezes for good.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import os
import random
import resource
import statistics
import string
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QObject, Qt, Signal  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from chatlab.core.costs.tokens import count_tokens  # noqa: E402
from chatlab.core.data.events import Done, ReasoningDelta, StreamEvent, TextDelta, Usage, UsageReport  # noqa: E402
from chatlab.core.data.model import Lane, Request  # noqa: E402
from chatlab.core.lab.orchestrator import Runner  # noqa: E402
from chatlab.core.settings.apikeys import KeyStore  # noqa: E402
from chatlab.core.settings.config import ProviderConfig, parse_config  # noqa: E402
from chatlab.ui.lab.lane import LaneWidget  # noqa: E402
from chatlab.ui.lab.window import MainWindow  # noqa: E402
from chatlab.ui.shared.loop import QtLoop  # noqa: E402
from chatlab.ui.shared.textprops import BREAK_PROPERTY  # noqa: E402

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


class _LocalAdapter:
    """What an in-process adapter needs besides ``stream``: nothing to warm, list or close."""

    def warm_up(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def list_models(self) -> list[str]:
        return []


class SyntheticAdapter(_LocalAdapter):
    """Streams a lane's reasoning then answer at ``rate`` chunks/s, in 4 ms bursts."""

    def __init__(self, rate: float, reasoning_kb: int, answer_kb: int, prefill_kb: int, probe: Probe) -> None:
        self.rate = rate
        self.reasoning_kb = reasoning_kb
        self.answer_kb = answer_kb
        self.prefill_kb = prefill_kb
        self.probe = probe

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
    original = window.lanes.flush

    def timed_flush() -> None:
        t = time.perf_counter()
        original()
        cost = time.perf_counter() - t
        size = max((w.response.text_chars if w.response else 0) for w in window.lane_widgets.values())
        flush_costs.append((size, cost))

    window.lanes.frame.timeout.disconnect()
    window.lanes.frame.timeout.connect(timed_flush)
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


# -- the long-line scenario ----------------------------------------------------------------


def long_line(size: int, rng: random.Random, spaces: bool) -> str:
    """``size`` characters, no newline: words and spaces, or one unbroken run of letters
    (nowhere to wrap: Qt's worst case, and the line of the original report)."""
    if not spaces:
        return "".join(rng.choices(string.ascii_lowercase, k=size))
    words: list[str] = []
    n = 0
    while n < size:
        word = rng.choice(WORDS)
        words.append(word)
        n += len(word) + 1
    return " ".join(words)[:size]


class LongLineAdapter(_LocalAdapter):
    """Streams one long line (answer or reasoning) at ``rate`` chars/s in 4 ms bursts."""

    def __init__(self, line: str, rate: float, pane: str) -> None:
        self.line = line
        self.rate = rate
        self.pane = pane
        self.cancelled_at: float | None = None

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        rng = random.Random(len(self.line))
        delta = ReasoningDelta if self.pane == "reasoning" else TextDelta
        t0 = time.perf_counter()
        sent = 0
        try:
            while sent < len(self.line):
                due = min(len(self.line), int((time.perf_counter() - t0) * self.rate) + 1)
                while sent < due:  # after a stall the backlog arrives at once, like a socket's
                    k = rng.randint(1, 64)
                    yield delta(self.line[sent : sent + k])
                    sent += k
                await asyncio.sleep(TICK_S)
        except asyncio.CancelledError:
            self.cancelled_at = time.perf_counter()
            raise
        progress(f"{len(self.line) // 1024} KB sent in {time.perf_counter() - t0:.1f} s")
        yield UsageReport(Usage(input_tokens=10, output_tokens=len(self.line) // 4))
        yield Done("stop")


def progress(message: str) -> None:
    """A line on stderr as each phase ends: what a run that never ends got through."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class KeyPresser(QObject):
    """Presses Esc in the window from another thread's timer, as a user would."""

    pressed = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window = window
        self.at: float | None = None
        self.handled_at: float | None = None
        self.pressed.connect(self._press, Qt.ConnectionType.QueuedConnection)

    def later(self, delay_s: float) -> None:
        def fire() -> None:
            self.at = time.perf_counter()
            self.pressed.emit()

        timer = threading.Timer(delay_s, fire)
        timer.daemon = True
        timer.start()

    def _press(self) -> None:
        self.handled_at = time.perf_counter()
        QTest.keyClick(self.window.prompt, Qt.Key.Key_Escape)


class LagProbe:
    """Lateness of a repeating 5 ms asyncio sleep, with the time of each sample."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (end time, lag s)
        self._stop = asyncio.Event()
        self._task: asyncio.Future[None] | None = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.samples.append((now, now - t - 0.005))

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def lags(self, until: float | None = None) -> list[float]:
        return [lag for t, lag in self.samples if until is None or t <= until]


def max_block(widget: LaneWidget, pane: str) -> tuple[int, int]:
    """The longest text block in a pane's document, and how many display breaks it has."""
    doc = (widget.reasoning if pane == "reasoning" else widget.answer).document()
    longest = breaks = 0
    block = doc.begin()
    while block.isValid():
        longest = max(longest, block.length() - 1)
        breaks += bool(block.blockFormat().property(BREAK_PROPERTY))
        block = block.next()
    return longest, breaks


async def long_line_run(line: str, rate: float, pane: str, esc_after_s: float | None) -> dict[str, Any]:
    """One turn of one lane streaming ``line``; Esc pressed after ``esc_after_s`` if given."""
    adapter = LongLineAdapter(line, rate, pane)

    def factory(_p: ProviderConfig, _k: str | None) -> LongLineAdapter:
        return adapter

    config = parse_config({"providers": {"synthetic": {"kind": "openai-chat", "needs_key": False}}})
    window = MainWindow(Runner(config, KeyStore(), factory))
    window.resize(1600, 1000)
    window.show()
    window.activateWindow()
    lane = Lane("synthetic", "long-line")
    window.add_lane(lane)
    widget = window.lane_widgets[lane.id]
    final_s: list[float] = []
    render_final = widget.render_final

    def timed_final() -> None:
        progress("final render")
        t = time.perf_counter()
        render_final()
        final_s.append(time.perf_counter() - t)

    widget.render_final = timed_final  # type: ignore[method-assign]
    presser = KeyPresser(window)
    done = asyncio.get_running_loop().create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(time.perf_counter())

    window.turnFinished.connect(finished)
    probe = LagProbe()
    probe.start()
    window.prompt.setPlainText("go")
    window.prompt.setFocus()
    t0 = time.perf_counter()
    window.send()
    if esc_after_s is not None:
        presser.later(esc_after_s)
    t_end: float = await done
    progress(f"turn finished: {t_end - t0:.1f} s after sending")
    await probe.stop()
    window.render_pending_finals()
    resp = widget.response
    assert resp is not None
    lags = probe.lags()
    out: dict[str, Any] = {
        "status": resp.status.value,
        "shown_kb": round(resp.text_chars / 1024 if pane == "answer" else resp.reasoning_chars / 1024, 1),
        "turn_s": round(t_end - t0, 2),
        "p50_lag_ms": round(pct(lags, 0.5) * 1000, 1),
        "p99_lag_ms": round(pct(lags, 0.99) * 1000, 1),
        "max_lag_ms": round(max(lags, default=0.0) * 1000, 1),
        "final_render_ms": round(sum(final_s) * 1000, 1),
    }
    if esc_after_s is not None:
        assert presser.at is not None and presser.handled_at is not None, "Esc never pressed"
        assert resp.status.value == "cancelled", resp.status
        assert adapter.cancelled_at is not None, "the stream was not cancelled"
        out["esc_seen_ms"] = round((presser.handled_at - presser.at) * 1000, 1)
        out["esc_to_stream_stopped_ms"] = round((adapter.cancelled_at - presser.at) * 1000, 1)
        out["esc_to_idle_ms"] = round((t_end - presser.at) * 1000, 1)
        # The core's own part of the wait: its final token estimate of the cancelled text.
        t = time.perf_counter()
        count_tokens(resp.reasoning if pane == "reasoning" else resp.text)
        out["core_token_estimate_ms"] = round((time.perf_counter() - t) * 1000, 1)
        before = probe.lags(until=presser.at)
        out["p99_lag_before_esc_ms"] = round(pct(before, 0.99) * 1000, 1)
    else:
        assert resp.status.value == "ok", resp.status
        assert (resp.reasoning if pane == "reasoning" else resp.text) == line  # verbatim
        out["max_block_chars"], out["display_breaks"] = max_block(widget, pane)
        # Reopening the saved session: the lane shows its history again from scratch.
        probe = LagProbe()
        t = time.perf_counter()
        widget.load(window.session)
        progress("session reopened")
        out["reopen_ms"] = round((time.perf_counter() - t) * 1000, 1)
        probe.start()
        await asyncio.sleep(1.0)  # whatever layout Qt does lazily after the load
        await probe.stop()
        out["reopen_max_lag_ms"] = round(max(probe.lags(), default=0.0) * 1000, 1)
    await window.shutdown()
    window.close()
    window.deleteLater()
    return out


async def run_long_lines(args: argparse.Namespace, report: Callable[[dict[str, Any]], None]) -> None:
    # Warm up (fonts, the tokenizer's vocabulary, first window) before measuring.
    warm_up = long_line(4096, random.Random(0), args.spaces)
    await long_line_run(warm_up, args.line_rate * 1024, args.pane, None)
    for kb in args.long_line:
        line = long_line(kb * 1024, random.Random(kb), args.spaces)
        rate = args.line_rate * 1024
        stream_s = len(line) / rate
        result: dict[str, Any] = {
            "size_kb": kb,
            "pane": args.pane,
            "spaces": args.spaces,
            "line_rate_kb_s": args.line_rate,
        }
        result["stream"] = await long_line_run(line, rate, args.pane, None)
        report(dict(result))
        result["esc"] = await long_line_run(line, rate, args.pane, stream_s / 2)
        report(result)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="prefill 90 KB so the run takes seconds")
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--rate", type=float, default=1000.0, help="chunks (tokens) per second per lane")
    ap.add_argument(
        "--long-line",
        type=lambda v: [int(x) for x in v.split(",")],
        help="comma-separated sizes in KB: run the long single-line scenario instead",
    )
    ap.add_argument("--pane", choices=("answer", "reasoning"), default="answer")
    ap.add_argument("--spaces", action="store_true", help="long line: words and spaces, not one run")
    ap.add_argument("--line-rate", type=float, default=256.0, help="long line: KB per second")
    ap.add_argument("--deadline", type=float, default=900.0, help="long line: give up after this many s")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if args.long_line:
        results: list[dict[str, Any]] = []

        def report(result: dict[str, Any]) -> None:
            if results and results[-1]["size_kb"] == result["size_kb"]:
                results[-1] = result
            else:
                results.append(result)
            print(json.dumps(result), flush=True)

        def give_up() -> None:
            print(json.dumps({"timed_out_after_s": args.deadline, "results": results}), flush=True)
            os._exit(2)

        # A Qt call that never returns keeps the GIL: the Python timer can't run then, so
        # faulthandler's C thread ends the run (and shows where it was stuck) soon after.
        watchdog = threading.Timer(args.deadline, give_up)
        watchdog.daemon = True
        watchdog.start()
        faulthandler.dump_traceback_later(args.deadline + 10, exit=True)
        asyncio.run(run_long_lines(args, report), loop_factory=lambda: QtLoop(app))
        faulthandler.cancel_dump_traceback_later()
        watchdog.cancel()
        print(json.dumps({"long_line": results}))
        return
    args.reasoning_kb = 4 if args.quick else 20
    args.answer_kb = 100
    # Quick: stream the first 14 KB, receive the next 76 KB in one burst, stream the last 10 KB.
    args.prefill_kb = 76 if args.quick else 0
    start = cold_start()
    result = asyncio.run(run(args, app), loop_factory=lambda: QtLoop(app))  # type: ignore[arg-type]
    result["cold_start_s"] = round(start, 3)
    result["mode"] = "quick" if args.quick else "full"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
