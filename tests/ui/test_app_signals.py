"""The real app in a subprocess (offscreen Qt), three demo lanes sent from the command
line: SIGTERM and SIGINT close the window as Ctrl+Q does, with exit status 0, and what
the lanes wrote is on disk, whole after the turn, partial when the signal lands
mid-stream."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chatlab.core.data.model import Session, Status
from chatlab.store.db import Store
from tests.conftest import PYTHON, subprocess_env


def demo_session(home: Path) -> Session | None:
    db = home / "data" / "chatlab.db"
    if not db.exists():
        return None
    store = Store(db)
    try:
        ids = store.ids()
        return store.load(ids[0]) if ids else None
    except Exception:
        return None  # created but not migrated yet
    finally:
        store.close()


def wait_for(home: Path, app: subprocess.Popen[str], ready: Callable[[Session], bool]) -> Session:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert app.poll() is None, app.communicate()[1]
        session = demo_session(home)
        if session is not None and session.turns and ready(session):
            return session
        time.sleep(0.05)  # polling the database for a condition, with a deadline
    raise AssertionError("the demo turn never reached the expected state")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("moment", ["after the turn", "mid-stream"])
def test_a_signal_closes_the_window_cleanly_and_keeps_the_answers(
    tmp_path: Path, sig: signal.Signals, moment: str
) -> None:
    env = subprocess_env(tmp_path)
    env["QT_QPA_PLATFORM"] = "offscreen"
    lanes = ["-m", "demo:demo-fast", "-m", "demo:demo-reasoner", "-m", "demo:demo-hidden"]
    app = subprocess.Popen(
        [PYTHON, "-m", "chatlab", *lanes, "--send", "Write a haiku about rain."],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if moment == "after the turn":
            wait_for(
                tmp_path, app, lambda s: all(r.status == Status.OK for r in s.turns[0].responses.values())
            )
        else:
            # A lane still streaming is saved as "interrupted" until it ends, so that a
            # crash reads back honestly.
            before = wait_for(
                tmp_path,
                app,
                lambda s: (
                    any(r.text or r.reasoning for r in s.turns[0].responses.values())
                    and not all(r.status == Status.OK for r in s.turns[0].responses.values())
                ),
            )
        app.send_signal(sig)
        _out, err = app.communicate(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    assert app.returncode == 0, err
    assert "Traceback" not in err
    session = demo_session(tmp_path)
    assert session is not None
    responses = list(session.turns[0].responses.values())
    assert len(responses) == 3 and all(r.status.finished for r in responses)
    if moment == "after the turn":
        assert all(r.status == Status.OK and r.text for r in responses)
    else:
        stopped = [r for r in responses if r.status != Status.OK]
        assert stopped, "every lane had finished before the signal"
        assert all(r.status in (Status.CANCELLED, Status.INTERRUPTED) for r in stopped)
        for r in before.turns[0].responses.values():  # nothing written before the signal is lost
            after = session.turns[0].responses[r.lane_id]
            assert after.text.startswith(r.text) and after.reasoning.startswith(r.reasoning)
