"""Where does reasoning help? The parts of the answer card: for each base model seen with
reasoning on and off, what reasoning changes on prompts with an answer key (accuracy)
and on open ones (rating), per tag; how many reasoning tokens each contender spends;
and, for a model at several reasoning settings, whether more thinking buys better
answers.

A *base* is a ``provider:model``. Its contenders differ only in their settings: a
*with* contender reasons (``native``: the provider reported reasoning, or ``prompted``:
asked to think first), a *without* contender is ``plain``. Placebo twins take no part.

Intervals are bootstrap intervals over prompts (prompts are the unit that varies from
one study to the next): the accuracy difference resamples the prompts both contenders
answered (paired), the rating difference refits the votes of the resampled open
prompts. A plain percentile interval from a handful of prompts is too narrow (under no
difference at all it excluded zero 12–17% of the time from 5 prompts), so the
percentiles are widened for the number of prompts (:func:`levels`, Hesterberg's
expanded percentile interval). An interval from fewer than :data:`MIN_PROMPTS` prompts
is not given, nor one from prompts that all gave the same difference: every resample
is then the same, and a zero-width interval would read as certainty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from chatlab.core.analysis.bootstrap import BOOTSTRAP, SEED, bootstrap
from chatlab.core.analysis.fitting import elo, fit
from chatlab.core.analysis.votes import Data, Vote, model_id
from chatlab.core.data.model import Session, Status

MIN_PROMPTS = 5  # an interval needs this many prompts (below it, the interval is not shown)
UNIFORM = "the same on every prompt: too uniform for an interval"
MIN_TAG_PROMPTS = 5  # a tag gets its own line from this many prompts on
TARGET_POINTS = 10.0  # the accuracy interval a "would fix it" sentence aims at: ± this many points (of 100)
TARGET_RATING = 50.0  # the rating interval it aims at: ± this many rating points


@dataclass(kw_only=True)
class Verifiable:
    """Accuracy with and without reasoning on the keyed prompts both answered; ``diff``
    is with minus without, in points of accuracy (0–1 scale)."""

    accuracy_with: float
    accuracy_without: float
    diff: float
    ci95: tuple[float, float] | None
    prompts: int
    note: str | None = field(default=None, metadata={"omit_none": True})  # why no interval, past MIN_PROMPTS


@dataclass(kw_only=True)
class Open:
    """The rating difference (with minus without) on open prompts both were voted on.
    ``note`` says why there is no interval when the votes are one-sided: a contender
    that never won (or never lost) there has a rating set by the prior alone, and a
    bootstrap of the same one-sided data gives a narrow interval that means nothing."""

    rating_diff: float
    ci95: tuple[float, float] | None
    prompts: int
    note: str | None = field(default=None, metadata={"omit_none": True})


@dataclass(kw_only=True)
class Side:
    verifiable: Verifiable | None = None
    open: Open | None = None


@dataclass(kw_only=True)
class Help:
    """One base model with reasoning (``with``, a contender id) and without."""

    base: str
    with_: str = field(metadata={"key": "with"})
    without: str
    verifiable: Verifiable | None = None
    open: Open | None = None
    by_tag: dict[str, Side] = field(default_factory=dict)


@dataclass(kw_only=True)
class Spread:
    """Reasoning tokens per answer: median, quartiles, max and how many answers;
    ``estimated`` when any was counted locally (≈), not reported by the provider."""

    median: float
    p25: float
    p75: float
    max: int
    n: int
    estimated: bool = False


@dataclass(kw_only=True)
class DosePoint:
    id: str
    median_reasoning_tokens: float
    rating: float | None
    ci95: tuple[float, float] | None
    accuracy: float | None
    accuracy_ci95: tuple[float, float] | None


@dataclass(kw_only=True)
class Dose:
    """One base model at several reasoning settings, fewest reasoning tokens first."""

    base: str
    points: list[DosePoint]


# -- the pairs ---------------------------------------------------------------------------


def pairs(data: Data) -> list[tuple[str, int, int]]:
    """(base, with, without) for every base seen both reasoning and plain, twins aside."""
    out = []
    for w in range(len(data.contenders)):
        if data.kinds[w] == "plain" or data.twin_of(w) is not None:
            continue
        for p in range(len(data.contenders)):
            if data.kinds[p] == "plain" and data.twin_of(p) is None and data.specs[p] == data.specs[w]:
                out.append((data.specs[w], w, p))
    return out


def _per_prompt(marks: Sequence[tuple[str, bool]]) -> dict[str, float]:
    """A contender's accuracy on each prompt (the share right of its samples there)."""
    tally: dict[str, list[int]] = {}
    for prompt, ok in marks:
        tally.setdefault(prompt, []).append(ok)
    return {p: sum(v) / len(v) for p, v in tally.items()}


def levels(prompts: int) -> tuple[float, float]:
    """The percentiles (0–100) that make a 95 % bootstrap interval from ``prompts``
    prompts: Hesterberg's expanded percentile interval, whose tails are those of
    Student's t with ``prompts - 1`` degrees of freedom, scaled by sqrt(n / (n - 1)) for
    the bootstrap's n-divisor variance. 2.5 and 97.5 for many prompts; from 5 prompts,
    about 0.1 and 99.9."""
    if prompts < 2:
        return 2.5, 97.5
    from scipy.special import stdtrit

    z = math.sqrt(prompts / (prompts - 1)) * float(stdtrit(prompts - 1, 0.975))
    tail = 50.0 * math.erfc(z / math.sqrt(2))  # the normal's lower tail below -z, in percent
    return tail, 100.0 - tail


def paired_bootstrap(diffs: np.ndarray, rounds: int = BOOTSTRAP, seed: int = SEED) -> tuple[float, float]:
    """The 95 % interval of the mean of ``diffs`` (one per prompt), prompts drawn with
    replacement, at the percentiles :func:`levels` gives for their number."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diffs), (rounds, len(diffs)))
    means = diffs[picks].mean(axis=1)
    lo, hi = np.percentile(means, levels(len(diffs)))
    return float(lo), float(hi)


def verifiable(
    data: Data, w: int, p: int, prompts: set[str] | None = None, rounds: int = BOOTSTRAP, seed: int = SEED
) -> Verifiable | None:
    """Accuracy with and without reasoning on the keyed prompts both answered (of
    ``prompts``, when given)."""
    a, b = _per_prompt(data.graded[w]), _per_prompt(data.graded[p])
    both = sorted(k for k in a.keys() & b.keys() if prompts is None or k in prompts)
    if not both:
        return None
    x = np.asarray([a[k] for k in both])
    y = np.asarray([b[k] for k in both])
    ci, note = None, None
    if len(both) >= MIN_PROMPTS:
        if np.ptp(x - y) == 0:
            note = UNIFORM
        else:
            lo, hi = paired_bootstrap(x - y, rounds, seed)
            ci = (round(lo, 4), round(hi, 4))
    return Verifiable(
        accuracy_with=round(float(x.mean()), 4),
        accuracy_without=round(float(y.mean()), 4),
        diff=round(float((x - y).mean()), 4),
        ci95=ci,
        prompts=len(both),
        note=note,
    )


def open_gap(
    data: Data, w: int, p: int, prompts: set[str] | None = None, rounds: int = BOOTSTRAP, seed: int = SEED
) -> Open | None:
    """The rating difference on open prompts (no answer key) where both were voted on,
    fitted on those prompts' votes alone."""
    keyed = set(data.prompt_tags)
    votes = [v for v in data.votes if v.prompt not in keyed and (prompts is None or v.prompt in prompts)]
    both = {v.prompt for v in votes if w in v.present} & {v.prompt for v in votes if p in v.present}
    if not both:
        return None
    votes = [v for v in votes if v.prompt in both]
    n = len(data.contenders)
    point = elo(fit(votes, n, prior=0.1))
    ci = None
    note = _one_sided(data, votes, w, p)
    if note is None and len(both) >= MIN_PROMPTS:
        samples = bootstrap(votes, n, rounds, seed)
        gap = samples[:, w] - samples[:, p]
        if not np.isnan(gap).all():
            lo, hi = np.nanpercentile(gap, levels(len(both)))
            if hi - lo > 1e-6:
                ci = (round(float(lo), 1), round(float(hi), 1))
            else:  # every resample the same: the prompts' votes were all alike (all ties)
                note = f"the votes were {UNIFORM}"
    return Open(rating_diff=round(float(point[w] - point[p]), 1), ci95=ci, prompts=len(both), note=note)


def _one_sided(data: Data, votes: Sequence[Vote], w: int, p: int) -> str | None:
    """Why the gap between ``w`` and ``p`` has no interval on ``votes``, or None."""
    for c in (w, p):
        shown = sum(1 for v in votes if c in v.present)
        won = sum(
            share for v in votes for member, share in zip(v.present, v.share, strict=True) if member == c
        )
        if won == 0 or won == shown:
            what = "never won" if won == 0 else "won every time"
            return f"{data.labels[c]} {what} in its {shown} votes here: too one-sided for an interval"
    return None


def _prompt_tags(data: Data, sessions: Sequence[Session]) -> dict[str, tuple[str, ...]]:
    """Every prompt's tags: keyed ones from the data, open ones from their sessions."""
    tags = dict(data.prompt_tags)
    for s in sessions:
        if s.study is not None:
            tags.setdefault(f"{s.study.id}/{s.study.prompt_id}", s.study.tags)
    return tags


def reasoning_help(
    data: Data, sessions: Sequence[Session], rounds: int = BOOTSTRAP, seed: int = SEED
) -> list[Help]:
    """What reasoning changes, for every (with, without) pair of a base model, overall
    and per tag (tags with at least :data:`MIN_TAG_PROMPTS` prompts)."""
    tags = _prompt_tags(data, sessions)
    by_tag: dict[str, set[str]] = {}
    for prompt, its in tags.items():
        for tag in its:
            by_tag.setdefault(tag, set()).add(prompt)
    out = []
    for base, w, p in pairs(data):
        found = Help(
            base=base,
            with_=data.contenders[w],
            without=data.contenders[p],
            verifiable=verifiable(data, w, p, None, rounds, seed),
            open=open_gap(data, w, p, None, rounds, seed),
        )
        for tag in sorted(by_tag):
            if len(by_tag[tag]) < MIN_TAG_PROMPTS:
                continue
            side = Side(
                verifiable=verifiable(data, w, p, by_tag[tag], rounds, seed),
                open=open_gap(data, w, p, by_tag[tag], rounds, seed),
            )
            if side.verifiable is not None or side.open is not None:
                found.by_tag[tag] = side
        if found.verifiable is not None or found.open is not None:
            out.append(found)
    return out


# -- reasoning tokens --------------------------------------------------------------------


def reasoning_tokens(data: Data, sessions: Sequence[Session]) -> dict[str, dict[str, Spread]]:
    """{contender id: {tag or "all": spread}} over every finished answer (voted on or
    not), per study tag."""
    counts: dict[int, dict[str, list[int]]] = {}
    estimated: dict[int, bool] = {}
    for s in sessions:
        lanes = {lane.id: lane for lane in (*s.lanes, *s.retired)}
        tags = s.study.tags if s.study else ()
        for turn in s.turns:
            for lane_id, resp in turn.responses.items():
                lane = lanes.get(lane_id)
                if lane is None or resp.status is not Status.OK:
                    continue
                c = data.index.get((model_id(lane), lane.placebo))
                if c is None:
                    continue
                spent = resp.usage.reasoning_tokens
                for key in ("all", *tags):
                    counts.setdefault(c, {}).setdefault(key, []).append(spent)
                # Counted by chatlab: the reasoning (a <think> block), or the whole usage (the
                # provider reported none).
                guessed = resp.usage.reasoning_estimated or resp.usage.estimated
                estimated[c] = estimated.get(c, False) or (spent > 0 and guessed)
    out: dict[str, dict[str, Spread]] = {}
    for c in sorted(counts):
        out[data.contenders[c]] = {
            key: _spread(values, estimated.get(c, False)) for key, values in counts[c].items()
        }
    return out


def _spread(values: list[int], estimated: bool) -> Spread:
    x = np.asarray(values, dtype=float)
    p25, median, p75 = np.percentile(x, [25, 50, 75])
    return Spread(
        median=round(float(median), 1),
        p25=round(float(p25), 1),
        p75=round(float(p75), 1),
        max=int(x.max()),
        n=len(values),
        estimated=estimated,
    )


# -- more thinking, better answers? -------------------------------------------------------


def dose_response(
    data: Data,
    tokens: dict[str, dict[str, Spread]],
    ratings: dict[str, tuple[float | None, tuple[float, float] | None]],
    accuracy: dict[str, tuple[float, tuple[float, float]]],
) -> list[Dose]:
    """Every base model seen at two or more settings that reason (twins aside), its
    settings (plain ones too) in order of median reasoning tokens, each with its rating
    and accuracy and their intervals."""
    bases: dict[str, list[int]] = {}
    for c, spec in enumerate(data.specs):
        if data.twin_of(c) is None and data.contenders[c] in tokens:
            bases.setdefault(spec, []).append(c)
    out = []
    for base, members in bases.items():
        # "Several settings" of thinking: two or more that reason, beside any plain ones.
        # On and off alone is the reasoning-help pair, and plain settings that differ in
        # something else (a temperature) are no dose of thinking at all.
        if sum(data.kinds[c] != "plain" for c in members) < 2:
            continue
        points = []
        for c in members:
            key = data.contenders[c]
            rating, ci = ratings.get(key, (None, None))
            acc = accuracy.get(key)
            points.append(
                DosePoint(
                    id=key,
                    median_reasoning_tokens=tokens[key]["all"].median,
                    rating=rating,
                    ci95=ci,
                    accuracy=None if acc is None else acc[0],
                    accuracy_ci95=None if acc is None else acc[1],
                )
            )
        points.sort(key=lambda pt: (pt.median_reasoning_tokens, pt.id))
        out.append(Dose(base=base, points=points))
    return out


# -- would more data fix it? ---------------------------------------------------------------


def more_prompts(prompts: int, ci: tuple[float, float] | None, target: float) -> int | None:
    """How many more prompts would narrow ``ci`` (from ``prompts``) to ± ``target``,
    as intervals narrow with the square root of the prompts; None when it already is."""
    if ci is None:
        return max(MIN_PROMPTS - prompts, 1)
    half = (ci[1] - ci[0]) / 2
    if not half > target or prompts <= 0:  # also a NaN bound: nothing to say
        return None
    need = math.ceil(prompts * (half / target) ** 2)
    return max(need - prompts, 1)
