"""Show reasoning, the blind option whose quiz is about the thinking: chosen before the
first send and only when blind, carried to the next session, every masked lane's
reasoning shown alike (its text, or the same neutral line), and the guess judged
against "trained to reason" (a prompted lane reasoned, but was not trained to)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from chatlab.core.data.constants import REDACTED_THINKING
from chatlab.core.data.events import (
    Done,
    ErrorKind,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.core.data.kinds import trained
from chatlab.core.data.model import Lane, LaneParams, Response, Session, Status
from chatlab.core.lab.blind import NOT_SHOWN, guess_right, shown_reasoning, visible_reasoning
from chatlab.core.lab.controller import Lab, LabError
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store
from tests.fakes import ScriptedAdapter, scripted_runner


def make_lab(adapter: ScriptedAdapter, tmp_path: Path | None = None) -> Lab:
    store = Store(tmp_path / "lab.db") if tmp_path else None
    saver = (lambda s: Checkpointer(store, s)) if store else None
    return Lab(scripted_runner(adapter), store=store, saver_factory=saver, rater="ann", rng=random.Random(3))


def run(lab: Lab, prompt: str = "Write a haiku.") -> None:
    async def go() -> None:
        lab.send(prompt)
        await lab.wait()

    asyncio.run(go())


def test_show_reasoning_is_a_blind_option_chosen_before_the_first_send(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    lab.add_lane(Lane("fake", "a"))
    with pytest.raises(LabError, match="blind"):
        lab.set_show_reasoning(True)  # not blind: there is nothing to show alike
    lab.set_blind(True)
    lab.set_show_reasoning(True)
    assert lab.session.show_reasoning
    lab.set_blind(False)  # it goes with blind mode
    assert not lab.session.show_reasoning
    lab.set_blind(True)
    lab.set_show_reasoning(True)
    adapter.enqueue(TextDelta("x"), Done("stop"))
    run(lab)
    with pytest.raises(LabError, match="before the first send"):
        lab.set_show_reasoning(False)
    assert lab.store is not None and lab.store.load(lab.session.id).show_reasoning
    lab.vote("tie")
    lab.new_session()  # same lanes, same blind options
    assert lab.session.blind and lab.session.show_reasoning
    lab.duplicate(Session(lanes=[Lane("fake", "b")], blind=True, show_reasoning=True))
    assert lab.session.show_reasoning and lab.session.lanes[0].model == "b"


def test_every_lane_without_reasoning_text_reads_the_same_line() -> None:
    visible = Response(
        "v", Status.OK, reasoning_parts=["\n  Let me count the syllables.  \n"], text_parts=["a"]
    )
    visible.reasoning_chars = len(visible.reasoning)
    hidden = Response("h", Status.OK, text_parts=["b"], usage=Usage(5, 50, reasoning_tokens=412))
    plain = Response("p", Status.OK, text_parts=["c"], usage=Usage(5, 3))
    failed = Response("f", Status.ERROR)
    redacted = Response("r", Status.OK, reasoning_parts=[REDACTED_THINKING], text_parts=["d"])
    redacted.reasoning_chars = len(REDACTED_THINKING)
    assert hidden.hidden_reasoning
    assert shown_reasoning(visible) == "Let me count the syllables."
    # Hidden by the provider, no reasoning at all, failed, or only chatlab's note of an
    # encrypted block: the same words, with no count and no reason why.
    assert {shown_reasoning(r) for r in (hidden, plain, failed, redacted)} == {NOT_SHOWN}
    assert visible_reasoning(hidden) == visible_reasoning(redacted) == ""
    mixed = Response("m", Status.OK, reasoning_parts=["first\n\n", REDACTED_THINKING, "\n\nthen"])
    assert "redacted" not in shown_reasoning(mixed) and shown_reasoning(mixed).startswith("first")


def test_with_the_reasoning_shown_the_guess_is_judged_against_trained_to_reason() -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    native = lab.add_lane(Lane("fake", "native"))
    prompted = lab.add_lane(Lane("fake", "plain", LaneParams(think="prompted")))
    hidden = lab.add_lane(Lane("fake", "hidden"))
    flat = lab.add_lane(Lane("fake", "flat"))
    lab.set_blind(True)
    lab.set_show_reasoning(True)
    scripts: list[list[StreamEvent]] = [
        [ReasoningDelta("native thought"), TextDelta("a"), UsageReport(Usage(5, 43, reasoning_tokens=40))],
        [ReasoningDelta("prompted thought"), TextDelta("b"), UsageReport(Usage(5, 20, reasoning_tokens=15))],
        [TextDelta("c"), UsageReport(Usage(5, 32, reasoning_tokens=30))],
        [TextDelta("d"), UsageReport(Usage(5, 3))],
    ]
    for script in scripts:
        adapter.enqueue(*script, Done("stop"))
    run(lab)
    session, turn = lab.session, lab.session.turns[-1]
    by = {lane.id: trained(lane, turn.responses[lane.id]) for lane in session.lanes}
    assert by == {native.id: True, prompted.id: False, hidden.id: True, flat.id: False}
    reveal = lab.vote("tie", guessed=[native.id, hidden.id])
    assert reveal is not None and reveal.about_training and reveal.guess_right is True
    rows = {row.lane_id: row for row in reveal.rows}
    assert rows[prompted.id].reasoned and rows[prompted.id].prompted and not rows[prompted.id].truth
    assert rows[hidden.id].truth and not rows[hidden.id].prompted
    from chatlab.core.data.votes import Vote

    # Naming the prompted lane too is wrong here; without show reasoning it is right.
    turn.vote = Vote("tie", guessed=[native.id, hidden.id, prompted.id], rater="ann")
    assert not guess_right(session, turn)
    session.show_reasoning = False
    assert guess_right(session, turn)


def test_a_failed_lane_counts_for_neither_truth() -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    good = lab.add_lane(Lane("fake", "good"))
    lab.add_lane(Lane("fake", "bad"))
    lab.set_blind(True)
    lab.set_show_reasoning(True)
    adapter.enqueue(
        ReasoningDelta("t"), TextDelta("a"), UsageReport(Usage(5, 9, reasoning_tokens=4)), Done("stop")
    )
    adapter.enqueue(ReasoningDelta("half a thought"), StreamError(ErrorKind.SERVER, "boom", status_code=500))
    run(lab)
    reveal = lab.vote(good.id, guessed=[good.id])
    assert reveal is not None and reveal.guess_right is True
