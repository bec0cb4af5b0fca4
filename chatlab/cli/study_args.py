"""The ``study`` and ``rate`` command lines.

Kept apart from :mod:`chatlab.cli.study` so that building the parser (and ``--help``)
imports none of the study machinery.
"""

from __future__ import annotations

import argparse
from typing import Any

MAX_RATER = 200  # what the session document allows


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    study = sub.add_parser("study", help="run a prompt suite unattended; list, show and resume studies")
    ssub = study.add_subparsers(dest="study_command", parser_class=parser_class, required=True)
    run = ssub.add_parser("run", help="run a suite (TOML): every prompt × lane × sample")
    run.add_argument("suite", help="a suite file, or a shipped suite's name: demo, reasoning-vs-plain")
    run.add_argument("--name", help="the study's name (default: the suite's)")
    run.add_argument("--yes", action="store_true", help="run even when the estimate exceeds the budget")
    run.add_argument(
        "--dry-run", action="store_true", dest="dry_run", help="print the estimate; send nothing"
    )
    _idle_timeout(run)
    ssub.add_parser("list", help="every study, with its progress and spend")
    show = ssub.add_parser("show", help="one study: lanes, progress, spend, failures")
    show.add_argument("name", help="the study's name (or the start of its id)")
    resume = ssub.add_parser("resume", help="send the units a study still lacks")
    resume.add_argument("name")
    resume.add_argument("--yes", action="store_true", help="run even when the estimate exceeds the budget")
    resume.add_argument(
        "--budget",
        type=float,
        metavar="USD",
        help="a new budget for the study (e.g. after the old one was spent)",
    )
    resume.add_argument(
        "--retry-failed", action="store_true", dest="retry_failed", help="also send units that were refused"
    )
    _idle_timeout(resume)
    grade = ssub.add_parser(
        "grade", help="grade a study's answers again by its answer keys (after a key was edited)"
    )
    grade.add_argument("name", help="the study's name (or the start of its id)")
    grade.add_argument(
        "--suite",
        metavar="FILE",
        help="take the keys from this suite file (prompts matched by id); they become the study's keys",
    )


def _idle_timeout(parser: Any) -> None:
    parser.add_argument(
        "--idle-timeout",
        type=float,
        metavar="S",
        dest="idle_timeout",
        help="give up a request that sends nothing for S seconds, as a timeout, tried once more at the end "
        "(default: the suite's idle_timeout_s, else 120)",
    )


def add_rate_parser(sub: Any) -> None:
    rate = sub.add_parser("rate", help="rate a study's answers blind, in a keyboard-first queue (a window)")
    rate.add_argument("study", nargs="?", help="the study's name (default: the newest with answers)")
    rate.add_argument(
        "--rater", metavar="NAME", help="the name your votes are shown under (your rater id stays the same)"
    )
    rate.add_argument(
        "--marked", action="store_true", help="rate the turns of your sessions marked with Rate later"
    )
