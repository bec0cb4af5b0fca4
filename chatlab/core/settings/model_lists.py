"""Each provider's model list as last fetched (``GET /models``), kept in the cache folder
so the lane editor shows it at once and fetches again only on request; and the few words
the list shows beside each model (whether it reasons, which reasoning settings it takes).

One JSON file per provider under ``paths().cache_dir / "models"``: the provider's name,
the address the list came from, when it was fetched (seconds since the epoch) and the
model ids. A list fetched from another address (the provider's ``base_url`` changed) is
not shown. A file that can't be read, isn't JSON, has the wrong shape or is larger than
:data:`MAX_BYTES` is ignored, never an error: the cache only saves a wait (only a regular
file is read, and without waiting: a FIFO or a link to ``/dev/zero`` in its place can't
hang the lane editor). The ids are the provider's output, so untrusted: each is made
valid Unicode on one line and cut to :data:`MAX_ID_CHARS`, and at most
:data:`MAX_MODELS` are kept. Nothing here imports Qt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chatlab.core.data.safety import clean_text
from chatlab.core.settings import families, reasoning
from chatlab.core.settings.config import ProviderConfig, paths

log = logging.getLogger(__name__)

MAX_BYTES = 4_000_000  # a cache file larger than this is not read
MAX_MODELS = 20_000  # OpenRouter lists about 400; a list longer than this is cut
MAX_ID_CHARS = 300
VERSION = 1


@dataclass(frozen=True)
class ModelList:
    """A provider's models as fetched at ``fetched`` (seconds since the epoch) from ``base_url``."""

    provider: str
    models: tuple[str, ...]
    fetched: float
    base_url: str | None = None


def clean_models(models: Iterable[object]) -> tuple[str, ...]:
    """The ids of ``models`` fit to show: strings only, on one line, valid Unicode, not
    empty, cut to :data:`MAX_ID_CHARS`, each once, in the order given, at most :data:`MAX_MODELS`."""
    seen: dict[str, None] = {}
    for model in models:
        if not isinstance(model, str):
            continue
        model = model[: MAX_ID_CHARS * 4]  # a 100k-character id is cut before it is cleaned
        text = " ".join("".join(ch if ch.isprintable() else " " for ch in clean_text(model)).split())
        if text:
            seen.setdefault(text[:MAX_ID_CHARS], None)
        if len(seen) >= MAX_MODELS:
            break
    return tuple(seen)


class ModelListCache:
    """The model lists on disk, one file per provider, in ``folder`` (by default
    ``paths().cache_dir / "models"``, resolved when first used)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    @property
    def folder(self) -> Path:
        return self._folder if self._folder is not None else paths().cache_dir / "models"

    def path(self, provider: str) -> Path:
        """The file of ``provider`` (a config key: any text, so the name is made safe and
        a hash of the exact name keeps two similar names apart)."""
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", provider)[:40].strip(".") or "provider"
        digest = hashlib.sha256(provider.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        return self.folder / f"{slug}-{digest}.json"

    def get(self, provider: ProviderConfig) -> ModelList | None:
        """The list last fetched for ``provider`` from its current address, or None (none
        kept, or the file unusable)."""
        try:
            data = json.loads(_read(self.path(provider.name)))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return None
        fetched, models = data.get("fetched"), data.get("models")
        if data.get("provider") != provider.name or data.get("base_url") != provider.base_url:
            return None
        if isinstance(fetched, bool) or not isinstance(fetched, int | float) or not isinstance(models, list):
            return None
        if not 0 <= fetched < 1e11:  # not a time (NaN and infinity fail this too)
            return None
        return ModelList(provider.name, clean_models(models), float(fetched), provider.base_url)

    def put(
        self, provider: ProviderConfig, models: Iterable[object], fetched: float | None = None
    ) -> ModelList:
        """Keep ``models`` as ``provider``'s list, fetched now (or at ``fetched``); returns it.
        A file that can't be written is logged and skipped: the list is still returned."""
        kept = ModelList(
            provider.name,
            clean_models(models),
            time.time() if fetched is None else fetched,
            provider.base_url,
        )
        data = {
            "version": VERSION,
            "provider": kept.provider,
            "base_url": kept.base_url,
            "fetched": kept.fetched,
            "models": list(kept.models),
        }
        path = self.path(provider.name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".models-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, ensure_ascii=False)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("could not keep the model list of %s: %s", provider.name, exc)
        return kept


def _read(path: Path) -> str:
    """The text of the regular file at ``path``, at most :data:`MAX_BYTES`; raises OSError
    for anything else (a FIFO, a device such as ``/dev/zero``, a folder) or a larger file,
    without ever waiting on it: the open doesn't block and the read is bounded."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            raise OSError(f"{path} is not a regular file of at most {MAX_BYTES} bytes")
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:  # it grew while being read
        raise OSError(f"{path} is larger than {MAX_BYTES} bytes")
    return raw.decode("utf-8")


def fetched_words(fetched: float, now: float | None = None) -> str:
    """When a list was fetched, in words: "just now", "5 min ago", "3 h ago", "2 days ago"."""
    seconds = max((time.time() if now is None else now) - fetched, 0.0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'' if days == 1 else 's'} ago"


# --- what the list says beside each model ---

# Open-weight and gateway reasoners known by name (a provider that passes the knob on
# says nothing about the model itself): DeepSeek R1, QwQ and Qwen3, Magistral, gpt-oss,
# Phi-4-reasoning, Grok's reasoners, any "thinking" or "reasoner" variant, and the
# demo's reasoners.
_REASONER_NAMES = re.compile(
    r"(?:^|[-_/.:])(?:r1|qwq|qwen3|magistral|gpt-oss|grok-3-mini|grok-4)"
    r"|reason|think|demo-hidden|demo-hybrid",
    re.IGNORECASE,
)
_GEMINI = re.compile(r"gemini-(\d+)(?:\.(\d+))?")
# Dialects whose support is the same for every model (they pass the knob on).
GENERIC_DIALECTS = ("openrouter", "effort")


def known_reasoner(model: str) -> bool:
    """``model`` is known by its name to reason (at some setting)."""
    if families.is_openai_reasoning(model) or families.is_deepseek_reasoner(model):
        return True
    if "claude" in model:
        version = families.claude_version(model)
        return version >= (3, 7) or families.claude_thinking_form(model) == "adaptive"
    gemini = _GEMINI.search(model)
    if gemini:
        return (int(gemini.group(1)), int(gemini.group(2) or 0)) >= (2, 5)
    name = families.bare(model).lower()
    if "qwen3" in name and re.search(r"instruct|coder", name) and "think" not in name:
        return False  # Qwen3's instruct and coder releases don't think
    return bool(_REASONER_NAMES.search(name) or _REASONER_NAMES.search(model))


def reasons(provider: ProviderConfig, model: str) -> bool:
    """Does ``model`` reason? By its provider's rules where they know each model (OpenAI,
    Claude, Gemini), else by its name."""
    if reasoning.dialect(provider).name in GENERIC_DIALECTS:
        return known_reasoner(model)
    return reasoning.support(provider, model).reasons


def knob_words(support: reasoning.Support) -> str:
    """The settings a model takes, short: "off/low/medium/high · budget 1,024–128,000"."""
    parts = ["/".join(support.levels)] if support.levels else []
    if support.budget is not None:
        parts.append(f"budget {support.budget[0]:,}–{support.budget[1]:,}")
    return " · ".join(parts)


def marker(provider: ProviderConfig, model: str) -> tuple[str, str]:
    """What the model list shows beside ``model`` (empty for a model not known to reason;
    the settings it takes, where they differ by model) and its tooltip: whether it
    reasons, which knob settings it takes, and how they are sent."""
    support = reasoning.support(provider, model)
    generic = reasoning.dialect(provider).name in GENERIC_DIALECTS
    if reasons(provider, model):
        takes = knob_words(support)
        # Where every model takes the same settings, saying them on each row says nothing.
        short = "/".join(support.levels) + (" · budget" if support.budget is not None else "")
        beside = "reasons" if generic or not support.levels else f"reasons · {short}"
        return beside, f"{model} reasons. Reasoning takes {takes or 'no setting'}: {support.note}."
    if generic:
        return "", f"{model} is not known to reason; Reasoning, if set, is {support.note}."
    return "", f"{support.note}."
