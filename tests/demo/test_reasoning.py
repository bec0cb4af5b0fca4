"""The demo models honour what a request asks about reasoning, in all three wire formats,
through the official SDKs over loopback: a plain model whose system prompt contains
``<think>`` writes a visible ``<think>`` block into its answer (ordinary output tokens),
and only then; demo-hybrid reasons natively only when given an effort or a thinking
budget, more the higher the effort; chatlab's own adapters send what makes it do so."""

from __future__ import annotations

from typing import Any

import pytest

from chatlab.core.data.model import Lane, LaneParams
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.presets import DEMO_LADDER_PRESET, shipped
from chatlab.demo.common import asked
from chatlab.demo.scripts import HYBRID, Asked
from chatlab.demo.server import DemoServer
from tests.conftest import run_turn
from tests.demo.wire import FORMATS, ask, effort_kwargs

THINK = "Think before you answer. Begin your reply with <think>, reason there, then close with </think>."
SYSTEM_FORMS = {
    "chat": ("plain", "developer"),
    "responses": ("plain", "input"),
    "anthropic": ("plain", "blocks"),
    "gemini": ("plain",),  # systemInstruction
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("model", ["demo-fast", "demo-coder", "demo-hybrid"])
def test_a_plain_model_asked_to_think_writes_a_think_block_before_its_answer(
    server: DemoServer, fmt: str, model: str
) -> None:
    plain = ask(server, fmt, f"{model}@tps=0", "Write a haiku.", system="Be brief.")
    assert "<think>" not in plain.text and plain.reasoning == "" and plain.reasoning_tokens == 0
    for form in SYSTEM_FORMS[fmt]:
        told = ask(server, fmt, f"{model}@tps=0", "Write a haiku.", system=THINK, system_form=form)
        assert told.text.startswith("<think>\n"), form
        thinking, _, answer = told.text.removeprefix("<think>\n").partition("\n</think>\n\n")
        assert answer == plain.text and len(thinking) > 400 and "\n\n" in thinking  # steps, then the answer
        # No native reasoning: the block is answer text, counted as ordinary output.
        assert told.reasoning == "" and told.reasoning_tokens == 0
        assert told.output_tokens > plain.output_tokens + 100


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_model_that_reasons_natively_ignores_the_instruction(server: DemoServer, fmt: str) -> None:
    reply = ask(server, fmt, "demo-reasoner@tps=0", "Write a haiku.", system=THINK)
    assert "<think>" not in reply.text and reply.reasoning and reply.reasoning_tokens > 0
    hybrid = ask(
        server, fmt, "demo-hybrid@tps=0", "Write a haiku.", system=THINK, **effort_kwargs(fmt, "low")
    )
    assert "<think>" not in hybrid.text and hybrid.reasoning_tokens == 300


@pytest.mark.parametrize("fmt", FORMATS)
def test_demo_hybrid_reasons_only_when_asked_and_more_at_a_higher_effort(
    server: DemoServer, fmt: str
) -> None:
    for effort in (None, "none"):
        reply = ask(server, fmt, "demo-hybrid@tps=0", "Write a haiku.", **effort_kwargs(fmt, effort))
        assert reply.reasoning == "" and reply.reasoning_tokens == 0, effort
        assert reply.text.startswith("Autumn rain falls down")
    shown, counted, answers = [], [], []
    for effort in ("low", "medium", "high"):
        reply = ask(server, fmt, "demo-hybrid@tps=0", "Write a haiku.", **effort_kwargs(fmt, effort))
        shown.append(len(reply.reasoning))
        counted.append(reply.reasoning_tokens)
        answers.append(reply.text)
        assert reply.output_tokens > reply.reasoning_tokens  # reasoning is part of the output
    assert counted == [300, 1_000, 3_000]
    assert 0 < shown[0] < shown[1] < shown[2]  # the summary it shows grows too
    assert answers == [HYBRID[e].answer for e in ("low", "medium", "high")]


def test_anthropic_adaptive_thinking_reasons_at_its_effort(server: DemoServer) -> None:
    counted = []
    for effort in ("low", "medium", "high", None):
        extra: dict[str, Any] = {"thinking": {"type": "adaptive"}}
        if effort:
            extra["output_config"] = {"effort": effort}
        counted.append(
            ask(server, "anthropic", "demo-hybrid@tps=0", "Write a haiku.", **extra).reasoning_tokens
        )
    assert counted == [300, 1_000, 3_000, 3_000]  # no effort: Anthropic's default, high


@pytest.mark.parametrize(
    ("fmt", "body", "effort"),
    [
        ("chat", {"reasoning_effort": "minimal"}, "low"),
        ("chat", {"reasoning_effort": "xhigh"}, "high"),
        ("chat", {"reasoning_effort": "none"}, "none"),
        ("chat", {"reasoning": {"effort": "medium"}}, "medium"),  # OpenRouter's form
        ("chat", {"reasoning": {"max_tokens": 1024}}, "low"),
        ("chat", {"reasoning_effort": "lots"}, "none"),
        ("responses", {"reasoning": {"summary": "auto"}}, "medium"),  # OpenAI's default effort
        ("responses", {"reasoning": {"effort": "max"}}, "high"),
        ("responses", {"reasoning_effort": "high"}, "none"),  # not how Responses asks
        ("anthropic", {"thinking": {"type": "enabled", "budget_tokens": 4095}}, "low"),
        ("anthropic", {"thinking": {"type": "enabled", "budget_tokens": 4096}}, "medium"),
        ("anthropic", {"thinking": {"type": "enabled", "budget_tokens": 12288}}, "high"),
        ("anthropic", {"thinking": {"type": "disabled"}}, "none"),
        ("anthropic", {"thinking": "yes"}, "none"),
        ("anthropic", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}, "low"),
    ],
)
def test_the_effort_a_request_asks_for(fmt: str, body: dict[str, Any], effort: str) -> None:
    assert asked(fmt, {"model": "m", "messages": [], **body}).effort == effort


def test_where_each_wire_format_carries_a_system_prompt() -> None:
    user = {"role": "user", "content": "Hi <think>"}  # a user message doesn't count
    assert asked("chat", {"messages": [user]}) == Asked("none", False, "Hi <think>")
    assert asked("chat", {"messages": [{"role": "system", "content": [{"text": "<think>"}]}, user]}).prompted
    assert asked("responses", {"instructions": "<think>", "input": "Hi"}) == Asked("none", True, "Hi")
    assert asked("responses", {"input": [{"role": "developer", "content": "<think>"}, user]}).prompted
    assert asked("anthropic", {"system": [{"type": "text", "text": "<think>"}], "messages": [user]}).prompted
    assert not asked("anthropic", {"system": "think hard", "messages": [user]}).prompted


@pytest.mark.parametrize("provider", ["chat", "responses", "claude"])
def test_chatlab_lanes_get_the_hybrid_to_reason_at_their_effort(runner: Runner, provider: str) -> None:
    """The shipped effort-ladder preset's lanes, a lane with no effort and one at medium,
    through chatlab's own adapters (which choose how each wire format asks)."""
    (ladder,) = [p for p in shipped() if p.name == DEMO_LADDER_PRESET]
    assert ladder.specs() == ["demo:demo-hybrid"] * 3
    lanes = [
        Lane(provider, "demo-hybrid@tps=0"),
        *(Lane(provider, "demo-hybrid@tps=0", e.params, e.label) for e in ladder.entries),
        Lane(provider, "demo-hybrid@tps=0", LaneParams(reasoning_effort="medium")),
    ]
    _, turn = run_turn(runner, lanes)
    counts = [turn.responses[lane.id].usage.reasoning_tokens for lane in lanes]
    texts = [turn.responses[lane.id].reasoning for lane in lanes]
    assert counts == [0, 0, 300, 3_000, 1_000] and texts[0] == texts[1] == "" and all(texts[2:])
