"""The rules behind the Chat Completions dialects, direct: the usage arithmetic (OpenAI's
reasoning inside ``completion_tokens``, xAI's outside), the costs a provider reports (in
USD, in ticks, in a header) and what is dropped, content-part lists in streamed deltas
and whole messages, the reasoning fields in every combination, never counted twice, and
hostile shapes. Replays of recorded streams are in test_chat_dialects.py."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from chatlab.core.data.events import (
    Done,
    ErrorKind,
    Notice,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from chatlab.providers.common import header_cost, output_tokens, ticks_usd, with_cost
from chatlab.providers.openai_chat import _Reader, content_of, usage_of, whole_message
from tests.providers.readers import drive, events


def sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


def read(*chunks: dict[str, Any], model: str = "m", prompted: bool = False) -> list[StreamEvent]:
    body = sse(*chunks)
    return drive(_Reader("https://x.test/v1", model, prompted), events(body, 7, 40, 41))


def reasoning(out: list[StreamEvent]) -> str:
    return "".join(e.text for e in out if isinstance(e, ReasoningDelta))


def text(out: list[StreamEvent]) -> str:
    return "".join(e.text for e in out if isinstance(e, TextDelta))


def report(out: list[StreamEvent]) -> UsageReport:
    reports = [e for e in out if isinstance(e, UsageReport)]
    assert reports, out
    return reports[-1]


def notices(out: list[StreamEvent]) -> list[str]:
    return [e.text for e in out if isinstance(e, Notice)]


# -- the usage arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "completion", "reasoning_tokens", "total", "output"),
    [
        (15, 78, 64, 93, 78),  # OpenAI: total = prompt + completion, reasoning inside
        (12, 1, 290, 303, 291),  # xAI: total = prompt + completion + reasoning
        (12, 1, 290, 400, 1),  # inconsistent totals: no change
        (12, 1, 290, None, 1),  # no total: no change
        (12, 1, 0, 13, 1),  # no reasoning: nothing to add
        (0, 0, 5, 5, 5),  # all reasoning, outside
        (12, "1", 290, 303, "1"),  # junk passes on as it came, to be refused later
        (12, 1, 290, "303", 1),
        (12, 1, True, 14, 1),  # a bool is no count
        (12, 1, -5, 8, 1),  # a negative is no count
        (12, 1.0, 290, 303, 291),  # a whole float is a count (as usage_events reads it)
        (12.5, 1, 290, 303.5, 1),  # a fraction is not
    ],
)
def test_output_tokens_by_the_arithmetic(
    prompt: Any, completion: Any, reasoning_tokens: Any, total: Any, output: Any
) -> None:
    assert output_tokens(prompt, completion, reasoning_tokens, total) == output


def test_usage_openai_style_stays() -> None:
    raw = {"prompt_tokens": 15, "completion_tokens": 78, "total_tokens": 93}
    raw["completion_tokens_details"] = {"reasoning_tokens": 64}  # type: ignore[assignment]
    (ev,) = usage_of(raw)
    assert isinstance(ev, UsageReport)
    assert (ev.usage.output_tokens, ev.usage.reasoning_tokens, ev.cost_usd) == (78, 64, None)


def test_usage_xai_style_adds_reasoning_and_ticks() -> None:
    raw = {
        "prompt_tokens": 12,
        "completion_tokens": 1,
        "total_tokens": 303,
        "prompt_tokens_details": {"cached_tokens": 11},
        "completion_tokens_details": {"reasoning_tokens": 290},
        "cost_in_usd_ticks": 1466250,
    }
    (ev,) = usage_of(raw)
    assert isinstance(ev, UsageReport)
    u = ev.usage
    assert (u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens) == (12, 11, 291, 290)
    assert ev.cost_usd == pytest.approx(1.46625e-4)


def test_usage_total_past_the_limit_changes_nothing() -> None:
    """A believable total bounds the sum, so an output past the limit can't be made."""
    assert output_tokens(0, 2**52, 2**52 + 1, 2**53 + 1) == 2**52


# -- costs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ticks", "usd"),
    [(1466250, 1.46625e-4), (0, 0.0), (37756000, 0.0037756), (1466250.0, 1.46625e-4)],
)
def test_ticks_to_usd(ticks: Any, usd: float) -> None:
    assert ticks_usd(ticks) == pytest.approx(usd)


@pytest.mark.parametrize(
    "ticks", ["1466250", None, True, -1, math.nan, math.inf, 10**400, 10**25, [1], {"a": 1}]
)
def test_unbelievable_ticks_are_a_reason(ticks: Any) -> None:
    assert isinstance(ticks_usd(ticks), str)


def cost_of(**fields: Any) -> tuple[float | None, list[str]]:
    out = usage_of({"prompt_tokens": 1, "completion_tokens": 2, **fields})
    return report(out).cost_usd, notices(out)


def test_ticks_as_a_string_are_dropped_with_a_note() -> None:
    cost, notes = cost_of(cost_in_usd_ticks="1466250")
    assert cost is None and len(notes) == 1 and "cost_in_usd_ticks" in notes[0]


def test_huge_ticks_are_dropped_not_overflowed() -> None:
    cost, notes = cost_of(cost_in_usd_ticks=10**400)
    assert cost is None and len(notes) == 1 and "out of range" in notes[0]


def test_cost_wins_over_ticks_and_a_bad_cost_falls_back_to_ticks() -> None:
    assert cost_of(cost=0.5, cost_in_usd_ticks=10**9) == (0.5, [])
    cost, notes = cost_of(cost="0.5", cost_in_usd_ticks=10**9)
    assert cost == pytest.approx(0.1) and len(notes) == 1 and notes[0].count("cost:") == 1


@pytest.mark.parametrize(
    ("value", "usd"), [("0.000415", 0.000415), (" 3.12e-05 ", 3.12e-05), ("0", 0.0), ("2", 2.0)]
)
def test_cost_header(value: str, usd: float) -> None:
    assert header_cost({"x-litellm-response-cost": value}) == pytest.approx(usd)


@pytest.mark.parametrize("value", ["nan", "NaN", "-1", "1e400", "abc", "$1", "1,5", "inf", "1e10", "0x1"])
def test_unbelievable_cost_header_is_a_notice(value: str) -> None:
    found = header_cost({"x-litellm-response-cost": value})
    assert isinstance(found, Notice) and "x-litellm-response-cost" in found.text


def test_no_cost_header() -> None:
    assert header_cost({}) is None and header_cost(None) is None
    assert header_cost({"content-type": "text/event-stream"}) is None


def test_header_cost_only_where_the_body_gave_none() -> None:
    from chatlab.core.data.events import Usage

    body_cost = UsageReport(Usage(input_tokens=1), 0.25)
    no_cost = UsageReport(Usage(input_tokens=1))
    out = with_cost([body_cost, no_cost, TextDelta("a")], 0.5)
    assert out == [body_cost, UsageReport(Usage(input_tokens=1), 0.5), TextDelta("a")]
    assert with_cost([no_cost], None) == [no_cost]


# -- content-part lists ------------------------------------------------------------------

MAGISTRAL = [
    {"type": "thinking", "thinking": [{"type": "text", "text": "Two and two."}], "closed": True},
    {"type": "text", "text": "4"},
]


def message(content: Any, **extra: Any) -> dict[str, Any]:
    msg = {"role": "assistant", "content": content, **extra}
    return {"choices": [{"index": 0, "message": msg, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3}}


def test_content_of_parts() -> None:
    assert content_of(MAGISTRAL) == ([(True, "Two and two."), (False, "4")], None)
    assert content_of([{"type": "thinking", "thinking": "plain"}]) == ([(True, "plain")], None)
    assert content_of(MAGISTRAL, thinking=False) == ([(False, "4")], None)
    assert content_of("a") == ([(False, "a")], None) and content_of(None) == ([], None)
    assert content_of([]) == ([], None) and content_of([{"type": "text", "text": ""}]) == ([], None)


def test_whole_message_parts() -> None:
    out = whole_message(message(MAGISTRAL))
    assert reasoning(out) == "Two and two." and text(out) == "4"
    assert isinstance(out[-1], Done) and notices(out) == []
    u = report(out).usage
    assert u.input_tokens == 3 and u.reasoning_tokens == 0  # no output count to estimate within


def test_whole_message_junk_parts_beside_text_are_a_note() -> None:
    junk = [7, None, "loose", {"type": "image_url", "image_url": {"url": "x"}}, {"no": "type"}]
    out = whole_message(message([*junk, *MAGISTRAL]))
    assert reasoning(out) == "Two and two." and text(out) == "4" and isinstance(out[-1], Done)
    (note,) = notices(out)
    assert "can't read" in note and "7" in note


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "thinking", "thinking": {"type": "text", "text": "a dict"}}],
        [{"type": "image_url", "image_url": {"url": "data:..."}}],
        [{"type": "text", "text": 5}],
        {"type": "text", "text": "an object, not a list"},
        12,
    ],
)
def test_whole_message_only_unreadable_content_is_an_error(content: Any) -> None:
    out = whole_message(message(content))
    assert isinstance(out[-1], StreamError) and out[-1].kind is ErrorKind.PROTOCOL
    assert "can't read" in out[-1].message
    assert text(out) == "" and reasoning(out) == ""
    assert isinstance(out[-2], UsageReport)  # what it cost is kept


def test_whole_message_reasoning_field_wins_over_thinking_parts() -> None:
    out = whole_message(message(MAGISTRAL, reasoning_content="Two and two."))
    assert reasoning(out) == "Two and two." and text(out) == "4"


# -- streamed deltas ---------------------------------------------------------------------


def test_stream_parts_split_across_chunks() -> None:
    out = read(
        delta(
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": [{"type": "text", "text": "Hm"}]}],
            }
        ),
        delta({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "m."}]}]}),
        delta({"content": [{"type": "text", "text": "Yes"}, {"type": "text", "text": "."}]}),
        delta({"content": ""}, "stop")
        | {"usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}},
    )
    assert reasoning(out) == "Hmm." and text(out) == "Yes." and out[-1] == Done("stop")
    u = report(out).usage
    assert u.output_tokens == 9 and u.reasoning_estimated and 0 < u.reasoning_tokens <= 9


def test_stream_of_only_unreadable_parts_is_an_error() -> None:
    out = read(delta({"content": [{"type": "audio", "data": "..."}]}), delta({}, "stop"))
    assert isinstance(out[-1], StreamError) and out[-1].kind is ErrorKind.PROTOCOL
    assert "'audio'" in out[-1].message


def test_stream_junk_parts_beside_text_are_a_note() -> None:
    out = read(
        delta({"content": [{"type": "text", "text": "kept"}, {"type": "thinking", "thinking": {"x": 1}}]}),
        delta({}, "stop"),
    )
    assert text(out) == "kept" and out[-1] == Done("stop")
    (note,) = notices(out)
    assert "thinking" in note


def test_stream_cut_off_with_only_unreadable_content_says_so() -> None:
    body = sse(delta({"content": {"odd": True}}))[: -len(b"data: [DONE]\n\n")]
    out = drive(_Reader("https://x.test/v1"), events(body))
    assert isinstance(out[-1], StreamError) and out[-1].kind is ErrorKind.PROTOCOL  # not just "cut off"


@pytest.mark.parametrize(
    "field",
    [
        {"reasoning_content": "R"},
        {"reasoning": "R"},
        {"reasoning_details": [{"type": "reasoning.text", "text": "R"}]},
        {"reasoning": "R", "reasoning_details": [{"type": "reasoning.text", "text": "R"}]},
        {"reasoning_content": "R", "reasoning": "R"},
    ],
)
def test_reasoning_fields_with_thinking_parts_never_count_twice(field: dict[str, Any]) -> None:
    parts = [{"type": "thinking", "thinking": [{"type": "text", "text": "R"}]}, {"type": "text", "text": "A"}]
    out = read(delta({**field, "content": parts}), delta({}, "stop"))
    assert reasoning(out) == "R" and text(out) == "A" and notices(out) == []


def test_inline_think_inside_text_parts_is_split() -> None:
    out = read(
        delta({"content": [{"type": "text", "text": "<thi"}]}),
        delta({"content": [{"type": "text", "text": "nk>plan</think>answer"}]}),
        delta({}, "stop"),
    )
    assert reasoning(out) == "plan" and text(out) == "answer"


def test_reasoning_field_then_inline_think_then_parts() -> None:
    out = read(
        delta({"reasoning": "field. "}),
        delta({"content": "<think>inline</think>"}),
        delta({"content": [{"type": "text", "text": "answer"}]}),
        delta({}, "stop"),
    )
    assert reasoning(out) == "field. inline" and text(out) == "answer"


def test_groq_x_groq_usage_read_when_alone_and_not_twice() -> None:
    groq = {"prompt_tokens": 17, "completion_tokens": 1107, "total_tokens": 1124}
    out = read(delta({"content": "a"}, "stop") | {"x_groq": {"id": "req", "usage": groq}})
    assert [(r.usage.input_tokens, r.usage.output_tokens) for r in out if isinstance(r, UsageReport)] == [
        (17, 1107)
    ]
    top = {"prompt_tokens": 1, "completion_tokens": 2}
    out = read(delta({"content": "a"}, "stop") | {"usage": top, "x_groq": {"usage": groq}})
    assert [(r.usage.input_tokens, r.usage.output_tokens) for r in out if isinstance(r, UsageReport)] == [
        (1, 2)
    ]


@pytest.mark.parametrize("x_groq", ["str", 5, [1], {"usage": "none"}, {"usage": None}])
def test_hostile_x_groq(x_groq: Any) -> None:
    out = read(delta({"content": "a"}, "stop") | {"x_groq": x_groq})
    assert text(out) == "a" and out[-1] == Done("stop")


def test_error_event_after_unreadable_content_keeps_the_error_and_notes_the_content() -> None:
    body = sse(
        delta({"content": [{"type": "audio"}]}), {"error": {"message": "boom", "type": "server_error"}}
    )
    out = drive(_Reader("https://x.test/v1"), events(body))
    assert isinstance(out[-1], StreamError) and out[-1].message == "boom"
    assert any("'audio'" in n for n in notices(out))
