"""Benchmark: the ratings of 5,000 votes over 8 contenders, with a 1,000-round bootstrap.

Votes are drawn from a Luce model with known strengths (3 of the 8 contenders per vote,
10 % ties, 500 prompts); the point fit and the bootstrap over prompts are timed as
``chatlab stats`` runs them, best of a few repeats. The target is under 3 s on one core.
Then the sparse case: 60 contenders on 120 two-way votes (about a second; it was 90 s
before the bootstrap's warm start and tolerance). Then raters' agreement: 20,000 votes
(4,000 comparisons of 8 contenders, each voted on and every answer scored 1–5 by 5
raters), time and peak memory (tracemalloc) of ``agreement`` and of the whole
``compute``; the target is under 200 MB and a few seconds for ``agreement`` (through the
``krippendorff`` package's dense arrays, 400 comparisons × 4 lanes × 2 raters took 3 GB).
The last line printed is JSON.

    python bench/stats_bench.py [--votes 5000] [--rounds 1000] [--repeat 5]
        [--agreement-votes 20000] [--raters 5] [--no-compute]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatlab.core.analysis.agreement import agreement
from chatlab.core.analysis.bootstrap import bootstrap
from chatlab.core.analysis.fitting import elo, fit
from chatlab.core.analysis.report import compute
from chatlab.core.analysis.votes import Vote, collect
from chatlab.core.data.events import Usage
from chatlab.core.data.model import Lane, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Rating
from chatlab.core.data.votes import Vote as SessionVote


def votes_for(count: int, seed: int = 3) -> list[Vote]:
    rng = np.random.default_rng(seed)
    strengths = np.linspace(0.9, -0.9, 8)
    out = []
    for k in range(count):
        members = rng.choice(8, size=3, replace=False).tolist()
        if rng.random() < 0.1:
            share = [1 / 3] * 3
        else:
            p = np.exp(strengths[members])
            winner = rng.choice(3, p=p / p.sum())
            share = [1.0 if i == winner else 0.0 for i in range(3)]
        out.append(Vote(prompt=f"p{k % 500}", present=members, share=share))
    return out


def rated_study(votes: int, raters: int, contenders: int = 8, seed: int = 5) -> list[Session]:
    """``votes // raters`` comparisons of ``contenders`` models (lanes of their own in each,
    as a study makes them), each voted on by every rater (a Luce choice, 10 % ties) and
    every answer scored 1–5 by every rater."""
    rng = np.random.default_rng(seed)
    strengths = np.linspace(0.9, -0.9, contenders)
    sessions = []
    for k in range(votes // raters):
        lanes = [Lane("demo", f"m{i}", label=f"M{i}") for i in rng.permutation(contenders)]
        turn = Turn(prompt=f"p{k}")
        for lane in lanes:
            quality = strengths[int(lane.model[1:])]
            ratings = [
                Rating(rater=f"r{r}", score=int(np.clip(round(3 + quality + rng.normal()), 1, 5)))
                for r in range(raters)
            ]
            turn.responses[lane.id] = Response(
                lane.id,
                Status.OK,
                text_parts=["x"],
                usage=Usage(input_tokens=1, output_tokens=100),
                ratings=ratings,
            )
        p = np.exp([strengths[int(lane.model[1:])] for lane in lanes])
        for r in range(raters):
            choice = "tie" if rng.random() < 0.1 else lanes[int(rng.choice(contenders, p=p / p.sum()))].id
            turn.votes.append(SessionVote(choice, rater=f"r{r}", shown_order=[lane.id for lane in lanes]))
        sessions.append(
            Session(lanes=lanes, turns=[turn], blind=True, study=StudyRef("s", "S", f"p{k}", 0, ("t",)))
        )
    return sessions


def measured(work: Callable[[], Any]) -> tuple[float, float]:
    """(seconds, peak megabytes): timed plainly, then run again under tracemalloc (which
    slows Python down) for the peak of what it allocates (numpy included)."""
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--agreement-votes", type=int, default=20_000)
    parser.add_argument("--raters", type=int, default=5)
    parser.add_argument(
        "--no-compute", action="store_true", help="time agreement only, not the whole compute"
    )
    args = parser.parse_args()
    votes = votes_for(args.votes)
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        elo(fit(votes, 8, prior=0.1))
        bootstrap(votes, 8, rounds=args.rounds)
        times.append(time.perf_counter() - started)
    best = min(times)
    print(
        f"{args.votes} votes, 8 contenders, {args.rounds} bootstrap rounds: {best:.3f} s "
        f"(best of {args.repeat})"
    )
    # Sparse data: 60 contenders, 120 two-way votes (each seen about 4 times). The MM fit
    # converges slowly here; before the warm start and the tolerance this took about 90 s.
    rng = np.random.default_rng(1)
    sparse = [Vote(f"p{k}", rng.choice(60, 2, replace=False).tolist(), [1.0, 0.0]) for k in range(120)]
    sparse_times = []
    for _ in range(max(1, args.repeat // 2)):
        started = time.perf_counter()
        bootstrap(sparse, 60, rounds=args.rounds)
        sparse_times.append(time.perf_counter() - started)
    print(f"120 votes, 60 contenders, {args.rounds} bootstrap rounds: {min(sparse_times):.3f} s")
    sessions = rated_study(args.agreement_votes, args.raters)
    data = collect(sessions)
    found = agreement(data)
    assert found is not None
    agreement_seconds, agreement_mb = measured(lambda: agreement(data))
    print(
        f"agreement, {len(data.votes)} votes and {len(data.scored)} scores by {args.raters} raters on "
        f"{len(data.contenders)} contenders: {agreement_seconds:.3f} s, peak {agreement_mb:.1f} MB "
        f"(alpha {found.votes_alpha} on votes, {found.scores_alpha} on scores)"
    )
    compute_seconds = compute_mb = None
    if not args.no_compute:
        compute_seconds, compute_mb = measured(lambda: compute(sessions, rounds=args.rounds))
        print(
            f"compute, the same study, {args.rounds} bootstrap rounds: {compute_seconds:.3f} s, "
            f"peak {compute_mb:.1f} MB"
        )
    print(
        json.dumps(
            {
                "votes": args.votes,
                "rounds": args.rounds,
                "seconds": round(best, 4),
                "sparse_60_contenders_seconds": round(min(sparse_times), 4),
                "agreement_votes": len(data.votes),
                "agreement_scores": len(data.scored),
                "agreement_seconds": round(agreement_seconds, 4),
                "agreement_peak_mb": round(agreement_mb, 1),
                "compute_seconds": None if compute_seconds is None else round(compute_seconds, 4),
                "compute_peak_mb": None if compute_mb is None else round(compute_mb, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
