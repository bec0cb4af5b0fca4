"""The full-text search over prompts and answers (SQLite's FTS5), and keeping it current.

Tables: ``search`` (migration 2 -> 3), an FTS5 table with one row per prompt and per
finished answer, and ``search_map`` (3 -> 4), from (turn, lane, kind) to that row: FTS5
does not index its UNINDEXED columns, so without it finding a response's row meant
scanning the whole index. Who keeps it: sessions.py indexes a turn's prompt when the turn
is first written and an answer when it finishes, and unindexes a deleted session;
studies.py indexes a new study's prompts in bulk (``_write_new``); merge.py unindexes the
answers a newer rating pack replaces; db.py indexes what crash recovery kept.

The index holds what was written, Markdown and all; :func:`plain_snippet` turns a hit's
snippet into the plain words a reader saw, keeping the marks around the matches (marks an
answer's own \x02 and \x03 can't fake), its overlong runs cut first so that no answer
makes it slow.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass

from chatlab.core.data.safety import clean_text
from chatlab.store.connection import Database

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_MARKS = "\x02\x03"  # where a snippet's matches start and end
MAX_TERMS = 16  # words of a search that are looked for (each once)
_OWN_MARKS = re.compile("[\x02\x03]")

# Markdown, as much of it as a snippet (a dozen words cut from anywhere) can hold.
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*")
_RULE = re.compile(r"^[\s\x02\x03]*([-*_=|:][\s\x02\x03]*){3,}$")
_LINE_START = re.compile(r"^\s*(?:(?:>\s?)+|#{1,6}\s+|(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?)+")
_HEADING_END = re.compile(r"\s+#+\s*$")
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_REFERENCE = re.compile(r"!?\[([^\]\n]+)\]\[[^\]\n]*\]")
_LINK_TAIL = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*\)?")  # the end of a link cut at its start
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_STARS = re.compile(r"(\*{1,3})(?=[^\s*])(.+?)(?<=[^\s*])\1")
_UNDERSCORES = re.compile(r"(?<![^\W_])(_{1,3})(?=[^\s_])(.+?)(?<=[^\s_])\1(?![^\W_])")
_LEFTOVER = re.compile(r"\*{2,}|~~|(?<![^\W_])_{2,}|(?<=\s)[*_](?=\S)|(?<=\S)[*_](?=\s|$)|`")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


LONG_RUN = 100  # characters of one word, or of one stretch between words, a snippet keeps
# A word (letters and digits), or a stretch of anything else but the match marks, longer
# than LONG_RUN: a snippet is a dozen words, but FTS5 keeps whole words and whole gaps.
_RUN = re.compile(rf"[^\W_]{{{LONG_RUN + 1},}}|(?:[^\w\x02\x03]|_){{{LONG_RUN + 1},}}")


def _cut(m: re.Match[str]) -> str:
    run = m.group()
    return run[:LONG_RUN] + "…" if run[0].isalnum() else run[:LONG_RUN]


def plain_snippet(snippet: str) -> str:
    """A search snippet as one line of plain text: headings, quotes, list marks, rules,
    fences, emphasis, inline code, links (their text stays), images (their alt text) and
    HTML tags taken out, escapes undone, control characters and line breaks made spaces.
    The \\x02…\\x03 marks around the matches are kept. A run of more than
    :data:`LONG_RUN` characters without a space or one made of nothing but punctuation
    (``[[[[…``, 100,000 of them: the patterns below took minutes) is cut first."""
    text = _RUN.sub(_cut, snippet)
    text = _ESCAPED.sub(lambda m: chr(0xF0000 + ord(m.group(1))), text)
    lines = []
    for line in text.splitlines():
        if _RULE.match(line):
            continue  # a rule, or a table's header line
        line = _FENCE.sub("", line)
        line = _LINE_START.sub("", line)
        line = _HEADING_END.sub("", line)
        if line.strip().startswith("|") or line.strip().endswith("|"):
            line = " · ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
        lines.append(line)
    text = " ".join(lines)
    text = _IMAGE_OR_LINK.sub(r"\1", text)
    text = _REFERENCE.sub(r"\1", text)
    text = _LINK_TAIL.sub("", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    for _ in range(2):  # ***both*** and **_nested_** ones
        text = _STARS.sub(r"\2", text)
        text = _UNDERSCORES.sub(r"\2", text)
    text = _LEFTOVER.sub("", text)
    text = "".join(
        chr(ord(ch) - 0xF0000) if ord(ch) >= 0xF0000 and ord(ch) - 0xF0000 < 128 else ch for ch in text
    )
    text = "".join(ch if ch in _MARKS or not _CONTROLS.match(ch) else " " for ch in text)
    text = _SPACES.sub(" ", text).strip()
    return text.replace("\x02\x03", "")


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
        included) split terms, invalid Unicode is replaced, and each term is quoted; a
        word said twice is looked for once, and only the first :data:`MAX_TERMS` words.
        """
        limit = max(1, min(int(limit), 10_000))
        words = _CONTROLS.sub(" ", clean_text(query)).split()
        # Each word once, and at most MAX_TERMS of them: FTS5's snippet costs the square of
        # the matches it weighs, and a pasted paragraph repeats its common words (eight
        # "lorem ipsum" took 79 s where one took 1.4 s).
        once: dict[str, str] = {}
        for word in words:
            once.setdefault(word.casefold(), word)
        words = list(once.values())[:MAX_TERMS]
        terms = " ".join('"' + t.replace('"', '""') + '"' for t in words)
        if not terms:
            return []
        # The marks are asked for with a secret in them, then made \x02 and \x03: an
        # answer's own \x02 or \x03 (model output is untrusted) must not mark a match.
        nonce = secrets.token_hex(8)
        start, end = f"\ufdd0{nonce}<", f">{nonce}\ufdd0"
        try:
            rows = self.con.execute(
                "SELECT session_id, turn_id, lane_id, kind, snippet(search, 4, ?, ?, '…', 12) "
                "FROM search WHERE search MATCH ? ORDER BY rank LIMIT ?",
                (start, end, f"body : ({terms})", limit),
            ).fetchall()
        except sqlite3.Error:
            return []
        return [
            SearchHit(
                r[0], r[1], r[2], r[3], _OWN_MARKS.sub(" ", r[4]).replace(start, "\x02").replace(end, "\x03")
            )
            for r in rows
        ]
