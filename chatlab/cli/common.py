"""What every ``chatlab`` subcommand shares: the one error that ends a command with
exit 2, the one way to open the session database, and reading a PROVIDER:MODEL spec.

A :class:`UsageError` (bad input, a missing study, a database that can't be opened) is
printed as one line, ``chatlab: …``, and exits 2; so are a
:class:`~chatlab.core.settings.config.ConfigError` and a
:class:`~chatlab.core.studies.controller.StudyError`. Importing this module imports no
store and no SDK, so that ``--help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
