"""Whose votes count: humans' by default (a judge's vote changes nothing but the Judges
part), judges' alone when asked, or both with each judge's votes weighted by its
agreement beyond chance; the weighted fit is the weighted Luce likelihood's maximum,
checked against scipy; and ``chatlab stats --raters`` says which it used."""

from __future__ import annotations

import copy
import json
import math
import random

import numpy as np
import pytest

from chatlab import cli
from chatlab.core.analysis.card import answer_card
from chatlab.core.analysis.fitting import fit
from chatlab.core.analysis.judges import kappa_low
from chatlab.core.analysis.report import analyse, summary
from chatlab.core.analysis.votes import Vote
from chatlab.core.data.model import Session
from tests.core.analysis.judge_study import JUDGE, by_hand, judged
from tests.core.analysis.test_judges import _quality_study

ROUNDS = 200


def _study(n: int = 30) -> tuple[list[Session], list[Session]]:
    """(without the judge, with demo-judge's vote on every comparison)."""
    humans = _quality_study(n, seed=2, humans=2)
    both = copy.deepcopy(humans)
    for s in both:
        s.turns[0].votes.append(judged(s))
    return humans, both


def _good_study(n: int = 60, seed: int = 7) -> tuple[list[Session], list[Session]]:
    """(without the judge, with a judge that agrees with the hidden quality as the humans do)."""
    both = _coin_or_good(n, seed, good=True)
    humans = copy.deepcopy(both)
    for s in humans:
        s.turns[0].votes = [v for v in s.turns[0].votes if v.rater != JUDGE]
    return humans, both


def _without(doc: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in doc.items() if k not in ("raters", "judges")}


def test_by_default_a_judges_votes_change_nothing_but_the_judges_part() -> None:
    humans, both = _study()
    plain = analyse(humans, rounds=ROUNDS)
    with_judge = analyse(both, rounds=ROUNDS)
    assert _without(with_judge.to_dict()) == _without(plain.to_dict())
    assert with_judge.votes == plain.votes == 60
    assert with_judge.agreement is not None and with_judge.agreement.raters == 2
    r = with_judge.raters
    assert r is not None and r.kind == "humans" and r.humans == 2 and r.judges == []
    assert r.sentence == "Humans' votes only (2 raters); 1 judge not counted — see Judges."
    assert r.sentence in summary(with_judge)
    [cal] = with_judge.judges
    assert cal.rater == JUDGE and cal.name == "demo-judge" and cal.shared == 30
    assert plain.judges == [] and plain.raters is not None and plain.raters.sentence not in summary(plain)


def test_judges_alone_count_only_the_judges_votes() -> None:
    _, both = _study()
    report = analyse(both, rounds=ROUNDS, rater_kind="judges")
    assert report.votes == 30
    assert report.agreement is None  # one rater: no agreement between raters
    assert report.raters is not None and report.raters.kind == "judges" and report.raters.humans == 0
    assert report.raters.sentence.startswith("Judges' votes only (1 judge)")


def test_both_count_a_judge_weighted_by_its_agreement() -> None:
    _, both = _good_study()
    report = analyse(both, rounds=ROUNDS, rater_kind="both")
    [cal] = report.judges
    assert 0 < cal.weight < 1
    # Its agreement beyond chance at the least: each human's lower κ bound, by comparisons shared.
    known = [(k.low, k.n) for k in cal.kappa if k.low is not None]
    assert len(known) == 2
    assert cal.weight == pytest.approx(sum(k * n for k, n in known) / sum(n for _, n in known), abs=1e-3)
    assert report.votes == 180
    assert report.raters is not None and report.raters.weights == {"demo-judge": cal.weight}
    assert "demo-judge weighs" in report.raters.sentence
    humans_only = analyse(both, rounds=ROUNDS)
    # The judge's weighted votes move the ratings.
    got = {c.id: c.rating for c in report.contenders}
    base = {c.id: c.rating for c in humans_only.contenders}
    assert got != base


def test_a_judge_with_too_little_calibration_is_not_counted_in_both() -> None:
    humans = _quality_study(4, seed=2, humans=2)  # 4 shared comparisons: below the minimum
    for s in humans:
        s.turns[0].votes.append(judged(s))
    report = analyse(humans, rounds=ROUNDS, rater_kind="both")
    assert report.votes == 8
    assert report.raters is not None and report.raters.judges == []
    assert "no judge agrees with them beyond chance" in report.raters.sentence
    assert report.raters.judges_left_out == ["demo-judge"]


def _luce_by_scipy(votes: list[Vote], n: int) -> np.ndarray:
    """The weighted Luce log-likelihood Σ_v w_v Σ_i share_i·log softmax(θ)_i, maximised
    by scipy over θ (θ_0 pinned at 0), then centred: written here, not the package's MM."""
    from scipy.optimize import minimize

    def loss(free: np.ndarray) -> float:
        theta = np.concatenate([[0.0], free])
        total = 0.0
        for v in votes:
            u = theta[v.present]
            logp = u - (u.max() + math.log(np.exp(u - u.max()).sum()))
            total -= v.weight * float(np.dot(v.share, logp))
        return total

    result = minimize(loss, np.zeros(n - 1), method="BFGS", options={"gtol": 1e-9})
    theta = np.concatenate([[0.0], result.x])
    out: np.ndarray = theta - theta.mean()
    return out


def test_the_weighted_fit_maximises_the_weighted_likelihood() -> None:
    rng = random.Random(4)
    votes = []
    for k in range(200):
        present = rng.sample(range(4), rng.choice([2, 3]))
        pick = rng.randrange(len(present) + 1)
        share = [1.0 / len(present)] * len(present) if pick == len(present) else [0.0] * len(present)
        if pick < len(present):
            share[pick] = 1.0
        votes.append(
            Vote(prompt=f"p{k % 40}", present=present, share=share, weight=rng.choice([1.0, 0.3, 0.7]))
        )
    got = fit(votes, 4)
    assert np.allclose(got, _luce_by_scipy(votes, 4), atol=1e-4)
    # A vote of weight 2 is two votes of weight 1.
    doubled = [Vote(prompt=v.prompt, present=v.present, share=v.share, weight=2.0) for v in votes[:50]]
    single = [Vote(prompt=v.prompt, present=v.present, share=v.share) for v in votes[:50]]
    assert np.allclose(fit(doubled, 4), fit(single + single, 4), atol=1e-8)
    # Weights matter: the unweighted fit differs.
    flat = [Vote(prompt=v.prompt, present=v.present, share=v.share) for v in votes]
    assert not np.allclose(fit(flat, 4), got, atol=1e-3)


def test_chatlab_stats_raters_both(capsys: pytest.CaptureFixture[str]) -> None:
    from chatlab.store.db import Store, default_path

    _, both = _good_study()
    default_path().parent.mkdir(parents=True, exist_ok=True)
    store = Store(default_path())
    try:
        for session in both:
            store.save_session(session)
    finally:
        store.close()
    capsys.readouterr()
    assert cli.main(["stats", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["votes"] == 120 and doc["raters"]["kind"] == "humans"
    assert [j["name"] for j in doc["judges"]] == ["demo-judge"]
    assert cli.main(["stats", "--raters", "both", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["votes"] == 180 and doc["raters"]["kind"] == "both"
    assert cli.main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "The judge (demo-judge) agrees with each of you on" in out
    assert "1 judge not counted — see Judges" in out


def test_the_card_sentence_says_what_the_data_allow() -> None:
    from chatlab.core.analysis.card import judge_line
    from chatlab.core.analysis.judges import calibrate

    one = _quality_study(20, seed=5, humans=1)
    for s in one:
        s.turns[0].votes.append(judged(s))
    [cal] = calibrate(one, rounds=ROUNDS)
    line = judge_line(cal)
    assert line.startswith("The judge (demo-judge) agrees with you on ")
    assert "95% CI" in line and "no comparison has two human votes" in line
    few = _quality_study(3, seed=5, humans=2)
    for s in few:
        s.turns[0].votes.append(judged(s))
    [cal] = calibrate(few, rounds=ROUNDS)
    assert judge_line(cal).endswith("of 3 shared comparisons: too few to say how far that holds.")
    alone = _quality_study(3, seed=5, humans=0)
    for s in alone:
        s.turns[0].votes.append(judged(s))
    [cal] = calibrate(alone, rounds=ROUNDS)
    assert judge_line(cal) == (
        "The judge (demo-judge) judged 3 comparisons, none also rated by a human: "
        "nothing to check it against."
    )
    _, both = _study()
    [cal] = calibrate(both, rounds=ROUNDS)
    assert "the two humans agree with each other on" in judge_line(cal)
    assert ", on average (95% CI" in judge_line(cal)


def test_a_judge_that_only_ties_counts_for_nothing_and_the_card_says_why() -> None:
    """A judge that ties everywhere scores half against every human choice (50 %, a CI of
    zero width): it chose nothing, agrees no better than chance, and weighs 0 under Both."""
    humans, _ = _study()
    ties = copy.deepcopy(humans)
    for s in ties:
        s.turns[0].votes.append(by_hand(s, "tie", consistent=False))
    report = analyse(ties, rounds=ROUNDS, rater_kind="both")
    [cal] = report.judges
    assert cal.pairwise.value == 0.5 and cal.decisive.value == 0.0
    assert cal.weight == 0.0 and "isn't shown to be above 0" in str(cal.weight_note)
    assert report.votes == 60  # the humans' only
    [line] = [ln for sec in answer_card(report) for ln in sec.lines if "The judge (" in ln]
    assert line.startswith("The judge (demo-judge) never chose an answer in its 30 votes; all were ties")
    assert "no better than chance" in line


def test_one_judge_model_with_three_rubrics_counts_once_under_both() -> None:
    _, three = _good_study()
    for s in three:
        [vote] = [v for v in s.turns[0].votes if v.rater == JUDGE]
        for rubric in ("/writing", "/advice"):
            again = copy.deepcopy(vote)
            again.rater = again.rater_name = JUDGE + rubric
            s.turns[0].votes.append(again)
    report = analyse(three, rounds=ROUNDS, rater_kind="both")
    counted = [c for c in report.judges if c.weight > 0]
    assert len(report.judges) == 3 and len(counted) == 1
    assert all("counts instead" in str(c.weight_note) for c in report.judges if c.weight == 0)
    assert report.votes == 120 + 60  # the humans' and one judge's
    # Raters' agreement stays the people's.
    assert report.agreement is not None and report.agreement.raters == 2


def _kappa_low_by_hand(a: list[str], b: list[str]) -> float:
    """Cohen's κ and its large-sample standard error, written out here."""
    n = len(a)
    agreed = sum(1 for x, y in zip(a, b, strict=True) if x == y)
    po = agreed / n
    cats = set(a) | set(b)
    pe = sum((a.count(c) / n) * (b.count(c) / n) for c in cats)
    kappa = (po - pe) / (1 - pe)
    p = (agreed + 0.5) / (n + 1)  # adjusted by half a comparison: none or all agreeing keeps an error
    return kappa - 1.96 * math.sqrt(p * (1 - p) / n) / (1 - pe)


def test_the_lower_kappa_bound_matches_a_computation_by_hand() -> None:
    rng = random.Random(4)
    for _ in range(50):
        n = rng.randint(5, 60)
        a = [rng.choice("01t") for _ in range(n)]
        b = [x if rng.random() < 0.6 else rng.choice("01t") for x in a]
        got = kappa_low(a, b)
        if got is not None:
            assert got == pytest.approx(_kappa_low_by_hand(a, b), abs=1e-12)


def _coin_or_good(n: int, seed: int, good: bool) -> list[Session]:
    """Two humans following the hidden quality 80 % of the time; a judge that does too
    (good) or flips a coin."""
    rng = random.Random(seed)
    sessions = _quality_study(n, seed=seed, humans=2)
    for s in sessions:
        humans = [v for v in s.turns[0].votes]
        best = max(range(2), key=lambda i: sum(v.choice == s.lanes[i].id for v in humans))
        pick = (best if rng.random() < 0.8 else 1 - best) if good else rng.randrange(2)
        s.turns[0].votes.append(by_hand(s, pick))
    return sessions


@pytest.mark.slow
def test_a_coin_flipping_judge_is_rarely_weighted_and_a_good_one_usually_is() -> None:
    """The false-positive rate of counting a judge under Both: a coin-flipping judge gets
    weight > 0 in at most 5 % of 200 simulated studies of 60 comparisons (the lower κ
    bound is above 0 about 1 time in 40 by chance); a judge that agrees as the humans do
    gets it in most."""
    from chatlab.core.analysis.judges import calibrate

    coin = sum(calibrate(_coin_or_good(60, 100 + r, good=False), rounds=50)[0].weight > 0 for r in range(200))
    good = sum(calibrate(_coin_or_good(60, 500 + r, good=True), rounds=50)[0].weight > 0 for r in range(100))
    assert coin / 200 <= 0.05, coin
    assert good / 100 >= 0.8, good


@pytest.mark.slow
def test_kappas_interval_covers_zero_for_a_coin_flipping_judge() -> None:
    """Coverage of κ's 95 % interval where the truth is 0 (a coin against each human):
    about 92 % over 200 studies of 60 comparisons (the large-sample error runs a little
    small at this size; the weight, on its lower end, was above 0 in 1 of 200)."""
    from chatlab.core.analysis.judges import calibrate

    covered = total = 0
    for r in range(200):
        for k in calibrate(_coin_or_good(60, 900 + r, good=False), rounds=20)[0].kappa:
            assert k.low is not None and k.high is not None
            total += 1
            covered += k.low <= 0 <= k.high
    assert covered / total >= 0.88, (covered, total)
