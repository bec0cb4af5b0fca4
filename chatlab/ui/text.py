"""Safe, append-only text views for untrusted model output.

:class:`SafeBrowser` is a QTextBrowser that never loads a resource: every request
(http, https, file, data, anything) is refused and recorded, so a Markdown image can't
leak data or read local files. Links open in the system browser on click, and only for
http/https. Markdown is rendered with Qt's GitHub dialect and ``MarkdownNoHTML``: raw HTML
in model output shows as text, never as markup.

:class:`AnswerView` streams an answer cheaply: new text is inserted at the end with a
cursor (never ``setMarkdown`` on the whole text per token); each finished Markdown block
(a blank line outside a code fence) is rendered once; at the end the whole answer is
rendered once. Auto-scroll happens only if the view was already at the bottom.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextBrowser, QWidget

MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
SAFE_SCHEMES = ("http", "https")
TRANSCRIPT_TURNS = 30  # turns rendered when a session is opened; a link shows the rest
EARLIER_URL = "chatlab:earlier-turns"


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


def markdown_fragment(text: str) -> QTextDocumentFragment:
    # Images become plain links ("image: alt"): nothing is fetched, a click is the user's.
    doc = SafeDocument()
    doc.setMarkdown(_IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}](", text), MARKDOWN)
    return QTextDocumentFragment(doc)


class SafeBrowser(QTextBrowser):
    linkRefused = Signal(str)

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
        if link_is_safe(url):
            QDesktopServices.openUrl(url)
        else:
            self.linkRefused.emit(url.toString())

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
        self._all_turns: list[tuple[str, str, str]] = []

    def _end_cursor(self) -> QTextCursor:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def add_prompt(self, prompt: str, first: bool) -> None:
        """Start a turn: the user's prompt, then an empty answer."""
        bottom = self.at_bottom()
        cursor = self._end_cursor()
        self._turn_start = cursor.position()
        block = QTextBlockFormat()
        if first:
            cursor.setBlockFormat(block)
        else:
            block.setTopMargin(18)  # turns are separated by space and the bold "You:"
            cursor.insertBlock(block, QTextCharFormat())
        fmt = QTextCharFormat()
        fmt.setFontWeight(QFont.Weight.Bold)
        cursor.insertText("You: ", fmt)
        quoted = QTextCharFormat()
        quoted.setFontItalic(True)
        cursor.insertText(prompt.strip(), quoted)
        cursor.insertBlock(QTextBlockFormat(), self._plain)
        self._answer_start = self._rendered_end = cursor.position()
        self._pending = ""
        self.keep_bottom(bottom)

    def reset_answer(self) -> None:
        """Clear the current answer (for a retry)."""
        cursor = self._end_cursor()
        cursor.setPosition(self._answer_start, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._rendered_end = self._answer_start
        self._pending = ""

    def append(self, text: str) -> None:
        """Append streamed answer text; render any block that is now finished."""
        if not text:
            return
        bottom = self.at_bottom()
        searched_from = max(len(self._pending) - 1, 0)
        self._pending += text
        cut = self._pending.rfind("\n\n", searched_from)
        complete = self._pending[: cut + 2] if cut >= 0 else ""
        if complete and not _fence_open(complete):
            self._render_complete(complete)  # replaces the plain text shown so far
        else:
            self._end_cursor().insertText(text, self._plain)
        self.keep_bottom(bottom)

    def _render_complete(self, complete: str) -> None:
        rest = self._pending[len(complete) :]
        cursor = self._end_cursor()
        cursor.setPosition(self._rendered_end, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        cursor.insertFragment(markdown_fragment(complete))
        cursor.insertBlock()
        self._rendered_end = cursor.position()
        cursor.insertText(rest, self._plain)
        self._pending = rest

    def finish(self, full_text: str, note: str = "") -> None:
        """Render the whole answer once (and an optional note such as an error)."""
        bottom = self.at_bottom()
        cursor = self._end_cursor()
        cursor.setPosition(self._answer_start, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        if full_text:
            cursor.insertFragment(markdown_fragment(full_text))
        if note:
            cursor.insertBlock()
            fmt = QTextCharFormat()
            fmt.setForeground(self.palette().placeholderText())
            fmt.setFontItalic(True)
            cursor.insertText(note, fmt)
        self._rendered_end = cursor.position()
        self._pending = ""
        self.keep_bottom(bottom)

    def load_transcript(
        self, turns: list[tuple[str, str, str]], limit: int | None = TRANSCRIPT_TURNS
    ) -> None:
        """Show finished turns, (prompt, answer markdown, note) each, with one Markdown render.

        Only the last ``limit`` turns are rendered at first; a link shows the rest, so
        opening a session of hundreds of turns stays fast.
        """
        self.clear()
        self._all_turns = turns
        parts = []
        shown = turns
        if limit is not None and len(turns) > limit:
            shown = turns[-limit:]
            parts.append(f"[Show {len(turns) - limit} earlier turns]({EARLIER_URL})\n\n")
        for prompt, answer, note in shown:
            quoted = " ".join(prompt.split()).replace("*", "\\*").replace("_", "\\_")
            parts.append(f"**You:** *{quoted}*\n\n{answer}\n\n" + (f"*{note}*\n\n" if note else ""))
        cursor = self._end_cursor()
        cursor.insertFragment(markdown_fragment("\n\n".join(parts)))
        end = self._end_cursor().position()
        self._turn_start = self._answer_start = self._rendered_end = end
        self._pending = ""


class ReasoningView(QPlainTextEdit):
    """Plain, append-only reasoning text (rendered as text: it is often half-formed)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._turn_start = 0

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 2

    def start_turn(self, label: str, first: bool) -> None:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self._turn_start = cursor.position()
        if not first:
            cursor.insertText(f"\n\n— {label} —\n")
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
        cursor.insertText(text)
        if bottom:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())
