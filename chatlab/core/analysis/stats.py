"""The answer to a study: ratings with intervals, and whether raters could tell who reasoned.

Votes come from sessions (a study's comparisons, imported files, interactive turns), so
the numbers can be recomputed from any export. A vote is a best-of-N choice among the
lanes whose answer was ``ok``: it is fitted as one Luce choice (at N = 2, exactly
Bradley–Terry) by maximum likelihood, with a tie or "all bad" giving each present lane
1/N of a win, never split into N−1 pairwise battles. Strengths are shown on the Elo
scale (400·log10 of the odds, mean 1000). 95 % intervals come from a bootstrap that
resamples prompts with all their votes (votes on one prompt are correlated), and the
rank is FastChat's: 1 + the number of contenders whose lower bound is above this one's
upper bound (below ten prompts, none where the interval is hidden). "Could you tell?"
counts votes with a single guess where exactly one present lane reasoned: the exact
one-sided p-value against chance is Poisson-binomial when the number of lanes varies,
with a Clopper–Pearson interval on accuracy and the accuracy of "guess the longest
answer" on the same trials beside it; "reasoned?" marks on every answer are tested
with the vote as the unit. Rater agreement is Krippendorff's α, a vote coded by the
contender chosen. Qt-free; numpy and scipy do the numerical work.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from chatlab.core.data.model import Lane, Response, Session, Status, Turn

FORMAT = "chatlab.stats"
VERSION = 1
BOOTSTRAP = 1000
SEED = 20261127
ELO = 400.0 / math.log(10.0)  # Elo points per unit of natural-log strength
PLACEBO = " (placebo)"  # added to a placebo twin's contender id (and " (placebo 2)"… if taken)
MIN_PROMPTS = 2  # a bootstrap over prompts needs at least two
FEW_PROMPTS = 10  # below this, the intervals say little, and chatlab says so
MIN_LENGTH_VOTES = 30  # the length-controlled fit needs this many votes


# -- contenders ---------------------------------------------------------------------------


def model_id(lane: Lane) -> str:
    """``provider:model``, with its non-default parameters: ``openai:o3 {reasoning_effort=high}``."""
    params = {k: v for k, v in lane.params.to_dict().items() if k != "system"}
    key = lane.spec
    if params:
        key += " {" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + "}"
    return key


def contender_id(lane: Lane) -> str:
    """:func:`model_id`; a study's placebo twin (:attr:`Lane.placebo`, never its label)
    is the same model under a second blind identity, a contender of its own, so the gap
    between the two measures the noise: its id has `` (placebo)`` added. (Should another
    contender already have that id, :meth:`Data.of` numbers the twin's.)"""
    key = model_id(lane)
    return key + PLACEBO if lane.placebo else key


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
    # Answers are named by their place in ``present`` (a lane), never by contender: one
    # model may sit in two lanes of a vote, and only one of them may have reasoned.
    guessed: list[int] | None = None  # the places marked "reasoned"
    reasoners: list[int] = field(default_factory=list)  # the places whose answer reasoned
    answer_tokens: list[int] = field(default_factory=list)  # per place
    item: str = ""  # the turn voted on (raters agree or not about the same item)
    position: int | None = None  # the chosen answer's place on screen (0 = Model A)
    shown: int = 0  # how many answers were on screen


@dataclass
class Data:
    contenders: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    reasoner: list[bool] = field(default_factory=list)
    votes: list[Vote] = field(default_factory=list)
    costs: list[list[float]] = field(default_factory=list)  # per contender: measured answer costs
    answer_tokens: list[list[int]] = field(default_factory=list)
    reasoning_tokens: list[list[int]] = field(default_factory=list)
    scores: list[list[int]] = field(default_factory=list)  # per contender: 1–5 scores
    scored: list[tuple[str, str, int]] = field(default_factory=list)  # (turn/lane, rater, score)
    repeats: list[tuple[str, str, str, str]] = field(default_factory=list)  # (item, rater, first, again)
    # Per contender: None, or for a placebo twin the id of the contender it copies (its
    # model_id, which is also its original's contender id). Twins are known by this,
    # never by what their id or label says.
    twins: list[str | None] = field(default_factory=list)
    specs: list[str] = field(default_factory=list)  # per contender: provider:model
    index: dict[tuple[str, bool], int] = field(default_factory=dict)  # (model_id, twin?) -> contender

    @property
    def prompts(self) -> int:
        return len({v.prompt for v in self.votes})

    def twin_of(self, c: int) -> str | None:
        """The model id a placebo twin copies, or None when ``c`` is no twin."""
        return self.twins[c] if c < len(self.twins) else None

    def original(self, c: int) -> int | None:
        """The contender a placebo twin copies (None: ``c`` is no twin, or its original
        was never seen)."""
        key = self.twin_of(c)
        if key is None:
            return None
        return next(
            (j for j, other in enumerate(self.contenders) if other == key and self.twin_of(j) is None), None
        )

    def _twin_name(self, key: str, c: int) -> str:
        """A twin's id: ``key (placebo)``, or ``key (placebo 2)``… when another contender
        (a model itself named "… (placebo)") has that id."""
        taken = {other for j, other in enumerate(self.contenders) if j != c}
        name, k = key + PLACEBO, 2
        while name in taken:
            name, k = f"{key} (placebo {k})", k + 1
        return name

    def of(self, lane: Lane) -> int:
        key = model_id(lane)
        slot = (key, lane.placebo)
        if slot not in self.index:
            c = len(self.contenders)
            self.index[slot] = c
            self.contenders.append(self._twin_name(key, c) if lane.placebo else key)
            self.twins.append(key if lane.placebo else None)
            self.specs.append(lane.spec)
            self.labels.append(lane.label or self.contenders[c])
            self.reasoner.append(False)
            for table in (self.costs, self.answer_tokens, self.reasoning_tokens, self.scores):
                table.append([])
            if not lane.placebo:  # a twin named before this model came along steps aside
                for t, other in enumerate(self.contenders[:c]):
                    if other == key and self.twin_of(t) is not None:
                        self.contenders[t] = self._twin_name(self.twins[t] or "", t)
                        if self.labels[t] == key:
                            self.labels[t] = self.contenders[t]
        return self.index[slot]


def collect(sessions: Iterable[Session], tags: Sequence[str] = (), raters: Sequence[str] = ()) -> Data:
    """The votes in ``sessions`` (non-repeat ones), filtered by study tags and raters."""
    data = Data()
    wanted_tags = set(tags)
    wanted_raters = set(raters)
    for session in sessions:
        if wanted_tags and not (session.study and wanted_tags & set(session.study.tags)):
            continue
        for turn in session.turns:
            _turn_votes(session, turn, data, wanted_raters)
    return data


def _turn_votes(session: Session, turn: Turn, data: Data, wanted_raters: set[str]) -> None:
    lanes = {lane.id: lane for lane in (*session.lanes, *session.retired)}
    present: dict[str, int] = {}
    for lane_id, resp in turn.responses.items():
        lane = lanes.get(lane_id)
        if lane is None or resp.status is not Status.OK:
            continue
        c = data.of(lane)
        present[lane_id] = c
        if reasoned(resp):
            data.reasoner[c] = True
        if resp.cost_usd is not None:
            data.costs[c].append(resp.cost_usd)
        data.answer_tokens[c].append(_answer_tokens(resp))
        data.reasoning_tokens[c].append(resp.usage.reasoning_tokens)
        for rating in resp.ratings:
            if rating.score is not None and (not wanted_raters or rating.rater in wanted_raters):
                data.scores[c].append(rating.score)
                data.scored.append((f"{turn.id}/{lane_id}", rating.rater, rating.score))
    if not present:
        return
    prompt = f"{session.study.id}/{session.study.prompt_id}" if session.study else f"turn/{turn.id}"
    firsts = {v.rater: v.choice for v in turn.votes if not v.repeat}
    for vote in turn.votes:
        if wanted_raters and vote.rater not in wanted_raters:
            continue
        if vote.choice not in present and vote.choice not in ("tie", "all_bad"):
            continue  # chose an answer that failed: a choice among the others nobody made
        if vote.repeat:
            if vote.rater in firsts:
                data.repeats.append((turn.id, vote.rater, firsts[vote.rater], vote.choice))
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
        order = vote.shown_order or []
        data.votes.append(
            Vote(
                prompt=prompt,
                present=members,
                share=share,
                rater=vote.rater,
                choice=choice,
                all_bad=vote.choice == "all_bad",
                guessed=None
                if vote.guessed is None
                else [ids.index(g) for g in dict.fromkeys(vote.guessed) if g in present],
                reasoners=[k for k, lid in enumerate(ids) if reasoned(turn.responses[lid])],
                answer_tokens=[_answer_tokens(turn.responses[lid]) for lid in ids],
                item=turn.id,
                position=order.index(vote.choice) if vote.choice in order else None,
                shown=len(order),
            )
        )


def _answer_tokens(resp: Response) -> int:
    return max(0, resp.usage.output_tokens - resp.usage.reasoning_tokens)


# -- the Luce / Bradley–Terry fit ---------------------------------------------------------


@dataclass(frozen=True)
class Design:
    """Votes grouped for the fit: each distinct set of contenders present is a group."""

    groups: np.ndarray  # G × n, 1 where the contender is in the group's set
    counts: np.ndarray  # P × G: votes per prompt and group
    wins: np.ndarray  # P × n: fractional wins per prompt and contender
    prompts: list[str]


def design(votes: Sequence[Vote], n: int) -> Design:
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
        counts[p, keys[tuple(sorted(v.present))]] += 1
        np.add.at(wins[p], np.asarray(v.present, dtype=np.intp), np.asarray(v.share))
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


def bootstrap(
    votes: Sequence[Vote], n: int, rounds: int = BOOTSTRAP, seed: int = SEED, prior: float = 0.1
) -> np.ndarray:
    """``rounds`` × ``n`` ratings, each fitted on prompts drawn with replacement (every
    prompt with all its votes); all rounds are fitted together."""
    d = design(votes, n)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(d.prompts), (rounds, len(d.prompts)))
    times = np.zeros((rounds, len(d.prompts)))
    np.add.at(times, (np.arange(rounds)[:, None], picks), 1.0)
    # Every round starts from the whole data's fit, and stops at a ten-thousandth of a
    # log unit (0.02 rating points): far below any interval, and sparse data (many
    # contenders, few votes each) converges in seconds, not minutes.
    point = fit_many(d.groups, d.counts.sum(axis=0)[None, :], d.wins.sum(axis=0)[None, :], prior, 5_000, 1e-6)
    return elo(fit_many(d.groups, times @ d.counts, times @ d.wins, prior, 2_000, 1e-4, start=point[0]))


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


def _floor_bound(floor: dict[str, Any] | None) -> float | None:
    if floor is None:
        return None
    # The gap and its interval are signed (twin − original); noise is their largest size.
    return float(max(abs(floor["ci95"][0]), abs(floor["ci95"][1]), abs(floor["rating_points"])))


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
        if v.answer_tokens.count(top) == 1 and v.answer_tokens.index(top) == truth:
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


def judgements(votes: Sequence[Vote]) -> dict[str, Any] | None:
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
    return {
        "table": [[tp, fn], [fp, tn]],
        "p_value": vote_level_p(trials),
        "balanced_accuracy": round(sum(rates) / len(rates), 4),
    }


def _marks(v: Vote) -> tuple[int, int, int, int]:
    """(answers on screen, of them reasoners, marked "reasoned", marked and reasoned)."""
    assert v.guessed is not None
    m = len(v.present)
    places = range(m)
    truth = {k for k in v.reasoners if k in places}
    said = {k for k in v.guessed if k in places}
    return m, len(truth), len(said), len(truth & said)


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


def agreement(data: Data) -> dict[str, Any] | None:
    """Krippendorff's α between raters: nominal on votes, interval on 1–5 scores; items
    rated by one rater only add nothing. A vote is coded by what it chose that is the
    same from one comparison to the next: the chosen *contender* (a placebo twin is one
    of its own), a tie or all bad. Lane ids are new in every comparison, so coded by
    lane, chance agreement would be about nil and α about the raw agreement. The votes'
    expected disagreement is taken among comparisons that offered the same contenders
    (see :func:`nominal_alpha`), so raters who pick at random score α ≈ 0 however the
    comparisons differ."""
    raters = sorted({v.rater for v in data.votes})
    if len(raters) < 2 or not data.votes:
        return None
    # One value per item and rater (a later vote on the same item replaces an earlier one).
    votes: dict[tuple[str, str], str] = {}
    offered: dict[str, tuple[int, ...]] = {}  # per item: the contenders it offered
    for v in data.votes:
        votes[(v.item, v.rater)] = _vote_code(data, v)
        offered.setdefault(v.item, tuple(sorted(set(v.present))))
    by_item = _units(votes)
    pairable = sum(1 for values in by_item.values() if len(values) >= 2)
    scores: dict[tuple[str, str], float] = {}
    for item, rater, score in data.scored:
        scores[(item, rater)] = float(score)
    counts = {r: sum(1 for v in data.votes if v.rater == r) for r in raters}
    return {
        # Chance agreement among comparisons that offered the same contenders (studies of
        # other models, or a lane that failed, offer other choices).
        "votes_alpha": _round(nominal_alpha(by_item.values(), [offered[item] for item in by_item])),
        "scores_alpha": _round(interval_alpha(_units(scores).values()))
        if len({r for _, r in scores}) >= 2
        else None,
        "items": pairable,
        "raters": len(raters),
        "votes_per_rater": counts,
    }


def _vote_code(data: Data, v: Vote) -> str:
    if v.choice is not None:
        return data.contenders[v.choice] if v.choice < len(data.contenders) else f"#{v.choice}"
    return "all_bad" if v.all_bad else "tie"


def _units[T](values: dict[tuple[str, str], T]) -> dict[str, list[T]]:
    out: dict[str, list[T]] = {}
    for (item, _rater), value in values.items():
        out.setdefault(item, []).append(value)
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def nominal_alpha(
    units: Iterable[Sequence[Hashable]], strata: Iterable[Hashable] | None = None
) -> float | None:
    """Krippendorff's α for nominal values, from the coincidence matrix's margins without
    building it: each unit with m ≥ 2 values adds (m² − Σ_c n_uc²)/(m − 1) to the observed
    disagreement, and α = 1 − (n − 1)·Σ_u … / (n² − Σ_c n_c²) over the n pairable values.
    Time and memory are linear in the number of values. None when there is nothing to
    pair or every pairable value is the same (α is undefined).

    ``strata`` (one key per unit): the expected disagreement is taken within each
    stratum, from its own margins, and the strata's are added up: Σ_s (n_s² − Σ_c n_sc²)/
    (n_s − 1) in place of (n² − Σ_c n_c²)/(n − 1). Chance agreement is then the agreement
    of values paired at random among units that offered the same choices: a comparison of
    models a and b and one of c and d don't share a chance level. With one stratum this
    is Krippendorff's α exactly."""
    observed = 0.0
    totals: dict[Hashable, dict[Hashable, int]] = {}
    keys = iter(strata) if strata is not None else None
    for unit in units:
        stratum = next(keys) if keys is not None else None
        m = len(unit)
        if m < 2:
            continue
        here: dict[Hashable, int] = {}
        for value in unit:
            here[value] = here.get(value, 0) + 1
        observed += (m * m - sum(c * c for c in here.values())) / (m - 1)
        margins = totals.setdefault(stratum, {})
        for value, c in here.items():
            margins[value] = margins.get(value, 0) + c
    expected = 0.0
    for margins in totals.values():
        n_s = sum(margins.values())
        expected += (n_s * n_s - sum(c * c for c in margins.values())) / (n_s - 1)
    if expected <= 0:
        return None
    return 1.0 - observed / expected


def interval_alpha(units: Iterable[Sequence[float]]) -> float | None:
    """Krippendorff's α for interval values (δ² = (a − b)²), in linear time: a unit's
    pairs add Σ_{i≠j}(x_i − x_j)² = 2(m·Σx² − (Σx)²), divided by m − 1; the expected
    disagreement is the same sum over all n pairable values, divided by n − 1."""
    observed = 0.0
    n = 0
    total = squares = 0.0
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        x = np.asarray(unit, dtype=float)
        s, q = float(x.sum()), float(x @ x)
        observed += 2.0 * (m * q - s * s) / (m - 1)
        n += m
        total += s
        squares += q
    expected = 2.0 * (n * squares - total * total)
    if n < 2 or expected <= 1e-12 * max(1.0, n * squares):
        return None
    return 1.0 - (n - 1) * observed / expected


def retest(data: Data) -> dict[str, Any] | None:
    """Hidden repeats: how often a rater chose the same again."""
    if not data.repeats:
        return None
    same = sum(first == again for _, _, first, again in data.repeats)
    return {"repeats": len(data.repeats), "same": same, "agreement": round(same / len(data.repeats), 4)}


def position_bias(votes: Sequence[Vote]) -> dict[str, Any] | None:
    """A χ² test of the chosen screen place against "every place alike" (each vote
    expects 1/N at each of its N places)."""
    from scipy.stats import chisquare

    chosen = [v for v in votes if v.position is not None and v.shown >= 2]
    if len(chosen) < 5:
        return None
    width = max(v.shown for v in chosen)
    observed = np.zeros(width)
    expected = np.zeros(width)
    for v in chosen:
        assert v.position is not None
        observed[v.position] += 1
        expected[: v.shown] += 1 / v.shown
    keep = expected > 0
    chi2, p = chisquare(observed[keep], expected[keep])
    return {"chi2": round(float(chi2), 4), "p_value": float(p), "by_position": observed.astype(int).tolist()}


def noise_floor(data: Data, point: np.ndarray, samples: np.ndarray) -> dict[str, Any] | None:
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
    lo, hi = np.percentile(spread, [2.5, 97.5])
    # Signed, like its interval: the twin's rating minus its original's.
    return {"rating_points": round(gap, 1), "ci95": [round(float(lo), 1), round(float(hi), 1)]}


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


def _effect(data: Data, rounds: int, seed: int) -> dict[str, Any] | None:
    pairs = reasoning_pairs(data)
    if not pairs or not data.votes:
        return None
    n = len(data.contenders)
    point = elo(fit(data.votes, n, prior=0.1))
    samples = bootstrap(data.votes, n, rounds, seed)
    r, p = np.asarray([a for a, _ in pairs]), np.asarray([b for _, b in pairs])
    gap = float(np.mean(point[r] - point[p]))
    spread = np.mean(samples[:, r] - samples[:, p], axis=1)
    lo, hi = np.percentile(spread, [2.5, 97.5])
    return {
        "rating_points": round(gap, 1),
        "ci95": [round(float(lo), 1), round(float(hi), 1)],
        "pairs": len(pairs),
    }


def reasoning_effect(
    sessions: Sequence[Session], data: Data, raters: Sequence[str], rounds: int, seed: int
) -> dict[str, Any]:
    """How many rating points reasoning adds, overall and per tag, from the base models
    that appear both with and without reasoning; or why it can't be said."""
    overall = _effect(data, rounds, seed)
    if overall is None:
        return {
            "rating_points": None,
            "ci95": None,
            "by_tag": {},
            "why_not": "no model appears both with and without reasoning: add the same model with "
            "reasoning off (e.g. the shipped 'reasoning on vs off' preset) to the study",
        }
    tags = sorted({t for s in sessions if s.study for t in s.study.tags})
    by_tag = {}
    for tag in tags:
        found = _effect(collect(sessions, [tag], raters), rounds, seed)
        if found is not None:
            by_tag[tag] = {"rating_points": found["rating_points"], "ci95": found["ci95"]}
    return {**overall, "by_tag": by_tag}


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


# -- the whole answer ---------------------------------------------------------------------


def compute(
    sessions: Iterable[Session],
    *,
    study: str | None = None,
    tags: Sequence[str] = (),
    raters: Sequence[str] = (),
    rounds: int = BOOTSTRAP,
    seed: int = SEED,
    include_sighted: bool = False,
) -> dict[str, Any]:
    """The ``chatlab.stats`` document (version 1) for these sessions. ``raters`` are
    rater ids; the report shows their names. Sighted votes (cast with the models'
    names showing) are left out, with their raters' ratings of the same answers, and
    counted (``sighted_left_out``), unless ``include_sighted``."""
    sessions = list(sessions)
    shown = rater_labels(sessions)
    left_out = 0
    if not include_sighted:
        sessions, left_out = blind_only(sessions)
    data = collect(sessions, tags, raters)
    n = len(data.contenders)
    contenders: list[dict[str, Any]] = []
    samples = np.zeros((0, n))
    # With fewer than two prompts a bootstrap over prompts can't say anything: no interval
    # and no rank, rather than a zero-width interval that reads as certainty.
    uncertain = data.prompts >= MIN_PROMPTS
    if n and data.votes:
        point = elo(fit(data.votes, n, prior=0.1))
        samples = bootstrap(data.votes, n, rounds, seed)
        lower = np.percentile(samples, 2.5, axis=0)
        upper = np.percentile(samples, 97.5, axis=0)
        floor_gap = noise_floor(data, point, samples)
    else:
        point = np.full(n, 1000.0)
        lower = upper = point
        floor_gap = None
    appearances = np.zeros(n)
    wins = np.zeros(n)
    all_bad = np.zeros(n)
    for v in data.votes:
        for member, share in zip(v.present, v.share, strict=True):
            wins[member] += share
        for member in set(v.present):  # a contender present twice is still one appearance
            appearances[member] += 1
            all_bad[member] += v.all_bad
    mean_cost = [float(np.mean(c)) if c else None for c in data.costs]
    # An interval means something only from two prompts on, for a contender that was
    # voted on, and when it has width: a contender that never won (or never lost) gets
    # the same record in every bootstrap round, and its rating rests on the prior.
    notes: list[str | None] = [None] * n
    spread = [bool(uncertain and appearances[i] and upper[i] - lower[i] > 1e-6) for i in range(n)]
    for i in range(n):
        if not appearances[i]:
            notes[i] = "never in a voted comparison: no rating"
        elif wins[i] == 0:
            notes[i] = "never won: its rating rests on the prior, and has no interval"
            spread[i] = False
        elif wins[i] == appearances[i]:
            notes[i] = "never lost: its rating rests on the prior, and has no interval"
            spread[i] = False
    # A rank is read off the intervals. Below FEW_PROMPTS a hidden interval (never won or
    # never lost: every bootstrap round is the same data) is a single point set by the
    # prior, so that contender gets no rank, and the others' ranks don't count it: two
    # prompts won by one model are not "rank 1 at 1323, rank 2 at 677". A contender never
    # voted on has no rank and counts for no one.
    ranked = [
        bool(uncertain and appearances[i] and (spread[i] or data.prompts >= FEW_PROMPTS)) for i in range(n)
    ]
    counted = np.asarray(ranked, dtype=bool)
    floors = np.where(counted, lower, -np.inf)
    found_ranks = ranks(np.asarray(floors).tolist(), upper.tolist(), point.tolist(), _floor_bound(floor_gap))
    rank: list[int | None] = [found_ranks[i] if ranked[i] else None for i in range(n)]
    # Length control adds a parameter and needs data to fit it: with few votes it would
    # swing wildly, so it is left out (null) rather than shown as if it meant something.
    controlled = length_controlled(data.votes, n) if n and len(data.votes) >= MIN_LENGTH_VOTES else None
    # A contender never voted on has no rating (the prior alone would make one up), so it
    # is on no frontier either.
    frontier = _frontier(point.tolist(), [c if appearances[i] else None for i, c in enumerate(mean_cost)])
    for i, key in enumerate(data.contenders):
        contenders.append(
            {
                "id": key,
                "label": data.labels[i],
                "reasoner": data.reasoner[i],
                "rating": round(float(point[i]), 1) if appearances[i] else None,
                "ci95": [round(float(lower[i]), 1), round(float(upper[i]), 1)] if spread[i] else None,
                "rank": rank[i],
                **({"note": notes[i]} if notes[i] else {}),
                "rating_length_controlled": None if controlled is None else round(float(controlled[i]), 1),
                "appearances": int(appearances[i]),
                "wins": round(float(wins[i]), 3),
                "all_bad_rate": round(float(all_bad[i] / appearances[i]), 4) if appearances[i] else 0.0,
                "mean_score": round(float(np.mean(data.scores[i])), 3) if data.scores[i] else None,
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
    effect = reasoning_effect(sessions, data, raters, rounds, seed) if data.votes else None
    # Best first: by rank, then rating; by rating alone where a voted contender has no
    # rank; contenders never voted on last.
    every = all(rank[i] is not None for i in range(n) if appearances[i])
    order = sorted(range(n), key=lambda i: (not appearances[i], (rank[i] or 0) if every else 0, -point[i]))
    warning = None
    if data.votes and data.prompts < FEW_PROMPTS:
        warning = (
            f"only {data.prompts} prompt{'s' if data.prompts != 1 else ''}: intervals and ranks are "
            f"unreliable below about {FEW_PROMPTS}"
        )
    matrix = win_rates(data.votes, n)
    met = meetings(data.votes, n)
    contenders = [contenders[i] for i in order]
    found = discrimination(data.votes)
    return {
        "format": FORMAT,
        "version": VERSION,
        "filters": {"study": study, "tags": list(tags), "raters": [shown.get(r, r) for r in raters]},
        "votes": len(data.votes),
        "sighted_left_out": left_out,
        "prompts": data.prompts,
        "warning": warning,
        "contenders": contenders,
        "reasoning_effect": effect if effect and effect["rating_points"] is not None else None,
        "reasoning_effect_note": effect.get("why_not") if effect else None,
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
        "win_rates": {
            "ids": [data.contenders[i] for i in order],
            "matrix": [[matrix[a][b] for b in order] for a in order],
            "meetings": [[met[a][b] for b in order] for a in order],
        },
        "judgements": judgements(data.votes),
        "agreement": _named(agreement(data), shown),
        "retest": retest(data),
        "position_bias": position_bias(data.votes),
        "noise_floor": noise_floor(data, point, samples) if len(samples) else None,
    }


def rater_labels(sessions: Iterable[Session]) -> dict[str, str]:
    """{rater id: the name shown} for every rater of these sessions (two ids that go by
    one name are shown apart: "carol", "carol (2)")."""
    from chatlab.core.settings.raters import labels

    return labels(
        [(v.rater, v.rater_name) for s in sessions for t in s.turns for v in t.votes]
        + [
            (r.rater, r.rater_name)
            for s in sessions
            for t in s.turns
            for x in t.responses.values()
            for r in x.ratings
        ]
    )


def blind_only(sessions: Iterable[Session]) -> tuple[list[Session], int]:
    """These sessions without their sighted votes (and the ratings each such vote's rater
    gave that turn's answers), and how many votes were left out (hidden repeats not
    counted). Sessions and turns with nothing sighted are the same objects."""
    out: list[Session] = []
    left_out = 0
    for session in sessions:
        if not any(v.sighted for t in session.turns for v in t.votes):
            out.append(session)
            continue
        turns = []
        for turn in session.turns:
            sighted = {v.rater for v in turn.votes if v.sighted and not v.repeat}
            if not any(v.sighted for v in turn.votes):
                turns.append(turn)
                continue
            left_out += sum(1 for v in turn.votes if v.sighted and not v.repeat)
            responses = {
                lane_id: replace(resp, ratings=[r for r in resp.ratings if r.rater not in sighted])
                for lane_id, resp in turn.responses.items()
            }
            votes = [v for v in turn.votes if not v.sighted and not (v.repeat and v.rater in sighted)]
            turns.append(replace(turn, votes=votes, responses=responses))
        out.append(replace(session, turns=turns))
    return out, left_out


def _named(found: dict[str, Any] | None, shown: dict[str, str]) -> dict[str, Any] | None:
    """The agreement with its votes per rater under the raters' names, not their ids."""
    if found is None:
        return None
    return {**found, "votes_per_rater": {shown.get(r, r): n for r, n in found["votes_per_rater"].items()}}


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


def _pairwise(votes: Sequence[Vote], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(won, met): how often row beat column, and how often both were on screen."""
    won = np.zeros((n, n))
    met = np.zeros((n, n))
    for v in votes:
        # One meeting per vote and pair of contenders, even if one was on screen twice.
        here = list(dict.fromkeys(v.present))
        for a in here:
            for b in here:
                if a == b:
                    continue
                met[a, b] += 1
                if v.choice is None:
                    won[a, b] += 0.5
                elif v.choice == a:
                    won[a, b] += 1
                elif v.choice != b:
                    won[a, b] += 0.5  # a third answer won: neither beat the other
    return won, met


def win_rates(votes: Sequence[Vote], n: int) -> list[list[float | None]]:
    """How often row beat column when both were on screen: the chosen answer beats every
    other present one; a tie or all bad is half a win each way. None: they never met."""
    won, met = _pairwise(votes, n)
    return [[round(won[a, b] / met[a, b], 4) if met[a, b] else None for b in range(n)] for a in range(n)]


def meetings(votes: Sequence[Vote], n: int) -> list[list[int]]:
    """How many votes showed both row and column: what each win rate rests on."""
    met = _pairwise(votes, n)[1]
    return [[int(met[a, b]) for b in range(n)] for a in range(n)]


def summary(doc: dict[str, Any]) -> list[str]:
    """The findings under the table, one sentence each, only what the data allow (the
    CLI prints them; the Leaderboard view shows them)."""
    out = []
    if doc.get("warning"):
        out.append(f"Careful: {doc['warning']}.")
    d = doc.get("discrimination")
    if d is None:
        out.append(
            "Could you tell which one reasoned? No vote has a single guess where exactly one answer reasoned."
        )
    else:
        lo, hi = d["accuracy_ci95"]
        longest = d["longest_answer_accuracy"]
        out.append(
            f"Could you tell which one reasoned? {d['correct']} of {d['trials']} right "
            f"({d['correct'] / d['trials']:.0%}, 95 % CI {lo:.0%}–{hi:.0%}) "
            f"against {d['chance']:.0%} by chance, p = {d['p_value']:.3g}"
            + (f"; guessing the longest answer: {longest:.0%}." if longest is not None else ".")
        )
        if d["p_value"] > 0.05 and d["chance"] < 0.65:  # not yet: say how many votes it would take
            need = trials_needed(0.65, d["chance"])
            out.append(
                f"To tell a 65 % guesser from chance here takes about {need} such votes "
                f"(α 0.05, 80 % power); there are {d['trials']}."
            )
    effect = doc.get("reasoning_effect")
    if effect and effect["rating_points"] is not None:
        lo, hi = effect["ci95"]
        tags = ", ".join(
            f"{tag} {e['rating_points']:+.0f} ({e['ci95'][0]:+.0f} to {e['ci95'][1]:+.0f})"
            for tag, e in effect["by_tag"].items()
        )
        out.append(
            f"Reasoning adds {effect['rating_points']:+.0f} rating points (95 % CI {lo:+.0f} to {hi:+.0f})"
            + (f"; by tag: {tags}." if tags else ".")
        )
    elif doc.get("reasoning_effect_note"):
        out.append(f"The reasoning effect can't be estimated: {doc['reasoning_effect_note']}.")
    j = doc.get("judgements")
    if j:
        (tp, fn), (fp, tn) = j["table"]
        out.append(
            f"Each answer judged 'reasoned?': {tp} of {tp + fn} reasoners and {tn} of {tn + fp} plain "
            f"answers called right, balanced accuracy {j['balanced_accuracy']:.0%}; "
            f"exact permutation test over votes against guessing, p = {j['p_value']:.3g}."
        )
    floor = doc.get("noise_floor")
    if floor:
        lo, hi = floor["ci95"]
        gap = floor["rating_points"]
        where = f"{abs(gap):.0f} points {'below' if gap < 0 else 'above'}" if round(gap) else "level with"
        out.append(
            f"Noise floor: the placebo twin lands {where} its original "
            f"(twin − original {gap:+.0f}, 95 % CI {lo:+.0f} to {hi:+.0f}); "
            "smaller gaps between contenders mean nothing."
        )
    a = doc.get("agreement")
    if a:
        votes = "–" if a["votes_alpha"] is None else f"{a['votes_alpha']:.2f}"
        scores = "–" if a["scores_alpha"] is None else f"{a['scores_alpha']:.2f}"
        out.append(
            f"Raters agree: Krippendorff's alpha {votes} on votes, {scores} on scores "
            f"({a['raters']} raters, {a['items']} items rated by two or more)."
        )
    left_out = doc.get("sighted_left_out")
    if left_out:
        out.append(
            f"Left out {left_out} sighted vote{'s' if left_out != 1 else ''}, cast with the models' "
            "names showing (chatlab stats --include-sighted counts them)."
        )
    r = doc.get("retest")
    if r:
        out.append(f"Hidden repeats: the same choice again {r['same']} of {r['repeats']} times.")
    bias = doc.get("position_bias")
    if bias:
        places = ", ".join(
            f"{chr(ord('A') + i) if i < 26 else i + 1}: {n}" for i, n in enumerate(bias["by_position"])
        )
        out.append(
            f"Answers chosen by their place on screen (Model {places}); "
            f"χ² test against no preference, p = {bias['p_value']:.3g}."
        )
    return out
