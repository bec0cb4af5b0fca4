"""The thinking quiz against a rater who can't tell trained reasoning from prompted at
all, but can read "reasoning not shown": among a reasoner, a plain model asked to
think and a plain model, the plain one's pane gives it away, and a coin between the
other two is right half the time. Against a chance of 1/3 that read as "raters could
tell" in nearly every study; the chance is one in the answers whose pane looked like
the truth's."""

from __future__ import annotations

import numpy as np
import pytest

from chatlab.core.analysis.guesses import discrimination_reasoning
from chatlab.core.analysis.votes import collect
from tests.core.analysis.test_guesses import comparison, guess

pytestmark = pytest.mark.hostile


def test_a_rater_who_only_sees_which_panes_have_text_is_not_told_apart_from_chance() -> None:
    rng = np.random.default_rng(21)
    sessions = [comparison(k, 3) for k in range(30)]  # thinker, prompted (both with text), plain
    rejected = 0
    studies = 1000
    for _ in range(studies):
        for s in sessions:
            guess(s, int(rng.integers(2)), rng)  # one of the two panes with reasoning text
        found = discrimination_reasoning(collect(sessions).votes)
        assert found is not None and found.trials == 30 and found.chance == pytest.approx(0.5)
        rejected += found.p_value <= 0.05
    assert rejected / studies <= 0.05, rejected


def test_a_hidden_reasoner_is_one_of_the_panes_that_read_not_shown() -> None:
    sessions = [comparison(k, 3) for k in range(6)]
    for s in sessions:
        thinker = s.turns[0].responses[s.lanes[0].id]
        thinker.reasoning_parts = []  # the provider counted its reasoning and sent none
        guess(s, 0)
    found = discrimination_reasoning(collect(sessions).votes)
    # The thinker and the plain lane read "reasoning not shown" alike: 1 in 2.
    assert found is not None and found.trials == 6 and found.chance == pytest.approx(0.5)


def test_a_vote_where_only_the_trained_answer_shows_reasoning_tests_nothing() -> None:
    sessions = [comparison(k, 3, prompted=False) for k in range(6)]  # thinker, plain, plain
    for s in sessions:
        guess(s, 0)
    assert discrimination_reasoning(collect(sessions).votes) is None
