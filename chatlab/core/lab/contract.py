"""The adapter contract: what the core asks of every provider adapter.

An adapter turns one wire format into :mod:`chatlab.core.data.events`. It lives in
``chatlab.providers`` (one module per wire format, on the official SDKs), but the
contract lives here, in core, so the orchestrator, the lane editor and test fakes can
name it without importing any SDK, and the layer contract (core ← providers) holds.
Every adapter: ``stream(request)`` yields events ending in exactly one ``Done`` or
``StreamError`` and never raises; ``warm_up()`` does one-time CPU work in a worker
thread; ``list_models()`` lists the provider's models; ``aclose()`` releases the client.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Protocol

from chatlab.core.data.events import StreamEvent
from chatlab.core.data.model import Request
from chatlab.core.settings.config import ProviderConfig


class Adapter(Protocol):
    def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        """The lane's events, ending with one ``Done`` or ``StreamError``; never raises."""
        ...

    def warm_up(self) -> None:
        """Do one-time CPU work (SDK model building); called in a worker thread."""

    async def list_models(self) -> list[str]:
        """The provider's models (``GET /models``), sorted."""
        ...

    async def aclose(self) -> None: ...


AdapterFactory = Callable[[ProviderConfig, str | None], Adapter]
"""Makes the adapter for a provider, given its API key (None when it needs none)."""
