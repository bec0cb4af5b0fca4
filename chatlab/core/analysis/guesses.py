"""Could the raters tell which answer reasoned? Their guesses against the truth.

:func:`discrimination` counts the votes with a single guess where exactly one present
answer reasoned, against chance (1/N per vote) and against always guessing the longest
answer. :func:`judgements` takes every "reasoned?" mark as a yes/no call per answer on
screen, tested with the vote as the unit (:func:`chatlab.core.analysis.exact.vote_level_p`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chatlab.core.analysis.exact import clopper_pearson, exact_p, vote_level_p
from chatlab.core.analysis.votes import Vote


@dataclass
class Discrimination:
    """Single guesses where exactly one present answer reasoned: how many, how many
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
    """Votes with one guessed lane where exactly one present lane reasoned."""
    correct = 0
    chances: list[float] = []
    longest = 0
    for v in votes:
        if v.guessed is None or len(v.guessed) != 1 or len(v.reasoners) != 1 or len(v.present) < 2:
            continue
        truth = v.reasoners[0]
        chances.append(1.0 / len(v.present))
        correct += v.guessed[0] == truth
        top = max(v.answer_tokens)
        if v.answer_tokens.count(top) == 1 and v.answer_tokens.index(top) == truth:
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
    calls are complements)."""
    tp = fn = fp = tn = 0
    trials: list[tuple[int, int, int, int]] = []
    for v in votes:
        if v.guessed is None:
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
