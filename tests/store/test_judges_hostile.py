"""Damaged rows in ``judge_calls`` (bad JSON, the wrong shape, another order, a position
out of range): the run never crashes, such a row is as good as not there (its order is
sent again), and the comparison ends with exactly one judge vote."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatlab.demo.server import DemoServer
from tests.cli.test_judge import JUDGE, RATER, _judged, _rows, _study
from tests.core.studies.test_study import run

DAMAGE = [
    ("shown_order", "not json"),
    ("shown_order", "null"),
    ("shown_order", "5"),
    ("shown_order", '{"a": 1, "b": 2}'),
    ("shown_order", '["ghost", "other"]'),
    ("shown_order", "[]"),
    ("scores", "[1, 2]"),
    ("scores", '{"A": 5}'),
    ("scores", '{"A": {"quality": "high"}}'),
    ("scores", '{"A": {"quality": NaN}}'),
    ("usage", '{"output_tokens": null}'),
    ("usage", '"lots"'),
    ("position", "99"),
    ("position", "-1"),
    ("position", "'one'"),
    ("cost_usd", "'free'"),
]


@pytest.mark.parametrize(("column", "value"), DAMAGE, ids=[f"{c}={v}" for c, v in DAMAGE])
def test_a_damaged_call_is_sent_again_and_never_crashes_the_run(
    home: Path,
    tmp_path: Path,
    server: DemoServer,
    capsys: pytest.CaptureFixture[str],
    column: str,
    value: str,
) -> None:
    _study(home, tmp_path, server, capsys)
    assert run(capsys, "judge", "Test study", "-m", JUDGE)[0] == 0
    [(turn, rowid)] = _rows(home, "SELECT turn_id, rowid FROM judge_calls WHERE position = 0 LIMIT 1")
    con = sqlite3.connect(home / "data" / "chatlab.db")
    with con:
        sql_value = value if column in ("position", "judged_at", "cost_usd") else "?"
        args: tuple[object, ...] = (rowid,) if sql_value != "?" else (value, rowid)
        con.execute(f"UPDATE judge_calls SET {column} = {sql_value} WHERE rowid = ?", args)
        con.execute("DELETE FROM votes WHERE rater = ? AND turn_id = ?", (RATER, turn))
    con.close()
    code, out, err = run(capsys, "judge", "Test study", "-m", JUDGE)
    assert "Traceback" not in err, err
    assert code == 0, (out, err)
    votes = _judged(home)
    assert len(votes) == 6 and turn in votes, (out, err)
    again = run(capsys, "judge", "Test study", "-m", JUDGE)
    assert again[0] == 0 and "to judge 0" in again[1], again
