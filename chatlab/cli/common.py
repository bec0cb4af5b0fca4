"""What every ``chatlab`` subcommand shares: the one error that ends a command with
exit 2, the one way to open the session database, and reading a PROVIDER:MODEL spec.

A :class:`UsageError` (bad input, a missing study, a database that can't be opened) is
printed as one line, ``chatlab: …``, and exits 2; so are a
:class:`~chatlab.core.settings.config.ConfigError` and a
:class:`~chatlab.core.studies.controller.StudyError`. Importing this module imports no
store and no SDK, so that ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatlab.core.settings.config import PresetLane
    from chatlab.store.db import Store


class UsageError(Exception):
    """Bad command-line input, or a state the command can't act on; exit code 2."""


def open_store(readonly_ok: bool = False) -> Store:
    """The session database (the caller closes it: ``with closing(open_store()) as
    store``); ``readonly_ok`` for commands that only read it (a read-only or locked
    database still answers them)."""
    from chatlab.store.db import Store, StoreError, default_path

    try:
        return Store.for_reading(default_path()) if readonly_ok else Store(default_path())
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def explain(store: Store, exc: BaseException) -> str:
    """A store error in words: ``PATH: the disk is full`` and the like."""
    from chatlab.store.checkpoint import reason_words
    from chatlab.store.db import error_reason

    return f"{store.path}: {reason_words(error_reason(exc, store.path))}"


def parse_model_spec(spec: str) -> PresetLane:
    """A ``-m`` lane: ``PROVIDER:MODEL``, optionally ``{key=value, …}`` (see
    :func:`~chatlab.core.settings.presets.lane_from_spec`)."""
    from chatlab.core.settings.config import ConfigError
    from chatlab.core.settings.presets import lane_from_spec

    try:
        return lane_from_spec(spec)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


class Bar:
    """A rich progress bar on a terminal: ``name``, done of total, one line of counts
    (failures, spend, in flight) and the time left. Not a terminal (a pipe, a test): one
    line every 10 %. ``chatlab study`` and ``chatlab judge`` feed it their progress."""

    def __init__(self, stream: Any, name: str) -> None:
        from chatlab.core.data.safety import terminal_text

        self.stream = stream
        self.name = terminal_text(name)[:40]
        self.live = stream.isatty() and not os.environ.get("CHATLAB_NO_PROGRESS")
        self._progress: Any = None
        self._task: Any = None
        self._said = -1

    def __enter__(self) -> Bar:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.name, total=1, counts="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def show(self, total: int, completed: int, counts: str, line: str) -> None:
        """Live: the bar at ``completed`` of ``total`` with ``counts``; else ``line``
        (``NAME: `` is put before it) each time another tenth is done."""
        if self._progress is not None:
            self._progress.update(self._task, total=max(1, total), completed=completed, counts=counts)
            return
        tenth = completed * 10 // max(1, total)
        if tenth != self._said:
            self._said = tenth
            with contextlib.suppress(Exception):
                self.stream.write(f"{self.name}: {line}\n")
