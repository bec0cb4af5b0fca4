"""The orders a judge sees a comparison's answers in, and the one choice they make.

A judge prefers a position (Zheng et al. 2023), so each comparison is judged in more
than one order: two answers both ways round; N answers in N cyclic rotations, so that
each answer is first once. Letters are neutral (A, B, C… by place, never by contender).
A choice is kept only when every order chose the same answer (or every order a tie);
otherwise the comparison is a tie marked *inconsistent*, and the rate of those is the
judge's position bias, measured. An order with no verdict makes the comparison have
none, with that order's reason: a choice is never guessed from the orders that remain.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

TIE = "tie"
MAX_ANSWERS = 26


def letters(n: int) -> tuple[str, ...]:
    """The neutral labels of ``n`` places: A, B, C…"""
    if not 2 <= n <= MAX_ANSWERS:
        raise ValueError(f"a comparison has 2 to {MAX_ANSWERS} answers, not {n}")
    return tuple(string.ascii_uppercase[:n])


def orders(n: int) -> list[tuple[int, ...]]:
    """The orders to judge ``n`` answers in, each a tuple of answer indexes by place:
    ``(0, 1)`` and ``(1, 0)`` for two; the ``n`` cyclic rotations for more, so each
    answer takes the first place exactly once (and every place once)."""
    letters(n)  # checks n
    return [tuple((start + i) % n for i in range(n)) for start in range(n)]


def answer_of(order: Sequence[int], choice: str) -> int | str:
    """The answer index a letter chose in ``order`` (or ``"tie"``)."""
    if choice == TIE:
        return TIE
    return order[letters(len(order)).index(choice)]


@dataclass(frozen=True)
class Combined:
    """A comparison's one outcome from its orders: the answer chosen (an index), a tie,
    or None (no verdict, with ``problem``); ``consistent`` is False when the orders
    disagreed (recorded as a tie)."""

    choice: int | str | None
    consistent: bool
    problem: str | None = None


def combine(
    order_list: Sequence[Sequence[int]], choices: Sequence[str | None], problems: Sequence[str | None]
) -> Combined:
    """One outcome from each order's choice (a letter, ``"tie"``, or None with its
    problem): kept when all agree, else a tie marked inconsistent."""
    if not order_list or len(order_list) != len(choices) or len(choices) != len(problems):
        raise ValueError("one choice and one problem for each order")
    for k, (choice, problem) in enumerate(zip(choices, problems, strict=True)):
        if choice is None:
            return Combined(None, True, f"order {k + 1}: {problem or 'no verdict'}")
    picked = {answer_of(order, choice) for order, choice in zip(order_list, choices, strict=True) if choice}
    if len(picked) == 1:
        return Combined(picked.pop(), True)
    return Combined(TIE, False)
