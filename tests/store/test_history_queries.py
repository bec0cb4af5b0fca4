"""What the history sidebar asks of the store: each session with its study, a cheap look
at whether anything was written (by this connection or another), sessions loaded by id
in one go, and a search hit's snippet as plain text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatlab.core.data.model import Lane, Response, Session, Status, Turn
from chatlab.core.studies.study import comparisons, suite_data
from chatlab.core.studies.suites import parse_suite
from chatlab.store.db import Store
from chatlab.store.search import plain_snippet

SUITE = {
    "name": "Sky study",
    "samples": 2,
    "seed": 3,
    "prompts": [{"id": f"p{i}", "text": f"Question {i}: why is the sky blue?"} for i in range(3)],
    "lanes": [{"provider": "demo", "model": "zz-alpha"}, {"provider": "demo", "model": "zz-beta"}],
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "history.db")
    yield s
    s.close()


def chat(prompt: str, answer: str) -> Session:
    lane = Lane("demo", "echo")
    turn = Turn(prompt=prompt)
    turn.responses[lane.id] = Response(lane.id, status=Status.OK, text_parts=[answer])
    return Session(lanes=[lane], turns=[turn], title=prompt)


def test_each_session_says_its_study(store: Store) -> None:
    suite = parse_suite(SUITE)
    store.create_study("st1", "Sky study", suite_data(suite), comparisons(suite, "st1", "Sky study"))
    store.save_session(chat("hello", "hi"))
    rows = store.sessions()
    assert len(rows) == 7
    studied = [r for r in rows if r.study_id is not None]
    assert len(studied) == 6 and {(r.study_id, r.study_name) for r in studied} == {("st1", "Sky study")}
    [plain] = [r for r in rows if r.study_id is None]
    assert plain.title == "hello" and plain.study_name == ""


def test_data_version_moves_only_when_something_is_written(store: Store, tmp_path: Path) -> None:
    first = store.data_version()
    assert store.data_version() == first  # looking writes nothing
    store.sessions()
    assert store.data_version() == first
    store.save_session(chat("mine", "written here"))
    mine = store.data_version()
    assert mine != first
    other = Store(tmp_path / "history.db")  # another chatlab on the same file
    try:
        other.save_session(chat("theirs", "written there"))
    finally:
        other.close()
    assert store.data_version() != mine
    assert "theirs" in [s.title for s in store.sessions()]


def test_load_many_reads_the_sessions_asked_for(store: Store) -> None:
    a, b, c = chat("a", "1"), chat("b", "2"), chat("c", "3")
    for s in (a, b, c):
        store.save_session(s)
    loaded = store.load_many([a.id, c.id, "no-such-session", a.id])
    assert set(loaded) == {a.id, c.id}
    assert loaded[c.id].turns[0].responses[c.lanes[0].id].text == "3"
    assert store.load_many([]) == {}


@pytest.mark.parametrize(
    ("snippet", "plain"),
    [
        ("# \x02Heading\x03 here", "\x02Heading\x03 here"),
        ("Some **\x02bold\x03** and __strong__ text", "Some \x02bold\x03 and strong text"),
        ("*one* and _two_ and ***three***", "one and two and three"),
        ("run `pip \x02install\x03` now", "run pip \x02install\x03 now"),
        ("see [the \x02docs\x03](https://example.com/a_(b)) please", "see the \x02docs\x03 please"),
        ("![a \x02cat\x03](cat.png) sits", "a \x02cat\x03 sits"),
        ("…cut link](https://example.com) and on", "…cut link and on"),
        ("> quoted\n- item\n1. first\n---\n## Sub", "quoted item first Sub"),
        ("```python\nprint(\x02x\x03)\n```", "python print(\x02x\x03)"),
        ("| a | b |\n|---|---|\n| c | d |", "a · b c · d"),
        ("~~struck~~ <b>tag</b> <https://a.example>", "struck tag https://a.example"),
        ("snake_case_name stays, 2 * 3 = 6", "snake_case_name stays, 2 * 3 = 6"),
        (r"\*not emphasis\* and \# not a heading", "*not emphasis* and # not a heading"),
        ("line\x00one\ttwo\r\nthree", "line one two three"),
    ],
)
def test_a_snippet_reads_as_plain_text(snippet: str, plain: str) -> None:
    assert plain_snippet(snippet) == plain


def test_a_real_hit_reads_as_plain_text(store: Store) -> None:
    answer = (
        "# Zanzibar\n\nThe **Zanzibar** archipelago: see [Zanzibar](https://example.com) and `zanzibar.py`."
    )
    store.save_session(chat("Tell me about islands", answer))
    [hit] = store.search("zanzibar")
    text = plain_snippet(hit.snippet)
    assert "\x02Zanzibar\x03" in text
    for mark in ("#", "**", "`", "](", "https://"):
        assert mark not in text
