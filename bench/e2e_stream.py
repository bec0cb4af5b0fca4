"""Benchmark: end to end, from a paced loopback server to the real window's panes.

A loopback server in its own process (pinned to core 1) streams 8 answers at a fixed
token rate in one of the three wire formats (Chat Completions, Responses, Anthropic
Messages), each chunk one SSE event carrying one token of 1–4 characters. It prebuilds
every byte and paces by an absolute schedule: chunk *i* of a stream is due at
``t0 + i / rate``, and each wake-up writes every chunk then due in one write (so at high
rates several events share a write, as on real sockets); it records when it actually
wrote each chunk. The client is what a user runs: the real ``MainWindow``, offscreen, on
the qasync loop, with 8 lanes whose adapters (``chatlab.providers.make_adapter``, the
real OpenAI and Anthropic SDKs over HTTP) point at the server, pinned to core 0, sending
one turn through the window. Both processes read ``CLOCK_MONOTONIC``, so the server's
send times and the window's flush times are comparable.

Per scenario (wire format × rate × answer shape, "paragraphs" of Markdown or one "long"
paragraph with no newline), over the streaming window (``send()`` to the end of the turn):
- event-loop lag: lateness of a repeating 5 ms asyncio sleep, p50 and p99;
- UI-process CPU as a fraction of one core, and CPU µs per chunk received;
- chunk to screen: from the server's send of a chunk to the end of the frame flush that
  first shows it (the lane's shown length reaches the chunk's end offset), p50 and p99,
  and its p50 over the first and the last third of each stream (a growing backlog shows
  as a larger last third);
- backlog: per lane, the flush that shows the last chunk minus that chunk's send time,
  the largest over lanes;
- peak RSS while the scenario ran, and the server's own lateness against its schedule.

Every lane must finish OK with exactly the answer the server sent, or the run fails.

    python bench/e2e_stream.py --quick        # openai-chat, 1,000 and 2,000/s, 3 s each, < 60 s
    python bench/e2e_stream.py                # 3 formats × 3 rates × 2 shapes, minutes

The last line printed is JSON: the headline scenario (8 lanes × 1,000 tokens/s,
openai-chat, paragraphs) and a ``scenarios`` list.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

FORMATS = ("openai-chat", "openai-responses", "anthropic")
SHAPES = ("paragraphs", "long")
HEADLINE = ("openai-chat", 1000, "paragraphs")
WORDS = (
    "rain", "tin", "roof", "autumn", "drum", "song", "night", "house", "cold", "leaf", "year",
    "sound", "river", "stone", "window", "light", "over", "under", "the", "a", "of", "and",
)  # fmt: skip
SERVER_CPU, CLIENT_CPU = 1, 0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def model_name(lane: int) -> str:
    return f"e2e-lane-{lane}"


# -- the answers (built identically by the server and, to check them, by the client) ------------


def tokens_of(text: str, rng: random.Random) -> list[str]:
    out, i = [], 0
    while i < len(text):
        k = rng.randint(1, 4)
        out.append(text[i : i + k])
        i += k
    return out


def answer_tokens(shape: str, n: int, lane: int) -> list[str]:
    """``n`` tokens of 1–4 characters: Markdown paragraphs of ~40–80 tokens separated by a
    blank line, or (``long``) one paragraph with no newline at all."""
    rng = random.Random(f"{shape}-{lane}")
    out: list[str] = []
    while len(out) < n:
        target = rng.randint(40, 80) if shape == "paragraphs" else 4000
        words: list[str] = []
        size = 0
        while size < target * 2.5:
            word = rng.choice(WORDS)
            if rng.random() < 0.04:
                word = f"**{word}**"
            words.append(word)
            size += len(word) + 1
        if shape == "paragraphs":
            out += tokens_of(" ".join(words).capitalize() + ".", rng)
            out.append("\n\n")
        else:
            out += tokens_of(("" if not out else " ") + " ".join(words) + ".", rng)
    return out[:n]


# -- the server -------------------------------------------------------------------------------


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    line = json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\ndata: {line}\n\n" if event else f"data: {line}\n\n").encode()


def _chunked(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


@dataclass
class Prebuilt:
    """One stream's bytes: HTTP head and the events before the first token, one event per
    token, and the events after the last token with the chunked-encoding end."""

    head: bytes
    events: list[bytes]
    tail: bytes
    t0: float = 0.0
    sends: list[float] = field(default_factory=list)


def prebuild(fmt: str, lane: int, tokens: list[str]) -> Prebuilt:
    model = model_name(lane)
    answer = "".join(tokens)
    n = len(tokens)
    pre: list[bytes] = []
    post: list[bytes] = []
    events: list[bytes]
    if fmt == "openai-chat":
        cid = f"chatcmpl-e2e{lane}"

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            body = {"id": cid, "object": "chat.completion.chunk", "created": 0, "model": model}
            return _sse({**body, "choices": [choice]})

        pre.append(chunk({"role": "assistant", "content": ""}))
        events = [chunk({"content": t}) for t in tokens]
        post.append(chunk({}, "stop"))
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": n,
            "total_tokens": 10 + n,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
        body = {"id": cid, "object": "chat.completion.chunk", "created": 0, "model": model}
        post.append(_sse({**body, "choices": [], "usage": usage}))
        post.append(b"data: [DONE]\n\n")
    elif fmt == "openai-responses":
        rid, mid = f"resp_e2e{lane}", f"msg_e2e{lane}"
        seq = iter(range(n + 16))
        base = {
            "id": rid,
            "object": "response",
            "created_at": 0,
            "model": model,
            "output": [],
            "error": None,
            "incomplete_details": None,
            "usage": None,
        }

        def ev(kind: str, **data: Any) -> bytes:
            return _sse({"type": kind, "sequence_number": next(seq), **data}, kind)

        item = {"id": mid, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
        part = {"type": "output_text", "annotations": [], "text": ""}
        where = {"item_id": mid, "output_index": 0, "content_index": 0}
        pre.append(ev("response.created", response={**base, "status": "in_progress"}))
        pre.append(ev("response.in_progress", response={**base, "status": "in_progress"}))
        pre.append(ev("response.output_item.added", output_index=0, item=item))
        pre.append(ev("response.content_part.added", **where, part=part))
        events = [ev("response.output_text.delta", **where, delta=t, logprobs=[]) for t in tokens]
        post.append(ev("response.output_text.done", **where, text=answer, logprobs=[]))
        done_part = {"type": "output_text", "annotations": [], "text": answer}
        post.append(ev("response.content_part.done", **where, part=done_part))
        done_item = {**item, "status": "completed", "content": [done_part]}
        post.append(ev("response.output_item.done", output_index=0, item=done_item))
        usage = {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": n,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 10 + n,
        }
        final = {**base, "status": "completed", "output": [done_item], "usage": usage}
        post.append(ev("response.completed", response=final))
    elif fmt == "anthropic":
        message: dict[str, Any] = {
            "id": f"msg_e2e{lane}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        }
        pre.append(_sse({"type": "message_start", "message": message}, "message_start"))
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        pre.append(_sse(block, "content_block_start"))
        events = [
            _sse(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
                "content_block_delta",
            )
            for t in tokens
        ]
        post.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"input_tokens": 10, "output_tokens": n},
        }
        post.append(_sse(delta, "message_delta"))
        post.append(_sse({"type": "message_stop"}, "message_stop"))
    else:
        raise ValueError(fmt)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(b"".join(pre))
    return Prebuilt(head, events, _chunked(b"".join(post)) + b"0\r\n\r\n")


ROUTES = {
    "openai-chat": "/v1/chat/completions",
    "openai-responses": "/v1/responses",
    "anthropic": "/v1/messages",
}


class PacedServer:
    """Serves the prebuilt streams (one per lane, found by model name) on schedule, and
    ``GET /times``: every chunk's actual send time."""

    def __init__(self, fmt: str, rate: float, streams: dict[str, Prebuilt]) -> None:
        self.fmt = fmt
        self.rate = rate
        self.streams = streams
        self.max_buffer = 0  # the most bytes ever queued in a transport: the client not reading
        self.cpu0: float | None = None  # process CPU when the first stream started

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                raw = await reader.readexactly(length) if length else b""
                path = path.split("?", 1)[0]
                if method == "GET" and path == "/times":
                    self.reply(writer, 200, json.dumps(self.times()).encode())
                elif method == "POST" and path == ROUTES[self.fmt]:
                    stream = self.streams.get(str(json.loads(raw).get("model")))
                    if stream is None or stream.sends:
                        self.reply(writer, 404, b'{"error":{"message":"no such stream","type":"x"}}')
                    else:
                        await self.pace(writer, stream)
                else:
                    self.reply(writer, 404, b'{"error":{"message":"no such route","type":"x"}}')
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def reply(self, writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)

    async def pace(self, writer: asyncio.StreamWriter, stream: Prebuilt) -> None:
        events, rate, n = stream.events, self.rate, len(stream.events)
        sends = stream.sends = [0.0] * n
        transport = writer.transport
        if self.cpu0 is None:
            self.cpu0 = time.process_time()
        stream.t0 = t0 = time.monotonic()
        writer.write(stream.head)
        i = 0
        while i < n:
            # Every chunk due by now, in one write (the schedule is absolute: a late wake-up
            # catches up at once, as a provider's socket would deliver it).
            due = min(n, int((time.monotonic() - t0) * rate + 1e-6) + 1)
            if due > i:
                writer.write(_chunked(b"".join(events[i:due])))
                t = time.monotonic()
                sends[i:due] = [t] * (due - i)
                i = due
                self.max_buffer = max(self.max_buffer, transport.get_write_buffer_size())
            if i < n:
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        writer.write(stream.tail)

    def times(self) -> dict[str, Any]:
        lanes = {name: {"t0": s.t0, "sends": s.sends} for name, s in self.streams.items()}
        starts = [s.t0 for s in self.streams.values() if s.sends]
        ends = [s.sends[-1] for s in self.streams.values() if s.sends]
        wall = max(ends) - min(starts) if starts else 0.0
        cpu = time.process_time() - self.cpu0 if self.cpu0 is not None else 0.0
        return {
            "rate": self.rate,
            "max_write_buffer": self.max_buffer,
            "cpu_fraction": cpu / wall if wall else 0.0,  # the server's own load, for headroom
            "lanes": lanes,
        }


def serve(args: argparse.Namespace) -> None:
    """The server process: prebuild, print ``ready PORT``, serve until terminated."""
    cpus = os.sched_getaffinity(0)
    if len(cpus) > 1 and SERVER_CPU in cpus:
        os.sched_setaffinity(0, {SERVER_CPU})
    n = round(args.rate * args.seconds)
    streams = {
        model_name(i): prebuild(args.format, i, answer_tokens(args.shape, n, i)) for i in range(args.lanes)
    }
    server = PacedServer(args.format, args.rate, streams)
    gc.collect()
    gc.freeze()
    gc.disable()  # no collector pauses in the middle of a schedule

    async def main() -> None:
        srv = await asyncio.start_server(server.handle, "127.0.0.1", args.port)
        print(f"ready {srv.sockets[0].getsockname()[1]}", flush=True)
        await srv.serve_forever()

    asyncio.run(main())


# -- the client: the real window ----------------------------------------------------------------


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM, so each scenario gets its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb(reset_ok: bool) -> float:
    if reset_ok:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_server(
    fmt: str, rate: float, shape: str, seconds: float, lanes: int
) -> tuple[subprocess.Popen[str], int]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", "--format", fmt, "--rate", str(rate)]
    cmd += ["--shape", shape, "--seconds", str(seconds), "--lanes", str(lanes), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, int(line.split()[1])


def fetch_times(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/times", timeout=30) as r:
        times: dict[str, Any] = json.loads(r.read())
    return times


class Failed(Exception):
    """A lane did not finish OK with the full answer: nothing measured is worth reporting."""


async def scenario(fmt: str, rate: float, shape: str, seconds: float, lanes: int) -> dict[str, Any]:
    from chatlab.core.data.model import Lane, Status
    from chatlab.core.lab.orchestrator import Runner
    from chatlab.core.settings.apikeys import KeyStore
    from chatlab.core.settings.config import parse_config
    from chatlab.providers import make_adapter
    from chatlab.ui.lab.window import MainWindow

    n = round(rate * seconds)
    server, port = start_server(fmt, rate, shape, seconds, lanes)
    try:
        base = f"http://127.0.0.1:{port}" + ("" if fmt == "anthropic" else "/v1")
        config = parse_config({"providers": {"p": {"kind": fmt, "base_url": base, "needs_key": False}}})
        window = MainWindow(Runner(config, KeyStore(), make_adapter))
        window.resize(1600, 1000)
        window.show()
        index: dict[str, int] = {}
        for i in range(lanes):
            lane = Lane("p", model_name(i))
            window.add_lane(lane)
            index[lane.id] = i

        # What each flush showed: (end of the frame's flush, characters shown) per lane.
        shown: dict[str, list[tuple[float, int]]] = {lane_id: [] for lane_id in index}
        pending: list[tuple[str, int]] = []
        in_flush = False
        area = window.lanes
        original = area.flush

        def on_lane_flushed(lane_id: str) -> None:
            # A lane's flush shows every text part received so far, so what it shows is the
            # response's text length at this moment (the panes' own character counts include
            # display breaks; the checks below confirm the last flush showed everything).
            resp = window.lane_widgets[lane_id].response
            chars = resp.text_chars if resp is not None else 0
            if in_flush:
                pending.append((lane_id, chars))
            elif lane_id in shown:
                shown[lane_id].append((time.monotonic(), chars))

        def timed_flush() -> None:
            nonlocal in_flush
            in_flush = True
            try:
                original()
            finally:
                in_flush = False
            t = time.monotonic()
            for lane_id, chars in pending:
                if lane_id in shown:
                    shown[lane_id].append((t, chars))
            pending.clear()

        # The frame timer and the window's final flush at the end of the turn both go through it.
        area.frame.timeout.disconnect()
        area.frame.timeout.connect(timed_flush)
        area.flush = timed_flush  # type: ignore[method-assign]
        window.laneFlushed.connect(on_lane_flushed)

        lags: list[tuple[float, float]] = []  # (end, lateness s)
        stop = asyncio.Event()

        async def lag_probe() -> None:
            while not stop.is_set():
                t = time.monotonic()
                await asyncio.sleep(0.005)
                now = time.monotonic()
                lags.append((now, now - t - 0.005))

        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

        def finished() -> None:
            if not done.done():
                done.set_result(time.monotonic())

        window.turnFinished.connect(finished)
        window.prompt.setPlainText("go")
        await asyncio.sleep(0.5)  # the prompt's estimate timer and first paint, before measuring
        rss_reset = reset_peak_rss()
        lag_task = asyncio.ensure_future(lag_probe())
        cpu0, t_send = time.process_time(), time.monotonic()
        window.send()
        try:
            t_end = await asyncio.wait_for(done, timeout=seconds * 20 + 60)
        except TimeoutError:
            raise Failed(f"{fmt} {rate:g}/s {shape}: the turn did not finish") from None
        cpu = time.process_time() - cpu0
        rss = peak_rss_mb(rss_reset)
        stop.set()
        await lag_task
        window.render_pending_finals()

        failures = []
        for lane_id, i in index.items():
            resp = window.lane_widgets[lane_id].response
            expected = "".join(answer_tokens(shape, n, i))
            if resp is None or resp.status is not Status.OK:
                failures.append(f"lane {i}: {resp.status if resp else None} {resp.error if resp else ''}")
            elif resp.text != expected:
                failures.append(f"lane {i}: {len(resp.text)} of {len(expected)} characters, or different")
            elif not shown[lane_id] or shown[lane_id][-1][1] != len(expected):
                failures.append(f"lane {i}: the flushes never showed the whole answer")
        await window.shutdown()
        window.close()
        window.deleteLater()
        times = await asyncio.to_thread(fetch_times, port)
    finally:
        server.terminate()
        server.wait(10)
    if failures:
        raise Failed(f"{fmt} {rate:g}/s {shape}: " + "; ".join(failures))

    # Chunk to screen: each chunk's send time to the first flush showing its end offset.
    latency: list[float] = []
    first_third: list[float] = []
    last_third: list[float] = []
    backlog: list[float] = []
    server_late: list[float] = []
    for lane_id, i in index.items():
        sends: list[float] = times["lanes"][model_name(i)]["sends"]
        t0: float = times["lanes"][model_name(i)]["t0"]
        server_late += [s - (t0 + k / rate) for k, s in enumerate(sends)]
        flushes = shown[lane_id]
        end = 0
        f = 0
        for k, token in enumerate(answer_tokens(shape, n, i)):
            end += len(token)
            while flushes[f][1] < end:
                f += 1
            late = flushes[f][0] - sends[k]
            latency.append(late)
            if k < n // 3:
                first_third.append(late)
            elif k >= n - n // 3:
                last_third.append(late)
        backlog.append(late)  # the last chunk's
    window_lags = [lag for t, lag in lags if t_send <= t <= t_end]
    wall = t_end - t_send
    return {
        "format": fmt,
        "tokens_per_s_per_lane": rate,
        "shape": shape,
        "lanes": lanes,
        "chunks": n * lanes,
        "stream_s": round(wall, 2),
        "p50_lag_ms": round(pct(window_lags, 0.5) * 1000, 2),
        "p99_lag_ms": round(pct(window_lags, 0.99) * 1000, 2),
        "ui_cpu_fraction": round(cpu / wall, 3),
        "cpu_us_per_chunk": round(cpu / (n * lanes) * 1e6, 1),
        "chunk_to_screen_p50_ms": round(pct(latency, 0.5) * 1000, 1),
        "chunk_to_screen_p99_ms": round(pct(latency, 0.99) * 1000, 1),
        "first_third_p50_ms": round(pct(first_third, 0.5) * 1000, 1),
        "last_third_p50_ms": round(pct(last_third, 0.5) * 1000, 1),
        "backlog_ms": round(max(backlog) * 1000, 1),
        "peak_rss_mb": round(rss, 1),
        "server_late_p50_ms": round(pct(server_late, 0.5) * 1000, 2),
        "server_late_p99_ms": round(pct(server_late, 0.99) * 1000, 2),
        "server_late_max_ms": round(max(server_late) * 1000, 2),
        "server_cpu_fraction": round(times["cpu_fraction"], 3),
        "server_max_write_buffer_kb": round(times["max_write_buffer"] / 1024, 1),
    }


COLUMNS = (
    ("format", "format", "{}"),
    ("shape", "shape", "{}"),
    ("tok/s", "tokens_per_s_per_lane", "{:,.0f}"),
    ("lag p50", "p50_lag_ms", "{:.1f}"),
    ("lag p99", "p99_lag_ms", "{:.1f}"),
    ("CPU", "ui_cpu_fraction", "{:.2f}"),
    ("µs/chunk", "cpu_us_per_chunk", "{:.0f}"),
    ("c2s p50", "chunk_to_screen_p50_ms", "{:.0f}"),
    ("c2s p99", "chunk_to_screen_p99_ms", "{:.0f}"),
    ("1st⅓", "first_third_p50_ms", "{:.0f}"),
    ("last⅓", "last_third_p50_ms", "{:.0f}"),
    ("backlog", "backlog_ms", "{:.0f}"),
    ("RSS MB", "peak_rss_mb", "{:.0f}"),
    ("srv p99", "server_late_p99_ms", "{:.1f}"),
    ("srv max", "server_late_max_ms", "{:.1f}"),
    ("srv CPU", "server_cpu_fraction", "{:.2f}"),
)


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[h for h, _, _ in COLUMNS]] + [[fmt.format(r[k]) for _, k, fmt in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            c.rjust(w) if j > 1 else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


async def run_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for fmt in args.formats:
        # Unmeasured: the SDK's import and first parses, the first window of this format.
        progress(f"{fmt}: warm-up")
        await scenario(fmt, 1000, "paragraphs", 0.5, args.lanes)
        for rate in args.rates:
            for shape in args.shapes:
                row = await scenario(fmt, rate, shape, args.seconds, args.lanes)
                progress(json.dumps(row))
                rows.append(row)
    return rows


def csv(kind: type, choices: tuple[str, ...] | None = None) -> Any:
    def parse(value: str) -> list[Any]:
        items = [kind(v) for v in value.split(",") if v]
        if choices is not None and any(v not in choices for v in items):
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return items

    return parse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="openai-chat at 1,000 and 2,000/s, both shapes")
    ap.add_argument("--formats", type=csv(str, FORMATS), help="comma-separated wire formats")
    ap.add_argument("--rates", type=csv(float), help="comma-separated chunks/s per lane")
    ap.add_argument("--shapes", type=csv(str, SHAPES), help="paragraphs,long")
    ap.add_argument("--seconds", type=float, default=None, help="streaming time per scenario")
    ap.add_argument("--lanes", type=int, default=8)
    # The server process (started by the client; not for direct use).
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--format", default="openai-chat", help=argparse.SUPPRESS)
    ap.add_argument("--rate", type=float, default=1000.0, help=argparse.SUPPRESS)
    ap.add_argument("--shape", default="paragraphs", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args)
        return
    args.formats = args.formats or (["openai-chat"] if args.quick else list(FORMATS))
    args.rates = args.rates or ([1000.0, 2000.0] if args.quick else [500.0, 1000.0, 2000.0])
    args.shapes = args.shapes or list(SHAPES)
    args.seconds = args.seconds or (3.0 if args.quick else 5.0)

    cpus = sorted(os.sched_getaffinity(0))
    pinned = len(cpus) > 1 and SERVER_CPU in cpus and CLIENT_CPU in cpus
    if pinned:  # before Qt starts any thread: they all inherit it
        os.sched_setaffinity(0, {CLIENT_CPU})
    else:
        progress("fewer than 2 usable cores: server and window are not pinned apart")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    from chatlab.ui.shared.loop import QtLoop

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # each scenario closes its window; the loop runs on
    t0 = time.monotonic()
    try:
        rows = asyncio.run(run_all(args), loop_factory=lambda: QtLoop(app))
    except Failed as exc:
        print(f"FAILED: {exc}", flush=True)
        sys.exit(1)
    print(table(rows))
    print(f"{len(rows)} scenarios in {time.monotonic() - t0:.1f} s; pinned: {pinned}")
    keys = (
        "lanes",
        "tokens_per_s_per_lane",
        "p99_lag_ms",
        "ui_cpu_fraction",
        "cpu_us_per_chunk",
        "backlog_ms",
    )
    head = next(
        (r for r in rows if (r["format"], r["tokens_per_s_per_lane"], r["shape"]) == HEADLINE),
        rows[0],
    )
    summary: dict[str, Any] = {k: head[k] for k in keys}
    summary["headline"] = f"{head['format']} {head['tokens_per_s_per_lane']:g}/s {head['shape']}"
    summary["scenarios"] = rows
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
