"""A key as pasted: whitespace around it is not part of it; a line break or a space inside
it can't be sent, and the lane says so before anything is sent, never showing the key."""

from __future__ import annotations

import pytest

from chatlab.core.data.model import Lane
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import ConfigError, parse_config
from chatlab.providers import make_adapter

SECRET = "sk-fake-01234567"  # not a key: a test value


def test_whitespace_around_a_key_is_not_part_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config({})
    keys = KeyStore()
    monkeypatch.setenv("OPENAI_API_KEY", f"  {SECRET}\n")
    assert keys.resolve(config.provider("openai")) == (SECRET, keys.source(config.provider("openai")))
    assert keys.problem(config.provider("openai")) is None
    monkeypatch.setenv("OPENAI_API_KEY", " \n ")  # only whitespace: no key at all
    assert keys.resolve(config.provider("openai"))[0] is None
    keys.set_for_session("anthropic", f"{SECRET}\r\n")
    assert keys.resolve(config.provider("anthropic"))[0] == SECRET


@pytest.mark.parametrize("inside", ["\n", "\r\n", " ", "\x7f", "\t"])
def test_a_key_with_a_break_inside_is_refused_before_sending_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", f"{SECRET[:10]}{inside}{SECRET[10:]}")
    runner = Runner(parse_config({}), KeyStore(), make_adapter)
    with pytest.raises(ConfigError) as caught:
        runner.check_lane(Lane("openai", "gpt-4.1"))
    message = str(caught.value)
    assert "key for openai (from environment variable OPENAI_API_KEY)" in message
    assert "set it again" in message
    assert SECRET[:10] not in message and SECRET[10:] not in message
