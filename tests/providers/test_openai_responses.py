"""The Responses reader, fed event by event: what each event the OpenAI SDK would yield from
``responses.create(stream=True)`` becomes in chatlab's events.

Every event is built with the installed SDK's own model for its ``type`` (the members of
``ResponseStreamEvent``), so its shape is one the SDK accepts today, then framed as the
server sends it (``event: <type>`` and ``data: <json>``) and split into events by
chatlab's SSE parser, which is what the reader is given. Shapes the SDK raises on instead
of yielding are written as raw data. No network, no event loop.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import httpx2
import openai
import pytest
from openai.types.responses import ResponseStreamEvent
from pydantic import BaseModel

from chatlab.core.data.events import (
    Done,
    ErrorKind,
    Notice,
    ReasoningDelta,
    Revision,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.providers.openai_responses import _Reader
from tests.providers.readers import drive, events

URL = "https://api.example.test/v1"
NO_END = StreamError(
    ErrorKind.NETWORK, "the stream ended before the provider's end marker (response.completed)"
)
MSG = "msg_1"
RS = "rs_1"

# The SDK's model for each event type.
_MODELS: dict[str, type[BaseModel]] = {
    get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in get_args(get_args(ResponseStreamEvent)[0])
}


def ev(kind: str, **fields: Any) -> BaseModel:
    """One event of type ``kind``, checked against the SDK's model for it."""
    return _MODELS[kind].model_validate({"type": kind, "sequence_number": 0, **fields})


def text_delta(delta: str, item: str = MSG, index: int = 0) -> BaseModel:
    return ev(
        "response.output_text.delta",
        item_id=item,
        output_index=1,
        content_index=index,
        delta=delta,
        logprobs=[],
        obfuscation="x7",
    )


def text_done(text: str, item: str = MSG, index: int = 0) -> BaseModel:
    return ev(
        "response.output_text.done", item_id=item, output_index=1, content_index=index, text=text, logprobs=[]
    )


def summary_delta(delta: str, index: int = 0, item: str = RS) -> BaseModel:
    return ev(
        "response.reasoning_summary_text.delta",
        item_id=item,
        output_index=0,
        summary_index=index,
        delta=delta,
    )


def summary_part(index: int, item: str = RS) -> BaseModel:
    return ev(
        "response.reasoning_summary_part.added",
        item_id=item,
        output_index=0,
        summary_index=index,
        part={"type": "summary_text", "text": ""},
    )


def response(status: str, usage: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A response object as the terminal events carry it."""
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1756752811,
        "status": status,
        "model": "o4-mini-2025-04-16",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "usage": usage,
        **fields,
    }


def usage(inp: int, out: int, cached: int = 0, reasoning: int = 0, written: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


def completed(u: dict[str, Any] | None = None) -> BaseModel:
    return ev("response.completed", response=response("completed", u))


CREATED = ev("response.created", response=response("in_progress"))
IN_PROGRESS = ev("response.in_progress", response=response("in_progress"))
MESSAGE_ADDED = ev(
    "response.output_item.added",
    output_index=1,
    item={"id": MSG, "type": "message", "role": "assistant", "status": "in_progress", "content": []},
)
PART_ADDED = ev(
    "response.content_part.added",
    item_id=MSG,
    output_index=1,
    content_index=0,
    part={"type": "output_text", "text": "", "annotations": []},
)


def wire(*items: BaseModel | dict[str, Any] | str, ascii: bool = False) -> bytes:
    """The response body: each item as one event, named by its type as the server names it.
    ``ascii`` escapes every non-ASCII character, the only way JSON carries a lone surrogate."""
    out = []
    for item in items:
        if isinstance(item, BaseModel):
            item = item.model_dump(mode="json", exclude_unset=True)
        if isinstance(item, str):
            out.append(f"data: {item}\n\n".encode())
            continue
        head = f"event: {item['type']}\n" if isinstance(item.get("type"), str) else ""
        out.append(f"{head}data: {json.dumps(item, ensure_ascii=ascii)}\n\n".encode())
    return b"".join(out)


def run(*items: BaseModel | dict[str, Any] | str, ascii: bool = False) -> list[StreamEvent]:
    return drive(_Reader(URL), events(wire(*items, ascii=ascii)))


# -- text ----------------------------------------------------------------------------------------


def test_each_event_gives_its_piece_and_completed_ends_the_stream() -> None:
    reader = _Reader(URL)
    steps = events(
        wire(
            CREATED,
            IN_PROGRESS,
            MESSAGE_ADDED,
            PART_ADDED,
            text_delta("The sum"),
            text_delta(" is 15."),
            text_done("The sum is 15."),
            completed(usage(17, 122, reasoning=64)),
            "[DONE]",
        )
    )
    fed = []
    for item in steps:
        out: list[StreamEvent] = []
        fed.append((reader.feed(item, out), out))
    assert fed == [
        (False, []),
        (False, []),
        (False, []),
        (False, []),
        (False, [TextDelta("The sum")]),
        (False, [TextDelta(" is 15.")]),
        (False, []),  # the final text agrees with the stream
        (
            True,
            [UsageReport(Usage(input_tokens=17, output_tokens=122, reasoning_tokens=64)), Done("completed")],
        ),
        (True, []),  # [DONE] would stop the reading too
    ]
    out = []
    reader.end(out)
    assert out == []  # the end marker came: nothing to add


def test_events_after_completed_are_not_read() -> None:
    assert run(text_delta("a"), completed(), text_delta("late")) == [TextDelta("a"), Done("completed")]


def test_a_completed_response_without_usage_is_done_without_a_report() -> None:
    assert run(text_delta("a"), completed(None)) == [TextDelta("a"), Done("completed")]


# -- reasoning -------------------------------------------------------------------------------------


def test_reasoning_summary_deltas_are_reasoning_and_parts_are_separated() -> None:
    """The first summary part starts the reasoning; each later one starts a paragraph."""
    assert run(
        ev("response.output_item.added", output_index=0, item={"id": RS, "type": "reasoning", "summary": []}),
        summary_part(0),
        summary_delta("**Calcul"),
        summary_delta("ating**"),
        ev(
            "response.reasoning_summary_text.done",
            item_id=RS,
            output_index=0,
            summary_index=0,
            text="**Calculating**",
        ),
        ev(
            "response.reasoning_summary_part.done",
            item_id=RS,
            output_index=0,
            summary_index=0,
            part={"type": "summary_text", "text": "**Calculating**"},
        ),
        summary_part(1),
        summary_delta("Then add.", index=1),
        text_delta("15"),
        completed(),
    ) == [
        ReasoningDelta("**Calcul"),
        ReasoningDelta("ating**"),
        ReasoningDelta("\n\n"),
        ReasoningDelta("Then add."),
        TextDelta("15"),
        Done("completed"),
    ]


def test_raw_reasoning_text_is_reasoning() -> None:
    """Open-weight models served through Responses stream their raw reasoning."""
    fields = {"item_id": RS, "output_index": 0, "content_index": 0}
    assert run(
        ev("response.reasoning_text.delta", delta="think", **fields),
        ev("response.reasoning_text.done", text="think", **fields),
        text_delta("answer"),
        completed(),
    ) == [ReasoningDelta("think"), TextDelta("answer"), Done("completed")]


# -- the final word of each part -------------------------------------------------------------------


def test_a_done_with_more_text_than_streamed_adds_the_missing_rest() -> None:
    assert run(text_delta("Hello"), text_done("Hello, world"), completed()) == [
        TextDelta("Hello"),
        TextDelta(", world"),
        Done("completed"),
    ]


def test_a_done_for_a_part_that_never_streamed_adds_its_text() -> None:
    assert run(text_done("all at once"), completed()) == [TextDelta("all at once"), Done("completed")]


def test_a_done_that_disagrees_with_the_stream_revises_the_answer_with_a_note() -> None:
    assert run(text_delta("Helo"), text_done("Hello"), completed()) == [
        TextDelta("Helo"),
        Revision("Hello"),
        Notice(
            "The provider's final answer differs from what it streamed "
            "(4 characters streamed, 5 final); chatlab shows the final text."
        ),
        Done("completed"),
    ]


def test_a_revised_summary_part_replaces_only_that_part() -> None:
    assert run(
        summary_delta("one"),
        summary_part(1),
        summary_delta("twp", index=1),
        ev("response.reasoning_summary_text.done", item_id=RS, output_index=0, summary_index=1, text="two"),
        completed(),
    ) == [
        ReasoningDelta("one"),
        ReasoningDelta("\n\n"),
        ReasoningDelta("twp"),
        Revision("one\n\ntwo", reasoning=True),
        Notice(
            "The provider's final reasoning differs from what it streamed "
            "(3 characters streamed, 3 final); chatlab shows the final text."
        ),
        Done("completed"),
    ]


def test_an_empty_done_changes_nothing() -> None:
    assert run(text_delta("kept"), text_done(""), completed()) == [TextDelta("kept"), Done("completed")]


def test_two_content_parts_are_reconciled_separately() -> None:
    assert run(
        text_delta("A"),
        text_delta("B", index=1),
        text_done("A"),
        text_done("BC", index=1),
        completed(),
    ) == [TextDelta("A"), TextDelta("B"), TextDelta("C"), Done("completed")]


# -- usage -----------------------------------------------------------------------------------------


def test_usage_with_cached_and_reasoning_tokens_comes_from_the_final_response() -> None:
    """Cache writes are priced for Anthropic only (:mod:`chatlab.core.costs.pricing`), so
    OpenAI's ``cache_write_tokens`` is not read: they stay in the input at the input rate."""
    assert run(text_delta("a"), completed(usage(2000, 300, cached=1536, reasoning=256, written=128))) == [
        TextDelta("a"),
        UsageReport(
            Usage(input_tokens=2000, cached_input_tokens=1536, output_tokens=300, reasoning_tokens=256)
        ),
        Done("completed"),
    ]


def test_usage_on_the_created_event_is_not_read() -> None:
    """Only the terminal event's response is billed; an early ``usage`` is ignored."""
    early = ev("response.created", response=response("in_progress", usage(1, 1)))
    assert run(early, text_delta("a"), completed(usage(5, 6))) == [
        TextDelta("a"),
        UsageReport(Usage(input_tokens=5, output_tokens=6)),
        Done("completed"),
    ]


# -- how a response ends ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["max_output_tokens", "content_filter", "max_messages", "steered"])
def test_an_incomplete_response_is_an_error_with_its_reason_and_usage(reason: str) -> None:
    """Cut off by the token limit or the content filter: usage is still billed, the text
    streamed so far is kept, and the lane says why it stopped."""
    incomplete = ev(
        "response.incomplete",
        response=response("incomplete", usage(10, 64), incomplete_details={"reason": reason}),
    )
    assert run(text_delta("so far"), incomplete) == [
        TextDelta("so far"),
        UsageReport(Usage(input_tokens=10, output_tokens=64)),
        StreamError(ErrorKind.BAD_REQUEST, f"response incomplete: {reason}"),
    ]


def test_an_incomplete_response_without_a_reason_says_unknown() -> None:
    incomplete = ev("response.incomplete", response=response("incomplete", incomplete_details={}))
    assert run(incomplete) == [StreamError(ErrorKind.BAD_REQUEST, "response incomplete: unknown")]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("server_error", ErrorKind.SERVER),
        ("rate_limit_exceeded", ErrorKind.RATE_LIMIT),
        ("invalid_prompt", ErrorKind.BAD_REQUEST),
        ("vector_store_timeout", ErrorKind.TIMEOUT),
        ("bio_policy", ErrorKind.SERVER),  # a code chatlab has no kind for
    ],
)
def test_a_failed_response_is_an_error_of_its_kind(code: str, kind: ErrorKind) -> None:
    failed = ev(
        "response.failed",
        response=response("failed", usage(7, 3), error={"code": code, "message": "It went wrong."}),
    )
    assert run(text_delta("so far"), failed) == [
        TextDelta("so far"),
        UsageReport(Usage(input_tokens=7, output_tokens=3)),
        StreamError(kind, "It went wrong."),
    ]


def test_a_failed_response_without_an_error_object_says_it_failed() -> None:
    assert run(ev("response.failed", response=response("failed"))) == [
        StreamError(ErrorKind.SERVER, "response failed")
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"code": "rate_limit_exceeded", "message": "Slow down.", "param": None},
            StreamError(ErrorKind.RATE_LIMIT, "Slow down."),
        ),
        ({"code": None, "message": "Something broke."}, StreamError(ErrorKind.SERVER, "Something broke.")),
        ({"code": "server_error", "message": ""}, StreamError(ErrorKind.SERVER, "server_error")),
        ({"message": ""}, StreamError(ErrorKind.SERVER, "the provider reported an error")),
    ],
)
def test_an_error_event_ends_the_lane_with_the_text_kept(
    fields: dict[str, Any], expected: StreamError
) -> None:
    assert run(text_delta("so far"), ev("error", **fields), completed()) == [TextDelta("so far"), expected]


def test_data_carrying_an_error_object_ends_the_lane_as_the_sdk_would() -> None:
    """The SDK raises ``APIError`` for any data with an ``error`` field, before reading its type."""
    body = {"type": "error", "error": {"type": "server_error", "code": "server_error", "message": "Oops."}}
    assert run(text_delta("so far"), body) == [TextDelta("so far"), StreamError(ErrorKind.SERVER, "Oops.")]


def test_a_refusal_is_answer_text_flagged_as_a_refusal() -> None:
    fields = {"item_id": MSG, "output_index": 1, "content_index": 0}
    assert run(
        ev("response.refusal.delta", delta="I can't", **fields),
        ev("response.refusal.delta", delta=" help.", **fields),
        ev("response.refusal.done", refusal="I can't help.", **fields),
        completed(),
    ) == [TextDelta("I can't", refusal=True), TextDelta(" help.", refusal=True), Done("completed")]


def test_tool_and_other_events_are_ignored() -> None:
    call = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f", "arguments": ""}
    fc = {"item_id": "fc_1", "output_index": 2}
    assert run(
        ev("response.output_item.added", output_index=2, item=call),
        ev("response.function_call_arguments.delta", delta='{"a"', **fc),
        ev("response.function_call_arguments.done", arguments='{"a": 1}', name="f", **fc),
        ev(
            "response.output_text.annotation.added",
            item_id=MSG,
            output_index=1,
            content_index=0,
            annotation_index=0,
            annotation={
                "type": "url_citation",
                "url": "https://x.test",
                "title": "x",
                "start_index": 0,
                "end_index": 1,
            },
        ),
        {"type": "response.some_future_event", "sequence_number": 9, "anything": [1, 2]},
        {"no_type": True},
        text_delta("text"),
        completed(),
    ) == [TextDelta("text"), Done("completed")]


def test_an_empty_stream_is_an_error_never_an_empty_answer() -> None:
    assert run() == [NO_END]


def test_a_stream_that_ends_without_completed_keeps_its_text() -> None:
    assert run(CREATED, text_delta("partial"), text_done("partial")) == [TextDelta("partial"), NO_END]


def test_done_without_completed_is_an_error() -> None:
    assert run(text_delta("partial"), "[DONE]", completed()) == [TextDelta("partial"), NO_END]


def test_data_that_is_not_an_object_is_a_protocol_error() -> None:
    assert run(text_delta("a"), '"just a string"') == [
        TextDelta("a"),
        StreamError(ErrorKind.PROTOCOL, "malformed stream data: an event that is str, not a JSON object"),
    ]


def test_a_timeout_mid_stream_keeps_the_text() -> None:
    reader = _Reader(URL)
    out: list[StreamEvent] = []
    [first] = events(wire(text_delta("so far")))
    assert reader.feed(first, out) is False
    reader.fail(openai.APITimeoutError(request=httpx2.Request("POST", URL)), out)
    assert out == [TextDelta("so far"), StreamError(ErrorKind.TIMEOUT, "the provider did not answer in time")]


# -- unicode ---------------------------------------------------------------------------------------


def test_multibyte_text_split_across_reads_at_every_byte_is_read_whole() -> None:
    body = wire(text_delta("é😀 ü"), completed())
    start = body.index("é".encode())
    for cut in range(start, start + len("é😀 ü".encode()) + 1):
        assert drive(_Reader(URL), events(body, cut)) == [TextDelta("é😀 ü"), Done("completed")], cut


def test_escaped_and_raw_non_ascii_read_the_same() -> None:
    items = (text_delta("naïve — 日本語 🎉"), completed())
    assert run(*items, ascii=True) == run(*items) == [TextDelta("naïve — 日本語 🎉"), Done("completed")]


def test_a_lone_surrogate_is_passed_on_as_sent() -> None:
    """JSON can carry ``\\ud83d`` alone; the reader passes it on (the core cleans it before
    anything is saved), and a done event with the same text changes nothing."""
    assert run(text_delta("x\ud83d"), text_done("x\ud83d"), completed(), ascii=True) == [
        TextDelta("x\ud83d"),
        Done("completed"),
    ]


def test_a_surrogate_pair_split_across_deltas_is_not_a_revision() -> None:
    """A server that slices text in UTF-16 units may send each half of an emoji in its own
    delta; the done event's ``"x\\ud83d\\ude00y"`` decodes to ``"x😀y"``. Joined, the
    halves are that same text (``safety.clean_text`` joins them), so there is nothing to revise."""
    assert run(text_delta("x\ud83d"), text_delta("\ude00y"), text_done("x😀y"), completed(), ascii=True) == [
        TextDelta("x\ud83d"),
        TextDelta("\ude00y"),
        Done("completed"),
    ]


def test_characters_are_counted_in_code_points_when_reconciling() -> None:
    """A delta lost after multi-byte text is added from the right place."""
    assert run(text_delta("日本"), text_done("日本語"), completed()) == [
        TextDelta("日本"),
        TextDelta("語"),
        Done("completed"),
    ]


def test_xai_responses_usage_counts_reasoning_outside_the_output_and_its_cost_in_ticks() -> None:
    """xAI's Responses usage, as its docs show it: reasoning outside ``output_tokens``
    (input + output + reasoning = total), and its own cost in ticks of 1e-10 USD."""
    from chatlab.core.data.events import UsageReport
    from chatlab.providers.openai_responses import usage_of

    xai = {
        "input_tokens": 199,
        "input_tokens_details": {"cached_tokens": 163},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 290},
        "total_tokens": 490,
        "cost_in_usd_ticks": 1_480_500,
    }
    [report] = usage_of(xai)
    assert isinstance(report, UsageReport)
    assert (report.usage.output_tokens, report.usage.reasoning_tokens) == (291, 290)
    assert report.cost_usd == pytest.approx(1.4805e-4)
    openai_style = {**xai, "total_tokens": 490, "output_tokens": 291}  # reasoning inside the output
    del openai_style["cost_in_usd_ticks"]
    [report] = usage_of(openai_style)
    assert isinstance(report, UsageReport)
    assert report.usage.output_tokens == 291 and report.cost_usd is None
