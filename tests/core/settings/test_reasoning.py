"""The one reasoning knob: which settings each model honours, why the rest are refused,
and what is sent for each (the provider's own parameter, or body fields)."""

from __future__ import annotations

import pytest

from chatlab.core.data.model import LaneParams
from chatlab.core.settings import reasoning
from chatlab.core.settings.config import PRESETS, ConfigError, ProviderConfig, parse_config
from chatlab.core.settings.presets import lane_from_spec

OPENAI, CLAUDE = PRESETS["openai"], PRESETS["anthropic"]
GEMINI = ProviderConfig("google", "gemini", vendor="google")


def sent(provider: ProviderConfig, model: str, value: str | int) -> reasoning.Sent:
    return reasoning.translate(provider, model, LaneParams(reasoning=value))


@pytest.mark.parametrize(
    "value, problem",
    [
        ("high", None),
        (0, "at least 1"),
        ("max", "reasoning must be off, low, medium, high"),
        (True, "wrong type"),
    ],
)
def test_the_knob_takes_a_level_or_a_positive_budget(value: object, problem: str | None) -> None:
    params = LaneParams(reasoning=value)  # type: ignore[arg-type]
    if problem is None:
        params.validate()
    else:
        with pytest.raises(ValueError, match=problem):
            params.validate()


def test_the_knob_and_the_older_parameters_are_not_set_together() -> None:
    with pytest.raises(ValueError, match="not both"):
        LaneParams(reasoning="high", reasoning_effort="low").validate()
    with pytest.raises(ValueError, match="its own reasoning off"):
        LaneParams(reasoning="high", think="prompted").validate()
    LaneParams(reasoning="off", think="prompted").validate()  # the prompted control on a hybrid


def test_a_spec_and_a_preset_read_the_knob_as_a_level_or_a_budget() -> None:
    assert lane_from_spec("anthropic:claude-sonnet-4-5{reasoning=4096}").params.reasoning == 4096
    assert lane_from_spec("openai:o3{reasoning=low}").params.reasoning == "low"
    with pytest.raises(ConfigError, match="reasoning must be"):
        lane_from_spec("openai:o3{reasoning=lots}")


def test_openai_takes_an_effort_and_refuses_a_budget_or_off_where_it_always_reasons() -> None:
    assert sent(OPENAI, "o4-mini", "low").params.reasoning_effort == "low"
    assert sent(OPENAI, "gpt-5.1", "off").params.reasoning_effort == "none"
    why = reasoning.problem(OPENAI, "o4-mini", LaneParams(reasoning="off"))
    assert why is not None and "always reasons" in why
    why = reasoning.problem(OPENAI, "o4-mini", LaneParams(reasoning=2048))
    assert why is not None and "no token budget" in why
    assert reasoning.problem(OPENAI, "gpt-4.1", LaneParams(reasoning="high")) is not None
    assert sent(OPENAI, "gpt-4.1", "off").params == LaneParams()  # nothing to turn off
    with pytest.raises(reasoning.KnobError):
        sent(OPENAI, "o3", 1000)


def test_claude_takes_a_budget_up_to_4_5_and_an_adaptive_effort_from_4_6() -> None:
    assert sent(CLAUDE, "claude-sonnet-4-5", "medium").params.thinking_budget == 8192
    assert sent(CLAUDE, "claude-sonnet-4-5", 3000).params.thinking_budget == 3000
    assert sent(CLAUDE, "claude-sonnet-4-5", "off").params.thinking_budget == 0
    assert sent(CLAUDE, "claude-opus-4-6", "high").params.reasoning_effort == "high"
    why = reasoning.problem(CLAUDE, "claude-opus-4-6", LaneParams(reasoning=3000))
    assert why is not None and "no token budget" in why
    why = reasoning.problem(CLAUDE, "claude-sonnet-4-5", LaneParams(reasoning=100))
    assert why is not None and "from 1,024" in why
    assert reasoning.problem(CLAUDE, "claude-3-5-haiku-latest", LaneParams(reasoning="low")) is not None


def test_gemini_takes_a_budget_on_2_5_and_a_level_on_3() -> None:
    body = sent(GEMINI, "gemini-2.5-flash", "off").body
    assert body == {"thinking_config": {"thinking_budget": 0}}
    assert sent(GEMINI, "gemini-2.5-pro", "high").body == {"thinking_config": {"thinking_budget": 32768}}
    assert sent(GEMINI, "gemini-2.5-flash", "high").body == {"thinking_config": {"thinking_budget": 24576}}
    assert sent(GEMINI, "gemini-2.5-flash", 5000).body == {"thinking_config": {"thinking_budget": 5000}}
    assert sent(GEMINI, "gemini-3-pro-preview", "low").body == {"thinking_config": {"thinking_level": "low"}}
    cases: list[tuple[str, str | int]] = [
        ("gemini-2.5-pro", "off"),
        ("gemini-3-pro-preview", "off"),
        ("gemini-3-pro", 2048),
    ]
    for model, value in cases:
        assert reasoning.problem(GEMINI, model, LaneParams(reasoning=value)) is not None, (model, value)
    why = reasoning.problem(GEMINI, "gemini-2.5-pro", LaneParams(reasoning=64))
    assert why is not None and "from 128 to 32,768" in why


def test_a_lane_without_the_knob_is_sent_as_it_was() -> None:
    params = LaneParams(reasoning_effort="high", temperature=0.5)
    assert reasoning.translate(OPENAI, "o3", params) == reasoning.Sent(params)


def test_a_provider_names_its_dialect_in_config_and_an_unknown_one_is_refused() -> None:
    config = parse_config({"providers": {"p": {"kind": "openai-chat", "reasoning": "openrouter"}}})
    assert reasoning.dialect(config.provider("p")).name == "openrouter"
    with pytest.raises(ConfigError, match="reasoning must be one of"):
        parse_config({"providers": {"p": {"kind": "openai-chat", "reasoning": "telepathy"}}})


def test_the_older_settings_are_held_to_the_same_rules_where_they_mean_the_same() -> None:
    """An effort of none is off, a thinking budget is a budget: o4-mini refuses both, as
    it refuses the knob's off and budgets; efforts the knob has no word for pass on."""
    why = reasoning.problem(OPENAI, "o4-mini", LaneParams(reasoning_effort="none"))
    assert why is not None and "can't be set to reasoning effort none (reasoning off)" in why
    why = reasoning.problem(OPENAI, "o4-mini", LaneParams(thinking_budget=4096))
    assert why is not None and "takes no token budget: it takes low, medium or high" in why
    assert reasoning.problem(OPENAI, "gpt-5.1-codex-max", LaneParams(reasoning_effort="xhigh")) is None
    assert reasoning.problem(CLAUDE, "claude-sonnet-4-5", LaneParams(thinking_budget=0)) is None


def test_claudes_budget_must_leave_room_under_the_max_output_said_before_sending() -> None:
    why = reasoning.problem(
        CLAUDE, "claude-sonnet-4-5", LaneParams(reasoning="medium", max_output_tokens=4096)
    )
    assert why == (
        "max output tokens (4,096) must be larger than the 8,192-token thinking budget reasoning medium sends"
    )
    why = reasoning.problem(CLAUDE, "claude-sonnet-4-5", LaneParams(reasoning=3000, max_output_tokens=3000))
    assert why == "max output tokens (3,000) must be larger than the 3,000-token thinking budget"
    assert (
        reasoning.problem(CLAUDE, "claude-sonnet-4-5", LaneParams(reasoning="low", max_output_tokens=4096))
        is None
    )
    assert (
        reasoning.problem(CLAUDE, "claude-opus-4-6", LaneParams(reasoning="high", max_output_tokens=1000))
        is None
    )


def test_a_refusal_says_everything_the_model_takes_once() -> None:
    gemini = reasoning.problem(GEMINI, "gemini-2.5-pro", LaneParams(reasoning="off"))
    assert gemini is not None and "it takes low, medium, high or a budget of 128–32,768 tokens" in gemini
    openai = reasoning.problem(OPENAI, "o4-mini", LaneParams(reasoning=1000))
    assert openai == "o4-mini takes no token budget: it takes low, medium or high"
    assert reasoning.support(CLAUDE, "claude-opus-4-1").budget == (1024, 31_999)
    with pytest.raises(ValueError, match="at most"):
        LaneParams(reasoning=10**20).validate()


def test_the_demos_models_take_what_their_scripts_do() -> None:
    """The hybrid takes every level (sent as reasoning_effort); the reasoners always
    reason (high, nothing sent); the plain models take off only."""
    demo = PRESETS["demo"]
    assert (
        reasoning.translate(demo, "demo-hybrid@tps=0", LaneParams(reasoning="low")).params.reasoning_effort
        == "low"
    )
    assert (
        reasoning.translate(demo, "demo-hybrid", LaneParams(reasoning="off")).params.reasoning_effort
        == "none"
    )
    assert reasoning.translate(demo, "demo-reasoner", LaneParams(reasoning="high")).params == LaneParams()
    why = reasoning.problem(demo, "demo-fast@tps=0", LaneParams(reasoning="high"))
    assert why is not None and "demo-fast doesn't reason" in why
    why = reasoning.problem(demo, "demo-hidden", LaneParams(reasoning="off"))
    assert why is not None and "always reasons" in why
