"""The loopback provider server: Chat Completions, Responses, Anthropic Messages and Gemini over SSE.

A small HTTP/1.1 server on asyncio (keep-alive, chunked transfer) that speaks each
provider's streaming wire format closely enough for the official SDKs, driven by
:mod:`chatlab.demo.scripts`. This module is the HTTP side (routing, keys, pacing and
faults); each format's events are encoded in its own module: :mod:`.openai_chat`,
:mod:`.openai_responses`, :mod:`.anthropic` and :mod:`.gemini` (whose model is named in
the path, ``/v1beta/models/{model}:streamGenerateContent``, and whose key comes in
``x-goog-api-key``). It serves scripted models at a chosen
token rate, hidden reasoning, and injected faults (401, 429 with Retry-After, 500, 529
(503 in Gemini's format),
a dropped connection, an error event, a malformed JSON line, a stall, a clean but
truncated stream). Each request shapes its model's script (what it asks about
reasoning, and where the model is in its pattern of right and wrong answers to the demo
suite's keyed prompts, counted in :attr:`DemoServer.keyed_seen`; see
:func:`chatlab.demo.scripts.for_request`). It can also replay a captured body byte
for byte (an SSE stream, or a whole JSON message), with the response headers it came
with. Tests and the GUI's demo mode use it; ``chatlab serve-demo`` runs it in the
foreground. It binds to loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from chatlab.demo import anthropic, gemini, openai_chat, openai_responses
from chatlab.demo.common import Plan, WireFormat, asked, make_plan
from chatlab.demo.scripts import DEMO_SCRIPTS, Script, for_request, resolve

MAX_BODY = 16 * 1024 * 1024
ENCODERS: dict[str, WireFormat] = {
    "chat": openai_chat,
    "responses": openai_responses,
    "anthropic": anthropic,
    "gemini": gemini,
}
GEMINI_LIST = ("/v1beta/models", "/v1alpha/models")
GEMINI_STREAM = ":streamGenerateContent"


@dataclass
class Replay:
    body: bytes
    chunk_size: int = 97  # odd-sized writes split events and even UTF-8 sequences
    headers: dict[str, str] = field(default_factory=dict)  # e.g. a proxy's cost header
    status: int = 200  # a proxy's error, sent with its own body (an SSE-framed 500, a bare 404)


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    usage: dict[str, int] = field(default_factory=dict)


class _Closed(Exception):
    """The client went away."""


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
        # Keyed demo-suite requests per (model, setting, prompt id): where each model is in
        # its scripted pattern of right and wrong answers (scripts.RATES).
        self.keyed_seen: dict[tuple[str, str, str], int] = {}
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

    @property
    def gemini_base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add(self, name: str, script: Script) -> None:
        self.scripts[name] = script

    def add_replay(
        self,
        name: str,
        body: bytes,
        chunk_size: int = 97,
        headers: dict[str, str] | None = None,
        status: int = 200,
    ) -> None:
        """Answer requests for ``name`` with ``body``, written ``chunk_size`` bytes at a
        time, with ``headers`` (``Content-Type`` defaults to ``text/event-stream``) and
        HTTP ``status``."""
        self.replays[name] = Replay(body, chunk_size, dict(headers or {}), status)

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
            503: "Service Unavailable",
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
        gemini_model = _gemini_model(path)
        fmt = (
            "gemini"
            if gemini_model is not None
            else "gemini-models"
            if path.rstrip("/") in GEMINI_LIST
            else "chat"
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
        if fmt == "gemini-models" and method == "GET":
            names = sorted(self.scripts) + sorted(self.replays)
            data = [{"name": f"models/{n}", "displayName": n} for n in names]
            await self._send(writer, 200, json.dumps({"models": data}).encode())
            return True
        if fmt in (None, "gemini-models") or method != "POST" or body is None:
            await self._send(writer, 404, b'{"error":{"message":"no such route","type":"not_found_error"}}')
            return True
        if not isinstance(body, dict):
            await self._send(writer, 400, b'{"error":{"message":"request body must be a JSON object"}}')
            return True
        model = gemini_model if gemini_model is not None else str(body.get("model", ""))
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
        script = for_request(model.partition("@")[0], script, asked(fmt, body), self.keyed_seen)
        plan = make_plan(script, body, model, given)
        if script.body == "html":
            await self._send(
                writer, 200, b"<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html"
            )
            return True
        if script.body == "json":
            await self._send(writer, 200, json.dumps(ENCODERS[fmt].whole(script, plan, model)).encode())
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
        given = (
            headers.get("x-goog-api-key")
            or headers.get("x-api-key")
            or headers.get("authorization", "").removeprefix("Bearer ").strip()
        )
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
        if fmt == "gemini" and status == 529:
            status = 503  # Google's overloaded
        payload = ENCODERS[fmt].error_body(status, etype, code, message or default)
        extra = {"Retry-After": f"{retry_after:g}"} if status == 429 else {}
        await self._send(writer, status, json.dumps(payload).encode(), extra=extra)

    async def _replay(self, writer: asyncio.StreamWriter, replay: Replay) -> None:
        typed = any(k.lower() == "content-type" for k in replay.headers)
        fields = {**({} if typed else {"Content-Type": "text/event-stream"}), **replay.headers}
        fields["Transfer-Encoding"] = "chunked"
        reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}.get(replay.status, "Error")
        head = f"HTTP/1.1 {replay.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
        head += "\r\n"
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
        plan: Plan,
        body: dict[str, Any],
        echo: str = "",
    ) -> bool:
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n"
        writer.write(head.encode())
        events = ENCODERS[fmt].events(script, plan, body, self._ids)
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
        fault = script.fault or ""  # only a script with a fault gets here
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
        payload = ENCODERS[fmt].fault_event(fault, seq, said)
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
        await writer.drain()
        return True


def _given_key(headers: dict[str, str]) -> str:
    """The credential a request carried, as sent (for servers that echo it back)."""
    return headers.get("x-goog-api-key") or headers.get("x-api-key") or headers.get("authorization", "")


def _gemini_model(path: str) -> str | None:
    """The model a Gemini ``…/models/{model}:streamGenerateContent`` path names, else None."""
    head, sep, model = path.partition("/models/")
    if not sep or not model.endswith(GEMINI_STREAM) or head not in ("/v1beta", "/v1alpha", "/v1"):
        return None
    return urllib.parse.unquote(model.removesuffix(GEMINI_STREAM))


def main(port: int = 8765) -> None:  # pragma: no cover - exercised via the CLI
    server = DemoServer(port=port)

    async def run() -> None:
        await server.start()
        print(
            f"chatlab demo server on {server.openai_base_url} (OpenAI formats) and "
            f"{server.anthropic_base_url} (Anthropic and Gemini); "
            f"models: {', '.join(sorted(server.scripts))}",
            flush=True,
        )
        assert server._server is not None
        await server._server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
