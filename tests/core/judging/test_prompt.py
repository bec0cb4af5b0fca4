"""The judge sees what a blind human sees: the request and the answers under letters, in
the order given, reasoning only when the study shows it, and nothing about who is who."""

from __future__ import annotations

import pytest

from chatlab.core.judging.orders import orders
from chatlab.core.judging.prompt import NO_REASONING, Shown, judge_messages
from chatlab.core.judging.rubrics import find_rubric


def test_the_answers_appear_under_letters_in_the_order_given() -> None:
    rubric = find_rubric("writing")
    answers = [Shown("first answer"), Shown("second answer"), Shown("third answer")]
    system, user = judge_messages(rubric, "Write a haiku.", answers, (2, 0, 1), show_reasoning=False)
    assert user.index("third answer") < user.index("first answer") < user.index("second answer")
    assert 'Answer A:\n<answer letter="A">\nthird answer' in user
    assert "<request>\nWrite a haiku.\n</request>" in user and "<reasoning>" not in user
    assert rubric.instruction in system and "imagery" in system
    assert '"C"' in user and user.rstrip().endswith("}") and "one of A, B, C, or tie" in user


def test_reasoning_is_shown_for_every_answer_alike_only_when_the_study_shows_it() -> None:
    rubric = find_rubric("general")
    answers = [Shown("x", "I thought hard"), Shown("y")]
    _, user = judge_messages(rubric, "Q", answers, (0, 1), show_reasoning=True)
    assert (
        "<reasoning>\nI thought hard\n</reasoning>" in user
        and f"<reasoning>\n{NO_REASONING}\n</reasoning>" in user
    )
    _, hidden = judge_messages(rubric, "Q", answers, (0, 1), show_reasoning=False)
    assert "I thought hard" not in hidden


def test_every_order_gives_the_same_texts_and_nothing_else_varies() -> None:
    rubric = find_rubric("advice")
    answers = [Shown("alpha"), Shown("beta"), Shown("gamma")]
    systems = {judge_messages(rubric, "Q", answers, o, False)[0] for o in orders(3)}
    assert len(systems) == 1  # the instruction never says which answer is where


def test_an_order_must_place_every_answer_once() -> None:
    with pytest.raises(ValueError, match="exactly once"):
        judge_messages(find_rubric("general"), "Q", [Shown("a"), Shown("b")], (0, 0), False)
