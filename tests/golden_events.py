"""Recorded event sequences: what each adapter yields for every stream chatlab knows.

A scenario is one request to the loopback server: a captured real-provider stream from
``../shared/fixtures/sse`` replayed byte for byte, a demo script in each wire format,
each fault and hostile option of the demo server, or a hand-written stream that bends
the SSE and JSON rules (CR line ends, comments, unknown events, wrong types). The
adapter's events are written as JSON, one file per scenario group, under
``tests/golden/``. ``tests/providers/test_golden_events.py`` replays every scenario and compares;
a change in what a stream means (text, reasoning, usage, cost, finish, error kind or
message) fails there. Re-record on purpose only:

    python -m tests.golden_events --write
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from chatlab.core.data.events import StreamEvent
from chatlab.core.data.model import LaneParams, Message, Request
from chatlab.core.settings.config import parse_config
from chatlab.demo.scripts import DEMO_SCRIPTS, FAULTS
from chatlab.demo.scripts import HOSTILE as HOSTILE_OPTIONS
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from tests.golden_gemini import GEMINI_HOSTILE

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "sse"
GOLDEN = Path(__file__).resolve().parent / "golden"

KINDS = {"chat": "openai-chat", "responses": "openai-responses", "claude": "anthropic", "gemini": "gemini"}


@dataclass(frozen=True)
class Scenario:
    group: str  # the golden file it is kept in
    name: str
    fmt: str  # chat | responses | claude | gemini
    model: str
    vendor: str | None = None
    replay: bytes | None = None  # a stream to serve byte for byte (None: a demo script)
    params: LaneParams = dataclasses.field(default_factory=LaneParams)


_FIXTURES = [
    ("openai_chat_completions_usage.sse", "chat", "openai", "gpt-4o-2024-08-06"),
    ("openai_responses_reasoning_summary.sse", "responses", "openai", "o4-mini-2025-04-16"),
    ("anthropic_messages_thinking.sse", "claude", "anthropic", "claude-sonnet-4-20250514"),
    ("deepseek_reasoner_reasoning_content.sse", "chat", "deepseek", "deepseek-reasoner"),
    ("openrouter_claude_reasoning_details.sse", "chat", "openrouter", "anthropic/claude-sonnet-4.5"),
    ("openrouter_openai_o3_usage_cost.sse", "chat", "openrouter", "openai/o3"),
]


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    body = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {body}\n\n".encode()


def _chat(delta: Any, finish: Any = None, **extra: Any) -> bytes:
    return _sse({"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})


_CHAT_USAGE = _sse({"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
_CHAT_END = _chat({}, "stop") + _CHAT_USAGE + b"data: [DONE]\n\n"


def _resp(kind: str, **data: Any) -> bytes:
    return _sse({"type": kind, **data}, kind)


_RESP_DONE = _resp(
    "response.completed",
    response={
        "id": "r",
        "object": "response",
        "status": "completed",
        "usage": {"input_tokens": 2, "output_tokens": 3},
    },
)


def _msg(kind: str, **data: Any) -> bytes:
    return _sse({"type": kind, **data}, kind)


_MSG_START = _msg(
    "message_start",
    message={
        "id": "m",
        "type": "message",
        "role": "assistant",
        "content": [],
        "usage": {"input_tokens": 5, "output_tokens": 1},
    },
)
_MSG_END = _msg("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 7}) + _msg(
    "message_stop"
)


def _text_block(*pieces: str) -> bytes:
    out = _msg("content_block_start", index=0, content_block={"type": "text", "text": ""})
    for p in pieces:
        out += _msg("content_block_delta", index=0, delta={"type": "text_delta", "text": p})
    return out + _msg("content_block_stop", index=0)


# Streams that bend the rules. Each is served byte for byte; what the adapter makes of it
# today is the golden answer, so any change in the decoder shows.
HOSTILE: dict[str, tuple[str, bytes]] = {
    "chat-crlf": (
        "chat",
        (_chat({"content": "a"}) + _chat({"content": "b"}) + _CHAT_END).replace(b"\n", b"\r\n"),
    ),
    "chat-cr-only": (
        "chat",
        (_chat({"content": "a"}) + _chat({"content": "b"}) + _CHAT_END).replace(b"\n", b"\r"),
    ),
    "chat-comments-and-fields": (
        "chat",
        b": keep-alive\n\nid: 7\nretry: 100\n"
        + _chat({"content": "a"})
        + b"event: ping\ndata: {}\n\n"
        + _CHAT_END,
    ),
    "chat-data-no-space": ("chat", b'data:{"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n' + _CHAT_END),
    "chat-multiline-data": (
        "chat",
        b'data: {"choices": [{"index": 0,\ndata: "delta": {"content": "joined"}}]}\n\n' + _CHAT_END,
    ),
    "chat-unknown-fields-and-index1": (
        "chat",
        _chat(
            {"content": "a", "tool_calls": None, "audio": {"x": 1}},
            None,
            system_fingerprint="fp",
            obfuscation="zz",
        )
        + _sse({"choices": [{"index": 1, "delta": {"content": "second choice"}}]})
        + _CHAT_END,
    ),
    "chat-choices-null": ("chat", _sse({"id": "c", "choices": None}) + _CHAT_END),
    "chat-delta-null": (
        "chat",
        _sse({"choices": [{"index": 0, "delta": None}]}) + _chat({"content": "a"}) + _CHAT_END,
    ),
    "chat-content-number": ("chat", _chat({"content": 5}) + _CHAT_END),
    "chat-content-empty-string": ("chat", _chat({"content": ""}) + _chat({"content": "a"}) + _CHAT_END),
    "chat-done-then-more": (
        "chat",
        _chat({"content": "a"}) + _chat({}, "stop") + b"data: [DONE]\n\n" + _chat({"content": "after"}),
    ),
    "chat-no-final-blank-line": (
        "chat",
        _chat({"content": "a"}) + _chat({}, "stop") + b'data: {"choices": []}',
    ),
    "chat-error-mid-stream": (
        "chat",
        _chat({"content": "a"})
        + _sse({"error": {"message": "boom", "type": "server_error", "code": "server_is_overloaded"}}),
    ),
    "chat-error-string": ("chat", _chat({"content": "a"}) + _sse({"error": "plain words"})),
    "chat-error-event-named": ("chat", _chat({"content": "a"}) + _sse({"error": {"message": "m"}}, "error")),
    "chat-not-an-object": ("chat", _chat({"content": "a"}) + _sse("[1, 2, 3]") + _CHAT_END),
    "chat-usage-null": (
        "chat",
        _chat({"content": "a"})
        + _chat({}, "stop")
        + _sse({"choices": [], "usage": None})
        + b"data: [DONE]\n\n",
    ),
    "chat-usage-odd-types": (
        "chat",
        _chat({"content": "a"})
        + _chat({}, "stop")
        + _sse(
            {
                "choices": [],
                "usage": {"prompt_tokens": 3.0, "completion_tokens": True, "prompt_tokens_details": None},
            }
        )
        + b"data: [DONE]\n\n",
    ),
    "chat-reasoning-details-odd": (
        "chat",
        _chat(
            {
                "reasoning_details": [
                    {"type": "reasoning.summary", "summary": "sum"},
                    {"type": "reasoning.encrypted", "data": "x"},
                    "junk",
                    {"type": "reasoning.text", "text": 5},
                ]
            }
        )
        + _chat({"reasoning_details": "notalist"})
        + _chat({"reasoning": "", "reasoning_content": "rc"})
        + _CHAT_END,
    ),
    "chat-refusal": (
        "chat",
        _chat({"refusal": "no"}) + _chat({"content": None, "refusal": None}) + _CHAT_END,
    ),
    "chat-think-tags": (
        "chat",
        _chat({"content": " <thi"})
        + _chat({"content": "nk>r1</th"})
        + _chat({"content": "ink>\n\nans"})
        + _CHAT_END,
    ),
    "chat-unicode": (
        "chat",
        _chat({"content": "\u00e9\U0001f600\u202e\ufeff"}) + _chat({"content": "\ud83d"}) + _CHAT_END,
    ),
    "chat-bom": ("chat", b"\xef\xbb\xbf" + _chat({"content": "a"}) + _CHAT_END),
    "chat-invalid-utf8": (
        "chat",
        _chat({"content": "a"})
        + b'data: {"choices":[{"index":0,"delta":{"content":"\xff\xfe"}}]}\n\n'
        + _CHAT_END,
    ),
    "chat-finish-no-usage": ("chat", _chat({"content": "a"}) + _chat({}, "length") + b"data: [DONE]\n\n"),
    "chat-finish-number": ("chat", _chat({"content": "a"}) + _chat({}, 3) + b"data: [DONE]\n\n"),
    "chat-only-done": ("chat", b"data: [DONE]\n\n"),
    "chat-empty-body": ("chat", b""),
    "chat-nul-in-id": ("chat", b"id: a\x00b\n" + _chat({"content": "a"}) + _CHAT_END),
    "chat-raw-tab-in-string": (
        "chat",
        b'data: {"choices":[{"index":0,"delta":{"content":"a\tb"}}]}\n\n' + _CHAT_END,
    ),
    "chat-deep-nesting": (
        "chat",
        _chat({"content": "a"}) + b"data: " + b"[" * 100_000 + b"]" * 100_000 + b"\n\n",
    ),
    "chat-long-line": ("chat", _chat({"content": "x" * 300_000}) + _CHAT_END),
    "chat-nan-usage": (
        "chat",
        _chat({"content": "a"})
        + _chat({}, "stop")
        + b'data: {"choices": [], "usage": {"prompt_tokens": NaN}}\n\n',
    ),
    "resp-unknown-events": (
        "responses",
        _resp("response.created", response={"id": "r", "status": "in_progress"})
        + _resp("response.future_thing", foo=1)
        + _resp("response.output_text.delta", item_id="i", content_index=0, delta="hi")
        + _resp("response.output_text.annotation.added", item_id="i")
        + _resp("response.output_text.done", item_id="i", content_index=0, text="hi")
        + _RESP_DONE,
    ),
    "resp-delta-not-string": (
        "responses",
        _resp("response.output_text.delta", item_id="i", content_index=0, delta=7)
        + _resp("response.output_text.delta", item_id="i", content_index=0, delta="ok")
        + _RESP_DONE,
    ),
    "resp-missing-item-id": (
        "responses",
        _resp("response.output_text.delta", content_index=0, delta="x") + _RESP_DONE,
    ),
    "resp-done-fills-missing": (
        "responses",
        _resp("response.reasoning_summary_part.added", item_id="r", summary_index=0)
        + _resp("response.reasoning_summary_text.delta", item_id="r", summary_index=0, delta="th")
        + _resp("response.reasoning_summary_text.done", item_id="r", summary_index=0, text="think")
        + _resp("response.reasoning_summary_part.added", item_id="r", summary_index=1)
        + _resp("response.reasoning_summary_text.delta", item_id="r", summary_index=1, delta="more")
        + _resp("response.reasoning_text.delta", item_id="r2", content_index=0, delta="raw")
        + _resp("response.output_text.delta", item_id="m", content_index=0, delta="ans")
        + _resp("response.output_text.done", item_id="m", content_index=0, text="answer")
        + _resp("response.refusal.delta", item_id="m", content_index=1, delta="no")
        + _RESP_DONE,
    ),
    "resp-usage-not-object": (
        "responses",
        _resp("response.output_text.delta", item_id="i", content_index=0, delta="x")
        + _resp("response.completed", response={"status": "completed", "usage": "lots"}),
    ),
    "resp-usage-details": (
        "responses",
        _resp("response.output_text.delta", item_id="i", content_index=0, delta="x")
        + _resp(
            "response.completed",
            response={
                "status": "completed",
                "usage": {
                    "input_tokens": 9,
                    "input_tokens_details": {"cached_tokens": 4},
                    "output_tokens": 8,
                    "output_tokens_details": {"reasoning_tokens": 5},
                    "cost": 0.5,
                },
            },
        ),
    ),
    "resp-completed-no-response": (
        "responses",
        _resp("response.output_text.delta", item_id="i", content_index=0, delta="x")
        + _resp("response.completed"),
    ),
    "resp-error-event": (
        "responses",
        _resp("response.output_text.delta", item_id="i", content_index=0, delta="x")
        + _resp("error", code="rate_limit_exceeded", message="slow down"),
    ),
    "resp-error-no-message": ("responses", _resp("error", code=None)),
    "resp-failed-no-error": ("responses", _resp("response.failed", response={"status": "failed"})),
    "resp-no-type": ("responses", _sse({"delta": "x"}) + _RESP_DONE),
    "resp-no-end": (
        "responses",
        _resp("response.output_text.delta", item_id="i", content_index=0, delta="x"),
    ),
    "resp-data-error-key": (
        "responses",
        _resp("response.output_text.delta", item_id="i", content_index=0, delta="x")
        + _sse({"error": {"message": "in data", "code": "server_error"}}),
    ),
    "claude-ping-and-unknown": (
        "claude",
        _MSG_START
        + b'event: ping\ndata: {"type": "ping"}\n\n'
        + _msg(
            "content_block_start",
            index=0,
            content_block={"type": "tool_use", "id": "t", "name": "n", "input": {}},
        )
        + _msg("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": "{}"})
        + _msg("content_block_stop", index=0)
        + _msg("some_future_event", x=1)
        + _text_block("hel", "lo")
        + _MSG_END,
    ),
    "claude-no-event-line": (
        "claude",
        _MSG_START
        + _sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "unseen"}})
        + _text_block("seen")
        + _MSG_END,
    ),
    "claude-event-name-disagrees": (
        "claude",
        _MSG_START
        + _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "by type"}},
            "message_delta",
        )
        + _MSG_END,
    ),
    "claude-empty-data": (
        "claude",
        _MSG_START + b"event: content_block_delta\ndata: \n\n" + _text_block("x") + _MSG_END,
    ),
    "claude-error-not-json": (
        "claude",
        _MSG_START + _text_block("x") + b"event: error\ndata: not json at all\n\n",
    ),
    "claude-error-json": (
        "claude",
        _MSG_START
        + _text_block("x")
        + _sse({"type": "error", "error": {"type": "rate_limit_error", "message": "later"}}, "error"),
    ),
    "claude-error-empty": ("claude", _MSG_START + b"event: error\ndata: \n\n"),
    "claude-thinking-blocks": (
        "claude",
        _MSG_START
        + _msg("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""})
        + _msg("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hmm"})
        + _msg("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "s"})
        + _msg("content_block_start", index=1, content_block={"type": "redacted_thinking", "data": "x"})
        + _msg("content_block_start", index=2, content_block={"type": "thinking", "thinking": ""})
        + _msg("content_block_delta", index=2, delta={"type": "thinking_delta", "thinking": 5})
        + _text_block("a")
        + _msg(
            "message_delta",
            delta={"stop_reason": "refusal"},
            usage={"output_tokens": 7, "output_tokens_details": {"thinking_tokens": 3}},
        )
        + _msg("message_stop"),
    ),
    "claude-usage-odd": (
        "claude",
        _msg("message_start", message={"usage": {"input_tokens": "5", "output_tokens": 1}})
        + _text_block("a")
        + _MSG_END,
    ),
    "claude-usage-not-object": (
        "claude",
        _msg("message_start", message={"usage": [1]}) + _text_block("a") + _MSG_END,
    ),
    "claude-message-start-no-message": ("claude", _msg("message_start") + _text_block("a") + _MSG_END),
    "claude-delta-no-stop": (
        "claude",
        _MSG_START
        + _text_block("a")
        + _msg("message_delta", usage={"output_tokens": 2})
        + _msg("message_stop"),
    ),
    "claude-no-stop": ("claude", _MSG_START + _text_block("a")),
    "claude-block-start-missing-block": (
        "claude",
        _MSG_START + _msg("content_block_start", index=0) + _text_block("a") + _MSG_END,
    ),
    "claude-delta-missing-delta": (
        "claude",
        _MSG_START + _msg("content_block_delta", index=0) + _text_block("a") + _MSG_END,
    ),
}


# Where the SDK-object path crashed with a Python error on these streams, the decoder
# that replaced it (chatlab.providers.sse) reads them instead; the recordings changed on
# purpose, and every other recording stayed byte-identical.
CHANGED_ON_PURPOSE = {
    "chat-comments-and-fields": "a keep-alive event with data {} is skipped, not a TypeError",
    "chat-choices-null": "choices: null is no choices, not a TypeError",
    "chat-content-number": "content chatlab can't read is an error when nothing else came, never an empty ok",
    "chat-not-an-object": "an event that is not a JSON object is named as such",
    "chat-finish-number": "a finish reason that is not a string is kept as its JSON text",
    "resp-error-no-message": "an error event with no message or code says so, not 'None'",
    "claude-message-start-no-message": "usage with no input count is a note, not a KeyError",
    "claude-block-start-missing-block": "a content_block_start without a block is skipped",
    "claude-delta-missing-delta": "a content_block_delta without a delta is skipped",
}


def scenarios() -> Iterator[Scenario]:
    for fixture, fmt, vendor, model in _FIXTURES:
        path = FIXTURES / fixture
        if path.is_file():
            yield Scenario("fixtures", fixture, fmt, model, vendor, path.read_bytes())
    for name in DEMO_SCRIPTS:
        for fmt in KINDS:
            yield Scenario("demo", f"{name}/{fmt}", fmt, f"{name}@tps=0")
    variants = {
        "chat": ["reasoning_field=reasoning", "reasoning_field=reasoning_details", "reasoning_field=think"],
        "claude": ["redacted=1"],
    }
    for fmt in KINDS:
        for option in [*variants.get(fmt, []), "refusal=1", "cached_input_tokens=5", "cost=0.25"]:
            yield Scenario("demo", f"demo-reasoner@{option}/{fmt}", fmt, f"demo-reasoner@tps=0,{option}")
        yield Scenario("demo", f"demo-hidden/{fmt}/nodelay", fmt, "demo-hidden@tps=0,think_delay_s=0")
        for effort in ("none", "low", "high"):  # demo-hybrid reasons only when asked
            params = LaneParams(reasoning_effort=effort)
            yield Scenario(
                "demo", f"demo-hybrid/{fmt}/effort={effort}", fmt, "demo-hybrid@tps=0", params=params
            )
    for fault in FAULTS:
        for fmt in KINDS:
            if fault in ("failed", "incomplete") and fmt != "responses":
                continue
            yield Scenario(
                "faults", f"{fault}/{fmt}", fmt, f"demo-fast@tps=0,fault={fault},after=6,stall_s=0.2"
            )
    for fmt in KINDS:
        for option, values in (
            ("usage", HOSTILE_OPTIONS["usage"][1:]),
            ("inject", ["surrogate", "controls"]),
            ("body", ["html", "json"]),
        ):
            for value in values:
                script = "demo-reasoner" if value == "json" else "demo-fast"
                yield Scenario(
                    "faults", f"{option}={value}/{fmt}", fmt, f"{script}@tps=0,{option}={value},after=3"
                )
        yield Scenario("faults", f"no-such-model/{fmt}", fmt, "no-such-model")
    yield Scenario("faults", "done_text=differs/responses", "responses", "demo-fast@tps=0,done_text=differs")
    for name, (fmt, body) in {**HOSTILE, **GEMINI_HOSTILE}.items():
        yield Scenario("hostile", name, fmt, f"hostile-{name}", replay=body)


def encode(ev: StreamEvent) -> dict[str, Any]:
    """One event as JSON: its class name and its fields (enums by value)."""
    out: dict[str, Any] = {"event": type(ev).__name__}
    for f in dataclasses.fields(ev):
        value = getattr(ev, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        elif isinstance(value, Enum):
            value = value.value
        out[f.name] = value
    return out


def merged(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adjacent text (or reasoning) pieces joined: how a stream is cut into events is the
    adapter's business; what it says, and in what order, is not."""
    out: list[dict[str, Any]] = []
    for ev in events:
        prev = out[-1] if out else None
        if (
            prev is not None
            and ev["event"] in ("TextDelta", "ReasoningDelta")
            and prev["event"] == ev["event"]
            and prev.get("refusal") == ev.get("refusal")
        ):
            out[-1] = {**prev, "text": prev["text"] + ev["text"]}
        else:
            out.append(dict(ev))
    return out


async def record(server: DemoServer, scenario: Scenario, chunk: int = 97) -> list[dict[str, Any]]:
    """The events one adapter yields for ``scenario``, as JSON."""
    if scenario.replay is not None:
        server.add_replay(scenario.model, scenario.replay, chunk_size=chunk)
    kind = KINDS[scenario.fmt]
    base = server.anthropic_base_url if kind in ("anthropic", "gemini") else server.openai_base_url
    provider: dict[str, Any] = {"kind": kind, "base_url": base, "needs_key": False}
    if kind == "gemini":
        provider["vendor"] = "google"
    if scenario.vendor:
        provider["vendor"] = scenario.vendor
    config = parse_config({"providers": {"p": provider}})
    adapter = make_adapter(config.providers["p"], None)
    request = Request(scenario.model, [Message("user", "hello")], scenario.params)
    try:
        events = [encode(ev) async for ev in adapter.stream(request)]
    finally:
        await adapter.aclose()
    port = base.split(":")[2].split("/")[0]
    text = json.dumps(events, ensure_ascii=True).replace(f"127.0.0.1:{port}", "127.0.0.1:PORT")
    result: list[dict[str, Any]] = json.loads(text)
    return result


def digest(events: list[dict[str, Any]]) -> dict[str, Any]:
    """A captured stream's golden form: the sequence's SHA-256 and its shape (event types,
    text lengths), never the text itself (the fixtures stay outside the project)."""
    canonical = json.dumps(merged(events), sort_keys=True, ensure_ascii=True).encode()
    shape = [
        {"event": ev["event"], "chars": len(ev["text"])} if "text" in ev else {"event": ev["event"]}
        for ev in merged(events)
    ]
    return {"sha256": hashlib.sha256(canonical).hexdigest(), "shape": shape}


def golden_form(scenario: Scenario, events: list[dict[str, Any]]) -> Any:
    return digest(events) if scenario.group == "fixtures" else merged(events)


def load(group: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"{group}.json").read_text())
    return data


def write() -> None:
    server = DemoServer().start_in_thread()
    try:
        groups: dict[str, dict[str, Any]] = {}
        for s in scenarios():
            events = asyncio.run(record(server, s))
            groups.setdefault(s.group, {})[s.name] = golden_form(s, events)
    finally:
        server.stop_thread()
    GOLDEN.mkdir(exist_ok=True)
    for group, data in groups.items():
        (GOLDEN / f"{group}.json").write_text(json.dumps(data, indent=1, ensure_ascii=True) + "\n")
        print(f"{group}: {len(data)} scenarios")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="re-record tests/golden/*.json")
    args = parser.parse_args(argv)
    if not args.write:
        parser.print_help()
        return 2
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
