"""A rater's earlier score and note in the rating queue (Qt-free): the queue shows them
with their answer, a vote changes only what the rater changed, and undo puts every
rating back exactly as it was (or takes it away, if there was none), in memory and on
disk. ``rate --marked`` is where this matters most: turns scored and noted in the main
window, then marked "rate later"."""

from __future__ import annotations

from pathlib import Path

from chatlab.core.data.model import Lane, Response, Session, Status, Turn
from chatlab.core.data.votes import Rating
from chatlab.core.studies.rating import RatingQueue
from chatlab.store.db import Store

EARLIER = Rating(
    score=3, note="too long, but the second point is right", rater="ann", rated_at="2026-01-02T03:04:05.678Z"
)


def marked_session(store: Store) -> Session:
    """A chat turn with two answers: ann scored and noted the first in the main window
    (and bo the second), then marked the turn to rate later, blind."""
    lanes = [Lane("demo", "demo-fast"), Lane("demo", "demo-reasoner")]
    turn = Turn("Why is the sky blue?", to_rate=True)
    for i, lane in enumerate(lanes):
        turn.responses[lane.id] = Response(lane.id, status=Status.OK, text_parts=[f"answer {i}"])
    turn.responses[lanes[0].id].rate(EARLIER)
    turn.responses[lanes[1].id].rate(Rating(score=5, note="bo's", rater="bo"))
    session = Session(lanes=lanes, turns=[turn], title="chat")
    store.save_session(session)
    return session


def ratings_on_disk(store: Store, session: Session, rater: str) -> dict[str, Rating | None]:
    turn = store.load(session.id).turns[0]
    return {lane.id: turn.responses[lane.id].rating_of(rater) for lane in session.lanes}


def test_the_queue_shows_the_raters_earlier_marks_and_undo_puts_them_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    session = marked_session(store)
    first, second = (lane.id for lane in session.lanes)
    before = ratings_on_disk(store, session, "ann")
    assert before == {first: EARLIER, second: None}

    queue = RatingQueue(store.marked_turns(), "ann", sink=store)
    item = queue.current
    assert item is not None
    a, b = item.lanes.index(first), item.lanes.index(second)
    shown = queue.shown()
    assert shown is not None
    # The card of the answer ann rated carries her score and note; the other has none
    # (and no other rater's marks show).
    assert (shown.answers[a].score, shown.answers[a].note) == (3, EARLIER.note)
    assert (shown.answers[b].score, shown.answers[b].note) == (None, "")

    # She changes only the score (the note stays on the card) and scores the other.
    queue.vote(a, scores={a: 4, b: 2}, notes={a: shown.answers[a].note})
    now = ratings_on_disk(store, session, "ann")
    changed, added = now[first], now[second]
    assert changed is not None and (changed.score, changed.note) == (4, EARLIER.note)
    assert added is not None and added.score == 2

    # Undo: the vote goes, the first rating is back exactly as it was (time included),
    # the rating she had not given before is gone; bo's is untouched.
    assert queue.undo() is item
    assert ratings_on_disk(store, session, "ann") == before
    assert [r.rating_of("ann") for r in (item.turn.responses[first], item.turn.responses[second])] == [
        EARLIER,
        None,
    ]
    bos = ratings_on_disk(store, session, "bo")[second]
    assert bos is not None and (bos.score, bos.note) == (5, "bo's")
    assert store.load(session.id).turns[0].vote_of("ann") is None
    again = queue.shown()
    assert again is not None and (again.answers[a].score, again.answers[a].note) == (3, EARLIER.note)

    # A vote that leaves the earlier marks as shown keeps them as they are (same time);
    # undoing it leaves them there.
    queue.vote(b, scores={a: 3}, notes={a: EARLIER.note})
    assert ratings_on_disk(store, session, "ann") == before
    queue.undo()
    assert ratings_on_disk(store, session, "ann") == before
    store.close()


def test_a_hidden_repeat_does_not_show_the_first_marks(tmp_path: Path) -> None:
    # A repeat must look like a new item: the rater's marks from its first showing
    # would give it away.
    store = Store(tmp_path / "q.db")
    for _ in range(6):
        marked_session(store)
    queue = RatingQueue(store.marked_turns(), "ann", sink=store, repeats=0.5)
    while (item := queue.current) is not None and not item.repeat:
        queue.vote(0, scores={0: 2, 1: 2}, notes={0: "first look"})
    assert item is not None and item.repeat
    assert all(r.rating_of("ann") is not None for r in item.turn.responses.values())
    shown = queue.shown()
    assert shown is not None and all((x.score, x.note) == (None, "") for x in shown.answers)
    store.close()
