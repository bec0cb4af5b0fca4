"""Where chatlab's log goes: a small rotating file, with every known key redacted.

A lane whose adapter or listener fails is logged with its traceback, so a bug can be
reported; the user sees one line in the lane, never a traceback on the terminal. The
log lives in the cache folder (``chatlab.log``, three files of 1 MB at most). Each line
passes :func:`chatlab.core.data.safety.redact` with the keys the running process has used,
so a key an SDK put into an exception's text never reaches the file. When the folder
can't be written (a read-only or full disk) the log is dropped, silently.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from chatlab.core.data import safety
from chatlab.core.settings.config import paths

LOGGER = "chatlab"


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return safety.redact(super().format(record), safety.known_secrets())


def log_file() -> Path:
    return paths().cache_dir / "chatlab.log"


def setup() -> None:
    """Send the ``chatlab`` logger to the log file, never to stderr (idempotent; a new
    ``CHATLAB_HOME`` moves it)."""
    log = logging.getLogger(LOGGER)
    target = log_file()
    if any(getattr(h, "chatlab_target", None) == target for h in log.handlers):
        return
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    log.propagate = False
    log.setLevel(logging.INFO)
    handler: logging.Handler
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(target, maxBytes=1_000_000, backupCount=2, encoding="utf-8", delay=True)
    except OSError:
        handler = logging.NullHandler()
    setattr(handler, "chatlab_target", target)  # noqa: B010 - a mark on a stdlib object
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
