"""The demo server (the window's own, in demo mode) under requests a person or a test
can send it: a body that is JSON but no object, messages that are no messages, and
model-name options that looped forever (chunks of no characters) or took gigabytes (an
answer repeated 10**8 times). Each is a 400 in the request's own wire format, or an
answer; the server keeps serving."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from chatlab.demo.server import DemoServer

pytestmark = pytest.mark.hostile

PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "anthropic": "/v1/messages"}
USER = [{"role": "user", "content": "hi"}]


def post(server: DemoServer, fmt: str, body: Any) -> httpx2.Response:
    url = f"http://{server.host}:{server.port}{PATHS[fmt]}"
    headers = {"content-type": "application/json", "authorization": "Bearer k", "x-api-key": "k"}
    with httpx2.Client(timeout=10) as client:
        return client.post(url, content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize("fmt", PATHS)
@pytest.mark.parametrize(
    "body", [[], 5, "text", [{"model": "demo-fast"}]], ids=["list", "number", "string", "nested"]
)
def test_a_body_that_is_no_object_is_a_400_not_a_dropped_connection(
    server: DemoServer, fmt: str, body: Any
) -> None:
    found = post(server, fmt, body)
    assert found.status_code == 400 and "JSON object" in found.text


@pytest.mark.parametrize("fmt", PATHS)
def test_messages_that_are_no_messages_still_get_an_answer(server: DemoServer, fmt: str) -> None:
    for messages in ({"a": 1}, [1, "two", None, {"role": "user", "content": "hi"}]):
        body = {
            "model": "demo-hybrid",
            "messages": messages,
            "input": messages,
            "max_tokens": 9,
            "stream": True,
        }
        assert post(server, fmt, body).status_code == 200


@pytest.mark.parametrize(
    "options",
    [
        "chunk_min=0,chunk_max=0",
        "chunk_min=-3,chunk_max=-1",
        "repeat=100000000",
        "repeat=0",
        "tps=nan",
        "after=-5",
    ],
)
def test_model_name_options_that_would_hang_the_server_are_refused(server: DemoServer, options: str) -> None:
    for fmt in PATHS:
        body = {"model": f"demo-fast@{options}", "messages": USER, "max_tokens": 9, "stream": True}
        found = post(server, fmt, body)
        assert found.status_code == 400 and "must be from" in found.text, (fmt, found.text)
    body = {"model": "demo-fast@tps=0", "messages": USER, "max_tokens": 9, "stream": True}
    assert post(server, "chat", body).status_code == 200  # still serving
