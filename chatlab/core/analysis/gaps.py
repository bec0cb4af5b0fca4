"""Rating gaps between two contenders, with bootstrap intervals: the placebo's noise floor
(the same lane twice: what noise alone makes of a difference) and what reasoning adds
(one model with reasoning on and off), overall and per tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from chatlab.core.analysis.bootstrap import bootstrap
from chatlab.core.analysis.fitting import elo, fit
from chatlab.core.analysis.votes import Data, collect
from chatlab.core.data.model import Session

NO_REASONING_PAIR = (
    "no model appears both with and without reasoning: add the same model with "
    "reasoning off (e.g. the shipped 'reasoning on vs off' preset) to the study"
)


@dataclass
class Gap:
    """A rating difference in points, signed, with its bootstrap 95 % interval."""

    rating_points: float
    ci95: tuple[float, float]


@dataclass(kw_only=True)
class ReasoningEffect:
    """How many rating points reasoning adds, from ``pairs`` (reasoner, plain) pairs of
    one base model, and the same per tag (tags where no such pair was rated are absent)."""

    rating_points: float
    ci95: tuple[float, float]
    pairs: int
    by_tag: dict[str, Gap] = field(default_factory=dict)


def noise_floor(data: Data, point: np.ndarray, samples: np.ndarray) -> Gap | None:
    """The placebo: the same lane twice, as two contenders; the gap between them, with
    its bootstrap interval, is what noise alone can make of a rating difference. Twins
    are the contenders :attr:`Data.twins` marks (lanes marked :attr:`Lane.placebo`)."""
    gaps = []
    for i in range(len(data.contenders)):
        j = data.original(i)
        if j is not None:
            gaps.append((float(point[i] - point[j]), samples[:, i] - samples[:, j]))
    if not gaps:
        return None
    gap, spread = gaps[0]
    if np.isnan(spread).all():
        return None
    lo, hi = np.nanpercentile(spread, [2.5, 97.5])
    # Signed, like its interval: the twin's rating minus its original's.
    return Gap(round(gap, 1), (round(float(lo), 1), round(float(hi), 1)))


def _floor_bound(floor: Gap | None) -> float | None:
    if floor is None:
        return None
    # The gap and its interval are signed (twin − original); noise is their largest size.
    return float(max(abs(floor.ci95[0]), abs(floor.ci95[1]), abs(floor.rating_points)))


def reasoning_pairs(data: Data) -> list[tuple[int, int]]:
    """(reasoner, plain) contenders of the same base model (``provider:model``), neither
    a placebo twin: where reasoning is the only difference, so their gap is what
    reasoning adds."""
    pairs = []
    for r in range(len(data.contenders)):
        if not data.reasoner[r] or data.twin_of(r) is not None:
            continue
        for p in range(len(data.contenders)):
            if p != r and not data.reasoner[p] and data.twin_of(p) is None and data.specs[p] == data.specs[r]:
                pairs.append((r, p))
    return pairs


def _effect(data: Data, rounds: int, seed: int) -> ReasoningEffect | None:
    pairs = reasoning_pairs(data)
    if not pairs or not data.votes:
        return None
    n = len(data.contenders)
    point = elo(fit(data.votes, n, prior=0.1))
    samples = bootstrap(data.votes, n, rounds, seed)
    r, p = np.asarray([a for a, _ in pairs]), np.asarray([b for _, b in pairs])
    gap = float(np.mean(point[r] - point[p]))
    spread = np.mean(samples[:, r] - samples[:, p], axis=1)  # NaN: a round missing one of them
    if np.isnan(spread).all():
        return None
    lo, hi = np.nanpercentile(spread, [2.5, 97.5])
    return ReasoningEffect(
        rating_points=round(gap, 1), ci95=(round(float(lo), 1), round(float(hi), 1)), pairs=len(pairs)
    )


def reasoning_effect(
    sessions: Sequence[Session],
    data: Data,
    raters: Sequence[str],
    rounds: int,
    seed: int,
    weights: dict[str, float] | None = None,
) -> ReasoningEffect | None:
    """How many rating points reasoning adds, overall and per tag, from the base models
    that appear both with and without reasoning; None when none does (the report then
    says :data:`NO_REASONING_PAIR`). ``weights``: the votes' weights by rater, as in ``data``."""
    overall = _effect(data, rounds, seed)
    if overall is None:
        return None
    tags = sorted({t for s in sessions if s.study for t in s.study.tags})
    for tag in tags:
        found = _effect(collect(sessions, [tag], raters, weights), rounds, seed)
        if found is not None:
            overall.by_tag[tag] = Gap(found.rating_points, found.ci95)
    return overall
