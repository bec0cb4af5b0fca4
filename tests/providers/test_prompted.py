"""The prompted-reasoning control in every wire format: a plain model asked to think first
inside ``<think>…</think>``. Each reader, fed directly, routes the block to reasoning
wherever the chunks cut it, keeps a block that never closes as reasoning, and counts it
as estimated reasoning tokens within the provider's own output total; a model that
ignores the instruction gives an answer and no reasoning. Then over loopback with the
real SDKs: the instruction is in the system prompt each format sends, before the lane's
own, and the block comes back as reasoning, also when the stream is cut mid-thought."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chatlab.core.costs.tokens import count_tokens
from chatlab.core.data.events import (
    Done,
    ReasoningDelta,
    Revision,
    StreamError,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from chatlab.core.data.model import Lane, LaneParams, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings import prompted
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.scripts import Script
from chatlab.demo.server import DemoServer
from chatlab.providers import anthropic, make_adapter, openai_chat, openai_responses
from tests.conftest import lab_config, run_turn
from tests.providers import test_anthropic as msg
from tests.providers import test_openai_chat as chat
from tests.providers import test_openai_responses as resp
from tests.providers.readers import drive, events

OUTPUT = 90  # the provider's output tokens, block and answer together

Stream = Callable[[list[str], bool], list[StreamEvent]]


def chat_stream(pieces: list[str], ended: bool = True) -> list[StreamEvent]:
    items: list[object] = [chat.chunk(chat.choice({"content": p})) for p in pieces]
    if ended:
        items += [chat.chunk(chat.choice({}, "stop")), chat.chunk(usage=chat.usage(20, OUTPUT)), chat.DONE]
    reader = openai_chat._Reader(chat.URL, "gpt-4.1", prompted=True)
    return drive(reader, events(chat.wire(*items)))  # type: ignore[arg-type]


def responses_stream(pieces: list[str], ended: bool = True) -> list[StreamEvent]:
    items: list[object] = [resp.MESSAGE_ADDED, resp.PART_ADDED, *(resp.text_delta(p) for p in pieces)]
    if ended:
        items += [resp.text_done("".join(pieces)), resp.completed(resp.usage(20, OUTPUT))]
    reader = openai_responses._Reader(resp.URL, "gpt-4.1", prompted=True)
    return drive(reader, events(resp.wire(*items)))  # type: ignore[arg-type]


def messages_stream(pieces: list[str], ended: bool = True) -> list[StreamEvent]:
    items: list[object] = [msg.start(inp=20), msg.block(0, msg.TEXT), *(msg.text(p) for p in pieces)]
    if ended:
        items += [msg.stop(0), msg.message_delta("end_turn", OUTPUT), msg.MESSAGE_STOP]
    reader = anthropic._Reader(msg.URL, msg.MODEL, 200, prompted=True)
    return drive(reader, events(msg.wire(*items)))  # type: ignore[arg-type]


FORMATS: dict[str, Stream] = {
    "chat": chat_stream,
    "responses": responses_stream,
    "messages": messages_stream,
}
MODELS = {"chat": "gpt-4.1", "responses": "gpt-4.1", "messages": msg.MODEL}


def parts(out: list[StreamEvent]) -> tuple[str, str]:
    reasoning = "".join(e.text for e in out if isinstance(e, ReasoningDelta))
    return reasoning, "".join(e.text for e in out if isinstance(e, TextDelta))


def usage_of(out: list[StreamEvent]) -> UsageReport:
    """The usage the lane keeps: the last report (Chat Completions reports again at the
    end when text held back turned out to be reasoning)."""
    return [e for e in out if isinstance(e, UsageReport)][-1]


SOURCE = "<think>\nFirst, what is asked: a <b>plan</b>.\n</think>\n\nHere is the plan."
THOUGHT = "\nFirst, what is asked: a <b>plan</b>.\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_block_is_reasoning_wherever_the_chunks_cut_it(fmt: str) -> None:
    for cut in range(1, len(SOURCE)):
        out = FORMATS[fmt]([SOURCE[:cut], SOURCE[cut:]], True)
        assert parts(out) == (THOUGHT, "Here is the plan."), cut
        assert isinstance(out[-1], Done)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_block_is_counted_as_estimated_reasoning_within_the_providers_output(fmt: str) -> None:
    out = FORMATS[fmt](list(SOURCE), True)  # one character a chunk
    usage = usage_of(out).usage
    assert usage.output_tokens == OUTPUT  # the provider's total stands
    assert usage.reasoning_tokens == count_tokens(THOUGHT, MODELS[fmt]).tokens > 0
    assert usage.reasoning_estimated and not usage.estimated


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_model_that_ignores_the_instruction_gives_an_answer_and_no_reasoning(fmt: str) -> None:
    out = FORMATS[fmt](["Here is ", "the plan."], True)
    assert parts(out) == ("", "Here is the plan.")
    usage = usage_of(out).usage
    assert usage.reasoning_tokens == 0 and not usage.reasoning_estimated


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_block_that_never_closes_stays_reasoning(fmt: str) -> None:
    pieces = ["<think>Still weighing it", " up </th"]
    out = FORMATS[fmt](pieces, True)
    assert parts(out) == ("Still weighing it up </th", "")
    usage = usage_of(out).usage
    assert usage.reasoning_estimated and usage.reasoning_tokens > 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_stream_cut_off_mid_thought_keeps_the_reasoning(fmt: str) -> None:
    out = FORMATS[fmt](["<think>Half a th", "ought </thi"], False)
    assert parts(out) == ("Half a thought </thi", "")
    assert isinstance(out[-1], StreamError)


@pytest.mark.parametrize("fmt", ["responses", "messages"])
def test_a_lane_not_prompted_keeps_think_tags_as_answer_text(fmt: str) -> None:
    """Messages and Responses split only for a prompted lane (Chat Completions always
    splits: R1-style servers stream their model's block in the answer)."""
    if fmt == "responses":
        items = [resp.text_delta(SOURCE), resp.completed(resp.usage(20, OUTPUT))]
        out = drive(openai_responses._Reader(resp.URL), events(resp.wire(*items)))
    else:
        items = [msg.start(), *msg.answer(SOURCE), msg.message_delta("end_turn", OUTPUT), msg.MESSAGE_STOP]
        out = drive(anthropic._Reader(msg.URL, msg.MODEL, 200), events(msg.wire(*items)))
    assert parts(out) == ("", SOURCE)
    assert usage_of(out).usage.reasoning_tokens == 0


def test_chat_counts_an_unprompted_inline_block_only_when_the_server_counted_none() -> None:
    body = chat.wire(
        chat.chunk(chat.choice({"content": SOURCE}, "stop")), chat.chunk(usage=chat.usage(5, 40))
    )
    usage = usage_of(drive(openai_chat._Reader(chat.URL, "gpt-4.1"), events(body))).usage
    assert usage.reasoning_estimated and usage.reasoning_tokens == count_tokens(THOUGHT, "gpt-4.1").tokens
    counted = chat.usage(5, 40, completion_tokens_details={"reasoning_tokens": 12})
    body = chat.wire(chat.chunk(chat.choice({"content": SOURCE}, "stop")), chat.chunk(usage=counted))
    usage = usage_of(drive(openai_chat._Reader(chat.URL, "gpt-4.1"), events(body))).usage
    assert usage.reasoning_tokens == 12 and not usage.reasoning_estimated


def test_chat_counts_again_at_the_end_when_usage_came_before_the_block_ended() -> None:
    """Running totals: a usage report mid-block is passed on, and counted again with the
    whole block once the stream ends."""
    body = chat.wire(
        chat.chunk(chat.choice({"content": "<think>one "}), usage=chat.usage(5, 2)),
        chat.chunk(chat.choice({"content": "two three four five six</think>ok"}, "stop")),
        chat.DONE,
    )
    out = drive(openai_chat._Reader(chat.URL, "gpt-4.1", prompted=True), events(body))
    reports = [e.usage for e in out if isinstance(e, UsageReport)]
    assert len(reports) == 2 and reports[-1].output_tokens == 2
    assert reports[-1].reasoning_tokens == 2 and reports[-1].reasoning_estimated  # never above the output
    assert isinstance(out[-1], Done) and parts(out) == ("one two three four five six", "ok")


def test_a_prompted_block_adds_to_reasoning_the_provider_reported() -> None:
    """A reasoner asked to think as well: its own reasoning tokens plus the block's, estimated."""
    items = [
        msg.start(),
        msg.block(0, msg.THINKING),
        msg.thinking("native"),
        msg.stop(0),
        msg.block(1, msg.TEXT),
        msg.text("<think>and more</think>done", 1),
        msg.stop(1),
        msg.message_delta("end_turn", 500, output_tokens_details={"thinking_tokens": 100}),
        msg.MESSAGE_STOP,
    ]
    out = drive(anthropic._Reader(msg.URL, msg.MODEL, 200, prompted=True), events(msg.wire(*items)))
    assert parts(out) == ("nativeand more", "done")
    usage = usage_of(out).usage
    assert usage.reasoning_tokens == 100 + count_tokens("and more", msg.MODEL).tokens
    assert usage.reasoning_estimated


def test_a_responses_done_that_disagrees_is_split_again() -> None:
    items = [
        resp.summary_delta("Native summary."),
        resp.text_delta("<think>draft</think>Answer one."),
        resp.text_done("<think>final thought</think>\n\nAnswer two."),
        resp.completed(resp.usage(20, OUTPUT, reasoning=10)),
    ]
    out = drive(openai_responses._Reader(resp.URL, "gpt-4.1", prompted=True), events(resp.wire(*items)))
    revisions = [e for e in out if isinstance(e, Revision)]
    assert revisions == [
        Revision("Answer two."),
        Revision("Native summary.final thought", reasoning=True),
    ]
    usage = usage_of(out).usage
    assert usage.reasoning_tokens == 10 + count_tokens("final thought", "gpt-4.1").tokens


@pytest.mark.parametrize("fmt", ["responses", "messages", "chat"])
def test_a_whole_message_from_a_server_that_did_not_stream_is_split(fmt: str) -> None:
    text = "<think>weigh it</think>\n\nForty-two."
    if fmt == "chat":
        body = {
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 30},
        }
        out = openai_chat.whole_message(body, "gpt-4.1", prompted=True)
    elif fmt == "responses":
        body = resp.response("completed", resp.usage(3, 30))
        body["output"] = [{"type": "message", "content": [{"type": "output_text", "text": text}]}]
        out = openai_responses.whole_message(body, "gpt-4.1", prompted=True)
    else:
        body = {
            "type": "message",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 30},
        }
        out = anthropic.whole_message(body, msg.MODEL, prompted=True)
    assert parts(out) == ("weigh it", "Forty-two.")
    assert usage_of(out).usage.reasoning_estimated


# -- over loopback, with the real SDKs ------------------------------------------------------------

LANES = {"chat": "chat", "responses": "responses", "messages": "claude"}


def _system_sent(body: dict[str, object], fmt: str) -> object:
    if fmt == "chat":
        messages = body["messages"]
        assert isinstance(messages, list) and messages[0]["role"] == "system"
        return messages[0]["content"]
    return body["instructions" if fmt == "responses" else "system"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_instruction_goes_first_in_the_system_prompt_each_format_sends(
    server: DemoServer, runner: Runner, fmt: str
) -> None:
    lane = Lane(LANES[fmt], "demo-fast", LaneParams(think="prompted", system="Answer in French."))
    run_turn(runner, [lane])
    body = server.log[-1].body
    assert body is not None
    assert _system_sent(body, fmt) == f"{prompted.shipped_instruction()}\n\nAnswer in French."
    run_turn(runner, [Lane(LANES[fmt], "demo-fast", LaneParams(think="prompted"))])
    assert server.log[-1].body is not None
    assert _system_sent(server.log[-1].body, fmt) == prompted.shipped_instruction()
    run_turn(runner, [Lane(LANES[fmt], "demo-fast", LaneParams(system="Answer in French."))])
    assert server.log[-1].body is not None
    assert _system_sent(server.log[-1].body, fmt) == "Answer in French."  # not prompted: as it was


def test_the_users_instruction_from_config_is_the_one_sent(server: DemoServer) -> None:
    mine = "Reason first between <think> and </think>, briefly."
    table = lab_config(server)
    config = parse_config(
        {
            "think_instruction": mine,
            "providers": {
                "chat": {"kind": "openai-chat", "base_url": server.openai_base_url, "needs_key": False}
            },
        }
    )
    assert config.think_instruction == mine and table.think_instruction is None
    run_turn(
        Runner(config, KeyStore(), make_adapter), [Lane("chat", "demo-fast", LaneParams(think="prompted"))]
    )
    assert server.log[-1].body is not None
    assert _system_sent(server.log[-1].body, "chat") == mine


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("body", ["", "json"])
def test_a_prompted_block_comes_back_as_reasoning_over_the_wire(
    server: DemoServer, runner: Runner, fmt: str, body: str
) -> None:
    server.add("thinks-first", Script(answer="<think>I weigh it.</think>\n\nForty-two.", body=body))
    _, turn = run_turn(runner, [Lane(LANES[fmt], "thinks-first", LaneParams(think="prompted"))])
    [r] = turn.responses.values()
    assert r.status is Status.OK
    assert (r.reasoning, r.text) == ("I weigh it.", "Forty-two.")
    assert r.usage.reasoning_tokens == count_tokens("I weigh it.", "thinks-first").tokens
    assert r.usage.reasoning_estimated and not r.usage.estimated
    assert r.usage.output_tokens > r.usage.reasoning_tokens  # the server's total


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_model_that_ignores_the_instruction_over_the_wire(
    server: DemoServer, runner: Runner, fmt: str
) -> None:
    server.add("ignores-it", Script(answer="Forty-two, straight away."))
    _, turn = run_turn(runner, [Lane(LANES[fmt], "ignores-it", LaneParams(think="prompted"))])
    [r] = turn.responses.values()
    assert (r.status, r.reasoning, r.text) == (Status.OK, "", "Forty-two, straight away.")
    assert r.usage.reasoning_tokens == 0 and not r.usage.reasoning_estimated


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_stream_dropped_mid_thought_keeps_the_reasoning(
    server: DemoServer, runner: Runner, fmt: str
) -> None:
    thought = "a long chain of careful thought " * 20
    server.add("cut-off", Script(answer=f"<think>{thought}</think>never sent", fault="drop", after=30))
    _, turn = run_turn(runner, [Lane(LANES[fmt], "cut-off", LaneParams(think="prompted"))])
    [r] = turn.responses.values()
    assert r.status is Status.INTERRUPTED
    assert r.text == "" and len(r.reasoning) > 20 and thought.startswith(r.reasoning.rstrip("<"))
