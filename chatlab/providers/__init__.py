"""Provider adapters: one per wire format, each turning its SDK's objects into core events.

:data:`ADAPTERS` maps a provider's ``kind`` to its adapter class, imported only when
first used (each SDK takes a second to import). Every adapter keeps the contract in
:mod:`chatlab.core.lab.contract`: ``stream(request)`` yields :mod:`chatlab.core.data.events`
ending with exactly one ``Done`` or ``StreamError``, plus ``warm_up()``,
``list_models()`` and ``aclose()``. No SDK type leaves this package.
"""

from __future__ import annotations

import importlib

from chatlab.core.lab.contract import Adapter
from chatlab.core.settings.config import ProviderConfig

# kind -> "module:Class" of its adapter
ADAPTERS: dict[str, str] = {
    "openai-chat": "chatlab.providers.openai_chat:OpenAIChatAdapter",
    "openai-responses": "chatlab.providers.openai_responses:OpenAIResponsesAdapter",
    "anthropic": "chatlab.providers.anthropic:AnthropicAdapter",
    "gemini": "chatlab.providers.gemini:GeminiAdapter",
}


def make_adapter(provider: ProviderConfig, api_key: str | None) -> Adapter:
    try:
        module, _, name = ADAPTERS[provider.kind].partition(":")
    except KeyError:
        raise ValueError(f"unknown provider kind {provider.kind!r}") from None
    adapter: Adapter = getattr(importlib.import_module(module), name)(provider, api_key)
    return adapter
