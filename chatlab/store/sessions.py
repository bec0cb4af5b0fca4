"""Sessions as rows: a whole session written and read back, its lanes, turns and
responses, and streaming responses written in batches.

Tables: ``sessions``, ``lanes``, ``turns`` and ``responses`` (migration 0 -> 1), with
later columns: a blind session and each turn's shown order (1 -> 2), a response's
``extra`` notes and retries (4 -> 5), retired lanes (5 -> 6), a session's study
(7 -> 8), a turn marked to rate (10 -> 11), the placebo lane (11 -> 12) and a blind
session that shows reasoning (14 -> 15). Saving is
idempotent; a lane removed from a session is retired, never deleted, so its answers
stay. Streaming answers are written by :meth:`SessionRows.checkpoint_many`, which
:class:`~chatlab.store.checkpoint.Checkpointer` calls about once a second.

A session is read back with one query per table for any number of sessions
(``_load_where``), with its votes and ratings (written by votes.py) and, for a study's
comparison, its study's name and rating design. That link to a study is kept here: an
imported comparison brings its study's row along under a free name (``_free_name``), and
``_design`` reads a study's rating design. Studies themselves: studies.py; the search
index: search.py; imports: merge.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chatlab.core.data.export import session_from_dict
from chatlab.core.data.model import Response, Session, Turn
from chatlab.core.data.safety import clean_text
from chatlab.core.data.stamps import utc_now
from chatlab.core.data.votes import name_of_id
from chatlab.store.columns import as_text, dumps, json_object, lane_ids, loads
from chatlab.store.connection import CHECKPOINT_BUSY_S, StoreError
from chatlab.store.search import SearchRows
from chatlab.store.votes import VoteRows

MAX_STUDY_NAME = 200  # what the session document allows


@dataclass(frozen=True)
class SessionSummary:
    id: str
    title: str
    created_at: str
    updated_at: str
    lanes: int
    turns: int
    blind: bool
    study_id: str | None = None  # a study's comparison: the history groups them under it
    study_name: str = ""


class SessionRows(SearchRows, VoteRows):
    """Writing and reading sessions; built on the search index and the judgement writes."""

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
                    dumps({"repeats": study.repeats} if study.repeats else {}),
                ),
            )
        con.execute(
            "INSERT INTO sessions (id, title, created_at, updated_at, blind, study_id, study_prompt, study_sample, "
            "study_tags, show_reasoning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at, "
            "blind = excluded.blind, show_reasoning = excluded.show_reasoning",
            (
                session.id,
                clean_text(session.title),
                session.created_at,
                now,
                int(session.blind),
                study.id if study else None,
                study.prompt_id if study else None,
                study.sample if study else None,
                dumps(list(study.tags)) if study else None,
                int(session.show_reasoning),
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
                    dumps(lane.params.to_dict()),
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
                    dumps(turn.shown_order),
                    int(turn.to_rate),
                ),
            ).rowcount
            if new:
                self._index(con, session.id, turn.id, "", "prompt", clean_text(turn.prompt))
            else:
                con.execute(
                    "UPDATE turns SET position = ?, shown_order = ?, to_rate = ? WHERE id = ? AND session_id = ?",
                    (position, dumps(turn.shown_order), int(turn.to_rate), turn.id, session.id),
                )
            for resp in turn.responses.values():
                self._write_response(con, session.id, turn.id, resp, final=resp.status.finished)
            for vote in turn.votes:
                self._write_vote(con, turn.id, vote)

    def _write_response(
        self, con: sqlite3.Connection, session_id: str, turn_id: str, resp: Response, final: bool
    ) -> None:
        d = resp.to_dict()
        extra = {k: d[k] for k in ("notes", "retries", "grades") if d.get(k)}
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
                dumps(d["error"]),
                dumps(d["usage"]),
                d["cost_usd"],
                d["cost_source"],
                dumps(d["price"]),
                dumps(d["timing"]),
                d["finish_reason"],
                utc_now(),
                dumps(extra),
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

    def rename(self, session_id: str, title: str) -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?", (title, utc_now(), session_id)
            )

    def delete(self, session_id: str) -> None:
        with self.transaction() as con:
            self._unindex_session(con, session_id)
            con.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def sessions(self) -> list[SessionSummary]:
        """Every session, the most recently changed first, with its study (if any)."""
        rows = self.con.execute(
            "SELECT s.id, s.title, s.created_at, s.updated_at, s.blind, "
            "(SELECT COUNT(*) FROM lanes l WHERE l.session_id = s.id AND l.retired = 0), "
            "(SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id), s.study_id, st.name "
            "FROM sessions s LEFT JOIN studies st ON st.id = s.study_id "
            "ORDER BY s.updated_at DESC, s.created_at DESC, s.rowid DESC"  # ms ties: the later row first
        ).fetchall()
        return [
            SessionSummary(r[0], r[1], r[2], r[3], r[5], r[6], bool(r[4]), r[7], r[8] or r[7] or "")
            for r in rows
        ]

    def data_version(self) -> tuple[int, int]:
        """Changes to the database, cheaply: SQLite's ``data_version`` (it moves when
        another connection, another chatlab's included, commits) and this connection's
        own count of changed rows. Equal pairs: nothing was written in between."""
        version = self.con.execute("PRAGMA data_version").fetchone()[0]
        return int(version), self.con.total_changes

    def ids(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT id FROM sessions ORDER BY created_at")]

    def interactive_ids(self) -> set[str]:
        """Sessions that are not a study's comparisons (chats, ``ask``)."""
        return {r[0] for r in self.con.execute("SELECT id FROM sessions WHERE study_id IS NULL")}

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

    def load_many(self, session_ids: Iterable[str]) -> dict[str, Session]:
        """The sessions with these ids that exist and can be read back, in one query per
        table (the history's search hits are named from them)."""
        wanted = json.dumps(sorted(set(session_ids)))
        loaded = self._load_where("s.id IN (SELECT value FROM json_each(?))", (wanted,))
        return {sid: s for sid, s in loaded if isinstance(s, Session)}

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
                out.append(
                    Session(
                        lanes=lanes,
                        turns=[turn],
                        title=session.title,
                        id=session.id,
                        blind=True,
                        show_reasoning=session.show_reasoning,
                    )
                )
        return out

    def _load_where(self, where: str, args: tuple[Any, ...]) -> list[tuple[str, Session | StoreError]]:
        """The sessions ``where`` selects (a condition on ``sessions s``), in the order
        they were made, each read back or, when it can't be (edited or damaged outside
        chatlab), a :class:`StoreError` naming it. One query per table for them all, and a
        study's design read once, so loading a study of any size is linear in its rows."""
        chosen = f"SELECT s.id FROM sessions s WHERE {where}"
        rows = self.con.execute(
            "SELECT s.id, s.title, s.created_at, s.blind, s.study_id, st.name, s.study_prompt, s.study_sample, "
            f"s.study_tags, s.show_reasoning FROM sessions s LEFT JOIN studies st ON st.id = s.study_id WHERE {where} ORDER BY s.rowid",
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
            f"v.repeat, v.sighted, n.name, v.judgement FROM votes v LEFT JOIN raters n ON n.id = v.rater "
            f"WHERE v.turn_id IN ({in_turns}) ORDER BY v.rowid",
            args,
        ):
            try:
                vote = {
                    "choice": r[1],
                    "guessed": lane_ids(r[2]),
                    "rater_id": r[3],
                    "rater": r[9] if r[9] is not None else name_of_id(str(r[3])),
                    "voted_at": r[4],
                    "shown_order": lane_ids(r[5]),
                    "seconds_to_vote": r[6],
                    "repeat": bool(r[7]),
                    "sighted": bool(r[8]),
                }
                if r[10] is not None:
                    vote["judgement"] = json.loads(r[10])
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
                    "reasoning": as_text(r[3]),
                    "text": as_text(r[4]),
                    "refusal": bool(r[5]),
                    "hidden_reasoning": False,
                    "error": loads(r[6]),
                    "usage": loads(r[7]),
                    "cost_usd": r[8],
                    "cost_source": r[9],
                    "price": loads(r[10]),
                    "timing": loads(r[11]),
                    "finish_reason": r[12],
                    "ratings": ratings.get((r[0], r[1]), []),
                    **(loads(r[13]) or {}),
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
                its_lanes = [{**lane, "params": loads(lane["params"])} for lane in lanes.get(session_id, [])]
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
                            "shown_order": loads(t[3]),
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
                                "show_reasoning": bool(row[9]),
                                "lanes": its_lanes,
                                "turns": turns,
                                **(
                                    {
                                        "study": {
                                            "id": study_id,
                                            "name": row[5] or study_id,
                                            "prompt_id": row[6],
                                            "sample": row[7],
                                            "tags": loads(row[8]) or [],
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
        repeats = json_object(suite).get("repeats", json_object(extra).get("repeats"))
        if isinstance(repeats, int | float) and not isinstance(repeats, bool) and 0 < repeats <= 0.5:
            out["repeats"] = float(repeats)
        return out

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
