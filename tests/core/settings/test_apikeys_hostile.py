"""Hostile keys checked before sending (Runner.check_lane through KeyStore.problem): a
key that is only Unicode spaces is missing; a zero-width space, a no-break space or any
non-ASCII character inside one is refused before a request is built (no HTTP header can
carry it; sent, the HTTP layer's error would quote the character); a 100 KB key is
passed on. No message shows the key or any character of it."""

from __future__ import annotations

import pytest

from chatlab.core.data.model import Lane
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import ConfigError, parse_config
from chatlab.providers import make_adapter


class SessionOnly(KeyStore):
    """A key store that never reads the OS keychain: only the session's keys."""

    def _keychain_get(self, name: str) -> str | None:
        return None


def check(key: str) -> str | None:
    keys = SessionOnly()
    keys.set_for_session("p", key)
    config = parse_config({"providers": {"p": {"kind": "openai-chat", "base_url": "http://127.0.0.1:9"}}})
    try:
        Runner(config, keys, make_adapter).check_lane(Lane("p", "m"))
    except ConfigError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("key", ["\u00a0\u2003", "\u2003", "\u00a0 \u3000\n"])
def test_only_unicode_spaces_is_no_key(key: str) -> None:
    message = check(key)
    assert message is not None and message.startswith("no API key for provider 'p'")


@pytest.mark.parametrize(
    "key",
    [
        "sk-ab\u200bcdefghijkl",  # zero-width space
        "sk-ab\u00a0cdefghijkl",  # no-break space
        "sk-ключ-abcdefghijkl",  # printable, but not ASCII
        "sk-abcdéfghijklmnop",
        "\u200b",
    ],
)
def test_non_ascii_inside_is_refused_without_showing_it(key: str) -> None:
    message = check(key)
    assert message is not None and "set it again" in message
    assert all(ch not in message for ch in key.strip("\u200b") if not ch.isascii())
    assert "sk-" not in message and key.strip() not in message


def test_a_100kb_key_passes_the_check() -> None:
    assert check("sk-" + "a" * 100_000) is None
