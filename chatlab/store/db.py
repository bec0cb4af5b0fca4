"""The session database: SQLite in WAL mode, versioned migrations, checkpoints, FTS5 search.

One :class:`Store` per process. Opening refuses, without writing, a file that is not a
SQLite database, a corrupt one, or one written by a newer chatlab; before migrating an
older database it is copied with SQLite's backup API. A SQLite file that holds another
application's tables is never adopted. Errors are named for what they are: a read-only
file (``sessions`` and ``export`` still work on one, through a read-only connection), a
full disk, a database busy with another writer, or real damage. Streaming writes are
batched: the caller checkpoints all running responses in one transaction at most about
once a second, and writes each response's final state when it completes. Responses
still marked running when the store is opened were cut off by a crash: they become
``interrupted``, with the text of the last checkpoint.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chatlab.core.costs import pricing
from chatlab.core.data.events import ErrorKind
from chatlab.core.data.export import DocumentError, session_from_dict
from chatlab.core.data.model import (
    DERIVED,
    VOTE_CHOICES,
    ErrorInfo,
    LaneParams,
    Rating,
    Response,
    Session,
    Status,
    Turn,
    Vote,
    name_of_id,
    utc_now,
)
from chatlab.core.data.safety import clean_text
from chatlab.core.settings.raters import Rater
from chatlab.core.studies.estimate import History
from chatlab.core.studies.study import StudyInfo, stored_unit_state
from chatlab.store.migrations import LATEST, MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
CRASH_MESSAGE = "chatlab stopped before this stream ended; the text up to the last checkpoint was kept"
MAX_STUDY_NAME = 200  # what the session document allows
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


@dataclass(frozen=True)
class SessionSummary:
    id: str
    title: str
    created_at: str
    updated_at: str
    lanes: int
    turns: int
    blind: bool


@dataclass
class ImportResult:
    added: int = 0  # sessions
    votes: int = 0  # merged into sessions already present
    ratings: int = 0
    # A newer rating pack of a study imported before (see Store.import_document):
    updated: int = 0  # comparisons whose answers were replaced by the newer pack's
    kept: int = 0  # comparisons left as they were because they have votes or ratings
    older: int = 0  # comparisons left as they were because this pack is older than one before


@dataclass(frozen=True)
class SearchHit:
    session_id: str
    turn_id: str
    lane_id: str
    kind: str  # "prompt" | "answer"
    snippet: str  # with the matches between \x02 and \x03


def _dumps(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _text(value: Any) -> str:
    """A text column as text: a BLOB written into it outside chatlab is decoded, not lost."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _json_object(text: Any) -> dict[str, Any]:
    """A JSON object column; anything else (damaged, edited) reads as {}."""
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _cut_off(lane_id: str, model: str, reasoning: Any, text: Any, usage: Any, price: Any) -> Response | None:
    """A response cut off mid-stream, with the usage and cost its saved text implies, or
    None when the provider's own usage had already arrived (it stands) or the row can't
    be read."""
    counts = {"estimated": True, **_json_object(usage)}  # damaged: counted again
    try:
        resp = Response.from_dict(
            {
                "lane_id": lane_id,
                "status": "running",
                "reasoning": _text(reasoning),
                "text": _text(text),
                "usage": counts,
                "price": _json_object(price) or None,
            }
        )
        if not resp.usage.estimated:
            return None
        pricing.estimate_from_text(resp, model)
        if resp.cost_usd is not None and not 0 <= resp.cost_usd < 1e6:  # a price edited outside chatlab
            resp.cost_usd = None
    except (TypeError, ValueError, KeyError, OverflowError):  # edited outside chatlab: left as it is
        return None
    return resp


def _functions(con: sqlite3.Connection) -> None:
    """What the store's queries call back into chatlab for: a study unit's state has one
    definition (:func:`~chatlab.core.studies.study.stored_unit_state`), in SQL as in Python."""
    con.create_function("chatlab_unit_state", 2, stored_unit_state, deterministic=True)


def _guessed(text: str | None) -> list[str] | None:
    """A vote's guessed lanes: a JSON list of lane ids, or NULL for no guess."""
    value = _loads(text)
    if value is not None and not (isinstance(value, list) and all(isinstance(x, str) for x in value)):
        raise ValueError("votes.guessed is not a list of lane ids")
    return value


class Store:
    """The session database. ``readonly=True`` opens it for reading only: nothing is
    written (no migration, no crash recovery), so it works on a read-only file."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.con = self._open_readonly(path) if readonly else self._open(path)
        try:
            self.recovered = 0 if readonly else self._recover()
        except sqlite3.Error as exc:
            self.con.close()
            raise describe(path, exc) from None

    @classmethod
    def for_reading(cls, path: Path) -> Store:
        """Open normally (recovering after a crash), or read-only if the file can't be
        written (read-only, or the disk is full): for commands that only read
        (``sessions``, ``export``)."""
        try:
            return cls(path)
        except StoreError as exc:
            if exc.reason not in ("read-only", "disk full"):
                raise
        return cls(path, readonly=True)

    # -- opening ---------------------------------------------------------------------------

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
                    _migrate(con, target)
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

    def _recover(self) -> int:
        """Mark responses cut off by a crash as interrupted; returns how many. An answer
        that was being generated gets the usage its saved text implies (≈, estimated, as
        a stopped answer gets) and its price, so the tokens it cost are never $0."""
        error = _dumps(ErrorInfo(ErrorKind.NETWORK, CRASH_MESSAGE).to_dict())
        with self.transaction() as con:
            for turn_id, lane_id, model, reasoning, text, usage, price in con.execute(
                "SELECT r.turn_id, r.lane_id, l.model, r.reasoning, r.text, r.usage, r.price FROM responses r "
                "JOIN lanes l ON l.id = r.lane_id WHERE r.status = 'running'"
            ).fetchall():
                resp = _cut_off(lane_id, _text(model), reasoning, text, usage, price)
                if resp is None:
                    continue
                con.execute(
                    "UPDATE responses SET usage = ?, cost_usd = ?, cost_source = ? WHERE turn_id = ? AND lane_id = ?",
                    (_dumps(resp.usage.to_dict()), resp.cost_usd, resp.cost_source, turn_id, lane_id),
                )
            cur = con.execute(
                "UPDATE responses SET status = ?, error = COALESCE(error, ?), updated_at = ? "
                "WHERE status IN ('queued', 'running')",
                (Status.INTERRUPTED.value, error, utc_now()),
            )
            for turn_id, lane_id, session_id, text in con.execute(
                "SELECT r.turn_id, r.lane_id, t.session_id, r.text FROM responses r JOIN turns t ON t.id = r.turn_id "
                "WHERE r.status = 'interrupted' AND r.text != '' AND NOT EXISTS (SELECT 1 FROM search_map m "
                "WHERE m.turn_id = r.turn_id AND m.lane_id = r.lane_id AND m.kind = 'answer')"
            ).fetchall():
                self._index(con, session_id, turn_id, lane_id, "answer", text)
        return int(cur.rowcount)

    # -- the search index ------------------------------------------------------------------

    @staticmethod
    def _index(
        con: sqlite3.Connection, session_id: str, turn_id: str, lane_id: str, kind: str, body: str
    ) -> None:
        """(Re)index one prompt or answer."""
        Store._unindex(con, turn_id, lane_id, kind)
        if not body:
            return
        rowid = con.execute(
            "INSERT INTO search (session_id, turn_id, lane_id, kind, body) VALUES (?, ?, ?, ?, ?)",
            (session_id, turn_id, lane_id, kind, body),
        ).lastrowid
        con.execute(
            "INSERT INTO search_map (session_id, turn_id, lane_id, kind, fts_rowid) VALUES (?, ?, ?, ?, ?)",
            (session_id, turn_id, lane_id, kind, rowid),
        )

    @staticmethod
    def _unindex(con: sqlite3.Connection, turn_id: str, lane_id: str, kind: str) -> None:
        row = con.execute(
            "SELECT fts_rowid FROM search_map WHERE turn_id = ? AND lane_id = ? AND kind = ?",
            (turn_id, lane_id, kind),
        ).fetchone()
        if row is not None:
            con.execute("DELETE FROM search WHERE rowid = ?", (row[0],))
            con.execute(
                "DELETE FROM search_map WHERE turn_id = ? AND lane_id = ? AND kind = ?",
                (turn_id, lane_id, kind),
            )

    # -- writing ---------------------------------------------------------------------------

    def save_session(self, session: Session) -> None:
        """Write the whole session (idempotent): when the user sends, and after edits."""
        with self.transaction() as con:
            self._write_session(con, session)

    def _write_session(self, con: sqlite3.Connection, session: Session) -> None:
        now = utc_now()
        study = session.study
        if (
            study is not None
            and not con.execute("SELECT 1 FROM studies WHERE id = ?", (study.id,)).fetchone()
        ):
            # A comparison imported from another chatlab: its study comes with it, by name,
            # with the rating design its owner chose.
            con.execute(
                "INSERT INTO studies (id, name, created_at, updated_at, status, reveal, extra) "
                "VALUES (?, ?, ?, ?, 'imported', ?, ?)",
                (
                    study.id,
                    self._free_name(con, clean_text(study.name)),
                    now,
                    now,
                    study.reveal if study.reveal in ("end", "each") else "end",
                    _dumps({"repeats": study.repeats} if study.repeats else {}),
                ),
            )
        con.execute(
            "INSERT INTO sessions (id, title, created_at, updated_at, blind, study_id, study_prompt, study_sample, "
            "study_tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at, "
            "blind = excluded.blind",
            (
                session.id,
                clean_text(session.title),
                session.created_at,
                now,
                int(session.blind),
                study.id if study else None,
                study.prompt_id if study else None,
                study.sample if study else None,
                _dumps(list(study.tags)) if study else None,
            ),
        )
        active = [lane.id for lane in session.lanes]
        for position, lane in enumerate((*session.lanes, *session.retired)):
            con.execute(
                "INSERT INTO lanes (id, session_id, position, provider, model, label, params, retired, placebo) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET position = excluded.position, "
                "provider = excluded.provider, model = excluded.model, label = excluded.label, "
                "params = excluded.params, retired = excluded.retired, placebo = excluded.placebo "
                "WHERE lanes.session_id = excluded.session_id",
                (
                    lane.id,
                    session.id,
                    position,
                    clean_text(lane.provider),
                    clean_text(lane.model),
                    clean_text(lane.label),
                    _dumps(lane.params.to_dict()),
                    int(position >= len(active)),
                    int(lane.placebo),
                ),
            )
        # A lane removed from the session is retired, never deleted: deleting would take
        # its answers with it (ON DELETE CASCADE). One with no answers is not loaded again.
        con.execute(
            f"UPDATE lanes SET retired = 1 WHERE session_id = ? AND id NOT IN ({', '.join('?' * len(active))})",
            (session.id, *active),
        )
        for position, turn in enumerate(session.turns):
            new = con.execute(
                "INSERT OR IGNORE INTO turns (id, session_id, position, prompt, created_at, shown_order, to_rate) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    turn.id,
                    session.id,
                    position,
                    clean_text(turn.prompt),
                    turn.created_at,
                    _dumps(turn.shown_order),
                    int(turn.to_rate),
                ),
            ).rowcount
            if new:
                self._index(con, session.id, turn.id, "", "prompt", clean_text(turn.prompt))
            else:
                con.execute(
                    "UPDATE turns SET position = ?, shown_order = ?, to_rate = ? WHERE id = ? AND session_id = ?",
                    (position, _dumps(turn.shown_order), int(turn.to_rate), turn.id, session.id),
                )
            for resp in turn.responses.values():
                self._write_response(con, session.id, turn.id, resp, final=resp.status.finished)
            for vote in turn.votes:
                self._write_vote(con, turn.id, vote)

    def _write_response(
        self, con: sqlite3.Connection, session_id: str, turn_id: str, resp: Response, final: bool
    ) -> None:
        d = resp.to_dict()
        extra = {k: d[k] for k in ("notes", "retries") if d[k]}
        con.execute(
            "INSERT INTO responses (turn_id, lane_id, status, reasoning, text, refusal, error, usage, cost_usd, "
            "cost_source, price, timing, finish_reason, updated_at, extra) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(turn_id, lane_id) DO UPDATE SET status = excluded.status, reasoning = excluded.reasoning, "
            "text = excluded.text, refusal = excluded.refusal, error = excluded.error, usage = excluded.usage, "
            "cost_usd = excluded.cost_usd, cost_source = excluded.cost_source, price = excluded.price, "
            "timing = excluded.timing, finish_reason = excluded.finish_reason, updated_at = excluded.updated_at, "
            "extra = excluded.extra",
            (
                turn_id,
                resp.lane_id,
                d["status"],
                d["reasoning"],
                d["text"],
                int(d["refusal"]),
                _dumps(d["error"]),
                _dumps(d["usage"]),
                d["cost_usd"],
                d["cost_source"],
                _dumps(d["price"]),
                _dumps(d["timing"]),
                d["finish_reason"],
                utc_now(),
                _dumps(extra),
            ),
        )
        if final:
            self._index(con, session_id, turn_id, resp.lane_id, "answer", d["text"])
        for rating in resp.ratings:
            self._write_rating(con, turn_id, resp.lane_id, rating)

    def checkpoint(
        self, session: Session, items: Iterable[tuple[Turn, Response]], busy_s: float = CHECKPOINT_BUSY_S
    ) -> int:
        """Write several streaming (or finished) responses in one transaction. It waits
        only ``busy_s`` for another writer: a checkpoint that can't be written now is
        retried by the caller (:class:`~chatlab.store.checkpoint.Checkpointer`)."""
        return self.checkpoint_many(((session, turn, resp) for turn, resp in items), busy_s)

    def checkpoint_many(
        self, items: Iterable[tuple[Session, Turn, Response]], busy_s: float = CHECKPOINT_BUSY_S
    ) -> int:
        """:meth:`checkpoint` for responses of several sessions (a study), in one transaction."""
        n = 0
        touched: set[str] = set()
        with self.transaction(busy_s) as con:
            for session, turn, resp in items:
                self._write_response(con, session.id, turn.id, resp, final=resp.status.finished)
                touched.add(session.id)
                n += 1
            now = utc_now()
            for session_id in touched:
                con.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
        return n

    def _write_rating(self, con: sqlite3.Connection, turn_id: str, lane_id: str, rating: Rating) -> None:
        """Write one rater's rating of an answer; one with neither score nor note is
        none, and takes theirs away."""
        if rating.score is not None and not 1 <= rating.score <= 5:
            raise ValueError("a score is from 1 to 5")
        if rating.score is None and not rating.note:
            con.execute(
                "DELETE FROM ratings WHERE turn_id = ? AND lane_id = ? AND rater = ?",
                (turn_id, lane_id, rating.rater),
            )
            return
        con.execute(
            "INSERT INTO ratings (turn_id, lane_id, score, note, rater, rated_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(turn_id, lane_id, rater) DO UPDATE SET score = excluded.score, note = excluded.note, "
            "rated_at = excluded.rated_at",
            (turn_id, lane_id, rating.score, rating.note, rating.rater, rating.rated_at),
        )

    def _write_vote(self, con: sqlite3.Connection, turn_id: str, vote: Vote) -> None:
        # A vote is sighted when cast with the names showing (the caller says so), or cast
        # by a rater on a comparison they exported unblinded, after they did.
        con.execute(
            "INSERT INTO votes (turn_id, rater, repeat, choice, guessed, shown_order, voted_at, seconds_to_vote, "
            "sighted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ? OR EXISTS (SELECT 1 FROM sighted m WHERE m.turn_id = ? "
            "AND m.rater = ? AND m.marked_at <= ?)) ON CONFLICT(turn_id, rater, repeat) DO UPDATE SET "
            "choice = excluded.choice, guessed = excluded.guessed, shown_order = excluded.shown_order, "
            "voted_at = excluded.voted_at, seconds_to_vote = excluded.seconds_to_vote, sighted = excluded.sighted",
            (
                turn_id,
                vote.rater,
                int(vote.repeat),
                vote.choice,
                _dumps(vote.guessed),
                _dumps(vote.shown_order),
                vote.voted_at,
                vote.seconds_to_vote,
                int(vote.sighted),
                turn_id,
                vote.rater,
                vote.voted_at,
            ),
        )
        vote.sighted = bool(
            con.execute(
                "SELECT sighted FROM votes WHERE turn_id = ? AND rater = ? AND repeat = ?",
                (turn_id, vote.rater, int(vote.repeat)),
            ).fetchone()[0]
        )

    def rate(self, turn_id: str, lane_id: str, rating: Rating) -> None:
        with self.transaction() as con:
            self._write_rating(con, turn_id, lane_id, rating)

    def vote(self, turn_id: str, vote: Vote) -> None:
        with self.transaction() as con:
            self._write_vote(con, turn_id, vote)

    def judge(self, turn_id: str, vote: Vote, ratings: Sequence[tuple[str, Rating]] = ()) -> None:
        """A vote and the ratings given with it, in one transaction (all or nothing)."""
        with self.transaction() as con:
            self._write_vote(con, turn_id, vote)
            for lane_id, rating in ratings:
                self._write_rating(con, turn_id, lane_id, rating)

    def mark_to_rate(self, turn_id: str, marked: bool = True) -> None:
        """Put a turn into (or take it out of) the blind rating queue of marked turns."""
        with self.transaction() as con:
            con.execute("UPDATE turns SET to_rate = ? WHERE id = ?", (int(marked), turn_id))

    def marked_turns(self, problems: list[str] | None = None) -> list[Session]:
        """Every turn marked "to rate", each as a one-turn view of its session (the same
        lanes and the same turn, so a vote on it is a vote on the real turn)."""
        out: list[Session] = []
        rows = self.con.execute(
            "SELECT t.session_id, t.id FROM turns t WHERE t.to_rate = 1 ORDER BY t.session_id, t.position"
        ).fetchall()
        loaded: dict[str, Session] = {}
        for session_id, turn_id in rows:
            try:
                session = loaded.get(session_id) or self.load(session_id)
            except (StoreError, KeyError) as exc:
                if problems is not None:
                    problems.append(f"session {session_id} can't be read ({exc})")
                continue
            loaded[session_id] = session
            turn = next((t for t in session.turns if t.id == turn_id), None)
            if turn is not None:
                lanes = [lane for lane in (*session.lanes, *session.retired) if lane.id in turn.responses]
                out.append(Session(lanes=lanes, turns=[turn], title=session.title, id=session.id, blind=True))
        return out

    def unvote(
        self,
        turn_id: str,
        rater: str,
        repeat: bool = False,
        ratings: Sequence[str] = (),
        restore: Sequence[tuple[str, Rating]] = (),
    ) -> None:
        """Take back ``rater``'s vote on a turn (a rating queue's undo), the ratings they
        gave with it where they had none before (of the lanes in ``ratings``), and put
        back as it was each rating the vote replaced (``restore``), in one transaction."""
        with self.transaction() as con:
            for lane_id, rating in restore:
                self._write_rating(con, turn_id, lane_id, rating)
            con.execute(
                "DELETE FROM votes WHERE turn_id = ? AND rater = ? AND repeat = ?",
                (turn_id, rater, int(repeat)),
            )
            for lane_id in ratings:
                con.execute(
                    "DELETE FROM ratings WHERE turn_id = ? AND lane_id = ? AND rater = ?",
                    (turn_id, lane_id, rater),
                )

    def rename(self, session_id: str, title: str) -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?", (title, utc_now(), session_id)
            )

    def delete(self, session_id: str) -> None:
        with self.transaction() as con:
            con.execute(
                "DELETE FROM search WHERE rowid IN (SELECT fts_rowid FROM search_map WHERE session_id = ?)",
                (session_id,),
            )
            con.execute("DELETE FROM search_map WHERE session_id = ?", (session_id,))
            con.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # -- studies ---------------------------------------------------------------------------

    @staticmethod
    def _free_name(con: sqlite3.Connection, name: str) -> str:
        """``name``, or ``name (2)``, ``name (3)``… whichever no study has yet."""
        name = name[:MAX_STUDY_NAME]
        candidate, n = name, 1
        while con.execute("SELECT 1 FROM studies WHERE name = ?", (candidate,)).fetchone():
            n += 1
            suffix = f" ({n})"
            candidate = name[: MAX_STUDY_NAME - len(suffix)] + suffix  # the schema's limit holds
        return candidate

    def create_study(
        self,
        study_id: str,
        name: str,
        suite: dict[str, Any],
        sessions: Sequence[Session],
        reveal: str = "end",
    ) -> str:
        """The study and all its comparisons, in one transaction; returns the name it got
        (``name``, or ``name (2)`` when a study already has that name)."""
        now = utc_now()
        with self.transaction() as con:
            free = self._free_name(con, clean_text(name))
            con.execute(
                "INSERT INTO studies (id, name, suite, created_at, updated_at, status, reveal) "
                "VALUES (?, ?, ?, ?, ?, 'new', ?)",
                (study_id, free, _dumps(suite), now, now, reveal),
            )
            fresh = [
                s for s in sessions if not any(t.responses or t.votes for t in s.turns) and not s.retired
            ]
            self._write_new(con, fresh, now)
            written = {id(s) for s in fresh}
            for session in sessions:
                if id(session) not in written:
                    self._write_session(con, session)
        return free

    def _write_new(self, con: sqlite3.Connection, sessions: Sequence[Session], now: str) -> None:
        """:meth:`_write_session` for many sessions that are not in the store yet and have
        nothing but lanes and prompts (a new study's comparisons): a few statements for
        them all, so that making a study of any size is linear, with a small constant."""
        con.executemany(
            "INSERT INTO sessions (id, title, created_at, updated_at, blind, study_id, study_prompt, study_sample, "
            "study_tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    s.id,
                    clean_text(s.title),
                    s.created_at,
                    now,
                    int(s.blind),
                    s.study.id if s.study else None,
                    s.study.prompt_id if s.study else None,
                    s.study.sample if s.study else None,
                    _dumps(list(s.study.tags)) if s.study else None,
                )
                for s in sessions
            ),
        )
        con.executemany(
            "INSERT INTO lanes (id, session_id, position, provider, model, label, params, retired, placebo) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            (
                (
                    lane.id,
                    s.id,
                    position,
                    clean_text(lane.provider),
                    clean_text(lane.model),
                    clean_text(lane.label),
                    _dumps(lane.params.to_dict()),
                    int(lane.placebo),
                )
                for s in sessions
                for position, lane in enumerate(s.lanes)
            ),
        )
        turns = [(s.id, position, turn) for s in sessions for position, turn in enumerate(s.turns)]
        con.executemany(
            "INSERT INTO turns (id, session_id, position, prompt, created_at, shown_order, to_rate) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    turn.id,
                    session_id,
                    position,
                    clean_text(turn.prompt),
                    turn.created_at,
                    _dumps(turn.shown_order),
                    int(turn.to_rate),
                )
                for session_id, position, turn in turns
            ),
        )
        # The search index, as _index writes it, with the rowids given rather than asked.
        indexed = [
            (session_id, turn.id, clean_text(turn.prompt)) for session_id, _, turn in turns if turn.prompt
        ]
        first = int(con.execute("SELECT COALESCE(MAX(rowid), 0) FROM search").fetchone()[0]) + 1
        con.executemany(
            "INSERT INTO search (rowid, session_id, turn_id, lane_id, kind, body) VALUES (?, ?, ?, '', 'prompt', ?)",
            ((first + i, *row) for i, row in enumerate(indexed)),
        )
        con.executemany(
            "INSERT INTO search_map (session_id, turn_id, lane_id, kind, fts_rowid) VALUES (?, ?, '', 'prompt', ?)",
            ((session_id, turn_id, first + i) for i, (session_id, turn_id, _) in enumerate(indexed)),
        )

    def free_study_name(self, name: str) -> str:
        """``name``, or ``name (2)``… whichever no study has yet (see :meth:`create_study`)."""
        return self._free_name(self.con, clean_text(name))

    def set_study_budget(self, study_id: str, budget_usd: float) -> None:
        """A new budget in the study's suite snapshot (the only field that may change)."""
        with self.transaction() as con:
            con.execute(
                "UPDATE studies SET suite = json_set(suite, '$.budget_usd', ?), updated_at = ? "
                "WHERE id = ? AND json_valid(suite)",
                (float(budget_usd), utc_now(), study_id),
            )

    def set_study_status(self, study_id: str, status: str, pid: int | None = None) -> None:
        """``status``; ``pid``: the process that runs it now (a study left "running" by a
        process that no longer exists was killed, and can be resumed)."""
        with self.transaction() as con:
            con.execute(
                "UPDATE studies SET status = ?, updated_at = ?, extra = json_set(CASE WHEN json_valid(extra) "
                "THEN extra ELSE '{}' END, '$.pid', ?) WHERE id = ?",
                (status, utc_now(), pid, study_id),
            )

    _STUDY_ROW = (
        "SELECT s.id, s.name, s.created_at, s.status, s.suite, s.reveal, s.extra, "
        "(SELECT COUNT(*) FROM lanes l JOIN sessions x ON x.id = l.session_id WHERE x.study_id = s.id AND l.retired = 0), "
        "(SELECT COUNT(*) FROM responses r JOIN turns t ON t.id = r.turn_id JOIN sessions x ON x.id = t.session_id "
        " WHERE x.study_id = s.id AND r.status = 'ok'), "
        "(SELECT json_object('failed', COALESCE(SUM(u = 'failed'), 0), 'retry', COALESCE(SUM(u = 'transient'), 0)) "
        " FROM (SELECT chatlab_unit_state(r.status, r.error) AS u FROM responses r JOIN turns t ON t.id = r.turn_id "
        " JOIN sessions x ON x.id = t.session_id JOIN lanes l ON l.id = r.lane_id "
        " WHERE x.study_id = s.id AND l.retired = 0 AND r.status != 'ok')), "
        "(SELECT COALESCE(SUM(r.cost_usd), 0) + COALESCE(SUM((SELECT SUM(json_extract(e.value, '$.cost_usd')) "
        "  FROM json_each(r.extra, '$.retries') e)), 0) "
        " FROM responses r JOIN turns t ON t.id = r.turn_id JOIN sessions x ON x.id = t.session_id "
        " WHERE x.study_id = s.id), "
        "(SELECT COUNT(*) FROM responses r JOIN turns t ON t.id = r.turn_id JOIN sessions x ON x.id = t.session_id "
        " WHERE x.study_id = s.id AND r.status = 'ok' AND r.cost_usd IS NULL) "
        "FROM studies s"
    )

    @staticmethod
    def _study_info(r: Sequence[Any]) -> StudyInfo:
        """A study row, read defensively: a snapshot or note edited outside chatlab
        reads as empty, never as an exception."""
        suite = _json_object(r[4])
        extra = _json_object(r[6])
        counts = _json_object(r[9])
        pid = extra.get("pid")
        repeats = extra.get("repeats")
        if "repeats" not in suite and isinstance(repeats, int | float) and 0 <= repeats <= 0.5:
            suite = {**suite, "repeats": repeats} if suite else {"repeats": repeats}
        return StudyInfo(
            id=r[0],
            name=_text(r[1]),
            created_at=_text(r[2]),
            status=_text(r[3]),
            suite=suite,
            reveal=r[5] if r[5] in ("end", "each") else "end",
            pid=pid if type(pid) is int else None,
            units=int(r[7]),
            done=int(r[8]),
            failed=int(counts.get("failed", 0)),
            to_retry=int(counts.get("retry", 0)),
            spent_usd=float(r[10] or 0.0),
            unpriced=int(r[11]),
        )

    def studies(self) -> list[StudyInfo]:
        """Every study, newest first, with its progress and spend."""
        rows = self.con.execute(self._STUDY_ROW + " ORDER BY s.created_at DESC, s.rowid DESC").fetchall()
        return [self._study_info(r) for r in rows]

    def study(self, key: str) -> StudyInfo:
        """The study named ``key`` exactly, else the one whose id or name (any case) starts
        with it. KeyError when none matches; ValueError when several do."""
        row = self.con.execute(self._STUDY_ROW + " WHERE s.name = ?", (key,)).fetchone()
        if row is None and key.strip():
            folded = key.strip().casefold()
            rows = {
                r[0]: r
                for r in self.con.execute(self._STUDY_ROW).fetchall()
                if r[0].startswith(key) or _text(r[1]).casefold().startswith(folded)
            }
            if len(rows) > 1:
                raise ValueError(f"more than one study matches {key[:60]!r}: give more of its name")
            row = next(iter(rows.values()), None)
        if row is None:
            raise KeyError(key)
        return self._study_info(row)

    def study_session_ids(self, study_id: str) -> list[str]:
        """The ids of the study's comparisons, in the order they were made."""
        return [
            r[0]
            for r in self.con.execute(
                "SELECT id FROM sessions WHERE study_id = ? ORDER BY rowid", (study_id,)
            ).fetchall()
        ]

    def study_sessions(self, study_id: str, problems: list[str] | None = None) -> list[Session]:
        """The study's comparisons, in the order they were made (prompt, then sample). One
        that can't be read back (damaged outside chatlab) is left out and, when
        ``problems`` is given, named there; without it, it raises :class:`StoreError`."""
        out = []
        for session_id, loaded in self._load_where("s.study_id = ?", (study_id,)):
            if isinstance(loaded, StoreError):
                if problems is None:
                    raise loaded
                problems.append(f"comparison {session_id} can't be read ({loaded}); it was left out")
            else:
                out.append(loaded)
        return out

    def claim_study(self, study_id: str, pid: int, alive: Callable[[int], bool]) -> int | None:
        """Mark the study as run by process ``pid``, unless another live process runs it:
        then return that process's id and change nothing. One transaction, so two
        resumes at once can't both claim it."""
        with self.transaction() as con:
            row = con.execute("SELECT status, extra FROM studies WHERE id = ?", (study_id,)).fetchone()
            if row is None:
                raise KeyError(study_id)
            other = _json_object(row[1]).get("pid")
            if row[0] == "running" and type(other) is int and other != pid and alive(other):
                return int(other)
            con.execute(
                "UPDATE studies SET status = 'running', updated_at = ?, extra = json_set(CASE WHEN "
                "json_valid(extra) THEN extra ELSE '{}' END, '$.pid', ?) WHERE id = ?",
                (utc_now(), pid, study_id),
            )
        return None

    def model_history(self, provider: str, model: str, params: LaneParams | None = None) -> History | None:
        """Mean output and reasoning tokens of this model's finished answers, as reported
        by the provider (estimates are left out), or None when it has none. With
        ``params``, only answers given under the same parameters (a system prompt aside)
        count: the same model with reasoning on and off writes very different lengths."""
        wanted = None if params is None else {k: v for k, v in params.to_dict().items() if k != "system"}
        count, output, reasoning = 0, 0.0, 0.0
        for text, n, out, thought in self.con.execute(
            "SELECT l.params, COUNT(*), SUM(json_extract(r.usage, '$.output_tokens')), "
            "SUM(json_extract(r.usage, '$.reasoning_tokens')) FROM responses r JOIN lanes l ON l.id = r.lane_id "
            "WHERE l.provider = ? AND l.model = ? AND r.status = 'ok' "
            "AND json_extract(r.usage, '$.estimated') = 0 GROUP BY l.params",
            (provider, model),
        ):
            if wanted is not None:
                those = _json_object(text)
                those.pop("system", None)
                if those != wanted:
                    continue
            count += int(n)
            output += float(out or 0.0)
            reasoning += float(thought or 0.0)
        if not count:
            return None
        return History(count, output / count, reasoning / count)

    def delete_study(self, study_id: str) -> None:
        """The study and every comparison it made."""
        for session_id in [
            r[0] for r in self.con.execute("SELECT id FROM sessions WHERE study_id = ?", (study_id,))
        ]:
            self.delete(session_id)
        with self.transaction() as con:
            con.execute("DELETE FROM studies WHERE id = ?", (study_id,))

    # -- reading ---------------------------------------------------------------------------

    def sessions(self) -> list[SessionSummary]:
        rows = self.con.execute(
            "SELECT s.id, s.title, s.created_at, s.updated_at, s.blind, "
            "(SELECT COUNT(*) FROM lanes l WHERE l.session_id = s.id AND l.retired = 0), "
            "(SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) "
            "FROM sessions s ORDER BY s.updated_at DESC, s.created_at DESC"
        ).fetchall()
        return [SessionSummary(r[0], r[1], r[2], r[3], r[5], r[6], bool(r[4])) for r in rows]

    def ids(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT id FROM sessions ORDER BY created_at")]

    def load(self, session_id: str) -> Session:
        """The session with this id (KeyError if there is none). A row that can't be read
        back (edited or damaged outside chatlab) raises :class:`StoreError`, naming it."""
        loaded = self._load_where("s.id = ?", (session_id,))
        if not loaded:
            raise KeyError(session_id)
        _, session = loaded[0]
        if isinstance(session, StoreError):
            raise session
        return session

    def _load_where(self, where: str, args: tuple[Any, ...]) -> list[tuple[str, Session | StoreError]]:
        """The sessions ``where`` selects (a condition on ``sessions s``), in the order
        they were made, each read back or, when it can't be (edited or damaged outside
        chatlab), a :class:`StoreError` naming it. One query per table for them all, and a
        study's design read once, so loading a study of any size is linear in its rows."""
        chosen = f"SELECT s.id FROM sessions s WHERE {where}"
        rows = self.con.execute(
            "SELECT s.id, s.title, s.created_at, s.blind, s.study_id, st.name, s.study_prompt, s.study_sample, "
            f"s.study_tags FROM sessions s LEFT JOIN studies st ON st.id = s.study_id WHERE {where} ORDER BY s.rowid",
            args,
        ).fetchall()
        if not rows:
            return []
        lanes: dict[str, list[dict[str, Any]]] = {}
        for r in self.con.execute(
            "SELECT session_id, id, provider, model, label, params, retired, placebo FROM lanes l "
            f"WHERE session_id IN ({chosen}) "
            "AND (retired = 0 OR EXISTS (SELECT 1 FROM responses r WHERE r.lane_id = l.id)) "
            "ORDER BY session_id, retired, position",
            args,
        ):
            lane = {
                "id": r[1],
                "provider": r[2],
                "model": r[3],
                "label": r[4],
                "params": r[5],
                # Always said, true or false: the store knows, so nothing is inferred
                # from the label on the way back (see session_from_dict).
                "placebo": bool(r[7]),
            }  # parsed below
            if r[6]:
                lane["retired"] = True
            lanes.setdefault(r[0], []).append(lane)
        turn_rows: dict[str, list[Any]] = {}
        for t in self.con.execute(
            "SELECT session_id, id, prompt, created_at, shown_order, to_rate FROM turns "
            f"WHERE session_id IN ({chosen}) ORDER BY session_id, position",
            args,
        ):
            turn_rows.setdefault(t[0], []).append(t[1:])
        in_turns = f"SELECT t.id FROM turns t WHERE t.session_id IN ({chosen})"
        ratings: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in self.con.execute(
            "SELECT r.turn_id, r.lane_id, r.score, r.note, r.rater, r.rated_at, n.name FROM ratings r "
            f"LEFT JOIN raters n ON n.id = r.rater WHERE r.turn_id IN ({in_turns}) ORDER BY r.rowid",
            args,
        ):
            ratings.setdefault((r[0], r[1]), []).append(
                {
                    "score": r[2],
                    "note": r[3],
                    "rater_id": r[4],
                    "rater": r[6] if r[6] is not None else name_of_id(str(r[4])),
                    "rated_at": r[5],
                }
            )
        votes: dict[str, list[dict[str, Any]]] = {}
        for r in self.con.execute(
            "SELECT v.turn_id, v.choice, v.guessed, v.rater, v.voted_at, v.shown_order, v.seconds_to_vote, "
            f"v.repeat, v.sighted, n.name FROM votes v LEFT JOIN raters n ON n.id = v.rater "
            f"WHERE v.turn_id IN ({in_turns}) ORDER BY v.rowid",
            args,
        ):
            try:
                vote = {
                    "choice": r[1],
                    "guessed": _guessed(r[2]),
                    "rater_id": r[3],
                    "rater": r[9] if r[9] is not None else name_of_id(str(r[3])),
                    "voted_at": r[4],
                    "shown_order": _guessed(r[5]),
                    "seconds_to_vote": r[6],
                    "repeat": bool(r[7]),
                    "sighted": bool(r[8]),
                }
            except Exception as exc:  # damaged: its session says so below
                vote = {"damaged": f"{type(exc).__name__}: {exc}"}
            votes.setdefault(r[0], []).append(vote)
        responses: dict[str, dict[str, dict[str, Any]]] = {}
        for r in self.con.execute(
            "SELECT r.turn_id, r.lane_id, r.status, r.reasoning, r.text, r.refusal, r.error, r.usage, r.cost_usd, "
            "r.cost_source, r.price, r.timing, r.finish_reason, r.extra FROM responses r "
            f"WHERE r.turn_id IN ({in_turns})",
            args,
        ):
            try:
                responses.setdefault(r[0], {})[r[1]] = {
                    "lane_id": r[1],
                    "status": r[2],
                    "reasoning": _text(r[3]),
                    "text": _text(r[4]),
                    "refusal": bool(r[5]),
                    "hidden_reasoning": False,
                    "error": _loads(r[6]),
                    "usage": _loads(r[7]),
                    "cost_usd": r[8],
                    "cost_source": r[9],
                    "price": _loads(r[10]),
                    "timing": _loads(r[11]),
                    "finish_reason": r[12],
                    "ratings": ratings.get((r[0], r[1]), []),
                    **(_loads(r[13]) or {}),
                }
            except Exception as exc:  # damaged: its session says so below
                responses.setdefault(r[0], {})[r[1]] = {"damaged": f"{type(exc).__name__}: {exc}"}
        designs: dict[str, dict[str, Any]] = {}
        out: list[tuple[str, Session | StoreError]] = []
        for row in rows:
            session_id, study_id = row[0], row[4]
            try:
                if study_id and study_id not in designs:
                    designs[study_id] = self._study_design(study_id)
                its_lanes = [{**lane, "params": _loads(lane["params"])} for lane in lanes.get(session_id, [])]
                order = [lane["id"] for lane in its_lanes]
                turns = []
                for t in turn_rows.get(session_id, []):
                    answers = responses.get(t[0], {})
                    for item in (*answers.values(), *votes.get(t[0], [])):
                        if "damaged" in item:
                            raise ValueError(item["damaged"])
                    turns.append(
                        {
                            "id": t[0],
                            "prompt": t[1],
                            "created_at": t[2],
                            "shown_order": _loads(t[3]),
                            "to_rate": bool(t[4]),
                            "votes": votes.get(t[0], []),
                            "responses": [answers[i] for i in order if i in answers],
                        }
                    )
                out.append(
                    (
                        session_id,
                        session_from_dict(
                            {
                                "id": row[0],
                                "title": row[1],
                                "created_at": row[2],
                                "blind": bool(row[3]),
                                "lanes": its_lanes,
                                "turns": turns,
                                **(
                                    {
                                        "study": {
                                            "id": study_id,
                                            "name": row[5] or study_id,
                                            "prompt_id": row[6],
                                            "sample": row[7],
                                            "tags": _loads(row[8]) or [],
                                            **designs[study_id],
                                        }
                                    }
                                    if study_id
                                    else {}
                                ),
                            }
                        ),
                    )
                )
            except sqlite3.Error:
                raise
            except Exception as exc:
                out.append(
                    (
                        session_id,
                        StoreError(
                            f"session {session_id} is damaged in {self.path} ({type(exc).__name__}: {exc})",
                            "damaged",
                        ),
                    )
                )
        return out

    def _study_design(self, study_id: str) -> dict[str, Any]:
        row = self.con.execute(
            "SELECT reveal, suite, extra FROM studies WHERE id = ?", (study_id,)
        ).fetchone()
        return {} if row is None else self._design(*row)

    @staticmethod
    def _design(reveal: Any, suite: Any, extra: Any) -> dict[str, Any]:
        """A study's rating design (reveal policy, share of hidden repeats), as its
        comparisons carry it into a rating pack."""
        out: dict[str, Any] = {}
        if reveal in ("end", "each"):
            out["reveal"] = reveal
        repeats = _json_object(suite).get("repeats", _json_object(extra).get("repeats"))
        if isinstance(repeats, int | float) and not isinstance(repeats, bool) and 0 < repeats <= 0.5:
            out["repeats"] = float(repeats)
        return out

    def search(self, query: str, limit: int = 100) -> list[SearchHit]:
        """FTS5 search over prompts and answers; matches are marked \\x02…\\x03 in the snippet.

        Any string gives results or none, never an exception: control characters (NUL
        included) split terms, invalid Unicode is replaced, and each term is quoted.
        """
        limit = max(1, min(int(limit), 10_000))
        words = _CONTROLS.sub(" ", clean_text(query)).split()
        terms = " ".join('"' + t.replace('"', '""') + '"' for t in words)
        if not terms:
            return []
        try:
            rows = self.con.execute(
                "SELECT session_id, turn_id, lane_id, kind, snippet(search, 4, char(2), char(3), '…', 12) "
                "FROM search WHERE search MATCH ? ORDER BY rank LIMIT ?",
                (f"body : ({terms})", limit),
            ).fetchall()
        except sqlite3.Error:
            return []
        return [SearchHit(*r) for r in rows]

    # -- import --------------------------------------------------------------------------------

    def import_sessions(self, sessions: list[Session]) -> int:
        """:meth:`import_document`, returning how many sessions were added."""
        return self.import_document(sessions).added

    def import_document(
        self, sessions: list[Session], pack_created_at: str | None = None, owner: str | None = None
    ) -> ImportResult:
        """Insert sessions not already present (ids are stable), and merge into those
        present the votes and ratings of raters not yet there, all in one transaction.

        ``pack_created_at`` (a rating pack's ``pack.created_at``): a pack newer than the
        one imported before for the same study (each imported study keeps the newest it
        had) replaces the answers of each comparison already here that nobody has voted
        on or rated yet, when they differ; one with votes or ratings is kept as it is
        (its votes stay on the answers they were given to). An older pack (or the same
        one again) replaces nothing. A study run in this chatlab is never replaced.

        An import never changes a row of another session: a lane or turn id that already
        belongs to a different session is refused (:class:`DocumentError`, naming the
        place in the document), and nothing is written. Into a session already present
        it adds votes and ratings only, nothing else; a rater's vote or rating that
        differs from the one already stored for that rater is refused, naming the place.

        A session whose lanes are a rating pack's opaque lanes (see :meth:`remember_pack`)
        is a pack's votes coming back: they are mapped onto the real lanes, and must all
        be one rater's; the first votes for a pack bind it to that rater, and votes for it
        from any other rater are refused. ``owner`` (this installation's rater id): a vote
        or rating under it is refused, unless it is one already stored here (a file of
        one's own votes imported again), and a pack's votes can't be the owner's.
        """
        result = ImportResult()
        with self.transaction() as con:
            before = self._pack_dates(con, sessions) if pack_created_at else {}
            for i, session in enumerate(sessions):
                row = con.execute("SELECT study_id FROM sessions WHERE id = ?", (session.id,)).fetchone()
                if row is not None:
                    # Only a comparison of that same imported study is ever replaced.
                    if pack_created_at and session.study and row[0] == session.study.id and row[0] in before:
                        newest = before[session.study.id]
                        if newest is not None and pack_created_at <= newest:
                            result.older += pack_created_at < newest
                        elif self._judged(con, session):
                            result.kept += 1
                        elif self._replace(con, i, session):
                            result.updated += 1
                    self._merge(con, i, session, result, owner)
                    continue
                self._check_collisions(con, i, session)
                self._check_study(con, i, session)
                for (place, _turn), rater, _name in _judgements(i, session):
                    if owner is not None and rater == owner:
                        raise DocumentError(f"{place}.rater_id", _OWNER)
                self._write_session(con, session)
                self._name_raters(con, session)
                result.added += 1
            if pack_created_at:
                for session in sessions:
                    newest = before.get(session.study.id) if session.study else None
                    if session.study and (newest is None or newest < pack_created_at):
                        con.execute(
                            "UPDATE studies SET extra = json_set(CASE WHEN json_valid(extra) THEN extra "
                            "ELSE '{}' END, '$.pack_created_at', ?) WHERE id = ? AND status = 'imported'",
                            (pack_created_at, session.study.id),
                        )
        return result

    @staticmethod
    def _pack_dates(con: sqlite3.Connection, sessions: list[Session]) -> dict[str, str | None]:
        """For each imported study these sessions belong to: when the newest pack of it
        imported so far was made (None: not known, a pack from before packs said)."""
        out: dict[str, str | None] = {}
        for study_id in {s.study.id for s in sessions if s.study}:
            row = con.execute(
                "SELECT CASE WHEN json_valid(extra) THEN json_extract(extra, '$.pack_created_at') END "
                "FROM studies WHERE id = ? AND status = 'imported'",
                (study_id,),
            ).fetchone()
            if row is not None:
                out[study_id] = row[0] if isinstance(row[0], str) else None
        return out

    @staticmethod
    def _judged(con: sqlite3.Connection, session: Session) -> bool:
        """Whether anyone has voted on or rated this session here."""
        return bool(
            con.execute(
                "SELECT 1 FROM turns t WHERE t.session_id = ? AND (EXISTS (SELECT 1 FROM votes v "
                "WHERE v.turn_id = t.id) OR EXISTS (SELECT 1 FROM ratings r WHERE r.turn_id = t.id))",
                (session.id,),
            ).fetchone()
        )

    def _replace(self, con: sqlite3.Connection, index: int, session: Session) -> bool:
        """Put a newer pack's lanes and answers in place of this unjudged comparison's
        (False, and nothing written, when its turns and answers are the same)."""
        here = self.load(session.id)
        if [t.id for t in here.turns] != [t.id for t in session.turns]:
            raise DocumentError(f"sessions[{index}].turns", "differs from this comparison's turns here")

        def answers(s: Session) -> list[list[tuple[str, str]]]:
            # Each pack lists a comparison's lanes in its own order, under fresh ids.
            return [sorted((r.status.value, r.text) for r in t.responses.values()) for t in s.turns]

        if answers(here) == answers(session) and here.title == session.title:
            return False
        self._check_collisions(con, index, session)
        for turn in here.turns:
            for lane_id in turn.responses:
                self._unindex(con, turn.id, lane_id, "answer")
        con.execute("DELETE FROM lanes WHERE session_id = ?", (session.id,))  # their answers go with them
        self._write_session(con, session)
        return True

    def _merge(
        self, con: sqlite3.Connection, index: int, session: Session, result: ImportResult, owner: str | None
    ) -> None:
        here = {r[0] for r in con.execute("SELECT id FROM lanes WHERE session_id = ?", (session.id,))}
        sp = f"sessions[{index}]"
        # Which lanes the file names: this comparison's own (a full document, from someone
        # who had its real lane ids), or a rating pack's opaque ones (that pack's votes).
        opaque: dict[str, str] = {}
        pack: str | None = None
        real_lanes = 0
        for j, lane in enumerate((*session.lanes, *session.retired)):
            if lane.id in here:
                real_lanes += 1
                continue
            row = con.execute(
                "SELECT lane_id, pack_id FROM pack_lanes WHERE opaque = ?", (lane.id,)
            ).fetchone()
            if row is None or row[0] not in here:
                continue  # a lane this copy doesn't have: a vote naming it is refused below
            if pack is not None and row[1] != pack:
                raise DocumentError(
                    f"{sp}.lanes[{j}].id", "is a lane of another rating pack than this session's"
                )
            pack = str(row[1] or "")
            opaque[lane.id] = str(row[0])
        if pack is not None and real_lanes:
            raise DocumentError(f"{sp}.lanes", "mixes this comparison's own lanes with a rating pack's")
        present = {
            turn.id
            for turn in session.turns
            if con.execute("SELECT 1 FROM turns WHERE id = ?", (turn.id,)).fetchone() is not None
        }
        judged = [
            (place, rater, name) for place, rater, name in _judgements(index, session) if place[1] in present
        ]
        if judged and pack is None and not real_lanes:
            place = judged[0][0][0]
            raise DocumentError(
                place, "is on a comparison whose lanes this file doesn't name: it can't be merged"
            )
        if pack is not None and judged:
            self._bind_pack(con, pack, judged, owner)

        def real(lane_id: str, place: str) -> str:
            if lane_id in (opaque if pack is not None else here):
                return opaque.get(lane_id, lane_id)
            raise DocumentError(place, f"names a lane this comparison doesn't have ({lane_id[:40]!r})")

        for k, turn in enumerate(session.turns):
            tp = f"{sp}.turns[{k}]"
            row = con.execute("SELECT session_id FROM turns WHERE id = ?", (turn.id,)).fetchone()
            if row is None:
                continue  # a turn this database doesn't have: a merge adds judgements only
            if row[0] != session.id:
                raise DocumentError(
                    f"{tp}.id", f"turn id {turn.id!r} already belongs to another session ({row[0]})"
                )
            for v, vote in enumerate(turn.votes):
                vp = f"{tp}.votes[{v}]"
                if vote.repeat and not self._shows_repeats(con, session):
                    raise DocumentError(
                        f"{vp}.repeat", "is a hidden repeat, but this comparison's study shows none"
                    )
                mapped = Vote(
                    choice=vote.choice if vote.choice in VOTE_CHOICES else real(vote.choice, f"{vp}.choice"),
                    guessed=None
                    if vote.guessed is None
                    else [real(g, f"{vp}.guess_reasoners[{n}]") for n, g in enumerate(vote.guessed)],
                    rater=vote.rater,
                    voted_at=vote.voted_at,
                    shown_order=None
                    if vote.shown_order is None
                    else [real(g, f"{vp}.shown_order[{n}]") for n, g in enumerate(vote.shown_order)],
                    seconds_to_vote=vote.seconds_to_vote,
                    repeat=vote.repeat,
                    sighted=vote.sighted,
                    rater_name=vote.rater_name,
                )
                have = con.execute(
                    "SELECT choice, guessed FROM votes WHERE turn_id = ? AND rater = ? AND repeat = ?",
                    (turn.id, vote.rater, int(vote.repeat)),
                ).fetchone()
                if have is not None:
                    guessed = _guessed(have[1])
                    same = have[0] == mapped.choice and (
                        (guessed is None) == (mapped.guessed is None)
                        and set(guessed or []) == set(mapped.guessed or [])
                    )
                    if not same:
                        raise DocumentError(
                            vp,
                            f"conflicts with the vote rater {_shown(vote)!r} already has on this comparison",
                        )
                    continue
                if owner is not None and vote.rater == owner:
                    raise DocumentError(f"{vp}.rater_id", _OWNER)
                self._write_vote(con, turn.id, mapped)
                self._name_rater(con, vote.rater, vote.rater_name)
                result.votes += 1
            for m, resp in enumerate(turn.responses.values()):
                for n, rating in enumerate(resp.ratings):
                    rp = f"{tp}.responses[{m}].ratings[{n}]"
                    lane_id = real(resp.lane_id, f"{tp}.responses[{m}].lane_id")
                    have = con.execute(
                        "SELECT score, note FROM ratings WHERE turn_id = ? AND lane_id = ? AND rater = ?",
                        (turn.id, lane_id, rating.rater),
                    ).fetchone()
                    if have is not None:
                        if (have[0], have[1]) != (rating.score, rating.note):
                            raise DocumentError(
                                rp,
                                f"conflicts with the rating rater {_shown(rating)!r} already gave this answer",
                            )
                        continue
                    if owner is not None and rating.rater == owner:
                        raise DocumentError(f"{rp}.rater_id", _OWNER)
                    self._write_rating(con, turn.id, lane_id, rating)
                    self._name_rater(con, rating.rater, rating.rater_name)
                    result.ratings += 1

    @staticmethod
    def _shows_repeats(con: sqlite3.Connection, session: Session) -> bool:
        """Whether this comparison's study puts hidden repeats in a rater's queue (a
        comparison of no study: a marked turn, whose queue has none either)."""
        if session.study is None:
            return False
        row = con.execute("SELECT suite, extra FROM studies WHERE id = ?", (session.study.id,)).fetchone()
        if row is None:
            return bool(session.study.repeats)
        return bool(Store._design(None, row[0], row[1]).get("repeats"))

    @staticmethod
    def _bind_pack(
        con: sqlite3.Connection, pack: str, judged: list[tuple[tuple[str, str], str, str]], owner: str | None
    ) -> None:
        """A rating pack's votes are one rater's: the first votes file for a pack binds it
        to its rater id; a second rater, or the owner's own id, is refused by its place."""
        (first_place, _), rater, name = judged[0]
        if rater.startswith(DERIVED):
            raise DocumentError(
                f"{first_place}.rater_id",
                "is made from a name: a rating pack's votes come back under the rater's own chatlab id",
            )
        for (place, _), other, _ in judged[1:]:
            if other != rater:
                raise DocumentError(
                    f"{place}.rater_id",
                    f"is a second rater in a rating pack's votes (the first is at {first_place}): "
                    "a pack comes back with one person's votes",
                )
        if owner is not None and rater == owner:
            raise DocumentError(
                f"{first_place}.rater_id",
                "is this chatlab's own rater id: a rating pack's votes come from someone else",
            )
        row = con.execute("SELECT rater FROM packs WHERE id = ?", (pack,)).fetchone()
        bound = row[0] if row is not None else None
        if bound is not None and bound != rater:
            who = con.execute("SELECT name FROM raters WHERE id = ?", (bound,)).fetchone()
            label = who[0] if who is not None else name_of_id(str(bound))
            raise DocumentError(
                f"{first_place}.rater_id",
                f"is not the rater this rating pack's votes came from before ({label!r}): "
                "a pack comes back with one person's votes",
            )
        if bound is None:
            con.execute(
                "INSERT INTO packs (id, created_at, rater) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET rater = excluded.rater",
                (pack, utc_now(), rater),
            )
        Store._name_rater(con, rater, name)

    @staticmethod
    def _name_rater(con: sqlite3.Connection, rater: str, name: str) -> None:
        """Keep the display name of a rater first seen in an import (never changes one).
        An id made from a name goes by that name, whatever a file says."""
        shown = name_of_id(rater) if rater.startswith(DERIVED) else name
        con.execute("INSERT OR IGNORE INTO raters (id, name) VALUES (?, ?)", (rater, clean_text(shown)))

    def _name_raters(self, con: sqlite3.Connection, session: Session) -> None:
        for _, rater, name in _judgements(0, session):
            self._name_rater(con, rater, name)

    # -- raters ----------------------------------------------------------------------------------

    def claim_rater(self, rater: Rater, legacy: Sequence[str]) -> int:
        """Once per database, when this installation's rater id is first used here: keep
        its name, and move the owner's own votes and ratings from before rater ids (the
        ids ``legacy``, see :func:`chatlab.core.settings.raters.legacy_ids`) to it, in one
        transaction; returns how many moved. Where the owner voted on one comparison both
        in the window and in the queue, the first stays (one vote per rater). Votes
        imported before under the same names can't be told apart, and move too. Called
        again, it only keeps the rater's name up to date."""
        if self.readonly:
            return 0
        known = self.con.execute("SELECT name FROM raters WHERE id = ?", (rater.id,)).fetchone()
        if known is not None and known[0] == rater.name:
            return 0
        with self.transaction() as con:
            if con.execute("SELECT 1 FROM raters WHERE id = ?", (rater.id,)).fetchone():
                con.execute("UPDATE raters SET name = ? WHERE id = ?", (rater.name, rater.id))
                return 0  # claimed before: only its name changed
            if con.execute(
                f"SELECT 1 FROM raters WHERE substr(id, 1, {len(DERIVED)}) != ?", (DERIVED,)
            ).fetchone():
                # An installation id was here before (this one's, from a config since lost, or
                # any imported after it: an import makes this installation's id first): the
                # votes from before rater ids were claimed then. Claiming again would take
                # a colleague's nameless votes imported since.
                con.execute("INSERT INTO raters (id, name) VALUES (?, ?)", (rater.id, rater.name))
                return 0
            moved = 0
            marks = ", ".join("?" * len(legacy))
            for table in ("votes", "ratings"):
                moved += con.execute(
                    f"UPDATE OR IGNORE {table} SET rater = ? WHERE rater IN ({marks})", (rater.id, *legacy)
                ).rowcount
            con.execute(
                f"DELETE FROM raters WHERE id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM votes v WHERE "
                "v.rater = raters.id) AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.rater = raters.id)",
                tuple(legacy),
            )
            con.execute("INSERT INTO raters (id, name) VALUES (?, ?)", (rater.id, rater.name))
        return moved

    def interactive_ids(self) -> set[str]:
        """Sessions that are not a study's comparisons (chats, ``ask``)."""
        return {r[0] for r in self.con.execute("SELECT id FROM sessions WHERE study_id IS NULL")}

    def sighted_turns(self, rater: str) -> set[str]:
        """The turns ``rater`` exported with their names (see :meth:`mark_sighted`)."""
        return {r[0] for r in self.con.execute("SELECT turn_id FROM sighted WHERE rater = ?", (rater,))}

    def mark_sighted(self, turn_ids: Iterable[str], rater: str) -> None:
        """These comparisons were exported with their names for ``rater``: the votes they
        cast on them from now on are sighted."""
        now = utc_now()
        with self.transaction() as con:
            con.executemany(
                "INSERT INTO sighted (turn_id, rater, marked_at) VALUES (?, ?, ?) "
                "ON CONFLICT(turn_id, rater) DO NOTHING",
                [(t, rater, now) for t in turn_ids],
            )

    # -- rating packs ----------------------------------------------------------------------------

    def remember_pack(
        self,
        mapping: dict[str, str],
        pack_id: str | None = None,
        study_id: str | None = None,
        created_at: str | None = None,
        for_name: str | None = None,
    ) -> None:
        """Keep a rating pack: which real lane each of its opaque lane ids stands for, its
        study, when it was made and whom for (its rater id comes with its first votes)."""
        now = created_at or utc_now()
        pack_id = pack_id or "pack:" + now
        with self.transaction() as con:
            con.execute(
                "INSERT OR IGNORE INTO packs (id, study_id, created_at, for_name) VALUES (?, ?, ?, ?)",
                (pack_id, study_id, now, for_name),
            )
            con.executemany(
                "INSERT OR IGNORE INTO pack_lanes (opaque, lane_id, created_at, pack_id) VALUES (?, ?, ?, ?)",
                [(k, v, now, pack_id) for k, v in mapping.items()],
            )

    def voted_ids(self, study_id: str | None = None) -> list[str]:
        """Sessions with at least one vote or rating (of one study, when given): what
        ``export --votes`` writes."""
        where = " AND s.study_id = ?" if study_id is not None else ""
        return [
            r[0]
            for r in self.con.execute(
                "SELECT s.id FROM sessions s WHERE (EXISTS (SELECT 1 FROM turns t JOIN votes v ON v.turn_id = t.id "
                "WHERE t.session_id = s.id) OR EXISTS (SELECT 1 FROM turns t JOIN ratings r ON r.turn_id = t.id "
                f"WHERE t.session_id = s.id)){where} ORDER BY s.created_at, s.rowid",
                (study_id,) if study_id is not None else (),
            )
        ]

    @staticmethod
    def _check_study(con: sqlite3.Connection, index: int, session: Session) -> None:
        """A comparison imported into a study: only into one that came from elsewhere (a
        study run here is exactly the comparisons it made; a file can't add work to it,
        or prompts and models of a stranger's choosing would be sent on resume), and
        never a second time for the same prompt and sample."""
        study = session.study
        if study is None:
            return
        row = con.execute("SELECT status FROM studies WHERE id = ?", (study.id,)).fetchone()
        if row is not None and row[0] != "imported":
            raise DocumentError(
                f"sessions[{index}].study.id", "names a study run in this chatlab: a file can't add to it"
            )
        taken = con.execute(
            "SELECT id FROM sessions WHERE study_id = ? AND study_prompt = ? AND study_sample = ?",
            (study.id, study.prompt_id, study.sample),
        ).fetchone()
        if taken is not None:
            raise DocumentError(
                f"sessions[{index}].study",
                f"this study already has that comparison (prompt {study.prompt_id!r}, sample "
                f"{study.sample}) as session {taken[0]}",
            )

    @staticmethod
    def _check_collisions(con: sqlite3.Connection, index: int, session: Session) -> None:
        for table, kind, ids in (
            ("lanes", "lane", [lane.id for lane in session.lanes]),
            ("turns", "turn", [turn.id for turn in session.turns]),
        ):
            for j, row_id in enumerate(ids):
                row = con.execute(f"SELECT session_id FROM {table} WHERE id = ?", (row_id,)).fetchone()
                if row is not None and row[0] != session.id:
                    raise DocumentError(
                        f"sessions[{index}].{table}[{j}].id",
                        f"{kind} id {row_id!r} already belongs to another session ({row[0]})",
                    )


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_OWNER = (
    "claims this chatlab's own rater id: votes under it are cast here, "
    "and a file can only bring back ones already here"
)


def _shown(judgement: Vote | Rating) -> str:
    return judgement.rater_name or name_of_id(judgement.rater) or judgement.rater


def _judgements(index: int, session: Session) -> list[tuple[tuple[str, str], str, str]]:
    """Every vote and rating of a session as a document has it: ((its place, its turn's
    id), its rater id, its rater's name), in the document's order."""
    out: list[tuple[tuple[str, str], str, str]] = []
    for k, turn in enumerate(session.turns):
        tp = f"sessions[{index}].turns[{k}]"
        out += [
            ((f"{tp}.votes[{v}]", turn.id), vote.rater, vote.rater_name) for v, vote in enumerate(turn.votes)
        ]
        out += [
            ((f"{tp}.responses[{m}].ratings[{n}]", turn.id), rating.rater, rating.rater_name)
            for m, resp in enumerate(turn.responses.values())
            for n, rating in enumerate(resp.ratings)
        ]
    return out


def _backup(con: sqlite3.Connection, path: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
    dest = sqlite3.connect(target)
    try:
        con.backup(dest)
    finally:
        dest.close()
    return target


def _migrate(con: sqlite3.Connection, version: int) -> None:
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


def default_path() -> Path:
    from chatlab.core.settings.config import paths

    return paths().data_dir / "chatlab.db"
