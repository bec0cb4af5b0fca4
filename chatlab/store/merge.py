"""Imports: sessions from a document, other raters' judgements merged into sessions
already here, a newer rating pack's answers, and rating packs bound to their rater.

:meth:`MergeRows.import_document` is one transaction, and writes nothing when it refuses
a document. A session not here yet is written whole (sessions.py); into one already here
only votes and ratings of raters not yet there are merged (written by votes.py), those
of a rating pack mapped from its opaque lanes onto the real ones. The checks that refuse
a document, each naming the place in it (:class:`~chatlab.core.data.export.DocumentError`),
are all here: a lane or turn id of another session (``_check_collisions``), a comparison
added to a study run here (``_check_study``), a vote or rating conflicting with the one
stored, the owner's own rater id, and a pack's votes from a second rater (``_bind_pack``).

Tables: ``pack_lanes`` (migration 9 -> 10), which real lane each pack's opaque lane id
stands for, and ``packs`` (13 -> 14): each pack's study, date, whom it was made for and
the rater its votes are bound to.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatlab.core.data.export import DocumentError
from chatlab.core.data.model import Session
from chatlab.core.data.stamps import utc_now
from chatlab.core.data.votes import DERIVED, VOTE_CHOICES, Rating, Vote, name_of_id
from chatlab.core.judging.checks import judgement_problem
from chatlab.store.columns import lane_ids
from chatlab.store.sessions import SessionRows
from chatlab.store.votes import VoteRows

_OWNER = (
    "claims this chatlab's own rater id: votes under it are cast here, "
    "and a file can only bring back ones already here"
)


@dataclass
class ImportResult:
    added: int = 0  # sessions
    votes: int = 0  # merged into sessions already present
    ratings: int = 0
    # A newer rating pack of a study imported before (see Store.import_document):
    updated: int = 0  # comparisons whose answers were replaced by the newer pack's
    kept: int = 0  # comparisons left as they were because they have votes or ratings
    older: int = 0  # comparisons left as they were because this pack is older than one before


class MergeRows(SessionRows):
    """Importing documents and rating packs into the store."""

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
                _check_judge_votes(i, session)
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
                    judgement=None
                    if vote.judgement is None
                    else _mapped_judgement(vote.judgement, real, f"{vp}.judgement"),
                )
                have = con.execute(
                    "SELECT choice, guessed FROM votes WHERE turn_id = ? AND rater = ? AND repeat = ?",
                    (turn.id, vote.rater, int(vote.repeat)),
                ).fetchone()
                if have is not None:
                    guessed = lane_ids(have[1])
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
        return bool(SessionRows._design(None, row[0], row[1]).get("repeats"))

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
        VoteRows._name_rater(con, rater, name)

    def _name_raters(self, con: sqlite3.Connection, session: Session) -> None:
        for _, rater, name in _judgements(0, session):
            self._name_rater(con, rater, name)

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


def _mapped_judgement(judgement: dict[str, Any], real: Callable[[str, str], str], jp: str) -> dict[str, Any]:
    """A judge vote's judgement with its lane ids (the orders seen, the scores' keys) put
    onto this database's lanes, as its choice is (a pack's opaque ids become the real ones)."""
    out = dict(judgement)
    out["orders"] = [
        [real(lane, f"{jp}.orders[{k}][{n}]") for n, lane in enumerate(order)]
        for k, order in enumerate(judgement.get("orders", []))
    ]
    if isinstance(judgement.get("scores"), dict):
        out["scores"] = {
            real(lane, f"{jp}.scores.{lane[:40]}"): scores for lane, scores in judgement["scores"].items()
        }
    return out


def _check_judge_votes(index: int, session: Session) -> None:
    """Every judge vote of a session accounts for itself (:func:`judgement_problem`), and
    only a judge's vote carries a judgement: else the import is refused by its place."""
    lanes = {lane.id for lane in session.lanes}
    for k, turn in enumerate(session.turns):
        for v, vote in enumerate(turn.votes):
            problem = judgement_problem(vote.rater, vote.choice, vote.judgement, lanes)
            if problem is not None:
                raise DocumentError(f"sessions[{index}].turns[{k}].votes[{v}]{problem[0]}", problem[1])
