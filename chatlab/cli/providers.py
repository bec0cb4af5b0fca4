"""``chatlab providers``: every provider, built-in or configured, as a table: its wire
format, whether its API shows the model's reasoning, how the lane's reasoning knob is
sent (:mod:`chatlab.core.settings.reasoning`), the key's environment variable, and
whether it is ready (a key found, no key needed, or what is missing), then its endpoint.
"""

from __future__ import annotations

from typing import IO, Any

from chatlab.core.data.safety import display_url, terminal_text
from chatlab.core.settings import reasoning
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.builtin import REASONING_SHOWN
from chatlab.core.settings.config import ProviderConfig, load_config, paths

HEADER = ("provider", "wire format", "reasoning shown?", "reasoning knob", "key", "configured")


def _status(p: ProviderConfig, store: KeyStore) -> str:
    if p.api_version and not p.base_url:
        return "no: set its base_url (endpoint) in config.toml"
    if p.hint:  # a local server: nothing to configure, but it must be running
        return "no key needed; runs on this machine (not checked)"
    if not p.needs_key:
        return "yes (no key needed)"
    where = store.source(p).where
    return f"yes ({where})" if where != "missing" else "no key"


def _url(p: ProviderConfig) -> str:
    if p.base_url:
        return display_url(p.base_url)
    if p.api_version:
        return "its endpoint: base_url in config.toml"
    return "built-in loopback server" if p.name == "demo" else "default endpoint"


def rows(store: KeyStore | None = None) -> list[tuple[str, ...]]:
    """One row per provider (see :data:`HEADER`), by name."""
    store = store or KeyStore()
    out: list[tuple[str, ...]] = []
    for name, p in sorted(load_config().providers.items()):
        shown = REASONING_SHOWN.get(name, "unknown") if p.builtin else "unknown"
        key = " or ".join(p.env_candidates) if p.needs_key else "-"
        out.append((name, p.kind, shown, reasoning.dialect(p).words, key or "-", _status(p, store)))
    return out


def cmd_providers(args: Any, stdout: IO[str]) -> int:
    config = load_config()
    table = rows()
    widths = [max(len(r[i]) for r in [HEADER, *table]) for i in range(len(HEADER) - 1)]
    for row in [HEADER, *table]:
        cells = [terminal_text(c).ljust(w) for c, w in zip(row, widths, strict=False)]
        stdout.write("  ".join([*cells, terminal_text(row[-1])]).rstrip() + "\n")
    stdout.write("\nendpoints:\n")
    for name, p in sorted(config.providers.items()):
        stdout.write(f"  {terminal_text(name)}: {terminal_text(_url(p))}\n")
    stdout.write(
        f"config: {config.source or paths().config_file} ({'found' if config.source else 'absent'})\n"
    )
    return 0
