"""How far the raters can be trusted: agreement between them, with themselves, and the
pull of the screen place.

Agreement between raters is Krippendorff's α, nominal on votes (a vote coded by the
contender chosen, a tie or all bad; chance agreement taken among comparisons that offered
the same contenders) and interval on 1–5 scores, both in linear time from the coincidence
margins. Hidden repeats say how often a rater chose the same again; a χ² test says
whether the place on screen drew the choice.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from chatlab.core.analysis.votes import Data, Vote


@dataclass
class Agreement:
    """Krippendorff's α on votes and on scores (None: undefined, or one rater scored), the
    items rated by two or more, the raters, and each rater's votes (by id, or by the name
    shown once the report has named them)."""

    votes_alpha: float | None
    scores_alpha: float | None
    items: int
    raters: int
    votes_per_rater: dict[str, int]


@dataclass
class Retest:
    """Hidden repeats: how many, and how often the same choice came again."""

    repeats: int
    same: int
    agreement: float


@dataclass
class PositionBias:
    """The χ² test of the chosen screen place against "every place alike", and the
    choices per place (0 = Model A)."""

    chi2: float
    p_value: float
    by_position: list[int]


def agreement(data: Data) -> Agreement | None:
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
    return Agreement(
        # Chance agreement among comparisons that offered the same contenders (studies of
        # other models, or a lane that failed, offer other choices).
        votes_alpha=_round(nominal_alpha(by_item.values(), [offered[item] for item in by_item])),
        scores_alpha=_round(interval_alpha(_units(scores).values()))
        if len({r for _, r in scores}) >= 2
        else None,
        items=pairable,
        raters=len(raters),
        votes_per_rater=counts,
    )


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


def retest(data: Data) -> Retest | None:
    """Hidden repeats: how often a rater chose the same again."""
    if not data.repeats:
        return None
    same = sum(first == again for _, _, first, again in data.repeats)
    return Retest(repeats=len(data.repeats), same=same, agreement=round(same / len(data.repeats), 4))


def position_bias(votes: Sequence[Vote]) -> PositionBias | None:
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
    by_position = observed.astype(int).tolist()
    return PositionBias(chi2=round(float(chi2), 4), p_value=float(p), by_position=by_position)
