"""The reasoning knob from a lane spec (``chatlab ask -m 'PROVIDER:MODEL{reasoning=…}'``)
under attack: every odd value is a one-line ConfigError, never a raw exception, and only
ASCII digits make a token budget."""

from __future__ import annotations

import pytest

from chatlab.core.settings.config import ConfigError
from chatlab.core.settings.presets import lane_from_spec

pytestmark = pytest.mark.hostile


@pytest.mark.parametrize(
    "value", ["-1", "1e9", "99999999999999999999", "HIGH", "", "1_000", "\u00b2", "\u0663", "\uff10"]
)
def test_an_odd_reasoning_value_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError) as found:  # '²' raised int()'s ValueError: a traceback
        lane_from_spec(f"openai:o3{{reasoning={value}}}")
    assert "\n" not in str(found.value) and "reasoning" in str(found.value)


def test_ascii_digits_are_a_budget() -> None:
    assert lane_from_spec("anthropic:claude-sonnet-4-5{reasoning=2048}").params.reasoning == 2048
