"""Blind comparison: the order and letters lanes are shown under, which turns can't be
judged blind, whether an answer reasoned, what a masked lane's reasoning pane shows when
the session shows reasoning (:func:`shown_reasoning`), the reasoning guess and the truth
it is judged against (:func:`guess_truth`), which later turns are sighted
(:func:`sighted`: after the first turn's reveal nothing is blind), and what a vote
reveals (the :class:`Reveal` card, with each lane's kind: trained reasoner, asked to
think, or plain, and the session's :class:`Tally` of blind votes). The
:class:`~chatlab.core.lab.controller.Lab` decides when a turn is masked (that depends on
who is voting) and records the vote; these are the rules that depend on the session only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chatlab.core.data.constants import REDACTED_THINKING
from chatlab.core.data.kinds import contender_kind, trained
from chatlab.core.data.model import Response, Session, Status, Turn
from chatlab.core.lab.orchestrator import live_usage

# What a masked lane's reasoning pane says when it has no reasoning text to show: the
# same words whether the provider hid it, the model did not reason, or the answer failed.
NOT_SHOWN = "reasoning not shown"


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
    prompted: bool  # its reasoning was asked for by chatlab's prompt (think = "prompted")
    cost: float | None
    cost_estimated: bool
    ttft_s: float | None
    guessed: bool  # the rater said this one reasoned
    failed: bool
    truth: bool  # what the guess is judged against (see guess_truth)
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
    # The session showed reasoning: the guess was "trained to reason?", not "reasoned?".
    about_training: bool = False


def reasoned(resp: Response) -> bool:
    """Did this response reason (visibly or not)?"""
    return resp.reasoning_chars > 0 or live_usage(resp).reasoning_tokens > 0


def guess_truth(session: Session, lane_id: str, resp: Response) -> bool:
    """What a reasoning guess on this lane is judged against: with the reasoning shown
    (:attr:`Session.show_reasoning`) the question is "which was trained to reason?"
    (:func:`trained`), else "which reasoned?" (:func:`reasoned`)."""
    if session.show_reasoning:
        return trained(session.lane(lane_id), resp)
    return reasoned(resp)


def visible_reasoning(resp: Response) -> str:
    """The reasoning text a rater may read, trimmed and without chatlab's own marks (a
    redacted block's note would name the provider); "" when there is none."""
    return resp.reasoning.replace(REDACTED_THINKING, "").strip()


def shown_reasoning(resp: Response) -> str:
    """What a masked lane's reasoning pane shows in a session that shows reasoning:
    :func:`visible_reasoning`, or :data:`NOT_SHOWN`. No count, no timing, no word that
    says why there is none: a hidden reasoner, a plain model and a failed answer read
    alike."""
    return visible_reasoning(resp) or NOT_SHOWN


def letter(position: int) -> str:
    return chr(ord("A") + position)


def sighted(session: Session, turn: Turn) -> bool:
    """A later turn of a blind session: the first turn's reveal (or its stop) showed the
    names, and each lane goes on with its own history, so nothing about it is blind. It
    is shown with its names from its first token, and its votes are sighted. (A blind
    session sends its next turn only once the last is voted on or stopped.)"""
    return session.blind and bool(session.turns) and turn is not session.turns[0]


def sighted_note(session: Session, turn: Turn) -> str:
    """The turn header's words for a :func:`sighted` turn, or for a stopped (void) blind
    turn ("" for any other)."""
    if not sighted(session, turn):
        # The stopped blind turn itself: why its names show and it takes no vote.
        return "stopped — names shown, no blind vote" if void(session, turn) else ""
    since = "turn 1 was stopped" if void(session, session.turns[0]) else "turn 1's reveal"
    return f"sighted — names shown since {since}"


def void(session: Session, turn: Turn) -> bool:
    """A blind turn the user stopped: which lanes had finished would tell who is fast,
    so it can't be judged blind. Its names are shown and it takes no vote. (A
    :func:`sighted` turn is not blind: stopping it voids nothing.)"""
    return (
        session.blind
        and not sighted(session, turn)
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


def guess_right(session: Session, turn: Turn) -> bool:
    """The guess is right when the lanes named are exactly the ones that reasoned (with
    the reasoning shown: that were trained to reason; see :func:`guess_truth`)."""
    if turn.vote is None or turn.vote.guessed is None:
        return False
    truth = {
        lane_id
        for lane_id, resp in turn.responses.items()
        if guess_truth(session, lane_id, resp) and not resp.failed
    }
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
                prompted=reasoned(resp) and session.lane(lane_id).params.think == "prompted",
                cost=resp.cost_usd,
                cost_estimated=resp.usage.estimated,
                ttft_s=resp.timing.ttft_s,
                guessed=lane_id in guessed,
                failed=resp.failed,
                kind=contender_kind(
                    lane, [t.responses[lane_id] for t in session.turns if lane_id in t.responses]
                ),
                truth=guess_truth(session, lane_id, resp),
            )
        )
    vote = turn.vote
    choice = vote.choice if vote else ""
    winner = choice.replace("_", " ") if choice in ("tie", "all_bad") else session.lane(choice).display
    guess_made = vote is not None and vote.guessed is not None
    right = guess_right(session, turn) if guess_made else None
    return Reveal(turn.id, choice, winner, rows, guess_made, right, tally(session), session.show_reasoning)


def tally(session: Session) -> Tally:
    """Blind votes in ``session``: how many, guesses right, wins per model."""
    votes = guesses = right = 0
    wins: dict[str, int] = {}
    for turn in session.turns:
        if not session.blind or turn.vote is None or turn.vote.sighted:
            continue  # a sighted vote (names showing) is not a blind one
        votes += 1
        if turn.vote.guessed is not None:
            guesses += 1
            right += bool(guess_right(session, turn))
        if turn.vote.choice in turn.responses:
            name = session.lane(turn.vote.choice).display
            wins[name] = wins.get(name, 0) + 1
    return Tally(votes, guesses, right, wins)


def guessed_lanes(turn: Turn, guessed: Iterable[str]) -> list[str]:
    """The lanes a guess names as reasoners, each once; ValueError if one is not in this
    turn, or the guess is not a list of lanes."""
    if isinstance(guessed, str):
        raise ValueError("a guess is a list of lanes")
    out: list[str] = []
    for lane_id in guessed:
        if lane_id not in turn.responses:
            raise ValueError("the guess names a lane that did not answer this turn")
        if lane_id not in out:
            out.append(lane_id)
    return out
