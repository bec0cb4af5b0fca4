"""The ``judge`` command line, kept apart from :mod:`chatlab.cli.judge` so that building
the parser (and ``--help``) imports none of the judging machinery."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    judge = sub.add_parser(
        "judge",
        help="let a model rate a study's comparisons blind, as an extra rater checked against your votes",
        description="A model rates each finished comparison of a study as a blind rater would: the prompt "
        "and the answers under letters, nothing about who wrote them. Each comparison is judged once "
        "with each answer first; a choice is kept only when every order agrees, else it is a tie. "
        "Its votes are kept as rater judge:PROVIDER:MODEL, its spend is its own, and `chatlab stats` "
        "(or the Leaderboard's Judges tab) says how far it agrees with your own votes.",
    )
    judge.add_argument("study", help="the study's name (or the start of its id)")
    judge.add_argument(
        "-m",
        "--model",
        required=True,
        metavar="PROVIDER:MODEL",
        help="the judge model, optionally with parameters: -m 'openai:gpt-4.1{temperature=0}' "
        "(the demo has one: demo:demo-judge)",
    )
    judge.add_argument(
        "--rubric",
        metavar="NAME",
        help="how it judges: a shipped rubric (general, writing, advice) or your own in the config "
        "folder's rubrics/NAME.toml (default: general)",
    )
    judge.add_argument(
        "--budget",
        type=float,
        metavar="USD",
        help="the most this judge may spend on this study, counting what it spent there before",
    )
    judge.add_argument("--yes", action="store_true", help="run even when the estimate exceeds the budget")
    judge.add_argument(
        "--dry-run", action="store_true", dest="dry_run", help="print the estimate; send nothing"
    )
    judge.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="calls in flight at once (default: the study's limit for the judge's provider, else 4)",
    )
    judge.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="give up a call after S seconds, stored as no verdict (default 600)",
    )
