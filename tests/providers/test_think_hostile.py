"""Inline ``<think>`` parsing under attack: a model that streams a megabyte of whitespace
before (or instead of) its block, a server that reports usage with every chunk of a
long block, a 5 MB block over loopback in every wire format, tags in the wrong order or
in the middle of the answer, a block never closed, and an emoji's surrogate halves on
either side of a cut. Time grows with the text, never with its square."""

from __future__ import annotations

import time

import pytest

from chatlab.core.costs.tokens import count_tokens
from chatlab.core.data.events import ReasoningDelta, TextDelta, UsageReport
from chatlab.core.data.model import Lane, LaneParams, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.studies.answers import grade_response, parse_key
from chatlab.demo.scripts import Script
from chatlab.demo.server import DemoServer
from chatlab.providers import openai_chat
from chatlab.providers.think import ThinkSplitter
from tests.conftest import run_turn
from tests.providers import test_openai_chat as chat
from tests.providers.readers import drive, events
from tests.providers.test_prompted import FORMATS, LANES, parts

pytestmark = pytest.mark.hostile


def split(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    out = [ev for p in pieces for ev in splitter.feed(p)] + splitter.flush()
    reasoning = "".join(e.text for e in out if isinstance(e, ReasoningDelta))
    return reasoning, "".join(e.text for e in out if isinstance(e, TextDelta))


def test_whitespace_before_the_block_one_character_a_chunk_costs_time_in_proportion() -> None:
    """Each chunk of leading whitespace was joined again with all of it before: 200,000
    spaces one at a time took 10 s (1 MB: minutes), the event loop blocked."""
    spaces = [" "] * 200_000
    start = time.process_time()
    assert split([*spaces, "<think>", "hm", "</think>", "ok"]) == ("hm", "ok")
    assert split([*spaces, "\n", "answer"]) == ("", " " * 200_000 + "\nanswer")
    assert split(spaces) == ("", " " * 200_000)  # only whitespace: kept as the answer
    assert time.process_time() - start < 3.0


def test_usage_in_every_chunk_of_a_long_block_is_not_counted_again_each_time() -> None:
    """A server that reports running usage with every chunk (vLLM's continuous usage
    stats, or a hostile one) had the whole block so far counted with each: 20,000 chunks
    of a 200 KB block took minutes. The last report still counts it exactly."""
    pieces = ["<think>"] + ["thinking hard, "] * 20_000 + ["</think>", "42"]
    items: list[object] = [
        chat.chunk(chat.choice({"content": p}), usage=chat.usage(5, k + 1)) for k, p in enumerate(pieces)
    ]
    items += [chat.chunk(chat.choice({}, "stop"), usage=chat.usage(5, 90_000)), chat.DONE]
    body = events(chat.wire(*items))  # type: ignore[arg-type]
    start = time.process_time()
    out = drive(openai_chat._Reader(chat.URL, "gpt-4.1", prompted=True), body)
    assert time.process_time() - start < 10.0
    thought = "thinking hard, " * 20_000
    assert parts(out) == (thought, "42")
    reports = [e.usage for e in out if isinstance(e, UsageReport)]
    assert all(r.reasoning_tokens <= r.output_tokens for r in reports)
    assert reports[-1].reasoning_tokens == count_tokens(thought, "gpt-4.1").tokens
    assert reports[-1].reasoning_estimated and reports[-1].output_tokens == 90_000


@pytest.mark.parametrize("fmt", FORMATS)
def test_tags_out_of_order_or_mid_answer_stay_answer_text(fmt: str) -> None:
    for source in ("</think>Answer <think>x</think>", "The answer is 42. <think>oops</think> really"):
        assert parts(FORMATS[fmt]([source[:9], source[9:]], True)) == ("", source)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_emojis_halves_around_every_cut_of_the_block_arrive_whole(fmt: str) -> None:
    source = "<think>a\U0001f600b</think>\U0001f600"
    for cut in range(1, len(source)):
        reasoning, answer = parts(FORMATS[fmt]([source[:cut], source[cut:]], True))
        assert (reasoning, answer) == ("a\U0001f600b", "\U0001f600"), cut


@pytest.mark.parametrize("fmt", LANES)
def test_a_5_mb_block_over_loopback_is_reasoning_and_the_answer_is_graded(
    server: DemoServer, runner: Runner, fmt: str
) -> None:
    thought = "step by step, " * 360_000
    server.add(
        "huge-thought", Script(answer=f" \n<think>{thought}</think>\n\n42", chunk_min=256, chunk_max=1024)
    )
    _, turn = run_turn(
        runner, [Lane(LANES[fmt], "huge-thought", LaneParams(think="prompted"))], timeout_s=120
    )
    [r] = turn.responses.values()
    assert r.status is Status.OK and r.reasoning == thought and r.text == "42"
    assert r.usage.reasoning_estimated and 0 < r.usage.reasoning_tokens <= r.usage.output_tokens
    assert grade_response(r, parse_key({"number": 42})) and r.grades[0].correct


@pytest.mark.parametrize("fmt", LANES)
def test_a_block_never_closed_keeps_its_reasoning_and_is_graded_wrong_not_left_out(
    server: DemoServer, runner: Runner, fmt: str
) -> None:
    """The model used every token thinking (the answer 42 is in its thought): the grade
    reads the answer, and there is none."""
    server.add("endless", Script(answer="<think>so the sum is 42, and then"))
    _, turn = run_turn(runner, [Lane(LANES[fmt], "endless", LaneParams(think="prompted"))])
    [r] = turn.responses.values()
    assert r.status is Status.OK and r.text == "" and r.reasoning == "so the sum is 42, and then"
    assert grade_response(r, parse_key({"number": 42}))
    assert not r.grades[0].correct and r.grades[0].detail == "found no answer"
