"""API keys: the OS keychain first, then environment variables, never a file.

Keys live in keyring under service ``chatlab`` with the provider's name as user. If
the keychain is missing or broken (``keyring`` raises), :class:`KeyStore` says so via
:class:`NoKeychain` and can hold a key in memory for this process only. The value of a
key is never logged, printed or written anywhere by chatlab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from chatlab.core.settings.config import ProviderConfig

SERVICE = "chatlab"


class NoKeychain(Exception):
    """No usable OS keychain; the message explains why."""


@dataclass(frozen=True)
class KeySource:
    """Where a provider's key comes from: ``keychain``, ``session``, ``env:NAME`` or ``missing``."""

    where: str

    @property
    def found(self) -> bool:
        return self.where != "missing"


def _keyring_error(exc: Exception) -> NoKeychain:
    return NoKeychain(
        f"no usable OS keychain ({type(exc).__name__}: {exc}). "
        "Keys can come from environment variables instead; chatlab never writes them to disk."
    )


class KeyStore:
    """Reads and writes keys; one instance per process."""

    def __init__(self) -> None:
        self._session: dict[str, str] = {}

    def keychain_available(self) -> bool:
        try:
            import keyring

            keyring.get_password(SERVICE, "__probe__")
        except Exception:
            return False
        return True

    def _keychain_get(self, name: str) -> str | None:
        try:
            import keyring

            value: str | None = keyring.get_password(SERVICE, name)
            return value
        except Exception:
            return None

    def set(self, name: str, secret: str) -> None:
        """Store in the keychain; raises :class:`NoKeychain` when there is none."""
        try:
            import keyring

            keyring.set_password(SERVICE, name, secret)
        except Exception as exc:
            raise _keyring_error(exc) from None

    def set_for_session(self, name: str, secret: str) -> None:
        self._session[name] = secret

    def delete(self, name: str) -> bool:
        removed = self._session.pop(name, None) is not None
        try:
            import keyring

            keyring.delete_password(SERVICE, name)
            removed = True
        except Exception:
            pass
        return removed

    def resolve(self, provider: ProviderConfig) -> tuple[str | None, KeySource]:
        """The provider's key and where it came from. Whitespace around a key (the line
        break a paste or ``echo`` leaves) is not part of it."""
        value = (self._keychain_get(provider.name) or "").strip()
        if value:
            return value, KeySource("keychain")
        session = self._session.get(provider.name, "").strip()
        if session:
            return session, KeySource("session")
        for env in provider.env_candidates:
            value = os.environ.get(env, "").strip()
            if value:
                return value, KeySource(f"env:{env}")
        return None, KeySource("missing")

    def problem(self, provider: ProviderConfig) -> str | None:
        """Why the provider's key can't be sent (a line break, a space, another control
        character or a non-ASCII one inside it: no HTTP header can carry it), or None.
        Never shows the key, nor any character of it."""
        value, source = self.resolve(provider)
        if value is None or (value.isascii() and value.isprintable() and " " not in value):
            return None
        where = source.where.replace("env:", "environment variable ")
        return (
            f"the key for {provider.name} (from {where}) has a line break, a space, another "
            "control character or a non-ASCII character inside it: set it again"
        )

    def source(self, provider: ProviderConfig) -> KeySource:
        return self.resolve(provider)[1]
