"""What every adapter offers besides streaming: warming up off the event loop, and
listing the provider's models (``GET /models``), over the real SDKs on loopback."""

from __future__ import annotations

import asyncio

import pytest

from chatlab.core.lab.orchestrator import Runner
from chatlab.demo.scripts import DEMO_SCRIPTS


@pytest.mark.parametrize("provider", ["chat", "responses", "claude", "gemini"])
def test_warm_up_and_list_models(runner: Runner, provider: str) -> None:
    adapter = runner.adapter(provider)
    adapter.warm_up()  # must not raise: TurnRun calls it in a worker thread

    async def models() -> list[str]:
        try:
            return await adapter.list_models()
        finally:
            await runner.aclose()

    assert set(DEMO_SCRIPTS) <= set(asyncio.run(models()))
