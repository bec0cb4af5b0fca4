"""Hostile input for what the history sidebar asks of the store: FTS5 syntax typed in the
search box, answers whose snippets are Markdown and HTML floods, an answer holding the
snippet's own mark characters, a writer holding its transaction open, thousands of
sessions. Every query answers (hits or none, never an exception), quickly."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatlab.core.data.model import Lane, Response, Session, Status, Turn
from chatlab.store.db import Store
from chatlab.store.search import LONG_RUN, plain_snippet


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "history.db")
    yield s
    s.close()


def chat(prompt: str, answer: str, title: str = "") -> Session:
    lane = Lane("demo", "echo")
    turn = Turn(prompt=prompt)
    turn.responses[lane.id] = Response(lane.id, status=Status.OK, text_parts=[answer])
    return Session(lanes=[lane], turns=[turn], title=title or prompt)


QUERIES = [
    '"', '""', '"unbalanced', 'a"b', "NEAR(", "NEAR(sky blue, 2)", "*", "sky*", "-", "-sky", "OR",
    "sky OR", "AND NOT", "(", ")", "((sky)", "body:", "body : sky", "^sky", "{body}: sky", "\x00",
    "\ud800", "sky\x00blue", "'", "%", "_", "\\", "\u202e", "\u200b", "🌊" * 50, "x" * 100_000,
]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_fts_syntax_in_the_search_box_is_searched_as_words(store: Store, query: str) -> None:
    store.save_session(chat("why is the sky blue?", 'NEAR(sky blue) "quoted" -minus OR * body: sky'))
    hits = store.search(query)
    assert isinstance(hits, list)
    for hit in hits:
        assert "\x02" in hit.snippet


def test_an_operator_word_is_found_as_a_word(store: Store) -> None:
    store.save_session(chat("p", "apples OR pears, NEAR the door"))
    [hit] = store.search("OR")
    assert "\x02OR\x03" in hit.snippet
    [hit] = store.search("NEAR(")
    assert "\x02NEAR\x03" in hit.snippet


def test_an_answers_own_mark_characters_mark_nothing(store: Store) -> None:
    """The snippet's marks were \\x02 and \\x03, and an answer could hold them: a match
    bolded where there was none, or a bold tag left open."""
    store.save_session(chat("p", "not \x02this\x03 but \x03the sky\x02 here"))
    [hit] = store.search("sky")
    assert hit.snippet.count("\x02") == 1 and hit.snippet.count("\x03") == 1
    assert plain_snippet(hit.snippet) == "not this but the \x02sky\x03 here"


@pytest.mark.parametrize(
    "flood",
    ["[" * 100_000, "(" * 100_000, " " * 100_000 + "#", "*" * 100_000, "`" * 100_000, "<" * 100_000,
     "![x](" * 20_000, "_" * 100_000, "|-" * 50_000, "\\*" * 50_000, "a" * 100_000],
    ids=["brackets", "parens", "spaces", "stars", "backticks", "lt", "images", "underscores", "table",
         "escapes", "one-word"],
)  # fmt: skip
def test_a_flood_in_an_answer_makes_a_short_snippet_quickly(store: Store, flood: str) -> None:
    """An answer of 100,000 ``[``: a search hitting it took 156 s in plain_snippet (on
    the window's thread, and again at every poll while anything was written)."""
    store.save_session(chat("p", f"the sky {flood} blue sky"))
    start = time.perf_counter()
    plains = [plain_snippet(hit.snippet) for hit in store.search("sky")]
    elapsed = time.perf_counter() - start
    assert plains and all(len(p) < 6 * LONG_RUN for p in plains), [len(p) for p in plains]
    assert all("\x02sky\x03" in p for p in plains)
    assert elapsed < 2, f"{elapsed:.1f} s"


HTML = [
    ('<img src="http://127.0.0.1:9/x.png"> the sky', "the \x02sky\x03"),
    ("<script>alert(1)</script> sky", "alert(1) \x02sky\x03"),
    ("![alt text](http://127.0.0.1:9/x.png) sky", "alt text \x02sky\x03"),
    ("[click](javascript:alert(1)) sky", "click \x02sky\x03"),
    ("***__~~`sky`~~__***", "\x02sky\x03"),
    ("&lt;b&gt; sky &amp;", "&lt;b&gt; \x02sky\x03 &amp;"),  # entities stay text: escaped when shown
]


@pytest.mark.parametrize(("answer", "plain"), HTML)
def test_html_and_markdown_in_an_answer_are_words_only(store: Store, answer: str, plain: str) -> None:
    store.save_session(chat("p", answer))
    [hit] = store.search("sky")
    assert plain_snippet(hit.snippet) == plain


def test_a_writer_holding_its_transaction_does_not_block_the_poll(store: Store) -> None:
    """Another chatlab in the middle of a write (WAL): the sidebar's questions answer at
    once, from what was committed."""
    store.save_session(chat("committed sky", "yes"))
    other = sqlite3.connect(store.path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE sessions SET title = 'uncommitted'")
        start = time.perf_counter()
        version = store.data_version()
        rows = store.sessions()
        hits = store.search("sky")
        assert time.perf_counter() - start < 1
        assert [r.title for r in rows] == ["committed sky"] and len(hits) == 1
        assert store.data_version() == version
        other.execute("COMMIT")
        assert store.data_version() != version
    finally:
        other.close()


def test_thousands_of_sessions_list_quickly_and_looking_writes_nothing(store: Store) -> None:
    for i in range(3000):
        store.save_session(chat(f"prompt {i}", f"answer {i}"))
    version = store.data_version()
    start = time.perf_counter()
    rows = store.sessions()
    assert time.perf_counter() - start < 1.5
    assert len(rows) == 3000
    assert store.data_version() == version


def test_a_pasted_paragraph_repeating_its_words_costs_what_its_words_once_cost(store: Store) -> None:
    """FTS5's snippet weighs every match against every other: eight "lorem ipsum" took
    79 s where one took 1.4 s (100 sessions of long answers). Each word is looked for once."""
    for i in range(10):
        store.save_session(chat(f"p{i}", "walrus " + "lorem ipsum dolor " * 300))
    start = time.perf_counter()
    once = store.search("lorem ipsum")
    single = time.perf_counter() - start
    start = time.perf_counter()
    pasted = store.search("Lorem ipsum " * 40 + "LOREM")
    repeated = time.perf_counter() - start
    assert [h.turn_id for h in pasted] == [h.turn_id for h in once]
    assert repeated < 3 * single + 0.5, (single, repeated)


def test_only_the_first_words_of_a_long_search_are_looked_for(store: Store) -> None:
    store.save_session(chat("p", " ".join(f"w{i}" for i in range(40))))
    assert len(store.search(" ".join(f"w{i}" for i in range(16)) + " absent")) == 1
    assert store.search(" ".join(f"w{i}" for i in range(15)) + " absent") == []
