"""The Leaderboard's charts as data: what :class:`~chatlab.ui.results.chart.Plot` draws
from a :class:`~chatlab.core.analysis.report.Report`.

Every contender keeps one look (colour and shape) in every chart and in the table
(:func:`looks`): its place among all the contenders' ids, sorted, picks it from a
palette that colour-blind eyes can tell apart (:func:`~chatlab.ui.results.chart.palette`,
light or dark with the theme). A value with no interval is drawn as a ring, not a dot:
its rating rests on too few votes to be placed with any confidence.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from typing import TypeGuard

from chatlab.core.analysis.report import Contender, Report
from chatlab.ui.results.chart import SHAPES, Axis, Chart, Mark, Plot, Shape, dollars, palette
from chatlab.ui.shared import theme

Look = tuple[str, Shape]  # a colour (#rrggbb) and a marker shape

RING = "a ring: no interval"


def looks(ids: Iterable[str], dark: bool | None = None) -> dict[str, Look]:
    """One look per contender id: the k-th id in sorted order gets :meth:`Plot.look` k,
    so the same ids always get the same looks (32 distinct ones before any repeats)."""
    dark = theme.colors().dark if dark is None else dark
    return {cid: Plot.look(k, dark) for k, cid in enumerate(sorted(set(ids)))}


def look_of(given: dict[str, Look], cid: str) -> Look:
    """``cid``'s look; one from a hash of the id for a contender ``given`` lacks."""
    if cid in given:
        return given[cid]
    colors = palette(theme.colors().dark)
    h = zlib.crc32(cid.encode("utf-8", "surrogatepass"))
    return colors[h % len(colors)], SHAPES[(h // len(colors)) % len(SHAPES)]


def why_no_interval(c: Contender) -> str:
    """A short reason a contender has no interval: ``too few votes``, ``never won``…"""
    return c.note.split(":")[0] if c.note else "no interval"


def _has_interval(ci: tuple[float, float] | None) -> TypeGuard[tuple[float, float]]:
    return ci is not None and all(finite(v) for v in ci)


def ratings_chart(report: Report, given: dict[str, Look] | None = None) -> Chart:
    """Each contender's rating with its 95 % interval, best at the top; a contender
    without an interval is a ring below the ranked ones, labelled why."""
    given = looks(c.id for c in report.contenders) if given is None else given
    rows = list(reversed(report.contenders))
    values = [v for c in rows for v in (c.rating, *(c.ci95 or ())) if finite(v)]
    lows, highs = values or [900.0], values or [1100.0]
    ringed = any(not _has_interval(c.ci95) for c in rows)
    fig = Chart(
        title="Ratings with 95 % intervals",
        x=Axis(
            min(lows) - 20,
            max(highs) + 20,
            "rating (Elo scale, mean 1000; a line is the 95 % interval" + (f"; {RING})" if ringed else ")"),
            fmt="{:.0f}",
        ),
        y=Axis(-0.5, max(0.5, len(rows) - 0.5)),
        empty_text="No votes yet",
    )
    dots = []
    for i, c in enumerate(rows):
        color, shape = look_of(given, c.id)
        if _has_interval(c.ci95):
            fig.marks.append(Mark("bar", [(c.ci95[0], i), (c.ci95[1], i)], color, 2, key=c.id))
            suffix = f"  (rank {c.rank})" if c.rank else ""
        else:
            suffix = f"  ({why_no_interval(c)})"
        fig.y.categories.append(short(c.label, 40) + suffix)
        if finite(c.rating):
            hollow = not _has_interval(c.ci95)
            dots.append(Mark("points", [(c.rating, i)], color, size=11, shape=shape, hollow=hollow, key=c.id))
    fig.marks += dots  # over every line
    return fig


def cost_chart(report: Report, given: dict[str, Look] | None = None) -> Chart:
    """Rating (with its 95 % interval) against dollars per answer; the frontier joins
    those no one beats on both."""
    given = looks(c.id for c in report.contenders) if given is None else given
    # A log axis needs positive costs; below a trillionth of a dollar there is nothing to see.
    priced: list[tuple[Contender, float, float]] = []  # (contender, cost, rating)
    for c in report.contenders:
        cost, rating = c.mean_cost_usd, c.rating
        if finite(cost) and cost > 0 and finite(rating):
            priced.append((c, cost, rating))
    costs = [cost for _, cost, _ in priced] or [0.001, 0.01]
    spans = [v for c, _, rating in priced for v in (rating, *(c.ci95 or ())) if finite(v)] or [1000.0]
    low, high = max(min(costs) / 2, 1e-12), min(max(costs) * 2, 1e12)
    frontier = sorted((p for p in priced if p[0].on_cost_frontier), key=lambda p: p[1])
    fig = Chart(
        title="Rating against $ per answer, with 95 % intervals"
        + (" (the line: no one is both better and cheaper)" if len(frontier) > 1 else ""),
        x=Axis(low, max(high, low * 10), "mean cost per answer (log scale)", log=True, fmt=dollars),
        y=Axis(min(spans) - 40, max(spans) + 40, "rating", fmt="{:.0f}"),
        legend=True,
        empty_text="No priced answers yet",
    )
    if len(frontier) > 1:
        # A step, not a slope: nothing between two frontier points can be bought.
        steps = [(frontier[0][1], frontier[0][2])]
        for _, cost, rating in frontier[1:]:
            steps += [(cost, steps[-1][1]), (cost, rating)]
        fig.marks.append(Mark("line", steps, "muted", 2, dashed=True, label="cost frontier"))
    for c, cost, rating in priced:
        color, shape = look_of(given, c.id)
        ranged = _has_interval(c.ci95)
        if ranged and c.ci95 is not None:
            fig.marks.append(Mark("bar", [(cost, c.ci95[0]), (cost, c.ci95[1])], color, 1.5, key=c.id))
        label = short(c.label, 30) + ("" if ranged else f" ({why_no_interval(c)})")
        fig.marks.append(
            Mark(
                "points",
                [(cost, rating)],
                color,
                size=11,
                shape=shape,
                label=label,
                hollow=not ranged,
                key=c.id,
            )
        )
    return fig


def guess_chart(report: Report) -> Chart:
    """Accuracy of single guesses with its interval, beside chance and the longest answer.
    The answer quiz when there is one; else the quiz on reasoning traces (a study that
    showed the reasoning asked "which was trained to reason?", and the card says so)."""
    d = report.discrimination
    title = "Could you tell which one reasoned?"
    if d is None and report.discrimination_reasoning is not None:
        d, title = report.discrimination_reasoning, "Could you tell which reasoning was trained?"
    fig = Chart(
        title=title,
        x=Axis(-0.5, 1.5, categories=["your guesses", "the longest answer"]),
        y=Axis(0, 1, "share right", fmt="{:.0%}"),
        empty_text="No guesses yet: mark the answers you think reasoned (G) while rating",
    )
    j = report.judgements
    if d is not None and not (d.trials and finite(d.correct)):
        d = None  # nothing to plot (a hand-made or damaged result)
    if d is not None:
        fig.legend = True
        right = d.correct / d.trials
        fig.marks.append(Mark("line", [(-0.5, d.chance), (1.5, d.chance)], "muted", 1, dashed=True,
                              label=f"chance ({d.chance:.0%})"))  # fmt: skip
        fig.marks.append(Mark("bar", [(0, d.accuracy_ci95[0]), (0, d.accuracy_ci95[1])]))
        label = f"your guesses: {d.correct} of {d.trials} right, line: 95 % interval"
        fig.marks.append(Mark("points", [(0.0, right)], size=12, label=label))
        if d.longest_answer_accuracy is not None:
            fig.marks.append(Mark("points", [(1.0, d.longest_answer_accuracy)], "muted", size=12,
                                  shape="square", label="always guessing the longest answer"))  # fmt: skip
    elif j is not None and finite(j.balanced_accuracy) and report.discrimination_reasoning is None:
        # No single-guess trials (several answers reasoned): each answer's "reasoned?"
        # mark judged instead, as balanced accuracy against 50 %. It has a p-value, not
        # an interval, and no "longest answer" baseline.
        fig.title = 'Could you tell which ones reasoned? (each answer\'s "reasoned?" mark)'
        fig.x = Axis(-0.5, 0.5, categories=["your marks"])
        fig.legend = True
        fig.marks.append(
            Mark("line", [(-0.5, 0.5), (0.5, 0.5)], "muted", 1, dashed=True, label="chance (50 %)")
        )
        p_value = j.p_value
        detail = f", permutation p over votes = {p_value:.3g}" if finite(p_value) else ""
        fig.marks.append(
            Mark("points", [(0.0, j.balanced_accuracy)], size=12,
                 label=f"balanced accuracy (no interval{detail})")
        )  # fmt: skip
    return fig


def finite(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
