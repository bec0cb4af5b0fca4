"""The designed look of rendered Markdown: code blocks, quotes, tables and headings.

Qt's Markdown importer (GitHub dialect, raw HTML off) builds a plain document; then
:func:`style_markdown` walks it once and dresses it in the current theme's colours. A
code block goes into a bordered, tinted frame in a monospace font, under a header line
with its language and a "Copy code" link (``chatlab-copy:…``, with a per-run key so a
link in the model's text can't forge one) that copies the block's exact text from the
Markdown source; the header is display-only (:data:`CHROME_PROPERTY`). Pygments colours
code by the fence's language (an unknown or missing one stays plain: no guessing), at
most :data:`HIGHLIGHT_MAX` characters a block. Lexing costs about 10 µs a token, so a
render never lexes: it applies the colours remembered for the same code (seen while
the answer streamed) and marks the other code frames pending, for the view's
:class:`CodeColourer` to colour in short slices shared by all views, fewer while
answers stream (a block just finished shows plain for a moment). A quote
becomes a tinted one-cell table with an accent bar on its left and muted text; a table
gets a border, cell padding and a tinted header row; headings get room above them.
Nothing here interprets text as HTML or loads anything: it sets formats, inserts text.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import secrets
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from PySide6.QtCore import QCoreApplication, QTimer, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextFragment,
    QTextFrame,
    QTextFrameFormat,
    QTextLength,
    QTextTable,
    QTextTableCellFormat,
    QTextTableFormat,
)

from chatlab.ui.shared.theme import Colors, colors

COPY_SCHEME = "chatlab-copy"
# In every copy link: a link the model writes to chatlab-copy: can't name a code block.
_COPY_KEY = secrets.token_hex(8)
COPY_LABEL = "Copy code"
_USER = int(QTextFormat.Property.UserProperty.value)
CHROME_PROPERTY = _USER + 2  # a display-only block (a code block's header): never copied as text
CODE_ID_PROPERTY = _USER + 3  # on a code block's frame: the number its copy link names
CODE_TEXT_PROPERTY = _USER + 4  # on a code block's frame: the block's exact text
CODE_LANGUAGE_PROPERTY = _USER + 5  # on a code block's frame: its fence's language
PENDING_PROPERTY = _USER + 6  # on a code block's frame: not coloured yet
QUOTE_PROPERTY = _USER + 7  # on a quote's one-cell table
HIGHLIGHT_MAX = 200 * 1024  # characters of one code block coloured; the rest stays plain
# Colouring later, for all views together: this long, then a pause this long; while
# answers stream (an append less than STREAMING_QUIET_S ago), much less, streaming first.
HIGHLIGHT_SLICE_S, HIGHLIGHT_PAUSE_MS = 0.004, 12
STREAMING_SLICE_S, STREAMING_PAUSE_MS = 0.002, 50
STREAMING_QUIET_S = 0.3
SYNC_RUNS_MAX = 2000  # remembered colours applied while rendering, per block (more: later)
LANGUAGE_LABEL_MAX = 40

_P = QTextFormat.Property
_CODE_IDS = itertools.count(1)
_FENCE_LINE = re.compile(r"^( {0,3})(`{3,}|~{3,})([^\n]*)$", re.MULTILINE)
# Without one of these, Markdown has nothing style_markdown styles: code (fenced, indented
# or inline), a quote, a table or a heading (setext ones too).
_STYLED_SIGNS = ("`", "~~~", "    ", "\t", ">", "|", "#", "==", "--")


@dataclass(frozen=True)
class _Formats:
    """The formats of one theme (built once per theme)."""

    code_frame: QTextFrameFormat
    code_chars: QTextCharFormat
    inline_code: QTextCharFormat
    header_block: QTextBlockFormat
    label_chars: QTextCharFormat
    link_chars: QTextCharFormat
    quote_table: QTextTableFormat
    quote_cell: QTextTableCellFormat
    quote_chars: QTextCharFormat
    table: QTextTableFormat
    header_cell: QTextTableCellFormat
    style_name: str  # Pygments'


@functools.cache
def _formats(c: Colors) -> _Formats:
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    code_frame = QTextFrameFormat()
    code_frame.setBackground(QColor(c.code))
    code_frame.setBorder(1)
    code_frame.setBorderBrush(QColor(c.border))
    code_frame.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    code_frame.setPadding(8)
    code_frame.setTopMargin(6)
    code_frame.setBottomMargin(10)
    code_chars = QTextCharFormat()
    code_chars.setFontFamilies([*mono.families(), "monospace"])
    code_chars.setFontFixedPitch(True)
    code_chars.setFontStyleHint(QFont.StyleHint.Monospace)
    inline_code = QTextCharFormat()
    inline_code.setBackground(QColor(c.code))
    header_block = QTextBlockFormat()
    header_block.setProperty(CHROME_PROPERTY, True)
    header_block.setBottomMargin(4)
    header_block.setNonBreakableLines(True)
    label_chars = QTextCharFormat()
    label_chars.setForeground(QColor(c.muted))
    label_chars.setFontPointSize(8)
    link_chars = QTextCharFormat(label_chars)
    link_chars.setForeground(QColor(c.accent))
    link_chars.setAnchor(True)
    link_chars.setToolTip("Copy this code block")
    # A quote is a one-cell table: only a cell can have a border on one side (the bar).
    quote_table = QTextTableFormat()
    quote_table.setBorder(0)
    quote_table.setBorderCollapse(True)
    quote_table.setCellSpacing(0)
    quote_table.setCellPadding(8)
    quote_table.setTopMargin(4)
    quote_table.setBottomMargin(10)
    quote_table.setWidth(QTextLength(QTextLength.Type.PercentageLength, 100))
    quote_table.setProperty(QUOTE_PROPERTY, True)
    quote_cell = QTextTableCellFormat()
    quote_cell.setBackground(QColor(c.alt))
    quote_cell.setBorder(0)
    quote_cell.setLeftBorder(3)
    quote_cell.setLeftBorderBrush(QColor(c.accent))
    quote_cell.setLeftBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    quote_chars = QTextCharFormat()
    quote_chars.setForeground(QColor(c.muted))
    table = QTextTableFormat()
    table.setBorder(1)
    table.setBorderBrush(QColor(c.border))
    table.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    table.setBorderCollapse(True)
    table.setCellSpacing(0)
    table.setCellPadding(6)
    table.setTopMargin(4)
    table.setBottomMargin(10)
    table.setHeaderRowCount(1)  # a Markdown table always has one
    header_cell = QTextTableCellFormat()
    header_cell.setBackground(QColor(c.alt))
    return _Formats(
        code_frame=code_frame,
        code_chars=code_chars,
        inline_code=inline_code,
        header_block=header_block,
        label_chars=label_chars,
        link_chars=link_chars,
        quote_table=quote_table,
        quote_cell=quote_cell,
        quote_chars=quote_chars,
        table=table,
        header_cell=header_cell,
        style_name="github-dark" if c.dark else "default",
    )


# -- Pygments -------------------------------------------------------------------------------


_LEXERS: dict[str, Any] = {}


def _lexer(language: str) -> Any:
    """A Pygments lexer for a fence's language, or None (unknown, or no Pygments).

    No guessing: Pygments' guess loads every lexer (~0.4 s) and often picks a wrong one.
    """
    if language not in _LEXERS:
        try:
            from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]

            _LEXERS[language] = get_lexer_by_name(language.lower(), stripnl=False, ensurenl=False)
        except Exception:  # no language, an unknown one, a broken plugin, or no Pygments
            _LEXERS[language] = None
    return _LEXERS[language]


@functools.cache
def _pygments_style(style_name: str) -> Any:
    from pygments.styles import get_style_by_name  # type: ignore[import-untyped]

    return get_style_by_name(style_name)


_TOKEN_FORMATS: dict[tuple[str, Any], QTextCharFormat | None] = {}
_LOOKS: dict[tuple[str, bool, bool], QTextCharFormat] = {}


def _token_format(style_name: str, ttype: Any) -> QTextCharFormat | None:
    """The char format a Pygments style gives a token type (None: the default text)."""
    key = (style_name, ttype)
    if key in _TOKEN_FORMATS:
        return _TOKEN_FORMATS[key]
    try:
        spec = _pygments_style(style_name).style_for_token(ttype)
    except Exception:
        spec = {}
    look = (spec.get("color") or "", bool(spec.get("bold")), bool(spec.get("italic")))
    fmt = _LOOKS.get(look)
    if fmt is None and look != ("", False, False):  # one object per look: its runs join
        fmt = _LOOKS[look] = QTextCharFormat()
        if look[0]:
            fmt.setForeground(QColor(f"#{look[0]}"))
        if look[1]:
            fmt.setFontWeight(QFont.Weight.Bold)
        if look[2]:
            fmt.setFontItalic(True)
    _TOKEN_FORMATS[key] = fmt
    return fmt


Run = tuple[int, int, QTextCharFormat]  # UTF-16 offsets in a code block's text, and a format


def _runs(text: str, lexer: Any, style_name: str) -> Iterator[Run | None]:
    """The coloured runs of ``text``, lazily, and a None every 256 tokens (a moment to
    look at the clock); a lexer failure ends them early."""
    ascii_only = text.isascii()
    last_index = last_pos = 0
    run_fmt: QTextCharFormat | None = None
    run_start = run_end = 0
    try:
        for count, (index, ttype, value) in enumerate(lexer.get_tokens_unprocessed(text)):
            if count % 256 == 255:
                yield None
            if index < last_index or index + len(value) > len(text):
                return  # not the text we gave it: stop rather than colour the wrong place
            if ascii_only:
                pos, end = index, index + len(value)
            else:
                pos = last_pos + _utf16_len(text[last_index:index])
                end = pos + _utf16_len(value)
                last_index, last_pos = index, pos
            fmt = _token_format(style_name, ttype)
            if pos == run_end and (fmt is run_fmt or (run_fmt is not None and value.isspace())):
                run_end = end  # the same look, or blanks inside a run: one run
                continue
            if run_fmt is not None and run_end > run_start:
                yield run_start, run_end, run_fmt
            run_fmt, run_start, run_end = fmt, pos, end
    except Exception:  # a lexer bug on odd input: the rest stays plain
        return
    if run_fmt is not None and run_end > run_start:
        yield run_start, run_end, run_fmt


def _utf16_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


_RUN_CACHE: OrderedDict[tuple[str, str, bytes], tuple[int, list[Run]]] = OrderedDict()  # (chars, runs)
_RUN_CACHE_CHARS = 2 * 1024 * 1024  # code remembered (a streamed block, for its answer's final render)
_cache_chars = 0


def _key(text: str, language: str, style_name: str) -> tuple[str, str, bytes]:
    return (
        language,
        style_name,
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest(),
    )


def _remembered(text: str, language: str, style_name: str) -> list[Run] | None:
    """The colours of a code block's text if they are remembered."""
    cached = _RUN_CACHE.get(_key(text[:HIGHLIGHT_MAX], language, style_name))
    return None if cached is None else cached[1]


class _Colouring:
    """The colours of one code block's text, lexed bit by bit or remembered."""

    def __init__(self, text: str, language: str, style_name: str) -> None:
        self.text = text[:HIGHLIGHT_MAX]
        self.key = _key(self.text, language, style_name)
        cached = _RUN_CACHE.get(self.key)
        self._source: Iterator[Run | None] | None = None
        if cached is not None:
            _RUN_CACHE.move_to_end(self.key)
            self.runs = cached[1]
            self.done = True
            return
        self.runs = []
        lexer = _lexer(language)
        self.done = lexer is None
        if lexer is not None:
            self._source = _runs(self.text, lexer, style_name)

    def advance(self, deadline: float) -> None:
        """Lex until ``deadline`` or the end (then the runs are remembered)."""
        if self.done or self._source is None:
            return
        for count, run in enumerate(self._source, start=1):
            if run is not None:
                self.runs.append(run)
            if (run is None or count % 32 == 0) and time.perf_counter() > deadline:
                return
        self.done = True
        _remember(self.key, len(self.text), self.runs)


def _remember(key: tuple[str, str, bytes], chars: int, runs: list[Run]) -> None:
    global _cache_chars
    if key in _RUN_CACHE:
        return
    _RUN_CACHE[key] = (chars, runs)
    _cache_chars += chars
    while _cache_chars > _RUN_CACHE_CHARS and len(_RUN_CACHE) > 1:
        _, (dropped, _runs) = _RUN_CACHE.popitem(last=False)
        _cache_chars -= dropped


def _apply(cursor: QTextCursor, start: int, runs: list[Run]) -> None:
    for run_start, run_end, fmt in runs:
        cursor.setPosition(start + run_start)
        cursor.setPosition(start + run_end, QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(fmt)


# -- the exact text of fenced code blocks ---------------------------------------------------


def fenced_blocks(source: str) -> list[list[str]]:
    """The content lines of the fenced code blocks that start a line of ``source``.

    CommonMark's rules for fences with up to three spaces before them; an unclosed fence
    runs to the end. Fences inside quotes or further indented list items are not found
    (their copy link gives the text as shown).
    """
    blocks: list[list[str]] = []
    fences = _FENCE_LINE.finditer(source)
    for opening in fences:
        indent, fence, info = opening.groups()
        if fence[0] == "`" and "`" in info:
            continue  # not a fence: an inline code span
        start = opening.end() + 1
        body = None
        for closing in fences:
            mark = closing.group(2)
            if mark[0] == fence[0] and len(mark) >= len(fence) and not closing.group(3).strip(" \t\r"):
                body = source[start : closing.start()]
                break
        if body is None:
            body = source[start:]
        lines = body.split("\n")
        if body.endswith("\n") or not body:
            lines.pop()
        blocks.append([_unindent(line.removesuffix("\r"), len(indent)) for line in lines])
    return blocks


def _unindent(line: str, indent: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]


def _shown(line: str) -> str:
    """A code line as Qt shows it (leading tabs become spaces), for matching."""
    return line.expandtabs(4).replace("\0", "\ufffd")


# -- the walk -------------------------------------------------------------------------------


@dataclass
class _Code:
    start: int  # position of the first line
    end: int  # position after the last character of the last line
    text: str  # as shown
    language: str
    framed: bool = True  # False inside a quote: coloured (if quick), not framed
    exact: str | None = None  # from the Markdown source, when it matched
    pending: bool = False  # not coloured yet


@dataclass
class _Quote:
    start: int
    end: int


def style_markdown(doc: QTextDocument, source: str, rewrite: Callable[[str], str] | None = None) -> bool:
    """Give ``doc`` the theme's look; it was just imported from the Markdown ``source``,
    rewritten by ``rewrite`` first if given. True if some code is left to colour (see
    :class:`CodeColourer`)."""
    if not any(sign in source for sign in _STYLED_SIGNS):
        return False  # prose and lists only: Qt's look is the look (most streamed blocks)
    cursor = QTextCursor(doc)
    cursor.beginEditBlock()  # one change: without it, every frame costs O(document)
    try:
        return _style(doc, cursor, source, rewrite)
    finally:
        cursor.endEditBlock()


def _style(
    doc: QTextDocument, cursor: QTextCursor, source: str, rewrite: Callable[[str], str] | None
) -> bool:
    fmts = _formats(colors())
    codes: list[_Code] = []
    quotes: list[_Quote] = []
    inline_code = source.count("`") > 3 * source.count("```")  # backticks outside fences
    kinds: dict[int, tuple[bool, int, int]] = {}  # block format index -> code?, quote, heading
    block = doc.begin()
    while block.isValid():
        index = block.blockFormatIndex()  # blocks alike share one: far cheaper than the format
        kind = kinds.get(index)
        if kind is None:
            fmt = block.blockFormat()
            kind = kinds[index] = (
                fmt.hasProperty(_P.BlockCodeLanguage),
                fmt.intProperty(_P.BlockQuoteLevel),
                fmt.headingLevel(),
            )
        code, quote, heading = kind
        if code:
            block = _collect_code(block, block.blockFormat(), codes)
            continue
        if quote > 0:
            block = _collect_quote(cursor, block, fmts, codes, quotes)
            continue
        if heading:
            _space_heading(cursor, block, heading)
        if inline_code:
            _tint_inline_code(cursor, block, fmts)
        block = block.next()
    if codes:
        _match_sources(codes, source, rewrite)
        _colour(cursor, codes, fmts)
    # A frame shifts what follows it: insert them last to first.
    items: list[_Code | _Quote] = [*(c for c in codes if c.framed), *quotes]
    for item in sorted(items, key=lambda it: it.start, reverse=True):
        if isinstance(item, _Code):
            _frame_code(cursor, item, fmts)
        else:
            _frame_quote(cursor, item, fmts)
    if "|" in source:
        _style_tables(doc.rootFrame(), cursor, fmts)  # last: it may remove a stray empty line
    return any(c.pending for c in codes)


def _collect_code(
    block: QTextBlock, fmt: QTextBlockFormat, codes: list[_Code], framed: bool = True
) -> QTextBlock:
    """Record the code block whose first line is ``block``; return the block after it."""
    language = fmt.stringProperty(_P.BlockCodeLanguage)
    fence = fmt.stringProperty(_P.BlockCodeFence)
    level = fmt.intProperty(_P.BlockQuoteLevel)
    lines = [block.text()]
    start = block.position()
    index = block.blockFormatIndex()
    last = block
    block = block.next()
    while block.isValid():
        if block.blockFormatIndex() == index:  # the same format: the same code block
            lines.append(block.text())
            last = block
            block = block.next()
            continue
        fmt = block.blockFormat()
        if (
            not fmt.hasProperty(_P.BlockCodeLanguage)
            or fmt.stringProperty(_P.BlockCodeLanguage) != language
            or fmt.stringProperty(_P.BlockCodeFence) != fence
            or fmt.intProperty(_P.BlockQuoteLevel) != level
        ):
            break
        lines.append(block.text())
        last = block
        block = block.next()
    end = last.position() + last.length() - 1
    codes.append(_Code(start, end, "\n".join(lines), language, framed=framed))
    return block


def _collect_quote(
    cursor: QTextCursor, block: QTextBlock, fmts: _Formats, codes: list[_Code], quotes: list[_Quote]
) -> QTextBlock:
    """Style the quoted blocks from ``block`` on and record them; return the block after."""
    start = block.position()
    last = block
    while block.isValid():
        fmt = block.blockFormat()
        level = fmt.intProperty(_P.BlockQuoteLevel)
        if level <= 0:
            break
        following = block.next()
        quoted = QTextBlockFormat()
        quoted.setLeftMargin(16 * (level - 1))  # the table's padding indents the first level
        quoted.setRightMargin(0)
        if fmt.hasProperty(_P.BlockCodeLanguage):
            following = _collect_code(block, fmt, codes, framed=False)
            cursor.setPosition(block.position())
            cursor.setPosition(codes[-1].end, QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeBlockFormat(quoted)
        else:
            more = following.isValid() and following.blockFormat().intProperty(_P.BlockQuoteLevel) > 0
            quoted.setTopMargin(0)
            quoted.setBottomMargin(6 if more else 0)
            cursor.setPosition(block.position())
            cursor.mergeBlockFormat(quoted)
            for frag in _fragments(block):
                if not frag.charFormat().isAnchor():
                    cursor.setPosition(frag.position())
                    cursor.setPosition(frag.position() + frag.length(), QTextCursor.MoveMode.KeepAnchor)
                    cursor.mergeCharFormat(fmts.quote_chars)
        last = following.previous() if following.isValid() else block.document().lastBlock()
        block = following
    quotes.append(_Quote(start, last.position() + last.length() - 1))
    return block


_HEADING_TOP = {1: 20.0, 2: 16.0, 3: 12.0}


def _space_heading(cursor: QTextCursor, block: QTextBlock, level: int) -> None:
    """Room above a heading, a little below it. (Qt's paragraphs and list items already
    have 6 px above and below; changing every block's format would cost more than all
    the rest of the styling.)"""
    spaced = QTextBlockFormat()
    spaced.setTopMargin(_HEADING_TOP.get(level, 10.0))
    spaced.setBottomMargin(4.0)
    cursor.setPosition(block.position())
    cursor.mergeBlockFormat(spaced)


def _fragments(block: QTextBlock) -> Iterator[QTextFragment]:
    for item in cast("Iterable[QTextBlock.iterator]", block):
        frag = item.fragment()
        if frag.isValid():
            yield frag


def _tint_inline_code(cursor: QTextCursor, block: QTextBlock, fmts: _Formats) -> None:
    for frag in _fragments(block):
        if frag.charFormat().fontFixedPitch():
            cursor.setPosition(frag.position())
            cursor.setPosition(frag.position() + frag.length(), QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(fmts.inline_code)


def _match_sources(codes: list[_Code], source: str, rewrite: Callable[[str], str] | None) -> None:
    """Find each code block's exact text among the source's fenced blocks, in order.

    Only needed where the text shown can differ from the source's: Qt turns tabs that
    indent a line into spaces, "\\r\\n" into "\\n" and NUL into U+FFFD, and the view
    rewrites images as links.
    """
    if not any(sign in source for sign in ("\t", "\r", "\0", "![")):
        return
    candidates = [lines or [""] for lines in fenced_blocks(source)]
    shown = [[_shown(rewrite(line) if rewrite else line) for line in lines] for lines in candidates]
    next_candidate = 0
    for code in codes:
        lines = [_shown(line) for line in code.text.split("\n")]
        for j in range(next_candidate, len(candidates)):
            if shown[j] == lines:
                code.exact = "\n".join(candidates[j])
                next_candidate = j + 1
                break


def _colour(cursor: QTextCursor, codes: list[_Code], fmts: _Formats) -> None:
    """Monospace for every code block, and the colours remembered for it (lexing is left
    to the view's CodeColourer: a render never lexes); framed ones not coloured yet are
    marked pending."""
    for code in codes:
        cursor.setPosition(code.start)
        cursor.setPosition(code.end, QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(fmts.code_chars)
        if not code.language or _LEXERS.get(code.language, True) is None:
            continue  # no language, or one Pygments doesn't know: plain
        runs = _remembered(code.text, code.language, fmts.style_name)
        if runs is not None and len(runs) <= SYNC_RUNS_MAX:
            _apply(cursor, code.start, runs)
        else:
            code.pending = code.framed


def _frame_code(cursor: QTextCursor, code: _Code, fmts: _Formats) -> None:
    """Put ``code`` in a tinted frame, under a header line (language, copy link)."""
    doc = cursor.document()
    cursor.setPosition(code.start)
    line = QTextBlockFormat(cursor.blockFormat())
    indent = line.indent() * doc.indentWidth() + line.leftMargin()  # a code block in a list
    line.setIndent(0)
    line.setLeftMargin(0)
    code_id = next(_CODE_IDS)
    frame_fmt = QTextFrameFormat(fmts.code_frame)
    frame_fmt.setLeftMargin(indent)
    frame_fmt.setProperty(CODE_ID_PROPERTY, code_id)
    frame_fmt.setProperty(CODE_TEXT_PROPERTY, code.exact if code.exact is not None else code.text)
    frame_fmt.setProperty(CODE_LANGUAGE_PROPERTY, code.language)
    if code.pending:
        frame_fmt.setProperty(PENDING_PROPERTY, True)
    cursor.setPosition(code.end, QTextCursor.MoveMode.KeepAnchor)
    if indent:
        cursor.mergeBlockFormat(line)
    # Started at the end of the line before, the frame opens with an empty line (the
    # header's) and leaves no empty line before it; that line must be an ordinary one.
    merge = code.start > 0 and doc.characterAt(code.start - 1) == _PARAGRAPH_END
    if merge:
        cursor.setPosition(code.start - 1)
        cursor.setPosition(code.end, QTextCursor.MoveMode.KeepAnchor)
    frame = cursor.insertFrame(frame_fmt)
    inside = frame.firstCursorPosition()
    if not merge:
        inside.setBlockFormat(line)  # the frame gave its first line a default format
        inside.insertBlock(line)  # the header's line, before the code's first
        inside.movePosition(QTextCursor.MoveOperation.PreviousBlock)
    inside.setBlockFormat(fmts.header_block)
    label = code.language[:LANGUAGE_LABEL_MAX]
    if label:
        inside.insertText(f"{label}  ·  ", fmts.label_chars)
    link = QTextCharFormat(fmts.link_chars)
    link.setAnchorHref(copy_url(code_id))
    inside.insertText(COPY_LABEL, link)
    _collapse_around(frame, before=not merge)


def _frame_quote(cursor: QTextCursor, quote: _Quote, fmts: _Formats) -> None:
    """Move ``quote`` into a tinted one-cell table with an accent bar on its left."""
    cursor.setPosition(quote.start)
    first = cursor.blockFormat()
    cursor.setPosition(quote.end, QTextCursor.MoveMode.KeepAnchor)
    content = cursor.selection()
    cursor.removeSelectedText()
    table = cursor.insertTable(1, 1, fmts.quote_table)
    cell = table.cellAt(0, 0)
    cell.setFormat(fmts.quote_cell)
    inside = cell.firstCursorPosition()
    inside.insertFragment(content)
    inside.setPosition(cell.firstPosition())
    inside.setBlockFormat(first)  # the cell kept its own format for the first line
    _collapse_around(table)


def _style_tables(frame: QTextFrame, cursor: QTextCursor, fmts: _Formats) -> None:
    for child in frame.childFrames():
        if isinstance(child, QTextTable) and not child.format().hasProperty(QUOTE_PROPERTY):
            _style_table(child, cursor, fmts)
        _style_tables(child, cursor, fmts)


def _style_table(table: QTextTable, cursor: QTextCursor, fmts: _Formats) -> None:
    fmt = table.format()
    fmt.merge(fmts.table)
    table.setFormat(fmt)
    doc = cursor.document()
    first = doc.findBlock(table.cellAt(0, 0).firstPosition())
    if first.length() == 1 and table.cellAt(0, 0).lastPosition() > first.position():
        # Qt's importer leaves an empty line in the first cell of a table after a quote.
        cursor.setPosition(first.position())
        cursor.deleteChar()
    flat = QTextBlockFormat()
    flat.setTopMargin(0)
    flat.setBottomMargin(0)
    bold = QTextCharFormat()
    bold.setFontWeight(QFont.Weight.Bold)
    for row in range(table.rows()):
        for column in range(table.columns()):
            cell = table.cellAt(row, column)
            cursor.setPosition(cell.firstPosition())
            cursor.setPosition(cell.lastPosition(), QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeBlockFormat(flat)
            if row < fmt.headerRowCount():
                cursor.mergeCharFormat(bold)
                cell_fmt = cell.format().toTableCellFormat()
                cell_fmt.merge(fmts.header_cell)
                cell.setFormat(cell_fmt)
    _collapse_around(table)


SPACER = QTextBlockFormat()  # an empty line that takes no room
SPACER.setLineHeight(0, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
_FRAME_START = "\ufdd0"  # QTextBeginningOfFrame: ends the line before a frame or table
_PARAGRAPH_END = "\u2029"  # what ends an ordinary line in a QTextDocument


def _collapse_around(frame: QTextFrame, before: bool = True) -> None:
    """Make the empty lines Qt keeps before and after a frame take no room (the frame's
    own margins space it)."""
    doc = frame.document()
    positions = (
        (frame.firstPosition() - 1, frame.lastPosition() + 1) if before else (frame.lastPosition() + 1,)
    )
    for position in positions:
        block = doc.findBlock(position)
        if block.isValid() and block.length() == 1:
            QTextCursor(block).setBlockFormat(SPACER)


def collapse_spacer(block: QTextBlock) -> None:
    """If ``block`` is an empty line right before a frame, make it take no room (a block a
    fragment was inserted into keeps its own format, not the fragment's)."""
    if (
        block.isValid()
        and block.length() == 1
        and block.document().characterAt(block.position()) == _FRAME_START
    ):
        QTextCursor(block).setBlockFormat(SPACER)


# -- colouring later ------------------------------------------------------------------------


@dataclass
class _Job:
    """Colouring one pending code frame."""

    code_id: int
    position: int  # where the frame was last seen (it is checked, then looked for if moved)
    colouring: _Colouring | None = None
    applied: int = 0  # runs applied


class CodeColourer:
    """Colours the code blocks that renders left pending in ``doc``, a slice at a time.

    Every view's colourer shares one timer (:class:`_Turns`): all of them together use
    at most HIGHLIGHT_SLICE_S in every HIGHLIGHT_PAUSE_MS, however many lanes stream. A
    frame is looked up again at every step, by its number, so one that went away (an
    answer rendered again, a transcript reloaded) is simply dropped.
    """

    def __init__(self, doc: QTextDocument) -> None:
        self._doc = doc
        self._todo: deque[_Job] = deque()  # pending code frames, in document order

    def schedule(self) -> None:
        """Look for pending code blocks (a render just left some) and colour them."""
        self._todo.clear()
        _turns().add(self)

    def busy(self) -> bool:
        return _turns().has(self)

    def step(self, deadline: float) -> bool:
        """Colour until ``deadline``; False once nothing is left pending."""
        cursor = QTextCursor(self._doc)
        cursor.beginEditBlock()  # one change for the view to lay out, not one per run
        try:
            return self._step(cursor, deadline)
        finally:
            cursor.endEditBlock()

    def _step(self, cursor: QTextCursor, deadline: float) -> bool:
        if not self._todo:
            self._todo.extend(
                _Job(f.frameFormat().intProperty(CODE_ID_PROPERTY), f.firstPosition())
                for f in code_frames(self._doc)
                if f.frameFormat().boolProperty(PENDING_PROPERTY)
            )
        while self._todo and time.perf_counter() < deadline:
            job = self._todo[0]
            frame = _find_frame(cursor, job)
            if frame is None or not frame.frameFormat().boolProperty(PENDING_PROPERTY):
                self._todo.popleft()
                continue
            if job.colouring is None:
                fmt = frame.frameFormat()
                text = "\n".join(_code_lines(frame))
                language = fmt.stringProperty(CODE_LANGUAGE_PROPERTY)
                job.colouring = _Colouring(text, language, _formats(colors()).style_name)
            colouring = job.colouring
            colouring.advance(deadline)
            start = _code_start(frame)
            while job.applied < len(colouring.runs) and time.perf_counter() < deadline:
                _apply(cursor, start, colouring.runs[job.applied : job.applied + 64])
                job.applied = min(job.applied + 64, len(colouring.runs))
            if colouring.done and job.applied == len(colouring.runs):
                fmt = frame.frameFormat()
                fmt.clearProperty(PENDING_PROPERTY)
                frame.setFrameFormat(fmt)
                self._todo.popleft()
        return bool(self._todo)


def _find_frame(cursor: QTextCursor, job: _Job) -> QTextFrame | None:
    """The code frame ``job`` colours, where it was or elsewhere; None if it is gone."""
    doc = cursor.document()
    if 0 < job.position < doc.characterCount():
        cursor.setPosition(job.position)
        frame = cursor.currentFrame()
        fmt = frame.frameFormat()
        if fmt.hasProperty(CODE_ID_PROPERTY) and fmt.intProperty(CODE_ID_PROPERTY) == job.code_id:
            return frame
    found = _code_frame(doc, job.code_id)
    if found is not None:
        job.position = found.firstPosition()
    return found


_last_streamed = 0.0


def note_streaming() -> None:
    """Streamed text was just shown: colouring later slows down for a while."""
    global _last_streamed
    _last_streamed = time.perf_counter()


class _Turns:
    """One timer for every colourer: a slice of work, then a pause, round robin."""

    def __init__(self) -> None:
        self._queue: deque[weakref.ref[CodeColourer]] = deque()
        self._timer = QTimer(QCoreApplication.instance())  # goes with the application
        self._timer.setInterval(HIGHLIGHT_PAUSE_MS)  # a 0 ms timer would starve other timers
        self._timer.timeout.connect(self._tick)

    def add(self, colourer: CodeColourer) -> None:
        if not self.has(colourer):
            self._queue.append(weakref.ref(colourer))
        if not self._timer.isActive():
            self._timer.start()

    def has(self, colourer: CodeColourer) -> bool:
        return any(ref() is colourer for ref in self._queue)

    def _tick(self) -> None:
        now = time.perf_counter()
        streaming = now - _last_streamed < STREAMING_QUIET_S
        self._timer.setInterval(STREAMING_PAUSE_MS if streaming else HIGHLIGHT_PAUSE_MS)
        deadline = now + (STREAMING_SLICE_S if streaming else HIGHLIGHT_SLICE_S)
        while self._queue and time.perf_counter() < deadline:
            colourer = self._queue[0]()
            try:
                more = colourer is not None and colourer.step(deadline)
            except RuntimeError:  # its view, and document, were deleted
                more = False
            if more:
                self._queue.rotate(-1)  # out of time: the next view's turn comes first
            else:
                self._queue.popleft()
        if not self._queue:
            self._timer.stop()


@functools.cache
def _turns() -> _Turns:
    return _Turns()


def _code_start(frame: QTextFrame) -> int:
    """Where a code frame's code starts (after its header line)."""
    return frame.firstCursorPosition().block().next().position()


def _code_lines(frame: QTextFrame) -> Iterator[str]:
    block = frame.firstCursorPosition().block().next()
    while block.isValid() and block.position() < frame.lastPosition():
        yield block.text()
        block = block.next()


def _code_frame(doc: QTextDocument, code_id: int) -> QTextFrame | None:
    for frame in _frames(doc):
        fmt = frame.frameFormat()
        if fmt.hasProperty(CODE_ID_PROPERTY) and fmt.intProperty(CODE_ID_PROPERTY) == code_id:
            return frame
    return None


def _frames(doc: QTextDocument) -> Iterator[QTextFrame]:
    """Every frame in ``doc`` below the root, in document order."""
    stack = list(reversed(doc.rootFrame().childFrames()))
    while stack:
        frame = stack.pop()
        yield frame
        stack.extend(reversed(frame.childFrames()))


# -- what the view needs ----------------------------------------------------------------------


def is_chrome(block: QTextBlock) -> bool:
    """True for a display-only block (a code block's header), never copied as text."""
    return block.blockFormat().boolProperty(CHROME_PROPERTY)


def code_frames(doc: QTextDocument) -> list[QTextFrame]:
    """Every code block's frame in ``doc``, in document order."""
    return [frame for frame in _frames(doc) if frame.frameFormat().hasProperty(CODE_ID_PROPERTY)]


def copy_url(code_id: int) -> str:
    """The "Copy code" link of code block number ``code_id``."""
    return f"{COPY_SCHEME}:{_COPY_KEY}-{code_id}"


def code_for_link(doc: QTextDocument, url: QUrl) -> str | None:
    """The exact text of the code block a "Copy code" link names; None for any other URL
    (one the model wrote, a block no longer shown)."""
    key, _, number = url.path().partition("-")
    if url.scheme() != COPY_SCHEME or key != _COPY_KEY or not number.isdigit():
        return None
    code_id = int(number)
    frame = _code_frame(doc, code_id)
    return None if frame is None else frame.frameFormat().stringProperty(CODE_TEXT_PROPERTY)
