"""Adversarial: a rater's earlier score and note in the rating queue (Qt-free, real
SQLite), as the window's rating view hands them to the queue (only the cards with a
score, only the notes that are not blank: ``chatlab/ui/rating/view.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlab.core.studies.rating import RatingQueue
from chatlab.store.db import Store
from tests.core.studies.test_rating_earlier import EARLIER, marked_session, ratings_on_disk

pytestmark = pytest.mark.hostile


def test_clearing_an_earlier_score_and_note_on_the_card_clears_them(tmp_path: Path) -> None:
    """ann scored an answer 3 with a note in the main window, then rates the turn in the
    queue: the card shows her 3 and her note; she clears both (no score, empty note) and
    votes. The view passes no score and no note for that card (it leaves out empty
    ones). Expected: her rating of that answer is gone, as the card showed when she
    voted. Actual: the earlier 3 and note stay on disk and count in mean_score and in
    the agreement on scores, though she took them back."""
    store = Store(tmp_path / "q.db")
    try:
        session = marked_session(store)
        first = session.lanes[0].id
        queue = RatingQueue(store.marked_turns(), "ann", sink=store)
        item = queue.current
        assert item is not None
        a = item.lanes.index(first)
        shown = queue.shown()
        assert shown is not None and (shown.answers[a].score, shown.answers[a].note) == (3, EARLIER.note)
        # The card cleared: what the view passes is no entry for it at all.
        queue.vote(a, scores={}, notes={})
        assert ratings_on_disk(store, session, "ann")[first] is None
        # Undo puts the earlier score and note back, as they were.
        queue.undo()
        back = ratings_on_disk(store, session, "ann")[first]
        assert back is not None and (back.score, back.note) == (3, EARLIER.note)
    finally:
        store.close()


def test_a_rating_pack_does_not_name_a_model_with_a_two_letter_name() -> None:
    """A study named "Is o3 worth it?" comparing openai:o3 with openai:gpt-4.1, prompt
    id "o3-check". Expected: the pack's study name, titles and prompt ids name no
    contender (the pack's promise: a study or prompt name that contains a model's name
    is left out). Actual: names shorter than three characters are never looked for, so
    "o3" goes to the remote rater in the study name, every title and the prompt id."""
    from chatlab.core.data.model import Lane, Response, Session, Status, StudyRef, Turn
    from chatlab.core.studies.packs import rating_pack

    lanes = [Lane("openai", "o3"), Lane("openai", "gpt-4.1")]
    turn = Turn(prompt="Explain TCP slow start.")
    for lane in lanes:
        turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["an answer"])
    session = Session(
        lanes=lanes,
        turns=[turn],
        blind=True,
        study=StudyRef("sid", "Is o3 worth it?", "o3-check", 0, ("code",)),
    )
    pack = rating_pack([session], "Is o3 worth it?")
    [doc] = pack.doc["sessions"]
    said = [doc["title"], doc["study"]["name"], doc["study"]["prompt_id"], *doc["study"]["tags"]]
    assert not any("o3" in x.casefold() for x in said), said
