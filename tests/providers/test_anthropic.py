"""The Messages reader, fed event by event: what each raw stream event the Anthropic SDK would
yield from ``messages.create(stream=True)`` becomes in chatlab's events.

Every event is built with the installed SDK's own model for its ``type`` (the members of
``RawMessageStreamEvent``; ``ErrorResponse`` for an error), so its shape is one the SDK
accepts today, then framed as the API sends it (``event: <type>`` and ``data: <json>``)
and split into events by chatlab's SSE parser, which is what the reader is given. No
network, no event loop.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import httpx2
import pytest
from anthropic.types import RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse
from pydantic import BaseModel

from chatlab.core.costs.tokens import count_tokens
from chatlab.core.data.events import (
    Done,
    ErrorKind,
    Notice,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.core.data.safety import usage_note
from chatlab.providers.anthropic import REDACTED, _Reader
from tests.providers.readers import drive, events

URL = "https://api.example.test"
MODEL = "claude-sonnet-4-20250514"
NO_END = StreamError(ErrorKind.NETWORK, "the stream ended before the provider's end marker (message_stop)")

# The SDK's model for each event type.
_MODELS: dict[str, type[BaseModel]] = {
    get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in get_args(get_args(RawMessageStreamEvent)[0])
}


def ev(kind: str, **fields: Any) -> BaseModel:
    """One event of type ``kind``, checked against the SDK's model for it."""
    return _MODELS[kind].model_validate({"type": kind, **fields})


def start(inp: int = 43, read: int = 0, write: int = 0, **usage: Any) -> BaseModel:
    """``message_start`` with the usage the API reports before the first token."""
    counts = {
        "input_tokens": inp,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 1,
        "service_tier": "standard",
        **usage,
    }
    message: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": counts,
    }
    return ev("message_start", message=message)


def block(index: int, content: dict[str, Any]) -> BaseModel:
    return ev("content_block_start", index=index, content_block=content)


def delta(index: int, **fields: Any) -> BaseModel:
    return ev("content_block_delta", index=index, delta=fields)


def text(piece: str, index: int = 0) -> BaseModel:
    return delta(index, type="text_delta", text=piece)


def thinking(piece: str, index: int = 0) -> BaseModel:
    return delta(index, type="thinking_delta", thinking=piece)


def stop(index: int) -> BaseModel:
    return ev("content_block_stop", index=index)


def message_delta(
    reason: str | None, output: int, stop_details: dict[str, Any] | None = None, **usage: Any
) -> BaseModel:
    """``message_delta``: the stop reason, and the usage so far (``usage`` adds counts)."""
    changes: dict[str, Any] = {"stop_reason": reason, "stop_sequence": None}
    if stop_details is not None:
        changes["stop_details"] = stop_details
    return ev("message_delta", delta=changes, usage={"output_tokens": output, **usage})


TEXT = {"type": "text", "text": ""}
THINKING = {"type": "thinking", "thinking": "", "signature": ""}
MESSAGE_STOP = ev("message_stop")
PING = {"type": "ping"}


def error(kind: str, message: str) -> BaseModel:
    return ErrorResponse.model_validate({"type": "error", "error": {"type": kind, "message": message}})


def answer(*pieces: str) -> list[BaseModel]:
    """An ordinary text block."""
    return [block(0, TEXT), *(text(p) for p in pieces), stop(0)]


def wire(*items: BaseModel | dict[str, Any] | tuple[str | None, str], ascii: bool = False) -> bytes:
    """The response body: each item as one event, named by its type as the API names it; a
    ``(name, data)`` pair is sent as it is. ``ascii`` escapes every non-ASCII character,
    the only way JSON carries a lone surrogate."""
    out = []
    for item in items:
        if isinstance(item, tuple):
            name, data = item
        else:
            if isinstance(item, BaseModel):
                item = item.model_dump(mode="json", exclude_unset=True)
            name, data = item["type"], json.dumps(item, ensure_ascii=ascii)
        head = f"event: {name}\n" if name is not None else ""
        out.append(f"{head}data: {data}\n\n".encode())
    return b"".join(out)


def reader() -> _Reader:
    return _Reader(URL, MODEL, 200)


def run(
    *items: BaseModel | dict[str, Any] | tuple[str | None, str], ascii: bool = False
) -> list[StreamEvent]:
    return drive(reader(), events(wire(*items, ascii=ascii)))


def usage(
    inp: int, out: int, thinking: int = 0, estimated: bool = False, read: int = 0, write: int = 0
) -> UsageReport:
    return UsageReport(
        Usage(
            input_tokens=inp + read + write,
            cached_input_tokens=read,
            cache_write_input_tokens=write,
            output_tokens=out,
            reasoning_tokens=thinking,
            reasoning_estimated=estimated,
        )
    )


# -- text ----------------------------------------------------------------------------------------


def test_each_event_gives_its_piece_and_message_stop_ends_the_stream() -> None:
    r = reader()
    steps = events(
        wire(
            start(),
            block(0, TEXT),
            PING,
            text("Here are"),
            text(" the steps."),
            stop(0),
            message_delta("end_turn", 282),
            MESSAGE_STOP,
        )
    )
    fed = []
    for item in steps:
        out: list[StreamEvent] = []
        fed.append((r.feed(item, out), out))
    assert fed == [
        (False, []),
        (False, []),
        (False, []),  # ping
        (False, [TextDelta("Here are")]),
        (False, [TextDelta(" the steps.")]),
        (False, []),
        (False, []),  # usage and the stop reason are held until message_stop
        (True, [usage(43, 282), Done("end_turn")]),
    ]
    out = []
    r.end(out)
    assert out == []


def test_events_after_message_stop_are_not_read() -> None:
    assert run(start(), *answer("a"), message_delta("end_turn", 2), MESSAGE_STOP, text("late")) == [
        TextDelta("a"),
        usage(43, 2),
        Done("end_turn"),
    ]


def test_events_without_a_name_and_pings_are_skipped_unread() -> None:
    """The SDK skips an event with no ``event:`` line, whatever its data says."""
    assert run(
        start(),
        block(0, TEXT),
        (None, json.dumps(text("unnamed").model_dump(mode="json"))),
        ("ping", ""),
        ("content_block_delta", ""),  # a name but no data
        text("named"),
        stop(0),
        message_delta("end_turn", 1),
        MESSAGE_STOP,
    ) == [TextDelta("named"), usage(43, 1), Done("end_turn")]


# -- thinking --------------------------------------------------------------------------------------


def test_thinking_deltas_are_reasoning_and_the_signature_is_ignored() -> None:
    assert run(
        start(),
        block(0, THINKING),
        thinking("This is a"),
        thinking(" straightforward question."),
        delta(0, type="signature_delta", signature="EqQBCkgIBBABGAIiQL"),
        stop(0),
        *[block(1, TEXT), text("Look both ways.", 1), stop(1)],
        message_delta("end_turn", 40, output_tokens_details={"thinking_tokens": 9}),
        MESSAGE_STOP,
    ) == [
        ReasoningDelta("This is a"),
        ReasoningDelta(" straightforward question."),
        TextDelta("Look both ways."),
        usage(43, 40, thinking=9),
        Done("end_turn"),
    ]


def test_without_thinking_tokens_reasoning_is_estimated_from_the_text_and_flagged() -> None:
    thought = "Let me think about crossing the street safely."
    estimate = count_tokens(thought, MODEL).tokens
    assert 0 < estimate < 282
    assert run(
        start(),
        block(0, THINKING),
        thinking(thought),
        stop(0),
        *answer("Look."),
        message_delta("end_turn", 282),
        MESSAGE_STOP,
    )[-2:] == [usage(43, 282, thinking=estimate, estimated=True), Done("end_turn")]


def test_an_estimate_never_exceeds_the_output_tokens() -> None:
    thought = "word " * 200
    assert run(start(), block(0, THINKING), thinking(thought), message_delta("max_tokens", 5), MESSAGE_STOP)[
        -2:
    ] == [usage(43, 5, thinking=5, estimated=True), Done("max_tokens")]


def test_no_thinking_and_no_thinking_tokens_is_zero_not_estimated() -> None:
    assert run(start(), *answer("hi"), message_delta("end_turn", 3), MESSAGE_STOP)[-2] == usage(43, 3)


def test_redacted_thinking_is_a_visible_placeholder_and_blocks_are_separated() -> None:
    assert run(
        start(),
        block(0, THINKING),
        thinking("First."),
        stop(0),
        block(1, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}),
        stop(1),
        block(2, THINKING),
        thinking("Third.", 2),
        stop(2),
        block(3, TEXT),
        text("Done.", 3),
        stop(3),
        message_delta("end_turn", 90, output_tokens_details={"thinking_tokens": 70}),
        MESSAGE_STOP,
    ) == [
        ReasoningDelta("First."),
        ReasoningDelta("\n\n"),
        ReasoningDelta(REDACTED),
        ReasoningDelta("\n\n"),
        ReasoningDelta("Third."),
        TextDelta("Done."),
        usage(43, 90, thinking=70),
        Done("end_turn"),
    ]


def test_a_redacted_block_first_has_no_separator() -> None:
    assert run(start(), block(0, {"type": "redacted_thinking", "data": "x"}), stop(0), *answer("a"))[:2] == [
        ReasoningDelta(REDACTED),
        TextDelta("a"),
    ]


# -- usage -----------------------------------------------------------------------------------------


def test_cache_reads_and_writes_are_added_to_the_input() -> None:
    assert run(start(10, read=2048, write=512), *answer("a"), message_delta("end_turn", 5), MESSAGE_STOP)[
        -2:
    ] == [
        usage(10, 5, read=2048, write=512),
        Done("end_turn"),
    ]


def test_counts_in_message_delta_replace_those_of_message_start() -> None:
    """The final ``message_delta`` may carry cumulative input counts too; a count it leaves
    out (None) keeps the one from ``message_start``."""
    assert run(
        start(10, read=100),
        *answer("a"),
        message_delta(
            "end_turn", 7, input_tokens=12, cache_read_input_tokens=None, cache_creation_input_tokens=3
        ),
        MESSAGE_STOP,
    )[-2:] == [usage(12, 7, read=100, write=3), Done("end_turn")]


def test_usage_missing_from_message_start_is_a_notice() -> None:
    assert run(*answer("a"), message_delta("end_turn", 5), MESSAGE_STOP) == [
        TextDelta("a"),
        Notice(usage_note("input_tokens was missing")),
        Done("end_turn"),
    ]


def test_usage_that_cannot_be_believed_is_a_notice() -> None:
    assert run(start(), *answer("a"), message_delta("end_turn", -3), MESSAGE_STOP)[-2:] == [
        Notice(usage_note("output_tokens: -3 is negative")),
        Done("end_turn"),
    ]


# -- stop reasons ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "model_context_window_exceeded"],
)
def test_the_stop_reason_is_passed_on_as_the_provider_said_it(reason: str) -> None:
    """``max_tokens`` (cut off by the token limit) ends the answer like ``end_turn``: the
    lane shows the provider's word, and the text so far is kept."""
    assert run(start(), *answer("so far"), message_delta(reason, 9), MESSAGE_STOP) == [
        TextDelta("so far"),
        usage(43, 9),
        Done(reason),
    ]


def test_a_refusal_flags_the_answer_as_refused() -> None:
    """The stop reason says the answer is a refusal; an empty refusal piece marks it."""
    details = {"type": "refusal", "category": "cyber", "explanation": None}
    assert run(
        start(),
        *answer("I can't help with that."),
        message_delta("refusal", 8, stop_details=details),
        MESSAGE_STOP,
    ) == [
        TextDelta("I can't help with that."),
        TextDelta("", refusal=True),
        usage(43, 8),
        Done("refusal"),
    ]


def test_a_message_delta_without_a_stop_reason_keeps_the_earlier_one() -> None:
    assert run(start(), *answer("a"), message_delta("end_turn", 1), message_delta(None, 2), MESSAGE_STOP)[
        -1
    ] == Done("end_turn")


def test_tool_use_and_other_blocks_give_no_text() -> None:
    tool = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    citation = {
        "type": "char_location",
        "cited_text": "x",
        "document_index": 0,
        "document_title": None,
        "start_char_index": 0,
        "end_char_index": 1,
        "file_id": None,
    }
    assert run(
        start(),
        *answer("Let me check."),
        block(1, tool),
        delta(1, type="input_json_delta", partial_json='{"city": "SF"}'),
        stop(1),
        delta(0, type="citations_delta", citation=citation),
        {"type": "some_future_event", "anything": [1]},
        message_delta("tool_use", 30),
        MESSAGE_STOP,
    ) == [TextDelta("Let me check."), usage(43, 30), Done("tool_use")]


# -- errors and missing end markers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        ("overloaded_error", "Overloaded", ErrorKind.OVERLOADED),
        ("api_error", "Internal server error", ErrorKind.SERVER),
        ("rate_limit_error", "Too many requests", ErrorKind.RATE_LIMIT),
        ("timeout_error", "Gateway timeout", ErrorKind.TIMEOUT),
        ("invalid_request_error", "Prompt is too long", ErrorKind.BAD_REQUEST),
        ("billing_error", "Credit balance too low", ErrorKind.SERVER),  # a type chatlab has no kind for
    ],
)
def test_an_error_event_mid_stream_ends_the_lane_with_the_text_kept(
    kind: str, message: str, expected: ErrorKind
) -> None:
    assert run(
        start(), block(0, TEXT), text("so far"), error(kind, message), text("never"), MESSAGE_STOP
    ) == [
        TextDelta("so far"),
        StreamError(expected, message),
    ]


def test_an_error_event_that_is_not_json_says_what_it_said() -> None:
    assert run(start(), *answer("a"), ("error", "upstream connect error")) == [
        TextDelta("a"),
        StreamError(ErrorKind.SERVER, "upstream connect error"),
    ]
    assert run(start(), *answer("a"), ("error", "")) == [
        TextDelta("a"),
        StreamError(ErrorKind.SERVER, "Error code: 200"),
    ]


def test_an_empty_stream_is_an_error_never_an_empty_answer() -> None:
    assert run() == [NO_END]
    assert run(PING) == [NO_END]


def test_a_stream_that_ends_without_message_stop_keeps_its_text() -> None:
    """Even after the stop reason and the usage: only ``message_stop`` ends a message."""
    assert run(start(), *answer("partial"), message_delta("end_turn", 3)) == [TextDelta("partial"), NO_END]


def test_data_that_is_not_an_object_is_a_protocol_error() -> None:
    assert run(start(), *answer("a"), ("message_delta", "[1]")) == [
        TextDelta("a"),
        StreamError(
            ErrorKind.PROTOCOL, "malformed stream data: an event that is an array, not a JSON object"
        ),
    ]


def test_a_connection_lost_mid_stream_keeps_the_text() -> None:
    """The Anthropic SDK lets the HTTP layer's error through; the lane is interrupted."""
    r = reader()
    out: list[StreamEvent] = []
    for item in events(wire(start(), block(0, TEXT), text("so far"))):
        assert r.feed(item, out) is False
    r.fail(httpx2.RemoteProtocolError("peer closed connection"), out)
    assert out == [TextDelta("so far"), StreamError(ErrorKind.NETWORK, "connection lost")]


def test_a_read_timeout_mid_stream_keeps_the_text() -> None:
    r = reader()
    out: list[StreamEvent] = []
    for item in events(wire(start(), block(0, TEXT), text("so far"))):
        r.feed(item, out)
    r.fail(httpx2.ReadTimeout("timed out"), out)
    assert out == [TextDelta("so far"), StreamError(ErrorKind.TIMEOUT, "the provider did not answer in time")]


def test_invalid_utf8_in_a_skipped_event_is_still_an_error() -> None:
    """The SDK decodes every line, also of events it then skips (a ping)."""
    body = (
        wire(start(), *answer("ok"))
        + b"event: ping\ndata: \xff\n\n"
        + wire(message_delta("end_turn", 1), MESSAGE_STOP)
    )
    [kept, failed] = drive(reader(), events(body))
    assert kept == TextDelta("ok")
    assert isinstance(failed, StreamError) and failed.kind is ErrorKind.PROTOCOL
    assert failed.message.startswith("malformed stream data: UnicodeDecodeError: 'utf-8' codec can't decode")


# -- unicode ---------------------------------------------------------------------------------------


def test_multibyte_text_split_across_reads_at_every_byte_is_read_whole() -> None:
    body = wire(start(), block(0, TEXT), text("é😀 ü"), stop(0), message_delta("end_turn", 4), MESSAGE_STOP)
    whole = [TextDelta("é😀 ü"), usage(43, 4), Done("end_turn")]
    begin = body.index("é".encode())
    for cut in range(begin, begin + len("é😀 ü".encode()) + 1):
        assert drive(reader(), events(body, cut)) == whole, cut


def test_escaped_and_raw_non_ascii_read_the_same() -> None:
    items = (start(), *answer("naïve — 日本語 🎉"), message_delta("end_turn", 9), MESSAGE_STOP)
    assert run(*items, ascii=True) == run(*items)
    assert run(*items)[0] == TextDelta("naïve — 日本語 🎉")


def test_lone_surrogates_are_passed_on_as_sent() -> None:
    """JSON can carry ``\\ud83d`` alone; the reader passes it on, and the core cleans it
    (``safety.clean_text``) before anything is saved."""
    assert run(
        start(),
        block(0, THINKING),
        thinking("a\udc80"),
        stop(0),
        block(1, TEXT),
        text("x\ud83d", 1),
        text("\ude00y", 1),
        stop(1),
        message_delta("end_turn", 4, output_tokens_details={"thinking_tokens": 1}),
        MESSAGE_STOP,
        ascii=True,
    ) == [
        ReasoningDelta("a\udc80"),
        TextDelta("x\ud83d"),
        TextDelta("\ude00y"),
        usage(43, 4, thinking=1),
        Done("end_turn"),
    ]
