"""Inline <think> blocks are split into reasoning live, wherever the chunk boundaries fall."""

from __future__ import annotations

import itertools

import pytest

from chatlab.core.data.events import ReasoningDelta, TextDelta
from chatlab.core.data.model import Lane, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.demo.scripts import Script
from chatlab.demo.server import DemoServer
from chatlab.providers.think import ThinkSplitter
from tests.conftest import run_turn


def split(chunks: list[str]) -> tuple[str, str, list[ReasoningDelta | TextDelta]]:
    s = ThinkSplitter()
    events = [ev for c in chunks for ev in s.feed(c)] + s.flush()
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    return reasoning, text, events


SOURCE = "<think>\nweigh <b>both</b> options</think>\n\nThe answer is <think> (literally)."


@pytest.mark.parametrize("cut", range(1, len(SOURCE)))
def test_every_single_cut(cut: int) -> None:
    reasoning, text, _ = split([SOURCE[:cut], SOURCE[cut:]])
    assert reasoning == "\nweigh <b>both</b> options"
    assert text == "The answer is <think> (literally)."


def test_one_character_chunks_stream_live() -> None:
    reasoning, text, events = split(list(SOURCE))
    assert reasoning == "\nweigh <b>both</b> options"
    assert text == "The answer is <think> (literally)."
    # Reasoning is emitted while streaming, not held until the closing tag.
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert sum(isinstance(e, ReasoningDelta) for e in events[:first_text]) > 10


@pytest.mark.parametrize("a,b", list(itertools.combinations(range(1, 20), 2)))
def test_three_way_cuts_around_both_tags(a: int, b: int) -> None:
    src = "  <think>x</think>ok"
    reasoning, text, _ = split([src[:a], src[a:b], src[b:]])
    assert (reasoning, text) == ("x", "ok")


def test_no_think_tag_passes_through() -> None:
    assert split(["Hello ", "<thi", "s is fine"])[:2] == ("", "Hello <this is fine")
    assert split(["<", "b>bold</b>"])[:2] == ("", "<b>bold</b>")


def test_unclosed_think_at_end_of_stream_is_reasoning() -> None:
    assert split(["<think>still thinking</th"])[:2] == ("still thinking</th", "")


def test_think_tags_over_the_wire(server: DemoServer, runner: Runner) -> None:
    server.add(
        "thinker",
        Script(
            reasoning="Let me think about it.",
            answer="Forty-two.",
            reasoning_field="think",
            chunk_min=1,
            chunk_max=3,
        ),
    )
    _, turn = run_turn(runner, [Lane("chat", "thinker")])
    r = next(iter(turn.responses.values()))
    assert r.status is Status.OK
    assert r.reasoning.strip() == "Let me think about it."
    assert r.text == "Forty-two."
