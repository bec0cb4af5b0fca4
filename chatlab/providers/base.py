"""What every adapter shares: its provider, one SDK client, closing, and warming up.

Subclasses implement ``stream(request)``. The client is the official SDK's async client
for the provider's kind (``AsyncOpenAI`` for both OpenAI formats, ``AsyncAzureOpenAI``
for a provider with an ``api_version``, ``AsyncAnthropic`` for Messages), pointed at the
provider's ``base_url``, with no hidden SDK retries (chatlab
retries visibly, before the first token) and a generous read timeout (the orchestrator
enforces idle and total timeouts per lane). The SDK builds and sends the request and
turns a failed status into its error; :meth:`SDKAdapter.open` looks at what came back
(a failure before the provider began answering, an event stream, or one whole JSON
message from a server that did not stream), and :meth:`SDKAdapter.events` then reads
the stream's bytes with chatlab's own decoder (:mod:`chatlab.providers.sse`) instead of
the SDK's per-event pydantic models, which cost more CPU than the rest of a lane. A cost
a proxy put in the response's headers (LiteLLM's ``x-litellm-response-cost``) is given
to the usage reports that carry no cost of their own, streamed or whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import replace
from typing import Any, Protocol

import anyio
import httpx2

from chatlab.core.data.events import Notice, StreamError, StreamEvent
from chatlab.core.data.model import Request
from chatlab.core.settings.config import ProviderConfig
from chatlab.providers import sse
from chatlab.providers.common import coalesce, get, header_cost, sniff, with_cost
from chatlab.providers.errors import map_exception

READ_PAUSE_S = 0.010  # after a read that waited, let a fast stream gather more events
WAITED_S = 0.0005  # a read that took longer than this waited for the network
NO_KEY = "no-key-needed"  # local servers ignore the key, but the SDKs insist on one
SDK_TIMEOUT_S = 600.0


class Reader(Protocol):
    """One stream's decoding state in an adapter's wire format (plain, synchronous code):
    :meth:`feed` appends the core events of one SSE event to ``out`` and returns True at
    the format's end marker; :meth:`end` appends what the end of the body means (held
    text, then ``Done`` or a missing-end-marker error); :meth:`fail` appends what an
    exception means (held text, then the error)."""

    def feed(self, item: sse.Event, out: list[StreamEvent]) -> bool: ...

    def end(self, out: list[StreamEvent]) -> None: ...

    def fail(self, exc: Exception, out: list[StreamEvent]) -> None: ...


class SDKAdapter:
    # The client attribute whose first access imports the SDK's resource modules.
    resource = ""

    def __init__(self, provider: ProviderConfig, api_key: str | None) -> None:
        self.provider = provider
        options: dict[str, Any] = {
            "api_key": api_key or NO_KEY,
            "base_url": provider.base_url,
            "max_retries": 0,  # chatlab retries in the open (orchestrator), never hidden in the SDK
            "timeout": SDK_TIMEOUT_S,
        }
        if provider.kind == "anthropic":
            import anthropic

            self.client: Any = anthropic.AsyncAnthropic(**options)
        elif provider.api_version:  # Azure OpenAI: base_url is the resource's endpoint
            import openai

            endpoint = options.pop("base_url")
            self.client = openai.AsyncAzureOpenAI(
                **options,
                azure_endpoint=endpoint,
                azure_deployment=provider.deployment,
                api_version=provider.api_version,
            )
        else:
            import openai

            self.client = openai.AsyncOpenAI(**options)

    async def aclose(self) -> None:
        await self.client.close()

    @property
    def url(self) -> str:
        """The endpoint, for error messages ("could not connect to …")."""
        return str(self.client.base_url).rstrip("/")

    async def open(self, call: Awaitable[Any], request: Request) -> Any:
        """Send the request. Returns the SDK stream to read, or, when there is nothing to
        stream, the whole list of events: a failure (before the provider began answering,
        or an HTML page), or one complete JSON message from a server that did not stream."""
        try:
            stream = await call
        except Exception as exc:
            return [replace(map_exception(exc, self.url, self.provider.hint), started=False)]
        try:
            sniffed = await sniff(stream)
        except Exception as exc:
            sniffed = map_exception(exc, self.url, self.provider.hint)
        if sniffed is None:
            return stream
        await stream.close()
        if isinstance(sniffed, StreamError):
            return [sniffed]
        cost, notes = _header_cost(stream)
        return [*notes, *with_cost(self.whole_message(sniffed, request), cost)]

    def whole_message(self, body: dict[str, Any], request: Request) -> list[StreamEvent]:
        """The events of one complete, non-streamed message in this adapter's format."""
        raise NotImplementedError

    async def _paced(self, response: Any) -> AsyncGenerator[bytes, None]:
        """The response body as it arrives, a few events per socket read.

        A fast stream arrives an event or two per socket read, and each read costs far
        more CPU (the event loop's wake-up, the HTTP layer) than decoding its events: 8
        lanes at 1,000 tokens/s are 8,000 reads a second, 0.6 of a core for the reads
        alone. So when a read had to wait for the network, the lane pauses
        ``READ_PAUSE_S`` before the next, and that read collects what arrived meanwhile.
        Data already buffered is passed on at once, so a lane never falls behind its
        stream; the pause is well inside the window's 40 ms frame, and costs a slow stream
        nothing (its next event wasn't there yet)."""
        loop = asyncio.get_running_loop()
        async with contextlib.aclosing(response.aiter_bytes()) as chunks:
            while True:
                asked = loop.time()
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                waited = loop.time() - asked > WAITED_S
                yield chunk
                if waited:
                    await asyncio.sleep(READ_PAUSE_S)

    async def _bytes(self, stream: Any) -> AsyncGenerator[bytes, None]:
        """The response body as it arrives. A failed read raises what the SDK's own stream
        raises: OpenAI's wraps it in ``APITimeoutError`` / ``APIConnectionError``,
        Anthropic's lets the ``httpx`` error through."""
        response = stream.response
        if self.provider.kind == "anthropic":
            async with contextlib.aclosing(self._paced(response)) as chunks:
                async for chunk in chunks:
                    yield chunk
            return
        import openai

        try:
            async with contextlib.aclosing(self._paced(response)) as chunks:
                async for chunk in chunks:
                    yield chunk
        except httpx2.TimeoutException as err:
            raise openai.APITimeoutError(request=response.request) from err
        except (httpx2.RequestError, ssl.SSLError, anyio.EndOfStream) as err:
            raise openai.APIConnectionError(request=response.request) from err

    async def read(self, stream: Any, reader: Reader) -> AsyncGenerator[StreamEvent, None]:
        """Run ``reader`` over the stream: the events of each network read are passed on
        together, adjacent pieces of text joined (:func:`~chatlab.providers.common.coalesce`),
        so the core and the window see one piece per read, not one per token."""
        cost, out = _header_cost(stream)
        try:
            try:
                async with contextlib.aclosing(self.events(stream)) as batches:
                    async for batch in batches:
                        stop = False
                        for item in batch:
                            if reader.feed(item, out):
                                stop = True
                                break
                        if out:
                            ready, out = out, []
                            for ev in with_cost(coalesce(ready), cost):
                                yield ev
                        if stop:
                            break
                reader.end(out)
            except Exception as exc:
                reader.fail(exc, out)
            for ev in with_cost(coalesce(out), cost):
                yield ev
        finally:
            await stream.close()

    def events(self, stream: Any) -> AsyncGenerator[list[sse.Event], None]:
        """The stream's server-sent events, one list per network read: decoded here, not
        by the SDK (see :mod:`chatlab.providers.sse`)."""
        return sse.events(self._bytes(stream))

    async def list_models(self) -> list[str]:
        """The provider's models (``GET /models``), sorted."""
        return sorted([m.id async for m in self.client.models.list()])

    def warm_up(self) -> None:
        """Import the SDK's resource modules (the first access to ``client.chat`` or
        ``client.messages`` imports them), in the caller's worker thread."""
        getattr(self.client, self.resource)


def _header_cost(stream: Any) -> tuple[float | None, list[StreamEvent]]:
    """The cost a proxy reported in the response's headers (LiteLLM's
    ``x-litellm-response-cost``), given to usage reports that carry no cost of their own;
    a value that can't be believed is a :class:`~chatlab.core.data.events.Notice` instead."""
    found = header_cost(get(get(stream, "response"), "headers"))
    if isinstance(found, Notice):
        return None, [found]
    return found, []
