"""The loopback provider server: Chat Completions, Responses and Anthropic Messages over SSE.

A small HTTP/1.1 server on asyncio (keep-alive, chunked transfer) that speaks each
provider's streaming wire format closely enough for the official SDKs, driven by
:mod:`chatlab.demo.scripts`. It serves scripted models at a chosen token rate, hidden
reasoning, and injected faults (401, 429 with Retry-After, 500, 529, a dropped
connection, an error event, a malformed JSON line, a stall, a clean but truncated
stream). It can also replay a captured SSE body byte for byte. Tests and the GUI's demo
mode use it; ``chatlab serve-demo`` runs it in the foreground. It binds to loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chatlab.core.costs.tokens import approximate
from chatlab.demo.scripts import DEMO_SCRIPTS, INJECTED, Script, resolve

MAX_BODY = 16 * 1024 * 1024


@dataclass
class Replay:
    body: bytes
    chunk_size: int = 97  # odd-sized writes split events and even UTF-8 sequences


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    usage: dict[str, int] = field(default_factory=dict)


class _Closed(Exception):
    """The client went away."""


@dataclass
class _Plan:
    """The token chunks a script will send for one request, and the usage to report."""

    reasoning: list[str]
    answer: list[str]
    input_tokens: int
    reasoning_tokens: int
    output_tokens: int


def _chunks(text: str, lo: int, hi: int, rng: random.Random) -> list[str]:
    out = []
    i = 0
    while i < len(text):
        n = rng.randint(lo, max(lo, hi))
        out.append(text[i : i + n])
        i += n
    return out


def _messages_text(body: dict[str, Any]) -> tuple[str, int, str]:
    """(all input text, number of messages, last user message) of any of the three formats."""
    msgs = body.get("messages") or body.get("input") or []
    if isinstance(msgs, str):
        msgs = [{"role": "user", "content": msgs}]
    texts: list[str] = []
    last_user = ""
    for m in msgs:
        content = m.get("content", "")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        texts.append(str(content))
        if m.get("role") == "user":
            last_user = str(content)
    for key in ("instructions", "system"):
        if isinstance(body.get(key), str):
            texts.append(body[key])
    return "\n".join(texts), len(msgs), last_user


class DemoServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        scripts: dict[str, Script] | None = None,
        api_key: str | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the demo server binds to loopback only")
        self.host = host
        self.port = port
        self.scripts: dict[str, Script] = dict(DEMO_SCRIPTS if scripts is None else scripts)
        self.replays: dict[str, Replay] = {}
        self.api_key = api_key
        self.log: list[LoggedRequest] = []
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count(1)
        self._hits: dict[str, int] = {}  # requests per model string, for fail_times
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}
        self._conns: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------

    @property
    def openai_base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add(self, name: str, script: Script) -> None:
        self.scripts[name] = script

    def add_replay(self, name: str, body: bytes, chunk_size: int = 97) -> None:
        self.replays[name] = Replay(body, chunk_size)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=MAX_BODY)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._conns):
                w.transport.abort()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    def start_in_thread(self) -> DemoServer:
        """Run on a private event loop in a daemon thread; returns once listening."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # pragma: no cover - reported to the caller
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="chatlab-demo-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    # -- HTTP --------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._conns.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                raw = await reader.readexactly(length) if length else b""
                keep = await self._route(method, path.split("?", 1)[0], headers, raw, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, _Closed, ValueError, asyncio.CancelledError):
            return
        finally:
            self._conns.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        reason = {
            200: "OK",
            400: "Bad Request",
            401: "Unauthorized",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            529: "Overloaded",
        }.get(status, "Error")
        head = [
            f"HTTP/1.1 {status} {reason}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()

    async def _route(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        body: dict[str, Any] | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                await self._send(writer, 400, b'{"error":{"message":"request body is not JSON"}}')
                return True
        entry = LoggedRequest(method, path, headers, body)
        self.log.append(entry)
        fmt = (
            "chat"
            if path.endswith("/chat/completions")
            else "responses"
            if path.endswith("/responses")
            else "anthropic"
            if path.endswith("/messages")
            else "models"
            if path.endswith("/models")
            else None
        )
        if fmt == "models" and method == "GET":
            data = [
                {"id": n, "object": "model", "type": "model", "display_name": n, "owned_by": "chatlab"}
                for n in sorted(self.scripts) + sorted(self.replays)
            ]
            await self._send(
                writer, 200, json.dumps({"object": "list", "data": data, "has_more": False}).encode()
            )
            return True
        if fmt is None or method != "POST" or body is None:
            await self._send(writer, 404, b'{"error":{"message":"no such route","type":"not_found_error"}}')
            return True
        model = str(body.get("model", ""))
        given = _given_key(headers)
        if not self._authorised(headers):
            message = f"Invalid key provided: {given}" if "echo_key" in model else None
            await self._error(writer, fmt, 401, message)
            return True
        name = model.partition("@")[0]
        if name in self.replays:
            await self._replay(writer, self.replays[name])
            return False
        try:
            script = resolve(model, self.scripts)
        except ValueError as exc:
            await self._error(writer, fmt, 400, str(exc))
            return True
        if script is None:
            await self._error(writer, fmt, 404, f"The model `{model}` does not exist")
            return True
        # Requests in flight per model name (without @options), and the most seen at once:
        # what a test of a client's concurrency limit reads.
        self.in_flight[name] = self.in_flight.get(name, 0) + 1
        self.peak_in_flight[name] = max(self.peak_in_flight.get(name, 0), self.in_flight[name])
        try:
            return await self._answer(writer, fmt, model, script, body, given, entry)
        finally:
            self.in_flight[name] -= 1

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        fmt: str,
        model: str,
        script: Script,
        body: dict[str, Any],
        given: str,
        entry: LoggedRequest,
    ) -> bool:
        hits = self._hits[model] = self._hits.get(model, 0) + 1
        if script.fault in ("401", "429", "500", "529") and (
            not script.fail_times or hits <= script.fail_times
        ):
            message = f"Invalid key provided: {given}" if script.echo_key else None
            await self._error(writer, fmt, int(script.fault), message, retry_after=script.retry_after)
            return True
        plan = self._plan(script, body, model, given)
        if script.body == "html":
            await self._send(
                writer, 200, b"<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html"
            )
            return True
        if script.body == "json":
            await self._send(writer, 200, json.dumps(_whole(fmt, script, plan, model)).encode())
            return True
        entry.usage = {
            "input_tokens": plan.input_tokens,
            "output_tokens": plan.output_tokens,
            "reasoning_tokens": plan.reasoning_tokens,
            "cached_input_tokens": script.cached_input_tokens,
        }
        return await self._stream(writer, fmt, script, plan, body, given if script.echo_key else "")

    def _authorised(self, headers: dict[str, str]) -> bool:
        if self.api_key is None:
            return True
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        return given == self.api_key

    async def _error(
        self,
        writer: asyncio.StreamWriter,
        fmt: str,
        status: int,
        message: str | None = None,
        retry_after: float = 7.0,
    ) -> None:
        kinds = {
            401: ("authentication_error", "invalid_api_key", "Incorrect API key provided."),
            400: ("invalid_request_error", "invalid_request", "Invalid request."),
            404: ("not_found_error", "model_not_found", "Not found."),
            429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached; please retry later."),
            500: ("api_error", "server_error", "The server had an error while processing your request."),
            529: ("overloaded_error", "server_is_overloaded", "Overloaded"),
        }
        etype, code, default = kinds.get(status, ("api_error", "server_error", "error"))
        message = message or default
        if fmt == "anthropic":
            payload: dict[str, Any] = {"type": "error", "error": {"type": etype, "message": message}}
        else:
            otype = "invalid_request_error" if status < 500 and status != 429 else "server_error"
            if status == 429:
                otype = "requests"
            payload = {"error": {"message": message, "type": otype, "param": None, "code": code}}
        extra = {"Retry-After": f"{retry_after:g}"} if status == 429 else {}
        await self._send(writer, status, json.dumps(payload).encode(), extra=extra)

    def _plan(self, script: Script, body: dict[str, Any], model: str, given_key: str = "") -> _Plan:
        text_in, n_messages, last_user = _messages_text(body)
        digest = hashlib.sha256(f"{model}\n{text_in}".encode("utf-8", "surrogatepass")).digest()
        seed = int.from_bytes(digest[:8], "big")
        rng = random.Random(seed)
        answer = script.answer * script.repeat
        if script.echo:
            answer = f"echo (turn {(n_messages + 1) // 2}): {last_user}"
        reasoning = _chunks(script.reasoning * script.repeat, script.chunk_min, script.chunk_max, rng)
        chunks = _chunks(answer, script.chunk_min, script.chunk_max, rng)
        if script.inject:
            hostile = INJECTED.get(script.inject) or f" my key is {given_key} ok "
            # The key arrives split over several chunks, as a real stream would split it.
            pieces = (
                [hostile[i : i + 3] for i in range(0, len(hostile), 3)]
                if script.inject == "key"
                else [hostile]
            )
            at = min(script.after, len(chunks))
            chunks[at:at] = pieces
        r_tokens = script.hidden_reasoning_tokens or len(reasoning)
        return _Plan(
            reasoning, chunks, approximate(text_in) + 3 * n_messages, r_tokens, r_tokens + len(chunks)
        )

    async def _replay(self, writer: asyncio.StreamWriter, replay: Replay) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        writer.write(head.encode())
        data = replay.body
        for i in range(0, len(data), replay.chunk_size):
            part = data[i : i + replay.chunk_size]
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    # -- streaming ---------------------------------------------------------------

    async def _stream(
        self,
        writer: asyncio.StreamWriter,
        fmt: str,
        script: Script,
        plan: _Plan,
        body: dict[str, Any],
        echo: str = "",
    ) -> bool:
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n"
        writer.write(head.encode())
        events = {
            "chat": self._chat_events,
            "responses": self._responses_events,
            "anthropic": self._anthropic_events,
        }[fmt](script, plan, body)
        loop = asyncio.get_running_loop()
        rate = script.tokens_per_s
        t0 = loop.time()
        sent = 0  # token chunks sent, for pacing and faults
        pending = 0
        if script.think_delay_s:
            await asyncio.sleep(script.think_delay_s)
            t0 = loop.time()
        for payload, is_token in events:
            if is_token:
                if script.fault and sent >= script.after and script.fault not in ("401", "429", "500", "529"):
                    return await self._fault(writer, fmt, script, sent, echo)
                sent += 1
                if rate > 0:
                    due = t0 + sent / rate
                    delay = due - loop.time()
                    if delay > 0:
                        await writer.drain()
                        await asyncio.sleep(delay)
            writer.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            pending += 1
            if pending >= 64 or rate > 0:
                pending = 0
                await writer.drain()
        if script.fault and script.fault not in ("401", "429", "500", "529"):
            return await self._fault(writer, fmt, script, sent, echo)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _fault(
        self, writer: asyncio.StreamWriter, fmt: str, script: Script, seq: int, echo: str = ""
    ) -> bool:
        said = f" (you sent {echo})" if echo else ""
        fault = script.fault
        if fault == "drop":
            await writer.drain()
            writer.transport.abort()
            raise _Closed
        if fault == "stall":
            await writer.drain()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(script.stall_s)
            writer.transport.abort()
            raise _Closed
        if fault == "truncate":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        if fault == "malformed":
            payload = b'data: {"id": "broken", "choices": [{"delta": {"content": "x"\n\n'
            if fmt == "anthropic":
                payload = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index"\n\n'
            elif fmt == "responses":
                payload = (
                    b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta",\n\n'
                )
        elif fmt == "anthropic":
            payload = _sse(
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded" + said}},
                "error",
            )
        elif fmt == "responses":
            if fault == "failed":
                payload = _sse(
                    {
                        "type": "response.failed",
                        "sequence_number": seq,
                        "response": {
                            "id": "resp_fault",
                            "object": "response",
                            "status": "failed",
                            "output": [],
                            "error": {"code": "server_error", "message": "The model failed to finish."},
                            "usage": None,
                        },
                    },
                    "response.failed",
                )
            elif fault == "incomplete":
                payload = _sse(
                    {
                        "type": "response.incomplete",
                        "sequence_number": seq,
                        "response": {
                            "id": "resp_fault",
                            "object": "response",
                            "status": "incomplete",
                            "output": [],
                            "incomplete_details": {"reason": "max_output_tokens"},
                            "usage": {
                                "input_tokens": 10,
                                "input_tokens_details": {"cached_tokens": 0},
                                "output_tokens": seq,
                                "output_tokens_details": {"reasoning_tokens": 0},
                                "total_tokens": 10 + seq,
                            },
                        },
                    },
                    "response.incomplete",
                )
            else:
                payload = _sse(
                    {
                        "type": "error",
                        "sequence_number": seq,
                        "code": "server_is_overloaded",
                        "message": "The server is overloaded." + said,
                        "param": None,
                    },
                    "error",
                )
        else:
            payload = _sse(
                {
                    "error": {
                        "message": "The upstream provider is overloaded." + said,
                        "type": "server_error",
                        "code": "server_is_overloaded",
                    }
                }
            )
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
        await writer.drain()
        return True

    # -- the three wire formats ----------------------------------------------------

    def _chat_events(self, s: Script, plan: _Plan, body: dict[str, Any]) -> Iterator[tuple[bytes, bool]]:
        cid = f"chatcmpl-demo{next(self._ids)}"
        model = body.get("model", "")
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return _sse(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                }
            )

        yield chunk({"role": "assistant", "content": ""}), False
        field_ = s.reasoning_field
        if field_ == "think" and plan.reasoning:
            tagged = _chunks("<think>\n" + "".join(plan.reasoning) + "\n</think>\n\n", 1, 3, random.Random(7))
            for piece in tagged:
                yield chunk({"content": piece}), True
        else:
            for piece in plan.reasoning:
                if field_ == "reasoning_details":
                    d: dict[str, Any] = {
                        "content": "",
                        "reasoning": None,
                        "reasoning_details": [
                            {"type": "reasoning.text", "text": piece, "format": "unknown", "index": 0}
                        ],
                    }
                else:
                    d = {"content": None, field_: piece}
                yield chunk(d), True
        key = "refusal" if s.refusal else "content"
        for piece in plan.answer:
            yield chunk({key: piece}), True
        yield chunk({}, "stop"), False
        if (body.get("stream_options") or {}).get("include_usage"):
            usage: dict[str, Any] = {
                "prompt_tokens": _input_count(s, plan.input_tokens),
                "completion_tokens": _output_count(s, plan.output_tokens),
                "total_tokens": plan.input_tokens + plan.output_tokens,
                "prompt_tokens_details": {"cached_tokens": s.cached_input_tokens},
                "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            }
            if _cost(s) is not None:
                usage["cost"] = _cost(s)
            yield (
                _sse(
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": _usage_object(s, usage),
                    }
                ),
                False,
            )
        yield b"data: [DONE]\n\n", False

    def _responses_events(self, s: Script, plan: _Plan, body: dict[str, Any]) -> Iterator[tuple[bytes, bool]]:
        rid = f"resp_demo{next(self._ids)}"
        seq = itertools.count()
        model = body.get("model", "")
        base = {
            "id": rid,
            "object": "response",
            "created_at": int(time.time()),
            "model": model,
            "output": [],
            "error": None,
            "incomplete_details": None,
            "usage": None,
        }

        def ev(kind: str, **data: Any) -> bytes:
            return _sse({"type": kind, "sequence_number": next(seq), **data}, kind)

        yield ev("response.created", response={**base, "status": "in_progress"}), False
        yield ev("response.in_progress", response={**base, "status": "in_progress"}), False
        idx = 0
        if plan.reasoning or s.hidden_reasoning_tokens:
            rs = f"rs_{rid}"
            yield (
                ev(
                    "response.output_item.added",
                    output_index=idx,
                    item={"id": rs, "type": "reasoning", "summary": []},
                ),
                False,
            )
            if plan.reasoning:
                yield (
                    ev(
                        "response.reasoning_summary_part.added",
                        item_id=rs,
                        output_index=idx,
                        summary_index=0,
                        part={"type": "summary_text", "text": ""},
                    ),
                    False,
                )
                for piece in plan.reasoning:
                    yield (
                        ev(
                            "response.reasoning_summary_text.delta",
                            item_id=rs,
                            output_index=idx,
                            summary_index=0,
                            delta=piece,
                        ),
                        True,
                    )
                text = "".join(plan.reasoning)
                yield (
                    ev(
                        "response.reasoning_summary_text.done",
                        item_id=rs,
                        output_index=idx,
                        summary_index=0,
                        text=text,
                    ),
                    False,
                )
            yield (
                ev(
                    "response.output_item.done",
                    output_index=idx,
                    item={"id": rs, "type": "reasoning", "summary": []},
                ),
                False,
            )
            idx += 1
        mid = f"msg_{rid}"
        yield (
            ev(
                "response.output_item.added",
                output_index=idx,
                item={
                    "id": mid,
                    "type": "message",
                    "status": "in_progress",
                    "content": [],
                    "role": "assistant",
                },
            ),
            False,
        )
        part = "refusal" if s.refusal else "output_text"
        yield (
            ev(
                "response.content_part.added",
                item_id=mid,
                output_index=idx,
                content_index=0,
                part={"type": part, "annotations": [], "text": ""},
            ),
            False,
        )
        for piece in plan.answer:
            kind = "response.refusal.delta" if s.refusal else "response.output_text.delta"
            yield ev(kind, item_id=mid, output_index=idx, content_index=0, delta=piece, logprobs=[]), True
        answer = "".join(plan.answer)
        if s.done_text == "differs":
            answer = "The provider's final text, which differs from the stream."
        yield (
            ev(
                "response.output_text.done",
                item_id=mid,
                output_index=idx,
                content_index=0,
                text=answer,
                logprobs=[],
            ),
            False,
        )
        yield (
            ev(
                "response.output_item.done",
                output_index=idx,
                item={
                    "id": mid,
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": part, "annotations": [], "text": answer}],
                },
            ),
            False,
        )
        usage = {
            "input_tokens": _input_count(s, plan.input_tokens),
            "input_tokens_details": {"cached_tokens": s.cached_input_tokens},
            "output_tokens": _output_count(s, plan.output_tokens),
            "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            "total_tokens": plan.input_tokens + plan.output_tokens,
        }
        if _cost(s) is not None:
            usage["cost"] = _cost(s)
        yield (
            ev(
                "response.completed",
                response={**base, "status": "completed", "usage": _usage_object(s, usage)},
            ),
            False,
        )

    def _anthropic_events(self, s: Script, plan: _Plan, body: dict[str, Any]) -> Iterator[tuple[bytes, bool]]:
        mid = f"msg_demo{next(self._ids)}"
        cached = s.cached_input_tokens
        uncached = max(plan.input_tokens - cached, 0)
        start_usage = {
            "input_tokens": uncached,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
            "output_tokens": 1,
        }
        yield (
            _sse(
                {
                    "type": "message_start",
                    "message": {
                        "id": mid,
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model", ""),
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": start_usage,
                    },
                },
                "message_start",
            ),
            False,
        )

        def start(index: int, block: dict[str, Any]) -> tuple[bytes, bool]:
            return _sse(
                {"type": "content_block_start", "index": index, "content_block": block}, "content_block_start"
            ), False

        def delta(index: int, body: dict[str, Any], token: bool) -> tuple[bytes, bool]:
            return _sse(
                {"type": "content_block_delta", "index": index, "delta": body}, "content_block_delta"
            ), token

        def end(index: int) -> tuple[bytes, bool]:
            return _sse({"type": "content_block_stop", "index": index}, "content_block_stop"), False

        idx = 0
        if s.redacted or s.hidden_reasoning_tokens:
            yield start(idx, {"type": "redacted_thinking", "data": "EncryptedDemoBlob=="})
            yield end(idx)
            idx += 1
        if plan.reasoning:
            yield start(idx, {"type": "thinking", "thinking": "", "signature": ""})
            yield b'event: ping\ndata: {"type": "ping"}\n\n', False
            for piece in plan.reasoning:
                yield delta(idx, {"type": "thinking_delta", "thinking": piece}, True)
            yield delta(idx, {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}, False)
            yield end(idx)
            idx += 1
        yield start(idx, {"type": "text", "text": ""})
        for piece in plan.answer:
            yield delta(idx, {"type": "text_delta", "text": piece}, True)
        yield end(idx)
        delta_usage: dict[str, Any] = {
            "input_tokens": _input_count(s, uncached),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
            "output_tokens": _output_count(s, plan.output_tokens),
        }
        if plan.reasoning_tokens:
            delta_usage["output_tokens_details"] = {"thinking_tokens": plan.reasoning_tokens}
        stop = "refusal" if s.refusal else "end_turn"
        yield (
            _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": _usage_object(s, delta_usage),
                },
                "message_delta",
            ),
            False,
        )
        yield _sse({"type": "message_stop"}, "message_stop"), False


def _given_key(headers: dict[str, str]) -> str:
    """The credential a request carried, as sent (for servers that echo it back)."""
    return headers.get("x-api-key") or headers.get("authorization", "")


_BAD_COUNTS: dict[str, Any] = {
    "huge": 10**400,
    "max": 2**53,
    "negative": -5,
    "nan": math.nan,
    "string": "abc",
}
_BAD_COSTS: dict[str, Any] = {"neg_cost": -1.0, "nan_cost": math.nan, "huge_cost": 1e300}


def _input_count(script: Script, value: int) -> Any:
    """The input token count to report: the plan's, or an unbelievable one (``usage=``)."""
    return _BAD_COUNTS.get(script.usage, value)


def _output_count(script: Script, value: int) -> Any:
    return 2**53 if script.usage == "max" else value


def _usage_object(script: Script, usage: dict[str, Any]) -> Any:
    """The usage object to send: the real one, or a string where an object belongs."""
    return "x" if script.usage == "notobject" else usage


def _cost(script: Script) -> Any:
    return _BAD_COSTS.get(script.usage, script.cost)


def _whole(fmt: str, s: Script, plan: _Plan, model: str) -> dict[str, Any]:
    """One complete, non-streamed message in ``fmt`` (what some proxies send)."""
    reasoning = "".join(plan.reasoning)
    answer = "".join(plan.answer)
    if fmt == "chat":
        message: dict[str, Any] = {"role": "assistant", "content": answer}
        if reasoning:
            message["reasoning_content"] = reasoning
        return {
            "id": "chatcmpl-whole",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": _input_count(s, plan.input_tokens),
                "completion_tokens": plan.output_tokens,
                "total_tokens": plan.input_tokens + plan.output_tokens,
                "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            },
        }
    if fmt == "responses":
        output: list[dict[str, Any]] = []
        if reasoning:
            output.append(
                {"id": "rs_w", "type": "reasoning", "summary": [{"type": "summary_text", "text": reasoning}]}
            )
        output.append(
            {
                "id": "msg_w",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": answer, "annotations": []}],
            }
        )
        return {
            "id": "resp_whole",
            "object": "response",
            "status": "completed",
            "model": model,
            "output": output,
            "usage": {
                "input_tokens": _input_count(s, plan.input_tokens),
                "output_tokens": plan.output_tokens,
                "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            },
        }
    content: list[dict[str, Any]] = []
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": "c2ln"})
    content.append({"type": "text", "text": answer})
    return {
        "id": "msg_whole",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn",
        "usage": {"input_tokens": _input_count(s, plan.input_tokens), "output_tokens": plan.output_tokens},
    }


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    line = json.dumps(data, separators=(",", ":"))
    if event:
        return f"event: {event}\ndata: {line}\n\n".encode()
    return f"data: {line}\n\n".encode()


def main(port: int = 8765) -> None:  # pragma: no cover - exercised via the CLI
    server = DemoServer(port=port)

    async def run() -> None:
        await server.start()
        print(
            f"chatlab demo server on {server.openai_base_url} (OpenAI formats) and "
            f"{server.anthropic_base_url} (Anthropic); models: {', '.join(sorted(server.scripts))}",
            flush=True,
        )
        assert server._server is not None
        await server._server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
