"""Studies: making one with all its comparisons, its status, budget, progress and spend.

Table ``studies`` (migration 7 -> 8): a unique name, a snapshot of its suite, a status
(``imported`` for one that came with a file: a file can only add comparisons to such a
one), its reveal policy, and an ``extra`` JSON object (the pid of the process running
it, an imported study's share of hidden repeats, the date of the newest rating pack
imported for it). Each comparison is a session whose ``study_id``, ``study_prompt`` and
``study_sample`` say which; a unique index on them makes a comparison impossible to
create twice. Progress and spend are counted in SQL (``_STUDY_ROW``), a unit's state
with the same definition as in Python (``chatlab_unit_state``, see connection.py).

Comparisons are written and read through sessions.py, which also keeps the link to a
study (its free name for an imported one, its rating design); a new study's
comparisons are written here in bulk (``_write_new``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from chatlab.core.data.model import LaneParams, Response, Session, Turn
from chatlab.core.data.safety import clean_text
from chatlab.core.data.stamps import utc_now
from chatlab.core.studies.estimate import History
from chatlab.core.studies.study import StudyInfo
from chatlab.store.columns import as_text, dumps, json_object
from chatlab.store.connection import StoreError
from chatlab.store.sessions import SessionRows


class StudyRows(SessionRows):
    """Studies; their comparisons are sessions (:class:`SessionRows`)."""

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
                (study_id, free, dumps(suite), now, now, reveal),
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
            "study_tags, show_reasoning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    dumps(list(s.study.tags)) if s.study else None,
                    int(s.show_reasoning),
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
                    dumps(lane.params.to_dict()),
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
                    dumps(turn.shown_order),
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

    def save_grades(
        self,
        study_id: str,
        answers: dict[str, Any] | None,
        items: Sequence[tuple[Session, Turn, Response]],
    ) -> None:
        """Answers graded again, and (``answers``: prompt id -> answer table, or None for
        no key) the keys that graded them written into the study's suite snapshot: one
        transaction, so the keys kept and the grades kept always agree."""
        with self.transaction() as con:
            if answers is not None:
                row = con.execute("SELECT suite FROM studies WHERE id = ?", (study_id,)).fetchone()
                suite = json_object(row[0]) if row else {}
                for prompt in suite.get("prompts") or []:
                    if isinstance(prompt, dict) and prompt.get("id") in answers:
                        key = answers[prompt["id"]]
                        if key is None:
                            prompt.pop("answer", None)
                        else:
                            prompt["answer"] = key
                            prompt["verifiable"] = True
                if suite:
                    con.execute(
                        "UPDATE studies SET suite = ?, updated_at = ? WHERE id = ?",
                        (dumps(suite), utc_now(), study_id),
                    )
            for session, turn, resp in items:
                self._write_response(con, session.id, turn.id, resp, final=resp.status.finished)

    def set_study_status(self, study_id: str, status: str, pid: int | None = None) -> None:
        """``status``; ``pid``: the process that runs it now (a study left "running" by a
        process that no longer exists was killed, and can be resumed)."""
        with self.transaction() as con:
            con.execute(
                "UPDATE studies SET status = ?, updated_at = ?, extra = json_set(CASE WHEN json_valid(extra) "
                "THEN extra ELSE '{}' END, '$.pid', ?) WHERE id = ?",
                (status, utc_now(), pid, study_id),
            )

    def claim_study(self, study_id: str, pid: int, alive: Callable[[int], bool]) -> int | None:
        """Mark the study as run by process ``pid``, unless another live process runs it:
        then return that process's id and change nothing. One transaction, so two
        resumes at once can't both claim it."""
        with self.transaction() as con:
            row = con.execute("SELECT status, extra FROM studies WHERE id = ?", (study_id,)).fetchone()
            if row is None:
                raise KeyError(study_id)
            other = json_object(row[1]).get("pid")
            if row[0] == "running" and type(other) is int and other != pid and alive(other):
                return int(other)
            con.execute(
                "UPDATE studies SET status = 'running', updated_at = ?, extra = json_set(CASE WHEN "
                "json_valid(extra) THEN extra ELSE '{}' END, '$.pid', ?) WHERE id = ?",
                (utc_now(), pid, study_id),
            )
        return None

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
        suite = json_object(r[4])
        extra = json_object(r[6])
        counts = json_object(r[9])
        pid = extra.get("pid")
        repeats = extra.get("repeats")
        if "repeats" not in suite and isinstance(repeats, int | float) and 0 <= repeats <= 0.5:
            suite = {**suite, "repeats": repeats} if suite else {"repeats": repeats}
        return StudyInfo(
            id=r[0],
            name=as_text(r[1]),
            created_at=as_text(r[2]),
            status=as_text(r[3]),
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
                if r[0].startswith(key) or as_text(r[1]).casefold().startswith(folded)
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
                those = json_object(text)
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
