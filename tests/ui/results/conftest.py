"""Each Leaderboard test starts with no remembered results (they are kept per filter,
for the one database a running chatlab has; tests open many)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatlab.ui.results import leaderboard


@pytest.fixture(autouse=True)
def no_cached_results() -> Iterator[None]:
    leaderboard._CACHE.clear()
    yield
    leaderboard._CACHE.clear()
