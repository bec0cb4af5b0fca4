"""Benchmark: the ratings of 5,000 votes over 8 contenders, with a 1,000-round bootstrap.

Votes are drawn from a Luce model with known strengths (3 of the 8 contenders per vote,
10 % ties, 500 prompts); the point fit and the bootstrap over prompts are timed as
``chatlab stats`` runs them, best of a few repeats. The target is under 3 s on one core.
The last line printed is JSON.

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
    print(json.dumps({"votes": args.votes, "rounds": args.rounds, "seconds": round(best, 4)}))


if __name__ == "__main__":
    main()
