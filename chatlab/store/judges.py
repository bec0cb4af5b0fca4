"""A judge model's calls and votes: how judging is stored (issue 23).

Table ``judge_calls`` (migration 15 -> 16): one row per (turn, judge rater, fingerprint of
the answers judged, order position), written the moment the call ends: the order seen
(lane ids by place), the verdict's text, the choice read from it (a letter, ``tie``) or
the problem (no verdict), the criterion scores by letter, usage and cost. A comparison's
vote is written in the same transaction as its last order's call, with its
``judgement`` (votes.judgement), so a run killed at any moment leaves either a call and
nothing else, or a call and its vote: never a vote without its calls, nor a spend
counted twice. Calls for answers since replaced stay on record (they were paid for).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chatlab.core.data.votes import Vote
from chatlab.core.judging.compose import Call
from chatlab.store.columns import dumps, json_object
from chatlab.store.votes import VoteRows


class JudgeRows(VoteRows):
    """Writing and reading a judge's calls; its votes are votes (votes.py)."""

    def save_judge_call(
        self, turn_id: str, rater: str, seen: str, call: Call, vote: Vote | None, last: bool
    ) -> None:
        """Keep one order's call; with the last order's, the comparison's outcome: its
        vote, or (no verdict) no vote, a stale one taken away. All in one transaction."""
        with self.transaction() as con:
            con.execute(
                "INSERT INTO judge_calls (turn_id, rater, seen, position, shown_order, raw, choice, problem, "
                "scores, usage, cost_usd, judged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(turn_id, rater, seen, position) DO UPDATE SET shown_order = excluded.shown_order, "
                "raw = excluded.raw, choice = excluded.choice, problem = excluded.problem, "
                "scores = excluded.scores, usage = excluded.usage, cost_usd = excluded.cost_usd, "
                "judged_at = excluded.judged_at",
                (
                    turn_id,
                    rater,
                    seen,
                    call.position,
                    dumps(list(call.order)),
                    call.raw,
                    call.choice,
                    call.problem,
                    dumps({k: dict(v) for k, v in call.scores.items()}),
                    dumps(dict(call.usage)),
                    call.cost_usd,
                    call.judged_at,
                ),
            )
            if not last:
                return
            if vote is None:
                con.execute(
                    "DELETE FROM votes WHERE turn_id = ? AND rater = ? AND repeat = 0", (turn_id, rater)
                )
            else:
                self._name_rater(con, vote.rater, vote.rater_name or vote.rater)
                self._write_vote(con, turn_id, vote)

    def claim_judging(self, study_id: str, rater: str, pid: int, alive: Callable[[int], bool]) -> int | None:
        """Mark ``rater`` as judging the study in process ``pid``, unless another live
        process is: then return its id and change nothing. One transaction, so two runs
        of one judge at once can't both claim it (each would pay for the same calls)."""
        with self.transaction() as con:
            row = con.execute("SELECT extra FROM studies WHERE id = ?", (study_id,)).fetchone()
            if row is None:
                raise KeyError(study_id)
            extra = json_object(row[0])
            found = extra.get("judging")
            judging: dict[str, Any] = found if isinstance(found, dict) else {}
            other = judging.get(rater)
            if type(other) is int and other != pid and alive(other):
                return int(other)
            extra["judging"] = {**judging, rater: pid}
            con.execute("UPDATE studies SET extra = ? WHERE id = ?", (dumps(extra), study_id))
        return None

    def release_judging(self, study_id: str, rater: str, pid: int) -> None:
        """Take back :meth:`claim_judging`'s mark (only this process's)."""
        with self.transaction() as con:
            row = con.execute("SELECT extra FROM studies WHERE id = ?", (study_id,)).fetchone()
            if row is None:
                return
            extra = json_object(row[0])
            judging = extra.get("judging")
            if isinstance(judging, dict) and judging.get(rater) == pid:
                extra["judging"] = {k: v for k, v in judging.items() if k != rater}
                con.execute("UPDATE studies SET extra = ? WHERE id = ?", (dumps(extra), study_id))

    def judge_calls(self, study_id: str, rater: str) -> dict[str, list[tuple[str, Call]]]:
        """The calls ``rater`` made on a study's comparisons, per turn id, each with the
        fingerprint of the answers it judged. A damaged row is left out (its order is
        sent again)."""
        out: dict[str, list[tuple[str, Call]]] = {}
        for r in self.con.execute(
            "SELECT c.turn_id, c.seen, c.position, c.shown_order, c.raw, c.choice, c.problem, c.scores, "
            "c.usage, c.cost_usd, c.judged_at FROM judge_calls c JOIN turns t ON t.id = c.turn_id "
            "JOIN sessions s ON s.id = t.session_id WHERE s.study_id = ? AND c.rater = ? "
            "ORDER BY c.turn_id, c.seen, c.position",
            (study_id, rater),
        ):
            try:
                call = Call(
                    int(r[2]),
                    tuple(str(x) for x in json.loads(r[3])),
                    str(r[4]),
                    None if r[5] is None else str(r[5]),
                    None if r[6] is None else str(r[6]),
                    _scores(json.loads(r[7]) if r[7] else {}),
                    {str(k): int(v) for k, v in (json.loads(r[8]) if r[8] else {}).items()},
                    None if r[9] is None else float(r[9]),
                    str(r[10]),
                )
            except (ValueError, TypeError, AttributeError):
                continue
            out.setdefault(str(r[0]), []).append((str(r[1]), call))
        return out

    def judge_spend(self, study_id: str) -> dict[str, tuple[float, int, int]]:
        """Per judge rater on a study: (dollars over its priced calls, calls with no
        price, calls). Every call counts once, stale ones too: they were paid for."""
        return {
            str(r[0]): (float(r[1] or 0.0), int(r[2]), int(r[3]))
            for r in self.con.execute(
                "SELECT c.rater, SUM(c.cost_usd), SUM(c.cost_usd IS NULL), COUNT(*) FROM judge_calls c "
                "JOIN turns t ON t.id = c.turn_id JOIN sessions s ON s.id = t.session_id "
                "WHERE s.study_id = ? GROUP BY c.rater ORDER BY c.rater",
                (study_id,),
            )
        }

    def judge_output_tokens(self, rater: str) -> float | None:
        """The mean output tokens of ``rater``'s calls with usage, anywhere (None: none)."""
        row = self.con.execute(
            "SELECT AVG(json_extract(usage, '$.output_tokens')) FROM judge_calls "
            "WHERE rater = ? AND json_extract(usage, '$.output_tokens') IS NOT NULL",
            (rater,),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])


def _scores(data: Any) -> dict[str, dict[str, float]]:
    if not isinstance(data, Mapping):
        raise ValueError("scores")
    out = {str(k): {str(c): float(x) for c, x in v.items()} for k, v in data.items()}
    if not all(0.0 <= x <= 10.0 for v in out.values() for x in v.values()):
        raise ValueError("scores")  # NaN, infinite or out of range: a damaged row
    return out
