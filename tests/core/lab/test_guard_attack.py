"""Adversarial cases for the stream guard's held surrogate half (``Guard`` in
guard.py) and the Responses reader's ``.done`` check: a lane stopped or timed out
while a half or a key's first characters are held, a revision arriving while a half
is held on its own channel or the other one, and a lost delta after a split emoji.
The first seven were findings of an adversarial pass (each failed before its fix); the
rest are attacks that held and stay as guards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from chatlab.core.data.events import (
    Done,
    ReasoningDelta,
    Revision,
    StreamEvent,
    TextDelta,
)
from chatlab.core.data.model import Lane, Request, Response, Session
from chatlab.core.data.safety import UNICODE_NOTE, mask_secret
from chatlab.core.lab.orchestrator import Runner
from tests.conftest import run_turn
from tests.fakes import ScriptedAdapter, scripted_runner
from tests.providers.test_openai_responses import completed, run, text_delta, text_done

pytestmark = pytest.mark.hostile

KEY = "sk-fake-" + "q" * 24
EMOJI = "\U0001f600"


def one(runner: Runner) -> Response:
    _, turn = run_turn(runner, [Lane("fake", "m")])
    [r] = turn.responses.values()
    return r


def keyed(adapter: ScriptedAdapter) -> Runner:
    runner = scripted_runner(adapter)
    runner._secrets["fake"] = KEY  # what Runner.adapter records for a provider with a key
    runner._adapters["fake"] = adapter
    return runner


class StallingAdapter(ScriptedAdapter):
    """Sends its queued events, then either hangs (the server went quiet) or raises (a bug
    in an adapter): the lane ends by Stop, a timeout or an internal error, never by Done."""

    def __init__(self, ending: str) -> None:
        super().__init__()
        self.ending = ending

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        self.requests.append(request)
        for ev in self.queue.popleft():
            await asyncio.sleep(0)
            yield ev
        if self.ending == "raise":
            raise RuntimeError("adapter bug")
        await asyncio.sleep(3600)
        yield Done("stop")


def stalled(ending: str, *events: StreamEvent) -> Response:
    """The response of a lane that got ``events`` and then ended by ``ending``: ``stop``
    (the user pressed Stop once the first piece was shown), ``idle`` (the idle timeout)
    or ``raise`` (the adapter raised)."""
    adapter = StallingAdapter(ending)
    adapter.enqueue(*events)
    runner = keyed(adapter)
    session = Session(lanes=[Lane("fake", "m")])
    turn = session.new_turn("hi")

    async def go() -> None:
        run = runner.turn(session, turn, idle_timeout_s=0.2 if ending == "idle" else None)

        def stop_on_first_piece(lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
            if ending == "stop" and isinstance(ev, TextDelta | ReasoningDelta):
                run.cancel(lane.id)

        run.listeners.append(stop_on_first_piece)
        try:
            await run.run()
        finally:
            await runner.aclose()

    asyncio.run(go())
    [r] = turn.responses.values()
    return r


# -- findings ------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["stop", "idle", "raise"])
def test_a_held_half_survives_a_lane_that_ends_without_done(ending: str) -> None:
    r = stalled(ending, TextDelta("hi \ud83d"))
    assert r.text == "hi \ufffd" and r.notes == [UNICODE_NOTE], (r.text, r.notes)


@pytest.mark.parametrize("ending", ["stop", "idle", "raise"])
def test_a_replaced_half_is_noted_when_the_lane_ends_without_done(ending: str) -> None:
    r = stalled(ending, TextDelta("bad \udc80 text"))
    assert r.text == "bad \ufffd text" and r.notes == [UNICODE_NOTE], (r.text, r.notes)


@pytest.mark.parametrize("ending", ["stop", "idle", "raise"])
def test_text_held_back_as_a_possible_key_survives_a_lane_that_ends_without_done(ending: str) -> None:
    r = stalled(ending, TextDelta("the prefix is sk-fa"))
    assert r.text == "the prefix is sk-fa", r.text


def test_a_revision_that_supersedes_a_held_half_gives_no_unicode_note() -> None:
    adapter = ScriptedAdapter().enqueue(TextDelta("ab\ud83d"), Revision(f"ab{EMOJI}cd"), Done("stop"))
    r = one(scripted_runner(adapter))
    assert r.text == f"ab{EMOJI}cd" and "\ufffd" not in r.text
    assert r.notes == [], r.notes


def test_a_revision_of_the_answer_leaves_the_reasonings_held_half_waiting() -> None:
    adapter = ScriptedAdapter().enqueue(
        ReasoningDelta("think \ud83d"),
        TextDelta("draft"),
        Revision("final"),
        ReasoningDelta("\ude00 more"),
        Done("stop"),
    )
    r = one(scripted_runner(adapter))
    assert r.text == "final" and r.reasoning == f"think {EMOJI} more", r.reasoning
    assert r.notes == [], r.notes


def test_the_unicode_note_is_given_once_around_a_revision() -> None:
    adapter = ScriptedAdapter().enqueue(
        TextDelta("a\udc80"), Revision("b"), ReasoningDelta("c\udc80"), Done("stop")
    )
    r = one(scripted_runner(adapter))
    assert r.notes == [UNICODE_NOTE], r.notes


def test_responses_a_lost_delta_after_a_split_emoji_is_added_not_a_revision() -> None:
    got = run(text_delta("x\ud83d"), text_delta("\ude00"), text_done(f"x{EMOJI}y"), completed(), ascii=True)
    assert got == [TextDelta("x\ud83d"), TextDelta("\ude00"), TextDelta("y"), Done("completed")], got


# -- attacks that held ---------------------------------------------------------------------


def test_ten_thousand_emoji_split_across_both_channels_interleaved_are_all_joined() -> None:
    events: list[StreamEvent] = []
    for _ in range(10_000):
        events += [
            TextDelta("\ud83d"),
            ReasoningDelta("\ud83e"),
            TextDelta("\ude00"),
            ReasoningDelta("\udd14"),
        ]
    adapter = ScriptedAdapter().enqueue(*events, Done("stop"))
    r = one(scripted_runner(adapter))
    assert r.text == EMOJI * 10_000 and r.reasoning == "\U0001f914" * 10_000 and r.notes == []


def test_halves_on_different_channels_are_never_joined() -> None:
    adapter = ScriptedAdapter().enqueue(TextDelta("a\ud83d"), ReasoningDelta("\ude00b"), Done("stop"))
    r = one(scripted_runner(adapter))
    assert r.text == "a\ufffd" and r.reasoning == "\ufffdb" and r.notes == [UNICODE_NOTE]


def test_a_held_half_then_a_bare_refusal_keeps_the_flag_and_the_half() -> None:
    adapter = ScriptedAdapter().enqueue(TextDelta("no \ud83d"), TextDelta("", refusal=True), Done("stop"))
    r = one(scripted_runner(adapter))
    assert r.refusal and r.text == "no \ufffd" and r.notes == [UNICODE_NOTE]


def test_a_key_cut_into_one_character_deltas_between_held_halves_is_redacted() -> None:
    """Each emoji as two deltas of one UTF-16 unit, the key one character a delta between them."""
    split = [*"\ud83d\ude00", *KEY, "\ud83d", "\ude00"]
    adapter = ScriptedAdapter().enqueue(*(TextDelta(ch) for ch in split), Done("stop"))
    r = one(keyed(adapter))
    assert r.text == f"{EMOJI}{mask_secret(KEY)}{EMOJI}" and KEY not in r.text and r.notes == []


def test_a_million_lone_high_halves_in_one_delta_are_all_replaced_quickly() -> None:
    adapter = ScriptedAdapter().enqueue(TextDelta("\ud83d" * 1_000_000), Done("stop"))
    r = one(scripted_runner(adapter))
    assert r.text == "\ufffd" * 1_000_000 and r.notes == [UNICODE_NOTE]
