"""A vote taken back (the main window's Undo vote, the queue's U) leaves the store; the
rater's ratings and other raters' votes stay."""

from __future__ import annotations

from pathlib import Path

from chatlab.core.data.model import Lane, Response, Session, Status, Turn
from chatlab.core.data.votes import Rating, Vote
from chatlab.store.db import Store


def test_unvote_deletes_only_that_raters_vote(tmp_path: Path) -> None:
    a, b = Lane("p", "a"), Lane("p", "b")
    turn = Turn("hi")
    for lane in (a, b):
        turn.responses[lane.id] = Response(lane_id=lane.id, status=Status.OK)
    session = Session(lanes=[a, b], turns=[turn])
    store = Store(tmp_path / "db.sqlite")
    store.save_session(session)
    store.vote(turn.id, Vote(a.id, rater="me"))
    store.vote(turn.id, Vote(b.id, rater="other"))
    store.rate(turn.id, a.id, Rating(score=4, rater="me"))
    store.unvote(turn.id, "me")
    loaded = store.load(session.id).turns[0]
    assert [(v.rater, v.choice) for v in loaded.votes] == [("other", b.id)]
    rating = loaded.responses[a.id].rating_of("me")
    assert rating is not None and rating.score == 4
    store.close()
