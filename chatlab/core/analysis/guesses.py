"""Could the raters tell which answer reasoned? Their guesses against the truth.

Two quizzes never share a vote. The answer quiz (sessions that hid the reasoning until
the vote): :func:`discrimination` counts the votes with a single guess where some, not
all, present answers reasoned, against chance (their share per vote) and against always
guessing the longest answer, and :func:`judgements` takes every "reasoned?" mark as a
yes/no call per answer on screen, tested with the vote as the unit
(:func:`chatlab.core.analysis.exact.vote_level_p`). The thinking quiz (sessions that
showed each answer's reasoning, :attr:`Session.show_reasoning`):
:func:`discrimination_reasoning` is the same test, where the truth is "trained to reason"
(the reasoning came from the provider, not from ``think = "prompted"``). Its chance is
not 1/N: a pane that reads "reasoning not shown" tells a rater that answer is not the
one with reasoning text, so a rater who can't tell trained reasoning from prompted
still names the right one 1 time in 2 among a reasoner, a prompted lane and a plain
one. The chance of a vote is one in the number of answers whose pane looked like the
truth's (text on screen, or not), and a vote where only the truth's looked so tests
nothing and is not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from chatlab.core.analysis.exact import clopper_pearson, exact_p, vote_level_p
from chatlab.core.analysis.votes import Vote


@dataclass
class Discrimination:
    """Single guesses where some, not all, present answers reasoned: how many, how many
    right, the mean chance of a right guess, the exact one-sided p-value, the accuracy's
    Clopper–Pearson interval, and how often the longest answer was the one that reasoned."""

    trials: int
    correct: int
    chance: float
    p_value: float
    accuracy_ci95: tuple[float, float]
    longest_answer_accuracy: float | None


@dataclass
class Judgements:
    """Every "reasoned?" mark as a call per answer: the table [[reasoners called right,
    missed], [plain answers called reasoned, called right]], the vote-level p-value and
    the balanced accuracy."""

    table: list[list[int]]
    p_value: float
    balanced_accuracy: float


def discrimination(votes: Sequence[Vote]) -> Discrimination | None:
    """The answer quiz: votes with one guessed lane where some, not all, present lanes
    reasoned, counted only on sessions WITHOUT show reasoning (where the reasoning was
    on screen, :func:`discrimination_reasoning` counts the vote instead, so the two
    tests never share votes)."""
    return _discrimination([v for v in votes if not v.show_reasoning], lambda v: v.reasoners)


def discrimination_reasoning(votes: Sequence[Vote]) -> Discrimination | None:
    """The thinking quiz: votes on sessions that showed each answer's reasoning, with
    one guessed lane where some, not all, present lanes were trained to reason (their
    reasoning came from the provider; a prompted or plain lane's did not). The same
    fields and test as :func:`discrimination`, with one difference: a rater can rule out
    an answer whose pane doesn't look like a trained one's (text on screen, or "reasoning
    not shown"), so chance counts only the answers whose pane looked like theirs."""
    return _discrimination([v for v in votes if v.show_reasoning], lambda v: v.trained, _alike)


def _alike(v: Vote, truths: set[int]) -> set[int]:
    """The answers whose reasoning panes looked like a truth's: text on screen, or
    "reasoning not shown", as one of the truths' did."""
    looks = {k in v.visible for k in truths}
    return {k for k in range(len(v.present)) if (k in v.visible) in looks}


def _discrimination(
    votes: Sequence[Vote],
    truth_of: Callable[[Vote], list[int]],
    candidates: Callable[[Vote, set[int]], set[int]] = lambda v, truths: set(range(len(v.present))),
) -> Discrimination | None:
    """Single guesses against the places ``truth_of`` names, on votes where the
    ``candidates`` (answers a rater could take for one of them) hold at least one of
    them and at least one other (else any guess, or none, would be right). A guess is
    right when it names one of them; its chance under random guessing is their share of
    the candidates (1/N with one truth among N), and the exact p-value takes each vote's
    own chance."""
    correct = 0
    chances: list[float] = []
    longest = 0
    for v in votes:
        truths = set(truth_of(v))
        if v.guessed is None or len(v.guessed) != 1 or not truths:
            continue
        among = candidates(v, truths)
        if len(among) <= len(truths & among) or not truths & among:
            continue
        chances.append(len(truths & among) / len(among))
        correct += v.guessed[0] in truths
        top = max(v.answer_tokens)
        if v.answer_tokens.count(top) == 1 and v.answer_tokens.index(top) in truths:
            longest += 1
    if not chances:
        return None
    n = len(chances)
    lo, hi = clopper_pearson(correct, n)
    return Discrimination(
        trials=n,
        correct=correct,
        chance=round(float(np.mean(chances)), 4),
        p_value=exact_p(correct, chances),
        accuracy_ci95=(round(lo, 4), round(hi, 4)),
        longest_answer_accuracy=longest / n,
    )


def judgements(votes: Sequence[Vote]) -> Judgements | None:
    """Every guess as yes/no judgements, one per answer on screen ("did this one
    reason?"), against the truth: the 2×2 table and the balanced accuracy (the mean of
    the rates on reasoners and on plain answers) describe them; the p-value is an exact
    one-sided permutation test whose unit is the vote (see :func:`vote_level_p`), since
    the answers of one vote are not independent (with two answers and one pick, the two
    calls are complements). The answer quiz only: a vote on a session that showed the
    reasoning asked another question ("trained to reason?") and is not counted."""
    tp = fn = fp = tn = 0
    trials: list[tuple[int, int, int, int]] = []
    for v in votes:
        if v.guessed is None or v.show_reasoning:
            continue
        m, truth, said, right = _marks(v)
        tp += right
        fn += truth - right
        fp += said - right
        tn += m - said - truth + right
        trials.append((m, truth, said, right))
    if tp + fn + fp + tn == 0:
        return None
    rates = [x / (x + y) for x, y in ((tp, fn), (tn, fp)) if x + y]
    return Judgements(
        table=[[tp, fn], [fp, tn]],
        p_value=vote_level_p(trials),
        balanced_accuracy=round(sum(rates) / len(rates), 4),
    )


def _marks(v: Vote) -> tuple[int, int, int, int]:
    """(answers on screen, of them reasoners, marked "reasoned", marked and reasoned)."""
    assert v.guessed is not None
    m = len(v.present)
    places = range(m)
    truth = {k for k in v.reasoners if k in places}
    said = {k for k in v.guessed if k in places}
    return m, len(truth), len(said), len(truth & said)
