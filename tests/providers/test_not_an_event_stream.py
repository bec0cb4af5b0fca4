"""A 200 labelled ``text/event-stream`` whose body holds no SSE at all (found by the
LiteLLM proxy check, ``bench/litellm_check.py``: LiteLLM 1.108 passes an upstream's nginx
page on to ``/v1/messages`` as ``text/event-stream``). It was "interrupted — network",
sent three times. It is a protocol error at once, never sent again, quoting the body's
first line, in every wire format; an empty body, or one with only SSE comments, is still
a stream cut short. Over the real SDKs against the loopback server's byte-for-byte
replay."""

from __future__ import annotations

import pytest

from chatlab.core.data.events import ErrorKind
from chatlab.core.data.model import Lane, Response, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from tests.conftest import lab_config, run_turn

FORMATS = ("chat", "responses", "claude", "gemini")
NGINX = b"<html><body><h1>Welcome to nginx!</h1></body></html>"  # what LiteLLM passed on, whole


def answer(server: DemoServer, fmt: str, model: str, body: bytes, retries: int = 0) -> tuple[Response, int]:
    """The lane's response to ``body`` sent as an event stream, and how often it was sent."""
    server.add_replay(model, body, headers={"Content-Type": "text/event-stream"}, chunk_size=7)
    before = len(server.log)
    runner = Runner(lab_config(server, retries=retries), KeyStore(), make_adapter)
    _, turn = run_turn(runner, [Lane(fmt, model)])
    return next(iter(turn.responses.values())), len(server.log) - before


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("body", "quoted"),
    [
        (NGINX, NGINX.decode()),
        (b"\n" + NGINX + b"\n<p>more</p>\n", NGINX.decode()),  # its first line with text
        (b"Service Unavailable\r\n", "Service Unavailable"),
    ],
    ids=["nginx", "lines", "plain"],
)
def test_a_body_with_no_events_is_a_protocol_error_sent_once(
    server: DemoServer, fmt: str, body: bytes, quoted: str
) -> None:
    resp, sent = answer(server, fmt, "no-events", body, retries=2)
    assert resp.status is Status.ERROR and resp.error is not None
    assert resp.error.kind is ErrorKind.PROTOCOL
    assert resp.error.message == f"the server's answer is not an event stream: it began “{quoted}”"
    assert sent == 1 and not resp.retries


def test_a_long_first_line_is_quoted_in_part(server: DemoServer) -> None:
    resp, _ = answer(server, "chat", "long-page", b"<html>" + b"x" * 5000 + b"</html>")
    assert resp.error is not None
    assert resp.error.message.endswith("“<html>" + "x" * 74 + "…”")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("body", [b"", b": ping\n\n: ping\n\n"], ids=["empty", "comments"])
def test_an_empty_stream_is_still_one_cut_short(server: DemoServer, fmt: str, body: bytes) -> None:
    resp, _ = answer(server, fmt, "cut-short", body)
    assert resp.status is Status.INTERRUPTED and resp.error is not None
    assert resp.error.kind is ErrorKind.NETWORK
    assert "ended before the provider's end marker" in resp.error.message
