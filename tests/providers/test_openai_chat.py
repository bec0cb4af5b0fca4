"""The Chat Completions reader, fed chunk by chunk: what each chunk the OpenAI SDK would yield
becomes in chatlab's events.

Every chunk is built with the installed SDK's own model (``ChatCompletionChunk``), so its
shape is one the SDK accepts today, then framed as the server sends it (``data: <json>``)
and split into events by chatlab's SSE parser, which is what the reader is given. Shapes
the SDK raises on instead of yielding (an ``error`` body, data that is not an object) and
the ``[DONE]`` marker are written as raw data. No network, no event loop: the whole file
runs in well under a second.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionChunk
from pydantic import BaseModel

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
from chatlab.providers.openai_chat import _Reader
from tests.providers.readers import drive, events

URL = "https://api.example.test/v1"
NO_END = StreamError(
    ErrorKind.NETWORK, "the stream ended before the provider's end marker (no finish_reason)"
)


def choice(delta: dict[str, Any] | None = None, finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {"index": index, "delta": delta or {}, "logprobs": None, "finish_reason": finish}


def chunk(*choices: dict[str, Any], **fields: Any) -> ChatCompletionChunk:
    """One chunk, checked against the SDK's model (vendor fields ride along as extras)."""
    return ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1727346168,
            "model": "gpt-4o-2024-08-06",
            "choices": list(choices),
            **fields,
        }
    )


def usage(prompt: int, completion: int, **fields: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        **fields,
    }


DONE = "[DONE]"


def wire(*items: BaseModel | dict[str, Any] | str, ascii: bool = False) -> bytes:
    """The response body: each item as one ``data:`` event. An SDK model is sent as the
    fields it was given; ``ascii`` escapes every non-ASCII character (``\\uXXXX``), the
    only way JSON can carry a lone surrogate."""
    out = []
    for item in items:
        if isinstance(item, BaseModel):
            item = item.model_dump(mode="json", exclude_unset=True)
        data = item if isinstance(item, str) else json.dumps(item, ensure_ascii=ascii)
        out.append(f"data: {data}\n\n".encode())
    return b"".join(out)


def run(*items: BaseModel | dict[str, Any] | str, ascii: bool = False) -> list[StreamEvent]:
    return drive(_Reader(URL), events(wire(*items, ascii=ascii)))


# -- text ----------------------------------------------------------------------------------------


def test_each_chunk_gives_its_piece_and_the_finish_reason_is_the_end_marker() -> None:
    """The SDK's first chunk (role, empty content, null refusal) gives nothing; each content
    delta is one piece; a finish reason alone gives nothing until the body ends."""
    reader = _Reader(URL)
    steps = events(
        wire(
            chunk(choice({"role": "assistant", "content": "", "refusal": None})),
            chunk(choice({"content": "I'm"})),
            chunk(choice({"content": " here."})),
            chunk(choice({}, "stop")),
            DONE,
        )
    )
    fed = []
    for item in steps:
        out: list[StreamEvent] = []
        fed.append((reader.feed(item, out), out))
    assert fed == [
        (False, []),
        (False, [TextDelta("I'm")]),
        (False, [TextDelta(" here.")]),
        (False, []),
        (True, []),  # [DONE]: stop reading
    ]
    out = []
    reader.end(out)
    assert out == [Done("stop")]


def test_a_finish_reason_without_done_still_ends_well() -> None:
    """``finish_reason`` is this format's end marker; ``[DONE]`` only stops the reading."""
    assert run(chunk(choice({"content": "hi"})), chunk(choice({}, "stop"))) == [TextDelta("hi"), Done("stop")]


def test_text_after_the_finish_reason_is_still_read_until_done() -> None:
    assert run(chunk(choice({"content": "a"}, "stop")), chunk(choice({"content": "b"})), DONE) == [
        TextDelta("a"),
        TextDelta("b"),
        Done("stop"),
    ]


def test_events_after_done_are_not_read() -> None:
    assert run(chunk(choice({"content": "a"}, "stop")), DONE, chunk(choice({"content": "late"}))) == [
        TextDelta("a"),
        Done("stop"),
    ]


def test_only_the_first_choice_is_read() -> None:
    """With ``n > 1`` every choice streams in the same chunks; the lane shows choice 0."""
    assert run(
        chunk(choice({"content": "zero"}), choice({"content": "one"}, index=1)),
        chunk(choice({"content": "uno"}, "stop", index=1)),
        chunk(choice({}, "stop")),
        DONE,
    ) == [TextDelta("zero"), Done("stop")]


# -- inline <think> --------------------------------------------------------------------------------


def test_an_inline_think_block_cut_across_chunks_is_reasoning() -> None:
    """R1-style servers put reasoning in ``content``; tags cut anywhere are still found, and
    the blank lines between the block and the answer are dropped."""
    pieces = ["<thi", "nk>ab", "c</thi", "nk>\n\nhi", " there"]
    assert run(*(chunk(choice({"content": p})) for p in pieces), chunk(choice({}, "stop"))) == [
        ReasoningDelta("ab"),
        ReasoningDelta("c"),
        TextDelta("hi"),
        TextDelta(" there"),
        Done("stop"),
    ]


def test_a_held_back_tag_prefix_is_text_when_the_stream_ends() -> None:
    assert run(chunk(choice({"content": "<th"}, "stop"))) == [TextDelta("<th"), Done("stop")]
    assert run(chunk(choice({"content": "<think>unfinished</th"}, "length"))) == [
        ReasoningDelta("unfinished"),
        ReasoningDelta("</th"),
        Done("length"),
    ]


def test_think_tags_after_answer_text_are_answer_text() -> None:
    assert run(chunk(choice({"content": "Use <think>"})), chunk(choice({}, "stop"))) == [
        TextDelta("Use <think>"),
        Done("stop"),
    ]


# -- reasoning fields ------------------------------------------------------------------------------


def test_deepseek_reasoning_content_is_reasoning() -> None:
    """DeepSeek's shape: ``reasoning_content`` beside a null ``content``, then the answer."""
    assert run(
        chunk(choice({"role": "assistant", "content": None, "reasoning_content": ""}), usage=None),
        chunk(choice({"content": None, "reasoning_content": "Hmm"}), usage=None),
        chunk(choice({"content": "Hello", "reasoning_content": None}), usage=None),
        chunk(choice({"content": "", "reasoning_content": None}, "stop"), usage=usage(6, 212)),
        DONE,
    ) == [
        ReasoningDelta("Hmm"),
        TextDelta("Hello"),
        UsageReport(Usage(input_tokens=6, output_tokens=212)),
        Done("stop"),
    ]


def test_reasoning_and_its_details_are_read_once() -> None:
    """OpenRouter sends the same text in ``reasoning`` and ``reasoning_details``: once only."""
    detail = {"type": "reasoning.text", "text": "This", "format": "anthropic-claude-v1", "index": 0}
    assert run(
        chunk(choice({"role": "assistant", "content": "", "reasoning": None, "reasoning_details": []})),
        chunk(choice({"content": "", "reasoning": "This", "reasoning_details": [detail]})),
        chunk(choice({"content": "4"}, "stop")),
    ) == [ReasoningDelta("This"), TextDelta("4"), Done("stop")]


def test_reasoning_details_alone_are_read_in_order() -> None:
    details = [
        {"type": "reasoning.summary", "summary": "Plan. "},
        {"type": "reasoning.encrypted", "data": "gAAAA"},  # no text to show
        {"type": "reasoning.text", "text": "Step."},
    ]
    assert run(chunk(choice({"reasoning_details": details})), chunk(choice({}, "stop"))) == [
        ReasoningDelta("Plan. Step."),
        Done("stop"),
    ]
    encrypted = [{"type": "reasoning.encrypted", "data": "gAAAA"}]
    assert run(chunk(choice({"content": "", "reasoning_details": encrypted}, "stop"))) == [Done("stop")]


def test_reasoning_content_wins_over_reasoning() -> None:
    assert run(chunk(choice({"reasoning_content": "a", "reasoning": "b"}, "stop"))) == [
        ReasoningDelta("a"),
        Done("stop"),
    ]


def test_reasoning_comes_before_the_text_of_the_same_chunk() -> None:
    assert run(chunk(choice({"reasoning": "r", "content": "t"}, "stop"))) == [
        ReasoningDelta("r"),
        TextDelta("t"),
        Done("stop"),
    ]


# -- usage -----------------------------------------------------------------------------------------


def test_usage_in_a_separate_last_chunk_with_no_choices() -> None:
    """OpenAI with ``include_usage``: the finish chunk, then a chunk with ``choices: []``."""
    details = {"cached_tokens": 5, "audio_tokens": 0}
    assert run(
        chunk(choice({"content": "ok"})),
        chunk(choice({}, "stop")),
        chunk(
            usage=usage(
                14, 30, prompt_tokens_details=details, completion_tokens_details={"reasoning_tokens": 12}
            )
        ),
        DONE,
    ) == [
        TextDelta("ok"),
        UsageReport(Usage(input_tokens=14, cached_input_tokens=5, output_tokens=30, reasoning_tokens=12)),
        Done("stop"),
    ]


def test_usage_null_on_every_chunk_is_no_report() -> None:
    assert run(chunk(choice({"content": "a"}), usage=None), chunk(choice({}, "stop"), usage=None)) == [
        TextDelta("a"),
        Done("stop"),
    ]


def test_usage_on_every_chunk_is_reported_each_time() -> None:
    """Servers asked for running totals send usage with every chunk; each is passed on and
    the core keeps the last."""
    assert run(
        chunk(choice({"content": "a"}), usage=usage(5, 1)),
        chunk(choice({"content": "b"}, "stop"), usage=usage(5, 2)),
    ) == [
        UsageReport(Usage(input_tokens=5, output_tokens=1)),
        TextDelta("a"),
        UsageReport(Usage(input_tokens=5, output_tokens=2)),
        TextDelta("b"),
        Done("stop"),
    ]


def test_usage_is_reported_before_the_text_of_its_chunk() -> None:
    assert run(chunk(choice({"content": "last"}, "stop"), usage=usage(1, 2))) == [
        UsageReport(Usage(input_tokens=1, output_tokens=2)),
        TextDelta("last"),
        Done("stop"),
    ]


def test_deepseek_cache_hits_count_as_cached_when_there_are_no_prompt_details() -> None:
    only_deepseek = usage(100, 9, prompt_cache_hit_tokens=64, prompt_cache_miss_tokens=36)
    both = usage(100, 9, prompt_tokens_details={"cached_tokens": 60}, prompt_cache_hit_tokens=64)
    assert run(chunk(choice({}, "stop"), usage=only_deepseek)) == [
        UsageReport(Usage(input_tokens=100, cached_input_tokens=64, output_tokens=9)),
        Done("stop"),
    ]
    assert run(chunk(choice({}, "stop"), usage=both)) == [
        UsageReport(Usage(input_tokens=100, cached_input_tokens=60, output_tokens=9)),
        Done("stop"),
    ]


def test_openrouter_cost_is_the_reported_cost() -> None:
    """OpenRouter's usage chunk keeps a choice with an empty delta, after the finish."""
    raw = usage(
        43,
        36,
        cost=0.000669,
        is_byok=False,
        prompt_tokens_details={"cached_tokens": 0, "audio_tokens": 0, "video_tokens": 0},
        completion_tokens_details={"reasoning_tokens": 13, "image_tokens": 0},
    )
    assert run(
        chunk(choice({"content": "2 + 2 = 4"}, "stop")),
        chunk(choice({"role": "assistant", "content": ""}), usage=raw),
        DONE,
    ) == [
        TextDelta("2 + 2 = 4"),
        UsageReport(Usage(input_tokens=43, output_tokens=36, reasoning_tokens=13), cost_usd=0.000669),
        Done("stop"),
    ]


def test_usage_that_cannot_be_believed_is_a_notice() -> None:
    """The SDK's model takes any int; a negative count is dropped with a note, the answer kept."""
    assert run(chunk(choice({"content": "a"}, "stop"), usage=usage(-1, 2))) == [
        Notice(usage_note("input_tokens: -1 is negative")),
        TextDelta("a"),
        Done("stop"),
    ]


# -- finish reasons --------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["stop", "length", "content_filter", "tool_calls", "function_call"])
def test_the_finish_reason_is_passed_on_as_the_provider_said_it(reason: str) -> None:
    """``length`` (cut off by the token limit) and ``content_filter`` end the answer like
    ``stop``: the lane shows the provider's word; what came before is kept."""
    assert run(chunk(choice({"content": "so far"})), chunk(choice({}, reason)), DONE) == [
        TextDelta("so far"),
        Done(reason),
    ]


def test_a_refusal_is_answer_text_flagged_as_a_refusal() -> None:
    assert run(
        chunk(choice({"role": "assistant", "content": None, "refusal": ""})),
        chunk(choice({"refusal": "I can't help"})),
        chunk(choice({"refusal": " with that."})),
        chunk(choice({}, "stop")),
        DONE,
    ) == [TextDelta("I can't help", refusal=True), TextDelta(" with that.", refusal=True), Done("stop")]


def test_tool_call_deltas_are_ignored() -> None:
    """chatlab sends no tools; a server that calls one anyway gives no text, and its
    finish reason says why."""
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    more = {"index": 0, "function": {"arguments": '{"city": "SF"}'}}
    assert run(
        chunk(choice({"role": "assistant", "content": None, "tool_calls": [call]})),
        chunk(choice({"tool_calls": [more]})),
        chunk(choice({}, "tool_calls")),
        DONE,
    ) == [Done("tool_calls")]


def test_a_moderation_chunk_is_ignored() -> None:
    results = {"type": "moderation_results", "model": "omni-moderation-latest", "results": []}
    assert run(
        chunk(choice({"content": "hi"}, "stop")),
        chunk(moderation={"input": results, "output": results}),
        DONE,
    ) == [TextDelta("hi"), Done("stop")]


# -- errors and missing end markers ----------------------------------------------------------------


def test_an_empty_stream_is_an_error_never_an_empty_answer() -> None:
    assert run() == [NO_END]


def test_done_without_a_finish_reason_is_an_error() -> None:
    assert run(DONE) == [NO_END]
    assert run(chunk(choice({"content": "partial"})), DONE) == [TextDelta("partial"), NO_END]


def test_a_stream_that_stops_without_a_finish_reason_keeps_its_text() -> None:
    assert run(chunk(choice({"content": "partial"})), chunk(usage=usage(3, 1))) == [
        TextDelta("partial"),
        UsageReport(Usage(input_tokens=3, output_tokens=1)),
        NO_END,
    ]


def test_an_event_with_only_an_id_is_skipped() -> None:
    reader = _Reader(URL)
    [bare] = events(b"id: 7\n\n")
    out: list[StreamEvent] = []
    assert reader.feed(bare, out) is False and out == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {"message": "Rate limit reached for gpt-4o", "type": "requests", "code": "rate_limit_exceeded"},
            StreamError(ErrorKind.RATE_LIMIT, "Rate limit reached for gpt-4o"),
        ),
        (
            {"message": "The server had an error", "type": "server_error"},
            StreamError(ErrorKind.SERVER, "The server had an error"),
        ),
        ({"code": 503}, StreamError(ErrorKind.OVERLOADED, "An error occurred during streaming")),
    ],
)
def test_an_error_mid_stream_ends_the_lane_with_the_text_kept(
    error: dict[str, Any], expected: StreamError
) -> None:
    """The SDK raises ``APIError`` for data carrying ``error``; the reader raises the same
    classification, so the lane ends with it and keeps what came before."""
    assert run(chunk(choice({"content": "so far"})), {"error": error}, chunk(choice({}, "stop"))) == [
        TextDelta("so far"),
        expected,
    ]


def test_data_that_is_not_an_object_is_a_protocol_error() -> None:
    assert run(chunk(choice({"content": "a"})), "[1, 2]") == [
        TextDelta("a"),
        StreamError(
            ErrorKind.PROTOCOL, "malformed stream data: an event that is an array, not a JSON object"
        ),
    ]


def test_a_connection_lost_mid_stream_flushes_held_text_then_fails() -> None:
    reader = _Reader(URL)
    out: list[StreamEvent] = []
    [first] = events(wire(chunk(choice({"content": "<thi"}))))
    assert reader.feed(first, out) is False and out == []  # held: it may open a <think> block
    lost = openai.APIConnectionError(request=httpx2.Request("POST", URL))
    reader.fail(lost, out)
    assert out == [TextDelta("<thi"), StreamError(ErrorKind.NETWORK, "connection lost")]


def test_invalid_utf8_in_a_chunk_keeps_the_text_before_it() -> None:
    body = wire(chunk(choice({"content": "ok"}))) + b'data: {"choices": "\xff"}\n\n' + wire(DONE)
    [text, error] = drive(_Reader(URL), events(body))
    assert text == TextDelta("ok")
    assert isinstance(error, StreamError) and error.kind is ErrorKind.PROTOCOL
    assert error.message.startswith("malformed stream data: UnicodeDecodeError: 'utf-8' codec can't decode")


# -- unicode ---------------------------------------------------------------------------------------


def test_multibyte_text_split_across_reads_at_every_byte_is_read_whole() -> None:
    body = wire(chunk(choice({"content": "é😀 ü"})), chunk(choice({}, "stop")))
    whole = [TextDelta("é😀 ü"), Done("stop")]
    start = body.index("é".encode())
    for cut in range(start, start + len("é😀 ü".encode()) + 1):
        assert drive(_Reader(URL), events(body, cut)) == whole, cut


def test_escaped_and_raw_non_ascii_read_the_same() -> None:
    items = (chunk(choice({"content": "naïve — 日本語 🎉"})), chunk(choice({}, "stop")))
    assert run(*items, ascii=True) == run(*items) == [TextDelta("naïve — 日本語 🎉"), Done("stop")]


def test_a_lone_surrogate_is_passed_on_as_sent() -> None:
    """JSON can carry ``\\ud83d`` alone; the reader passes it on, and the core cleans it
    (``safety.clean_text``) before anything is saved."""
    assert run(
        chunk(choice({"content": "x\ud83d"})), chunk(choice({"content": "\ude00y"}, "stop")), ascii=True
    ) == [
        TextDelta("x\ud83d"),
        TextDelta("\ude00y"),
        Done("stop"),
    ]
