"""From a comparison and its judge calls to one judge vote, or "no verdict" with its reason.

A judge is a rater whose id is ``judge:PROVIDER:MODEL`` (plus ``/RUBRIC`` when its rubric
is not :data:`DEFAULT_RUBRIC`). It judges the answers a blind human would rate
(:func:`~chatlab.core.studies.rating.contenders`, in the lanes' order) in each order of
:func:`~chatlab.core.judging.orders.orders`; each order is one :class:`Call`, kept the
moment it ends. When every order has its call, :func:`compose` makes the outcome: a
:class:`~chatlab.core.data.votes.Vote` whose ``judgement`` says how it was reached (the
session schema's ``judgement``), or no vote and the reason there is none.

The answers judged are fingerprinted (:func:`fingerprint`): calls and votes made for
other answers (a lane sent again since) are stale, and the comparison is judged again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatlab.core.data.model import Session
from chatlab.core.data.stamps import utc_now
from chatlab.core.data.votes import JUDGE, Vote
from chatlab.core.judging.orders import TIE, combine, letters, orders
from chatlab.core.judging.prompt import Shown
from chatlab.core.judging.rubrics import Rubric
from chatlab.core.lab.blind import visible_reasoning
from chatlab.core.studies.rating import contenders

DEFAULT_RUBRIC = "general"
MAX_RAW = 20_000  # characters of a verdict's text kept in its judgement (its start)


def judge_rater(spec: str, rubric: str = DEFAULT_RUBRIC) -> str:
    """The rater id of judge model ``spec`` (``PROVIDER:MODEL``) judging by ``rubric``."""
    return JUDGE + spec + ("" if rubric == DEFAULT_RUBRIC else "/" + rubric)


def judge_name(rater_id: str) -> str:
    """What a judge rater is called in a sentence: its model, and its rubric when not
    the default (``demo-judge``, ``gpt-5/writing``)."""
    spec = rater_id[len(JUDGE) :] if rater_id.startswith(JUDGE) else rater_id
    return spec.split(":", 1)[1] if ":" in spec else spec


def answers_of(session: Session) -> tuple[list[str], list[Shown]]:
    """The lanes a judge compares (those a blind human would rate) and what it is shown
    of each: the answer, and its reasoning only when the session shows reasoning."""
    turn = session.turns[0]
    lanes = contenders(session)
    shown = []
    for lane_id in lanes:
        resp = turn.responses[lane_id]
        reasoning = visible_reasoning(resp) if session.show_reasoning else ""
        shown.append(Shown(resp.text, reasoning or ""))
    return lanes, shown


def fingerprint(session: Session) -> str:
    """The answers a judge would see in this comparison, hashed: the prompt, and each
    lane's id, text and (when shown) reasoning. It changes when an answer does."""
    h = hashlib.sha256()
    turn = session.turns[0]
    h.update(turn.prompt.encode("utf-8", "surrogatepass"))
    lanes, shown = answers_of(session)
    for lane_id, answer in zip(lanes, shown, strict=True):
        for part in (lane_id, answer.text, answer.reasoning):
            h.update(b"\x00" + str(len(part)).encode() + b":" + part.encode("utf-8", "surrogatepass"))
    h.update(b"\x01" + (b"1" if session.show_reasoning else b"0"))
    return h.hexdigest()[:32]


def lane_orders(lanes: Sequence[str]) -> list[tuple[str, ...]]:
    """The orders the judge sees ``lanes`` in, as lane ids by place."""
    return [tuple(lanes[i] for i in order) for order in orders(len(lanes))]


@dataclass(frozen=True)
class Call:
    """One order's call to the judge: the lanes by place, the verdict text, the choice
    the rubric took from it (a letter, ``tie``, or None with ``problem``), the criterion
    scores by letter, and what the call used and cost (None: no price)."""

    position: int
    order: tuple[str, ...]
    raw: str
    choice: str | None
    problem: str | None = None
    scores: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    usage: Mapping[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    judged_at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class Outcome:
    """A comparison's judging, once every order has its call: the vote (None: no
    verdict, and ``problem`` says why), whether the orders agreed, and the spend."""

    vote: Vote | None
    consistent: bool
    problem: str | None
    cost_usd: float | None
    unpriced: int  # calls with no price


def choice_of(rubric: Rubric, scores: Mapping[str, Mapping[str, float]], said: str | None) -> str | None:
    """One order's choice by the rubric: the judge's own, or the weighted scores'."""
    if said is None:
        return None
    return rubric.choose(scores, said)


def compose(
    spec: str,
    rubric: Rubric,
    seen: str,
    lanes: Sequence[str],
    calls: Sequence[Call],
    rater: str | None = None,
) -> Outcome:
    """The outcome of judging ``lanes`` (in the comparison's order) from one call per
    order (in :func:`lane_orders`' order), as rater ``rater`` (by default
    :func:`judge_rater` of ``spec``: a judge run with parameters passes its own id, the
    one its calls are kept under)."""
    expected = lane_orders(lanes)
    if [c.order for c in calls] != expected:
        raise ValueError("one call per order, in order")
    index = {lane: i for i, lane in enumerate(lanes)}
    combined = combine(
        [[index[lane] for lane in c.order] for c in calls],
        [c.choice for c in calls],
        [c.problem for c in calls],
    )
    priced = [c.cost_usd for c in calls if c.cost_usd is not None]
    cost = sum(priced) if priced else None
    unpriced = sum(c.cost_usd is None for c in calls)
    if combined.choice is None:
        return Outcome(None, combined.consistent, combined.problem, cost, unpriced)
    usage: dict[str, int] = {}
    for c in calls:
        for key, value in c.usage.items():
            usage[key] = usage.get(key, 0) + int(value)
    scores: dict[str, dict[str, float]] = {}
    for c in calls:
        for letter, lane in zip(letters(len(c.order)), c.order, strict=True):
            for criterion, given in c.scores.get(letter, {}).items():
                scores.setdefault(lane, {}).setdefault(criterion, 0.0)
                scores[lane][criterion] += float(given) / len(calls)
    choice = TIE if combined.choice == TIE else lanes[int(combined.choice)]
    rater = rater or judge_rater(spec, rubric.name)
    judgement: dict[str, Any] = {
        "judge": spec,
        "rubric": rubric.name,
        "seen": seen,
        "orders": [list(c.order) for c in calls],
        "choices": [c.choice for c in calls],
        "problems": [c.problem for c in calls],
        "raw": [c.raw[:MAX_RAW] for c in calls],
        "consistent": combined.consistent,
        "scores": {lane: {k: round(v, 4) for k, v in s.items()} for lane, s in scores.items()},
        "usage": usage,
        "cost_usd": cost if not unpriced else None,
        "judged_at": calls[-1].judged_at,
    }
    vote = Vote(
        choice=choice,
        rater=rater,
        voted_at=calls[-1].judged_at,
        shown_order=list(calls[0].order),
        rater_name=rater,
        judgement=judgement,
    )
    return Outcome(vote, combined.consistent, None, cost, unpriced)
