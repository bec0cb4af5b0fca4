"""Benchmark: the speed limits that the tests leave out (a test's outcome must not depend on
how busy the machine is), each measured over the tests' own inputs and set against its target.

* ``sse-long-line``: a 16 MB line fed to the SSE parser in 64-byte reads, against 2 MB
  (best of 3): 8x the bytes should cost about 8x the time, 64x if quadratic; target < 20x.
* ``sse-burst``: 2,000 events sent at once, read through the adapter from the loopback
  server (chat, claude); target < 2 s each.
* ``sse-trickle``: a byte or two every millisecond; the longest lag from a piece's last byte
  leaving the server to the piece reaching the lane (the pause after a read that waited
  must not hold it); target < 50 ms.
* ``estimates``: next-send estimates for 8 lanes and a 5 MB prompt of mixed scripts, on the
  UI thread; target < 3 s.

Run on a quiet machine; the last line printed is JSON.

    python bench/timing_bench.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatlab.core.data.events import Done, StreamEvent, TextDelta  # noqa: E402
from chatlab.core.data.model import Lane, LaneParams, Message, Request  # noqa: E402
from chatlab.demo.server import DemoServer  # noqa: E402
from chatlab.providers.sse import SSEParser  # noqa: E402
from tests.core.lab.test_controller import make_lab  # noqa: E402
from tests.core.lab.test_controller_hostile import _mixed  # noqa: E402
from tests.fakes import ScriptedAdapter  # noqa: E402
from tests.providers.test_sse_hostile import (  # noqa: E402
    Scripted,
    _trickle,
    answer,
    ending,
    make,
    opening,
    outcome,
    piece,
    replay,
)


def feed_seconds(size: int, piece_size: int = 64) -> float:
    line = b"data: " + b"x" * size + b"\n\n"
    pieces = [line[i : i + piece_size] for i in range(0, len(line), piece_size)]
    parser = SSEParser()
    start = time.perf_counter()
    events: list[Any] = []
    for p in pieces:
        events += parser.feed(p)
    parser.finish()
    elapsed = time.perf_counter() - start
    assert len(events) == 1 and len(events[0].data) == size
    return elapsed


def sse_long_line() -> float:
    small = min(feed_seconds(2 << 20) for _ in range(3))
    return feed_seconds(16 << 20) / small


def sse_burst(fmt: str) -> float:
    pieces = [f"t{i} " for i in range(2000)]
    server = DemoServer().start_in_thread()
    try:
        start = time.perf_counter()
        o = outcome(replay(server, fmt, answer(fmt, *pieces), chunk=97))
        elapsed = time.perf_counter() - start
    finally:
        server.stop_thread()
    assert isinstance(o.end, Done) and o.text == "".join(pieces)
    return elapsed


def sse_trickle(fmt: str) -> float:
    words = ["t0", "t1", "t2", "t3"]
    steps: list[Any] = list(_trickle(opening(fmt)))
    for word in words:
        steps += [*_trickle(piece(fmt, word)), "MARK"]
    steps += [*_trickle(ending(fmt)), "MARK"]
    script = Scripted(steps)

    async def go() -> list[tuple[float, StreamEvent]]:
        loop = asyncio.get_running_loop()
        async with script:
            adapter = make(fmt, script.base(fmt))
            request = Request("m", [Message("user", "hi")], LaneParams())
            try:
                return [(loop.time(), ev) async for ev in adapter.stream(request)]
            finally:
                await adapter.aclose()

    timed = asyncio.run(go())
    arrived: list[float] = []
    chars = 0
    for at, ev in timed:
        if isinstance(ev, TextDelta):
            chars += len(ev.text)
            while len(arrived) < len(words) and chars >= len("".join(words[: len(arrived) + 1])):
                arrived.append(at)
    arrived.append(timed[-1][0])
    return max(a - m for a, m in zip(arrived, script.marks, strict=True))


def estimates() -> float:
    lab = make_lab(ScriptedAdapter())
    for i in range(8):
        lab.add_lane(Lane("fake", f"model-{i}"))
    prompt = _mixed(5_000_000)
    start = time.perf_counter()
    assert len(lab.estimates(prompt)) == 8
    return time.perf_counter() - start


def main() -> None:
    home = tempfile.mkdtemp(prefix="chatlab-bench-")
    os.environ["CHATLAB_HOME"] = str(Path(home) / "home")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(home) / "tiktoken")
    rows: list[tuple[str, float, float, str]] = [("sse-long-line", sse_long_line(), 20.0, "x")]
    rows += [(f"sse-burst/{fmt}", sse_burst(fmt), 2.0, "s") for fmt in ("chat", "claude")]
    rows += [(f"sse-trickle/{fmt}", sse_trickle(fmt), 0.050, "s") for fmt in ("chat", "responses", "claude")]
    rows.append(("estimates", estimates(), 3.0, "s"))
    for name, value, target, unit in rows:
        verdict = "met" if value < target else "NOT met"
        print(f"{name:22} {value:8.3f} {unit}  (target < {target} {unit}: {verdict})")
    print(json.dumps({name: round(value, 4) for name, value, _, _ in rows}))


if __name__ == "__main__":
    main()
