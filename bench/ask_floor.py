"""Benchmark: a whole ``chatlab ask`` process against the physical floor, per wire format.

A small HTTP server in its own process (pinned to core 1) answers every POST with one
prebuilt stream of ``--chunks`` SSE events (one 1–4 character token each, then the
format's usage and end marker), as fast as the socket takes it. On core 0, three
clients read the same bytes, each as a fresh process, timed from launch to exit:

- ``floor``: the thinnest correct reader, ``httpx2`` plus ``json.loads`` per event,
  appending the text (what any client must at least do);
- ``ask``: ``chatlab ask -m p:MODEL hi`` with a throwaway ``CHATLAB_HOME``: config, key
  lookup, the real adapter and SDK, the Runner, the answer printed and saved;
- ``ask --help``: argument parsing only (startup cost).

Then the same streams once more inside this process, with everything imported and the
adapters built, so the stream itself is compared: the floor loop on ``httpx2.AsyncClient``
against the chatlab core (Runner, real adapter, guard, usage), request to last event.

Last, when the first byte of the answer reaches stdout (``ask`` streams one lane): from
launch, and from the moment the server read the request (the server notes it with
``time.perf_counter``, which on Linux is the system-wide monotonic clock, so the two
processes' readings compare), with ``--no-stream`` beside it.

Rounds alternate the clients; each figure is the best of ``--rounds`` (noise on a shared
VM only adds time), with the median alongside. The last line printed is JSON.

    python bench/ask_floor.py [--chunks 4000] [--rounds 7] [--formats chat,responses,anthropic]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

FLOOR = r"""
import json, sys
import httpx2
url, fmt = sys.argv[1], sys.argv[2]
parts = []
with httpx2.Client(timeout=60) as client:
    with client.stream("POST", url, json={"model": "m", "stream": True}) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            ev = json.loads(line[6:])
            if fmt == "chat":
                for c in ev.get("choices") or ():
                    parts.append((c.get("delta") or {}).get("content") or "")
            elif fmt == "responses":
                if ev.get("type") == "response.output_text.delta":
                    parts.append(ev["delta"])
            elif ev.get("type") == "content_block_delta":
                parts.append(ev["delta"].get("text") or "")
sys.stdout.write("".join(parts) + "\n")
"""


def tokens(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    words = [
        *[
            "the",
            "rain",
            "drums",
            "on",
            "a",
            "tin",
            "roof",
            "every",
            "autumn",
            "night",
            "and",
            "I",
            "hum",
            "the",
            "last",
            "song",
        ]
    ]
    out: list[str] = []
    while len(out) < n:
        word = " " + rng.choice(words)
        while word and len(out) < n:
            k = rng.randint(1, 4)
            out.append(word[:k])
            word = word[k:]
    return out


def sse(data: Any, event: Any = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def body(fmt: str, toks: list[str]) -> bytes:
    parts: list[bytes] = []
    if fmt == "chat":
        base = {"id": "chatcmpl-b", "object": "chat.completion.chunk", "created": 1, "model": "m"}
        for t in toks:
            choice = {"index": 0, "delta": {"content": t}, "logprobs": None, "finish_reason": None}
            parts.append(sse({**base, "choices": [choice]}))
        parts.append(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        usage = {"prompt_tokens": 5, "completion_tokens": len(toks), "total_tokens": 5 + len(toks)}
        parts.append(sse({**base, "choices": [], "usage": usage}))
        parts.append(b"data: [DONE]\n\n")
    elif fmt == "responses":
        parts.append(
            sse(
                {"type": "response.created", "sequence_number": 0, "response": {"id": "r"}},
                "response.created",
            )
        )
        for i, t in enumerate(toks):
            ev = {
                "type": "response.output_text.delta",
                "sequence_number": i + 1,
                "item_id": "msg_b",
                "output_index": 0,
                "content_index": 0,
                "delta": t,
                "logprobs": [],
            }
            parts.append(sse(ev, ev["type"]))
        text = "".join(toks)
        done = {
            "type": "response.output_text.done",
            "item_id": "msg_b",
            "output_index": 0,
            "content_index": 0,
        }
        parts.append(sse({**done, "text": text}, done["type"]))
        usage = {"input_tokens": 5, "output_tokens": len(toks), "total_tokens": 5 + len(toks)}
        response = {"id": "r", "object": "response", "status": "completed", "usage": usage}
        parts.append(sse({"type": "response.completed", "response": response}, "response.completed"))
    else:
        usage = {"input_tokens": 5, "output_tokens": 1}
        message = {"id": "m", "type": "message", "role": "assistant", "content": [], "usage": usage}
        parts.append(sse({"type": "message_start", "message": message}, "message_start"))
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        parts.append(sse(block, block["type"]))
        for t in toks:
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
            parts.append(sse(delta, delta["type"]))
        parts.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        end = {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": len(toks)},
        }
        parts.append(sse(end, end["type"]))
        parts.append(sse({"type": "message_stop"}, "message_stop"))
    return b"".join(parts)


def serve(port: int, chunks: int, stamps: str | None = None) -> None:
    """The server process: every POST gets the prebuilt stream for its path's format
    (the time each request was read appended to ``stamps``, if given)."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    toks = tokens(chunks)
    bodies = {fmt: body(fmt, toks) for fmt in ("chat", "responses", "anthropic")}
    noted = os.open(stamps, os.O_WRONLY | os.O_APPEND | os.O_CREAT) if stamps else None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                if noted is not None:
                    os.write(noted, f"{time.perf_counter()!r}\n".encode())
                fmt = (
                    "chat"
                    if path.endswith("/chat/completions")
                    else "responses"
                    if path.endswith("/responses")
                    else "anthropic"
                )
                data = bodies[fmt]
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(data)
                )
                writer.write(data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def stream_phase(base: str, fmt: str, expected: str, rounds: int) -> tuple[float, float]:
    """Best-of-``rounds`` seconds for one stream: a bare async httpx2 + json loop, and
    the chatlab core (adapter built and warmed beforehand)."""
    import httpx2

    from chatlab.core.data.model import Lane, Session, Status
    from chatlab.core.lab.orchestrator import Runner
    from chatlab.core.settings.apikeys import KeyStore
    from chatlab.core.settings.config import parse_config
    from chatlab.providers import make_adapter

    kind = {"chat": "openai-chat", "responses": "openai-responses", "anthropic": "anthropic"}[fmt]
    url = f"{base}/v1" if fmt != "anthropic" else base
    path = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "anthropic": "/v1/messages"}[fmt]
    runner = Runner(
        parse_config({"providers": {"p": {"kind": kind, "base_url": url, "needs_key": False}}}),
        KeyStore(),
        make_adapter,
    )
    runner.adapter("p").warm_up()
    floor: list[float] = []
    core: list[float] = []
    async with httpx2.AsyncClient(timeout=60) as client:
        for _ in range(rounds):
            t0 = time.perf_counter()
            parts: list[str] = []
            async with client.stream("POST", base + path, json={"model": "m", "stream": True}) as r:
                async for line in r.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    ev = json.loads(line[6:])
                    if fmt == "chat":
                        for c in ev.get("choices") or ():
                            parts.append((c.get("delta") or {}).get("content") or "")
                    elif ev.get("type") in ("response.output_text.delta", "content_block_delta"):
                        delta = ev["delta"]
                        parts.append(delta if isinstance(delta, str) else delta.get("text") or "")
            floor.append(time.perf_counter() - t0)
            assert "".join(parts) == expected
            session = Session(lanes=[Lane("p", "bench-model")])
            turn = session.new_turn("hi")
            t0 = time.perf_counter()
            await runner.turn(session, turn).run()
            core.append(time.perf_counter() - t0)
            (resp,) = turn.responses.values()
            assert resp.status is Status.OK and resp.text == expected
    await runner.aclose()
    return min(floor), min(core)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, done.stdout


def first_byte(cmd: list[str], env: dict[str, str], stamps: Path) -> tuple[float, float, float]:
    """(launch to the first byte on stdout, the request read to it, launch to exit)."""
    stamps.write_text("")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    first = os.read(proc.stdout.fileno(), 1)
    t1 = time.perf_counter()
    rest = proc.stdout.read()
    proc.stdout.close()
    if proc.wait() != 0 or not first or not rest:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode})")
    t2 = time.perf_counter()
    [request] = [float(x) for x in stamps.read_text().split()]
    return t1 - t0, t1 - request, t2 - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--formats", default="chat,responses,anthropic")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stamps", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.chunks, args.stamps)
        return 0
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})  # children inherit core 0
    port = free_port()
    scratch = tempfile.TemporaryDirectory()
    stamps = Path(scratch.name) / "requests"
    server = subprocess.Popen(
        [PYTHON, __file__, "--serve", str(port), "--chunks", str(args.chunks), "--stamps", str(stamps)]
    )
    expected = "".join(tokens(args.chunks))
    results: dict[str, dict[str, float]] = {}
    firsts: dict[str, list[tuple[float, float, float]]] = {"stream": [], "no-stream": []}
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            base = f"http://127.0.0.1:{port}"
            kinds = {"chat": "openai-chat", "responses": "openai-responses", "anthropic": "anthropic"}
            lines = ["[providers]"]
            for fmt, kind in kinds.items():
                url = f"{base}/v1" if fmt != "anthropic" else base
                lines += [
                    f"[providers.{fmt}]",
                    f'kind = "{kind}"',
                    f'base_url = "{url}"',
                    "needs_key = false",
                    "",
                ]
            (home / "config.toml").write_text("\n".join(lines[1:]))
            env = {
                **os.environ,
                "CHATLAB_HOME": str(home),
                "CHATLAB_NO_PROGRESS": "1",
                "PYTHONPATH": str(ROOT),
            }
            chatlab = [PYTHON, "-m", "chatlab"]
            help_times = [timed([*chatlab, "ask", "--help"], env)[0] for _ in range(args.rounds)]
            for fmt in args.formats.split(","):
                path = {
                    "chat": "/v1/chat/completions",
                    "responses": "/v1/responses",
                    "anthropic": "/v1/messages",
                }[fmt]
                floor: list[float] = []
                ask: list[float] = []
                for _ in range(args.rounds):
                    wall, out = timed([PYTHON, "-c", FLOOR, base + path, fmt], env)
                    assert out.strip() == expected.strip(), "the floor client read the wrong text"
                    floor.append(wall)
                    wall, out = timed([*chatlab, "ask", "-m", f"{fmt}:bench-model", "hi"], env)
                    assert expected.strip() in out, f"chatlab ask printed the wrong text: {out[:300]!r}"
                    ask.append(wall)
                    if fmt == "chat":
                        for mode in firsts:
                            flags = ["--no-stream"] if mode == "no-stream" else []
                            cmd = [*chatlab, "ask", *flags, "-m", "chat:bench-model", "hi"]
                            firsts[mode].append(first_byte(cmd, env, stamps))
                phase_floor, phase_core = asyncio.run(stream_phase(base, fmt, expected, args.rounds))
                results[fmt] = {
                    "stream_floor_s": phase_floor,
                    "stream_core_s": phase_core,
                    "stream_ratio": phase_core / phase_floor,
                    "floor_s": min(floor),
                    "ask_s": min(ask),
                    "ratio": min(ask) / min(floor),
                    "floor_median_s": statistics.median(floor),
                    "ask_median_s": statistics.median(ask),
                }
    finally:
        server.terminate()
        server.wait()
        scratch.cleanup()
    print(f"{args.chunks:,} chunks per stream, best of {args.rounds} (median):")
    print("| format | floor (httpx + json) | chatlab ask | ratio |")
    print("|---|---|---|---|")
    for fmt, r in results.items():
        print(
            f"| {fmt} | {r['floor_s']:.3f} s ({r['floor_median_s']:.3f}) | "
            f"{r['ask_s']:.3f} s ({r['ask_median_s']:.3f}) | **{r['ratio']:.2f}x** |"
        )
    print(f"chatlab ask --help: {min(help_times):.3f} s (median {statistics.median(help_times):.3f})")
    print("The stream alone, in one process (request to last event, best of rounds):")
    print("| format | httpx2 + json loop | chatlab core | ratio |")
    print("|---|---|---|---|")
    for fmt, r in results.items():
        print(
            f"| {fmt} | {r['stream_floor_s'] * 1000:.0f} ms | {r['stream_core_s'] * 1000:.0f} ms | "
            f"**{r['stream_ratio']:.2f}x** |"
        )
    first_s: dict[str, dict[str, float]] = {}
    if firsts["stream"]:
        print("The first byte of one lane's answer on stdout (chat), best of rounds (median):")
        print("| ask | launch to first byte | request to first byte | launch to exit |")
        print("|---|---|---|---|")
        for mode, runs in firsts.items():
            launch, request, ended = (sorted(col) for col in zip(*runs, strict=True))
            first_s[mode] = {"launch_s": launch[0], "request_s": request[0], "exit_s": ended[0]}
            cells = [
                f"{c[0] * 1000:.0f} ms ({statistics.median(c) * 1000:.0f})" for c in (launch, request, ended)
            ]
            print(f"| {'--no-stream' if mode == 'no-stream' else '(streams)'} | {' | '.join(cells)} |")
    summary = {"chunks": args.chunks, "help_s": min(help_times), "formats": results, "first_byte": first_s}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
