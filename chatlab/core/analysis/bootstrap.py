"""Intervals and ranks: a bootstrap over prompts, and FastChat's rank rule on its bounds.

Votes on one prompt are correlated, so the bootstrap resamples prompts with all their
votes; every round is fitted at once (:func:`chatlab.core.analysis.fitting.fit_many`).
A rank is 1 + the number of contenders whose lower bound is above this one's upper
bound, and with a placebo's noise floor, further ahead than that floor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chatlab.core.analysis.fitting import design, elo, fit_many
from chatlab.core.analysis.votes import Vote

BOOTSTRAP = 1000
SEED = 20261127


def bootstrap(
    votes: Sequence[Vote],
    n: int,
    rounds: int = BOOTSTRAP,
    seed: int = SEED,
    prior: float = 0.1,
    *,
    mask_absent: bool = True,
) -> np.ndarray:
    """``rounds`` × ``n`` ratings, each fitted on prompts drawn with replacement (every
    prompt with all its votes); all rounds are fitted together.

    A contender on none of a round's drawn prompts has no data in that round: its
    rating there would be the prior's alone, a made-up value that pulls its interval
    towards the middle (a contender seen on one prompt would get a *narrower* interval
    than one seen on many). Such a round gives it NaN (``mask_absent``), so intervals
    come from the rounds that saw it (read them with ``np.nanpercentile``)."""
    d = design(votes, n)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(d.prompts), (rounds, len(d.prompts)))
    times = np.zeros((rounds, len(d.prompts)))
    np.add.at(times, (np.arange(rounds)[:, None], picks), 1.0)
    # Every round starts from the whole data's fit, and stops at a ten-thousandth of a
    # log unit (0.02 rating points): far below any interval, and sparse data (many
    # contenders, few votes each) converges in seconds, not minutes.
    point = fit_many(d.groups, d.counts.sum(axis=0)[None, :], d.wins.sum(axis=0)[None, :], prior, 5_000, 1e-6)
    counts = times @ d.counts
    samples = elo(fit_many(d.groups, counts, times @ d.wins, prior, 2_000, 1e-4, start=point[0]))
    if mask_absent:
        samples[(counts @ d.groups) == 0] = np.nan
    return samples


def ranks(
    lower: Sequence[float],
    upper: Sequence[float],
    ratings: Sequence[float] | None = None,
    noise: float | None = None,
) -> list[int]:
    """FastChat's rule: 1 + the number of contenders whose lower bound is above my upper
    bound. With a placebo's noise floor (``noise``, the upper bound of the gap between
    two copies of one lane), a contender also has to be more than that many points
    ahead to rank above: smaller gaps are not distinguishable."""
    out = []
    for i, up in enumerate(upper):
        above = 0
        for j, lo in enumerate(lower):
            if lo > up and (noise is None or ratings is None or ratings[j] - ratings[i] > noise):
                above += 1
        out.append(1 + above)
    return out
