"""Hostile bodies for the not-an-event-stream check (``chatlab/providers/sse.py``):
terminal controls and bidi overrides in the quoted first line, a page that is not UTF-8,
a very long first line, a BOM, CRLF only, the key echoed back, a huge HTML answer. The
error quotes a bounded first line, made safe, with no key; it is sent once. Over the
real SDKs against the loopback server's byte-for-byte replay."""

from __future__ import annotations

import pytest

from chatlab.core.data.events import ErrorKind
from chatlab.core.data.model import Lane, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from tests.conftest import lab_config, run_turn
from tests.providers.test_not_an_event_stream import FORMATS, answer

PREFIX = "the server's answer is not an event stream: it began "


def _quoted(message: str) -> str:
    assert message.startswith(PREFIX + "“") and message.endswith("”"), message
    return message[len(PREFIX) + 1 : -1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_controls_in_the_first_line_are_quoted_visible(server: DemoServer, fmt: str) -> None:
    """An OSC 52 clipboard write, a bell and a bidi override in a page: the error quoted
    them raw, to act on a terminal that prints it or a log that is cat'ed."""
    body = b"\x1b]52;c;ZXZpbA==\x07<b>\xe2\x80\xae gone</b>\x00\n<p>more</p>\n"
    resp, sent = answer(server, fmt, "controls-page", body, retries=2)
    assert resp.error is not None and resp.error.kind is ErrorKind.PROTOCOL and sent == 1
    assert _quoted(resp.error.message) == "\\x1b]52;c;ZXZpbA==\\x07<b>\\u202e gone</b>\\x00"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_page_that_is_not_utf8_is_not_an_event_stream(server: DemoServer, fmt: str) -> None:
    """A Latin-1 error page was "malformed stream data: UnicodeDecodeError: 'utf-8'
    codec can't decode byte 0xe9…", saying nothing of what the server sent."""
    resp, sent = answer(server, fmt, "latin1-page", b"<html>Caf\xe9 ferm\xe9</html>\n<p>x</p>\n", retries=2)
    assert resp.status is Status.ERROR and resp.error is not None and sent == 1
    assert resp.error.kind is ErrorKind.PROTOCOL
    assert _quoted(resp.error.message) == "<html>Caf\ufffd ferm\ufffd</html>"


def test_a_page_whose_later_line_is_not_utf8_quotes_its_first_line(server: DemoServer) -> None:
    resp, _ = answer(server, "chat", "latin1-later", b"Service Unavailable\n<p>r\xe9essayez</p>\n")
    assert resp.error is not None and _quoted(resp.error.message) == "Service Unavailable"


def test_an_event_stream_that_is_not_utf8_keeps_the_sdks_error(server: DemoServer) -> None:
    """Once a real SSE field came, a bad byte is the stream's damage, as before."""
    body = b': ok\n\ndata: {"a": "\xe9"}\n\n'
    resp, _ = answer(server, "chat", "latin1-sse", body)
    assert resp.error is not None and "UnicodeDecodeError" in resp.error.message


@pytest.mark.parametrize(
    ("body", "quoted"),
    [
        (b"<html>" + b"y" * 1_000_000 + b"</html>\n", "<html>" + "y" * 74 + "…"),  # one long line
        ("<p>" + "\u202e" * 500 + "</p>\n", "<p>" + "\\u202e" * 12 + "\\u202…"),  # escapes count
        (b"\xef\xbb\xbf<html>hi</html>\n", "\\ufeff<html>hi</html>"),  # a BOM is shown, not hidden
        ("é" * 200, "é" * 80 + "…"),  # a cut in the middle of a character is not a U+FFFD
    ],
    ids=["long", "bidi-flood", "bom", "multibyte"],
)
def test_the_quote_is_bounded(server: DemoServer, body: bytes | str, quoted: str) -> None:
    raw = body.encode() if isinstance(body, str) else body
    resp, _ = answer(server, "chat", "bounded", raw, retries=1)
    assert resp.error is not None and _quoted(resp.error.message) == quoted
    assert len(resp.error.message) < 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_crlf_only_is_a_stream_cut_short(server: DemoServer, fmt: str) -> None:
    resp, _ = answer(server, fmt, "crlf", b"\r\n" * 1000)
    assert resp.status is Status.INTERRUPTED and resp.error is not None
    assert resp.error.kind is ErrorKind.NETWORK


def test_a_page_that_echoes_the_key_never_quotes_it(server: DemoServer) -> None:
    key = "sk-hostile-0123456789abcdef"
    server.add_replay(
        "echo-key",
        f"<html>bad key {key} for you</html>\n".encode(),
        headers={"Content-Type": "text/event-stream"},
    )
    config = parse_config(
        {
            "providers": {
                "k": {
                    "kind": "openai-chat",
                    "base_url": server.openai_base_url,
                    "needs_key": True,
                    "api_key_env": "CHATLAB_TEST_HOSTILE_KEY",
                    "max_retries": 0,
                }
            }
        }
    )
    keys = KeyStore()
    keys.set("k", key)
    _, turn = run_turn(Runner(config, keys, make_adapter), [Lane("k", "echo-key")])
    [resp] = turn.responses.values()
    assert resp.error is not None and resp.error.kind is ErrorKind.PROTOCOL
    assert key not in resp.error.message and "0123456789" not in resp.error.message
    assert resp.error.message.startswith(PREFIX)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_huge_html_answer_is_one_short_error(server: DemoServer, fmt: str) -> None:
    """A 200 ``text/html`` of 19 MB: one bounded line, sent once."""
    body = b"<html>\n" + b"<p>lorem ipsum</p>\n" * 1_000_000
    server.add_replay("huge-html", body, headers={"Content-Type": "text/html"}, chunk_size=65536)
    before = len(server.log)
    _, turn = run_turn(
        Runner(lab_config(server, retries=2), KeyStore(), make_adapter), [Lane(fmt, "huge-html")]
    )
    [resp] = turn.responses.values()
    assert resp.status is Status.ERROR and resp.error is not None
    assert resp.error.message == "the server answered with text/html, not an event stream"
    assert len(server.log) - before == 1


CHAT = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"Hello "},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"World"},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.xfail(
    strict=True,
    reason="chatlab/providers/sse.py follows the SDKs' decoder, which keeps a leading BOM and "
    "reads '\\ufeffdata' as an unknown field: the first event is lost and the answer is 'ok'. "
    "The SSE standard drops one leading BOM. The fix is four lines in SSEParser.feed, but "
    "tests/providers/test_sse_hostile.py asserts SDK parity for a leading BOM (TRICKY[7], the "
    "random framing's BOM atom, FRAMINGS['bom-first']): the lead must choose spec over SDK there, "
    "as SPEC_NOT_SDK already does for empty events.",
)
@pytest.mark.parametrize("chunk", [1, 2, 3, 97])
def test_a_stream_that_starts_with_a_bom_loses_no_event(server: DemoServer, chunk: int) -> None:
    """The SSE standard drops one leading BOM; the SDKs' decoder does not, and read
    "\ufeffdata" as an unknown field: the first event, "Hello ", was lost and the answer
    was "ok" with "World"."""
    server.add_replay("bom-stream", b"\xef\xbb\xbf" + CHAT, chunk_size=chunk)
    runner = Runner(lab_config(server), KeyStore(), make_adapter)
    _, turn = run_turn(runner, [Lane("chat", "bom-stream")])
    [resp] = turn.responses.values()
    assert resp.status is Status.OK and resp.text == "Hello World"
