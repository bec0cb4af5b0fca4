"""Each answer is judged first once; a choice stands only when every order agrees."""

from __future__ import annotations

import itertools

import pytest

from chatlab.core.judging.orders import TIE, Combined, answer_of, combine, letters, orders


@pytest.mark.parametrize("n", [2, 3, 5, 26])
def test_every_answer_takes_every_place_exactly_once(n: int) -> None:
    seen = orders(n)
    assert len(seen) == n and all(sorted(o) == list(range(n)) for o in seen)
    for place in range(n):
        assert sorted(o[place] for o in seen) == list(range(n))
    assert orders(2) == [(0, 1), (1, 0)]


def test_letters_are_neutral_and_a_comparison_has_two_to_26_answers() -> None:
    assert letters(3) == ("A", "B", "C")
    for n in (0, 1, 27):
        with pytest.raises(ValueError, match="2 to 26 answers"):
            letters(n)


def test_a_letter_maps_back_to_the_answer_it_stood_for_in_that_order() -> None:
    assert answer_of((2, 0, 1), "A") == 2 and answer_of((2, 0, 1), "C") == 1 and answer_of((1, 0), TIE) == TIE


def test_agreeing_orders_keep_the_choice_and_a_position_bias_gives_an_inconsistent_tie() -> None:
    two = orders(2)
    assert combine(two, ["A", "B"], [None, None]) == Combined(0, True)  # answer 0 both ways round
    assert combine(two, ["A", "A"], [None, None]) == Combined(TIE, False)  # always the first place
    assert combine(two, [TIE, TIE], [None, None]) == Combined(TIE, True)
    assert combine(two, [TIE, "A"], [None, None]) == Combined(TIE, False)
    three = orders(3)
    assert combine(three, ["A", "C", "B"], [None] * 3) == Combined(0, True)


def test_one_order_without_a_verdict_leaves_the_comparison_without_one() -> None:
    outcome = combine(orders(2), ["A", None], [None, "no JSON found"])
    assert outcome == Combined(None, True, "order 2: no JSON found")


def test_a_judge_always_picking_one_place_is_never_consistent_for_any_n() -> None:
    for n in range(2, 7):
        for letter in letters(n):
            assert combine(orders(n), [letter] * n, [None] * n) == Combined(TIE, False)
    # and a judge that follows one answer wherever it stands always is
    for n, target in itertools.product(range(2, 7), range(2)):
        chosen = [letters(n)[o.index(target)] for o in orders(n)]
        assert combine(orders(n), chosen, [None] * n) == Combined(target, True)
