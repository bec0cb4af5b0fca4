"""The core's own guard on adapter events, with a scripted adapter (no SDK can send
these): every adapter, present or future, gets valid Unicode, believable usage and its
key redacted; a revision replaces the text; the registry matches the config's kinds."""

from __future__ import annotations

import asyncio

import pytest

from chatlab.core.data.events import (
    Done,
    ErrorKind,
    ReasoningDelta,
    Revision,
    StreamError,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.core.data.model import Lane, Session, Status
from chatlab.core.data.safety import UNICODE_NOTE, mask_secret
from chatlab.core.settings.config import KINDS
from chatlab.providers import ADAPTERS
from tests.conftest import run_turn
from tests.fakes import ScriptedAdapter, scripted_runner


def test_usage_out_of_range_from_any_adapter_is_dropped() -> None:
    adapter = ScriptedAdapter()
    adapter.enqueue(TextDelta("hi"), UsageReport(Usage(input_tokens=-3, output_tokens=2)), Done("stop"))
    adapter.enqueue(TextDelta("hi"), UsageReport(Usage(output_tokens=2**60)), Done("stop"))
    adapter.enqueue(TextDelta("hi"), UsageReport(Usage(output_tokens=2), cost_usd=float("inf")), Done("stop"))
    runner = scripted_runner(adapter)
    for expect in ("input_tokens: -3 is negative", "output_tokens: ", "cost: inf is not finite"):
        _, turn = run_turn(runner, [Lane("fake", "m")])
        [r] = turn.responses.values()
        assert r.status is Status.OK and len(r.notes) == 1 and expect in r.notes[0], r.notes
        if "cost" in expect:
            assert not r.usage.estimated and r.usage.output_tokens == 2 and not r.cost_reported
        else:
            assert r.usage.estimated


def test_text_from_any_adapter_is_valid_unicode_and_keyless() -> None:
    key = "sk-fake-" + "k" * 24
    adapter = ScriptedAdapter().enqueue(
        ReasoningDelta("think \udc80"),
        TextDelta(f"a {key[:5]}"),
        TextDelta(f"{key[5:]} b"),
        StreamError(ErrorKind.SERVER, f"bad key {key}", status_code=999, retry_after_s=float("nan")),
    )
    runner = scripted_runner(adapter)
    runner._secrets["fake"] = key  # what Runner.adapter records for a provider with a key
    runner._adapters["fake"] = adapter
    _, turn = run_turn(runner, [Lane("fake", "m")])
    [r] = turn.responses.values()
    assert r.reasoning == "think \ufffd" and r.text == f"a {mask_secret(key)} b"
    assert r.error is not None and r.error.message == f"bad key {mask_secret(key)}"
    assert r.error.status_code is None and r.error.retry_after_s is None
    assert r.notes == [UNICODE_NOTE]


def test_a_revision_replaces_the_answer_and_the_request_is_the_lanes_own() -> None:
    adapter = ScriptedAdapter().enqueue(TextDelta("draft"), Revision("final"), Done("stop"))
    session = Session(lanes=[Lane("fake", "m")])
    turn = session.new_turn("hello")
    runner = scripted_runner(adapter)

    async def go() -> None:
        await runner.turn(session, turn).run()

    asyncio.run(go())
    [r] = turn.responses.values()
    assert r.text == "final" and r.revisions == 1 and r.text_chars == 5
    [request] = adapter.requests
    assert request.model == "m" and [m.content for m in request.messages] == ["hello"]


def test_every_config_kind_has_an_adapter() -> None:
    assert set(ADAPTERS) == set(KINDS)


def test_a_surrogate_pair_split_across_deltas_is_joined() -> None:
    """A server that slices text in UTF-16 units may send an emoji's halves in two deltas
    (of the answer or of the reasoning): the lane keeps the emoji, with no note; a half
    that never gets its pair becomes U+FFFD, with the note."""
    adapter = ScriptedAdapter().enqueue(
        ReasoningDelta("think \ud83e"),
        ReasoningDelta("\udd14 done"),
        TextDelta("x\ud83d"),
        TextDelta("\ude00y \ud83d"),
        TextDelta("\ude00"),
        Done("stop"),
    )
    adapter.enqueue(TextDelta("cut \ud83d"), Done("stop"))
    runner = scripted_runner(adapter)
    _, turn = run_turn(runner, [Lane("fake", "m")])
    [r] = turn.responses.values()
    assert r.reasoning == "think \U0001f914 done" and r.text == "x\U0001f600y \U0001f600"
    assert r.notes == []
    _, turn = run_turn(runner, [Lane("fake", "m")])
    [r] = turn.responses.values()
    assert r.text == "cut \ufffd" and r.notes == [UNICODE_NOTE]


@pytest.mark.parametrize(
    ("pieces", "end", "text", "noted"),
    [
        (["a\ud83d"], Done("stop"), "a\ufffd", True),  # the pair never comes
        (["a\ud83d"], StreamError(ErrorKind.SERVER, "boom"), "a\ufffd", True),  # nor before an error
        (["\ud83d\ud83d\ud83d", "\ude00"], Done("stop"), "\ufffd\ufffd\U0001f600", True),
        (["\ude00", "b"], Done("stop"), "\ufffdb", True),  # a low half alone
        (["a\ud83d", "", "\ude00"], Done("stop"), "a\U0001f600", False),  # an empty delta between
        (["x" * 100_000 + "\ud83d", "\ude00"], Done("stop"), "x" * 100_000 + "\U0001f600", False),
    ],
)
def test_held_surrogate_halves_never_lose_or_invent_text(
    pieces: list[str], end: Done | StreamError, text: str, noted: bool
) -> None:
    adapter = ScriptedAdapter().enqueue(*(TextDelta(p) for p in pieces), end)
    _, turn = run_turn(scripted_runner(adapter), [Lane("fake", "m")])
    [r] = turn.responses.values()
    assert r.text == text and (UNICODE_NOTE in r.notes) == noted


def test_a_held_half_then_a_revision_keeps_the_revision() -> None:
    adapter = ScriptedAdapter().enqueue(TextDelta("draft \ud83d"), Revision("final \U0001f600"), Done("stop"))
    _, turn = run_turn(scripted_runner(adapter), [Lane("fake", "m")])
    [r] = turn.responses.values()
    assert r.text == "final \U0001f600"


def test_a_key_split_around_a_held_half_is_still_redacted() -> None:
    key = "sk-fake-" + "q" * 24
    adapter = ScriptedAdapter().enqueue(
        TextDelta(f"\U0001f600 {key[:6]}"), TextDelta(f"{key[6:]} \ud83d"), TextDelta("\ude00"), Done("stop")
    )
    runner = scripted_runner(adapter)
    runner._secrets["fake"] = key
    runner._adapters["fake"] = adapter
    _, turn = run_turn(runner, [Lane("fake", "m")])
    [r] = turn.responses.values()
    assert r.text == f"\U0001f600 {mask_secret(key)} \U0001f600" and key not in r.text
