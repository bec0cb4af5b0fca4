"""A scripted adapter for controller, orchestrator and UI tests, after simonw/llm's
``MockModel.enqueue``: queue the events each request should get, run a turn, then look
at the requests it received. It keeps the adapter contract (:mod:`chatlab.core.lab.contract`)
without an SDK or a socket, so a test can send the core events no real server would
produce (a negative count, a revision) and check the core's own guard."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Iterable

from chatlab.core.data.events import Done, StreamEvent, TextDelta
from chatlab.core.data.model import Request
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import ProviderConfig, parse_config


class ScriptedAdapter:
    def __init__(self) -> None:
        self.queue: deque[list[StreamEvent]] = deque()
        self.requests: list[Request] = []
        self.closed = False

    def enqueue(self, *events: StreamEvent) -> ScriptedAdapter:
        """The events of the next request, in order (end with ``Done`` or ``StreamError``)."""
        self.queue.append(list(events))
        return self

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        self.requests.append(request)
        events: list[StreamEvent] = self.queue.popleft() if self.queue else [TextDelta("ok"), Done("stop")]
        for ev in events:
            await asyncio.sleep(0)  # a real stream yields to the loop between chunks
            yield ev

    def warm_up(self) -> None:
        pass

    async def list_models(self) -> list[str]:
        return ["scripted"]

    async def aclose(self) -> None:
        self.closed = True


def scripted_runner(adapter: ScriptedAdapter, names: Iterable[str] = ("fake",), retries: int = 0) -> Runner:
    """A Runner whose providers (``fake`` by default) are all served by ``adapter``."""
    config = parse_config(
        {"providers": {n: {"kind": "openai-chat", "needs_key": False, "max_retries": retries} for n in names}}
    )

    def factory(provider: ProviderConfig, key: str | None) -> ScriptedAdapter:
        return adapter

    return Runner(config, KeyStore(), factory)
