"""Rendered answers have a designed look, in light and dark: fenced code is monospace,
coloured by its language, in a tinted frame with a "Copy code" link that copies exactly
the code; quotes have a bar and muted text; tables have borders and padded cells;
headings have room above them. Unknown languages and huge blocks render without error,
the model's text is still never HTML, and nothing is loaded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import (
    QDesktopServices,
    QFontMetricsF,
    QGuiApplication,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextTable,
)
from pytestqt.qtbot import QtBot

from chatlab.ui.shared import theme
from chatlab.ui.shared.codeblocks import code_frames, copy_url, fenced_blocks, is_chrome
from chatlab.ui.shared.highlight import HIGHLIGHT_MAX
from chatlab.ui.shared.longline import text_without_breaks
from chatlab.ui.shared.markdown import insert_markdown
from chatlab.ui.shared.safe import ResourceLog
from chatlab.ui.shared.text import AnswerView
from chatlab.ui.shared.textprops import QUOTE_PROPERTY

PYTHON = 'def greet(name: str) -> str:\n\t"""Say hello."""\n\treturn f"hello {name}"  # done\n'
ANSWER = f"Some **prose** first.\n\n```python\n{PYTHON}```\n\nAnd after it.\n"
COLOUR_TIMEOUT_MS = 30_000


def render(qtbot: QtBot, answer: str, streamed: bool = False) -> AnswerView:
    """An answer view showing ``answer`` rendered at the end of its turn, coloured."""
    view = AnswerView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.add_prompt("go", first=True, number=1)
    if streamed:
        for i in range(0, len(answer), 7):
            view.append(answer[i : i + 7])
    view.finish(answer)
    qtbot.waitUntil(lambda: not view.colourer.busy(), timeout=COLOUR_TIMEOUT_MS)
    return view


def blocks(doc: QTextDocument) -> Iterator[QTextBlock]:
    block = doc.begin()
    while block.isValid():
        yield block
        block = block.next()


def code_lines(doc: QTextDocument) -> list[QTextBlock]:
    return [b for b in blocks(doc) if b.blockFormat().hasProperty(QTextFormat.Property.BlockCodeLanguage)]


def char_formats(block: QTextBlock) -> list[QTextCharFormat]:
    """The char format of every character of ``block``."""
    cursor = QTextCursor(block)
    out = []
    for i in range(block.length() - 1):
        cursor.setPosition(block.position() + i + 1)
        out.append(cursor.charFormat())
    return out


def monospace(fmt: QTextCharFormat) -> bool:
    """True if the font ``fmt`` asks for, as resolved, gives every character one width."""
    metrics = QFontMetricsF(fmt.font())
    return fmt.fontFixedPitch() and metrics.horizontalAdvance("iiiii") == metrics.horizontalAdvance("MMMMM")


def foregrounds(lines: list[QTextBlock]) -> set[str]:
    return {
        fmt.foreground().color().name()
        for line in lines
        for fmt in char_formats(line)
        if fmt.hasProperty(QTextFormat.Property.ForegroundBrush)
    }


def copy_links(doc: QTextDocument) -> list[str]:
    """The "Copy code" links of ``doc``'s code blocks, in order."""
    hrefs: list[str] = []
    for block in blocks(doc):
        if is_chrome(block):
            hrefs += {fmt.anchorHref() for fmt in char_formats(block) if fmt.isAnchor()}
    return hrefs


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """URLs the views asked the system to open (none is opened for real)."""
    urls: list[str] = []

    def open_url(url: QUrl) -> bool:
        urls.append(url.toString())
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    return urls


def test_python_code_is_monospace_coloured_and_tinted(qtbot: QtBot) -> None:
    view = render(qtbot, ANSWER)
    doc = view.document()
    lines = code_lines(doc)
    shown = ["def greet(name: str) -> str:", '    """Say hello."""', '    return f"hello {name}"  # done']
    assert [line.text() for line in lines] == shown  # Qt shows a leading tab as spaces
    for line in lines:
        for fmt in char_formats(line):
            assert monospace(fmt)
    assert len(foregrounds(lines)) >= 2  # highlighted: keywords, strings, comments differ
    [frame] = code_frames(doc)
    background = frame.frameFormat().background().color()
    assert background.name() == theme.colors().code
    assert background != view.palette().base().color()
    assert frame.frameFormat().padding() > 0 and frame.frameFormat().border() > 0
    # The prose around it is neither monospace nor coloured.
    prose = [b for b in blocks(doc) if b.text() in ("Some prose first.", "And after it.")]
    assert len(prose) == 2 and not foregrounds(prose)
    assert not any(monospace(fmt) for b in prose for fmt in char_formats(b))


def test_the_dark_theme_has_its_own_code_colours(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    light = render(qtbot, ANSWER)
    monkeypatch.setattr(theme, "_current", theme.DARK)
    dark = render(qtbot, ANSWER)
    [light_frame], [dark_frame] = code_frames(light.document()), code_frames(dark.document())
    assert dark_frame.frameFormat().background().color().name() == theme.DARK.code
    assert light_frame.frameFormat().background().color().name() == theme.LIGHT.code
    dark_colours = foregrounds(code_lines(dark.document()))
    assert len(dark_colours) >= 2 and dark_colours != foregrounds(code_lines(light.document()))


def test_each_code_block_has_a_copy_link_that_copies_exactly_the_code(
    qtbot: QtBot, opened: list[str]
) -> None:
    second = "SELECT *\n  FROM t\t-- tab kept\nWHERE x = '![pic](http://evil.example/p.png)';  "
    answer = f"{ANSWER}\n~~~sql\n{second}\n~~~\n\n    indented = True\n"
    view = render(qtbot, answer, streamed=True)
    links = copy_links(view.document())
    assert len(links) == 3 == len(code_frames(view.document()))
    refused: list[str] = []
    view.linkRefused.connect(refused.append)
    copied = []
    for href in links:
        QGuiApplication.clipboard().setText("before")
        with qtbot.waitSignal(view.codeCopied):
            view.anchorClicked.emit(QUrl(href))
        copied.append(QGuiApplication.clipboard().text())
    assert copied == [PYTHON.removesuffix("\n"), second, "indented = True"]
    assert opened == [] and refused == []  # nothing was opened
    assert ResourceLog.requests.count("http://evil.example/p.png") == 0


def test_a_copy_link_written_by_the_model_copies_nothing(qtbot: QtBot, opened: list[str]) -> None:
    view = render(qtbot, ANSWER + "\n[copy](chatlab-copy:1) [this](chatlab-copy:x-1)\n")
    [real] = copy_links(view.document())
    assert real.startswith("chatlab-copy:") and real == copy_url(int(real.rpartition("-")[2]))
    QGuiApplication.clipboard().setText("before")
    for url in ("chatlab-copy:1", "chatlab-copy:x-1", "chatlab-copy:", f"{real}9999", copy_url(10**9)):
        with qtbot.waitSignal(view.linkRefused) as refused:
            view.anchorClicked.emit(QUrl(url))
        assert refused.args == [url]
    assert QGuiApplication.clipboard().text() == "before" and opened == []


def test_copying_a_selection_gives_the_text_without_the_copy_links(qtbot: QtBot) -> None:
    view = render(qtbot, ANSWER)
    view.selectAll()
    text = view.createMimeDataFromSelection().text()
    assert "Copy code" not in text and "python  ·" not in text
    assert 'Some prose first.\ndef greet(name: str) -> str:\n    """Say hello."""\n' in text
    assert text.startswith("─── Turn 1 ───\n") and text.rstrip().endswith("And after it.")
    doc = view.document()
    assert text_without_breaks(doc, 0, doc.characterCount() - 1) == text
    assert any(is_chrome(b) and "Copy code" in b.text() for b in blocks(doc))  # shown, not copied


@pytest.mark.parametrize("language", ["no-such-language-xyz", "", "../../etc/passwd", "c++ {.x}"])
def test_an_unknown_or_missing_language_renders(qtbot: QtBot, language: str, opened: list[str]) -> None:
    code = "x = 1  # not coloured\nprint(x)"
    view = render(qtbot, f"Intro\n\n```{language}\n{code}\n```\n")
    lines = code_lines(view.document())
    assert [line.text() for line in lines] == code.split("\n")
    assert all(monospace(fmt) for line in lines for fmt in char_formats(line))
    [href] = copy_links(view.document())
    view.anchorClicked.emit(QUrl(href))
    assert QGuiApplication.clipboard().text() == code and opened == []


def test_a_huge_code_block_renders_and_is_coloured_only_so_far(qtbot: QtBot) -> None:
    line = "value = compute(1, 'two', 3.0)  # a comment\n"
    code = line * (1024 * 1024 // len(line) + 1)
    view = AnswerView()
    qtbot.addWidget(view)
    cursor = QTextCursor(view.document())
    if insert_markdown(cursor, f"```python\n{code}```\n"):  # never raises, whatever the size
        view.colourer.schedule()
    qtbot.waitUntil(lambda: not view.colourer.busy(), timeout=COLOUR_TIMEOUT_MS)
    lines = code_lines(view.document())
    assert len(lines) == code.count("\n")
    assert len(foregrounds(lines[:3])) >= 2  # the start is coloured
    per_line = len(line)
    assert not foregrounds(
        lines[HIGHLIGHT_MAX // per_line + 2 : HIGHLIGHT_MAX // per_line + 5]
    )  # the rest not
    [href] = copy_links(view.document())
    view.anchorClicked.emit(QUrl(href))
    assert QGuiApplication.clipboard().text() == code.removesuffix("\n")


def test_a_quote_has_a_bar_and_muted_text(qtbot: QtBot) -> None:
    view = render(
        qtbot, "Before.\n\n> A quoted **line** with [a link](https://example.org/).\n>\n> More.\n\nAfter.\n"
    )
    doc = view.document()
    [quote] = [f for f in doc.rootFrame().childFrames() if isinstance(f, QTextTable)]
    assert quote.format().boolProperty(QUOTE_PROPERTY)
    cell = quote.cellAt(0, 0).format().toTableCellFormat()
    assert cell.leftBorder() >= 2 and cell.leftBorderBrush().color().name() == theme.colors().accent
    assert cell.rightBorder() == 0 and cell.background().color().name() == theme.colors().alt
    quoted = [b for b in blocks(doc) if b.text().startswith(("A quoted", "More"))]
    assert len(quoted) == 2
    muted = theme.colors().muted
    for block in quoted:
        for fmt in char_formats(block):
            if not fmt.isAnchor():
                assert fmt.foreground().color().name() == muted
    assert [b.text() for b in blocks(doc) if b.text() in ("Before.", "After.")] == ["Before.", "After."]


def test_a_table_has_borders_and_padded_cells(qtbot: QtBot) -> None:
    view = render(
        qtbot, "> a quote first\n\n| name | value |\n|------|------:|\n| alpha | 1 |\n| beta | 22 |\n"
    )
    tables = [
        f
        for f in view.document().rootFrame().childFrames()
        if isinstance(f, QTextTable) and not f.format().boolProperty(QUOTE_PROPERTY)
    ]
    [table] = tables
    fmt = table.format()
    assert fmt.cellPadding() > 0 and fmt.border() > 0 and fmt.borderCollapse()
    assert fmt.borderBrush().color().name() == theme.colors().border
    assert table.rows() == 3 and table.columns() == 2
    header = table.cellAt(0, 0)
    assert header.format().background().color().name() == theme.colors().alt
    # Qt's importer leaves an empty line in the first cell after a quote: removed.
    assert view.document().findBlock(header.firstPosition()).text() == "name"
    assert QTextCursor(view.document().findBlock(header.firstPosition())).charFormat().fontWeight() >= 600


def test_headings_have_room_above_and_paragraphs_below(qtbot: QtBot) -> None:
    view = render(qtbot, "Intro paragraph.\n\n# Big\n\nText.\n\n## Smaller\n\nMore text.\n")
    found = {b.text(): b.blockFormat() for b in blocks(view.document())}
    assert found["Big"].topMargin() > found["Smaller"].topMargin() > found["Text."].topMargin()
    assert found["Intro paragraph."].bottomMargin() > 0 and found["Text."].bottomMargin() > 0


def test_streaming_shows_code_frames_as_they_finish(qtbot: QtBot) -> None:
    view = AnswerView()
    qtbot.addWidget(view)
    view.add_prompt("go", first=True, number=1)
    for i in range(0, len(ANSWER), 5):
        view.append(ANSWER[i : i + 5])
    assert len(code_frames(view.document())) == 1  # rendered before the answer finished
    assert "And after it." in view.toPlainText()
    view.finish(ANSWER)
    assert len(code_frames(view.document())) == 1
    qtbot.waitUntil(lambda: not view.colourer.busy(), timeout=COLOUR_TIMEOUT_MS)
    assert len(foregrounds(code_lines(view.document()))) >= 2


def test_a_reopened_transcript_has_the_same_look(qtbot: QtBot) -> None:
    view = AnswerView()
    qtbot.addWidget(view)
    view.load_transcript([("p1", ANSWER, ""), ("p2", "> quoted\n\n" + ANSWER, "a note")])
    qtbot.waitUntil(lambda: not view.colourer.busy(), timeout=COLOUR_TIMEOUT_MS)
    doc = view.document()
    assert len(code_frames(doc)) == 2 and len(copy_links(doc)) == 2
    assert len(foregrounds(code_lines(doc))) >= 2
    view.anchorClicked.emit(QUrl(copy_links(doc)[1]))
    assert QGuiApplication.clipboard().text() == PYTHON.removesuffix("\n")


def test_raw_html_in_styled_markdown_is_text_and_loads_nothing(qtbot: QtBot) -> None:
    hostile = (
        "<img src=http://evil.example/a.png> and <b>bold?</b>\n\n"
        '> <img src="http://evil.example/quote.png"> <b>q</b>\n\n'
        "| <b>h</b> | <img src=http://evil.example/cell.png> |\n|---|---|\n| 1 | 2 |\n\n"
        '```html\n<img src="http://evil.example/code.png"><b>c</b>\n```\n'
    )
    before = len(ResourceLog.requests)
    view = render(qtbot, hostile)
    view.grab()  # lay out and paint, when images would be fetched
    text = view.toPlainText()
    for raw in (
        "<img src=http://evil.example/a.png>",
        "<b>bold?</b>",
        '<img src="http://evil.example/quote.png">',
        "<b>h</b>",
        '<img src="http://evil.example/code.png"><b>c</b>',
    ):
        assert raw in text
    assert "<img" not in view.toHtml().replace("&lt;img", "")
    assert ResourceLog.requests[before:] == []


def test_fenced_blocks_follow_commonmark() -> None:
    source = (
        "text\n"
        "```python\n\tif x:\n\t\treturn 1\n```\n"
        "  ~~~~ lang\n  two\n    four\n ~~~\n~~~~\n"  # a shorter fence doesn't close it
        "``` not `a fence\n"
        "```\nunclosed\n"
    )
    assert fenced_blocks(source) == [
        ["\tif x:", "\t\treturn 1"],
        ["two", "  four", "~~~"],
        ["unclosed"],
    ]
    assert fenced_blocks("```\n```\n") == [[]]
    assert fenced_blocks("a\r\n```\r\nx\r\n```\r\n") == [["x"]]


@pytest.mark.parametrize(
    "start", ["- a\n- b\n\n", "```py\nx = 1\n```\n\n", "> q\n\n", "| a |\n|---|\n| 1 |\n\n"]
)
def test_text_never_lands_in_a_collapsed_line(qtbot: QtBot, start: str) -> None:
    """Qt leaves empty lines around frames and lists; they are made to take no room, and
    no text shown later (a retry, the final render, a note) may go into one."""
    view = AnswerView()
    qtbot.addWidget(view)
    view.add_prompt("go", first=True, number=1)

    def texts_all_visible() -> None:
        for block in blocks(view.document()):
            if block.text():
                assert block.blockFormat().lineHeightType() == 0, block.text()  # SingleHeight

    view.append(start + "streamed after it")
    texts_all_visible()
    view.reset_answer()
    view.append("a retry, streamed")
    texts_all_visible()
    view.append("\n\n" + start + "tail")
    texts_all_visible()
    view.finish("A different first paragraph.\n\n" + start + "tail", note="a note")
    texts_all_visible()
    assert view.toPlainText().startswith("─── Turn 1 ───\nA different first paragraph.")
    view.add_prompt("again", first=False, number=2)
    view.append(start)
    view.finish(start)
    texts_all_visible()
