"""The asyncio event loop that runs inside Qt (qasync), with async-generator hooks.

qasync's loop does not install asyncio's async-generator hooks, so an SDK stream that
is abandoned mid-iteration (the OpenAI SDK stops reading at ``[DONE]``) would be
finalised by the garbage collector outside the loop and fail noisily. :class:`QtLoop`
installs the standard hooks for its whole life, so such generators are closed as tasks
on the loop, exactly as under ``asyncio.run``. Work sent to threads runs on a plain
thread pool rather than qasync's QThread pool.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
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
        timer = self._timer
        for timer_id in list(timer._SimpleTimer__callbacks):
            timer.killTimer(timer_id)
        timer._SimpleTimer__callbacks.clear()
        shiboken6.delete(timer)
        sys.set_asyncgen_hooks(*self._previous_hooks)
