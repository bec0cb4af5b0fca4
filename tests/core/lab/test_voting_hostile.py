"""Undo vote when the store refuses a write (a full database): the window's state and
the store must never disagree so that a later vote counts as blind after the names were
seen. The full database is real: SQLite's ``max_page_count`` set so that the next row
of the ``sighted`` table needs a page it may not have ("database or disk is full"),
while a DELETE, which needs none, still succeeds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatlab.core.lab.controller import Lab, LabError
from chatlab.core.lab.lab_events import LabEvent, Said
from chatlab.store.db import Store
from tests.core.lab.test_controller import make_lab
from tests.core.lab.test_voting import blind_lab
from tests.fakes import ScriptedAdapter


def fill_sighted(lab: Lab) -> None:
    """Fill the ``sighted`` table until this rater's row for the last turn no longer fits,
    then cap the database at its size: the next mark_sighted fails as on a full disk."""
    assert isinstance(lab.store, Store) and lab.last_turn is not None
    con: sqlite3.Connection = lab.store.con
    turn_id, rater = lab.last_turn.id, lab.rater
    for i in range(100_000):
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages}")
        con.execute("BEGIN")
        try:
            con.execute(
                "INSERT INTO sighted (turn_id, rater, marked_at) VALUES (?, ?, ?)", (turn_id, rater, "x")
            )
            fits = True
        except sqlite3.Error as exc:
            assert "full" in str(exc)
            fits = False
        if con.in_transaction:  # SQLite may have rolled back already
            con.execute("ROLLBACK")
        if not fits:
            return
        con.execute("PRAGMA max_page_count = 1073741823")
        con.execute(
            "INSERT INTO sighted (turn_id, rater, marked_at) VALUES (?, ?, ?)",
            (turn_id, f"f{i:0{len(rater) - 1}d}", "x"),
        )
    raise AssertionError("the sighted table never filled")


def reopened(tmp_path: Path, session_id: str) -> Lab:
    again = make_lab(ScriptedAdapter(), tmp_path)
    again.open(Store(tmp_path / "lab.db").load(session_id))
    return again


def test_an_undo_the_store_cannot_mark_sighted_never_makes_a_later_vote_blind(tmp_path: Path) -> None:
    _adapter, (visible, hidden, _flat), lab = blind_lab(tmp_path)
    lab.vote(visible.id)
    said: list[LabEvent] = []
    lab.subscribe(said.append)
    fill_sighted(lab)
    with pytest.raises(LabError, match="the vote stays"):
        lab.undo_vote()  # all or nothing: the vote stands
    assert any(isinstance(ev, Said) and "Could not save" in ev.text for ev in said)
    assert lab.session.turns[-1].vote is not None
    # Whatever the window now shows, the store must say the same: either the vote still
    # stands, or the turn is sighted for this rater.
    stored = Store(tmp_path / "lab.db").load(lab.session.id).turns[-1]
    memory = lab.session.turns[-1]
    assert (stored.vote is None) == (memory.vote is None)
    again = reopened(tmp_path, lab.session.id)
    if stored.vote is None:
        assert not again.masked
        again.vote(hidden.id)
        vote = Store(tmp_path / "lab.db").load(lab.session.id).turns[-1].vote
        assert vote is not None and vote.sighted


def test_an_undo_that_could_not_be_saved_at_all_keeps_the_vote_on_reopening(tmp_path: Path) -> None:
    """Both writes refused (the database read-only under it): the stored vote is the
    blind one cast before the reveal, which is honest; the window said it could not save."""
    _adapter, (visible, _hidden, _flat), lab = blind_lab(tmp_path)
    lab.vote(visible.id)
    said: list[LabEvent] = []
    lab.subscribe(said.append)
    assert isinstance(lab.store, Store)
    lab.store.con.execute("PRAGMA query_only = 1")
    with pytest.raises(LabError, match="the vote stays"):
        lab.undo_vote()
    assert sum(isinstance(ev, Said) and "Could not save" in ev.text for ev in said) == 1
    assert lab.session.turns[-1].vote is not None  # the window and the store agree
    stored = Store(tmp_path / "lab.db").load(lab.session.id).turns[-1]
    assert stored.vote is not None and stored.vote.choice == visible.id and not stored.vote.sighted
