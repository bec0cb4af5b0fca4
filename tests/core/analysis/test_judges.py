"""A judge's calibration against the humans: agreement and κ equal a plain computation
written here; a simulated study with demo-judge (its verdicts on chatlab's own judge
requests) gives position consistency and length bias whose intervals hold what the
scripted biases imply; a coin-flipping judge agrees by chance alone; and the degenerate
cases (no humans, one human, a judge that always ties, no shared comparison) say so in
words rather than crash."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from chatlab.core.analysis.judges import calibrate, cohen_kappa, family
from chatlab.core.data.model import Session
from chatlab.demo import judge
from tests.core.analysis.judge_study import JUDGE, by_hand, comparison, judged

HUMANS = ("ann", "bo", "cy")


def _plain_majority(choices: list[str]) -> str:
    counts: dict[str, int] = {}
    for c in choices:
        counts[c] = counts.get(c, 0) + 1
    top = max(counts.values())
    winners = [c for c, n in counts.items() if n == top]
    return winners[0] if len(winners) == 1 else "tie"


def _plain_score(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if a == "tie" or b == "tie":
        return 0.5
    return 0.0


def _plain_kappa(x: list[str], y: list[str]) -> float:
    n = len(x)
    agree = 0
    for a, b in zip(x, y, strict=True):
        if a == b:
            agree += 1
    expected = 0.0
    for cat in set(x) | set(y):
        expected += (x.count(cat) / n) * (y.count(cat) / n)
    return (agree / n - expected) / (1 - expected)


def _random_study(seed: int, n: int = 40) -> list[Session]:
    """Three-answer comparisons with one to three humans (some ties, some all bad) and a
    hand-made judge vote (an answer or a tie)."""
    rng = random.Random(seed)
    sessions = []
    human_picks: list[int | str] = [0, 0, 1, 2, "tie", "all_bad"]
    judge_picks: list[int | str] = [0, 1, 2, "tie"]
    for k in range(n):
        who = rng.sample(HUMANS, rng.randint(1, 3))
        humans: dict[str, int | str] = {h: rng.choice(human_picks) for h in who}
        texts = [f"answer {k}.{i} " + "x" * rng.randint(0, 30) for i in range(3)]
        s = comparison(k, texts, humans)
        s.turns[0].votes.append(by_hand(s, rng.choice(judge_picks)))
        sessions.append(s)
    return sessions


def _code(session: Session, choice: str) -> str:
    ids = [lane.id for lane in session.lanes]
    return str(ids.index(choice)) if choice in ids else "tie"


def test_agreement_and_kappa_equal_a_plain_computation() -> None:
    sessions = _random_study(7)
    [cal] = calibrate(sessions, rounds=200)
    scores = []
    per_human: dict[str, tuple[list[str], list[str]]] = {h: ([], []) for h in HUMANS}
    for s in sessions:
        votes = s.turns[0].votes
        j = next(v for v in votes if v.rater == JUDGE)
        humans = [v for v in votes if v.rater != JUDGE]
        hc = [_code(s, v.choice) for v in humans]  # all bad reads as a tie
        scores.append(_plain_score(_code(s, j.choice), _plain_majority(hc)))
        for v in humans:
            per_human[v.rater_name][0].append(_code(s, j.choice))
            per_human[v.rater_name][1].append(_code(s, v.choice))
    assert cal.shared == len(sessions) == cal.agreement.n
    assert cal.agreement.value == pytest.approx(sum(scores) / len(scores), abs=1e-4)
    lo, hi = cal.agreement.ci95 or (2.0, -1.0)
    assert lo <= sum(scores) / len(scores) <= hi
    got = {k.rater: k for k in cal.kappa}
    assert set(got) == set(HUMANS)
    for h, (x, y) in per_human.items():
        assert got[h].n == len(x)
        assert got[h].kappa == pytest.approx(_plain_kappa(x, y), abs=1e-4)
        assert cohen_kappa(x, y) == pytest.approx(_plain_kappa(x, y))


def test_pairwise_agreement_and_the_human_ceiling_equal_a_plain_computation() -> None:
    sessions = _random_study(11)
    [cal] = calibrate(sessions, rounds=200)
    judge_values, human_values = [], []
    for s in sessions:
        votes = s.turns[0].votes
        j = _code(s, next(v for v in votes if v.rater == JUDGE).choice)
        humans = [_code(s, v.choice) for v in votes if v.rater != JUDGE]
        judge_values.append(sum(_plain_score(j, h) for h in humans) / len(humans))
        if len(humans) < 2:
            continue
        pairs = []
        for i in range(len(humans)):
            for k in range(i + 1, len(humans)):
                pairs.append(_plain_score(humans[i], humans[k]))
        human_values.append(sum(pairs) / len(pairs))
    assert cal.pairwise.value == pytest.approx(sum(judge_values) / len(judge_values), abs=1e-4)
    assert cal.human_ceiling.n == len(human_values) > 0
    assert cal.human_ceiling.value == pytest.approx(sum(human_values) / len(human_values), abs=1e-4)


def _quality_study(n: int, seed: int, humans: int = 2, accuracy: float = 0.8) -> list[Session]:
    """Two-answer comparisons of different lengths; each human picks the answer of higher
    hidden quality (demo-judge's ``quality``) with probability ``accuracy``."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        a = f"answer {k} " + "x" * (k % 7)
        b = f"other {k} " + "y" * (k % 5 + 8)  # always longer than a
        best = 0 if judge.quality(a) > judge.quality(b) else 1
        votes: dict[str, int | str] = {
            f"h{h}": best if rng.random() < accuracy else 1 - best for h in range(humans)
        }
        out.append(comparison(k, [a, b], votes, specs=("openai:gpt-x", "demo:beta")))
    return out


def _view_chances(texts: list[str], answer: int) -> float:
    """P(demo-judge's view of a comparison is ``answer``), from the script's rates: the
    view, the same in every order, is the longest answer with probability q/(1-p) (the
    length branch, given no position pick), else the best with probability a."""
    p, q, a = judge.POSITION_BIAS, judge.LENGTH_BIAS, judge.AGREEMENT
    q_view = q / (1 - p)
    longest = max(range(2), key=lambda i: len(texts[i]))
    best = max(range(2), key=lambda i: judge.quality(texts[i]))
    return q_view * (longest == answer) + (1 - q_view) * (a if best == answer else 1 - a)


def test_a_simulated_study_recovers_demo_judges_scripted_position_and_length_bias() -> None:
    """600 comparisons judged by demo-judge both ways round: the share of consistent
    votes and the longer answer's extra wins over the humans' are within their 95 %
    intervals of what POSITION_BIAS, LENGTH_BIAS and AGREEMENT imply."""
    # The humans' draws are the only chance here (demo-judge's are fixed by the texts).
    sessions = _quality_study(600, seed=0)
    for s in sessions:
        s.turns[0].votes.append(judged(s))
    [cal] = calibrate(sessions, rounds=400)
    consistent, length_diff = [], []
    a = judge.AGREEMENT
    for s in sessions:
        texts = [s.turns[0].responses[lane.id].text for lane in s.lanes]
        # Answer 0 first in the first order, answer 1 first in the second. Each order
        # takes its first place with probability p on its own draw, else gives the view:
        # both orders pick answer i when the view is i and the order that has i second
        # made no position pick.
        p = judge.POSITION_BIAS
        both0, both1 = (1 - p) * _view_chances(texts, 0), (1 - p) * _view_chances(texts, 1)
        consistent.append(both0 + both1)
        longer = 1  # by construction
        judge_long = both1 + 0.5 * (1 - both0 - both1)  # a tie counts half
        best = max(range(2), key=lambda i: judge.quality(texts[i]))
        human_long = a if best == longer else 1 - a  # the humans' accuracy is also 0.8
        length_diff.append(judge_long - human_long)
    want_consistency = sum(consistent) / len(consistent)
    want_length = sum(length_diff) / len(length_diff)
    pc = cal.position_consistency
    assert pc.n == 600 and pc.ci95 is not None
    assert pc.ci95[0] <= want_consistency <= pc.ci95[1], (pc, want_consistency)
    assert want_consistency < 0.9
    lb = cal.length_bias
    assert lb.n == 600 and lb.ci95 is not None and lb.difference is not None
    assert lb.ci95[0] <= want_length <= lb.ci95[1], (lb, want_length)
    assert want_length > 0.03  # the scripted bias is there to find
    # Its family is demo; one answer in each comparison is demo's: self-preference is measured.
    assert cal.family == "demo" and cal.self_preference.n == 600
    # Criteria scores follow its choice, which follows the hidden quality as humans do.
    assert {c.criterion for c in cal.criteria} == {"quality", "clarity"}
    assert all(c.correlation is not None and c.correlation > 0 for c in cal.criteria)


def _coin_study(n: int, seed: int) -> list[Session]:
    rng = random.Random(seed)
    sessions = _quality_study(n, seed, humans=1)
    for s in sessions:
        s.turns[0].votes.append(by_hand(s, rng.randrange(2)))
    return sessions


def test_a_coin_flipping_judge_agrees_by_chance_alone() -> None:
    [cal] = calibrate(_coin_study(400, seed=5), rounds=400)
    ci = cal.agreement.ci95
    assert ci is not None and ci[0] <= 0.5 <= ci[1]
    assert cal.agreement.value == pytest.approx(0.5, abs=0.08)
    [k] = cal.kappa
    assert k.kappa is not None and abs(k.kappa) < 0.15
    assert cal.weight < 0.2  # barely beyond chance, if at all


@pytest.mark.slow
def test_the_agreement_interval_covers_chance_for_a_coin_flipping_judge() -> None:
    covered = 0
    reps = 200
    for rep in range(reps):
        [cal] = calibrate(_coin_study(40, seed=1000 + rep), rounds=300)
        lo, hi = cal.agreement.ci95 or (1.0, 0.0)
        covered += lo <= 0.5 <= hi
    assert covered / reps >= 0.9, covered


def test_no_humans_no_shared_comparison_says_so() -> None:
    sessions = _quality_study(6, seed=1, humans=0)
    for s in sessions:
        s.turns[0].votes.append(by_hand(s, 0))
    [cal] = calibrate(sessions, rounds=100)
    assert cal.votes == 6 and cal.shared == 0
    assert cal.agreement.value is None and "no comparisons shared" in (cal.agreement.note or "")
    assert cal.kappa == [] and cal.criteria == []
    assert cal.human_ceiling.value is None and cal.human_ceiling.note
    assert cal.length_bias.difference is None and cal.length_bias.note
    assert cal.self_preference.difference is None and cal.self_preference.note
    assert cal.position_consistency.value == 1.0  # its own votes still say this
    assert cal.weight == 0.0


def test_a_judge_with_no_comparison_shared_with_humans() -> None:
    humans = _quality_study(6, seed=1, humans=2)
    alone = _quality_study(12, seed=2, humans=0)[6:]
    for s in alone:
        s.turns[0].votes.append(by_hand(s, 1))
    [cal] = calibrate(humans + alone, rounds=100)
    assert cal.shared == 0 and cal.agreement.value is None
    assert cal.human_ceiling.n == 6 and cal.human_ceiling.value is not None


def test_one_human_gives_no_ceiling_and_a_kappa_against_that_human() -> None:
    sessions = _quality_study(8, seed=4, humans=1)
    for s in sessions:
        s.turns[0].votes.append(by_hand(s, 1))
    [cal] = calibrate(sessions, rounds=100)
    assert cal.human_ceiling.value is None and "two or more" in (cal.human_ceiling.note or "")
    [k] = cal.kappa
    assert k.rater == "h0" and k.n == 8
    # The judge always chose the same place: no spread on its side, so κ is 0 unless the
    # human did too (then undefined, and said so).
    assert k.kappa == 0.0 or (k.kappa is None and k.note)


def test_a_judge_that_always_ties() -> None:
    sessions = _quality_study(10, seed=6, humans=1)
    for s in sessions:
        s.turns[0].votes.append(by_hand(s, "tie", consistent=False))
    [cal] = calibrate(sessions, rounds=100)
    assert cal.agreement.value == 0.5  # a tie against a single answer is half right
    assert cal.position_consistency.value == 0.0
    assert cal.length_bias.judge_rate == 0.5
    for k in cal.kappa:
        assert k.kappa is None or abs(k.kappa) < 1e-9


def test_two_humans_with_one_vote_each_and_few_comparisons_say_too_few() -> None:
    sessions = _quality_study(3, seed=8)
    for s in sessions:
        s.turns[0].votes.append(by_hand(s, 0))
    [cal] = calibrate(sessions, rounds=100)
    assert cal.agreement.n == 3 and cal.agreement.ci95 is None
    assert "too few" in (cal.agreement.note or "")


def test_vendor_families_come_from_the_model_name() -> None:
    assert family("openai:gpt-5") == family("azure:gpt-4o") == family("openrouter:openai/o3") == "openai"
    assert family("anthropic:claude-sonnet-4-5") == family("openrouter:anthropic/claude-3") == "anthropic"
    assert family("google:gemini-2.5-pro") == "google"
    assert family("demo:demo-judge") == "demo"
    assert family("local:my-model") == "local"
    assert Counter(family(s) for s in ("x:qwen3", "y:qwq-32b")) == Counter({"alibaba": 2})


def test_a_damaged_judgement_is_read_as_far_as_it_goes() -> None:
    sessions = _quality_study(6, seed=9)
    odd: list[object] = [
        ["not", "a", "dict"],
        {"c0l0": [1, 2]},
        {"c1l0": {"quality": "high", "x": True}},
        None,
    ]
    for k, s in enumerate(sessions):
        vote = by_hand(s, 0, scores=odd[k % len(odd)])
        assert vote.judgement is not None
        vote.judgement["consistent"] = "yes"
        s.turns[0].votes.append(vote)
    [cal] = calibrate(sessions, rounds=100)
    assert cal.criteria == []
    assert cal.position_consistency.value is None and cal.position_consistency.note
    assert cal.agreement.n == 6
