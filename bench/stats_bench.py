"""Benchmark: the ratings of 5,000 votes over 8 contenders, with a 1,000-round bootstrap.

Votes are drawn from a Luce model with known strengths (3 of the 8 contenders per vote,
10 % ties, 500 prompts); the point fit and the bootstrap over prompts are timed as
``chatlab stats`` runs them, best of a few repeats. The target is under 3 s on one core.
Then the sparse case: 60 contenders on 120 two-way votes (about a second; it was 90 s
before the bootstrap's warm start and tolerance). The last line printed is JSON.

    python bench/stats_bench.py [--votes 5000] [--rounds 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatlab.core.stats import Vote, bootstrap, elo, fit


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
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
    print(
        json.dumps(
            {
                "votes": args.votes,
                "rounds": args.rounds,
                "seconds": round(best, 4),
                "sparse_60_contenders_seconds": round(min(sparse_times), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
