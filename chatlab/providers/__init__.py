"""Provider adapters: one per wire format, each turning its SDK's objects into core events.

``make_adapter`` picks the adapter for a provider's ``kind``. Every adapter exposes
``stream(request)``, an async iterator of :mod:`chatlab.core.events` that always ends
with exactly one ``Done`` or ``StreamError``, and ``aclose()``. No SDK type leaves
this package.
"""

from __future__ import annotations

from chatlab.core.config import ProviderConfig
from chatlab.core.orchestrator import Adapter


def make_adapter(provider: ProviderConfig, api_key: str | None) -> Adapter:
    if provider.kind == "openai-chat":
        from chatlab.providers.openai_chat import OpenAIChatAdapter

        return OpenAIChatAdapter(provider, api_key)
    if provider.kind == "openai-responses":
        from chatlab.providers.openai_responses import OpenAIResponsesAdapter

        return OpenAIResponsesAdapter(provider, api_key)
    if provider.kind == "anthropic":
        from chatlab.providers.anthropic import AnthropicAdapter

        return AnthropicAdapter(provider, api_key)
    raise ValueError(f"unknown provider kind {provider.kind!r}")
