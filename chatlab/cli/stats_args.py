"""The ``stats`` command line, kept apart from :mod:`chatlab.cli.stats` so that building
the parser (and ``--help``) imports no statistics library.
"""

from __future__ import annotations

from typing import Any


def add_parser(sub: Any) -> None:
    stats = sub.add_parser("stats", help="ratings with confidence intervals, and whether raters could tell")
    stats.add_argument("--study", help="one study's votes (its name, or the start of it)")
    stats.add_argument(
        "--tag", action="append", default=[], help="only prompts with this tag (repeat for any of several)"
    )
    stats.add_argument(
        "--rater", action="append", default=[], help="only this rater's votes, by name or id (repeatable)"
    )
    stats.add_argument(
        "--raters",
        choices=("humans", "judges", "both"),
        default="humans",
        help="whose votes count: humans' (the default), judge models', or both (a judge's weighted "
        "by its agreement with the humans)",
    )
    stats.add_argument(
        "--include-sighted",
        action="store_true",
        dest="include_sighted",
        help="also count sighted votes (cast with the models' names showing); left out by default",
    )
    form = stats.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="the chatlab.stats document")
    form.add_argument("--csv", action="store_true", help="the contenders table as CSV")
