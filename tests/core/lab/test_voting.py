"""Votes that can be taken back, and what a reveal means for later turns (issue 24, items
1 and 7): an undo removes the vote here and in the store and keeps a revealed turn
revealed (a new vote is sighted); a later turn of a blind session is sighted from its
first token; New blind turn starts a fresh blind session with the same lanes, shuffled anew."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from chatlab.core.data.export import masked
from chatlab.core.data.model import Lane
from chatlab.core.lab.controller import Lab, LabError
from chatlab.core.lab.lab_events import LabEvent, Unvoted, Voted
from chatlab.store.db import Store
from tests.core.lab.test_controller import hidden_reasoner, make_lab, plain, reasoner, run, three_lanes
from tests.fakes import ScriptedAdapter


def blind_lab(tmp_path: Path) -> tuple[ScriptedAdapter, list[Lane], Lab]:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    lanes = three_lanes(lab)
    lab.set_blind(True)
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab)
    return adapter, lanes, lab


def test_an_undone_blind_vote_leaves_the_store_and_the_turn_stays_revealed(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    visible, hidden, _flat = three_lanes(lab)
    lab.set_blind(True)
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab)
    events: list[LabEvent] = []
    lab.subscribe(events.append)
    assert lab.masked
    order = lab.shown_order()
    assert lab.vote(visible.id, guessed=[hidden.id]) is not None
    stored = Store(tmp_path / "lab.db").load(lab.session.id).turns[-1]
    assert stored.vote is not None and not stored.vote.sighted

    lab.undo_vote()
    turn = lab.session.turns[-1]
    assert turn.vote is None and any(isinstance(e, Unvoted) for e in events)
    assert Store(tmp_path / "lab.db").load(lab.session.id).turns[-1].vote is None
    # The names were seen: the turn stays revealed, where it was, and a new vote is sighted.
    assert not lab.masked and lab.shown_order() == order
    assert lab.name_of(visible.id) == "visible"
    assert [name for _, name in lab.vote_choices()] == [lab.session.lane(x).display for x in order]
    events.clear()
    assert lab.vote(hidden.id) is None  # nothing left to reveal
    vote = Store(tmp_path / "lab.db").load(lab.session.id).turns[-1].vote
    assert vote is not None and vote.choice == hidden.id and vote.sighted
    assert [e.reveal for e in events if isinstance(e, Voted)] == [None]
    assert lab.tally().votes == 0  # a sighted vote is not a blind one
    with pytest.raises(LabError):
        lab.undo_vote()
        lab.undo_vote()  # the second has nothing to take back


def test_a_turn_after_the_reveal_is_sighted_and_so_is_its_vote(tmp_path: Path) -> None:
    adapter, (visible, hidden, flat), lab = blind_lab(tmp_path)
    order = lab.shown_order()
    lab.vote("tie")
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab, "And now?")
    second = lab.session.turns[-1]
    assert not lab.masked and lab.letter_of(visible.id) is None
    assert second.shown_order == order  # the lanes stay where they were revealed
    assert lab.name_of(flat.id) == "plain"
    assert lab.sighted_note(second) == "sighted — names shown since turn 1's reveal"
    assert lab.sighted_note(lab.session.turns[0]) == ""
    assert not masked(lab.session)  # its export and duplicate are not held back
    lab.export()
    assert lab.vote(hidden.id) is None
    vote = Store(tmp_path / "lab.db").load(lab.session.id).turns[-1].vote
    assert vote is not None and vote.sighted and vote.choice == hidden.id
    assert lab.tally().votes == 1  # turn 1's blind vote only


def test_an_unlabelled_lane_is_named_by_its_model_never_by_its_place(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    a, b = lab.add_lane(Lane("fake", "a")), lab.add_lane(Lane("fake", "b"))
    lab.set_blind(True)
    run(lab)
    assert {lab.name_of(a.id), lab.name_of(b.id)} == {"Model A", "Model B"}
    lab.vote(a.id)
    assert (lab.name_of(a.id), lab.name_of(b.id)) == ("fake:a", "fake:b")


def test_new_blind_turn_keeps_the_lanes_in_a_fresh_blind_session_shuffled_anew(tmp_path: Path) -> None:
    adapter, lanes, lab = blind_lab(tmp_path)
    lab.vote("tie")
    first = lab.session
    lab.rng = random.Random(7)
    lab.new_blind_turn()
    fresh = lab.session
    assert fresh is not first and fresh.id != first.id and fresh.blind and not fresh.turns
    assert [lane.spec for lane in fresh.lanes] == [lane.spec for lane in lanes]
    assert {lane.id for lane in fresh.lanes}.isdisjoint(lane.id for lane in lanes)
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab, "A new comparison")
    expected = [lane.id for lane in fresh.lanes]
    random.Random(7).shuffle(expected)
    assert fresh.turns[-1].shown_order == expected and lab.masked
    assert lab.sighted_note(fresh.turns[-1]) == ""
    assert len(Store(tmp_path / "lab.db").load(first.id).turns) == 1  # the first is kept as it was


def test_an_undone_blind_vote_stays_sighted_when_the_session_is_reopened(tmp_path: Path) -> None:
    """The names were seen: reopening the session from the history must not mask the turn
    again, or the next vote would count as blind."""
    _adapter, (visible, hidden, _flat), lab = blind_lab(tmp_path)
    lab.vote(visible.id)
    lab.undo_vote()
    again = make_lab(ScriptedAdapter(), tmp_path)
    again.open(Store(tmp_path / "lab.db").load(lab.session.id))
    assert not again.masked and again.letter_of(visible.id) is None
    again.vote(hidden.id)
    vote = Store(tmp_path / "lab.db").load(lab.session.id).turns[-1].vote
    assert vote is not None and vote.choice == hidden.id and vote.sighted
    # Another rater never saw them: for them the turn is still blind.
    other = make_lab(ScriptedAdapter(), tmp_path)
    other.rater = "bob"
    other.open(Store(tmp_path / "lab.db").load(lab.session.id))
    assert other.masked
