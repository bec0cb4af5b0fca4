"""The connection test the settings dialog runs: list a provider's models with its key
and say how many, or say in one readable line why not.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

from chatlab.core.lab.contract import AdapterFactory
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import ProviderConfig

TestConnection = Callable[[ProviderConfig], Awaitable[str]]
TEST_TIMEOUT_S = 20.0  # a connection test that takes longer has failed


def connection_tester(
    keys: KeyStore,
    make_adapter: AdapterFactory | None = None,
    demo_base_url: str | None = None,
) -> TestConnection:
    """A ``test_connection`` for :class:`SettingsDialog`: list the provider's models with
    its key (``GET /models``) and say how many; a failure raises ``ConnectionError`` with
    one readable line (the provider's own message when it sent one). ``demo_base_url``
    is where the built-in demo server listens (the saved config does not know)."""

    async def test(provider: ProviderConfig) -> str:
        from chatlab.providers.errors import map_exception

        if provider.name == "demo" and provider.base_url is None:
            if demo_base_url is None:
                raise ConnectionError("the built-in demo server is not running")
            provider = dataclasses.replace(provider, base_url=demo_base_url)
        key = keys.resolve(provider)[0]
        if provider.needs_key and not key:
            raise ConnectionError(f"no key for {provider.name}: set one first")
        factory: AdapterFactory
        if make_adapter is None:
            from chatlab.providers import make_adapter as factory
        else:
            factory = make_adapter
        adapter = factory(provider, key)
        try:
            async with asyncio.timeout(TEST_TIMEOUT_S):
                models = await adapter.list_models()
        except TimeoutError:
            raise ConnectionError(f"no answer within {TEST_TIMEOUT_S:g} s") from None
        except Exception as exc:
            error = map_exception(exc, provider.base_url)
            status = f"HTTP {error.status_code}: " if error.status_code else ""
            raise ConnectionError(status + error.message) from None
        finally:
            await adapter.aclose()
        return f"OK — {len(models)} model{'' if len(models) == 1 else 's'}"

    return test
