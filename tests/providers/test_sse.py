"""chatlab's SSE reader agrees with the SDKs' own decoder on every stream, however the
network cuts it, and a read's pieces of text are joined without changing what they say.

The oracle is the OpenAI SDK's ``SSEDecoder`` (the code chatlab replaced): random
streams of events, comments, ``id``/``retry`` fields, multi-line data and every kind of
line end are cut at random places and fed to both, and the dispatched events (name and
data) must be the same, in the same order.
"""

from __future__ import annotations

import random

import pytest
from openai._streaming import SSEDecoder

from chatlab.core.data.events import Done, Notice, ReasoningDelta, StreamEvent, TextDelta, UsageReport
from chatlab.core.data.events import Usage as U
from chatlab.providers.common import coalesce
from chatlab.providers.sse import SSEParser


def random_stream(rng: random.Random) -> bytes:
    ends = [b"\n", b"\r\n", b"\r"]
    out: list[bytes] = []
    for _ in range(rng.randint(0, 30)):
        end = rng.choice(ends) if rng.random() < 0.3 else b"\n"
        kind = rng.random()
        if kind < 0.1:
            out.append(b": comment " + str(rng.random()).encode() + end)
        elif kind < 0.15:
            out.append(b"id: " + str(rng.randint(0, 9)).encode() + end)
        elif kind < 0.2:
            out.append(b"retry: " + rng.choice([b"100", b"x"]) + end)
        elif kind < 0.3:
            out.append(b"event: " + rng.choice([b"message_delta", b"ping", b"", b"error"]) + end)
        elif kind < 0.35:
            out.append(end)  # a blank line: dispatch (or nothing)
        else:
            lines = rng.randint(1, 3)
            for _ in range(lines):
                prefix = rng.choice([b"data: ", b"data:", b"data:  "])
                value = "".join(rng.choice('ab{}":, é😀\t') for _ in range(rng.randint(0, 12)))
                out.append(prefix + value.encode() + end)
            out.append(end)
    return b"".join(out)


def cuts(data: bytes, rng: random.Random) -> list[bytes]:
    pieces = []
    i = 0
    while i < len(data):
        n = rng.choice([1, 1, 2, 3, 7, 64, 4096])
        pieces.append(data[i : i + n])
        i += n
    return pieces


def ours(pieces: list[bytes]) -> list[tuple[str | None, str]]:
    parser = SSEParser()
    events = [ev for piece in pieces for ev in parser.feed(piece)] + parser.finish()
    return [(ev.event, ev.text()) for ev in events]


def theirs(pieces: list[bytes]) -> list[tuple[str | None, str]]:
    return [(sse.event, sse.data) for sse in SSEDecoder().iter_bytes(iter(pieces))]


@pytest.mark.parametrize("seed", range(300))
def test_the_parser_dispatches_what_the_sdk_decoder_dispatches(seed: int) -> None:
    rng = random.Random(seed)
    data = random_stream(rng)
    pieces = cuts(data, rng)
    assert ours(pieces) == theirs(pieces), data


def test_a_crlf_split_across_reads_is_one_line_end() -> None:
    pieces = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    assert ours(pieces) == theirs(pieces) == [(None, "a\nb")]


def test_a_long_line_in_small_pieces_is_read_in_linear_time() -> None:
    """A 4 MB line arriving 100 bytes at a time is joined once, not at every read."""
    parser = SSEParser()
    piece = b"x" * 100
    parser.feed(b"data: ")
    for _ in range(40_000):
        assert parser.feed(piece) == []
    [event] = parser.feed(b"\n\n")
    assert len(event.data) == 4_000_000


def test_json_is_decoded_as_the_sdk_decodes_it() -> None:
    """What msgspec refuses (NaN, a lone surrogate escape) is read the SDK's way."""
    parser = SSEParser()
    [a, b] = parser.feed(b'data: {"n": NaN}\n\ndata: {"s": "\\ud83d"}\n\n')
    assert a.json()["n"] != a.json()["n"]  # NaN
    assert b.json() == {"s": "\ud83d"}
    [c] = parser.feed(b'data: {"s": "\xff"}\n\n')
    with pytest.raises(UnicodeDecodeError, match="position 13"):  # where the SDK's line decode fails
        c.json()


def test_adjacent_pieces_of_one_kind_are_joined_in_order() -> None:
    usage = UsageReport(U(input_tokens=1))
    events: list[StreamEvent] = [
        ReasoningDelta("a"),
        ReasoningDelta("b"),
        TextDelta("c"),
        TextDelta("d"),
        TextDelta("no", refusal=True),
        TextDelta("!", refusal=True),
        TextDelta("e"),
        Notice("n"),
        TextDelta("f"),
        usage,
        Done("stop"),
    ]
    assert coalesce(events) == [
        ReasoningDelta("ab"),
        TextDelta("cd"),
        TextDelta("no!", refusal=True),
        TextDelta("e"),
        Notice("n"),
        TextDelta("f"),
        usage,
        Done("stop"),
    ]
    single: list[StreamEvent] = [TextDelta("x")]
    assert coalesce(single) is single


def test_an_endless_line_or_event_ends_the_stream_with_what_came_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that never ends a line (or an event) would hold memory until the idle
    timeout; past ``MAX_EVENT_BYTES`` the stream ends in a protocol error instead, after
    the events that came before it."""
    from chatlab.core.data.events import ErrorKind
    from chatlab.providers import sse
    from chatlab.providers.errors import StreamFailure, map_exception

    monkeypatch.setattr(sse, "MAX_EVENT_BYTES", 1000)
    for body in (b"data: " + b"x" * 100, b"data: " + b"x" * 90 + b"\n"):  # one line; many lines
        parser = SSEParser()
        [first] = parser.feed(b'data: {"a": 1}\n\n')
        out = []
        for _ in range(20):
            out += parser.feed(body)
        assert first.json() == {"a": 1}
        [broken] = out
        with pytest.raises(StreamFailure) as caught:
            broken.json()
        error = map_exception(caught.value)
        assert error.kind is ErrorKind.PROTOCOL and "in one event" in error.message
        assert parser.feed(b"\n\n") == [] and parser.finish() == []
