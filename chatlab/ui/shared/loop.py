"""The asyncio event loop that runs inside Qt (qasync), with async-generator hooks.

qasync's loop does not install asyncio's async-generator hooks, so an SDK stream that
is abandoned mid-iteration (the OpenAI SDK stops reading at ``[DONE]``) would be
finalised by the garbage collector outside the loop and fail noisily. :class:`QtLoop`
installs the standard hooks for its whole life, so such generators are closed as tasks
on the loop, exactly as under ``asyncio.run``. Work sent to threads runs on a plain
thread pool rather than qasync's QThread pool.

Two things here need qasync's private attributes, which it offers no public way to reach;
each is one small function below that says why, and ``tests/ui/shared/test_loop.py`` fails, naming
the qasync version, if an attribute moves (``pyproject.toml`` pins the versions tested).
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from typing import Any

import qasync
import shiboken6


class QtLoop(qasync.QEventLoop):  # type: ignore[misc]
    def __init__(self, app: Any = None, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        # Plain Python worker threads for asyncio.to_thread (SDK imports, model warm-up):
        # qasync's QThread pool leaves QObjects to be destroyed from the wrong thread.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chatlab-worker")
        self.set_default_executor(self._pool)
        self._previous_hooks = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
        )

    def close(self) -> None:
        if self.is_closed():
            return
        if not self.is_running():
            self.run_until_complete(self.shutdown_asyncgens())
        super().close()
        self._pool.shutdown(wait=True)
        # qasync only flags its timer object as stopped; kill its pending Qt timers and
        # destroy it here, in the GUI thread, rather than wherever the GC happens to run.
        timer, callbacks = pending_timers(self)
        for timer_id in list(callbacks):
            timer.killTimer(timer_id)
        callbacks.clear()
        shiboken6.delete(timer)
        sys.set_asyncgen_hooks(*self._previous_hooks)


def _private(owner: object, name: str) -> Any:
    try:
        return getattr(owner, name)
    except AttributeError:
        raise RuntimeError(
            f"qasync {version('qasync')} has no {type(owner).__name__}.{name}, which "
            "chatlab/ui/shared/loop.py reads: check it against this qasync and update the pin"
        ) from None


def pending_timers(loop: qasync.QEventLoop) -> tuple[Any, dict[int, asyncio.Handle]]:
    """qasync's timer object and its pending Qt timers (timer id -> the handle it runs).

    Private (``_timer`` and its name-mangled ``_SimpleTimer__callbacks``): qasync's close()
    only flags the timer object as stopped and has no public way to kill its Qt timers or
    drop the handles they hold.
    """
    timer = _private(loop, "_timer")
    return timer, _private(timer, "_SimpleTimer__callbacks")


def mark_stopped(loop: qasync.QEventLoop) -> None:
    """Mark a loop made with ``already_running=True`` as stopped, leaving Qt running, so
    that it can be closed.

    qasync's public stop() also calls QApplication.exit(), after which Qt 6 returns at
    once from every later QEventLoop.exec() (pytest-qt waits in one) until the
    application's own exec() runs again. So this clears qasync's private running flag
    (``_QEventLoop__is_running``) and asyncio's running loop, as qasync's run_forever()
    does on the way out.
    """
    _private(loop, "_QEventLoop__is_running")
    loop._QEventLoop__is_running = False
    asyncio.events._set_running_loop(None)
