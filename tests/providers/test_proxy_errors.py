"""What real OpenAI-compatible proxies send when they fail, read as a person needs it
(issue 24): a 500 whose body is framed as an event stream (LiteLLM's proxy answers a
failed ``/v1/responses`` stream with ``data: {"error": {…}}``) gives the message inside,
not the raw frame; a 404 names the URL and the body's message, and, when the body says
nothing of its own, asks whether the server speaks that API; another format on the
Anthropic endpoint is a protocol error at once, never retried, keeping what text came
first. Over the real SDKs against the loopback server, which replays each body with its
status."""

from __future__ import annotations

import json

import pytest

from chatlab.core.data.events import ErrorKind
from chatlab.core.data.model import Lane, Response, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from tests.conftest import run_turn

KINDS = {"chat": "openai-chat", "responses": "openai-responses", "claude": "anthropic"}
PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "claude": "/v1/messages"}
APIS = {"chat": "Chat Completions API", "responses": "Responses API", "claude": "Anthropic Messages API"}
LITELLM_500 = (
    b'data: {"error": {"message": "Error processing stream start", "type": "None", '
    b'"param": "None", "code": "500"}}\n\n'
)


def failed(server: DemoServer, fmt: str, model: str, body: bytes, status: int, content_type: str) -> Response:
    server.add_replay(model, body, headers={"Content-Type": content_type}, status=status)
    base = server.anthropic_base_url if fmt == "claude" else server.openai_base_url
    provider = {"kind": KINDS[fmt], "base_url": base, "needs_key": False, "max_retries": 0}
    config = parse_config({"providers": {"p": provider}})
    _, turn = run_turn(Runner(config, KeyStore(), make_adapter), [Lane("p", model)])
    resp = next(iter(turn.responses.values()))
    assert resp.status is Status.ERROR and resp.error is not None
    return resp


@pytest.mark.parametrize("fmt", list(KINDS))
def test_an_error_body_framed_as_an_event_stream_is_unwrapped(server: DemoServer, fmt: str) -> None:
    resp = failed(server, fmt, "proxy-500", LITELLM_500, 500, "text/event-stream")
    assert resp.error is not None
    assert resp.error.message == "Error processing stream start"
    assert resp.error.kind is ErrorKind.SERVER and "data:" not in resp.error.message


@pytest.mark.parametrize("fmt", list(KINDS))
def test_a_bare_404_names_the_url_and_asks_about_the_api(server: DemoServer, fmt: str) -> None:
    resp = failed(server, fmt, "nowhere", b"", 404, "text/plain")
    assert resp.error is not None and resp.error.kind is ErrorKind.NOT_FOUND
    url = server.openai_base_url.removesuffix("/v1") + PATHS[fmt]
    assert resp.error.message == f"404 from {url}: Not Found — does this server speak the {APIS[fmt]}?"


def test_a_404_with_its_own_message_keeps_it_beside_the_url(server: DemoServer) -> None:
    body = b'{"error": {"message": "The model `x` does not exist", "type": "invalid_request_error"}}'
    resp = failed(server, "chat", "gone", body, 404, "application/json")
    assert resp.error is not None
    url = server.openai_base_url + "/chat/completions"
    assert resp.error.message == f"404 from {url}: The model `x` does not exist"  # no question: it said why


def _chat_stream() -> bytes:
    frames = [
        "data: "
        + json.dumps(
            {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": t}}]}
        )
        + "\n\n"
        for t in ("Hello", " there")
    ]
    return ("".join(frames) + "data: [DONE]\n\n").encode()


def _responses_stream() -> bytes:
    created = {"type": "response.created", "response": {"id": "r", "status": "in_progress"}}
    delta = {"type": "response.output_text.delta", "delta": "Hello"}
    return (
        f"event: response.created\ndata: {json.dumps(created)}\n\n"
        f"event: response.output_text.delta\ndata: {json.dumps(delta)}\n\n"
    ).encode()


def _anthropic(server: DemoServer, model: str, body: bytes) -> Response:
    server.add_replay(model, body)
    config = parse_config(
        {"providers": {"p": {"kind": "anthropic", "base_url": server.anthropic_base_url, "needs_key": False}}}
    )
    _, turn = run_turn(Runner(config, KeyStore(), make_adapter), [Lane("p", model)])
    return next(iter(turn.responses.values()))


@pytest.mark.parametrize("body", [_chat_stream(), _responses_stream()], ids=["chat", "responses"])
def test_another_format_on_the_anthropic_endpoint_is_a_protocol_error_at_once(
    server: DemoServer, body: bytes
) -> None:
    """It was "interrupted — network", sent three times, and its text dropped."""
    sent = len(server.log)
    resp = _anthropic(server, "other-format", body)
    assert resp.status is Status.ERROR and resp.error is not None and resp.error.kind is ErrorKind.PROTOCOL
    assert "not Anthropic Messages events" in resp.error.message
    assert len(server.log) - sent == 1 and not resp.retries  # never sent again


def test_messages_text_before_a_foreign_event_is_kept(server: DemoServer) -> None:
    block = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Kept"}}
    body = f"event: content_block_delta\ndata: {json.dumps(block)}\n\n".encode() + _chat_stream()
    resp = _anthropic(server, "half-and-half", body)
    assert resp.error is not None and resp.error.kind is ErrorKind.PROTOCOL
    assert resp.text == "Kept"


def test_a_well_formed_empty_answer_is_ok_but_says_it_is_empty(server: DemoServer) -> None:
    """LiteLLM answers a Chat request whose upstream sent garbage with a finished reply of no
    text: chatlab can't call it an error (the stream is well formed), but it never shows a
    silent blank "ok" either."""
    chunk = {
        "id": "x",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"role": "assistant"}}],
    }
    end = {
        "id": "x",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()
    server.add_replay("empty-model", body)
    provider = {"kind": "openai-chat", "base_url": server.openai_base_url, "needs_key": False}
    _, turn = run_turn(
        Runner(parse_config({"providers": {"p": provider}}), KeyStore(), make_adapter),
        [Lane("p", "empty-model")],
    )
    resp = next(iter(turn.responses.values()))
    assert resp.status is Status.OK and resp.text == ""
    assert "empty answer: the server finished without any text (finish reason: stop)" in resp.notes
    _, turn = run_turn(
        Runner(parse_config({"providers": {"p": provider}}), KeyStore(), make_adapter),
        [Lane("p", "demo-fast@tps=0")],
    )
    assert not any("empty answer" in note for r in turn.responses.values() for note in r.notes)
