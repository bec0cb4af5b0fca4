"""Safe, append-only text views for untrusted model output.

:class:`SafeBrowser` is a QTextBrowser that never loads a resource: every request
(http, https, file, data, anything) is refused and recorded, so a Markdown image can't
leak data or read local files. Links open in the system browser on click, and only for
http/https. Markdown is rendered with Qt's GitHub dialect and ``MarkdownNoHTML``: raw HTML
in model output shows as text, never as markup. :mod:`chatlab.ui.shared.markdown` then styles
the rendered document (code blocks with colours and a "Copy code" link, quotes, tables);
its "Copy code" links copy their code block's exact text and open nothing.

:class:`AnswerView` streams an answer cheaply: new text is inserted at the end with a
cursor (never ``setMarkdown`` on the whole text per token); each finished Markdown block
(a blank line outside a code fence) is rendered once; at the end the whole answer is
rendered once. Auto-scroll happens only if the view was already at the bottom.

Long lines are split for display only. Qt lays out a whole paragraph (text block) again
whenever text is added to it, so one multi-megabyte line streamed into a single block
costs O(n) per frame and O(n²) overall, and a block with no break opportunity costs far
more. Every view therefore starts a new, marked block (:data:`BREAK_PROPERTY`) once a
line passes :data:`BLOCK_SOFT` characters, after its next whitespace, and always at
:data:`BLOCK_HARD`. The rule depends only on the text before the break, so a line split
while it streams is split exactly as the same line inserted at once. Copying a
selection drops these breaks; the model's text (the :class:`Response`, the database, the
copy buttons) is never touched. An answer longer than :data:`MARKDOWN_MAX_CHARS` is not
rendered as Markdown at the end (the text already shown stays as it is), and whole
documents are rebuilt inside one edit block after ``clear()`` so Qt lays them out
lazily, in steps, rather than all at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMimeData, Qt, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QPalette,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextBrowser, QWidget

from chatlab.ui.shared.markdown import (
    CHROME_PROPERTY,
    SPACER,
    CodeColourer,
    code_for_link,
    collapse_spacer,
    is_chrome,
    note_streaming,
    style_markdown,
)

MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
SAFE_SCHEMES = ("http", "https")
TRANSCRIPT_TURNS = 30  # turns rendered when a session is opened; a link shows the rest
EARLIER_URL = "chatlab:earlier-turns"

# A display line (text block) longer than BLOCK_SOFT characters ends after its next
# whitespace, and never grows past BLOCK_HARD: appending to a block costs about 0.5 µs
# per character already in it, so a frame's append stays around a millisecond.
BLOCK_SOFT = 2048
BLOCK_HARD = 4096
# A Markdown-rendered block (a paragraph joins its source lines) is split the same way
# only when longer than this, so ordinary long paragraphs are never broken.
MARKDOWN_BLOCK_MAX = 16384
# Larger answers, and answers with a longer line (data, not prose), are not rendered as
# Markdown: the plain text shown while they streamed stays.
MARKDOWN_MAX_CHARS = 256 * 1024
MARKDOWN_MAX_LINE = 16384
# Marks a block that continues the previous block's line (a display-only break).
BREAK_PROPERTY = int(QTextFormat.Property.UserProperty.value) + 1

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


def renders_as_markdown(text: str) -> bool:
    """False for text too large, or with too long a line, to be worth a Markdown render."""
    if len(text) <= MARKDOWN_MAX_LINE:
        return True
    return len(text) <= MARKDOWN_MAX_CHARS and max(map(len, text.split("\n"))) <= MARKDOWN_MAX_LINE


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


def link_is_safe(url: QUrl) -> bool:
    return url.scheme().lower() in SAFE_SCHEMES and bool(url.host())


class ResourceLog:
    """Every resource any chatlab text view was asked to load (all refused)."""

    requests: list[str] = []  # noqa: RUF012 - deliberately shared across all views

    @classmethod
    def refuse(cls, url: QUrl) -> None:
        cls.requests.append(url.toString())


class SafeDocument(QTextDocument):
    """A document that refuses every resource (used to render Markdown fragments)."""

    def loadResource(self, kind: int, url: QUrl | str) -> Any:
        ResourceLog.refuse(QUrl(url))
        return None


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


def _selection_mime(cursor: QTextCursor) -> QMimeData | None:
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


def _rebuild(doc: QTextDocument, fill: Callable[[QTextCursor], None]) -> None:
    """Replace the whole document in one edit: Qt then lays it out lazily, in timed steps,
    instead of all at once (megabytes of text take seconds to lay out)."""
    cursor = QTextCursor(doc)
    cursor.beginEditBlock()
    doc.clear()  # inside the edit: Qt sees one change covering the whole document
    fill(cursor)
    cursor.endEditBlock()


class SafeBrowser(QTextBrowser):
    linkRefused = Signal(str)
    codeCopied = Signal(str)  # a code block's "Copy code" put this text on the clipboard

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)  # an undo stack would grow with every streamed chunk
        self.anchorClicked.connect(self._open_link)

    def loadResource(self, kind: int, url: QUrl | str) -> Any:
        ResourceLog.refuse(QUrl(url))
        return None

    def _open_link(self, url: QUrl) -> None:
        if url.toString() == EARLIER_URL and isinstance(self, AnswerView):
            self.load_transcript(self._all_turns, limit=None)
            return
        code = code_for_link(self.document(), url)
        if code is not None:  # a code block's "Copy code": copies, never opens anything
            QGuiApplication.clipboard().setText(code)
            self.codeCopied.emit(code)
            return
        if link_is_safe(url):
            QDesktopServices.openUrl(url)
        else:
            self.linkRefused.emit(url.toString())

    def createMimeDataFromSelection(self) -> QMimeData:
        # Copying a selection gives the text without the display-only line breaks.
        return _selection_mime(self.textCursor()) or super().createMimeDataFromSelection()

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def keep_bottom(self, was_at_bottom: bool) -> None:
        if was_at_bottom:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())


def _fence_open(text: str) -> bool:
    """True if ``text`` leaves a ``` code fence open."""
    count = 0
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            count += 1
    return count % 2 == 1


def _plain_block(cursor: QTextCursor) -> QTextBlockFormat:
    """The format of a new block after the cursor's: the same (a paragraph's spacing), but
    never a display-break mark, nor a list's, quote's, code block's or spacer's format."""
    fmt = cursor.blockFormat()
    if (
        fmt.objectIndex() >= 0
        or fmt.lineHeightType() != QTextBlockFormat.LineHeightTypes.SingleHeight.value
        or fmt.hasProperty(QTextFormat.Property.BlockCodeLanguage)
        or fmt.hasProperty(QTextFormat.Property.BlockQuoteLevel)
        or fmt.hasProperty(CHROME_PROPERTY)
    ):
        return QTextBlockFormat()
    fmt.clearProperty(BREAK_PROPERTY)
    return fmt


class AnswerView(SafeBrowser):
    """A conversation transcript; the current answer streams in at the end."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plain = QTextCharFormat()
        self._plain.setFont(self.font())
        self._turn_start = 0  # where the current turn's block starts
        self._answer_start = 0  # where the current answer starts
        self._rendered_end = 0  # end of the Markdown already rendered in this answer
        self._pending = ""  # raw text after _rendered_end (at most one unfinished block)
        self._shown = hashlib.blake2b()  # digest of the current answer's text appended so far
        self._all_turns: list[tuple[str, str, str]] = []
        self._follow = False  # stay at the bottom while a rebuilt document is laid out
        self._last_max = 0
        self.verticalScrollBar().rangeChanged.connect(self._range_changed)
        self.colourer = CodeColourer(self.document())  # code left to colour after a render

    def _markdown(self, cursor: QTextCursor, text: str) -> None:
        if insert_markdown(cursor, text):
            self.colourer.schedule()

    def _end_cursor(self) -> QTextCursor:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def _range_changed(self, _low: int, high: int) -> None:
        bar = self.verticalScrollBar()
        if self._follow and bar.value() >= self._last_max - 4:
            bar.setValue(high)
        self._last_max = high

    def add_prompt(self, prompt: str, first: bool, number: int | None = None) -> None:
        """Start a turn: a "Turn N" divider (the prompt itself shows once, above the
        lanes), then an empty answer."""
        self._follow = False
        bottom = self.at_bottom()
        cursor = self._end_cursor()
        self._turn_start = cursor.position()
        block = QTextBlockFormat()
        if first:
            cursor.setBlockFormat(block)
        else:
            block.setTopMargin(18)  # turns are separated by space and the divider
            cursor.insertBlock(block, QTextCharFormat())
        self._insert_divider(cursor, number)
        cursor.insertBlock(QTextBlockFormat(), self._plain)
        self._answer_start = self._rendered_end = cursor.position()
        self._pending = ""
        self._shown = hashlib.blake2b()
        self.keep_bottom(bottom)

    def _insert_divider(self, cursor: QTextCursor, number: int | None) -> None:
        block = cursor.blockFormat()
        block.setAlignment(Qt.AlignmentFlag.AlignCenter)
        block.setBottomMargin(6)
        cursor.setBlockFormat(block)
        fmt = QTextCharFormat()
        fmt.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
        fmt.setFontPointSize(max(7.0, self.font().pointSizeF() - 1))
        cursor.insertText(f"─── Turn {number} ───" if number else "───", fmt)

    def reset_answer(self) -> None:
        """Clear the current answer (for a retry)."""
        self._follow = False
        cursor = self._end_cursor()
        cursor.setPosition(self._answer_start, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        cursor.setBlockFormat(QTextBlockFormat())  # not a rendered block's (an empty spacer's)
        self._rendered_end = self._answer_start
        self._pending = ""
        self._shown = hashlib.blake2b()

    def append(self, text: str) -> None:
        """Append streamed answer text; render any block that is now finished."""
        if not text:
            return
        note_streaming()
        bottom = self.at_bottom()
        self._shown.update(text.encode("utf-8", "surrogatepass"))
        searched_from = max(len(self._pending) - 1, 0)
        self._pending += text
        cut = self._pending.rfind("\n\n", searched_from)
        complete = self._pending[: cut + 2] if cut >= 0 else ""
        if complete and not _fence_open(complete):
            if renders_as_markdown(complete):
                self._render_complete(complete)  # replaces the plain text shown so far
            else:  # what is shown stays, as plain text
                rest = self._pending[len(complete) :]
                insert_split(self._end_cursor(), text[: len(text) - len(rest)], self._plain)
                self._rendered_end = self._end_cursor().position()
                insert_split(self._end_cursor(), rest, self._plain)
                self._pending = rest
        else:
            insert_split(self._end_cursor(), text, self._plain)
        self.keep_bottom(bottom)

    def _render_complete(self, complete: str) -> None:
        rest = self._pending[len(complete) :]
        cursor = self._end_cursor()
        cursor.beginEditBlock()  # one change for the view to lay out
        cursor.setPosition(self._rendered_end, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._markdown(cursor, complete)
        cursor.insertBlock(_plain_block(cursor))
        self._rendered_end = cursor.position()
        insert_split(cursor, rest, self._plain)
        cursor.endEditBlock()
        self._pending = rest

    def _insert_note(self, cursor: QTextCursor, note: str) -> None:
        cursor.insertBlock(_plain_block(cursor))
        fmt = QTextCharFormat()
        fmt.setForeground(self.palette().placeholderText())
        fmt.setFontItalic(True)
        insert_split(cursor, note, fmt)

    def finish(self, full_text: str, note: str = "") -> None:
        """Render the whole answer once (and an optional note such as an error).

        An answer that :func:`renders_as_markdown` refuses is not rendered: if it
        streamed into view, what is shown stays; otherwise it is shown as plain text.
        """
        bottom = self.at_bottom()
        if renders_as_markdown(full_text):
            cursor = self._end_cursor()
            cursor.beginEditBlock()  # one change for the view to lay out
            cursor.setPosition(self._answer_start, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            cursor.setBlockFormat(QTextBlockFormat())  # not a rendered block's (an empty spacer's)
            if full_text:
                self._markdown(cursor, full_text)
            if note:
                self._insert_note(cursor, note)
            cursor.endEditBlock()
            self._rendered_end = cursor.position()
        elif self._shown.digest() == hashlib.blake2b(full_text.encode("utf-8", "surrogatepass")).digest():
            cursor = self._end_cursor()  # exactly what streamed: already on screen, split
            if note:
                self._insert_note(cursor, note)
            self._rendered_end = cursor.position()
        else:
            self._rebuild_answer(full_text, note)
            self._follow = bottom
        self._pending = ""
        self._shown = hashlib.blake2b()
        self.keep_bottom(bottom)

    def _rebuild_answer(self, full_text: str, note: str) -> None:
        """Show ``full_text`` as plain text in place of the current answer, rebuilding the
        whole document so that Qt lays it out lazily."""
        cursor = self._end_cursor()
        cursor.setPosition(self._answer_start, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        before = None
        if self._answer_start:
            cursor.setPosition(0, QTextCursor.MoveMode.KeepAnchor)
            before = cursor.selection()

        def fill(c: QTextCursor) -> None:
            if before is not None:
                c.insertFragment(before)
            c.setBlockFormat(QTextBlockFormat())
            insert_split(c, full_text, self._plain)
            if note:
                self._insert_note(c, note)

        _rebuild(self.document(), fill)
        # Not a cursor moved to the end: that would lay the whole document out now.
        self._rendered_end = self.document().characterCount() - 1

    def load_transcript(
        self, turns: list[tuple[str, str, str]], limit: int | None = TRANSCRIPT_TURNS
    ) -> None:
        """Show finished turns, (turn label, answer markdown, note) each, with one Markdown
        render. The label is the turn's number in the session ("3"); an empty label numbers
        the turns in order.

        Only the last ``limit`` turns are rendered at first; a link shows the rest, so
        opening a session of hundreds of turns stays fast. A prompt or an answer that
        :func:`renders_as_markdown` refuses is shown as plain text, split for display.
        """
        self.clear()
        self._follow = False
        self._all_turns = turns
        segments: list[tuple[str, str]] = []  # ("markdown" | "prompt" | "plain", text)
        parts: list[str] = []  # Markdown not yet in a segment

        def add(kind: str, text: str) -> None:
            if parts:
                segments.append(("markdown", "\n\n".join(parts)))
                parts.clear()
            segments.append((kind, text))

        shown = turns
        if limit is not None and len(turns) > limit:
            shown = turns[-limit:]
            parts.append(f"[Show {len(turns) - limit} earlier turns]({EARLIER_URL})\n\n")
        first_number = len(turns) - len(shown) + 1
        for number, (label, answer, note) in enumerate(shown, start=first_number):
            add("divider", label if label.isdigit() else str(number))
            if renders_as_markdown(answer):
                parts.append(f"{answer}\n\n")
            else:
                add("plain", answer)
            if note:
                parts.append(f"*{note}*\n\n")
        if parts or not segments:
            segments.append(("markdown", "\n\n".join(parts)))

        def fill(cursor: QTextCursor) -> None:
            for i, (kind, text) in enumerate(segments):
                if i:
                    cursor.insertBlock(QTextBlockFormat(), self._plain)
                if kind == "markdown":
                    self._markdown(cursor, text)
                elif kind == "divider":
                    self._insert_divider(cursor, int(text))
                else:
                    insert_split(cursor, text, self._plain)

        _rebuild(self.document(), fill)
        end = self.document().characterCount() - 1  # a cursor moved there would force the layout
        self._turn_start = self._answer_start = self._rendered_end = end
        self._pending = ""
        self._shown = hashlib.blake2b()


class ReasoningView(QPlainTextEdit):
    """Plain, append-only reasoning text (rendered as text: it is often half-formed)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._turn_start = 0
        self._content_start = 0

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 2

    def setPlainText(self, text: str) -> None:
        """Replace the text, split for display like streamed text."""
        if all(len(line) <= BLOCK_SOFT for line in text.split("\n")):
            super().setPlainText(text)
            return
        _rebuild(self.document(), lambda cursor: insert_split(cursor, text))

    def createMimeDataFromSelection(self) -> QMimeData:
        return _selection_mime(self.textCursor()) or super().createMimeDataFromSelection()

    def start_turn(self, label: str, first: bool) -> None:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self._turn_start = cursor.position()
        if not first:
            insert_split(cursor, f"\n\n— {label} —\n")
        self._content_start = cursor.position()

    def reset_turn(self) -> None:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.setPosition(self._content_start, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()

    def append(self, text: str) -> None:
        if not text:
            return
        bottom = self.at_bottom()
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        insert_split(cursor, text)
        if bottom:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())
