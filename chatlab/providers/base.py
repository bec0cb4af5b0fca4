"""What every adapter shares: its provider, one SDK client, closing, and warming up.

Subclasses implement ``stream(request)``. The client is the official SDK's async client
for the provider's kind (``AsyncOpenAI`` for both OpenAI formats, ``AsyncAnthropic`` for
Messages), pointed at the provider's ``base_url``, with the provider's retry count and a
generous read timeout (the orchestrator enforces idle and total timeouts per lane).
"""

from __future__ import annotations

from typing import Any

from chatlab.core.config import ProviderConfig
from chatlab.providers import warmup

NO_KEY = "no-key-needed"  # local servers ignore the key, but the SDKs insist on one
SDK_TIMEOUT_S = 600.0


class SDKAdapter:
    # The client attribute whose first access imports the SDK's resource modules.
    resource = ""

    def __init__(self, provider: ProviderConfig, api_key: str | None) -> None:
        self.provider = provider
        options: dict[str, Any] = {
            "api_key": api_key or NO_KEY,
            "base_url": provider.base_url,
            "max_retries": provider.max_retries,
            "timeout": SDK_TIMEOUT_S,
        }
        if provider.kind == "anthropic":
            import anthropic

            self.client: Any = anthropic.AsyncAnthropic(**options)
        else:
            import openai

            self.client = openai.AsyncOpenAI(**options)

    async def aclose(self) -> None:
        await self.client.close()

    async def list_models(self) -> list[str]:
        """The provider's models (``GET /models``), sorted."""
        return sorted([m.id async for m in self.client.models.list()])

    def warm_up(self) -> None:
        getattr(self.client, self.resource)
        warmup.warm_up(self.provider.kind)
