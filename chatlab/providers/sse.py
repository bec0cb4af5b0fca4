"""Server-sent events, decoded straight from the response bytes, fast and exactly as the SDKs do.

The SDKs turn every SSE event into a pydantic object, which costs more CPU than
everything else in a lane put together. The adapters therefore let the SDK send the
request (URL, auth, headers, status errors) and read its ``httpx`` response here:
:class:`SSEParser` splits the bytes into events following the same rules as the SDKs'
decoder (LF, CR and CRLF line ends, even across reads; ``event``, ``data``, ``id`` and
``retry`` fields; comments; the last event id surviving a dispatch; an unfinished
event at the end dropped), and :func:`loads` decodes an event's JSON with msgspec.
Whatever msgspec refuses (``NaN``, a lone surrogate escape, invalid UTF-8, a BOM) is
decoded again the SDKs' way, line by line with ``bytes.decode`` and ``json.loads``, so
the result, or the exception and its message, is exactly what the SDK path gave.
One thing differs, in :func:`events` rather than the parser: a body with text but no
SSE in it at all (an nginx page sent as ``text/event-stream``, as LiteLLM's proxy passes
one on) is a protocol error quoting its first line (bounded, controls made visible),
where the SDKs see an empty stream; when such a body is not UTF-8 (a Latin-1 page), the
same error replaces the SDKs' ``UnicodeDecodeError``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator
from typing import Any

import msgspec

_decode = msgspec.json.decode
_LINE_END = re.compile(b"[\r\n]")


MAX_EVENT_BYTES = 64 * 1024 * 1024  # a line, or an event's data, longer than this ends the stream


class Event:
    """One dispatched event: its name (None when it had none) and its data lines, raw;
    or the point where the stream broke (``error``), which every read of it raises."""

    __slots__ = ("error", "event", "lines", "starts")

    def __init__(
        self, event: str | None, lines: list[bytes], starts: list[int], error: Exception | None = None
    ) -> None:
        self.event = event
        self.lines = lines  # each whole ``data`` line, as received
        self.starts = starts  # where each line's value begins
        self.error = error

    @property
    def data(self) -> bytes:
        lines, starts = self.lines, self.starts
        if len(lines) == 1:
            return lines[0][starts[0] :]
        return b"\n".join(line[start:] for line, start in zip(lines, starts, strict=True))

    def text(self) -> str:
        """The data as the SDKs see it: each line decoded (strictly), joined with LF."""
        if self.error is not None:
            raise self.error
        return "\n".join(
            line.decode("utf-8")[start:] for line, start in zip(self.lines, self.starts, strict=True)
        )

    def check(self) -> None:
        """Raise what the SDKs raise for an event they skip unread: invalid UTF-8."""
        if self.error is not None:
            raise self.error
        for line in self.lines:
            line.decode("utf-8")

    def json(self) -> Any:
        """The data's JSON value. Raises what ``json.loads`` on :meth:`text` would raise."""
        if self.error is not None:
            raise self.error
        try:
            return _decode(self.data)
        except Exception:  # DecodeError, UnicodeDecodeError, too deep: the SDKs' way decides
            return json.loads(self.text())


class SSEParser:
    """Incremental SSE decoding: :meth:`feed` each network read, then :meth:`finish`.

    A line that can't be read (invalid UTF-8 outside a ``data`` line, where the SDKs
    raise at once) or that grows past ``MAX_EVENT_BYTES`` ends the stream: it comes out
    as an :class:`Event` whose every read raises, after the events before it, so a reader
    keeps what came first and stops at an end marker it reached before the damage.
    """

    def __init__(self) -> None:
        self._buf = bytearray()  # an unfinished line
        self._skip_lf = False  # the last read ended with CR: a leading LF belongs to it
        self._event: str | None = None
        self._lines: list[bytes] = []
        self._starts: list[int] = []
        self._size = 0  # bytes of data in the event so far
        self._last_id: str | None = None
        self._retry: int | None = None
        self._broken = False
        self._fields = False  # an SSE field or comment arrived: this is an event stream
        self._foreign: bytes | None = None  # else the first line that is no SSE field

    def _break(self, error: Exception) -> Event:
        self._broken = True
        self._buf.clear()
        self._lines, self._starts = [], []
        return Event(None, [], [], error)

    def feed(self, chunk: bytes) -> list[Event]:
        if not chunk or self._broken:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\n" not in chunk and b"\r" not in chunk:  # the middle of a line
            self._buf += chunk
            if len(self._buf) > MAX_EVENT_BYTES:
                return [self._break(too_long())]
            return []
        if self._buf:
            chunk = bytes(self._buf) + chunk
            self._buf.clear()
        if b"\r" in chunk:
            lines = self._split(chunk)
        else:
            lines = chunk.split(b"\n")
            self._buf += lines.pop()
        out: list[Event] = []
        for line in lines:
            if not line:
                if self._event or self._lines or self._last_id or self._retry is not None:
                    out.append(Event(self._event or None, self._lines, self._starts))
                    self._event = None
                    self._lines = []
                    self._starts = []
                    self._size = 0
                    self._retry = None
                continue
            if line[:6] == b"data: ":  # checked as UTF-8 when its event is decoded
                self._fields = True
                self._lines.append(line)
                self._starts.append(6)
                self._size += len(line)
            else:
                try:
                    self._field(line)
                except UnicodeDecodeError as exc:  # the SDKs raise here, before what follows
                    out.append(self._break(self._undecodable(exc, line)))
                    return out
            if self._size > MAX_EVENT_BYTES or len(self._buf) > MAX_EVENT_BYTES:
                out.append(self._break(too_long()))
                return out
        return out

    def _split(self, chunk: bytes) -> list[bytes]:
        """Lines ended by CR, LF or CRLF (a CRLF split across reads counts once)."""
        lines: list[bytes] = []
        start = 0
        skip = False
        for match in _LINE_END.finditer(chunk):
            end = match.start()
            if skip and end == start and chunk[end] == 10:
                skip = False
                start = end + 1
                continue
            lines.append(chunk[start:end])
            skip = chunk[end] == 13
            start = end + 1
        tail = chunk[start:]
        self._buf += tail
        self._skip_lf = skip and not tail
        return lines

    def _field(self, raw: bytes) -> None:
        line = raw.decode("utf-8")  # strict, as the SDKs decode every line
        if line.startswith(":"):
            self._fields = True
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name in _FIELDS:
            self._fields = True
        elif self._foreign is None:
            self._foreign = raw
        if name == "event":
            self._event = value
        elif name == "data":
            self._lines.append(raw)
            # where the value starts, in characters of the decoded line
            self._starts.append(len(line) - len(value))
            self._size += len(raw)
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            with contextlib.suppress(TypeError, ValueError):
                self._retry = int(value)

    def finish(self) -> list[Event]:
        """The end of the body: an unfinished last line is still read (and checked), but
        an event without its closing blank line is dropped, as the SDKs drop it."""
        if self._broken:
            return []
        tail = bytes(self._buf)
        self._buf.clear()
        try:
            if tail and tail[:6] != b"data: ":
                self._field(tail)
            elif tail:
                self._fields = True
                tail.decode("utf-8")
            for line in self._lines:
                line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [self._break(self._undecodable(exc, tail))]
        return []

    def _undecodable(self, exc: UnicodeDecodeError, line: bytes) -> Exception:
        """A line that is not UTF-8: the SDKs' error in an event stream, but in a body
        with no SSE so far (a Latin-1 error page) the not-an-event-stream error."""
        if self._fields:
            return exc
        return not_events(self._foreign if self._foreign is not None else line)

    @property
    def not_sse(self) -> bytes | None:
        """After :meth:`finish`: the first line of a body that held text but not one SSE
        field or comment (an nginx page, a plain-text message sent as
        ``text/event-stream``), else None. The SDKs skip such lines as unknown fields."""
        return None if self._fields or self._broken else self._foreign


_FIELDS = ("data", "event", "id", "retry")
QUOTED = 80  # characters of a body that is not an event stream, quoted in its error


def not_events(first: bytes) -> Exception:
    """The error of a body that has no SSE in it, quoting its first line."""
    from chatlab.core.data.events import ErrorKind, StreamError
    from chatlab.core.data.safety import visible_controls
    from chatlab.providers.errors import StreamFailure

    # Its controls made visible (an escape sequence or a bidi override in a server's page
    # must not act on the terminal or the reader), then cut to a bounded quote.
    line = visible_controls(first[: QUOTED * 4].decode("utf-8", "replace").strip())
    quoted = line[:QUOTED] + ("…" if len(line) > QUOTED or len(first.strip()) > QUOTED * 4 else "")
    return StreamFailure(
        StreamError(ErrorKind.PROTOCOL, f"the server's answer is not an event stream: it began “{quoted}”")
    )


def too_long() -> Exception:
    from chatlab.core.data.events import ErrorKind, StreamError
    from chatlab.providers.errors import StreamFailure

    return StreamFailure(
        StreamError(
            ErrorKind.PROTOCOL,
            f"the provider sent more than {MAX_EVENT_BYTES // (1024 * 1024)} MB in one event; "
            "chatlab stopped reading there",
        )
    )


async def events(chunks: AsyncGenerator[bytes, None]) -> AsyncGenerator[list[Event], None]:
    """The events of a byte stream, one list per network read (often empty). A body
    with text but no SSE in it ends with an event whose reads raise a protocol error
    quoting its first line: it is no event stream, not one cut short (which readers
    call interrupted, and the orchestrator sends again)."""
    parser = SSEParser()
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            yield parser.feed(chunk)
    last = parser.finish()
    first = parser.not_sse
    if first is not None:  # no event stream at all, rather than one cut short
        last.append(Event(None, [], [], not_events(first)))
    yield last
