"""Long lines split for display only, and the text without those splits.

Qt lays out a whole paragraph (text block) again whenever text is added to it, so one
multi-megabyte line streamed into a single block costs O(n) per frame and O(n²) overall,
and a block with no break opportunity costs far more. Every view therefore starts a new,
marked block (:data:`~chatlab.ui.shared.textprops.BREAK_PROPERTY`) once a line passes
:data:`BLOCK_SOFT` characters, after its next whitespace, and always at :data:`BLOCK_HARD`
(:func:`insert_split`; :func:`split_long_blocks` for a rendered document). The rule
depends only on the text before the break, so a line split while it streams is split
exactly as the same line inserted at once. Copying a selection drops these breaks, and
the display-only blocks (a code block's header) too (:func:`text_without_breaks`,
:func:`selection_mime`); the model's text (the :class:`Response`, the database, the copy
buttons) is never touched.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QTextBlock, QTextBlockFormat, QTextCharFormat, QTextCursor, QTextDocument

from chatlab.ui.shared.codeblocks import is_chrome
from chatlab.ui.shared.textprops import BREAK_PROPERTY

# A display line (text block) longer than BLOCK_SOFT characters ends after its next
# whitespace, and never grows past BLOCK_HARD: appending to a block costs about 0.5 µs
# per character already in it, so a frame's append stays around a millisecond.
BLOCK_SOFT = 2048
BLOCK_HARD = 4096
# A Markdown-rendered block (a paragraph joins its source lines) is split the same way
# only when longer than this, so ordinary long paragraphs are never broken.
MARKDOWN_BLOCK_MAX = 16384

_WHITESPACE = re.compile(r"\s")
# What QTextCursor.insertText turns into a new block.
_LINE_BREAK = re.compile("(\r\n|[\n\r\u2029\ufdd0\ufdd1])")
_RARE_BREAKS = ("\r", "\u2029", "\ufdd0", "\ufdd1")


def display_breaks(line: str) -> list[int]:
    """Offsets in ``line`` (no newline) where a display-only block starts.

    A block that has reached BLOCK_SOFT characters ends after its next whitespace; one
    that reaches BLOCK_HARD ends there. A break is placed only when a character follows
    it, so the breaks of a prefix are the breaks of the whole line that fall inside it.
    """
    cuts: list[int] = []
    start = 0
    n = len(line)
    while n - start > BLOCK_SOFT:
        space = _WHITESPACE.search(line, start + BLOCK_SOFT, min(start + BLOCK_HARD, n - 1))
        if space is not None:
            cut = space.end()
        elif n - start > BLOCK_HARD:
            cut = start + BLOCK_HARD
        else:
            break
        cuts.append(cut)
        start = cut
    return cuts


def is_break(block: QTextBlock) -> bool:
    """True if ``block`` continues the previous block's line (a display-only break)."""
    return block.blockFormat().boolProperty(BREAK_PROPERTY)


def _continuation(fmt: QTextBlockFormat, block: QTextBlock) -> QTextBlockFormat:
    """The format of a block that continues ``block``'s line: the same, but marked, with no
    space above and outside any list (a list would number it as a new item)."""
    cont = QTextBlockFormat(fmt)
    cont.setProperty(BREAK_PROPERTY, True)
    cont.setTopMargin(0)
    text_list = block.textList()
    if text_list is not None:
        cont.setObjectIndex(-1)
        cont.setIndent(text_list.format().indent())
    return cont


def insert_split(cursor: QTextCursor, text: str, char_format: QTextCharFormat | None = None) -> None:
    """Insert ``text`` at ``cursor`` (at the end of its block), starting a marked block
    wherever a line passes the display limits (see :func:`display_breaks`)."""
    fmt = char_format if char_format is not None else cursor.charFormat()
    block = cursor.block()
    rare = any(sep in text for sep in _RARE_BREAKS)
    if not rare and "\n" not in text and block.length() - 1 + len(text) <= BLOCK_SOFT:
        cursor.insertText(text, fmt)  # the common case while streaming: no new block
        return
    line_fmt = QTextBlockFormat(block.blockFormat())
    in_break = line_fmt.boolProperty(BREAK_PROPERTY)
    line_fmt.clearProperty(BREAK_PROPERTY)
    cont = _continuation(block.blockFormat(), block)
    tail = block.text() if cursor.atBlockEnd() else _utf16_prefix(block.text(), cursor.positionInBlock())
    buf: list[str] = []

    def flush() -> None:
        if buf:
            cursor.insertText("".join(buf), fmt)
            buf.clear()

    if rare:
        pieces = _LINE_BREAK.split(text)  # line, separator, line, …, line
        lines, separators = pieces[0::2], pieces[1::2]
    else:  # the common case, and much faster on megabytes
        lines, separators = text.split("\n"), []
    for i, line in enumerate(lines):
        if i:
            if in_break:  # a real line break after a continued line: back to the line's format
                flush()
                cursor.insertBlock(line_fmt, fmt)
                in_break = False
            else:
                buf.append(separators[i - 1] if separators else "\n")
            tail = ""
        if len(tail) + len(line) <= BLOCK_SOFT:
            buf.append(line)
            tail += line
            continue
        whole = tail + line
        prev = len(tail)
        start = 0
        for cut in display_breaks(whole):
            start = cut
            if cut < prev:  # the block was already too long (text from elsewhere)
                continue
            buf.append(whole[prev:cut])
            flush()
            cursor.insertBlock(cont, fmt)
            in_break = True
            prev = cut
        buf.append(whole[prev:])
        tail = whole[start:]
    flush()


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_prefix(text: str, units: int) -> str:
    """The first ``units`` UTF-16 code units of ``text`` (Qt positions count those)."""
    return text.encode("utf-16-le", "surrogatepass")[: 2 * units].decode("utf-16-le", "surrogatepass")


def split_long_blocks(doc: QTextDocument, longer_than: int = MARKDOWN_BLOCK_MAX) -> None:
    """Split every block of ``doc`` longer than ``longer_than`` characters for display."""
    cursor = QTextCursor(doc)
    block = doc.begin()
    while block.isValid():
        following = block.next()
        if block.length() - 1 > longer_than:
            text = block.text()
            cuts = display_breaks(text)
            if cuts:
                fmt = block.blockFormat()
                last = _continuation(fmt, block)
                middle = QTextBlockFormat(last)
                middle.setBottomMargin(0)
                offsets = []
                offset = prev = 0
                for cut in cuts:
                    offset += _utf16_len(text[prev:cut])
                    offsets.append(offset)
                    prev = cut
                cursor.beginEditBlock()
                for i, offset in enumerate(reversed(offsets)):
                    cursor.setPosition(block.position() + offset)
                    cursor.insertBlock(last if i == 0 else middle, cursor.charFormat())
                head = QTextBlockFormat(fmt)
                head.setBottomMargin(0)
                cursor.setPosition(block.position())
                cursor.setBlockFormat(head)
                cursor.endEditBlock()
        block = following


def text_without_breaks(doc: QTextDocument, start: int, end: int) -> str:
    """The document's plain text from ``start`` to ``end``, without display-only breaks
    and blocks (a code block's header)."""
    parts: list[str] = []
    block = doc.findBlock(start)
    first = True
    while block.isValid() and block.position() <= end:
        if is_chrome(block):
            block = block.next()
            continue
        text = block.text()
        lo = max(start - block.position(), 0)
        hi = end - block.position()
        if lo or hi < _utf16_len(text):
            raw = text.encode("utf-16-le", "surrogatepass")
            text = raw[2 * lo : 2 * max(hi, lo)].decode("utf-16-le", "surrogatepass")
        if not first:
            parts.append("" if is_break(block) else "\n")
        parts.append(text)
        first = False
        block = block.next()
    return "".join(parts)


def selection_mime(cursor: QTextCursor) -> QMimeData | None:
    """Plain-text mime data for a selection that spans display-only breaks or blocks, else
    None."""
    doc = cursor.document()
    start, end = cursor.selectionStart(), cursor.selectionEnd()
    block = doc.findBlock(start)
    if not is_chrome(block):
        block = block.next()
    while block.isValid() and block.position() <= end:
        if is_break(block) or is_chrome(block):
            mime = QMimeData()
            mime.setText(text_without_breaks(doc, start, end))
            return mime
        block = block.next()
    return None
