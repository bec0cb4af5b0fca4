"""The answer to a study: ratings with intervals, and whether raters could tell who reasoned.

Votes come from sessions (a study's comparisons, imported files, interactive turns), so
the numbers can be recomputed from any export. A vote is a best-of-N choice among the
lanes whose answer was ``ok``: it is fitted as one Luce choice (at N = 2, exactly
Bradley–Terry) by maximum likelihood, with a tie or "all bad" giving each present lane
1/N of a win, never split into N−1 pairwise battles. Strengths are shown on the Elo
scale (400·log10 of the odds, mean 1000). 95 % intervals come from a bootstrap that
resamples prompts with all their votes (votes on one prompt are correlated), and the
rank is FastChat's: 1 + the number of contenders whose lower bound is above this one's
upper bound. "Could you tell?" counts votes with a single guess where exactly one
present lane reasoned: the exact one-sided p-value against chance is Poisson-binomial
when the number of lanes varies, with a Clopper–Pearson interval on accuracy and the
accuracy of "guess the longest answer" on the same trials beside it. Qt-free; numpy
and scipy do the numerical work.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chatlab.core.model import Lane, Response, Session, Status, Turn

FORMAT = "chatlab.stats"
VERSION = 1
BOOTSTRAP = 1000
SEED = 20261127
ELO = 400.0 / math.log(10.0)  # Elo points per unit of natural-log strength
PLACEBO = " (placebo)"  # how a suite labels its placebo twin


# -- contenders ---------------------------------------------------------------------------


def contender_id(lane: Lane) -> str:
    """``provider:model``, with its non-default parameters: ``openai:o3 {reasoning_effort=high}``."""
    params = {k: v for k, v in lane.params.to_dict().items() if k != "system"}
    key = lane.spec
    if params:
        key += " {" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + "}"
    # A study's placebo twin is the same model under a second blind identity: a
    # contender of its own, so the gap between the two measures the noise.
    return key + PLACEBO if lane.label.endswith(PLACEBO) else key


def reasoned(resp: Response) -> bool:
    return resp.usage.reasoning_tokens > 0 or bool(resp.reasoning)


@dataclass
class Vote:
    """One vote, ready to fit: the contenders present (answer ``ok``) and their share of
    the win, the prompt it belongs to (the bootstrap's unit) and what else we need."""

    prompt: str
    present: list[int]  # contender indices
    share: list[float]  # of the win, summing to 1
    rater: str = ""
    choice: int | None = None  # the contender chosen, or None for a tie / all bad
    all_bad: bool = False
    guessed: list[int] | None = None
    reasoners: list[int] = field(default_factory=list)
    answer_tokens: list[int] = field(default_factory=list)  # per present contender


@dataclass
class Data:
    contenders: list[str]
    labels: list[str]
    reasoner: list[bool]
    votes: list[Vote]
    costs: list[list[float]]  # per contender: measured answer costs
    answer_tokens: list[list[int]]
    reasoning_tokens: list[list[int]]

    @property
    def prompts(self) -> int:
        return len({v.prompt for v in self.votes})


def collect(sessions: Iterable[Session], tags: Sequence[str] = (), raters: Sequence[str] = ()) -> Data:
    """The votes in ``sessions`` (non-repeat ones), filtered by study tags and raters."""
    index: dict[str, int] = {}
    labels: list[str] = []
    reasoner: list[bool] = []
    costs: list[list[float]] = []
    answer_tokens: list[list[int]] = []
    reasoning_tokens: list[list[int]] = []
    votes: list[Vote] = []

    def of(lane: Lane) -> int:
        key = contender_id(lane)
        if key not in index:
            index[key] = len(index)
            labels.append(lane.label or key)
            reasoner.append(False)
            costs.append([])
            answer_tokens.append([])
            reasoning_tokens.append([])
        return index[key]

    wanted_tags = set(tags)
    wanted_raters = set(raters)
    for session in sessions:
        if wanted_tags and not (session.study and wanted_tags & set(session.study.tags)):
            continue
        for turn in session.turns:
            _turn_votes(
                session, turn, of, wanted_raters, votes, reasoner, costs, answer_tokens, reasoning_tokens
            )
    return Data(list(index), labels, reasoner, votes, costs, answer_tokens, reasoning_tokens)


def _turn_votes(
    session: Session,
    turn: Turn,
    of: Any,
    wanted_raters: set[str],
    votes: list[Vote],
    reasoner: list[bool],
    costs: list[list[float]],
    answer_tokens: list[list[int]],
    reasoning_tokens: list[list[int]],
) -> None:
    lanes = {lane.id: lane for lane in (*session.lanes, *session.retired)}
    present: dict[str, int] = {}
    for lane_id, resp in turn.responses.items():
        lane = lanes.get(lane_id)
        if lane is None or resp.status is not Status.OK:
            continue
        c = of(lane)
        present[lane_id] = c
        if reasoned(resp):
            reasoner[c] = True
        if resp.cost_usd is not None:
            costs[c].append(resp.cost_usd)
        answer_tokens[c].append(_answer_tokens(resp))
        reasoning_tokens[c].append(resp.usage.reasoning_tokens)
    if not present:
        return
    prompt = f"{session.study.id}/{session.study.prompt_id}" if session.study else f"turn/{turn.id}"
    for vote in turn.votes:
        if vote.repeat or (wanted_raters and vote.rater not in wanted_raters):
            continue
        ids = [lid for lid in (vote.shown_order or list(present)) if lid in present] or list(present)
        ids = list(dict.fromkeys(ids)) + [lid for lid in present if lid not in ids]
        members = [present[lid] for lid in ids]
        if vote.choice in present:
            share = [1.0 if lid == vote.choice else 0.0 for lid in ids]
            choice: int | None = present[vote.choice]
        else:
            share = [1.0 / len(ids)] * len(ids)
            choice = None
        votes.append(
            Vote(
                prompt=prompt,
                present=members,
                share=share,
                rater=vote.rater,
                choice=choice,
                all_bad=vote.choice == "all_bad",
                guessed=None if vote.guessed is None else [present[g] for g in vote.guessed if g in present],
                reasoners=[present[lid] for lid in ids if reasoned(turn.responses[lid])],
                answer_tokens=[_answer_tokens(turn.responses[lid]) for lid in ids],
            )
        )


def _answer_tokens(resp: Response) -> int:
    return max(0, resp.usage.output_tokens - resp.usage.reasoning_tokens)


# -- the Luce / Bradley–Terry fit ---------------------------------------------------------


def fit(
    votes: Sequence[Vote], n: int, prior: float = 0.0, iterations: int = 10_000, tol: float = 1e-10
) -> np.ndarray:
    """Log-strengths (mean 0) maximising the Luce likelihood of ``votes``, by Hunter's MM
    algorithm, with fractional wins. ``prior`` adds that many virtual votes in which all
    ``n`` contenders tie, which keeps a contender that never won finite."""
    wins = np.zeros(n)
    sets: list[np.ndarray] = []
    for v in votes:
        members = np.asarray(v.present, dtype=np.intp)
        np.add.at(wins, members, np.asarray(v.share))
        sets.append(members)
    if prior > 0:
        wins += prior / n
    gamma = np.ones(n)
    appears = np.zeros(n, dtype=bool)
    for members in sets:
        appears[members] = True
    if prior > 0:
        appears[:] = True
    # Group votes by their member set: the MM denominator needs Σ over votes of 1/Σγ.
    groups: dict[tuple[int, ...], int] = {}
    for members in sets:
        key = tuple(sorted(members.tolist()))
        groups[key] = groups.get(key, 0) + 1
    keys = [np.asarray(k, dtype=np.intp) for k in groups]
    counts = np.asarray(list(groups.values()), dtype=float)
    for _ in range(iterations):
        denom = np.zeros(n)
        totals = np.asarray([gamma[k].sum() for k in keys]) if keys else np.zeros(0)
        for k, count, total in zip(keys, counts, totals, strict=True):
            denom[k] += count / total
        if prior > 0:
            denom += prior / gamma.sum()
        new = np.where(appears & (denom > 0), wins / np.where(denom > 0, denom, 1.0), gamma)
        new = np.where(new > 0, new, 1e-300)
        new /= math.exp(np.log(new[appears]).mean()) if appears.any() else 1.0
        if np.max(np.abs(np.log(new) - np.log(gamma))) < tol:
            gamma = new
            break
        gamma = new
    logs = np.log(gamma)
    return logs - (logs[appears].mean() if appears.any() else 0.0)


def elo(logs: np.ndarray) -> np.ndarray:
    """Log-strengths as Elo-scale ratings with mean 1000."""
    return 1000.0 + ELO * (logs - logs.mean())


def bootstrap(
    votes: Sequence[Vote], n: int, rounds: int = BOOTSTRAP, seed: int = SEED, prior: float = 0.1
) -> np.ndarray:
    """``rounds`` × ``n`` ratings, each fitted on prompts drawn with replacement (every
    prompt with all its votes)."""
    by_prompt: dict[str, list[Vote]] = {}
    for v in votes:
        by_prompt.setdefault(v.prompt, []).append(v)
    prompts = list(by_prompt)
    rng = np.random.default_rng(seed)
    out = np.empty((rounds, n))
    for r in range(rounds):
        picks = rng.integers(0, len(prompts), len(prompts))
        sample = [v for i in picks for v in by_prompt[prompts[i]]]
        out[r] = elo(fit(sample, n, prior=prior, tol=1e-7))
    return out


def ranks(lower: Sequence[float], upper: Sequence[float]) -> list[int]:
    """FastChat's rule: 1 + the number of contenders whose lower bound is above my upper."""
    return [1 + sum(lo > up for lo in lower) for up in upper]


# -- could you tell? ----------------------------------------------------------------------


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


@dataclass(frozen=True)
class Discrimination:
    trials: int
    correct: int
    chance: float  # mean chance of a right guess
    p_value: float
    accuracy_ci95: tuple[float, float]
    longest_answer_accuracy: float | None


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
        if v.answer_tokens.count(top) == 1 and v.present[v.answer_tokens.index(top)] == truth:
            longest += 1
    if not chances:
        return None
    n = len(chances)
    return Discrimination(
        trials=n,
        correct=correct,
        chance=float(np.mean(chances)),
        p_value=exact_p(correct, chances),
        accuracy_ci95=clopper_pearson(correct, n),
        longest_answer_accuracy=longest / n,
    )


# -- the whole answer ---------------------------------------------------------------------


def compute(
    sessions: Iterable[Session],
    *,
    study: str | None = None,
    tags: Sequence[str] = (),
    raters: Sequence[str] = (),
    rounds: int = BOOTSTRAP,
    seed: int = SEED,
) -> dict[str, Any]:
    """The ``chatlab.stats`` document (version 1) for these sessions."""
    data = collect(sessions, tags, raters)
    n = len(data.contenders)
    contenders: list[dict[str, Any]] = []
    if n and data.votes:
        point = elo(fit(data.votes, n, prior=0.1))
        samples = bootstrap(data.votes, n, rounds, seed)
        lower = np.percentile(samples, 2.5, axis=0)
        upper = np.percentile(samples, 97.5, axis=0)
        rank = ranks(lower.tolist(), upper.tolist())
    else:
        point = np.full(n, 1000.0)
        lower = upper = point
        rank = [1] * n
    appearances = np.zeros(n)
    wins = np.zeros(n)
    all_bad = np.zeros(n)
    for v in data.votes:
        for member, share in zip(v.present, v.share, strict=True):
            appearances[member] += 1
            wins[member] += share
            all_bad[member] += v.all_bad
    mean_cost = [float(np.mean(c)) if c else None for c in data.costs]
    frontier = _frontier(point.tolist(), mean_cost)
    for i, key in enumerate(data.contenders):
        contenders.append(
            {
                "id": key,
                "label": data.labels[i],
                "reasoner": data.reasoner[i],
                "rating": round(float(point[i]), 1),
                "ci95": [round(float(lower[i]), 1), round(float(upper[i]), 1)],
                "rank": rank[i],
                "rating_length_controlled": None,
                "appearances": int(appearances[i]),
                "wins": round(float(wins[i]), 3),
                "all_bad_rate": round(float(all_bad[i] / appearances[i]), 4) if appearances[i] else 0.0,
                "mean_score": None,
                "mean_cost_usd": mean_cost[i],
                "mean_answer_tokens": round(float(np.mean(data.answer_tokens[i])), 1)
                if data.answer_tokens[i]
                else 0.0,
                "mean_reasoning_tokens": round(float(np.mean(data.reasoning_tokens[i])), 1)
                if data.reasoning_tokens[i]
                else 0.0,
                "on_cost_frontier": frontier[i],
            }
        )
    contenders.sort(key=lambda c: (c["rank"], -c["rating"]))
    found = discrimination(data.votes)
    return {
        "format": FORMAT,
        "version": VERSION,
        "filters": {"study": study, "tags": list(tags), "raters": list(raters)},
        "votes": len(data.votes),
        "prompts": data.prompts,
        "contenders": contenders,
        "reasoning_effect": None,
        "discrimination": None
        if found is None
        else {
            "trials": found.trials,
            "correct": found.correct,
            "chance": round(found.chance, 4),
            "p_value": found.p_value,
            "accuracy_ci95": [round(found.accuracy_ci95[0], 4), round(found.accuracy_ci95[1], 4)],
            "longest_answer_accuracy": found.longest_answer_accuracy,
        },
        "agreement": None,
        "position_bias": None,
        "noise_floor": None,
    }


def _frontier(ratings: Sequence[float], costs: Sequence[float | None]) -> list[bool]:
    """Not beaten on both: no other contender is at least as good and at most as dear,
    and strictly better in one. A contender with no price is not on the frontier."""
    out = []
    for i, (r, c) in enumerate(zip(ratings, costs, strict=True)):
        if c is None:
            out.append(False)
            continue
        beaten = any(
            j != i and oc is not None and ro >= r and oc <= c and (ro > r or oc < c)
            for j, (ro, oc) in enumerate(zip(ratings, costs, strict=True))
        )
        out.append(not beaten)
    return out
