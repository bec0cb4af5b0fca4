"""Accuracy on prompts with an answer key: per contender, how many of its graded answers
were right, with a Clopper–Pearson (exact) 95% interval.

The interval is for the share of right answers *on these prompts*: each answer is one
trial. Several samples of one prompt are not independent draws of a new prompt, but
given the prompts they are independent trials whose count varies no more than a
binomial's, so the exact interval stays conservative for these prompts. Whether the
share holds for *other* prompts is a question about prompts, answered by a bootstrap
over prompts (the answer card's reasoning-help intervals), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatlab.core.analysis.exact import clopper_pearson
from chatlab.core.analysis.votes import Data


@dataclass(kw_only=True)
class Accuracy:
    """One contender's graded answers: ``correct`` of ``graded`` right."""

    id: str
    graded: int
    correct: int
    accuracy: float
    ci95: tuple[float, float]


def accuracy(data: Data, order: list[int] | None = None) -> list[Accuracy]:
    """Every contender with a graded answer, in ``order`` (contender indices; default
    as collected)."""
    out = []
    for c in order if order is not None else range(len(data.contenders)):
        marks = data.graded[c]
        if not marks:
            continue
        right = sum(ok for _, ok in marks)
        low, high = clopper_pearson(right, len(marks))
        out.append(
            Accuracy(
                id=data.contenders[c],
                graded=len(marks),
                correct=right,
                accuracy=round(right / len(marks), 4),
                ci95=(round(low, 4), round(high, 4)),
            )
        )
    return out
