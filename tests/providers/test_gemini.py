"""The Gemini adapter: what it sends (the knob, the lane's parameters, the key), what it
makes of recorded Gemini streams, refusals and blocks, usage, errors; over the real
google-genai SDK on loopback, and its reader fed directly."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx2
import pytest

from chatlab.core.data.events import Done, ErrorKind, ReasoningDelta, StreamError, TextDelta, UsageReport
from chatlab.core.data.model import Lane, LaneParams, Message, Request, Response, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.providers.gemini import _Reader, split_base_url
from tests.conftest import run_turn
from tests.providers.readers import drive, events

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"


def provider(server: DemoServer, **extra: Any) -> dict[str, Any]:
    table = {"kind": "gemini", "base_url": server.gemini_base_url, "vendor": "google", "needs_key": False}
    return {"providers": {"g": {**table, **extra}}}


def turn(server: DemoServer, model: str, params: LaneParams | None = None, **extra: Any) -> Response:
    config = parse_config(provider(server, **extra))
    _, t = run_turn(Runner(config, KeyStore(), make_adapter), [Lane("g", model, params or LaneParams())])
    return next(iter(t.responses.values()))


def sent(server: DemoServer, model: str, params: LaneParams) -> dict[str, Any]:
    server.add(model, server.scripts["demo-fast"])
    r = turn(server, model, params)
    assert r.status is Status.OK, r.error
    body = server.log[-1].body
    assert body is not None and server.log[-1].path == f"/v1beta/models/{model}:streamGenerateContent"
    return body


# -- what is sent ------------------------------------------------------------------------


def test_the_lane_parameters_go_where_gemini_takes_them(server: DemoServer) -> None:
    body = sent(
        server, "gemini-2.0-flash", LaneParams(system="be brief", temperature=0.3, max_output_tokens=900)
    )
    assert body["systemInstruction"] == {"parts": [{"text": "be brief"}], "role": "user"}
    assert body["contents"] == [{"parts": [{"text": "hello"}], "role": "user"}]
    assert body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 900}  # 2.0 doesn't think


@pytest.mark.parametrize(
    "model, params, thinking",
    [
        (
            "gemini-2.5-flash",
            LaneParams(reasoning="high"),
            {"include_thoughts": True, "thinking_budget": 24576},
        ),
        ("gemini-2.5-flash", LaneParams(reasoning=5000), {"include_thoughts": True, "thinking_budget": 5000}),
        ("gemini-2.5-flash", LaneParams(reasoning="off"), {"thinking_budget": 0}),
        ("gemini-2.5-pro", LaneParams(reasoning="low"), {"include_thoughts": True, "thinking_budget": 1024}),
        (
            "gemini-3-pro-preview",
            LaneParams(reasoning="low"),
            {"include_thoughts": True, "thinking_level": "LOW"},
        ),
        (
            "gemini-2.5-flash",
            LaneParams(thinking_budget=3000),
            {"include_thoughts": True, "thinking_budget": 3000},
        ),
        (
            "gemini-2.5-flash",
            LaneParams(reasoning_effort="medium"),
            {"include_thoughts": True, "thinking_budget": 8192},
        ),
        (
            "gemini-3-flash-preview",
            LaneParams(reasoning_effort="high"),
            {"include_thoughts": True, "thinking_level": "HIGH"},
        ),
        (
            "gemini-2.5-pro",
            LaneParams(),
            {"include_thoughts": True},
        ),  # the model's own budget, summaries asked
    ],
)
def test_the_reasoning_knob_on_the_wire(
    server: DemoServer, model: str, params: LaneParams, thinking: dict
) -> None:
    body = sent(server, model, params)
    assert body["generationConfig"]["thinkingConfig"] == thinking


def test_a_knob_the_model_cant_take_is_a_bad_request_before_sending(server: DemoServer) -> None:
    before = len(server.log)
    r = turn(server, "gemini-2.5-pro", LaneParams(reasoning="off"))
    assert r.status is Status.ERROR and r.error is not None and r.error.kind is ErrorKind.BAD_REQUEST
    assert "can't be set to reasoning off" in r.error.message
    assert len(server.log) == before  # nothing was sent


def test_the_key_goes_in_a_header_and_never_into_a_message(server: DemoServer) -> None:
    server.api_key = "AIza-the-right-key"
    config = parse_config(provider(server, needs_key=True, api_key_env="CHATLAB_TEST_GEMINI"))
    keys = KeyStore()
    keys.set("g", "AIza-the-wrong-key")
    _, t = run_turn(Runner(config, keys, make_adapter), [Lane("g", "demo-fast@tps=0")])
    r = next(iter(t.responses.values()))
    assert r.error is not None and r.error.kind is ErrorKind.AUTH and r.error.status_code == 401
    assert "AIza" not in r.error.message
    logged = server.log[-1]
    assert logged.headers["x-goog-api-key"] == "AIza-the-wrong-key" and "key=" not in logged.path
    keys.set("g", "AIza-the-right-key")
    _, t = run_turn(Runner(config, keys, make_adapter), [Lane("g", "demo-fast@tps=0")])
    assert next(iter(t.responses.values())).status is Status.OK


def test_a_base_url_with_its_version_is_read_as_the_version() -> None:
    assert split_base_url(None) == ("https://generativelanguage.googleapis.com", "v1beta")
    assert split_base_url("http://h:1/v1/") == ("http://h:1", "v1")
    assert split_base_url("http://h:1/proxy/v1beta") == ("http://h:1/proxy", "v1beta")


def test_connection_refused_names_the_endpoint_without_its_query() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        config = parse_config(
            {
                "providers": {
                    "g": {"kind": "gemini", "base_url": f"http://127.0.0.1:{port}", "needs_key": False}
                }
            }
        )
        adapter = make_adapter(config.providers["g"], "AIza-secret")

        async def go() -> list[Any]:
            try:
                return [ev async for ev in adapter.stream(Request("m", [Message("user", "hi")]))]
            finally:
                await adapter.aclose()

        out = asyncio.run(go())
    assert out == [
        StreamError(
            ErrorKind.NETWORK,
            f"could not connect to http://127.0.0.1:{port} (connection refused)",
            started=False,
        )
    ]


# -- recorded streams ---------------------------------------------------------------------


def replay(server: DemoServer, name: str, model: str, chunk: int) -> Response:
    server.add_replay(model, (FIXTURES / name).read_bytes(), chunk_size=chunk)
    return turn(server, model)


@pytest.mark.golden
@pytest.mark.parametrize("chunk", [1, 97, 4096])
def test_recorded_thought_summaries(server: DemoServer, chunk: int) -> None:
    r = replay(server, "gemini-2.5-pro-thought-summaries.sse", "gemini-2.5-pro", chunk)
    assert r.status is Status.OK and r.finish_reason == "STOP"
    assert r.reasoning.startswith("**Clarifying User Goals**\n\nI'm currently focused on defining")
    assert len(r.reasoning) == 1575
    assert r.text.startswith("This is a great question! Safely crossing the street is all ")
    assert r.text.endswith("lways assume a driver might not see you.") and len(r.text) == 1938
    u = r.usage  # the last chunk's usageMetadata, not a sum over the chunks
    assert (u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens) == (
        34,
        0,
        469 + 787,
        787,
    )
    assert not u.estimated and not u.reasoning_estimated


@pytest.mark.golden
@pytest.mark.parametrize("chunk", [1, 4096])
def test_recorded_hidden_reasoning_counts_tokens_without_text(server: DemoServer, chunk: int) -> None:
    r = replay(server, "gemini-3-pro-hidden-reasoning.sse", "gemini-3-pro-preview", chunk)
    assert r.status is Status.OK and r.finish_reason == "STOP"
    assert r.text == 'There are **3** "r"s in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.'
    assert r.reasoning == "" and r.hidden_reasoning  # "256 reasoning tokens — text not returned"
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens) == (9, 29 + 256, 256)


@pytest.mark.golden
def test_recorded_prompt_block_is_a_refusal(server: DemoServer) -> None:
    r = replay(server, "gemini-3.7-flash-prompt-block.sse", "gemini-3.7-flash", 97)
    assert r.status is Status.OK and r.refusal and r.finish_reason == "PROHIBITED_CONTENT"
    assert r.text == (
        "Gemini refused the prompt: it was judged prohibited content (blockReason PROHIBITED_CONTENT)."
    )
    assert (r.usage.input_tokens, r.usage.output_tokens) == (9, 0) and not r.usage.estimated


# -- the demo server's Gemini side ---------------------------------------------------------


def test_demo_refusal_and_hidden_reasoning(server: DemoServer) -> None:
    r = turn(server, "demo-reasoner@tps=0,refusal=1")
    assert r.refusal and r.finish_reason == "SAFETY" and r.reasoning
    assert r.text == "Gemini stopped the answer: its safety filters blocked it (finishReason SAFETY)."
    hidden = turn(server, "demo-hidden@tps=0,think_delay_s=0")
    assert hidden.reasoning == "" and hidden.hidden_reasoning and hidden.usage.reasoning_tokens > 0


def post(server: DemoServer, model: str, body: Any) -> httpx2.Response:
    url = f"http://{server.host}:{server.port}/v1beta/models/{model}:streamGenerateContent?alt=sse"
    with httpx2.Client(timeout=10) as client:
        return client.post(url, content=json.dumps(body).encode(), headers={"x-goog-api-key": "k"})


@pytest.mark.hostile
def test_demo_hostile_requests_are_a_400_and_it_keeps_serving(server: DemoServer) -> None:
    bodies: list[Any] = [[], 5, "text"]
    for body in bodies:
        found = post(server, "demo-fast", body)
        assert found.status_code == 400 and "JSON object" in found.text
    for contents in ({"a": 1}, [1, "two", None, {"role": "user", "parts": [{"text": "hi"}]}]):
        assert post(server, "demo-hybrid", {"contents": contents}).status_code == 200
    found = post(server, "demo-fast@chunk_min=0,chunk_max=0", {"contents": []})
    assert found.status_code == 400 and "must be from" in found.text
    assert found.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert post(server, "demo-fast@tps=0", {"contents": []}).status_code == 200


# -- the reader, fed directly ----------------------------------------------------------------


def sse(*chunks: Any) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)


def cand(*parts: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish:
        c["finishReason"] = finish
    return {"candidates": [c]}


def read(body: bytes) -> list[Any]:
    return drive(_Reader("http://h", "gemini-2.5-flash"), events(body, 7, 50))


def test_usage_is_the_latest_never_a_sum() -> None:
    usage = [{"promptTokenCount": 5, "candidatesTokenCount": n, "thoughtsTokenCount": 3} for n in (1, 2, 4)]
    out = read(
        sse(
            {**cand({"text": "a"}), "usageMetadata": usage[0]},
            {**cand({"text": "b"}), "usageMetadata": usage[1]},
            {**cand({"text": "", "thoughtSignature": "c2ln"}, finish="STOP"), "usageMetadata": usage[2]},
        )
    )
    reports = [ev for ev in out if isinstance(ev, UsageReport)]
    assert (
        len(reports) == 1 and reports[0].usage.output_tokens == 7 and reports[0].usage.reasoning_tokens == 3
    )
    assert out[-1] == Done("STOP")


def test_a_stream_without_a_finish_reason_is_interrupted_with_its_text() -> None:
    out = read(sse(cand({"text": "part", "thought": True}), cand({"text": "ial"})))
    assert out[:2] == [ReasoningDelta("part"), TextDelta("ial")]
    assert isinstance(out[-1], StreamError) and out[-1].kind is ErrorKind.NETWORK


def test_parts_chatlab_cant_show_are_an_error_not_an_empty_answer() -> None:
    out = read(sse(cand({"functionCall": {"name": "f", "args": {}}}, finish="STOP")))
    assert out == [
        StreamError(ErrorKind.PROTOCOL, "the answer held only parts chatlab can't show (functionCall)")
    ]


def test_a_safety_stop_after_text_keeps_the_text_and_says_why() -> None:
    out = read(sse(cand({"text": "Sure, "}), cand(finish="RECITATION")))
    assert out[0] == TextDelta("Sure, ")
    why = "it would have recited material it was trained on (finishReason RECITATION)"
    assert out[1] == TextDelta(f"\n\nGemini stopped the answer: {why}.", refusal=True)
    assert out[-1] == Done("RECITATION")


def test_an_error_chunk_mid_stream_keeps_the_text() -> None:
    error = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}
    out = read(sse(cand({"text": "a"}), error))
    assert out == [TextDelta("a"), StreamError(ErrorKind.RATE_LIMIT, "Resource has been exhausted")]


def test_unbelievable_usage_is_a_notice_and_the_answer_stands() -> None:
    bad = {"promptTokenCount": "lots", "candidatesTokenCount": 1}
    out = read(sse({**cand({"text": "a"}, finish="STOP"), "usageMetadata": bad}))
    assert out[0] == TextDelta("a") and out[-1] == Done("STOP")
    assert "not a whole number" in out[1].text


def test_a_429s_retry_delay_comes_from_the_body_when_no_header_says() -> None:
    from google.genai import errors

    from chatlab.providers.errors import map_exception

    body = {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}],
        }
    }
    response = httpx2.Response(429, json=body)
    err = map_exception(errors.ClientError(429, body, response))
    assert err == StreamError(ErrorKind.RATE_LIMIT, "You exceeded your current quota.", 429, 31.0)
    err = map_exception(errors.ServerError(503, {"error": {"code": 503, "status": "UNAVAILABLE"}}, None))
    assert err.kind is ErrorKind.OVERLOADED and err.status_code == 503
