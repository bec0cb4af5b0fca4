"""Code blocks of rendered Markdown: finding their frames, their exact text, their copy link.

A styled code block is a frame marked with its number, exact text and language
(:data:`~chatlab.ui.shared.textprops.CODE_ID_PROPERTY` and the rest), whose first line is
a display-only header (:func:`is_chrome`) with a "Copy code" link. The link
(``chatlab-copy:…``, :func:`copy_url`) carries a per-run key, so a link in the model's
text can't forge one; :func:`code_for_link` gives the text a genuine one names, and
nothing else. :func:`fenced_blocks` finds the blocks' exact lines in the Markdown source
(Qt shows tabs, "\\r\\n" and NUL differently).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextBlock, QTextDocument, QTextFrame

from chatlab.ui.shared.textprops import CHROME_PROPERTY, CODE_ID_PROPERTY, CODE_TEXT_PROPERTY

COPY_SCHEME = "chatlab-copy"
# In every copy link: a link the model writes to chatlab-copy: can't name a code block.
_COPY_KEY = secrets.token_hex(8)
_FENCE_LINE = re.compile(r"^( {0,3})(`{3,}|~{3,})([^\n]*)$", re.MULTILINE)


# -- in a rendered document -------------------------------------------------------------------


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
    frame = code_frame(doc, code_id)
    return None if frame is None else frame.frameFormat().stringProperty(CODE_TEXT_PROPERTY)


def code_start(frame: QTextFrame) -> int:
    """Where a code frame's code starts (after its header line)."""
    return frame.firstCursorPosition().block().next().position()


def code_lines(frame: QTextFrame) -> Iterator[str]:
    """The lines of a code frame's code (not its header line)."""
    block = frame.firstCursorPosition().block().next()
    while block.isValid() and block.position() < frame.lastPosition():
        yield block.text()
        block = block.next()


def code_frame(doc: QTextDocument, code_id: int) -> QTextFrame | None:
    """The frame of code block number ``code_id`` in ``doc``; None if it is not there."""
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
