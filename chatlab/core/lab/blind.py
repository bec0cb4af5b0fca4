"""Blind comparison: the order and letters lanes are shown under, which turns can't be
judged blind, whether an answer reasoned, the reasoning guess, and what a vote reveals
(the :class:`Reveal` card, with each lane's kind: trained reasoner, asked to think, or
plain, and the session's :class:`Tally`). The
:class:`~chatlab.core.lab.controller.Lab` decides when a turn is masked (that depends on
who is voting) and records the vote; these are the rules that depend on the session only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatlab.core.data.kinds import contender_kind
from chatlab.core.data.model import Response, Session, Status, Turn
from chatlab.core.lab.orchestrator import live_usage


@dataclass(frozen=True)
class RevealRow:
    """One lane of a revealed blind turn."""

    lane_id: str
    letter: str
    name: str  # the lane's label, or its provider:model
    spec: str  # provider:model
    reasoned: bool
    reasoning_tokens: int
    reasoning_estimated: bool
    reasoning_hidden: bool  # reasoned, but the provider returned no reasoning text
    cost: float | None
    cost_estimated: bool
    ttft_s: float | None
    guessed: bool  # the rater said this one reasoned
    failed: bool
    kind: str = ""  # native, prompted or plain (chatlab.core.data.kinds); "": not known


@dataclass(frozen=True)
class Tally:
    """This session's blind votes so far."""

    votes: int = 0
    guesses: int = 0  # votes that came with a reasoning guess
    guesses_right: int = 0
    wins: dict[str, int] = field(default_factory=dict)  # model name -> turns it won


@dataclass(frozen=True)
class Reveal:
    """What a blind vote reveals: who was who, who reasoned, what it cost, the guess."""

    turn_id: str
    choice: str
    winner: str  # a model name, "tie" or "all bad"
    rows: list[RevealRow]
    guess_made: bool
    guess_right: bool | None  # None: no guess
    tally: Tally


def reasoned(resp: Response) -> bool:
    """Did this response reason (visibly or not)?"""
    return resp.reasoning_chars > 0 or live_usage(resp).reasoning_tokens > 0


def letter(position: int) -> str:
    return chr(ord("A") + position)


def void(session: Session, turn: Turn) -> bool:
    """A blind turn the user stopped: which lanes had finished would tell who is fast,
    so it can't be judged blind. Its names are shown and it takes no vote."""
    return (
        session.blind
        and turn.vote is None
        and any(resp.status is Status.CANCELLED for resp in turn.responses.values())
    )


def shown_order(session: Session) -> list[str]:
    """Lane ids in the order they are shown: a blind session keeps the last turn's
    shuffle, masked and after the reveal (names appear where the answers were)."""
    last = session.turns[-1] if session.turns else None
    if session.blind and last is not None and last.shown_order:
        known = [lane.id for lane in session.lanes]
        shown = [x for x in last.shown_order if x in known]
        return shown + [x for x in known if x not in shown]  # lanes added since, at the end
    return [lane.id for lane in session.lanes]


def guess_right(turn: Turn) -> bool:
    """The guess is right when the lanes named are exactly the ones that reasoned."""
    if turn.vote is None or turn.vote.guessed is None:
        return False
    truth = {lane_id for lane_id, resp in turn.responses.items() if reasoned(resp) and not resp.failed}
    judged = {lane_id for lane_id, resp in turn.responses.items() if not resp.failed}
    return set(turn.vote.guessed) & judged == truth


def reveal(session: Session, turn: Turn) -> Reveal:
    """The reveal card's contents for a voted blind turn of ``session``."""
    order = turn.shown_order or list(turn.responses)
    guessed = set(turn.vote.guessed or []) if turn.vote else set()
    rows = []
    for position, lane_id in enumerate(order):
        resp = turn.responses.get(lane_id)
        if resp is None:
            continue
        usage = live_usage(resp)
        lane = session.lane(lane_id)
        rows.append(
            RevealRow(
                lane_id=lane_id,
                letter=letter(position),
                name=lane.display,
                spec=lane.spec,
                reasoned=reasoned(resp),
                reasoning_tokens=usage.reasoning_tokens,
                reasoning_estimated=usage.estimated or usage.reasoning_estimated,
                reasoning_hidden=resp.hidden_reasoning,
                cost=resp.cost_usd,
                cost_estimated=resp.usage.estimated,
                ttft_s=resp.timing.ttft_s,
                guessed=lane_id in guessed,
                failed=resp.failed,
                kind=contender_kind(
                    lane, [t.responses[lane_id] for t in session.turns if lane_id in t.responses]
                ),
            )
        )
    vote = turn.vote
    choice = vote.choice if vote else ""
    winner = choice.replace("_", " ") if choice in ("tie", "all_bad") else session.lane(choice).display
    guess_made = vote is not None and vote.guessed is not None
    right = guess_right(turn) if guess_made else None
    return Reveal(turn.id, choice, winner, rows, guess_made, right, tally(session))


def tally(session: Session) -> Tally:
    """Blind votes in ``session``: how many, guesses right, wins per model."""
    votes = guesses = right = 0
    wins: dict[str, int] = {}
    for turn in session.turns:
        if not session.blind or turn.vote is None:
            continue
        votes += 1
        if turn.vote.guessed is not None:
            guesses += 1
            right += bool(guess_right(turn))
        if turn.vote.choice in turn.responses:
            name = session.lane(turn.vote.choice).display
            wins[name] = wins.get(name, 0) + 1
    return Tally(votes, guesses, right, wins)
