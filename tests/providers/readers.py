"""What the direct tests of each wire format's reader share: a body cut into network
reads, and a reader driven as :meth:`~chatlab.providers.base.SDKAdapter.read` drives it."""

from __future__ import annotations

from chatlab.core.data.events import StreamEvent
from chatlab.providers.base import Reader
from chatlab.providers.sse import Event, SSEParser


def events(body: bytes, *cuts: int) -> list[Event]:
    """The SSE events of ``body``, arriving in reads that end at ``cuts``."""
    parser = SSEParser()
    found: list[Event] = []
    start = 0
    for end in [*cuts, len(body)]:
        found += parser.feed(body[start:end])
        start = end
    return found + parser.finish()


def drive(reader: Reader, items: list[Event]) -> list[StreamEvent]:
    """What :meth:`~chatlab.providers.base.SDKAdapter.read` asks of a reader, without the
    network and without joining adjacent pieces: feed until the end marker, then ``end``;
    an exception on the way goes to ``fail``."""
    out: list[StreamEvent] = []
    try:
        for item in items:
            if reader.feed(item, out):
                break
        reader.end(out)
    except Exception as exc:
        reader.fail(exc, out)
    return out
