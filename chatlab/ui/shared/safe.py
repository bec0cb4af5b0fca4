"""What keeps untrusted model output inert in a text view: nothing loads, links wait for a click.

:class:`SafeBrowser` is a QTextBrowser that never loads a resource: every request
(http, https, file, data, anything) is refused and recorded in :class:`ResourceLog`, so
a Markdown image can't leak data or read local files; :class:`SafeDocument` does the same
for a document rendered off screen. Links open in the system browser on click, and only
for http/https with a host (:func:`link_is_safe`); any other is refused, and said so
(``linkRefused``). A code block's "Copy code" link copies its block's exact text and
opens nothing. :func:`plain_tip` keeps a tooltip of untrusted text (a grade's detail that
quotes the answer, a model's name) plain: Qt renders any tooltip that looks like HTML;
:func:`name_line` puts a name someone else wrote (a label, a model, a study) on one line.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, Qt, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from chatlab.core.data.safety import clean_text, visible_controls
from chatlab.ui.shared.codeblocks import code_for_link
from chatlab.ui.shared.longline import selection_mime

SAFE_SCHEMES = ("http", "https")


def name_line(text: str, limit: int | None = None) -> str:
    """A name someone else wrote (a lane's label, a model listed by a server, a title or
    a study's name from a suite) as one line of text: line breaks made spaces, controls
    and bidi overrides made visible (``\\u202e``), cut to ``limit`` characters."""
    line = visible_controls(clean_text(" ".join(text.split())))
    return line if limit is None or len(line) <= limit else line[: limit - 1] + "…"


def plain_tip(text: str) -> str:
    """``text`` as a tooltip that shows it character for character. Qt takes a tooltip
    with something like a tag before its first line break for rich text (an answer
    quoting ``<b>``, ``<img src=…>``): such a text is escaped; any other is left as it is."""
    return Qt.convertFromPlainText(text) if Qt.mightBeRichText(text) else text


def link_is_safe(url: QUrl) -> bool:
    """True for a link that may open in the system browser: http or https, with a host."""
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


class SafeBrowser(QTextBrowser):
    """A read-only text view that loads nothing and opens only safe links, on a click."""

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
        return selection_mime(self.textCursor()) or super().createMimeDataFromSelection()

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def keep_bottom(self, was_at_bottom: bool) -> None:
        if was_at_bottom:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())
