"""Guards for untrusted text and numbers: what a provider, a file or a user may send.

Model output, provider error messages and imported files are untrusted. This module holds
the small, pure rules chatlab applies to them wherever they enter or leave: lone UTF-16
surrogates become U+FFFD (SQLite, JSON and terminals can't carry them); token counts must
be integers from 0 to 2**53 and costs finite and non-negative; a lane's own API key is
redacted from any text before it reaches the screen, the database or an export, also
when the key arrives split across stream chunks or is quoted escaped (a key pasted with
its newline, in an HTTP library's complaint); and control characters are shown as
visible escapes on a terminal, so model text can't clear the screen or retitle the
window. The functions are cheap on clean input (one C-level scan) because they run on
every streamed chunk.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

MAX_COUNT = 2**53  # the largest integer every JSON reader can hold exactly
MAX_COST_USD = 1e9  # a bound on any one response's cost; anything above is nonsense
MIN_SECRET_LEN = 8  # shorter "keys" (e.g. "x" for a local server) are not redacted

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a no-op on valid text)."""
    if not _SURROGATE.search(text):
        return text
    # A str can hold a surrogate pair as two code points (from a JSON "\\ud83d\\ude00" read
    # by a lenient decoder); the round trip joins such pairs and replaces the lone ones.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def first_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in ``text``, or None."""
    m = _SURROGATE.search(text)
    return None if m is None else m.start()


# -- numbers ---------------------------------------------------------------------------


def count_problem(value: Any) -> str | None:
    """Why ``value`` is not a token count (an int from 0 to 2**53), or None if it is."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        else:
            return f"{show(value)} is not a whole number"
    if value < 0:
        return f"{show(value)} is negative"
    if value > MAX_COUNT:
        return f"{show(value)} is out of range"
    return None


def cost_problem(value: Any) -> str | None:
    """Why ``value`` is not a cost in USD (finite, from 0 to 1e9), or None if it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{show(value)} is not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{show(value)} is not finite"
    if value < 0:
        return f"{show(value)} is negative"
    if value > MAX_COST_USD:
        return f"{show(value)} is out of range"
    return None


def show(value: Any, width: int = 40) -> str:
    """A short, safe rendering of an untrusted value for a message."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        digits = len(str(abs(value)))  # str() of a 10**400 would be 400 digits
        return f"{'-' if value < 0 else ''}a {digits}-digit integer"
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "…"


def usage_note(problem: str) -> str:
    """The note kept with a response whose reported usage was dropped."""
    return (
        f"The provider reported token usage chatlab can't believe ({problem}), "
        "so the counts shown are chatlab's estimates (≈)."
    )


def cost_note(problem: str) -> str:
    """The note kept with a response whose reported cost was dropped."""
    return (
        f"The provider reported a cost chatlab can't believe ({problem}), "
        "so the cost shown uses the price table."
    )


UNICODE_NOTE = "The provider sent text that is not valid Unicode; chatlab shows those characters as \ufffd."


# -- secrets -----------------------------------------------------------------------------


_SECRETS: set[str] = set()


def register_secret(secret: str) -> None:
    """Remember a key this process uses, so that its log can redact it."""
    if len(secret) >= MIN_SECRET_LEN:
        _SECRETS.add(secret)


def known_secrets() -> tuple[str, ...]:
    return tuple(_SECRETS)


def mask_secret(secret: str) -> str:
    """How a redacted key reads: its first three and last four characters, or ``[key]``."""
    if len(secret) >= 16:
        return f"{secret[:3]}…{secret[-4:]}"
    return "[key]"


_BREAKS = re.compile(r"[\s\x00-\x1f\x7f]+")


def secret_forms(secret: str) -> list[str]:
    """What to redact for ``secret``, longest first: the key itself and, for a key holding a
    line break or other control character (pasted with its newline), each run of it
    between them, because an HTTP library refusing the key quotes it escaped
    (``b'sk-…\\r\\n'``), where the raw key no longer matches."""
    forms = {secret} if len(secret) >= MIN_SECRET_LEN else set()
    if _BREAKS.search(secret):
        forms.update(p for p in _BREAKS.split(secret) if len(p) >= MIN_SECRET_LEN)
    return sorted(forms, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (each of its :func:`secret_forms`)
    replaced by its mask."""
    for secret in secrets:
        for form in secret_forms(secret):
            if form in text:
                text = text.replace(form, mask_secret(form))
    return text


class StreamRedactor:
    """Redacts secrets from text that arrives in pieces, without delaying clean text.

    A piece is passed on at once, except for a tail that could be the start of a secret
    (a key split across two chunks); that tail is held until the next piece shows
    whether it was, or until :meth:`flush`. With no secrets it is a pass-through.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {form for secret in secrets for form in secret_forms(secret)}
        self.secrets = sorted(forms, key=len, reverse=True)
        self._held = ""

    def feed(self, text: str) -> str:
        if not self.secrets:
            return text
        buf = self._held + text
        buf = redact(buf, self.secrets)
        keep = self._partial_tail(buf)
        self._held = buf[len(buf) - keep :] if keep else ""
        return buf[: len(buf) - keep] if keep else buf

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    def _partial_tail(self, buf: str) -> int:
        """The length of the longest tail of ``buf`` that is a proper prefix of a secret."""
        best = 0
        for secret in self.secrets:
            start = max(0, len(buf) - len(secret) + 1)
            head = secret[0]
            i = buf.find(head, start)
            while i != -1:
                if secret.startswith(buf[i:]):
                    best = max(best, len(buf) - i)
                    break
                i = buf.find(head, i + 1)
        return best


def display_url(url: str) -> str:
    """``url`` without a user name or password (``http://user:pass@host`` → ``http://…@host``)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="…@" + parts.netloc.rsplit("@", 1)[1]))


# -- terminals ---------------------------------------------------------------------------

# C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides and isolates
# that can make text read differently from what it is.
# C0 and C1 controls (newline and tab aside), bidi embeddings, overrides and isolates, and
# the invisible marks that make two different strings look the same (zero-width space,
# LRM/RLM, word joiner and invisible operators, BOM). Joiners that shape text (ZWJ in an
# emoji sequence, ZWNJ in Persian) are left alone.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def visible_controls(text: str) -> str:
    """Control characters as visible escapes (``\\x1b``, ``\\u202e``); newline and tab kept."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _escape(m.group()), text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str) -> str:
    """Text for a terminal or a plain-text pipe: valid Unicode, controls made visible."""
    return visible_controls(clean_text(text))
