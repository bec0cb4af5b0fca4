"""The LiteLLM proxy check (issue 24), behind the ``litellm`` marker: chatlab through a
real LiteLLM proxy in front of the loopback demo server, every case of
:mod:`tests.providers.litellm_proxy` (a streaming answer on the Chat Completions,
Responses and Anthropic Messages endpoints; a 404, a 5xx, a cut stream, an unknown model,
a body that is no event stream). Skipped, saying why, when no ``litellm`` is found
(``$CHATLAB_LITELLM``, else PATH); ``bench/README.md`` says how to install it and what
one run gave."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.providers.litellm_proxy import CASES, Check, Outcome, find_litellm, started

pytestmark = [pytest.mark.litellm, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def check() -> Iterator[Check]:
    exe = find_litellm()
    if exe is None:
        named = os.environ.get("CHATLAB_LITELLM")
        if named:
            pytest.skip(f"CHATLAB_LITELLM={named} is not an executable")
        pytest.skip("litellm not installed: set CHATLAB_LITELLM=/path/to/litellm or put it on PATH")
    with started(exe) as found:
        yield found


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_through_the_proxy(check: Check, name: str, case: Callable[[Check], Outcome]) -> None:
    out = case(check)
    assert out.ok, out.line()
