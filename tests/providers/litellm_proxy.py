"""The LiteLLM proxy check's harness (issue 24): chatlab's wire formats through a real
LiteLLM proxy, in front of chatlab's loopback demo server.

A reviewer ran chatlab against LiteLLM's proxy and found what it read badly: a failed
``/v1/responses`` stream answered with a 500 whose body is an SSE frame, a 404 that said
only "Error code: 404", a foreign event stream on the Anthropic endpoint. Here chatlab's
own code (a :class:`~chatlab.core.lab.orchestrator.Runner` and the real SDK adapters)
meets the real proxy, and each case says what chatlab made of it:

- ``answer``: one streaming answer each on the proxy's Chat Completions, Responses and
  Anthropic Messages endpoints for a model routed to the demo server's OpenAI endpoint,
  and on ``/v1/messages`` one routed to its Anthropic endpoint: the demo model's text
  (as the demo server gives it directly) and the provider's usage, not an estimate;
- ``404``: a path the proxy doesn't serve: the words name the URL;
- ``5xx``: a model whose upstream answers 500: a 5xx whose words are the proxy's message,
  never a raw ``data:`` frame or JSON body;
- ``cut``: an upstream that drops the connection after a few tokens: an error, and the
  text that came first kept;
- ``unknown model``: the proxy's 400 and its message;
- ``not a stream``: an upstream that answers the Anthropic endpoint with an nginx page,
  which LiteLLM passes on as ``text/event-stream``: a protocol error, sent once.

``tests/providers/test_litellm_proxy.py`` runs the cases under the ``litellm`` marker;
``bench/litellm_check.py`` prints them (the run in ``bench/README.md``). LiteLLM is not a
dependency of chatlab: its ``litellm`` script is ``$CHATLAB_LITELLM``, else ``litellm`` on
PATH. The proxy runs offline on loopback (``LITELLM_LOCAL_MODEL_COST_MAP``, no database),
with a random master key that chatlab sends as its API key and never shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatlab.core.data.events import ErrorKind
from chatlab.core.data.model import Lane, Response, Session, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter

NAME = "litellm-check"  # the provider's name in chatlab
PROMPT = "Write a haiku about rain on a tin roof."
READY_S = 180.0  # a first start imports a lot (about 10 s here); give a slow machine room
LANE_TIMEOUT_S = 60.0
ENDPOINTS = ("chat", "responses", "messages")
KIND = {"chat": "openai-chat", "responses": "openai-responses", "messages": "anthropic"}
PATH = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "messages": "/v1/messages"}
NGINX = "<html><body><h1>Welcome to nginx!</h1></body></html>"  # the demo's body=html page


def find_litellm() -> str | None:
    """The ``litellm`` executable: ``$CHATLAB_LITELLM``, else ``litellm`` on PATH."""
    named = os.environ.get("CHATLAB_LITELLM")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("litellm")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def proxy_config(demo: DemoServer, master_key: str) -> dict[str, Any]:
    """LiteLLM's config (JSON is YAML): the proxy's model names, each routed to the demo.

    ``openai/…`` models go to the demo's OpenAI endpoint (LiteLLM forwards a Responses
    request as one, and translates a Messages request to Chat Completions);
    ``anthropic/…`` ones to its Anthropic endpoint. A model's ``@…`` options make the
    demo fail (``chatlab.demo.scripts``). LiteLLM 1.108 refuses to start without a
    master key; retries are off so each case is one upstream request."""
    openai = {"api_base": demo.openai_base_url, "api_key": "sk-demo"}
    anthropic = {"api_base": demo.anthropic_base_url, "api_key": "sk-ant-demo"}
    routes = {
        "demo-fast": ("openai/demo-fast", openai),
        "claude-demo-fast": ("anthropic/demo-fast", anthropic),
        "upstream-500": ("openai/demo-fast@fault=500", openai),
        "cut-after-5": ("openai/demo-fast@fault=drop,after=5", openai),
        "claude-cut-after-5": ("anthropic/demo-fast@fault=drop,after=5", anthropic),
        "claude-nginx": ("anthropic/demo-fast@body=html", anthropic),
    }
    return {
        "model_list": [
            {"model_name": name, "litellm_params": {"model": model, **where}}
            for name, (model, where) in routes.items()
        ],
        "litellm_settings": {"num_retries": 0, "request_timeout": 30, "telemetry": False},
        "router_settings": {"num_retries": 0},
        "general_settings": {"master_key": master_key},
    }


@dataclass
class Proxy:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    key: str  # the master key: what chatlab sends as its API key

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class ProxyFailed(RuntimeError):
    """The proxy did not start (its log's tail is in the message)."""


def litellm_version(exe: str) -> str:
    """The installed litellm's version, asked of the Python beside its script."""
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    try:
        out = subprocess.run(
            [str(Path(exe).with_name("python")), "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


@contextlib.contextmanager
def running_proxy(exe: str, demo: DemoServer) -> Iterator[Proxy]:
    """``litellm --config`` on a free loopback port, yielded once it says it is ready
    (asked until :data:`READY_S` has passed), stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="chatlab-litellm-") as tmp:
        workdir = Path(tmp)
        key = "sk-" + secrets.token_hex(32)
        config = workdir / "litellm.yaml"
        config.write_text(json.dumps(proxy_config(demo, key), indent=2))
        port = free_port()
        log = workdir / "litellm.log"
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "DATABASE_URL"}
        env |= {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price list
            "LITELLM_TELEMETRY": "False",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        argv = [exe, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--num_workers", "1"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True
            )
        proxy = Proxy(process, port, log, key)
        try:
            _wait_ready(proxy)
            yield proxy
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(15)


def _wait_ready(proxy: Proxy) -> None:
    deadline = time.monotonic() + READY_S
    url = proxy.base + "/health/readiness"
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise ProxyFailed(f"litellm exited with {proxy.process.returncode}:\n{proxy.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        # The proxy has no way to say it is up, so ask again; meanwhile wait on its exit.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proxy.process.wait(0.25)
    raise ProxyFailed(f"litellm not ready after {READY_S:g} s:\n{proxy.log_tail()}")


# -- the cases ---------------------------------------------------------------------------


@dataclass
class Outcome:
    case: str
    endpoint: str
    model: str
    status: str
    seconds: float
    sent: int  # requests the proxy's upstream (the demo server) received
    ttft: float | None = None  # seconds to the first token, when one came
    text: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    error_kind: str = ""
    status_code: int | None = None
    why: str = ""  # what is wrong, when it is

    @property
    def ok(self) -> bool:
        return not self.why

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        if self.error:
            code = f" {self.status_code}" if self.status_code else ""
            said = f"{self.status}, {self.error_kind}{code}: {self.error!r}"
            if self.text:
                said += f", kept {self.text!r}"
        else:
            u = self.usage
            said = f"{self.status}, {len(self.text)} chars, usage {u.get('input_tokens')} in / "
            said += f"{u.get('output_tokens')} out" + (" (estimated)" if u.get("estimated") else "")
            said += f", first token {self.ttft:.2f} s" if self.ttft is not None else ""
        why = f"  <- {self.why}" if self.why else ""
        head = f"{mark} {self.case:<14} {self.endpoint:<22} {self.model:<18}"
        return f"{head} {self.seconds:5.2f} s  {said}{why}"


def ask(kind: str, base_url: str, model: str, key: str | None) -> tuple[Response, float]:
    """One streaming turn of one lane through chatlab's Runner: its response and time."""
    provider = {"kind": kind, "base_url": base_url, "needs_key": key is not None, "max_retries": 0}
    keys = KeyStore()
    if key is not None:
        keys.set_for_session(NAME, key)
    runner = Runner(parse_config({"providers": {NAME: provider}}), keys, make_adapter)
    session = Session(lanes=[Lane(NAME, model)])
    turn = session.new_turn(PROMPT)

    async def go() -> None:
        try:
            await runner.turn(session, turn, timeout_s=LANE_TIMEOUT_S).run()
        finally:
            await runner.aclose()

    t0 = time.monotonic()
    asyncio.run(go())
    return next(iter(turn.responses.values())), time.monotonic() - t0


@dataclass
class Check:
    """The demo server and the proxy in front of it, and the demo's own answer."""

    demo: DemoServer
    proxy: Proxy
    expected: str

    def run(self, case: str, endpoint: str, model: str, base: str | None = None) -> tuple[Outcome, Response]:
        base = base or (self.proxy.base if endpoint == "messages" else self.proxy.base + "/v1")
        before = len(self.demo.log)
        resp, seconds = ask(KIND[endpoint], base, model, self.proxy.key)
        err = resp.error
        out = Outcome(
            case,
            PATH[endpoint],
            model,
            resp.status.value,
            seconds,
            len(self.demo.log) - before,
            ttft=resp.timing.ttft_s,
            text=resp.text,
            usage=resp.usage.to_dict() if resp.status is Status.OK else {},
            error=err.message if err else "",
            error_kind=err.kind.value if err else "",
            status_code=err.status_code if err else None,
        )
        if self.proxy.key in out.error or self.proxy.key in out.text:
            out.why = "the key shows"
        return out, resp


def answer(check: Check, endpoint: str, model: str = "demo-fast") -> Outcome:
    out, resp = check.run("answer", endpoint, model)
    usage = resp.usage
    if resp.status is not Status.OK:
        out.why = out.why or "not ok"
    elif resp.text != check.expected:
        out.why = f"not the demo's text: {resp.text[:80]!r}"
    elif usage.estimated or usage.input_tokens <= 0 or usage.output_tokens <= 0:
        out.why = f"usage not the provider's: {usage.to_dict()}"
    return out


def not_found(check: Check, endpoint: str) -> Outcome:
    """``/v2/…``, which the proxy doesn't serve (the Anthropic SDK adds ``/v1/messages``)."""
    base = check.proxy.base + "/v2"
    out, resp = check.run("404", endpoint, "demo-fast", base)
    url = base + ("/v1/messages" if endpoint == "messages" else PATH[endpoint].removeprefix("/v1"))
    out.endpoint = url.removeprefix(check.proxy.base)
    err = resp.error
    if resp.status is not Status.ERROR or err is None:
        out.why = out.why or "not an error"
    elif err.status_code != 404 or err.kind is not ErrorKind.NOT_FOUND:
        out.why = f"not a 404: {err.status_code} {err.kind.value}"
    elif not err.message.startswith(f"404 from {url}: "):
        out.why = "the words don't name the URL"
    return out


def _is_a_message(text: str) -> bool:
    """Words for a person: not a raw SSE frame, not a bare JSON body, not empty."""
    head = text.lstrip()
    return bool(head) and not head.startswith(("data:", "event:", "{", "["))


def server_error(check: Check, endpoint: str) -> Outcome:
    out, resp = check.run("5xx", endpoint, "upstream-500")
    err = resp.error
    if resp.status is not Status.ERROR or err is None:
        out.why = out.why or "not an error"
    elif err.status_code is None or err.status_code < 500 or err.kind is not ErrorKind.SERVER:
        out.why = f"not a 5xx server error: {err.status_code} {err.kind.value}"
    elif not _is_a_message(err.message):
        out.why = "the words are a raw body"
    return out


def cut(check: Check, endpoint: str, model: str = "cut-after-5") -> Outcome:
    """The upstream drops the connection after 5 tokens: an error, the text kept."""
    out, resp = check.run("cut", endpoint, model)
    if resp.status not in (Status.ERROR, Status.INTERRUPTED) or resp.error is None:
        out.why = out.why or "not an error"
    elif not resp.text or not check.expected.startswith(resp.text):
        out.why = "the text that came first is lost"
    elif not _is_a_message(resp.error.message):
        out.why = "the words are a raw body"
    return out


def unknown_model(check: Check, endpoint: str) -> Outcome:
    out, resp = check.run("unknown model", endpoint, "no-such-model")
    err = resp.error
    if err is None or err.kind is not ErrorKind.BAD_REQUEST or "no-such-model" not in err.message:
        out.why = out.why or "not the proxy's 400 and its message"
    return out


def not_a_stream(check: Check) -> Outcome:
    """LiteLLM passes the upstream's nginx page on to ``/v1/messages`` as an event stream."""
    out, resp = check.run("not a stream", "messages", "claude-nginx")
    err = resp.error
    if err is None or err.kind is not ErrorKind.PROTOCOL or NGINX not in err.message:
        out.why = out.why or "not a protocol error quoting the page"
    elif out.sent != 1 or resp.retries:
        out.why = "sent again"
    return out


CASES: list[tuple[str, Callable[[Check], Outcome]]] = [
    *((f"answer {e}", lambda c, e=e: answer(c, e)) for e in ENDPOINTS),
    ("answer messages anthropic", lambda c: answer(c, "messages", "claude-demo-fast")),
    *((f"404 {e}", lambda c, e=e: not_found(c, e)) for e in ENDPOINTS),
    *((f"5xx {e}", lambda c, e=e: server_error(c, e)) for e in ENDPOINTS),
    *((f"cut {e}", lambda c, e=e: cut(c, e)) for e in ENDPOINTS),
    ("cut messages anthropic", lambda c: cut(c, "messages", "claude-cut-after-5")),
    *((f"unknown model {e}", lambda c, e=e: unknown_model(c, e)) for e in ENDPOINTS),
    ("not a stream", not_a_stream),
]


@contextlib.contextmanager
def started(exe: str) -> Iterator[Check]:
    """A fresh demo server and a proxy in front of it."""
    demo = DemoServer().start_in_thread()
    try:
        resp, _ = ask("openai-chat", demo.openai_base_url, "demo-fast", None)
        assert resp.status is Status.OK, resp.error
        with running_proxy(exe, demo) as proxy:
            yield Check(demo, proxy, resp.text)
    finally:
        demo.stop_thread()
