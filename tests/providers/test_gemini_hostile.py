"""The Gemini adapter under attack, over the real google-genai SDK on loopback (the demo
server replays hostile bodies byte for byte) and its reader fed directly: shapes chatlab
can't read are an error, never "ok" with nothing; a model name can't steer the request
to another endpoint; a key pasted with its line break never shows in an error or the
log; and what held (huge answers, numbers that can't be counts, odd waits)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2
import pytest

from chatlab.core.data.events import Done, ErrorKind, Notice, StreamError, TextDelta
from chatlab.core.data.model import Lane, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.providers.errors import map_exception
from chatlab.providers.gemini import _Reader
from tests.conftest import run_turn
from tests.providers.readers import drive, events
from tests.providers.test_gemini import cand, turn

pytestmark = pytest.mark.hostile


def sse(*chunks: Any) -> bytes:
    """An SSE body of ``chunks`` (JSON values, or raw bytes sent as they are)."""
    raw = [c if isinstance(c, bytes) else json.dumps(c).encode() for c in chunks]
    return b"".join(b"data: " + c + b"\r\n\r\n" for c in raw)


def read(body: bytes) -> list[Any]:
    return drive(_Reader("http://h", "gemini-2.5-flash"), events(body, 7, 50))


# -- shapes chatlab can't read ------------------------------------------------------------


@pytest.mark.parametrize(
    "candidate, what",
    [
        ({"content": "hello", "finishReason": "STOP"}, "content that is str"),
        ({"content": {"parts": {"text": "hello"}}, "finishReason": "STOP"}, "parts that are dict"),
        ({"content": {"parts": ["hello"]}, "finishReason": "STOP"}, "a part that is str"),
    ],
)
def test_content_of_a_shape_chatlab_cant_read_is_an_error_not_an_empty_ok(
    candidate: dict[str, Any], what: str
) -> None:
    out = read(sse({"candidates": [candidate]}))
    assert out == [StreamError(ErrorKind.PROTOCOL, f"the answer held only parts chatlab can't show ({what})")]
    # beside text it understood, the answer stands
    out = read(sse(cand({"text": "a"}), {"candidates": [candidate]}))
    assert out == [TextDelta("a"), Done("STOP")]


def test_odd_but_readable_chunks_held() -> None:
    assert read(sse(cand({"text": 5}, {"text": {"a": 1}}, finish="STOP")))[0].kind is ErrorKind.PROTOCOL
    assert read(sse(cand({"text": "r", "thought": True}, finish="STOP")))[-1] == Done("STOP")
    odd_finish = {"candidates": [{"content": {"parts": [{"text": "a"}]}, "finishReason": {"x": 1}}]}
    assert read(sse(odd_finish))[-1] == Done("{'x': 1}")  # said, not lost
    assert read(sse([1, 2]))[0].kind is ErrorKind.PROTOCOL
    assert read(sse(cand({"text": "a"}), {"error": "boom"}))[-1].kind is ErrorKind.SERVER
    deep = b"data: " + b"[" * 100_000 + b"]" * 100_000 + b"\r\n\r\n"
    assert read(deep)[0].kind is ErrorKind.PROTOCOL
    for bad in ('"5"', "-5", "1" + "0" * 400, "NaN", "5.5", "true"):
        raw = b'{"usageMetadata": {"promptTokenCount": ' + bad.encode() + b"}}"
        out = read(sse(cand({"text": "a"}, finish="STOP"), raw))
        assert out[0] == TextDelta("a") and isinstance(out[1], Notice) and out[-1] == Done("STOP")


def test_a_ten_megabyte_answer_and_a_split_character_arrive_whole(server: DemoServer) -> None:
    server.add_replay("huge", sse(cand({"text": "x" * 10_000_000}, finish="STOP")), chunk_size=65_536)
    r = turn(server, "huge")
    assert r.status is Status.OK and len(r.text) == 10_000_000
    body = b"data: " + json.dumps(cand({"text": "h\u00e9llo"}, finish="STOP"), ensure_ascii=False).encode()
    body += b"\r\n\r\n"
    server.add_replay("split", body, chunk_size=body.index("\u00e9".encode()) + 1)  # é across two reads
    assert turn(server, "split").text == "h\u00e9llo"


def test_invalid_utf8_mid_stream_keeps_the_text_before_it(server: DemoServer) -> None:
    good = b"data: " + json.dumps(cand({"text": "ok "})).encode() + b"\r\n\r\n"
    bad = b'data: {"candidates":[{"content":{"parts":[{"text":"\xc3"}]},"finishReason":"STOP"}]}\r\n\r\n'
    server.add_replay("bad-utf8", good + bad, chunk_size=3)
    r = turn(server, "bad-utf8")
    assert r.status is Status.ERROR and r.text == "ok " and r.error is not None
    assert r.error.kind is ErrorKind.PROTOCOL and "UnicodeDecodeError" in r.error.message


# -- the request: model names and keys -------------------------------------------------------


@pytest.mark.parametrize("model", ["demo-fast#frag", "demo-fast\r\nX-Evil: 1", " demo-fast", "demo-fast\x00"])
def test_a_model_name_cant_steer_the_request_elsewhere(server: DemoServer, model: str) -> None:
    before = len(server.log)
    r = turn(server, model)
    assert r.status is Status.ERROR and r.error is not None and r.error.kind is ErrorKind.BAD_REQUEST
    assert "which no Gemini model name has" in r.error.message
    assert len(server.log) == before  # nothing was sent (a '#' sent POST …/models/demo-fast)


@pytest.mark.parametrize("model", ["../../v1beta/models/demo-fast", "demo-fast?alt=json", "", "a" * 10_000])
def test_what_the_sdk_refuses_or_encodes_held(server: DemoServer, model: str) -> None:
    r = turn(server, model)
    assert r.status is Status.ERROR and r.error is not None
    assert r.error.kind in (ErrorKind.BAD_REQUEST, ErrorKind.NOT_FOUND)
    assert all("/.." not in e.path and "alt=json" not in e.path for e in server.log)


@pytest.mark.parametrize("kind", ["gemini", "openai-chat", "anthropic"])
@pytest.mark.parametrize("key", ["AIzaSyD-THE-SECRET-KEY-1234\n", "AIzaSyD-THE-SECRET\r\nKEY-1234"])
def test_a_key_pasted_with_its_line_break_never_shows(
    server: DemoServer, caplog: pytest.LogCaptureFixture, kind: str, key: str
) -> None:
    url = {
        "gemini": server.gemini_base_url,
        "openai-chat": server.openai_base_url,
        "anthropic": server.anthropic_base_url,
    }[kind]
    config = parse_config(
        {"providers": {"g": {"kind": kind, "base_url": url, "api_key_env": "CHATLAB_NO_SUCH"}}}
    )
    keys = KeyStore()
    keys.set_for_session("g", key)
    with caplog.at_level(logging.INFO, logger="chatlab"):
        _, t = run_turn(Runner(config, keys, make_adapter), [Lane("g", "demo-fast@tps=0")])
    r = next(iter(t.responses.values()))
    if r.status is Status.OK:  # the SDK stripped the trailing newline itself
        return
    assert r.error is not None
    shown = r.error.message + caplog.text
    for piece in ("THE-SECRET", "KEY-1234"):
        assert piece not in shown, shown  # was: "Illegal header value b'…THE-SECRET-KEY-1234\\n'"


def test_a_429s_odd_waits_are_dropped_never_believed() -> None:
    from google.genai import errors

    body = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    for value in ("-1", "1e309", "nan", "inf", "Wed, 21 Oct 2015 07:28:00", "5, 7"):
        response = httpx2.Response(429, json=body, headers={"retry-after": value})
        err = map_exception(errors.ClientError(429, body, response))
        assert err.kind is ErrorKind.RATE_LIMIT and err.retry_after_s is None, value
    past = httpx2.Response(429, json=body, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert map_exception(errors.ClientError(429, body, past)).retry_after_s == 0.0


def test_a_whole_json_array_or_html_page_is_an_error(server: DemoServer) -> None:
    server.add_replay("array", b"[1, 2]", headers={"Content-Type": "application/json"})
    server.add_replay("html", b"<html>502 Bad Gateway</html>", headers={"Content-Type": "text/html"})
    for model in ("array", "html"):
        r = turn(server, model)
        assert r.status is Status.ERROR and r.error is not None and r.error.kind is ErrorKind.PROTOCOL
