"""The answer to the votes: the typed :class:`Report`, its ``chatlab.stats`` document, and
its findings in words.

:func:`analyse` runs the rest of the package over sessions: votes (blind ones unless
asked), the rating fit with bootstrap intervals and ranks, win rates, the placebo's noise
floor, what reasoning adds, the raters' guesses, agreement, hidden repeats and position
bias. Humans' votes only, unless asked (a judge model's votes alone, or weighted beside the
humans'); every judge's calibration against the humans is in ``judges``
(:mod:`chatlab.core.analysis.judges`). :meth:`Report.to_dict` is the one serialisation
to the ``chatlab.stats`` document (version 1), which ``chatlab stats --json`` writes;
:func:`summary` says what the data allow, one sentence each, for the CLI and the
Leaderboard view. Qt-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

import numpy as np

from chatlab.core.analysis.accuracy import Accuracy, accuracy
from chatlab.core.analysis.agreement import Agreement, PositionBias, Retest, agreement, position_bias, retest
from chatlab.core.analysis.answer import Dose, Help, Spread, dose_response, reasoning_help, reasoning_tokens
from chatlab.core.analysis.bootstrap import BOOTSTRAP, SEED, bootstrap, ranks
from chatlab.core.analysis.exact import trials_needed
from chatlab.core.analysis.fitting import elo, fit, length_controlled
from chatlab.core.analysis.gaps import (
    NO_REASONING_PAIR,
    Gap,
    ReasoningEffect,
    _floor_bound,
    noise_floor,
    reasoning_effect,
)
from chatlab.core.analysis.guesses import (
    Discrimination,
    Judgements,
    discrimination,
    discrimination_reasoning,
    judgements,
)
from chatlab.core.analysis.judges import BOTH, HUMANS, Calibration, Raters, calibrate, select, used
from chatlab.core.analysis.votes import Data, Vote, blind_only, collect, rater_labels
from chatlab.core.data.model import Session
from chatlab.core.data.votes import is_judge

FORMAT = "chatlab.stats"
VERSION = 1
MIN_PROMPTS = 2  # a bootstrap over prompts needs at least two
FEW_PROMPTS = 10  # below this, the intervals say little, and chatlab says so
MIN_LENGTH_VOTES = 30  # the length-controlled fit needs this many votes
MIN_CONTENDER_PROMPTS = 5  # a contender's interval (and rank) needs votes on this many prompts
OMIT_NONE = {"omit_none": True}  # a field left out of the document when it is None

# Every part of the report is a dataclass whose fields are the document's keys, in the
# document's order: Report.to_dict writes them as they are declared.


@dataclass
class Filters:
    study: str | None = None
    tags: list[str] = field(default_factory=list)
    raters: list[str] = field(default_factory=list)  # as shown: the raters' names


@dataclass(kw_only=True)
class Contender:
    """One row of the table. ``rating`` is None for a contender never voted on; ``ci95``
    and ``rank`` are None where the data can't give them, and ``note`` says why."""

    id: str
    label: str
    reasoner: bool
    kind: str  # native (the provider reported reasoning), prompted (asked to think first), plain
    rating: float | None
    ci95: tuple[float, float] | None
    rank: int | None
    note: str | None = field(default=None, metadata=OMIT_NONE)
    rating_length_controlled: float | None
    appearances: int
    wins: float
    all_bad_rate: float
    mean_score: float | None
    mean_cost_usd: float | None
    mean_answer_tokens: float
    mean_reasoning_tokens: float
    on_cost_frontier: bool


@dataclass
class WinRates:
    """How often row beat column (None: they never met) and on how many votes, in the
    order of :attr:`Report.contenders`."""

    ids: list[str] = field(default_factory=list)
    matrix: list[list[float | None]] = field(default_factory=list)
    meetings: list[list[int]] = field(default_factory=list)


@dataclass(kw_only=True)
class Report:
    """The answer to the votes: the contenders best first, and every finding the data
    allow (None where they allow none)."""

    format: str = field(default=FORMAT, init=False)
    version: int = field(default=VERSION, init=False)
    filters: Filters = field(default_factory=Filters)
    votes: int = 0
    sighted_left_out: int = 0
    prompts: int = 0
    warning: str | None = None
    contenders: list[Contender] = field(default_factory=list)
    accuracy: list[Accuracy] = field(default_factory=list)  # on prompts with an answer key
    reasoning_help: list[Help] = field(default_factory=list)
    reasoning_tokens: dict[str, dict[str, Spread]] = field(default_factory=dict)
    dose_response: list[Dose] = field(default_factory=list)
    reasoning_effect: ReasoningEffect | None = None
    reasoning_effect_note: str | None = None  # why the reasoning effect can't be estimated
    discrimination: Discrimination | None = None
    # The same test where each answer's reasoning was on show: trained to reason?
    discrimination_reasoning: Discrimination | None = None
    win_rates: WinRates = field(default_factory=WinRates)
    judgements: Judgements | None = None
    agreement: Agreement | None = None
    retest: Retest | None = None
    position_bias: PositionBias | None = None
    noise_floor: Gap | None = None
    # Whose votes were counted (humans by default; a judge's only when asked), and each
    # judge rater's calibration against the humans (see chatlab.core.analysis.judges).
    raters: Raters | None = None
    judges: list[Calibration] = field(default_factory=list)
    # Every contender's label by id, voted on or not (the card names them); not in the document.
    labels: dict[str, str] = field(default_factory=dict, metadata={"omit": True})

    def to_dict(self) -> dict[str, Any]:
        """The ``chatlab.stats`` document (version 1)."""
        doc: dict[str, Any] = _plain(self)
        return doc


def _plain(value: object) -> Any:
    """A report part as JSON values: a dataclass as an object of its fields in order
    (without those marked :data:`OMIT_NONE` that are None), tuples as lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.metadata.get("key", f.name): _plain(getattr(value, f.name))
            for f in fields(value)
            if not f.metadata.get("omit")
            and not (f.metadata.get("omit_none") and getattr(value, f.name) is None)
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def compute(
    sessions: Iterable[Session],
    *,
    study: str | None = None,
    tags: Sequence[str] = (),
    raters: Sequence[str] = (),
    rounds: int = BOOTSTRAP,
    seed: int = SEED,
    include_sighted: bool = False,
    rater_kind: str = HUMANS,
) -> dict[str, Any]:
    """The ``chatlab.stats`` document for these sessions: :func:`analyse`'s report as
    :meth:`Report.to_dict` writes it."""
    found = analyse(
        sessions,
        study=study,
        tags=tags,
        raters=raters,
        rounds=rounds,
        seed=seed,
        include_sighted=include_sighted,
        rater_kind=rater_kind,
    )
    return found.to_dict()


def analyse(
    sessions: Iterable[Session],
    *,
    study: str | None = None,
    tags: Sequence[str] = (),
    raters: Sequence[str] = (),
    rounds: int = BOOTSTRAP,
    seed: int = SEED,
    include_sighted: bool = False,
    rater_kind: str = HUMANS,
) -> Report:
    """The report for these sessions. ``study`` names the study in the filters. ``raters``
    are rater ids; the report shows their names. Sighted votes (cast with the models'
    names showing) are left out, with their raters' ratings of the same answers, and
    counted (``sighted_left_out``), unless ``include_sighted``. ``rater_kind`` says whose
    votes count: ``humans`` (the default: a judge model's votes count in nothing),
    ``judges``, or ``both`` (a judge's weighted by its agreement with the humans); every
    judge's calibration against the blind human votes is in :attr:`Report.judges`."""
    sessions = list(sessions)
    shown = rater_labels(sessions)
    left_out = 0
    if not include_sighted:
        sessions, left_out = blind_only(sessions)
    tagged_all = [s for s in sessions if not tags or (s.study is not None and set(tags) & set(s.study.tags))]
    calibrated = calibrate(blind_only(tagged_all)[0], shown, rounds, seed)
    sessions, weights = select(sessions, rater_kind, calibrated)
    data = collect(sessions, tags, raters, weights)
    whose = used(rater_kind, {v.rater for v in data.votes}, calibrated, weights)
    n = len(data.contenders)
    contenders: list[Contender] = []
    samples = np.zeros((0, n))
    # With fewer than two prompts a bootstrap over prompts can't say anything: no interval
    # and no rank, rather than a zero-width interval that reads as certainty.
    uncertain = data.prompts >= MIN_PROMPTS
    if n and data.votes:
        point = elo(fit(data.votes, n, prior=0.1))
        samples = bootstrap(data.votes, n, rounds, seed)
        seen = ~np.isnan(samples).all(axis=0)  # a contender never voted on has no round at all
        lower, upper = point.copy(), point.copy()
        lower[seen] = np.nanpercentile(samples[:, seen], 2.5, axis=0)
        upper[seen] = np.nanpercentile(samples[:, seen], 97.5, axis=0)
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
    # An interval from a handful of prompts says more about those prompts than about the
    # contender: below MIN_CONTENDER_PROMPTS it is not shown, and the contender not ranked.
    on_prompts = [len({v.prompt for v in data.votes if i in v.present}) for i in range(n)]
    for i in range(n):
        if not appearances[i]:
            notes[i] = "never in a voted comparison: no rating"
        elif on_prompts[i] < MIN_CONTENDER_PROMPTS:
            k = on_prompts[i]
            notes[i] = (
                f"too few votes: on {k} prompt{'s' if k != 1 else ''}; an interval needs "
                f"{MIN_CONTENDER_PROMPTS}"
            )
            spread[i] = False
        elif wins[i] == 0:
            notes[i] = "never won: its rating rests on the prior, and has no interval"
            spread[i] = False
        elif wins[i] == appearances[i]:
            notes[i] = "never lost: its rating rests on the prior, and has no interval"
            spread[i] = False
    # A rank is read off the intervals: a contender with none (too few prompts, or never
    # won or never lost, when every bootstrap round is the same data and its rating is
    # the prior's) gets no rank, and the others' ranks don't count it: two prompts won by
    # one model are not "rank 1 at 1323, rank 2 at 677".
    # No interval, no rank: listed below the ranked ones. The one exception is a
    # contender that never lost (or never won) on FEW_PROMPTS prompts or more: its order
    # against the others is plain, though its rating rests on the prior.
    ranked = [
        spread[i] or bool(on_prompts[i] >= FEW_PROMPTS and wins[i] in (0, appearances[i])) for i in range(n)
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
            Contender(
                id=key,
                label=data.labels[i],
                reasoner=data.reasoner[i],
                kind=data.kinds[i],
                rating=round(float(point[i]), 1) if appearances[i] else None,
                ci95=(round(float(lower[i]), 1), round(float(upper[i]), 1)) if spread[i] else None,
                rank=rank[i],
                note=notes[i],
                rating_length_controlled=None if controlled is None else round(float(controlled[i]), 1),
                appearances=int(appearances[i]),
                wins=round(float(wins[i]), 3),
                all_bad_rate=round(float(all_bad[i] / appearances[i]), 4) if appearances[i] else 0.0,
                mean_score=round(float(np.mean(data.scores[i])), 3) if data.scores[i] else None,
                mean_cost_usd=mean_cost[i],
                mean_answer_tokens=round(float(np.mean(data.answer_tokens[i])), 1)
                if data.answer_tokens[i]
                else 0.0,
                mean_reasoning_tokens=round(float(np.mean(data.reasoning_tokens[i])), 1)
                if data.reasoning_tokens[i]
                else 0.0,
                on_cost_frontier=frontier[i],
            )
        )
    effect = reasoning_effect(sessions, data, raters, rounds, seed, weights) if data.votes else None
    # Best first: the ranked by rank, then rating; below them those with no interval, by
    # rating. A contender never voted on is not listed (its rating would be the prior's).
    order = sorted(
        (i for i in range(n) if appearances[i]),
        key=lambda i: (rank[i] is None, rank[i] or 0, -point[i]),
    )
    warning = None
    if data.votes and data.prompts < FEW_PROMPTS:
        warning = (
            f"only {data.prompts} prompt{'s' if data.prompts != 1 else ''}: intervals and ranks are "
            f"unreliable below about {FEW_PROMPTS}"
        )
    else:
        # The placebo's floor can tie every rank: say so, or rank 1 everywhere reads as a bug.
        bound = _floor_bound(floor_gap)
        plain_ranks = ranks(np.asarray(floors).tolist(), upper.tolist(), point.tolist(), None)
        with_rank = [i for i in range(n) if rank[i] is not None]
        if bound and len(with_rank) > 1 and any(plain_ranks[i] != found_ranks[i] for i in with_rank):
            warning = (
                f"the placebo twin's gap says noise alone can move a rating by up to {bound:.0f} points, "
                "so gaps smaller than that don't change a rank"
            )
    tagged = [s for s in sessions if not tags or (s.study is not None and set(tags) & set(s.study.tags))]
    graded = accuracy(data, order + [i for i in range(n) if not appearances[i]])
    tokens = reasoning_tokens(data, tagged)
    doses = dose_response(
        data,
        tokens,
        {c.id: (c.rating, c.ci95) for c in contenders},
        {a.id: (a.accuracy, a.ci95) for a in graded},
    )
    matrix = win_rates(data.votes, n)
    met = meetings(data.votes, n)
    return Report(
        filters=Filters(study, list(tags), [shown.get(r, r) for r in raters]),
        votes=len(data.votes),
        sighted_left_out=left_out,
        prompts=data.prompts,
        warning=warning,
        contenders=[contenders[i] for i in order],
        accuracy=graded,
        reasoning_help=reasoning_help(data, tagged, rounds, seed),
        reasoning_tokens=tokens,
        dose_response=doses,
        reasoning_effect=effect,
        reasoning_effect_note=NO_REASONING_PAIR if data.votes and effect is None else None,
        discrimination=discrimination(data.votes),
        discrimination_reasoning=discrimination_reasoning(data.votes),
        win_rates=WinRates(
            ids=[data.contenders[i] for i in order],
            matrix=[[matrix[a][b] for b in order] for a in order],
            meetings=[[met[a][b] for b in order] for a in order],
        ),
        judgements=judgements(data.votes),
        # Raters' agreement is the people's: under Both a judge's votes would count as a rater's.
        agreement=_named(agreement(_humans(data) if rater_kind == BOTH else data), shown),
        retest=retest(data),
        position_bias=position_bias(data.votes),
        noise_floor=floor_gap if len(samples) else None,
        raters=whose,
        judges=calibrated,
        labels=dict(zip(data.contenders, data.labels, strict=True)),
    )


def _humans(data: Data) -> Data:
    """``data`` with the judges' votes left out."""
    return replace(data, votes=[v for v in data.votes if not is_judge(v.rater)])


def judge_findings(report: Report) -> list[str]:
    """Whose votes were counted, and each judge's position consistency and length bias
    (nothing when no judge rated and only humans were asked for)."""
    r = report.raters
    if r is None or (not report.judges and r.kind == HUMANS):
        return []
    out = [r.sentence]
    for c in report.judges:
        pc = c.position_consistency
        if pc.value is not None and pc.ci95 is not None:
            out.append(
                f"Judge {c.name}: the same choice in every order (each answer shown first once) in "
                f"{pc.value:.0%} of {pc.n} comparisons (95 % CI {pc.ci95[0]:.0%}–{pc.ci95[1]:.0%})."
            )
        lb = c.length_bias
        if lb.difference is not None and lb.ci95 is not None:
            judge = "–" if lb.judge_rate is None else f"{lb.judge_rate:.0%}"
            human = "–" if lb.human_rate is None else f"{lb.human_rate:.0%}"
            out.append(
                f"Judge {c.name}: chose the longest answer in {judge} of {lb.n} comparisons, the humans in "
                f"{human} ({lb.difference * 100:+.0f} points, 95 % CI {lb.ci95[0] * 100:+.0f} to "
                f"{lb.ci95[1] * 100:+.0f})."
            )
        elif lb.note:
            out.append(f"Judge {c.name}: length bias not measured: {lb.note}.")
    return out


def _named(found: Agreement | None, shown: dict[str, str]) -> Agreement | None:
    """The agreement with its votes per rater under the raters' names, not their ids."""
    if found is None:
        return None
    return replace(found, votes_per_rater={shown.get(r, r): n for r, n in found.votes_per_rater.items()})


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


def summary(report: Report) -> list[str]:
    """The findings under the table, one sentence each, only what the data allow (the
    CLI prints them; the Leaderboard view shows them)."""
    out = []
    if report.warning:
        out.append(f"Careful: {report.warning}.")
    d = report.discrimination
    if d is None and report.discrimination_reasoning is not None:
        pass  # the quiz was on the reasoning (its own line below): no answer quiz to speak of
    elif d is None:
        out.append(
            "Could you tell which one reasoned? No vote has a single guess where some, "
            "not all, answers reasoned."
        )
    else:
        lo, hi = d.accuracy_ci95
        longest = d.longest_answer_accuracy
        out.append(
            f"Could you tell which one reasoned? {d.correct} of {d.trials} right "
            f"({d.correct / d.trials:.0%}, 95 % CI {lo:.0%}–{hi:.0%}) "
            f"against {d.chance:.0%} by chance, p = {d.p_value:.3g}"
            + (f"; guessing the longest answer: {longest:.0%}." if longest is not None else ".")
        )
        if d.p_value > 0.05 and d.chance < 0.65:  # not yet: say how many votes it would take
            need = trials_needed(0.65, d.chance)
            out.append(
                f"To tell a 65 % guesser from chance here takes about {need} such votes "
                f"(α 0.05, 80 % power); there are {d.trials}."
            )
    t = report.discrimination_reasoning
    if t is not None:
        lo, hi = t.accuracy_ci95
        out.append(
            f"With the reasoning shown, could you tell which one was trained to reason? {t.correct} of "
            f"{t.trials} right ({t.correct / t.trials:.0%}, 95 % CI {lo:.0%}–{hi:.0%}) against "
            f"{t.chance:.0%} by chance, p = {t.p_value:.3g}."
        )
    effect = report.reasoning_effect
    if effect is not None:
        lo, hi = effect.ci95
        tags = ", ".join(
            f"{tag} {e.rating_points:+.0f} ({e.ci95[0]:+.0f} to {e.ci95[1]:+.0f})"
            for tag, e in effect.by_tag.items()
        )
        out.append(
            f"Pooled over every reasoning pair, reasoning adds {effect.rating_points:+.0f} rating points "
            f"(95 % CI {lo:+.0f} to {hi:+.0f})" + (f"; by tag: {tags}." if tags else ".")
        )
    elif report.reasoning_effect_note:
        out.append(f"The reasoning effect can't be estimated: {report.reasoning_effect_note}.")
    j = report.judgements
    if j is not None:
        (tp, fn), (fp, tn) = j.table
        out.append(
            f"Each answer judged 'reasoned?': {tp} of {tp + fn} reasoners and {tn} of {tn + fp} plain "
            f"answers called right, balanced accuracy {j.balanced_accuracy:.0%}; "
            f"exact permutation test over votes against guessing, p = {j.p_value:.3g}."
        )
    floor = report.noise_floor
    if floor is not None:
        lo, hi = floor.ci95
        gap = floor.rating_points
        where = f"{abs(gap):.0f} points {'below' if gap < 0 else 'above'}" if round(gap) else "level with"
        out.append(
            f"Noise floor: the placebo twin lands {where} its original "
            f"(twin − original {gap:+.0f}, 95 % CI {lo:+.0f} to {hi:+.0f}); "
            "smaller gaps between contenders mean nothing."
        )
    a = report.agreement
    if a is not None:
        votes = "–" if a.votes_alpha is None else f"{a.votes_alpha:.2f}"
        scores = "–" if a.scores_alpha is None else f"{a.scores_alpha:.2f}"
        out.append(
            f"Raters agree: Krippendorff's alpha {votes} on votes, {scores} on scores "
            f"({a.raters} raters, {a.items} items rated by two or more)."
        )
    out.extend(judge_findings(report))
    left_out = report.sighted_left_out
    if left_out:
        out.append(
            f"Left out {left_out} sighted vote{'s' if left_out != 1 else ''}, cast with the models' "
            "names showing (chatlab stats --include-sighted counts them)."
        )
    r = report.retest
    if r is not None:
        out.append(f"Hidden repeats: the same choice again {r.same} of {r.repeats} times.")
    bias = report.position_bias
    if bias is not None:
        places = ", ".join(
            f"{chr(ord('A') + i) if i < 26 else i + 1}: {n}" for i, n in enumerate(bias.by_position)
        )
        out.append(
            f"Answers chosen by their place on screen (Model {places}); "
            f"χ² test against no preference, p = {bias.p_value:.3g}."
        )
    return out
