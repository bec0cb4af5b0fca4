"""Exact tests against chance, and the sample size they need.

A count of right guesses with varying chances is Poisson-binomial (:func:`exact_p`, the
binomial test itself when every chance is the same), with a Clopper–Pearson interval on
accuracy; :func:`trials_needed` plans the votes a test needs. :func:`vote_level_p` is
the exact permutation test of the "reasoned?" marks whose unit is the vote. scipy is
imported only when it is used.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np


@functools.lru_cache(maxsize=256)
def _tails(chances: tuple[float, ...]) -> np.ndarray:
    """P(at least k successes), for every k, by the exact recursion over trials."""
    dist = np.zeros(len(chances) + 1)
    dist[0] = 1.0
    for i, p in enumerate(chances, start=1):
        dist[1 : i + 1] = dist[1 : i + 1] * (1 - p) + dist[0:i] * p
        dist[0] *= 1 - p
    return np.clip(np.cumsum(dist[::-1])[::-1], 0.0, 1.0)


def poisson_binomial_tail(chances: Sequence[float], k: int) -> float:
    """P(at least ``k`` successes) for independent trials with these success chances."""
    if k <= 0:
        return 1.0
    if k > len(chances):
        return 0.0
    return float(_tails(tuple(chances))[k])


def exact_p(correct: int, chances: Sequence[float]) -> float:
    """The one-sided exact p-value of ``correct`` right answers or more by chance alone:
    Poisson-binomial (the binomial test itself when every trial has the same chance)."""
    if not chances:
        return 1.0
    return poisson_binomial_tail(chances, correct)


def clopper_pearson(correct: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.stats import beta

    if trials == 0:
        return 0.0, 1.0
    a = (1 - level) / 2
    lo = 0.0 if correct == 0 else float(beta.ppf(a, correct, trials - correct + 1))
    hi = 1.0 if correct == trials else float(beta.ppf(1 - a, correct + 1, trials - correct))
    return lo, hi


def trials_needed(accuracy: float, chance: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """The fewest trials with which a one-sided exact binomial test at ``alpha`` detects
    ``accuracy`` against ``chance`` with at least ``power``."""
    from scipy.stats import binom

    for n in range(1, 100_000):
        # the smallest k with P(X >= k | chance) <= alpha
        k = int(binom.isf(alpha, n, chance)) + 1
        while k > 0 and binom.sf(k - 2, n, chance) <= alpha:
            k -= 1
        while binom.sf(k - 1, n, chance) > alpha:
            k += 1
        if binom.sf(k - 1, n, accuracy) >= power:
            return n
    raise ValueError("no sample size up to 100,000 reaches that power")


@functools.lru_cache(maxsize=1024)
def _hypergeom_pmf(m: int, truth: int, said: int) -> tuple[float, ...]:
    """P(k of the ``said`` marked answers are reasoners), k = 0…min(said, truth), when the
    ``truth`` reasoners are a random ``truth``-subset of the ``m`` places."""
    top = min(said, truth)
    total = math.comb(m, said)
    return tuple(math.comb(truth, k) * math.comb(m - truth, said - k) / total for k in range(top + 1))


def _power(pmf: np.ndarray, times: int) -> np.ndarray:
    """The distribution of the sum of ``times`` independent draws from ``pmf``."""
    out = np.ones(1)
    base = pmf
    while times:
        if times & 1:
            out = np.convolve(out, base)
        times >>= 1
        if times:
            base = np.convolve(base, base)
    return out


def vote_level_p(trials: Sequence[tuple[int, int, int, int]]) -> float:
    """The exact one-sided p-value of the "reasoned?" marks against guessing.

    Each trial is one vote: (answers on screen m, reasoners r, marked g, marked reasoners
    h). The vote's score is the number of answers it called right, h + (m − g − r + h),
    which given m, g and r rises with h alone. Under the null that the marks are
    independent of which answers reasoned (the places of the reasoners are shuffled on
    screen), h is hypergeometric: r reasoners among m places, g of them marked. Votes are
    independent of each other, so the null distribution of Σh is the convolution of the
    votes' hypergeometric laws, computed exactly (identical votes by repeated squaring);
    the p-value is P(Σh ≥ observed). A vote with r or g at 0 or m carries no information
    and changes nothing."""
    kinds: dict[tuple[int, int, int], int] = {}
    observed = 0
    for m, truth, said, right in trials:
        if m < 2 or truth in (0, m) or said in (0, m):
            continue
        kinds[(m, truth, said)] = kinds.get((m, truth, said), 0) + 1
        observed += right
    dist = np.ones(1)
    for (m, truth, said), times in sorted(kinds.items()):
        dist = np.convolve(dist, _power(np.asarray(_hypergeom_pmf(m, truth, said)), times))
    if observed >= len(dist):
        return 0.0
    return float(min(1.0, max(0.0, dist[observed:].sum())))
