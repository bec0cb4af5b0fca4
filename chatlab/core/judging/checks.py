"""An imported judge vote checked against its own ``judgement``: what a schema can't say.

A file can claim anything. A vote carries a judgement only when its rater is a judge
(``judge:PROVIDER:MODEL[/RUBRIC]``), and a judge's vote always carries one; the
judgement names that same judge; its orders are the comparison's lanes, each once, in
:func:`~chatlab.core.judging.orders.orders`' shape (one choice for each, a letter of
its places or ``tie``); its scores are keyed by those lanes; and the vote's choice and
``consistent`` are what :func:`~chatlab.core.judging.orders.combine` makes of them.
:func:`judgement_problem` returns the first place that fails, relative to the vote.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from chatlab.core.data.votes import is_judge
from chatlab.core.judging.compose import DEFAULT_RUBRIC, judge_rater
from chatlab.core.judging.orders import MAX_ANSWERS, TIE, combine, letters


def judgement_problem(
    rater: str, choice: str, judgement: dict[str, Any] | None, lanes: Collection[str]
) -> tuple[str, str] | None:
    """(place under the vote, what is wrong) for the first way this vote's judgement
    fails to account for it among ``lanes`` (the comparison's lane ids), or None."""
    if judgement is None:
        if is_judge(rater):
            return ".judgement", "is missing: a judge's vote says how it was reached"
        return None
    if not is_judge(rater):
        return ".judgement", f"is a judge's account, but rater {rater[:40]!r} is no judge (judge:…)"
    judge, rubric = judgement.get("judge"), judgement.get("rubric") or DEFAULT_RUBRIC
    if not isinstance(judge, str) or judge_rater(judge, str(rubric)) != rater:
        return ".judgement.judge", f"names another judge than the vote's rater {rater[:60]!r}"
    order_list = judgement.get("orders") or []
    first: set[str] | None = None
    for k, order in enumerate(order_list):
        for n, lane in enumerate(order):
            if lane not in lanes:
                return (
                    f".judgement.orders[{k}][{n}]",
                    f"names a lane this comparison doesn't have ({str(lane)[:40]!r})",
                )
        if first is None:
            first = set(order)
        elif set(order) != first or len(order) != len(first):
            return f".judgement.orders[{k}]", "shows other answers than the first order"
    if first is None or not 2 <= len(first) <= MAX_ANSWERS:
        return ".judgement.orders", "must show 2 to 26 answers"
    choices = judgement.get("choices") or []
    if len(choices) != len(order_list):
        return ".judgement.choices", f"must have one choice for each of its {len(order_list)} orders"
    allowed = (*letters(len(first)), TIE)
    for k, said in enumerate(choices):
        if said not in allowed:
            return f".judgement.choices[{k}]", f"must be one of {', '.join(allowed)}, got {str(said)[:8]!r}"
    for key in ("problems", "raw"):
        if len(judgement.get(key) or []) > len(order_list):
            return f".judgement.{key}", "has more entries than orders"
    for lane in judgement.get("scores") or {}:
        if lane not in first:
            return f".judgement.scores.{lane[:40]}", "scores a lane the judge wasn't shown"
    index = {lane: i for i, lane in enumerate(order_list[0])}
    combined = combine(
        [[index[lane] for lane in order] for order in order_list], choices, [None] * len(choices)
    )
    made = TIE if combined.choice == TIE else order_list[0][int(str(combined.choice))]
    if bool(judgement.get("consistent")) != combined.consistent:
        return (
            ".judgement.consistent",
            f"must be {str(combined.consistent).lower()}: it is what the choices say",
        )
    if choice != made:
        return ".choice", f"disagrees with its judgement, whose orders chose {str(made)[:40]!r}"
    return None
