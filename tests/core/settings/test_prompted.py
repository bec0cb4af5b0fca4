"""The think-first instruction of a ``think = "prompted"`` lane: shipped as a resource,
replaceable in config.toml (checked, a bad one is one ConfigError line), composed before
the lane's own system prompt, and kept when chatlab rewrites config.toml."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from chatlab.core.data.model import LaneParams
from chatlab.core.data.resources import resources_dir
from chatlab.core.settings import prompted
from chatlab.core.settings.config import ConfigError, dump_config, load_config, parse_config, save_config


def test_the_shipped_instruction_is_a_resource_that_passes_its_own_check() -> None:
    text = prompted.shipped_instruction()
    assert text == (resources_dir() / "prompts" / "think-prompted.txt").read_text("utf-8").strip()
    assert prompted.instruction_problem(text) is None
    assert "<think>" in text and "</think>" in text  # the demo server detects the mode by <think>


def test_the_instruction_goes_before_the_lanes_own_system_prompt() -> None:
    told = prompted.shipped_instruction()
    assert prompted.system_for(LaneParams(think="prompted")) == told
    assert prompted.system_for(LaneParams(think="prompted", system="Be brief.")) == f"{told}\n\nBe brief."
    assert prompted.system_for(LaneParams(system="Be brief.")) == "Be brief."
    assert prompted.system_for(LaneParams()) is None
    mine = "Think in <think></think> first."
    assert prompted.system_for(LaneParams(think="prompted"), mine) == mine
    params = LaneParams(think="prompted", system="Be brief.", temperature=0.2)
    sent = prompted.request_params(params, mine)
    assert sent == LaneParams(think="prompted", system=f"{mine}\n\nBe brief.", temperature=0.2)
    assert prompted.request_params(LaneParams(system="x")) == LaneParams(system="x")


def test_a_users_instruction_replaces_the_shipped_one_and_survives_a_rewrite(home: Path) -> None:
    home.mkdir(parents=True)
    mine = 'Plan inside <think> and </think>, then answer.\nQuote "freely".'
    (home / "config.toml").write_text(
        f'think_instruction = {json.dumps(mine)}\n[providers.x]\nkind = "anthropic"\n'
    )
    config = load_config()
    assert config.think_instruction == mine
    save_config(config)  # what the Settings dialog does
    assert load_config().think_instruction == mine
    assert parse_config(tomllib.loads(dump_config(parse_config({})))).think_instruction is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "must not be empty"),
        ("   \n", "must not be empty"),
        ("Think first, then answer.", "must contain <think> and then </think>"),
        ("Think in <think> only.", "must contain <think> and then </think>"),
        ("<think></think>" + "x" * 5000, "at most 4,000 characters"),
        (42, "must be a string"),
        (["<think></think>"], "must be a string"),
    ],
    ids=["empty", "blank", "no tags", "no closing tag", "too long", "a number", "a list"],
)
def test_a_bad_instruction_is_one_config_error_line(value: object, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"think_instruction": value})
    message = str(info.value)
    assert message.startswith("config: think_instruction ") and problem in message and "\n" not in message


def test_an_instruction_that_is_not_valid_unicode_is_refused() -> None:
    assert prompted.instruction_problem("<think>\ud800</think>") == "is not valid Unicode"
