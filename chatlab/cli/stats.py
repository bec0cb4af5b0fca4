"""``chatlab stats``: the answer to the rated votes, on a terminal or as JSON/CSV.

The numbers come from :func:`chatlab.core.analysis.report.analyse` over the sessions in the
database (one study's comparisons with ``--study``, else every session, interactive
turns included), filtered by tags and raters (by name or id), blind votes only unless
``--include-sighted`` (a sighted vote was cast with the models' names showing), humans'
votes only unless ``--raters judges`` or ``--raters both`` (a judge model's votes; each
judge's calibration against the humans is in the JSON's ``judges`` and under Judges).
``--json`` writes the ``chatlab.stats`` document (version 1), ``--csv`` the contenders
table; otherwise a table of ratings with their 95 % intervals and ranks, and the "could
you tell which one reasoned?" line (and, for votes cast with the reasoning shown, the
"which one was trained to reason?" line).
"""

from __future__ import annotations

import csv
import json
from typing import IO, TYPE_CHECKING, Any

from chatlab.core.data import format as fmt
from chatlab.core.data.safety import terminal_text

if TYPE_CHECKING:
    from chatlab.core.analysis.report import Report

COLUMNS = (
    "rank",
    "id",
    "label",
    "reasoner",
    "rating",
    "ci95_low",
    "ci95_high",
    "rating_length_controlled",
    "appearances",
    "wins",
    "all_bad_rate",
    "mean_cost_usd",
    "mean_answer_tokens",
    "mean_reasoning_tokens",
    "on_cost_frontier",
)


def cmd_stats(args: Any, stdout: IO[str]) -> int:

    from contextlib import closing

    from chatlab.cli.common import UsageError, open_store
    from chatlab.core.analysis.load import load_sessions
    from chatlab.core.analysis.report import analyse
    from chatlab.core.studies.controller import find_study
    from chatlab.store.db import default_path

    if not default_path().exists():
        raise UsageError("no votes yet: run a study and rate it (chatlab study run …, chatlab rate)")
    with closing(open_store(readonly_ok=True)) as store:
        info = find_study(store, args.study) if args.study else None
        sessions = load_sessions(store, info.id if info else None).sessions
        study = info.name if info else None
    raters: list[str] = []
    if args.rater:
        # A rater is asked for by name (or id); two who go by one name are shown apart.
        from chatlab.core.analysis.votes import rater_labels
        from chatlab.core.settings.raters import resolve

        voters = {v.rater: v.rater_name for s in sessions for t in s.turns for v in t.votes}
        shown = {i: label for i, label in rater_labels(sessions).items() if i in voters}
        raters, unknown = resolve(args.rater, shown, voters)
        if unknown:
            listed = ", ".join(repr(r) for r in sorted(shown.values())[:20]) or "none yet"
            raise UsageError(f"no votes by {unknown[0]!r}; the raters are: {listed}")
    sighted = args.include_sighted
    report = analyse(
        sessions,
        study=study,
        tags=args.tag,
        raters=raters,
        include_sighted=sighted,
        rater_kind=args.raters,
    )
    if args.json:
        json.dump(report.to_dict(), stdout, ensure_ascii=False, indent=2, allow_nan=False)
        stdout.write("\n")
    elif args.csv:
        writer = csv.writer(stdout)
        writer.writerow(COLUMNS)
        for c in report.contenders:
            row = [
                c.rank,
                c.id,
                c.label,
                c.reasoner,
                c.rating,
                *(c.ci95 or ("", "")),
                c.rating_length_controlled,
                c.appearances,
                c.wins,
                c.all_bad_rate,
                c.mean_cost_usd,
                c.mean_answer_tokens,
                c.mean_reasoning_tokens,
                c.on_cost_frontier,
            ]
            writer.writerow([_cell(x) for x in row])
    else:
        _print(report, stdout)
    return 0


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet won't run: text starting with = + - @ (or a tab or CR)
    gets a leading apostrophe; numbers are written as numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _print(report: Report, out: IO[str]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from chatlab.cli.study import _width
    from chatlab.core.analysis.card import answer_card, headline
    from chatlab.core.analysis.report import summary

    console = Console(file=out, width=_width(out), highlight=False, soft_wrap=False)
    first = headline(report)
    if first:
        out.write(terminal_text(first) + "\n")
        if report.warning:
            out.write(terminal_text(f"Careful: {report.warning}.") + "\n")
        out.write("\n")
    for section in answer_card(report):
        out.write(terminal_text(section.heading) + "\n")
        out.writelines("  " + terminal_text(line) + "\n" for line in section.lines)
        out.write("\n")
    if report.accuracy:
        graded = Table(
            title="Accuracy on prompts with an answer key · 95 % exact intervals, on these prompts",
            title_justify="left",
        )
        for col in ("contender", "right", "graded", "accuracy", "95 % interval"):
            graded.add_column(col, justify="left" if col == "contender" else "right")
        labels = report.labels
        for a in report.accuracy:
            label = labels.get(a.id, a.id)
            graded.add_row(
                escape(terminal_text(fmt.label_and_id(label, a.id))),
                str(a.correct),
                str(a.graded),
                f"{a.accuracy:.0%}",
                f"{a.ci95[0]:.0%} – {a.ci95[1]:.0%}",
            )
        console.print(graded)
    if not report.votes:
        out.write("no votes match: rate a study first (chatlab rate), or loosen the filters\n")
        if report.sighted_left_out:
            left_out = [line for line in summary(report) if line.startswith("Left out")]
            out.writelines(terminal_text(line) + "\n" for line in left_out)
        return
    table = Table(
        title=f"{report.votes} votes on {report.prompts} prompt{'s' if report.prompts != 1 else ''} · "
        "95 % intervals: bootstrap over prompts",
        title_justify="left",
    )
    for col in (
        "rank",
        "contender",
        "rating",
        "95 % interval",
        "length-controlled",
        "reasoned",
        "shown",
        "wins",
        "all bad",
        "$ / answer",
    ):
        table.add_column(col, justify="left" if col in ("contender", "reasoned") else "right")
    for c in report.contenders:
        table.add_row(
            "–" if c.rank is None else str(c.rank),
            escape(terminal_text(fmt.label_and_id(c.label, c.id))),
            "–" if c.rating is None else f"{c.rating:.0f}",
            f"{c.ci95[0]:.0f} – {c.ci95[1]:.0f}" if c.ci95 else "–",
            "–" if c.rating_length_controlled is None else f"{c.rating_length_controlled:.0f}",
            "yes" if c.reasoner else "no",
            str(c.appearances),
            f"{c.wins:.1f}",
            f"{c.all_bad_rate:.0%}",
            fmt.cost(c.mean_cost_usd),
        )
    console.print(table)
    out.write("Details\n")
    for line in summary(report):
        out.write(terminal_text(line) + "\n")
