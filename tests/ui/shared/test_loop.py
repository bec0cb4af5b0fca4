"""The private parts of qasync that chatlab/ui/shared/loop.py reaches are where it expects
them; if a qasync release moves one, these fail and name that release."""

from __future__ import annotations

import asyncio
import contextlib
from importlib.metadata import version

import pytest
from PySide6.QtWidgets import QApplication

from chatlab.ui.shared.loop import QtLoop, mark_stopped, pending_timers

QASYNC = f"qasync {version('qasync')}"


def test_a_pending_timer_is_listed_and_closing_the_loop_drops_it(qapp: QApplication) -> None:
    loop = QtLoop(qapp, already_running=True)
    try:
        handle = loop.call_later(60, lambda: None)
        _timer, callbacks = pending_timers(loop)
        assert list(callbacks.values()) == [handle], f"{QASYNC}: the pending timer is not listed"
        mark_stopped(loop)
        assert not loop.is_running(), f"{QASYNC}: the loop still says it is running"
        assert asyncio.events._get_running_loop() is None
    finally:
        with contextlib.suppress(RuntimeError):
            mark_stopped(loop)
        loop.close()
    assert callbacks == {}, f"{QASYNC}: closing the loop left its timers"


def test_a_missing_attribute_names_the_qasync_version() -> None:
    with pytest.raises(RuntimeError, match=f"^{QASYNC} has no object._timer"):
        pending_timers(object())
    with pytest.raises(RuntimeError, match=f"^{QASYNC} has no object._QEventLoop__is_running"):
        mark_stopped(object())
