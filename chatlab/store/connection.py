"""Opening the session database: the file's checks, its one connection, migrations
applied, and write transactions.

:class:`Database` is the base :class:`~chatlab.store.db.Store` is built on. Opening
refuses, without writing, a file that is not a SQLite database, a corrupt one, or one
written by a newer chatlab; before migrating an older database it is copied with SQLite's
backup API, then each migration it lacks (:mod:`chatlab.store.migrations`) is applied in
a transaction of its own. A SQLite file that holds another application's tables is never
adopted. Errors are named for what they are (:func:`error_reason`): a read-only file
(``sessions`` and ``export`` still work on one, through a read-only connection), a full
disk, a database busy with another writer, or real damage.

The rows are the subject modules' (sessions.py, votes.py, studies.py, search.py,
merge.py); db.py puts them together and recovers after a crash.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from chatlab.core.studies.study import stored_unit_state
from chatlab.store.migrations import LATEST, MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30.0  # how long a write waits for another chatlab's write to finish
CHECKPOINT_BUSY_S = 0.5  # a streaming checkpoint waits less: it is retried at the next tick

# SQLite's primary result codes (sqlite3.Error.sqlite_errorcode & 0xFF)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 26


class StoreError(Exception):
    """The database can't be used; the message says why. The file was left untouched.

    ``reason`` is one of ``damaged``, ``newer``, ``foreign``, ``read-only``, ``disk full``,
    ``busy`` or ``unavailable``.
    """

    def __init__(self, message: str, reason: str = "damaged") -> None:
        super().__init__(message)
        self.reason = reason


def error_reason(exc: BaseException, path: Path | None = None) -> str:
    """What a SQLite error means for the user: ``read-only``, ``disk full``, ``busy``,
    ``damaged`` or ``unavailable`` (anything else: a file that can't be opened, I/O).
    ``path`` (the database) lets an I/O error on a full disk be called "disk full":
    SQLite reports a WAL index it can't grow as an I/O error, not as SQLITE_FULL."""
    if isinstance(exc, OSError):
        import errno

        if exc.errno == errno.ENOSPC:
            return "disk full"
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "read-only"
        return "unavailable"
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary in (_READONLY, _PERM) or "readonly" in text or "read-only" in text:
        return "read-only"
    if primary == _FULL or "disk is full" in text:
        return "disk full"
    if primary in (_BUSY, _LOCKED) or "locked" in text:
        return "busy"
    if primary in (_CORRUPT, _NOTADB) or "malformed" in text or "not a database" in text:
        return "damaged"
    if (primary == _IOERR or "i/o error" in text) and path is not None and _disk_full(path):
        return "disk full"
    return "unavailable"


def _disk_full(path: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(path.parent).free < 1024 * 1024
    except OSError:
        return False


_REASON_TEXT = {
    "read-only": "is read-only",
    "disk full": "can't be written: the disk is full",
    "busy": "is busy: another chatlab is writing to it",
    "damaged": "is damaged or not a chatlab database",
    "unavailable": "can't be opened",
}


def describe(path: Path, exc: BaseException) -> StoreError:
    """A one-line :class:`StoreError` for ``exc`` raised while using the database at ``path``."""
    reason = error_reason(exc, path)
    detail = f" ({exc})" if reason in ("damaged", "unavailable") else ""
    return StoreError(f"{path} {_REASON_TEXT[reason]}{detail}; chatlab left it untouched", reason)


def _functions(con: sqlite3.Connection) -> None:
    """What the store's queries call back into chatlab for: a study unit's state has one
    definition (:func:`~chatlab.core.studies.study.stored_unit_state`), in SQL as in Python."""
    con.create_function("chatlab_unit_state", 2, stored_unit_state, deterministic=True)


class Database:
    """The open database: ``path``, ``con`` (one connection in autocommit mode; writes go
    through :meth:`transaction`) and ``readonly``. ``readonly=True`` opens it for reading
    only: nothing is written (no migration), so it works on a read-only file."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.con = self._open_readonly(path) if readonly else self._open(path)

    @classmethod
    def for_reading(cls, path: Path) -> Self:
        """Open normally (recovering after a crash), or read-only if the file can't be
        written (read-only, or the disk is full): for commands that only read
        (``sessions``, ``export``)."""
        try:
            return cls(path)
        except StoreError as exc:
            if exc.reason not in ("read-only", "disk full"):
                raise
        return cls(path, readonly=True)

    @staticmethod
    def _check_header(path: Path) -> None:
        try:
            if path.exists() and path.stat().st_size > 0:
                with path.open("rb") as f:
                    if f.read(16) != SQLITE_HEADER:
                        raise StoreError(f"{path} is not a SQLite database; chatlab left it untouched")
        except OSError as exc:
            raise describe(path, exc) from None

    @staticmethod
    def _check_version(path: Path, con: sqlite3.Connection) -> int:
        # One statement, so one snapshot: another chatlab may be creating the schema now.
        version, tables = con.execute(
            "SELECT (SELECT user_version FROM pragma_user_version), "
            "(SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')"
        ).fetchone()
        if version > LATEST:
            raise StoreError(
                f"{path} was written by a newer chatlab (schema {version}, this version knows {LATEST}); "
                "chatlab left it untouched",
                "newer",
            )
        if version == 0 and tables:
            raise StoreError(
                f"{path} is another application's SQLite database, not chatlab's; chatlab left it untouched",
                "foreign",
            )
        return int(version)

    @classmethod
    def _open(cls, path: Path) -> sqlite3.Connection:
        cls._check_header(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise describe(path, exc) from None
        try:
            con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise describe(path, exc) from None
        _functions(con)
        try:
            version = cls._check_version(path, con)
            con.execute("PRAGMA quick_check").fetchone()
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("PRAGMA synchronous=NORMAL")
            if version < LATEST:
                if version > 0:
                    _backup(con, path, version)
                for target in range(version, LATEST):
                    migrate(con, target)
        except sqlite3.Error as exc:
            con.close()
            raise describe(path, exc) from None
        except OSError as exc:  # the backup before a migration
            con.close()
            raise describe(path, exc) from None
        except BaseException:
            con.close()
            raise
        return con

    @classmethod
    def _open_readonly(cls, path: Path) -> sqlite3.Connection:
        cls._check_header(path)
        if not path.exists():
            raise StoreError(f"{path} does not exist yet", "unavailable")
        uri = path.resolve().as_uri()
        last: sqlite3.Error | None = None
        # mode=ro still needs the WAL's shared-memory file; on a read-only mount that can't
        # be created, so fall back to immutable (no other writer can exist there anyway).
        for query in ("mode=ro", "immutable=1"):
            try:
                con = sqlite3.connect(
                    f"{uri}?{query}", uri=True, isolation_level=None, check_same_thread=False
                )
            except sqlite3.Error as exc:
                last = exc
                continue
            try:
                version = cls._check_version(path, con)
                if version != LATEST:
                    con.close()
                    raise StoreError(
                        f"{path} is read-only and was written by an older chatlab (schema {version}); "
                        "open it once where it can be written to upgrade it",
                        "read-only",
                    )
                con.execute("PRAGMA quick_check").fetchone()
                _functions(con)
                return con
            except sqlite3.Error as exc:
                con.close()
                last = exc
        assert last is not None
        raise describe(path, last)

    def close(self) -> None:
        self.con.close()

    @property
    def version(self) -> int:
        return int(self.con.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self, busy_s: float = BUSY_TIMEOUT_S) -> Iterator[sqlite3.Connection]:
        """One write transaction. ``busy_s``: how long to wait for another writer."""
        if self.readonly:
            raise StoreError(f"{self.path} is open read-only", "read-only")
        self.con.execute(f"PRAGMA busy_timeout = {int(busy_s * 1000)}")
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            # SQLite may already have rolled back (a full disk does that): don't hide the
            # real error behind "cannot rollback - no transaction is active".
            if self.con.in_transaction:
                with suppress(sqlite3.Error):
                    self.con.execute("ROLLBACK")
            raise
        try:
            self.con.execute("COMMIT")
        except BaseException:
            if self.con.in_transaction:
                with suppress(sqlite3.Error):
                    self.con.execute("ROLLBACK")
            raise


def _backup(con: sqlite3.Connection, path: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
    dest = sqlite3.connect(target)
    try:
        con.backup(dest)
    finally:
        dest.close()
    return target


def migrate(con: sqlite3.Connection, version: int) -> None:
    """Apply migration ``version`` -> ``version + 1`` in one transaction.

    Two chatlabs may open a new database at the same moment: the version is read again
    inside the write transaction, and a migration another process has applied is skipped.
    """
    con.execute("BEGIN IMMEDIATE")
    try:
        if int(con.execute("PRAGMA user_version").fetchone()[0]) == version:
            for statement in _statements(MIGRATIONS[version]):
                con.execute(statement)
            con.execute(f"PRAGMA user_version = {version + 1}")
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            with suppress(sqlite3.Error):
                con.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """A migration script split into complete SQL statements."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
