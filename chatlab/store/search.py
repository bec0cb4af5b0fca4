"""The full-text search over prompts and answers (SQLite's FTS5), and keeping it current.

Tables: ``search`` (migration 2 -> 3), an FTS5 table with one row per prompt and per
finished answer, and ``search_map`` (3 -> 4), from (turn, lane, kind) to that row: FTS5
does not index its UNINDEXED columns, so without it finding a response's row meant
scanning the whole index. Who keeps it: sessions.py indexes a turn's prompt when the turn
is first written and an answer when it finishes, and unindexes a deleted session;
studies.py indexes a new study's prompts in bulk (``_write_new``); merge.py unindexes the
answers a newer rating pack replaces; db.py indexes what crash recovery kept.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from chatlab.core.data.safety import clean_text
from chatlab.store.connection import Database

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SearchHit:
    session_id: str
    turn_id: str
    lane_id: str
    kind: str  # "prompt" | "answer"
    snippet: str  # with the matches between \x02 and \x03


class SearchRows(Database):
    """The search index: writing it (``_index``, ``_unindex``) and :meth:`search`."""

    @staticmethod
    def _index(
        con: sqlite3.Connection, session_id: str, turn_id: str, lane_id: str, kind: str, body: str
    ) -> None:
        """(Re)index one prompt or answer."""
        SearchRows._unindex(con, turn_id, lane_id, kind)
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

    @staticmethod
    def _unindex_session(con: sqlite3.Connection, session_id: str) -> None:
        """Take every prompt and answer of a session out of the index."""
        con.execute(
            "DELETE FROM search WHERE rowid IN (SELECT fts_rowid FROM search_map WHERE session_id = ?)",
            (session_id,),
        )
        con.execute("DELETE FROM search_map WHERE session_id = ?", (session_id,))

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
