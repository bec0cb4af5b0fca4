"""Votes and ratings on a :class:`~chatlab.core.lab.controller.Lab`'s last turn.

The lab's public methods (``vote_choices``, ``vote``, ``undo_vote``, ``mark_to_rate``,
``rate``) call these functions, so the controller stays one page per
concern: what a vote records (blind, or sighted when the names were showing), what it
reveals (:mod:`chatlab.core.lab.blind`), and that it is stored at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from chatlab.core.data import safety
from chatlab.core.data.votes import Rating, Vote
from chatlab.core.lab.blind import Reveal, guessed_lanes
from chatlab.core.lab.lab_events import LanesChanged, Said, Unvoted, Voted

if TYPE_CHECKING:
    from chatlab.core.lab.controller import Lab


def _error(text: str) -> Exception:
    from chatlab.core.lab.controller import LabError

    return LabError(text)


def vote_choices(lab: Lab) -> list[tuple[str, str]]:
    """(choice, shown name) for the last turn's answers, in shown order; failed lanes
    have nothing to judge and get no choice."""
    turn = lab.last_turn
    if turn is None or lab.void(turn):
        return []
    order = lab.shown_order()  # where the lanes are, masked or revealed
    return [
        (lane_id, lab.name_of(lane_id))
        for lane_id in order
        if lane_id in turn.responses and not turn.responses[lane_id].failed
    ]


def vote(lab: Lab, choice: str, guessed: Iterable[str] | None = None) -> Reveal | None:
    """Record the vote on the last turn (what the user saw). A blind vote also records
    which lanes the user thinks reasoned (``guessed``; None = no guess) and reveals."""
    turn = lab.last_turn
    if turn is None:
        raise _error("nothing to vote on yet")
    lab._check_editable()
    if lab.void(turn):
        raise _error("this blind turn was stopped, so it can't be judged blind")
    if choice not in ("tie", "all_bad") and choice not in turn.responses:
        raise _error(f"no answer {safety.show(choice, 40)} in this turn")
    was_masked = lab.masked
    if was_masked:
        try:
            guess = None if guessed is None else guessed_lanes(turn, guessed)
        except ValueError as exc:
            raise _error(str(exc)) from None
    else:
        mine = turn.vote_of(lab.rater)
        guess = mine.guessed if mine else None
    # Cast with the names showing (not blind, or after this turn's reveal): sighted.
    cast = Vote(
        choice=choice,
        guessed=guess,
        rater=lab.rater,
        sighted=not lab.session.blind or not was_masked,
        rater_name=lab.rater_name,
    )
    turn.cast(cast)
    lab._write(lambda store: store.vote(turn.id, cast))
    shown = None
    if was_masked:
        lab.revealed.add(turn.id)
        shown = lab.reveal(turn)
    lab._emit(Voted(turn, shown))
    lab._emit(LanesChanged())
    return shown


def undo_vote(lab: Lab) -> None:
    """Take back this rater's vote on the last turn, here and in the store (until the
    next send: only the last turn takes it). A blind turn stays revealed: its names were
    seen, so a new vote on it is sighted."""
    turn = lab.last_turn
    lab._check_editable()
    known = lab.known_rater()  # an undo never makes a rater (nor asks for a name)
    mine = turn.vote_of(known.id) if turn is not None and known is not None else None
    if turn is None or mine is None:
        raise _error("there is no vote of yours on this turn to undo")
    if lab.session.blind:
        # Its names were seen: it is not masked again, here or when the session is
        # reopened. Kept first: a store that refuses it keeps the vote (undone without
        # the mark, the turn would be masked again when reopened and a new vote would
        # count as blind); a crash between the two writes leaves it sighted and voted.
        lab.revealed.add(turn.id)
        if not lab._write(lambda store: store.mark_sighted([turn.id], mine.rater)):
            raise _error("the vote stays: the database refused to keep that its names were seen")
    if not lab._write(lambda store: store.unvote(turn.id, mine.rater)):
        raise _error("the vote stays: the database refused to take it back")
    turn.votes.remove(mine)
    lab._emit(Unvoted(turn))
    lab._emit(LanesChanged())


def mark_to_rate(lab: Lab, marked: bool = True) -> None:
    """Put the last turn into the blind rating queue (rate it later, with others)."""
    turn = lab.last_turn
    if turn is None or lab.busy or not any(r.status.finished for r in turn.responses.values()):
        raise _error("nothing finished to rate yet")
    if turn.vote is not None and marked:
        raise _error("this turn has its vote already")
    turn.to_rate = marked
    lab._write(lambda store: store.mark_to_rate(turn.id, marked))
    lab._emit(
        Said(
            "Marked to rate later, blind: chatlab rate --marked, or Studies → Rate marked turns"
            if marked
            else "No longer marked to rate later"
        )
    )
    lab._emit(LanesChanged())


def rate(lab: Lab, lane_id: str, rating: Rating) -> None:
    """Score (1–5) and note one answer of the last turn, under this rater."""
    turn = lab.last_turn
    resp = turn.responses.get(lane_id) if turn else None
    if turn is None or resp is None or not resp.status.finished:
        return
    score = rating.score
    if score is not None and (type(score) is not int or not 1 <= score <= 5):
        raise _error("a score is a whole number from 1 to 5")
    if not isinstance(rating.note, str):
        raise _error("a note is text")
    rating.note = safety.clean_text(rating.note)
    rating.rater = lab.rater
    rating.rater_name = lab.rater_name
    resp.rating = rating
    lab._write(lambda store: store.rate(turn.id, lane_id, rating))
