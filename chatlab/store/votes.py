"""Votes, ratings and raters: how a judgement is stored.

Tables (their SQL: :mod:`chatlab.store.migrations`, and schema.sql for the result):

* ``votes``: one row per (turn, rater, repeat), ``repeat`` being a hidden repeat's own
  vote. The choice (a lane id, ``tie`` or ``all_bad``), the lanes guessed to have
  reasoned (a JSON list; NULL: no guess), the order the rater saw the answers in, when,
  how long it took, and whether it was sighted (cast with the models' names showing).
  Made by migration 1 -> 2; ``guessed`` 6 -> 7; rebuilt with today's key 8 -> 9; its
  ``rater`` an id 12 -> 13; ``sighted`` 13 -> 14.
* ``ratings``: one row per (turn, lane, rater): a score from 1 to 5, a note, or both
  (1 -> 2, rebuilt 8 -> 9).
* ``raters``: each rater id's display name (12 -> 13).
* ``sighted``: the comparisons a rater exported unblinded; their votes there after that
  are sighted (13 -> 14).
* ``turns.to_rate``: a turn of an ordinary session marked for the blind rating queue
  (10 -> 11).

Every vote and rating is written by ``_write_vote`` and ``_write_rating``, from these
paths: :meth:`VoteRows.vote`, :meth:`~VoteRows.judge` (a vote and its ratings at once),
:meth:`~VoteRows.rate`, :meth:`~VoteRows.unvote` (a rating queue's undo: deletes, and
puts back the ratings it replaced); saving a session writes the votes and ratings it
holds (sessions.py); an import merges in other raters' votes, a rating pack's mapped
onto the real lanes (merge.py). :meth:`~VoteRows.claim_rater` moves the owner's votes
from before rater ids to their id. Reading: votes and ratings are loaded with their
session (``SessionRows._load_where``); the marked turns are ``SessionRows.marked_turns``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from chatlab.core.data.safety import clean_text
from chatlab.core.data.stamps import utc_now
from chatlab.core.data.votes import DERIVED, Rating, Vote, name_of_id
from chatlab.core.settings.raters import Rater
from chatlab.store.columns import dumps
from chatlab.store.connection import Database


class VoteRows(Database):
    """Writing judgements: votes, ratings, raters' names and sighted marks."""

    def _write_vote(self, con: sqlite3.Connection, turn_id: str, vote: Vote) -> None:
        # A vote is sighted when cast with the names showing (the caller says so), or cast
        # by a rater on a comparison they exported unblinded, after they did.
        con.execute(
            "INSERT INTO votes (turn_id, rater, repeat, choice, guessed, shown_order, voted_at, seconds_to_vote, "
            "sighted, judgement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ? OR EXISTS (SELECT 1 FROM sighted m WHERE "
            "m.turn_id = ? AND m.rater = ? AND m.marked_at <= ?), ?) ON CONFLICT(turn_id, rater, repeat) DO UPDATE "
            "SET choice = excluded.choice, guessed = excluded.guessed, shown_order = excluded.shown_order, "
            "voted_at = excluded.voted_at, seconds_to_vote = excluded.seconds_to_vote, sighted = excluded.sighted, "
            "judgement = excluded.judgement",
            (
                turn_id,
                vote.rater,
                int(vote.repeat),
                vote.choice,
                dumps(vote.guessed),
                dumps(vote.shown_order),
                vote.voted_at,
                vote.seconds_to_vote,
                int(vote.sighted),
                turn_id,
                vote.rater,
                vote.voted_at,
                dumps(vote.judgement),
            ),
        )
        vote.sighted = bool(
            con.execute(
                "SELECT sighted FROM votes WHERE turn_id = ? AND rater = ? AND repeat = ?",
                (turn_id, vote.rater, int(vote.repeat)),
            ).fetchone()[0]
        )

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

    def vote(self, turn_id: str, vote: Vote) -> None:
        with self.transaction() as con:
            self._write_vote(con, turn_id, vote)

    def judge(self, turn_id: str, vote: Vote, ratings: Sequence[tuple[str, Rating]] = ()) -> None:
        """A vote and the ratings given with it, in one transaction (all or nothing)."""
        with self.transaction() as con:
            self._write_vote(con, turn_id, vote)
            for lane_id, rating in ratings:
                self._write_rating(con, turn_id, lane_id, rating)

    def rate(self, turn_id: str, lane_id: str, rating: Rating) -> None:
        with self.transaction() as con:
            self._write_rating(con, turn_id, lane_id, rating)

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

    def mark_to_rate(self, turn_id: str, marked: bool = True) -> None:
        """Put a turn into (or take it out of) the blind rating queue of marked turns."""
        with self.transaction() as con:
            con.execute("UPDATE turns SET to_rate = ? WHERE id = ?", (int(marked), turn_id))

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

    def sighted_turns(self, rater: str) -> set[str]:
        """The turns ``rater`` exported with their names (see :meth:`mark_sighted`)."""
        return {r[0] for r in self.con.execute("SELECT turn_id FROM sighted WHERE rater = ?", (rater,))}

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

    @staticmethod
    def _name_rater(con: sqlite3.Connection, rater: str, name: str) -> None:
        """Keep the display name of a rater first seen in an import (never changes one).
        An id made from a name goes by that name, whatever a file says."""
        shown = name_of_id(rater) if rater.startswith(DERIVED) else name
        con.execute("INSERT OR IGNORE INTO raters (id, name) VALUES (?, ?)", (rater, clean_text(shown)))
