"""Pointing the ``demo`` provider at the built-in loopback server, in one place.

The window starts the server at launch and fills in its address; ``chatlab ask``
starts it only when a lane uses the demo provider and no endpoint is configured.
Both go through :func:`with_demo`, so the two can't disagree on what "demo" means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from chatlab.core.data.model import Lane
from chatlab.core.settings.config import Config
from chatlab.demo.server import DemoServer


def with_demo(config: Config, server: DemoServer) -> Config:
    """``config`` with the demo provider served by ``server``."""
    providers = dict(config.providers)
    providers["demo"] = dataclasses.replace(providers["demo"], base_url=server.openai_base_url)
    return dataclasses.replace(config, providers=providers)


def start_if_needed(config: Config, lanes: Sequence[Lane]) -> tuple[Config, DemoServer | None]:
    """Start the server for lanes on the ``demo`` provider that has no endpoint of its own."""
    demo = config.providers.get("demo")
    if demo is None or demo.base_url or not any(lane.provider == "demo" for lane in lanes):
        return config, None
    server = DemoServer().start_in_thread()
    return with_demo(config, server), server
