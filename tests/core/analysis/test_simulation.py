"""The statistics checked by simulation and against computations written here: raters'
agreement (Krippendorff's α) on coin-flip raters and against the ``krippendorff``
package, the vote-level test of the "reasoned?" marks (its false-positive rate under
chance, and its p-value against brute-force enumeration), and the regressions of the
issue that found them (ranks from two prompts, meetings of a model present twice, the
placebo's signed gap). Every simulation is seeded."""

from __future__ import annotations

import itertools
import math
import tracemalloc
from typing import Literal

import numpy as np
import pytest

from chatlab.core.analysis.agreement import agreement, interval_alpha, nominal_alpha
from chatlab.core.analysis.exact import vote_level_p
from chatlab.core.analysis.gaps import Gap, noise_floor
from chatlab.core.analysis.guesses import Judgements, judgements
from chatlab.core.analysis.report import Report, compute, summary
from chatlab.core.analysis.votes import Data, collect
from chatlab.core.analysis.votes import Vote as StatVote
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Lane, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Vote

# -- a study of comparisons, each with lanes of its own (as a study makes them) ------------


def comparisons(count: int, lanes: int) -> list[Session]:
    """``count`` comparisons of the models m0…m{lanes−1}, fresh lanes (and lane ids) in
    every one, no votes yet."""
    out = []
    for k in range(count):
        ls = [Lane("demo", f"m{i}", label=f"M{i}") for i in range(lanes)]
        turn = Turn(prompt=f"p{k}")
        for lane in ls:
            turn.responses[lane.id] = Response(
                lane.id, Status.OK, text_parts=["x"], usage=Usage(input_tokens=1, output_tokens=10)
            )
        out.append(Session(lanes=ls, turns=[turn], blind=True, study=StudyRef("s", "S", f"p{k}", 0, ("t",))))
    return out


def coin_flips(sessions: list[Session], raters: int, rng: np.random.Generator) -> list[list[str]]:
    """Every rater picks a lane of every comparison at random; the votes replace any
    earlier ones. Returns each comparison's choices as the model chosen, per rater."""
    models = []
    for s in sessions:
        turn = s.turns[0]
        picks = rng.integers(0, len(s.lanes), raters)
        turn.votes = [
            Vote(s.lanes[p].id, rater=f"r{r}", shown_order=[lane.id for lane in s.lanes])
            for r, p in enumerate(picks)
        ]
        models.append([s.lanes[p].model for p in picks])
    return models


Level = Literal["nominal", "interval"]


def krippendorff_reference(rows: list[list[str | float | None]], level: Level) -> float:
    """The ``krippendorff`` package's α for units × raters (None: not rated)."""
    import krippendorff

    values = sorted({v for row in rows for v in row if v is not None}, key=str)
    code = {v: float(i) for i, v in enumerate(values)} if level == "nominal" else None
    table = np.full((len(rows[0]), len(rows)), np.nan)
    for u, row in enumerate(rows):
        for r, v in enumerate(row):
            if v is not None:
                table[r, u] = code[v] if code is not None else float(v)
    return float(krippendorff.alpha(reliability_data=table, level_of_measurement=level))


# -- 1. agreement: a vote is coded by the contender it chose --------------------------------


def test_votes_are_coded_by_the_contender_chosen_not_by_the_lane() -> None:
    # Two coin-flip raters over 150 two-lane comparisons: coded by lane id (new in every
    # comparison) chance agreement is about nil and α came out 0.53, the raw agreement.
    sessions = comparisons(150, 2)
    models = coin_flips(sessions, 2, np.random.default_rng(7))
    found = agreement(collect(sessions))
    assert found is not None and found.items == 150 and found.raters == 2
    reference = krippendorff_reference([list(pair) for pair in models], "nominal")
    assert found.votes_alpha == pytest.approx(reference, abs=1e-4)
    assert found.votes_alpha is not None
    assert abs(found.votes_alpha) < 0.2, found  # coin flips: no agreement beyond chance


def test_ties_all_bad_and_a_placebo_twin_are_codes_of_their_own() -> None:
    # Three raters on four comparisons of a model, its placebo twin and another model.
    choices: list[list[str | None]] = [
        ["m0", "m0", "tie"],
        ["m0 (placebo)", "m0", "m0 (placebo)"],
        ["all_bad", "tie", "all_bad"],
        ["m1", "m1", None],
    ]
    sessions = []
    for k, row in enumerate(choices):
        ls = [
            Lane("demo", "m0", label="M0"),
            Lane("demo", "m0", label="M0 (placebo)", placebo=True),
            Lane("demo", "m1", label="M1"),
        ]
        by_code = {"m0": ls[0].id, "m0 (placebo)": ls[1].id, "m1": ls[2].id}
        turn = Turn(prompt=f"p{k}")
        for lane in ls:
            turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["x"])
        turn.votes = [Vote(by_code.get(c, c), rater=f"r{r}") for r, c in enumerate(row) if c is not None]
        sessions.append(Session(lanes=ls, turns=[turn], blind=True, study=StudyRef("s", "S", f"p{k}", 0, ())))
    found = agreement(collect(sessions))
    rows: list[list[str | float | None]] = [list(row) for row in choices]
    reference = krippendorff_reference(rows, "nominal")
    assert found is not None and found.votes_alpha == pytest.approx(reference, abs=1e-4)
    assert found.votes_alpha is not None and found.votes_alpha > 0.2  # they do agree here, coded by contender


@pytest.mark.parametrize(("lanes", "raters"), [(2, 2), (3, 2), (4, 2), (3, 3)])
def test_coin_flip_raters_have_an_alpha_of_about_zero(lanes: int, raters: int) -> None:
    """Mean α over 200 seeded studies of 150 comparisons: within ±0.05 of 0 (coded by
    lane it was 0.49, 0.35 and 0.25 at 2, 3 and 4 lanes)."""
    sessions = comparisons(150, lanes)
    rng = np.random.default_rng(100 + lanes)
    alphas = []
    for _ in range(200):
        coin_flips(sessions, raters, rng)
        found = agreement(collect(sessions))
        assert found is not None and found.votes_alpha is not None
        alphas.append(found.votes_alpha)
    assert abs(float(np.mean(alphas))) < 0.05, np.mean(alphas)


def test_alpha_equals_the_krippendorff_package_on_small_tables() -> None:
    import krippendorff

    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(300):
        raters, items, values = int(rng.integers(2, 6)), int(rng.integers(2, 15)), int(rng.integers(2, 6))
        table = rng.integers(1, values + 1, (raters, items)).astype(float)
        table[rng.random((raters, items)) < 0.3] = np.nan
        units = [[float(x) for x in table[:, i] if not np.isnan(x)] for i in range(items)]
        levels: tuple[tuple[Level, float | None], ...] = (
            ("nominal", nominal_alpha(units)),
            ("interval", interval_alpha(units)),
        )
        for level, ours in levels:
            pairable = [u for u in units if len(u) >= 2]
            if len({x for u in pairable for x in u}) < 2:
                assert ours is None  # nothing to disagree about: α is undefined
                continue
            theirs = float(krippendorff.alpha(reliability_data=table, level_of_measurement=level))
            assert ours is not None and ours == pytest.approx(theirs, abs=1e-9), (level, table)
            checked += 1
    assert checked > 400


def test_agreement_on_scores_equals_the_package() -> None:
    data = Data()
    rows: list[list[str | float | None]] = []
    rng = np.random.default_rng(4)
    for item in range(30):
        row: list[str | float | None] = []
        for rater in range(3):
            score = None if rng.random() < 0.25 else int(rng.integers(1, 6))
            row.append(score)
            if score is not None:
                data.scored.append((f"t{item}/lane", f"r{rater}", score))
        rows.append(row)
    data.votes = [StatVote("p", [0, 1], [0.5, 0.5], rater=f"r{r}", item="t") for r in range(2)]
    found = agreement(data)
    assert found is not None
    assert found.scores_alpha == pytest.approx(krippendorff_reference(rows, "interval"), abs=1e-4)


def test_agreement_on_many_lanes_takes_little_memory() -> None:
    # 100 comparisons × 4 lanes × 2 raters: through the package's dense items × values ×
    # values arrays this took hundreds of megabytes (400 × 4 × 2 took 3 GB); from the
    # coincidence margins it is the size of the votes.
    sessions = comparisons(100, 4)
    coin_flips(sessions, 2, np.random.default_rng(1))
    data = collect(sessions)
    for i, (item, vote) in enumerate(itertools.product(range(400), range(2))):
        data.scored.append((f"a{item}", f"r{vote}", 1 + (i * 7919) % 5))
    tracemalloc.start()
    try:
        found = agreement(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found is not None and found.votes_alpha is not None and found.scores_alpha is not None
    assert peak < 5_000_000, peak


# -- 6. the "reasoned?" marks: a test whose unit is the vote --------------------------------


def marked_vote(m: int, reasoners: list[int], guessed: list[int]) -> StatVote:
    return StatVote("p", list(range(m)), [1.0 / m] * m, guessed=guessed, reasoners=reasoners)


def test_ten_two_lane_votes_all_right_give_one_in_1024() -> None:
    # With two answers and one pick, the two calls are complements: 10 votes all right is
    # 10 fair coins all heads, p = 2^-10. Fisher's test on the 20 calls said 5.4e-06.
    votes = [marked_vote(2, [k % 2], [k % 2]) for k in range(10)]
    found = judgements(votes)
    assert found is not None and found.table == [[10, 0], [0, 10]]
    assert found.p_value == pytest.approx(0.5**10, rel=1e-12)
    assert found.balanced_accuracy == 1.0


def brute_force_p(votes: list[tuple[int, int, list[int]]]) -> float:
    """Every way to place each vote's reasoners among its answers, equally likely: the
    share of them with at least as many answers called right as observed."""

    def right(m: int, truth: set[int], marked: set[int]) -> int:
        return sum((i in truth) == (i in marked) for i in range(m))

    observed = 0
    options: list[list[int]] = []
    for m, r, marked in votes:
        observed += right(m, set(range(r)), set(marked))  # the reasoners: the first r places
        options.append([right(m, set(c), set(marked)) for c in itertools.combinations(range(m), r)])
    hits = total = 0
    for combo in itertools.product(*options):
        total += 1
        hits += sum(combo) >= observed
    return hits / total


def test_the_p_value_equals_brute_force_enumeration() -> None:
    cases: list[list[tuple[int, int, list[int]]]] = [
        [(3, 1, [0]), (4, 2, [0, 1]), (2, 1, [0]), (4, 1, [1, 2]), (3, 2, [0, 2])],
        [(4, 2, [0, 3]), (4, 3, [0, 1, 2]), (3, 1, [1]), (2, 1, [1]), (3, 1, [0, 1])],
        [(2, 1, [0]), (2, 1, [0]), (3, 1, [0]), (4, 2, [0, 1]), (4, 2, [2, 3]), (3, 2, [0])],
        # Votes that carry no information: no reasoner, all reasoned, nothing or all marked.
        [(3, 0, [0]), (3, 3, [1]), (2, 1, []), (2, 1, [0, 1]), (4, 2, [0, 1])],
    ]
    for case in cases:
        votes = [marked_vote(m, list(range(r)), marked) for m, r, marked in case]
        found = judgements(votes)
        assert found is not None
        assert found.p_value == pytest.approx(brute_force_p(case), rel=1e-9, abs=1e-12), case


def simulated_size(rng: np.random.Generator, studies: int, votes: int, mixed: bool) -> tuple[float, float]:
    """The share of ``studies`` simulated studies under chance (marks independent of which
    answers reasoned) in which the test rejects at 0.05, and what Fisher's test on the
    single answers would have done."""
    from scipy.stats import fisher_exact

    rejected = fisher = 0
    for _ in range(studies):
        study = []
        for _ in range(votes):
            m = int(rng.integers(2, 5)) if mixed else 2
            r = int(rng.integers(1, m)) if mixed else 1
            truth = rng.permutation(m)[:r].tolist()  # the study shuffles the places
            if mixed and rng.random() < 0.5:  # multi-select, liking the first places, blind to the truth
                marked = [i for i in range(m) if rng.random() < (0.7 if i == 0 else 0.4)]
            elif mixed:  # one pick: often the first place, else anywhere
                marked = [0] if rng.random() < 0.5 else [int(rng.integers(0, m))]
            else:
                marked = [0] if rng.random() < 0.6 else [1]
            study.append(marked_vote(m, truth, marked))
        found = judgements(study)
        assert found is not None
        rejected += found.p_value <= 0.05
        fisher += fisher_exact(found.table, alternative="greater")[1] <= 0.05
    return rejected / studies, fisher / studies


def test_false_positive_rate_under_chance_two_lane_votes() -> None:
    # 30 two-lane votes with one pick: the exact test's size is P(Bin(30, ½) ≥ 20) = 4.94 %.
    size, fisher = simulated_size(np.random.default_rng(2026), 4000, 30, mixed=False)
    assert 0.04 <= size <= 0.06, size
    assert fisher > 0.08, fisher  # what the per-answer Fisher test did


def test_false_positive_rate_under_chance_mixed_multi_select_votes() -> None:
    """2,000 studies of 40 votes of 2–4 answers, half single picks and half multi-select.
    The exact test never rejects more than 5 % of the time; here the sum is lumpy (votes
    of a few kinds, a few values each), so it is conservative: about 3.5 % (3.3–3.9 % in
    10,000–20,000 simulated studies of 40 or 80 votes, 4.1 % at 300 votes)."""
    size, _fisher = simulated_size(np.random.default_rng(2027), 2000, 40, mixed=True)
    assert 0.025 <= size <= 0.055, size


def test_the_summary_names_the_vote_level_test() -> None:
    doc = Report(
        votes=10,
        judgements=Judgements(table=[[10, 0], [0, 10]], p_value=0.5**10, balanced_accuracy=1.0),
    )
    [line] = [s for s in summary(doc) if "reasoned?" in s and "balanced" in s]
    assert "Fisher" not in line and "permutation test over votes" in line and "p = 0.000977" in line


def test_a_large_vote_level_p_is_quick_and_exact_in_the_tail() -> None:
    # 20,000 two-lane votes, 10,100 right: the binomial tail, from scipy.
    from scipy.stats import binom

    trials = [(2, 1, 1, int(k < 10_100)) for k in range(20_000)]
    assert vote_level_p(trials) == pytest.approx(float(binom.sf(10_099, 20_000, 0.5)), rel=1e-9)
    trials = [(2, 1, 1, int(k < 10_800)) for k in range(20_000)]
    assert vote_level_p(trials) == pytest.approx(float(binom.sf(10_799, 20_000, 0.5)), rel=1e-6)


# -- 9. no ranks from two prompts ------------------------------------------------------------


def two_lane_session(prompt: str, winner: int, models: tuple[str, str] = ("a", "b")) -> Session:
    ls = [Lane("demo", m, label=m.upper()) for m in models]
    turn = Turn(prompt=prompt)
    for lane in ls:
        turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["x"])
    turn.votes.append(Vote(ls[winner].id, rater="ann", shown_order=[lane.id for lane in ls]))
    return Session(lanes=ls, turns=[turn], blind=True, study=StudyRef("s", "S", prompt, 0, ("t",)))


def test_two_prompts_won_by_one_model_give_no_ranks() -> None:
    # It said rank 1 at 1323 and rank 2 at 677, from two votes.
    doc = compute([two_lane_session("p1", 0), two_lane_session("p2", 0)], rounds=200)
    assert doc["prompts"] == 2 and doc["warning"].startswith("only 2 prompts")
    assert [c["rank"] for c in doc["contenders"]] == [None, None]
    assert [c["id"] for c in doc["contenders"]] == ["demo:a", "demo:b"]  # still best first


def test_below_the_threshold_a_hidden_interval_is_not_counted_in_the_others_ranks() -> None:
    # 8 prompts: A beats B and C every time (no interval, no rank); B and C split theirs.
    sessions = [two_lane_session(f"a{k}", 0, ("a", "b" if k % 2 else "c")) for k in range(4)]
    sessions += [two_lane_session(f"b{k}", k % 2, ("b", "c")) for k in range(4)]
    doc = compute(sessions, rounds=200)
    ranks = {c["id"]: c["rank"] for c in doc["contenders"]}
    assert ranks["demo:a"] is None and ranks["demo:b"] == ranks["demo:c"] == 1, ranks


def test_enough_prompts_still_rank_a_contender_that_never_lost() -> None:
    doc = compute([two_lane_session(f"p{k}", 0) for k in range(30)], rounds=200)
    assert [c["rank"] for c in doc["contenders"]] == [1, 2]


# -- 12b. a model twice in one comparison meets the other once -------------------------------


def test_a_model_present_twice_meets_another_once_per_vote() -> None:
    sessions = []
    for k in range(30):
        ls = [
            Lane("demo", "same", label="A"),
            Lane("demo", "same", label="B"),
            Lane("demo", "other", label="C"),
        ]
        turn = Turn(prompt=f"p{k}")
        for lane in ls:
            turn.responses[lane.id] = Response(lane.id, Status.OK, text_parts=["x"])
        turn.votes.append(Vote(ls[k % 3].id, rater="ann", shown_order=[lane.id for lane in ls]))
        sessions.append(Session(lanes=ls, turns=[turn], blind=True, study=StudyRef("s", "S", f"p{k}", 0, ())))
    doc = compute(sessions, rounds=20)
    ids = doc["win_rates"]["ids"]
    s, o = ids.index("demo:same"), ids.index("demo:other")
    assert doc["win_rates"]["meetings"][s][o] == doc["win_rates"]["meetings"][o][s] == 30
    # "same" won 20 of the 30 votes (either of its lanes), "other" 10.
    assert doc["win_rates"]["matrix"][s][o] == pytest.approx(20 / 30, abs=1e-4)
    assert doc["win_rates"]["matrix"][o][s] == pytest.approx(10 / 30, abs=1e-4)


# -- 12c. the placebo's gap is signed, like its interval -------------------------------------


def test_the_noise_floor_gap_is_signed_like_its_interval() -> None:
    samples = np.array([[990.0, 975.0], [1000.0, 990.0], [1010.0, 992.0], [1000.0, 985.0]])
    floor = noise_floor(
        Data(contenders=["m", "m (placebo)"], twins=[None, "m"]), np.array([1000.0, 988.0]), samples
    )
    assert floor is not None and floor.rating_points == -12.0  # twin − original
    lo, hi = floor.ci95
    assert lo < 0 and lo <= floor.rating_points <= hi
    line = next(
        s for s in summary(Report(noise_floor=Gap(rating_points=-12.0, ci95=(-30.0, 5.0)))) if "Noise" in s
    )
    assert "lands 12 points below its original" in line and "95 % CI -30 to +5" in line
    line = next(
        s for s in summary(Report(noise_floor=Gap(rating_points=7.4, ci95=(-3.0, 20.0)))) if "Noise" in s
    )
    assert "lands 7 points above its original" in line


def test_the_noise_floor_bounds_ranks_by_its_size() -> None:
    from chatlab.core.analysis.gaps import _floor_bound

    assert _floor_bound(Gap(rating_points=-40.0, ci95=(-45.0, -35.0))) == 45.0
    assert _floor_bound(Gap(rating_points=-40.0, ci95=(-38.0, 10.0))) == 40.0


def test_the_brute_force_reference_itself() -> None:
    # The reference itself: one two-lane vote right is p = ½; a three-lane one, ⅓.
    assert brute_force_p([(2, 1, [0])]) == 0.5
    assert math.isclose(brute_force_p([(3, 1, [0])]), 1 / 3)


def _pairs_alpha(units: list[list[str]], strata: list[str]) -> float:
    """Stratified nominal α by brute force, from its definition: the observed disagreement
    is the share of disagreeing ordered pairs within each unit (a unit of m values weighs
    its pairs 1/(m − 1)); the expected one pairs every value with every other value of
    the same stratum (units that offered the same choices), weighted by the stratum's size."""
    n = sum(len(u) for u in units if len(u) >= 2)
    observed = 0.0
    for u in units:
        if len(u) < 2:
            continue
        observed += sum(a != b for a, b in itertools.permutations(u, 2)) / (len(u) - 1)
    expected = 0.0
    for key in set(strata):
        pooled = [v for u, s in zip(units, strata, strict=True) if s == key and len(u) >= 2 for v in u]
        if len(pooled) < 2:
            continue
        pairs = sum(a != b for a, b in itertools.permutations(pooled, 2))
        expected += len(pooled) / n * pairs / (len(pooled) * (len(pooled) - 1))
    return 1.0 - (observed / n) / expected


def test_stratified_alpha_equals_its_definition_by_brute_force() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        strata, units = [], []
        for _ in range(int(rng.integers(2, 12))):
            key = str(rng.integers(0, 3))
            options = [f"{key}-{c}" for c in range(int(key) + 2)] + ["tie"]
            units.append([options[int(i)] for i in rng.integers(0, len(options), int(rng.integers(1, 5)))])
            strata.append(key)
        got = nominal_alpha(units, strata)
        if got is None:
            continue
        assert got == pytest.approx(_pairs_alpha(units, strata), abs=1e-9)
    # One stratum is Krippendorff's α itself.
    units = [["a", "a"], ["a", "b"], ["b", "b", "b"], ["c", "a"]]
    assert nominal_alpha(units, ["s"] * 4) == pytest.approx(nominal_alpha(units), abs=1e-12)


def test_coin_flip_raters_over_comparisons_of_different_models_agree_at_about_zero() -> None:
    """Pairs a–b, c–d and a three-way a–c–e mixed in one data set, raters at random: α ≈ 0
    (pooling every comparison's margins would give about 0.3)."""
    rng = np.random.default_rng(5)
    designs = [("a", "b"), ("c", "d"), ("a", "c", "e")]
    alphas = []
    for _ in range(200):
        units, strata = [], []
        for k in range(150):
            design = designs[k % 3]
            units.append([design[int(i)] for i in rng.integers(0, len(design), 2)])
            strata.append(design)
        value = nominal_alpha(units, strata)
        assert value is not None
        alphas.append(value)
    assert abs(float(np.mean(alphas))) < 0.02


def test_a_contender_never_voted_on_has_no_rating_and_is_on_no_frontier() -> None:
    """Answers of a third model that nobody voted on (its comparisons have no votes):
    the prior alone would give it a rating (it read 1038 above contenders with votes)."""
    sessions = [two_lane_session(f"p{k}", k % 2) for k in range(12)]
    lone = comparisons(3, 2)
    for s in lone:
        s.lanes[0].model = "lonely"
    doc = compute([*sessions, *lone], rounds=100)
    # Never shown to a rater: not listed at all (nor in the win rates), so it is on no
    # frontier and has no rating to read.
    assert {c["id"] for c in doc["contenders"]} == {"demo:a", "demo:b"}
    assert set(doc["win_rates"]["ids"]) == {"demo:a", "demo:b"}
    assert all(c["rating"] is not None for c in doc["contenders"])


# -- 14. intervals never shrink as a contender's data shrinks ---------------------------------


def test_a_contender_seen_on_fewer_prompts_never_gets_a_narrower_interval() -> None:
    """A and B meet on 40 prompts; X meets B on the first k of them, winning every other
    time. Absent from a bootstrap round, X's rating there was the prior's alone, which
    made its interval narrower the rarer it was (a contender shown once read narrower
    than one shown 13 times). Now: no interval under 5 prompts, and wider the fewer."""
    widths = {}
    for k in (1, 3, 5, 10, 20, 40):
        sessions = [two_lane_session(f"p{j}", j % 3 == 0) for j in range(40)]
        sessions += [two_lane_session(f"p{j}", j % 2, ("x", "b")) for j in range(k)]
        doc = compute(sessions, rounds=400)
        x = next(c for c in doc["contenders"] if c["id"] == "demo:x")
        if k < 5:
            assert x["ci95"] is None and x["rank"] is None and x["note"].startswith("too few votes")
            assert doc["contenders"][-1]["id"] == "demo:x"  # below the ranked ones
            continue
        widths[k] = x["ci95"][1] - x["ci95"][0]
    assert widths[5] > widths[10] > widths[20] > widths[40], widths


def test_the_masked_bootstrap_still_covers_a_rare_contender() -> None:
    """Coverage for a contender on 6 of 30 prompts: its true strength equals B's; over 60
    simulated studies the interval for the X−B gap holds 0 about 95 % of the time, with
    the rounds that drew none of X's prompts left out of X's interval."""
    from chatlab.core.analysis.bootstrap import bootstrap
    from chatlab.core.analysis.votes import collect

    rng = np.random.default_rng(5)
    held = 0
    studies = 60
    for _ in range(studies):
        sessions = [two_lane_session(f"p{j}", int(rng.integers(0, 2))) for j in range(30)]
        sessions += [two_lane_session(f"p{j}", int(rng.integers(0, 2)), ("x", "b")) for j in range(6)]
        data = collect(sessions)
        samples = bootstrap(data.votes, len(data.contenders), 300, int(rng.integers(1 << 30)))
        x, b = data.contenders.index("demo:x"), data.contenders.index("demo:b")
        lo, hi = np.nanpercentile(samples[:, x] - samples[:, b], [2.5, 97.5])
        held += lo <= 0 <= hi
    assert held / studies >= 0.88, held
