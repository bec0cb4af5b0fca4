"""Shared fixtures: an isolated CHATLAB_HOME, an in-memory keyring, the loopback server,
and a Runner wired to it with one provider per wire format."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keyring
import pytest

from chatlab.core.data.model import Lane, Session, Turn
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import Config, parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from tests.memkeyring import MemoryKeyring

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "sse"
# Seconds before a test that waits gives up: only a hang takes this long. No test asserts
# speed (bench/ measures it), since a busy machine, or pytest -n, makes anything slower.
HANG_S = 60

# Keys from the developer's environment must never leak into tests.
for _var in (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
):
    os.environ.pop(_var, None)
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.memkeyring.MemoryKeyring"
# Compile chatlab once and reuse it: every xdist worker and every subprocess a test
# starts would otherwise compile the whole package again (CI machines often set
# PYTHONDONTWRITEBYTECODE; the bytecode goes to __pycache__/, which git ignores).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: twice the cores, at most four more than the cores. Much of the suite
    waits rather than computes (streams paced in real time, retry waits, subprocesses
    starting), so a worker per core would leave the cores idle; on the 2-core machine four
    workers take 2m50s where two take 3m40s. PYTEST_XDIST_AUTO_NUM_WORKERS still decides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(2 * cores, cores + 4)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHATLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    return tmp_path / "home"


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def server() -> Iterator[DemoServer]:
    srv = DemoServer().start_in_thread()
    yield srv
    srv.stop_thread()


def lab_config(srv: DemoServer, retries: int = 0, **extra: dict[str, object]) -> Config:
    """Providers ``chat``, ``responses``, ``claude`` and ``gemini`` on the loopback server (no retries
    unless asked: most tests want a fault to show at once)."""
    common = {"needs_key": False, "max_retries": retries}
    providers: dict[str, object] = {
        "chat": {"kind": "openai-chat", "base_url": srv.openai_base_url, **common},
        "responses": {"kind": "openai-responses", "base_url": srv.openai_base_url, **common},
        "claude": {"kind": "anthropic", "base_url": srv.anthropic_base_url, **common},
        "gemini": {"kind": "gemini", "base_url": srv.gemini_base_url, "vendor": "google", **common},
    }
    providers.update(extra)
    return parse_config({"providers": providers})


@pytest.fixture
def runner(server: DemoServer) -> Runner:
    return Runner(lab_config(server), KeyStore(), make_adapter)


def subprocess_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CHATLAB_HOME"] = str(home)
    env["PYTHONPATH"] = str(ROOT)
    env["CHATLAB_NO_PROGRESS"] = "1"
    return env


PYTHON = sys.executable


def run_turn(
    runner: Runner, lanes: Sequence[Lane], prompt: str = "hello", **kwargs: Any
) -> tuple[Session, Turn]:
    """Run one turn of ``lanes`` to completion."""
    session = Session(lanes=list(lanes))
    turn = session.new_turn(prompt)

    async def go() -> None:
        try:
            await runner.turn(session, turn, **kwargs).run()
        finally:
            await runner.aclose()

    asyncio.run(go())
    return session, turn
