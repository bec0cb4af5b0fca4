"""Markdown rendered safely, in the designed look: code blocks, quotes, tables and headings.

Qt's Markdown importer (GitHub dialect, raw HTML off) builds a plain document in a
:class:`~chatlab.ui.shared.safe.SafeDocument` (images become plain links); then
:func:`style_markdown` walks it once and dresses it in the current theme's formats
(:mod:`.markdown_formats`). A code block goes into a bordered, tinted frame in a
monospace font, under a header line with its language and a "Copy code" link
(:mod:`.codeblocks`) that copies the block's exact text from the Markdown source; the
header is display-only. Code is coloured with the colours remembered for it, or left
pending for the view's colourer (:mod:`.highlight`): a render never lexes. A quote
becomes a tinted one-cell table with an accent bar on its left and muted text; a table
gets a border, cell padding and a tinted header row; headings get room above them.
:func:`insert_markdown` puts the result into a view. Nothing here interprets text as
HTML or loads anything: it sets formats, inserts text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import cast

from PySide6.QtGui import (
    QFont,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
    QTextFragment,
    QTextFrame,
    QTextFrameFormat,
    QTextTable,
)

from chatlab.ui.shared.codeblocks import copy_url, fenced_blocks
from chatlab.ui.shared.highlight import apply_runs, lexer_missing, remembered
from chatlab.ui.shared.longline import MARKDOWN_BLOCK_MAX, split_long_blocks
from chatlab.ui.shared.markdown_formats import Formats, formats
from chatlab.ui.shared.safe import SafeDocument
from chatlab.ui.shared.textprops import (
    CODE_ID_PROPERTY,
    CODE_LANGUAGE_PROPERTY,
    CODE_TEXT_PROPERTY,
    PENDING_PROPERTY,
    QUOTE_PROPERTY,
)
from chatlab.ui.shared.theme import colors

MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
COPY_LABEL = "Copy code"
SYNC_RUNS_MAX = 2000  # remembered colours applied while rendering, per block (more: later)
LANGUAGE_LABEL_MAX = 40

_P = QTextFormat.Property
_CODE_IDS = itertools.count(1)
# Without one of these, Markdown has nothing style_markdown styles: code (fenced, indented
# or inline), a quote, a table or a heading (setext ones too).
_STYLED_SIGNS = ("`", "~~~", "    ", "\t", ">", "|", "#", "==", "--")


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
    fmts = formats(colors())
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
    cursor: QTextCursor, block: QTextBlock, fmts: Formats, codes: list[_Code], quotes: list[_Quote]
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


def _tint_inline_code(cursor: QTextCursor, block: QTextBlock, fmts: Formats) -> None:
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


def _colour(cursor: QTextCursor, codes: list[_Code], fmts: Formats) -> None:
    """Monospace for every code block, and the colours remembered for it (lexing is left
    to the view's CodeColourer: a render never lexes); framed ones not coloured yet are
    marked pending."""
    for code in codes:
        cursor.setPosition(code.start)
        cursor.setPosition(code.end, QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(fmts.code_chars)
        if not code.language or lexer_missing(code.language):
            continue  # no language, or one Pygments doesn't know: plain
        runs = remembered(code.text, code.language, fmts.style_name)
        if runs is not None and len(runs) <= SYNC_RUNS_MAX:
            apply_runs(cursor, code.start, runs)
        else:
            code.pending = code.framed


def _frame_code(cursor: QTextCursor, code: _Code, fmts: Formats) -> None:
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


def _frame_quote(cursor: QTextCursor, quote: _Quote, fmts: Formats) -> None:
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


def _style_tables(frame: QTextFrame, cursor: QTextCursor, fmts: Formats) -> None:
    for child in frame.childFrames():
        if isinstance(child, QTextTable) and not child.format().hasProperty(QUOTE_PROPERTY):
            _style_table(child, cursor, fmts)
        _style_tables(child, cursor, fmts)


def _style_table(table: QTextTable, cursor: QTextCursor, fmts: Formats) -> None:
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


# -- rendering ------------------------------------------------------------------------------


_IMAGE = re.compile(r"!\[([^\]]*)\]\(")


def _image_as_link(text: str) -> str:
    # Images become plain links ("image: alt"): nothing is fetched, a click is the user's.
    return _IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}](", text)


def markdown_fragment(text: str) -> QTextDocumentFragment:
    """``text`` rendered as Markdown (never HTML), styled, in a fragment to insert."""
    return _markdown_fragment(text)[0]


def _markdown_fragment(text: str) -> tuple[QTextDocumentFragment, QTextBlockFormat | None, bool]:
    """The fragment, its first block's spacing (None if that block is empty), and whether
    code in it is left to colour (see CodeColourer)."""
    doc = SafeDocument()
    doc.setMarkdown(_image_as_link(text), MARKDOWN)
    pending = style_markdown(doc, text, _image_as_link)
    if len(text) > MARKDOWN_BLOCK_MAX:
        split_long_blocks(doc)
    spacing = None
    if doc.begin().length() > 1:
        first = doc.begin().blockFormat()
        spacing = QTextBlockFormat()
        spacing.setLineHeight(0, QTextBlockFormat.LineHeightTypes.SingleHeight.value)  # not a spacer's
        spacing.setTopMargin(first.topMargin())
        spacing.setBottomMargin(first.bottomMargin())
    return QTextDocumentFragment(doc), spacing, pending


def insert_markdown(cursor: QTextCursor, text: str) -> bool:
    """Insert ``text`` rendered as Markdown at ``cursor`` (at the start of an empty block);
    True if code in it is left to colour."""
    start = cursor.position()
    fragment, spacing, pending = _markdown_fragment(text)
    cursor.beginEditBlock()  # one change: else the view lays the document out for every frame
    cursor.insertFragment(fragment)
    cursor.endEditBlock()
    # The block it went into kept its own format: give it the first block's spacing; or,
    # if Qt left it empty (a list can't start in it), no room at all.
    first = cursor.document().findBlock(start)
    if spacing is not None and first.length() == 1:
        QTextCursor(first).setBlockFormat(SPACER)
    elif spacing is not None:
        QTextCursor(first).mergeBlockFormat(spacing)
    collapse_spacer(first)
    return pending
