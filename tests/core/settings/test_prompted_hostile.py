"""A hostile ``think_instruction`` in config.toml: each is one ConfigError line naming
the key, never a traceback and never an instruction sent that can't work (the tags in
the wrong order, control characters a provider refuses or a terminal obeys)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.core.settings.config import ConfigError, parse_config

pytestmark = pytest.mark.hostile


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        (
            'think_instruction = "Answer, then </think> reflect <think>"',
            "must contain <think> and then </think>",
        ),
        ('think_instruction = "<think>\\u0000</think>"', "control character (U+0000) at character 8"),
        ('think_instruction = "\\u001b[2J<think></think>"', "control character (U+001B) at character 1"),
        ('think_instruction = "<think>\\u0085</think>"', "control character (U+0085)"),
        (
            'think_instruction = "<think></think>' + "x" * 1_000_000 + '"',
            "at most 4,000 characters, got 1,000,015",
        ),
        ("think_instruction = 1e400", "must be a string"),
        ("think_instruction = { text = '<think></think>' }", "must be a string"),
        ("think_instruction = 2024-01-01", "must be a string"),
    ],
    ids=["tags reversed", "NUL", "escape", "C1 control", "1 MB", "a float", "a table", "a date"],
)
def test_a_hostile_instruction_is_one_config_error_line(toml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(tomllib.loads(toml))
    message = str(info.value)
    assert message.startswith("config: think_instruction ") and problem in message
    assert "\n" not in message and len(message) < 200


def test_tabs_line_breaks_and_a_second_block_are_fine() -> None:
    text = "Think\tfirst:\r\n<think> … </think>, then answer. Never <think> twice."
    assert parse_config({"think_instruction": text}).think_instruction == text


def test_chatlab_ask_with_a_hostile_instruction_says_so_in_one_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('think_instruction = "\\u001b]0;pwned\\u0007<think></think>"\n')
    code = cli.main(["ask", "-m", "demo:demo-fast{think=prompted}", "hi"])
    out, err = capsys.readouterr()
    assert code != 0 and "think_instruction has a control character (U+001B)" in err
    assert "\x1b" not in out + err and "Traceback" not in err
