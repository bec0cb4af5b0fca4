"""Append-only text views for untrusted model output: an answer transcript, and reasoning.

Both are safe views (:mod:`.safe`: nothing loads, links open only on a click and only for
http/https) that split long lines for display only (:mod:`.longline`).

:class:`AnswerView` streams an answer cheaply: new text is inserted at the end with a
cursor (never ``setMarkdown`` on the whole text per token); each finished Markdown block
(a blank line outside a code fence) is rendered once (:func:`~.markdown.insert_markdown`);
at the end the whole answer is rendered once. Auto-scroll happens only if the view was
already at the bottom, and not while ``show_turn_start`` holds the latest turn's
divider at the top (a turn started, a finished answer, a session opened) until the user
scrolls. An answer longer than :data:`MARKDOWN_MAX_CHARS`, or with a line longer than
:data:`MARKDOWN_MAX_LINE`, is not rendered as Markdown at the end (the text
already shown stays as it is), and whole documents are rebuilt inside one edit block
after ``clear()`` so Qt lays them out lazily, in steps, rather than all at once. A
transcript of many turns shows the last :data:`TRANSCRIPT_TURNS` at first, under a link
to the rest. :class:`ReasoningView` is plain, append-only reasoning text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import (
    QPalette,
    QResizeEvent,
    QShowEvent,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from chatlab.ui.shared.highlight import CodeColourer, note_streaming
from chatlab.ui.shared.longline import BLOCK_SOFT, insert_split, selection_mime
from chatlab.ui.shared.markdown import insert_markdown
from chatlab.ui.shared.safe import SafeBrowser
from chatlab.ui.shared.textprops import BREAK_PROPERTY, CHROME_PROPERTY

TRANSCRIPT_TURNS = 30  # turns rendered when a session is opened; a link shows the rest
EARLIER_URL = "chatlab:earlier-turns"
# Larger answers, and answers with a longer line (data, not prose), are not rendered as
# Markdown: the plain text shown while they streamed stays.
MARKDOWN_MAX_CHARS = 256 * 1024
MARKDOWN_MAX_LINE = 16384


def renders_as_markdown(text: str) -> bool:
    """False for text too large, or with too long a line, to be worth a Markdown render."""
    if len(text) <= MARKDOWN_MAX_LINE:
        return True
    return len(text) <= MARKDOWN_MAX_CHARS and max(map(len, text.split("\n"))) <= MARKDOWN_MAX_LINE


def _rebuild(doc: QTextDocument, fill: Callable[[QTextCursor], None]) -> None:
    """Replace the whole document in one edit: Qt then lays it out lazily, in timed steps,
    instead of all at once (megabytes of text take seconds to lay out)."""
    cursor = QTextCursor(doc)
    cursor.beginEditBlock()
    doc.clear()  # inside the edit: Qt sees one change covering the whole document
    fill(cursor)
    cursor.endEditBlock()


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
        self._latest_turn = 0  # where the latest turn's divider is
        self._pin = False  # show_turn_start holds the latest turn at the top
        self._pin_at: int | None = None  # … or hold_at holds another block there
        self.verticalScrollBar().rangeChanged.connect(self._range_changed)
        # The user scrolling (wheel, keys, the bar) ends show_turn_start's hold.
        self.verticalScrollBar().actionTriggered.connect(self._unpin)
        self.colourer = CodeColourer(self.document())  # code left to colour after a render

    def _open_link(self, url: QUrl) -> None:
        if url.toString() == EARLIER_URL:  # the transcript's "Show N earlier turns"
            self.load_transcript(self._all_turns, limit=None)
            return
        super()._open_link(url)

    def _markdown(self, cursor: QTextCursor, text: str) -> None:
        if insert_markdown(cursor, text):
            self.colourer.schedule()

    def _end_cursor(self) -> QTextCursor:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def _range_changed(self, _low: int, high: int) -> None:
        bar = self.verticalScrollBar()
        if self._pin:  # the layout grew or the width changed: keep the start at the top
            self._scroll_to_latest_turn()
        elif self._follow and bar.value() >= self._last_max - 4:
            bar.setValue(high)
        self._last_max = high

    def show_turn_start(self) -> None:
        """Scroll so the latest turn's divider is at the top (a finished answer, a session
        opened or revealed), and keep it there while the layout grows or the width
        changes, until the user scrolls or more text comes."""
        self._follow = False
        self._pin = True
        self._pin_at = None
        self._scroll_to_latest_turn()

    def hold_at(self, position: int) -> None:
        """Like :meth:`show_turn_start`, for the block at ``position`` (a search hit's
        turn): put it at the top and keep it there while the layout settles."""
        self._follow = False
        self._pin = True
        self._pin_at = position
        self._scroll_to_latest_turn()

    def _unpin(self, _action: int = 0) -> None:
        self._pin = False
        self._pin_at = None

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._pin:
            self._scroll_to_latest_turn()

    def _scroll_to_latest_turn(self) -> None:
        doc = self.document()
        where = self._latest_turn if self._pin_at is None else self._pin_at
        block = doc.findBlock(min(where, max(doc.characterCount() - 1, 0)))
        top = doc.documentLayout().blockBoundingRect(block).top()  # lays out up to there only
        bar = self.verticalScrollBar()
        bar.setValue(round(top))

    def latest_turn_top(self) -> int:
        """Where the latest turn's divider is, in the scroll bar's pixels (for tests)."""
        doc = self.document()
        return round(doc.documentLayout().blockBoundingRect(doc.findBlock(self._latest_turn)).top())

    def add_prompt(self, prompt: str, first: bool, number: int | None = None) -> None:
        """Start a turn: a "Turn N" divider (the prompt itself shows once, above the
        lanes), then an empty answer; the divider goes to the top of the view."""
        self._follow = False
        self._pin = False
        cursor = self._end_cursor()
        self._turn_start = cursor.position()
        block = QTextBlockFormat()
        if first:
            cursor.setBlockFormat(block)
        else:
            block.setTopMargin(18)  # turns are separated by space and the divider
            cursor.insertBlock(block, QTextCharFormat())
        self._latest_turn = cursor.position()
        self._insert_divider(cursor, number)
        cursor.insertBlock(QTextBlockFormat(), self._plain)
        self._answer_start = self._rendered_end = cursor.position()
        self._pending = ""
        self._shown = hashlib.blake2b()
        self.show_turn_start()  # the new turn at the top; its answer grows below

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
        if not self._pin:  # held at the turn's start: no following
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
        if not self._pin:  # held at the turn's start: no following
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
        self._pin = False
        self._all_turns = turns
        self._latest_turn = 0
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
                    self._latest_turn = cursor.position()
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
        self._marker = 0  # where the latest turn's "— turn N —" line starts
        self._content_start = 0
        self._start_at: int | None = None  # show_turn_start's place, held until the user scrolls
        self.verticalScrollBar().actionTriggered.connect(self._unpin)

    def _unpin(self, _action: int = 0) -> None:
        self._start_at = None

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
        return selection_mime(self.textCursor()) or super().createMimeDataFromSelection()

    def start_turn(self, label: str, first: bool) -> None:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self._turn_start = self._marker = cursor.position()
        if not first:
            insert_split(cursor, f"\n\n— {label} —\n")
            self._marker += 2  # the "— turn N —" line, after the blank one
        self._content_start = cursor.position()

    def show_turn_start(self, position: int | None = None) -> None:
        """Scroll so the latest turn's reasoning (from ``position``, else from the last
        ``start_turn``) is at the top of the view: now, and again when the view is shown
        or resized (a folded pane opened), until the user scrolls."""
        self._start_at = self._marker if position is None else position
        self._scroll_to_start()

    def _scroll_to_start(self) -> None:
        if self._start_at is None or not self.isVisible():
            return
        doc = self.document()
        cursor = QTextCursor(doc)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()  # from the end, so the start comes to the top, not the bottom
        cursor.setPosition(min(self._start_at, doc.characterCount() - 1))
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._scroll_to_start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._scroll_to_start()

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
