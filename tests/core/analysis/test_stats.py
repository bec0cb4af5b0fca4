"""The statistics against independent computations written here: a logistic-regression
Bradley–Terry fit for 2-way votes and a direct maximisation of the Luce likelihood for
N-way votes (both with scipy.optimize, not the MM algorithm chatlab uses), exact
p-values against scipy's binomtest, Clopper–Pearson, the power planner's published
figures, FastChat's rank rule, and filters that change the counts as they should."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import binomtest

from chatlab.core.analysis.bootstrap import bootstrap, ranks
from chatlab.core.analysis.exact import clopper_pearson, exact_p, trials_needed
from chatlab.core.analysis.fitting import ELO, elo, fit
from chatlab.core.analysis.report import analyse, compute, summary
from chatlab.core.analysis.votes import Vote as StatVote
from chatlab.core.analysis.votes import collect, contender_id
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Lane, LaneParams, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Vote


def simulate(
    strengths: list[float], votes: int, size: int, seed: int, tie_rate: float = 0.1
) -> list[StatVote]:
    """Votes drawn from a Luce model with these log-strengths, ``size`` lanes at a time."""
    rng = np.random.default_rng(seed)
    out = []
    n = len(strengths)
    for k in range(votes):
        members = rng.choice(n, size=size, replace=False).tolist()
        if rng.random() < tie_rate:
            share = [1.0 / size] * size
        else:
            p = np.exp([strengths[m] for m in members])
            winner = rng.choice(size, p=p / p.sum())
            share = [1.0 if i == winner else 0.0 for i in range(size)]
        out.append(StatVote(prompt=f"p{k % 40}", present=members, share=share))
    return out


def independent_luce(votes: list[StatVote], n: int) -> np.ndarray:
    """Maximise Σ_votes Σ_i share_i · (θ_i − log Σ_{j present} e^θ_j) directly (BFGS)."""

    def loss(theta: np.ndarray) -> float:
        total = 0.0
        for v in votes:
            t = theta[v.present]
            total += float(np.dot(v.share, t) - np.logaddexp.reduce(t))
        return -total

    result = minimize(loss, np.zeros(n), method="BFGS", options={"gtol": 1e-9})
    x: np.ndarray = result.x - result.x.mean()
    return x


def independent_bt(votes: list[StatVote], n: int) -> np.ndarray:
    """2-way only: logistic regression of the first lane's share on θ_a − θ_b."""

    def loss(theta: np.ndarray) -> float:
        total = 0.0
        for v in votes:
            a, b = v.present
            d = theta[a] - theta[b]
            total += v.share[0] * -np.logaddexp(0, -d) + v.share[1] * -np.logaddexp(0, d)
        return -total

    result = minimize(loss, np.zeros(n), method="BFGS", options={"gtol": 1e-9})
    x: np.ndarray = result.x - result.x.mean()
    return x


def test_two_way_ratings_equal_a_logistic_regression_fit() -> None:
    votes = simulate([0.8, 0.2, -0.3, -0.7], 600, 2, seed=1)
    ours = elo(fit(votes, 4))
    theirs = 1000 + ELO * independent_bt(votes, 4)
    assert np.max(np.abs(ours - theirs)) < 0.5, (ours, theirs)


@pytest.mark.parametrize("size", [3, 4])
def test_n_way_ratings_equal_a_direct_luce_fit(size: int) -> None:
    votes = simulate([1.0, 0.4, 0.0, -0.5, -0.9], 800, size, seed=size)
    ours = elo(fit(votes, 5))
    theirs = 1000 + ELO * independent_luce(votes, 5)
    assert np.max(np.abs(ours - theirs)) < 0.5, (ours, theirs)
    # The order of strengths is recovered too.
    assert list(np.argsort(-ours)) == [0, 1, 2, 3, 4]


def test_an_n_way_vote_is_one_choice_not_n_minus_1_battles() -> None:
    # A beats B and C once (one 3-way vote); B and C never meet otherwise. Split into
    # battles, B and C would each lose once to A and tie each other; as one Luce choice
    # the fit must equal the direct likelihood.
    votes = [
        StatVote("p1", [0, 1, 2], [1.0, 0.0, 0.0]),
        StatVote("p2", [1, 2], [1.0, 0.0]),
        StatVote("p3", [0, 2], [0.0, 1.0]),
        StatVote("p4", [0, 1], [0.5, 0.5]),
    ]
    assert np.allclose(fit(votes, 3), independent_luce(votes, 3), atol=1e-4)


def test_exact_p_values_equal_binomtest() -> None:
    for chance in (1 / 2, 1 / 3, 1 / 4):
        for n in range(1, 201):
            for x in range(n + 1):
                ours = exact_p(x, [chance] * n)
                theirs = binomtest(x, n, chance, alternative="greater").pvalue
                assert abs(ours - theirs) < 1e-9, (chance, n, x, ours, theirs)


def test_a_worked_example_and_varying_chance() -> None:
    assert exact_p(30, [0.5] * 50) == pytest.approx(0.1013, abs=1e-4)
    lo, hi = clopper_pearson(30, 50)
    assert (round(lo, 3), round(hi, 3)) == (0.452, 0.736)
    # Poisson-binomial, by enumeration over three trials of different chance.
    chances = [1 / 2, 1 / 3, 1 / 4]
    exact = 0.0
    for outcome in range(8):
        hits = [(outcome >> i) & 1 for i in range(3)]
        if sum(hits) >= 2:
            exact += math.prod(c if h else 1 - c for c, h in zip(chances, hits, strict=True))
    assert exact_p(2, chances) == pytest.approx(exact, abs=1e-12)


def test_the_power_planner() -> None:
    assert trials_needed(0.65, 0.5) == 69
    assert trials_needed(0.5, 1 / 3) == 58


def test_ranks_follow_the_interval_rule() -> None:
    # B's lower bound (990) is above C's upper (980): C ranks below both A and B only
    # where a lower bound clears its upper bound.
    assert ranks([1010, 990, 950], [1050, 1030, 980]) == [1, 1, 3]


def study_session(prompt: str, rater_choices: dict[str, str], tags: tuple[str, ...]) -> Session:
    lanes = [
        Lane("demo", "thinker", LaneParams(reasoning_effort="high"), label="Thinker"),
        Lane("demo", "plain", label="Plain"),
    ]
    turn = Turn(prompt=prompt)
    long_text = "a long considered answer " * 10
    turn.responses[lanes[0].id] = Response(
        lanes[0].id,
        Status.OK,
        text_parts=[long_text],
        usage=Usage(input_tokens=5, output_tokens=300, reasoning_tokens=200),
        cost_usd=0.01,
    )
    turn.responses[lanes[1].id] = Response(
        lanes[1].id,
        Status.OK,
        text_parts=["short"],
        usage=Usage(input_tokens=5, output_tokens=20),
        cost_usd=0.001,
    )
    for rater, choice in rater_choices.items():
        chosen = {"thinker": lanes[0].id, "plain": lanes[1].id}.get(choice, choice)
        turn.votes.append(Vote(chosen, guessed=[lanes[0].id], rater=rater))
    return Session(lanes=lanes, turns=[turn], blind=True, study=StudyRef("s", "S", prompt, 0, tags))


def test_the_document_and_its_filters() -> None:
    sessions = [
        study_session("w1", {"ann": "thinker", "bo": "thinker"}, ("writing",)),
        study_session("w2", {"ann": "thinker", "bo": "plain"}, ("writing",)),
        study_session("m1", {"ann": "tie", "bo": "all_bad"}, ("math",)),
    ]
    assert contender_id(sessions[0].lanes[0]) == "demo:thinker {reasoning_effort=high}"
    doc = compute(sessions, rounds=50)
    assert (doc["format"], doc["version"], doc["votes"], doc["prompts"]) == ("chatlab.stats", 1, 6, 3)
    thinker, plain = doc["contenders"]
    assert (
        thinker["id"] == "demo:thinker {reasoning_effort=high}"
        and thinker["reasoner"]
        and not plain["reasoner"]
    )
    assert thinker["wins"] == 3.0 + 0.5 + 0.5 and plain["wins"] == 1.0 + 0.5 + 0.5  # a tie and all bad split
    assert thinker["all_bad_rate"] == pytest.approx(1 / 6, abs=1e-4) and thinker["appearances"] == 6
    # Three prompts: a rating, but too few for an interval or a rank, and it says so.
    assert thinker["rating"] > plain["rating"] and thinker["ci95"] is None and thinker["rank"] is None
    assert thinker["note"] == "too few votes: on 3 prompts; an interval needs 5"
    assert thinker["mean_cost_usd"] == pytest.approx(0.01) and thinker["mean_reasoning_tokens"] == 200
    assert thinker["on_cost_frontier"] and plain["on_cost_frontier"]  # better vs cheaper
    # Thinker beat Plain in 3 of 6 meetings outright, and 2 were ties or all bad: 4 of 6.
    assert doc["win_rates"]["matrix"] == [[None, round(4 / 6, 4)], [round(2 / 6, 4), None]]
    assert doc["win_rates"]["meetings"] == [[0, 6], [6, 0]]  # what each share rests on
    d = doc["discrimination"]
    assert (d["trials"], d["correct"], d["chance"]) == (6, 6, 0.5)
    assert d["p_value"] == pytest.approx(1 / 64) and d["longest_answer_accuracy"] == 1.0
    # Filters: a tag keeps its prompts' votes, a rater keeps theirs.
    assert compute(sessions, tags=["math"], rounds=10)["votes"] == 2
    assert compute(sessions, raters=["bo"], rounds=10)["votes"] == 3
    assert compute(sessions, tags=["writing"], raters=["ann"], rounds=10)["votes"] == 2
    assert compute(sessions, tags=["code"], rounds=10)["votes"] == 0
    assert len(collect(sessions).votes) == 6


def test_chatlab_stats_on_a_rated_study(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import json

    from chatlab import cli
    from chatlab.core.studies.rating import RatingQueue
    from chatlab.store.db import Store, default_path

    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "Stats"\nsamples = 2\nplacebo = true\n'
        '[[prompts]]\nid = "w"\ntext = "Write."\ntags = ["writing"]\n'
        '[[prompts]]\nid = "m"\ntext = "Count."\ntags = ["math"]\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-reasoner@tps=0"\nlabel = "Thinker"\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast@tps=0"\nlabel = "Plain"\n'
    )
    assert cli.main(["study", "run", str(suite), "--yes"]) == 0
    store = Store(default_path())
    [info] = store.studies()
    queue = RatingQueue(store.study_sessions(info.id), "ann", sink=store)
    while (item := queue.current) is not None:
        plain = next(i for i, lane_id in enumerate(item.lanes) if item.session.lane(lane_id).label == "Plain")
        queue.vote(plain, guessed=[plain])
    store.close()
    capsys.readouterr()
    assert cli.main(["stats", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["votes"], doc["prompts"]) == (4, 2)
    ids = {c["id"]: c for c in doc["contenders"]}
    assert set(ids) == {
        "demo:demo-fast@tps=0",
        "demo:demo-reasoner@tps=0",
        "demo:demo-reasoner@tps=0 (placebo)",
    }
    assert ids["demo:demo-fast@tps=0"]["wins"] == 4.0 and not ids["demo:demo-fast@tps=0"]["reasoner"]
    assert doc["noise_floor"] is not None and doc["judgements"]["table"] == [[0, 8], [4, 0]]
    assert cli.main(["stats"]) == 0
    text = capsys.readouterr().out
    assert "Noise floor: the placebo twin" in text and "balanced accuracy 0%" in text
    assert cli.main(["stats", "--study", "stats", "--tag", "math", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["votes"] == 2
    assert cli.main(["stats", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rank,id,label,reasoner,rating,ci95_low,ci95_high") and len(lines) == 4
    assert cli.main(["stats", "--rater", "nobody"]) == 2
    assert "no votes by 'nobody'; the raters are: 'ann'" in capsys.readouterr().err
    assert cli.main(["stats", "--tag", "code"]) == 0
    assert "no votes match" in capsys.readouterr().out


def test_bootstrap_intervals_are_calibrated() -> None:
    """200 simulated studies (60 prompts × 3 lanes, one 3-way vote each, known
    strengths): the 95 % intervals cover the true rating in 90–99 % of cases."""
    truth_logs = np.array([0.5, 0.0, -0.5])
    truth = 1000 + ELO * (truth_logs - truth_logs.mean())
    covered = total = 0
    for study in range(200):
        rng = np.random.default_rng(study)
        votes = []
        for p in range(60):
            probs = np.exp(truth_logs) / np.exp(truth_logs).sum()
            winner = rng.choice(3, p=probs)
            votes.append(StatVote(f"p{p}", [0, 1, 2], [1.0 if i == winner else 0.0 for i in range(3)]))
        samples = bootstrap(votes, 3, rounds=1000, seed=study)
        lo, hi = np.percentile(samples, 2.5, axis=0), np.percentile(samples, 97.5, axis=0)
        covered += int(np.sum((lo <= truth) & (truth <= hi)))
        total += 3
    assert 0.90 <= covered / total <= 0.99, covered / total


def nominal_alpha_by_hand(units: list[list[str | None]]) -> float:
    """Krippendorff's α (nominal) from its coincidence matrix, for units × raters values."""
    from collections import defaultdict
    from itertools import permutations

    coincidence: dict[tuple[str, str], float] = defaultdict(float)
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        for i, j in permutations(range(m), 2):
            coincidence[(values[i], values[j])] += 1 / (m - 1)
    totals: dict[str, float] = defaultdict(float)
    for (value, _other), w in coincidence.items():
        totals[value] += w
    n = sum(totals.values())
    observed = sum(w for (a, b), w in coincidence.items() if a != b)
    expected = sum(totals[a] * totals[b] for a in totals for b in totals if a != b) / (n - 1)
    return 1 - observed / expected


def test_agreement_equals_a_hand_computed_alpha_with_missing_votes() -> None:
    from chatlab.core.analysis.agreement import agreement
    from chatlab.core.analysis.votes import Data

    # 4 turns, 3 raters; one rater skipped two turns, one turn was rated once only. A vote
    # is coded by the contender it chose (the same from turn to turn), a tie or all bad.
    units: list[list[str | None]] = [
        ["demo:a", "demo:a", "tie"],
        ["demo:b", "demo:b", None],
        ["all_bad", "demo:a", "demo:a"],
        ["tie", None, None],
    ]
    data = Data(contenders=["demo:a", "demo:b"])
    for t, unit in enumerate(units):
        for r, verdict in enumerate(unit):
            if verdict is not None:
                chosen = data.contenders.index(verdict) if verdict.startswith("demo:") else None
                data.votes.append(
                    StatVote(
                        f"p{t}",
                        [0, 1],
                        [0.5, 0.5] if chosen is None else [float(chosen == 0), float(chosen == 1)],
                        rater=f"r{r}",
                        item=f"t{t}",
                        choice=chosen,
                        all_bad=verdict == "all_bad",
                    )
                )
    found = agreement(data)
    assert found is not None and (found.raters, found.items) == (3, 3)
    assert found.votes_alpha == pytest.approx(nominal_alpha_by_hand(units), abs=1e-4)
    assert found.votes_per_rater == {"r0": 4, "r1": 3, "r2": 2}


def test_judgements_position_bias_retest_and_the_noise_floor() -> None:
    from chatlab.core.analysis.agreement import position_bias
    from chatlab.core.analysis.gaps import noise_floor
    from chatlab.core.analysis.guesses import judgements
    from chatlab.core.analysis.votes import Data

    votes = [
        StatVote("p", [0, 1, 2], [1, 0, 0], guessed=[0], reasoners=[0, 1], position=0, shown=3),
        StatVote("p", [0, 1, 2], [1, 0, 0], guessed=[0, 2], reasoners=[0], position=0, shown=3),
        StatVote("p", [0, 1], [1, 0], guessed=[], reasoners=[1], position=0, shown=2),
    ]
    found = judgements(votes)
    # Truth × said, by hand: reasoners 0,1 | 0 | 1; said 0 | 0,2 | none.
    assert found is not None and found.table == [[2, 2], [1, 3]]
    assert found.balanced_accuracy == pytest.approx((2 / 4 + 3 / 4) / 2, abs=1e-4)
    bias = position_bias(votes * 2)
    # 6 choices, all in place 0; expected 2·(1/3+1/3+1/2) there.
    expected = [2 * (1 / 3 + 1 / 3 + 1 / 2), 2 * (1 / 3 + 1 / 3 + 1 / 2), 2 * (1 / 3 + 1 / 3)]
    chi2 = sum((o - e) ** 2 / e for o, e in zip([6, 0, 0], expected, strict=True))
    assert bias is not None and bias.chi2 == pytest.approx(chi2, abs=1e-3) and bias.by_position == [6, 0, 0]
    samples = np.array([[1000.0, 990.0], [1010.0, 1000.0], [1005.0, 1015.0]])
    floor = noise_floor(
        Data(contenders=["m", "m (placebo)"], twins=[None, "m"]), np.array([1004.0, 1000.0]), samples
    )
    assert floor is not None and floor.rating_points == -4.0  # twin − original, signed
    assert floor.ci95[0] <= -10 + 1 and floor.ci95[1] >= 9


def pair_session(prompt: str, tag: str, winner: int, rng: np.random.Generator) -> Session:
    """One comparison of the same model with reasoning on and off, and another model."""
    lanes = [
        Lane("demo", "m", LaneParams(thinking_budget=1024), label="m thinking"),
        Lane("demo", "m", label="m plain"),
        Lane("demo", "other", label="other"),
    ]
    turn = Turn(prompt=prompt)
    for i, lane in enumerate(lanes):
        usage = Usage(
            input_tokens=5, output_tokens=120 if i == 0 else 40, reasoning_tokens=80 if i == 0 else 0
        )
        turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["x"], usage=usage)
    turn.votes.append(Vote(lanes[winner].id, rater="ann", shown_order=[lane.id for lane in lanes]))
    return Session(lanes=lanes, turns=[turn], blind=True, study=StudyRef("s", "S", prompt, 0, (tag,)))


def test_the_reasoning_effect_is_the_gap_between_one_model_with_and_without_reasoning() -> None:
    rng = np.random.default_rng(5)
    sessions = []
    for k in range(120):
        tag = "writing" if k % 2 else "math"
        # Thinking wins most on math, half the time on writing.
        weights = [0.7, 0.2, 0.1] if tag == "math" else [0.4, 0.4, 0.2]
        sessions.append(pair_session(f"p{k}", tag, int(rng.choice(3, p=weights)), rng))
    doc = compute(sessions, rounds=300)
    effect = doc["reasoning_effect"]
    ratings = {c["id"]: c["rating"] for c in doc["contenders"]}
    gap = ratings["demo:m {thinking_budget=1024}"] - ratings["demo:m"]
    assert effect["rating_points"] == pytest.approx(gap, abs=0.15) and effect["pairs"] == 1
    assert effect["ci95"][0] < effect["rating_points"] < effect["ci95"][1]
    assert effect["by_tag"]["math"]["rating_points"] > effect["by_tag"]["writing"]["rating_points"]
    # With no such pair, it says so and how to fix it.
    plain = compute(sessions[:1], rounds=10)["reasoning_effect"]
    assert plain["rating_points"] is not None
    lonely = [s for s in sessions[:5]]
    for s in lonely:
        s.lanes = [lane for lane in s.lanes if lane.label != "m plain"]
    why = compute(lonely, rounds=10)
    assert why["reasoning_effect"] is None and "reasoning off" in why["reasoning_effect_note"]


def test_length_control_removes_a_preference_for_long_answers() -> None:
    from chatlab.core.analysis.fitting import length_controlled

    # Equal strengths; raters like length (a Luce choice on β·z, z the bounded length
    # difference); contender 0 writes long, the others short or medium.
    rng = np.random.default_rng(9)
    votes = []
    for k in range(1500):
        members = rng.choice(3, size=2, replace=False).tolist()
        lengths = [int(rng.integers(300, 500)) if m == 0 else int(rng.integers(40, 300)) for m in members]
        a, b = lengths
        z = (a - b) / (a + b)  # the first answer's bounded difference, the second's is −z
        winner = 0 if rng.random() < 1 / (1 + math.exp(-3.0 * 2 * z)) else 1
        votes.append(
            StatVote(f"p{k}", members, [1.0 if i == winner else 0.0 for i in range(2)], answer_tokens=lengths)
        )
    raw = elo(fit(votes, 3))
    controlled = length_controlled(votes, 3)
    assert controlled is not None
    assert raw[0] - raw[1:].mean() > 150  # the long writer looks much better…
    assert abs(controlled[0] - controlled[1:].mean()) < 60  # …until length is accounted for


def test_little_data_is_said_and_not_dressed_up() -> None:
    one = [study_session("w1", {"ann": "thinker", "bo": "plain"}, ("writing",))]
    report = analyse(one, rounds=50)
    doc = report.to_dict()
    assert doc["prompts"] == 1 and doc["warning"].startswith("only 1 prompt")
    assert all(c["ci95"] is None and c["rank"] is None for c in doc["contenders"])
    assert all(c["rating_length_controlled"] is None for c in doc["contenders"])  # too few votes
    assert summary(report)[0].startswith("Careful: only 1 prompt")
    # Two copies of one lane never rank apart by less than the placebo's noise floor.
    assert ranks([1100, 900], [1300, 950], [1200, 920], noise=400) == [1, 1]
    assert ranks([1100, 900], [1300, 950], [1200, 920]) == [1, 2]
