"""The reasoning knob on the wire: for every preset and each knob value, the exact
request body the real SDK sent to the loopback server (less the fields every request
carries), or the refusal before anything was sent (no request logged)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from chatlab.core.data.events import ErrorKind, StreamError
from chatlab.core.data.model import Lane, LaneParams, Message, Request, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import PRESETS, Config, ConfigError, ProviderConfig
from chatlab.demo.server import DemoServer
from chatlab.providers import ADAPTERS, make_adapter
from tests.conftest import run_turn

EVERY_REQUEST = {"model", "messages", "stream", "stream_options", "input", "store"}


class No:
    """A refusal: the lane ends before sending, saying ``words``."""

    def __init__(self, words: str) -> None:
        self.words = words

    def __repr__(self) -> str:
        return f"No({self.words!r})"


Expected = dict[str, Any] | No
Table = dict[str | int, Expected]
OFF, LOW, MEDIUM, HIGH, BUDGET = "off", "low", "medium", "high", 4096


def effort(value: str) -> dict[str, Any]:
    return {"reasoning_effort": value}


ON_OFF = No("on or off only")
NO_BUDGET = No("takes no token budget")
ALWAYS = No("always reasons")
PLAIN = No("doesn't reason")


def on_off(off: dict[str, Any], on: dict[str, Any]) -> dict[str | int, Expected]:
    return {OFF: off, LOW: ON_OFF, MEDIUM: ON_OFF, HIGH: on, BUDGET: NO_BUDGET}


def passes(make: Any) -> dict[str | int, Expected]:
    return {
        OFF: make("none"),
        LOW: make("low"),
        MEDIUM: make("medium"),
        HIGH: make("high"),
        BUDGET: NO_BUDGET,
    }


GPT_OSS: Table = {
    OFF: ALWAYS,
    LOW: effort("low"),
    MEDIUM: effort("medium"),
    HIGH: effort("high"),
    BUDGET: NO_BUDGET,
}
ALWAYS_ON: Table = {OFF: ALWAYS, LOW: ALWAYS, MEDIUM: ALWAYS, HIGH: {}, BUDGET: NO_BUDGET}
NEVER: Table = {OFF: {}, LOW: PLAIN, MEDIUM: PLAIN, HIGH: PLAIN, BUDGET: NO_BUDGET}
LOW_HIGH: Table = {OFF: ALWAYS, LOW: effort("low"), MEDIUM: ALWAYS, HIGH: effort("high"), BUDGET: NO_BUDGET}


def claude_budget(n: int) -> dict[str, Any]:
    return {"thinking": {"type": "enabled", "budget_tokens": n}}


def responses(level: str) -> dict[str, Any]:
    return {"reasoning": {"summary": "auto", "effort": level}}


def template(key: str) -> dict[str | int, Expected]:
    return on_off({"chat_template_kwargs": {key: False}}, {"chat_template_kwargs": {key: True}})


def llamacpp(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "reasoning_format": "deepseek"}


# preset -> [(model, {knob value: the body's knob fields, or the refusal})]
CASES: dict[str, list[tuple[str, dict[str | int, Expected]]]] = {
    "openai": [
        ("gpt-5.1", {**passes(responses), OFF: responses("none")}),
        ("o4-mini", {OFF: ALWAYS, LOW: responses("low"), HIGH: responses("high"), BUDGET: NO_BUDGET}),
        ("gpt-4.1", {OFF: {}, HIGH: PLAIN}),
    ],
    "anthropic": [
        (
            "claude-sonnet-4-5",
            {
                OFF: {},
                LOW: claude_budget(2048),
                MEDIUM: claude_budget(8192),
                HIGH: claude_budget(16384),
                BUDGET: claude_budget(4096),
            },
        ),
        (
            "claude-opus-4-6",
            {
                OFF: {},
                **{
                    v: {"thinking": {"type": "adaptive"}, "output_config": {"effort": v}}
                    for v in (LOW, MEDIUM, HIGH)
                },
                BUDGET: NO_BUDGET,
            },
        ),
        ("claude-3-5-haiku-latest", {OFF: {}, LOW: No("can't be set to reasoning low")}),
    ],
    "openrouter": [
        (
            "anthropic/claude-sonnet-4.5",
            {
                OFF: {"reasoning": {"enabled": False}},
                LOW: {"reasoning": {"effort": "low"}},
                MEDIUM: {"reasoning": {"effort": "medium"}},
                HIGH: {"reasoning": {"effort": "high"}},
                BUDGET: {"reasoning": {"max_tokens": 4096}},
            },
        )
    ],
    "deepseek": [
        ("deepseek-chat", on_off({"thinking": {"type": "disabled"}}, {"thinking": {"type": "enabled"}})),
        ("deepseek-reasoner", ALWAYS_ON),
        (
            "deepseek-v4-pro",
            {
                OFF: {"thinking": {"type": "disabled"}},
                LOW: {"thinking": {"type": "enabled"}, "reasoning_effort": "low"},
                MEDIUM: No("runs medium as high"),
                HIGH: {"thinking": {"type": "enabled"}, "reasoning_effort": "high"},
                BUDGET: NO_BUDGET,
            },
        ),
    ],
    "xai": [
        ("grok-3-mini", LOW_HIGH),
        ("grok-4", ALWAYS_ON),
        ("grok-4.3", passes(effort)),
        ("grok-4-fast-non-reasoning", NEVER),
    ],
    "mistral": [
        ("magistral-medium-latest", ALWAYS_ON),
        ("mistral-small-latest", on_off(effort("none"), effort("high"))),
        ("mistral-large-latest", NEVER),
    ],
    "groq": [
        (
            "qwen/qwen3-32b",
            on_off(effort("none"), {"reasoning_effort": "default", "reasoning_format": "parsed"}),
        ),
        ("openai/gpt-oss-120b", GPT_OSS),
        ("llama-3.3-70b-versatile", NEVER),
    ],
    "together": [
        ("Qwen/Qwen3.5-9B", on_off({"reasoning": {"enabled": False}}, {"reasoning": {"enabled": True}})),
        ("openai/gpt-oss-120b", GPT_OSS),
        ("moonshotai/Kimi-K2-Thinking", ALWAYS_ON),
    ],
    "fireworks": [("accounts/fireworks/models/glm-4p6", passes(effort))],
    "cerebras": [("gpt-oss-120b", GPT_OSS), ("zai-glm-4.7", passes(effort)), ("llama-3.3-70b", NEVER)],
    "alibaba": [
        (
            "qwen-plus",
            {
                OFF: {"enable_thinking": False},
                LOW: ON_OFF,
                MEDIUM: ON_OFF,
                HIGH: {"enable_thinking": True},
                BUDGET: {"enable_thinking": True, "thinking_budget": 4096},
            },
        ),
        ("qwen-max", NEVER),
        ("qwq-plus", ALWAYS_ON),
    ],
    "moonshot": [
        ("kimi-k2.5", on_off({"thinking": {"type": "disabled"}}, {"thinking": {"type": "enabled"}})),
        ("kimi-k2-thinking", ALWAYS_ON),
        ("moonshot-v1-8k", NEVER),
    ],
    "azure": [
        ("gpt-5.1", {**passes(effort), BUDGET: NO_BUDGET}),
        ("o4-mini", {OFF: ALWAYS, LOW: effort("low")}),
    ],
    "ollama": [("qwen3:8b", passes(effort)), ("gpt-oss:20b", GPT_OSS)],
    "lmstudio": [("qwen/qwen3-8b", passes(effort))],
    "llamacpp": [
        (
            "qwen3-8b",
            {k: llamacpp(v) if isinstance(v, dict) else v for k, v in template("enable_thinking").items()},
        ),
        ("gpt-oss-20b", {OFF: ALWAYS, LOW: llamacpp({"chat_template_kwargs": {"reasoning_effort": "low"}})}),
    ],
    "vllm": [
        ("Qwen/Qwen3-8B", template("enable_thinking")),
        ("deepseek-ai/DeepSeek-V3.1", template("thinking")),
    ],
    "sglang": [("Qwen/Qwen3-8B", template("enable_thinking")), ("openai/gpt-oss-20b", GPT_OSS)],
    "demo": [("demo-hybrid", passes(effort))],
}

PARAMS = [
    pytest.param(preset, model, value, expected, id=f"{preset}-{model}-{value}")
    for preset, models in CASES.items()
    for model, table in models
    for value, expected in table.items()
]


def test_every_preset_but_gemini_has_cases() -> None:
    assert set(CASES) == set(PRESETS) - {"gemini"}


def on_server(server: DemoServer, preset: str) -> ProviderConfig:
    p = PRESETS[preset]
    base = server.anthropic_base_url if p.kind == "anthropic" else server.openai_base_url
    return replace(p, base_url=base, needs_key=False, max_retries=0)


def knob_fields(provider: ProviderConfig, body: dict[str, Any]) -> dict[str, Any]:
    skip = EVERY_REQUEST | ({"max_tokens"} if provider.kind == "anthropic" else set())
    return {k: v for k, v in body.items() if k not in skip}


@pytest.mark.parametrize("preset, model, value, expected", PARAMS)
def test_the_knob_on_the_wire(
    server: DemoServer, preset: str, model: str, value: str | int, expected: Expected
) -> None:
    provider = on_server(server, preset)
    server.add(model, server.scripts["demo-fast"])
    runner = Runner(Config(providers={preset: provider}), KeyStore(), make_adapter)
    lane = Lane(preset, model, LaneParams(reasoning=value))
    before = len(server.log)
    if isinstance(expected, No):
        with pytest.raises(ConfigError, match=expected.words):
            runner.check_lane(lane)
    _, turn = run_turn(runner, [lane])
    resp = turn.responses[lane.id]
    if isinstance(expected, No):
        assert len(server.log) == before, "a refused lane sent nothing"
        assert resp.status is Status.ERROR and resp.error is not None
        assert resp.error.kind is ErrorKind.BAD_REQUEST and expected.words in resp.error.message
        assert resp.error.message.startswith("not sent:")
        return
    assert resp.status is Status.OK, resp.error
    body = server.log[-1].body
    assert body is not None and body["model"] == model
    assert knob_fields(provider, body) == expected


@pytest.mark.parametrize("preset", ["openai", "anthropic", "deepseek"])
def test_an_adapter_refuses_before_sending_too(server: DemoServer, preset: str) -> None:
    """Called directly (not through a lane), an adapter still never sends a setting its
    model can't honour: it answers with the refusal, nothing started."""
    provider = on_server(server, preset)
    model = {"openai": "o4-mini", "anthropic": "claude-opus-4-6", "deepseek": "deepseek-chat"}[preset]
    values: dict[str, str | int] = {"openai": OFF, "anthropic": 2048, "deepseek": MEDIUM}
    value = values[preset]
    adapter = make_adapter(provider, None)
    request = Request(model, [Message("user", "hi")], LaneParams(reasoning=value))

    async def go() -> list[Any]:
        try:
            return [ev async for ev in adapter.stream(request)]
        finally:
            await adapter.aclose()

    before = len(server.log)
    events = asyncio.run(go())
    assert len(server.log) == before
    [event] = events
    assert isinstance(event, StreamError) and event.kind is ErrorKind.BAD_REQUEST and not event.started


def test_a_lane_without_the_knob_is_sent_as_before(server: DemoServer) -> None:
    provider = on_server(server, "deepseek")
    server.add("deepseek-chat", server.scripts["demo-fast"])
    runner = Runner(Config(providers={"deepseek": provider}), KeyStore(), make_adapter)
    run_turn(runner, [Lane("deepseek", "deepseek-chat", LaneParams(temperature=0.5))])
    body = server.log[-1].body
    assert body is not None and knob_fields(provider, body) == {"temperature": 0.5}


def test_gemini_preset_waits_for_its_adapter() -> None:
    if "gemini" not in ADAPTERS:
        pytest.skip("the Gemini adapter is not in this tree yet")
    assert PRESETS["gemini"].kind == "gemini" and PRESETS["gemini"].reasoning == "gemini"
