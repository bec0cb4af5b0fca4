"""Very long lines are split for display only (streamed, rendered at the end, reopened from
history, in the answer and the reasoning pane), while the model's text stays verbatim;
and the sidebar's search never raises, whatever the store does with the query."""

from __future__ import annotations

import random
import sqlite3
import string
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextDocument
from pytestqt.qtbot import QtBot

from chatlab.core.data.model import Lane, Session, Status
from chatlab.core.lab.controller import Lab
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.scripts import Script
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.store.db import Store, default_path
from chatlab.ui.lab.lane import LaneWidget
from chatlab.ui.lab.sidebar import SessionSidebar
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.shared.longline import BLOCK_HARD, display_breaks, is_break, text_without_breaks
from chatlab.ui.shared.text import MARKDOWN_MAX_CHARS, MARKDOWN_MAX_LINE, AnswerView, ReasoningView
from tests.ui.conftest import add_lanes, wait_turn


def unbroken(size: int, seed: int = 1) -> str:
    """One "word" with nowhere to wrap: the worst case for Qt's layout."""
    return "".join(random.Random(seed).choices(string.ascii_lowercase, k=size))


def words(size: int, seed: int = 2) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(("rain", "tin", "roof", "autumn")) for _ in range(size // 4))[:size]


def wide(size: int, seed: int = 3) -> str:
    """Letters, spaces and characters outside the BMP (two UTF-16 units each in Qt)."""
    rng = random.Random(seed)
    return "".join(rng.choice("ab 😀é") for _ in range(size))


LINES = {"unbroken": unbroken, "words": words, "wide": wide}


def blocks(doc: QTextDocument) -> list[tuple[int, bool]]:
    """(length, is a display break) for every block of ``doc``."""
    out = []
    block = doc.begin()
    while block.isValid():
        out.append((block.length() - 1, is_break(block)))
        block = block.next()
    return out


def longest(doc: QTextDocument) -> int:
    return max(length for length, _ in blocks(doc))


def shown(doc: QTextDocument, start: int = 0) -> str:
    """What the document shows from ``start``, without the display-only breaks."""
    return text_without_breaks(doc, start, doc.characterCount() - 1)


def stream(view: AnswerView | ReasoningView, text: str, seed: int = 0) -> None:
    rng = random.Random(seed)
    i = 0
    while i < len(text):
        k = rng.randint(1, 3000)
        view.append(text[i : i + k])
        i += k


@pytest.mark.parametrize("kind", sorted(LINES))
def test_a_streamed_long_line_is_split_for_display_only(qtbot: QtBot, kind: str) -> None:
    line = LINES[kind](120_000)
    view = AnswerView()
    qtbot.addWidget(view)
    view.add_prompt("go", first=True)
    start = view._answer_start
    stream(view, line)
    assert longest(view.document()) <= BLOCK_HARD
    assert sum(brk for _, brk in blocks(view.document())) >= len(line) // BLOCK_HARD
    assert shown(view.document(), start) == line
    # Split while streaming exactly as when the whole line arrives at once.
    whole = AnswerView()
    qtbot.addWidget(whole)
    whole.add_prompt("go", first=True)
    whole.append(line)
    assert blocks(whole.document()) == blocks(view.document())


def test_display_breaks_are_stable_as_a_line_grows() -> None:
    line = words(50_000) + unbroken(30_000)
    cuts = display_breaks(line)
    assert cuts and all(b - a <= BLOCK_HARD for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True))
    for n in (5_000, 12_345, 40_000, 60_001):
        assert display_breaks(line[:n]) == [c for c in cuts if c < n]


@pytest.mark.parametrize("size", [40_000, MARKDOWN_MAX_CHARS + 50_000])
def test_the_final_render_of_a_long_line_stays_split(qtbot: QtBot, size: int) -> None:
    line = unbroken(size)
    view = AnswerView()
    qtbot.addWidget(view)
    view.add_prompt("go", first=True)
    start = view._answer_start
    stream(view, line)
    streamed = blocks(view.document())
    view.finish(line, "stopped by you")
    assert longest(view.document()) <= BLOCK_HARD
    assert shown(view.document(), start) == line + "\nstopped by you"
    assert blocks(view.document())[: len(streamed)] == streamed  # what was shown stays
    # Rendered without having streamed (a blind turn revealed): split the same way.
    revealed = AnswerView()
    qtbot.addWidget(revealed)
    revealed.add_prompt("go", first=True)
    revealed.finish(line)
    assert blocks(revealed.document()) == streamed
    assert shown(revealed.document(), start) == line


def test_a_huge_paragraph_in_markdown_is_split_but_still_rendered(qtbot: QtBot) -> None:
    # Each source line is short enough for Markdown; the paragraph they make is not.
    lines = [unbroken(10_000, seed) for seed in range(5)]
    answer = "# Title\n\n" + "\n".join(lines) + "\n\n**bold** end"
    view = AnswerView()
    qtbot.addWidget(view)
    view.add_prompt("go", first=True)
    view.append(answer)
    view.finish(answer)
    text = view.toPlainText()
    assert "# Title" not in text and "**bold**" not in text and "bold end" in text  # Markdown
    assert longest(view.document()) <= BLOCK_HARD
    assert " ".join(lines) in shown(view.document())


def test_normal_answers_are_not_split(qtbot: QtBot) -> None:
    paragraph = words(3_000)  # a long paragraph, but prose
    answer = f"{paragraph}\n\n```python\nprint('x')\n```\n\n- a\n- b\n"
    view = AnswerView()
    qtbot.addWidget(view)
    view.add_prompt("go", first=True)
    stream(view, answer)
    view.finish(answer)
    assert not any(brk for _, brk in blocks(view.document()))
    assert paragraph in view.toPlainText() and "```" not in view.toPlainText()


def test_the_reasoning_pane_splits_long_lines(qtbot: QtBot) -> None:
    line = unbroken(60_000)
    view = ReasoningView()
    qtbot.addWidget(view)
    view.start_turn("turn 1", first=True)
    stream(view, line)
    view.start_turn("turn 2", first=False)
    view.append("short")
    assert longest(view.document()) <= BLOCK_HARD
    assert shown(view.document()) == line + "\n\n— turn 2 —\nshort"
    view.setPlainText(f"{line}\n\n— turn 2 —\n{line}")
    assert longest(view.document()) <= BLOCK_HARD
    assert shown(view.document()) == f"{line}\n\n— turn 2 —\n{line}"


def test_reopening_a_session_with_a_huge_line_keeps_it_split(qtbot: QtBot) -> None:
    lane = Lane("chat", "demo-fast")
    session = Session(lanes=[lane])
    answer = unbroken(MARKDOWN_MAX_CHARS + 10_000)
    reasoning = words(80_000)
    first = session.new_turn("first").responses[lane.id]
    first.text_parts.append("**short** answer")
    first.status = Status.OK
    resp = session.new_turn("second").responses[lane.id]
    resp.text_parts.append(answer)
    resp.text_chars = len(answer)
    resp.reasoning_parts.append(reasoning)
    resp.reasoning_chars = len(reasoning)
    resp.status = Status.OK
    pasted = unbroken(MARKDOWN_MAX_LINE + 1_000, seed=7)  # a prompt can be one long line too
    last = session.new_turn(pasted).responses[lane.id]
    last.text_parts.append("*ok*")
    last.status = Status.OK
    widget = LaneWidget(Lab(Runner(parse_config({}), KeyStore(), make_adapter)), lane)
    qtbot.addWidget(widget)
    widget.load(session)
    assert longest(widget.answer.document()) <= BLOCK_HARD
    assert longest(widget.reasoning.document()) <= BLOCK_HARD
    text = shown(widget.answer.document())
    assert text.startswith("─── Turn 1 ───\nshort answer\n─── Turn 2 ───\n")
    assert text.endswith(f"{answer}\n─── Turn 3 ───\nok")  # prompts show once, above the lanes
    assert shown(widget.reasoning.document()).endswith(reasoning)
    # The copy button still gives the model's text, verbatim.
    widget.copy_answer.click()
    assert QGuiApplication.clipboard().text() == "*ok*"
    widget.response = resp
    widget.copy_answer.click()
    assert QGuiApplication.clipboard().text() == answer


def test_copying_a_selection_drops_the_display_breaks(qtbot: QtBot) -> None:
    line = words(20_000)
    view = AnswerView()
    qtbot.addWidget(view)
    view.add_prompt("go", first=True)
    view.append(line + "\n")
    assert any(brk for _, brk in blocks(view.document()))
    view.selectAll()
    mime = view.createMimeDataFromSelection()
    assert mime.text() == f"───\n{line}\n"


def test_a_long_line_through_the_window(window: MainWindow, qtbot: QtBot, server: DemoServer) -> None:
    line = unbroken(150_000)
    server.add("longline", Script(answer=line, chunk_min=2_000, chunk_max=6_000))
    [lane] = add_lanes(window, "chat:longline")
    window.prompt.setPlainText("one long line, please")
    wait_turn(qtbot, window)
    widget = window.lane_widgets[lane.id]
    resp = window.session.turns[-1].responses[lane.id]
    assert resp.status is Status.OK and resp.text == line  # the model's text, verbatim
    assert longest(widget.answer.document()) <= BLOCK_HARD
    assert shown(widget.answer.document()).endswith(line)


def test_esc_stops_a_long_line(window: MainWindow, qtbot: QtBot, server: DemoServer) -> None:
    script = Script(answer=unbroken(2_000_000), chunk_min=4_000, chunk_max=4_000, tokens_per_s=25)
    server.add("endless", script)
    [lane] = add_lanes(window, "chat:endless")
    widget = window.lane_widgets[lane.id]
    enough = MARKDOWN_MAX_LINE + BLOCK_HARD  # a line too long to be rendered as Markdown

    def press_esc(_lane_id: str) -> None:
        resp = widget.response
        if resp is not None and resp.text_chars > enough and window.lab.runs:
            qtbot.keyClick(window.prompt, Qt.Key.Key_Escape)

    window.laneFlushed.connect(press_esc)
    window.prompt.setPlainText("go")
    wait_turn(qtbot, window)
    resp = window.session.turns[-1].responses[lane.id]
    assert resp.status is Status.CANCELLED and enough < resp.text_chars < 2_000_000
    assert longest(widget.answer.document()) <= BLOCK_HARD
    assert shown(widget.answer.document()).startswith(f"─── Turn 1 ───\n{resp.text}\n[stopped")


@pytest.fixture
def store(home: object) -> Iterator[Store]:
    s = Store(default_path())
    yield s
    s.close()


def test_the_sidebar_shows_no_results_when_search_fails(
    qtbot: QtBot, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sidebar = SessionSidebar(store)
    # Typing starts the search's timer; it must not fire once the store is closed.
    qtbot.addWidget(sidebar, before_close_func=lambda _w: sidebar.stop())

    def broken(query: str, limit: int = 100) -> list[object]:
        raise sqlite3.OperationalError("unterminated string")

    monkeypatch.setattr(store, "search", broken)
    for query in ("a\x00b", "x\udc80y", "plain"):
        sidebar.search.setText(query)
        sidebar.refresh()  # must not raise
        items = sidebar.top_items()
        assert [item.text(0) for item in items] == ["Search failed"]
        assert all(not item.data(0, Qt.ItemDataRole.UserRole) for item in items)
    sidebar.search.setText("")
    sidebar.refresh()  # the session list is back
