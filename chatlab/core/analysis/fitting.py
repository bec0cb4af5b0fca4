"""The rating fit: each vote one Luce choice among the contenders present, by maximum
likelihood.

At N = 2 a Luce choice is exactly Bradley–Terry; a tie or "all bad" gives each present
contender 1/N of a win, never N−1 pairwise battles. Hunter's MM algorithm fits many data
sets at once (:func:`fit_many`, which the bootstrap uses); strengths are shown on the Elo
scale (400·log10 of the odds, mean 1000). :func:`length_controlled` adds LMArena's style
control for answer length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chatlab.core.analysis.votes import Vote

ELO = 400.0 / math.log(10.0)  # Elo points per unit of natural-log strength


@dataclass(frozen=True)
class Design:
    """Votes grouped for the fit: each distinct set of contenders present is a group."""

    groups: np.ndarray  # G × n, 1 where the contender is in the group's set
    counts: np.ndarray  # P × G: votes per prompt and group
    wins: np.ndarray  # P × n: fractional wins per prompt and contender
    prompts: list[str]


def design(votes: Sequence[Vote], n: int) -> Design:
    """The votes grouped; a vote counts its :attr:`Vote.weight` (a judge's below 1), so
    the fit maximises the weighted Luce likelihood Σ w·log P(choice)."""
    keys: dict[tuple[int, ...], int] = {}
    prompts: dict[str, int] = {}
    for v in votes:
        keys.setdefault(tuple(sorted(v.present)), len(keys))
        prompts.setdefault(v.prompt, len(prompts))
    groups = np.zeros((len(keys), n))
    for key, g in keys.items():
        np.add.at(groups[g], list(key), 1.0)  # the same contender twice in a vote counts twice
    counts = np.zeros((len(prompts), len(keys)))
    wins = np.zeros((len(prompts), n))
    for v in votes:
        p = prompts[v.prompt]
        counts[p, keys[tuple(sorted(v.present))]] += v.weight
        np.add.at(wins[p], np.asarray(v.present, dtype=np.intp), v.weight * np.asarray(v.share))
    return Design(groups, counts, wins, list(prompts))


def fit_many(
    groups: np.ndarray,
    counts: np.ndarray,
    wins: np.ndarray,
    prior: float = 0.0,
    iterations: int = 10_000,
    tol: float = 1e-10,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Log-strengths (B × n, each row mean 0 over the contenders it has seen) maximising
    the Luce likelihood of B data sets at once, by Hunter's MM algorithm: for each row,
    γ_i ← W_i / Σ_votes (count of i in the vote) / Σ_{j present} γ_j, with fractional wins
    W (a contender present twice in one vote counts twice, as the Luce model says).
    ``prior`` adds that many virtual votes in which all n contenders tie, which keeps a
    contender that never won finite. Every row is one matrix product per iteration;
    rows that have converged stop, and ``start`` (log-strengths) warms them all up."""
    n = groups.shape[1]
    wins = wins + prior / n
    seen = (counts @ groups > 0) | (prior > 0)
    gamma = np.ones_like(wins) if start is None else np.exp(np.broadcast_to(start, wins.shape)).copy()
    active = np.arange(len(wins))
    for _ in range(iterations):
        if not active.size:
            break
        g, c, w, sn = gamma[active], counts[active], wins[active], seen[active]
        totals = g @ groups.T  # B × G
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.where(totals > 0, c / totals, 0.0) @ groups  # B × n
        if prior > 0:
            denom = denom + prior / g.sum(axis=1, keepdims=True)
        new = np.where(sn & (denom > 0), w / np.where(denom > 0, denom, 1.0), g)
        logs = np.log(np.maximum(new, 1e-300))
        centre = np.where(sn, logs, 0.0).sum(axis=1, keepdims=True) / np.maximum(
            sn.sum(axis=1, keepdims=True), 1
        )
        logs = np.where(sn, logs - centre, 0.0)
        change = np.max(np.abs(logs - np.log(g)), axis=1) if logs.size else np.zeros(0)
        gamma[active] = np.exp(logs)
        active = active[change >= tol]
    out: np.ndarray = np.log(gamma)
    return out


def fit(
    votes: Sequence[Vote], n: int, prior: float = 0.0, iterations: int = 10_000, tol: float = 1e-10
) -> np.ndarray:
    """Log-strengths (mean 0) maximising the Luce likelihood of ``votes`` (see :func:`fit_many`)."""
    d = design(votes, n)
    counts = d.counts.sum(axis=0)[None, :]
    wins = d.wins.sum(axis=0)[None, :]
    row: np.ndarray = fit_many(d.groups, counts, wins, prior, iterations, tol)[0]
    return row


def elo(logs: np.ndarray) -> np.ndarray:
    """Log-strengths as Elo-scale ratings with mean 1000 (per row)."""
    return 1000.0 + ELO * (logs - logs.mean(axis=-1, keepdims=True))


def length_controlled(votes: Sequence[Vote], n: int) -> np.ndarray | None:
    """Ratings with a contextual term for answer length, as LMArena's style control: each
    answer's utility is θ_i + β·z, with z = (t − o)/(t + o) for its answer tokens t (not
    reasoning) and the mean o of the other answers' in its vote; θ is reported, β absorbs
    the raters' taste for length."""
    from scipy.optimize import minimize

    rows = [v for v in votes if len(v.answer_tokens) == len(v.present) and len(v.present) >= 2]
    if not rows:
        return None
    members = [np.asarray(v.present, dtype=np.intp) for v in rows]
    zs = []
    for v in rows:
        tokens = np.asarray(v.answer_tokens, float)
        others = (tokens.sum() - tokens) / (len(tokens) - 1)  # the mean of the other answers
        # LMArena's bounded difference, exactly (a − b)/(a + b) at two answers: it
        # saturates, so a contender that always writes long is not blamed for every win.
        zs.append((tokens - others) / np.maximum(tokens + others, 1.0))
    shares = [np.asarray(v.share, float) for v in rows]

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        theta, beta = x[:n], x[n]
        total = 0.0
        grad = np.zeros(n + 1)
        for m, z, w in zip(members, zs, shares, strict=True):
            u = theta[m] + beta * z
            top = u.max()
            e = np.exp(u - top)
            prob = e / e.sum()
            total -= float(w @ u - (top + math.log(e.sum())))
            diff = prob - w
            np.add.at(grad, m, diff)
            grad[n] += float(diff @ z)
        total += 1e-4 * float(theta @ theta)  # identifies θ; negligible against the data
        grad[:n] += 2e-4 * theta
        return total, grad

    result = minimize(loss, np.zeros(n + 1), jac=True, method="L-BFGS-B")
    theta: np.ndarray = result.x[:n]
    return elo(theta)
