"""The answer card: "where does reasoning help?" in plain sentences, with numbers and
intervals, grouped under short headings. The first lines of ``chatlab stats`` and the
Leaderboard's first panel are these. No test is named in a sentence; each says when the
data are too few, and how many more prompts would make an interval useful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chatlab.core.analysis.answer import TARGET_POINTS, TARGET_RATING, Open, Verifiable, more_prompts

if TYPE_CHECKING:
    from chatlab.core.analysis.guesses import Discrimination
    from chatlab.core.analysis.judges import Calibration
    from chatlab.core.analysis.report import Report

KIND_WORDS = {"native": "trained reasoner", "prompted": "asked to think", "plain": "plain"}


@dataclass
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)


def _signed(x: float) -> str:
    """A whole number with its sign: +35, -4, and 0 (never "-0" or "+0")."""
    whole = round(x)
    return f"{whole:+d}" if whole else "0"


def _pts(x: float) -> str:
    """A share difference in points of accuracy: +35 points."""
    return f"{_signed(x * 100)} points"


def _ci_pts(ci: tuple[float, float]) -> str:
    return f"95 % CI {_signed(ci[0] * 100)} to {_signed(ci[1] * 100)}"


def _verdict(lo: float, hi: float) -> str:
    """What an interval, as shown (whole numbers), says of no difference."""
    return "" if round(lo) > 0 or round(hi) < 0 else "; no clear difference: the interval includes zero"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _verifiable(v: Verifiable) -> str:
    head = (
        f"On prompts with an answer key: {v.accuracy_with:.0%} right with reasoning, "
        f"{v.accuracy_without:.0%} without, {_pts(v.diff)}"
    )
    if v.note is not None:
        return f"{head}, over {_plural(v.prompts, 'prompt')}: {v.note}; more graded prompts would give one."
    if v.ci95 is None:
        need = more_prompts(v.prompts, None, TARGET_POINTS / 100) or 1
        return (
            f"{head}, over {_plural(v.prompts, 'prompt')}: too few for an interval "
            f"({need} more graded prompts would give one)."
        )
    verdict = _verdict(v.ci95[0] * 100, v.ci95[1] * 100)
    line = f"{head} ({_ci_pts(v.ci95)}), over {_plural(v.prompts, 'prompt')}{verdict}."
    more = more_prompts(v.prompts, v.ci95, TARGET_POINTS / 100)
    if more:
        line += f" {more} more graded prompts would make this interval about ±{TARGET_POINTS:.0f} points."
    return line


def _open(o: Open) -> str:
    head = f"On open prompts: rating with reasoning minus without, {_signed(o.rating_diff)}"
    if o.note is not None:
        return f"On open prompts, over {_plural(o.prompts, 'prompt')}: {o.note}; more votes would give one."
    if o.ci95 is None:
        need = more_prompts(o.prompts, None, TARGET_RATING) or 1
        return (
            f"{head}, over {_plural(o.prompts, 'prompt')}: too few for an interval "
            f"({need} more rated prompts would give one)."
        )
    lo, hi = o.ci95
    over = _plural(o.prompts, "prompt")
    line = f"{head} (95 % CI {_signed(lo)} to {_signed(hi)}), over {over}{_verdict(lo, hi)}."
    more = more_prompts(o.prompts, o.ci95, TARGET_RATING)
    if more:
        line += f" {more} more rated prompts would make this interval about ±{TARGET_RATING:.0f}."
    return line


def _tag_line(tag: str, v: Verifiable | None, o: Open | None) -> str:
    parts = []
    if v is not None:
        ci = f" ({_ci_pts(v.ci95)})" if v.ci95 else f" ({_plural(v.prompts, 'prompt')}, no interval)"
        parts.append(f"accuracy {_pts(v.diff)}{ci}")
    if o is not None and o.note is not None:
        why = "too one-sided" if "one-sided" in o.note else "too uniform"
        parts.append(f"rating: {why} for an interval ({_plural(o.prompts, 'prompt')})")
    elif o is not None:
        ci = (
            f" (95 % CI {_signed(o.ci95[0])} to {_signed(o.ci95[1])})"
            if o.ci95
            else f" ({_plural(o.prompts, 'prompt')}, no interval)"
        )
        parts.append(f"rating {_signed(o.rating_diff)}{ci}")
    return f"{tag}: " + "; ".join(parts) + "."


def _could_tell(d: Discrimination | None, what: str) -> str | None:
    if d is None:
        return None
    lo, hi = d.accuracy_ci95
    share = d.correct / d.trials
    if d.p_value < 0.05:
        verdict = "better than chance"
    elif d.trials < 20:
        verdict = "too few guesses to tell from chance"
    else:
        verdict = "no better than chance"
    return (
        f"Could raters tell which {what}? {d.correct} of {d.trials} guesses right "
        f"({share:.0%}, 95 % CI {lo:.0%}–{hi:.0%}; chance {d.chance:.0%}): {verdict}."
    )


def _label(report: Report, cid: str) -> str:
    return report.labels.get(cid) or cid


def _tokens(n: float) -> str:
    return f"{n:,.0f}"


def judge_line(cal: Calibration) -> str:
    """How far the judge can be trusted, in plain sentences: first, when it mostly tied,
    that it rarely chose (its agreement then says little: a tie scores half against any
    choice); then how often it agrees with a human (pairwise, ties half) beside how often
    two humans agree with each other; then, when it is weak, its agreement beyond chance."""
    who = f"The judge ({cal.name})"
    humans = len(cal.kappa)  # the humans it shares comparisons with
    a = cal.pairwise
    d = cal.decisive
    lead = ""
    if d.value is not None and d.value < 0.5:
        votes = _plural(d.n, "vote")
        if d.value == 0:
            chose, rest = f"never chose an answer in its {votes}", "all were ties"
        else:
            chose, rest = f"chose an answer in only {d.value:.0%} of its {votes}", "the rest were ties"
        lead = f"{who} {chose}; {rest}, which score half against any choice, so what follows says little. "
        who = "It"
    if a.value is None:
        return (
            f"{lead}{who} judged {_plural(cal.votes, 'comparison')}, none also rated by a human: "
            "nothing to check it against."
        )
    you = "you" if humans == 1 else "each of you"
    if a.ci95 is None:
        return (
            f"{lead}{who} agrees with {you} on {a.value:.0%} of {_plural(a.n, 'shared comparison')}: "
            "too few to say how far that holds."
        )
    mean = "" if humans == 1 else ", on average"
    ci = f"95% CI {a.ci95[0]:.0%}–{a.ci95[1]:.0%}"
    line = f"{lead}{who} agrees with {you} on {a.value:.0%} of comparisons{mean} ({ci})"
    c = cal.human_ceiling
    if c.value is None:
        line += "; no comparison has two human votes, so there is no human figure to set it beside"
    else:
        many = "the two humans" if humans == 2 else "humans"
        line += f"; {many} agree with each other on {c.value:.0%}"
        if c.ci95 is None:
            line += f" (only {_plural(c.n, 'comparison')} with two or more: too few for an interval)"
    line += "."
    known = [(k.kappa, k.n) for k in cal.kappa if k.kappa is not None]
    if known:
        kappa = sum(k * n for k, n in known) / sum(n for _, n in known)
        if kappa <= 0.2:
            plain = "no better than chance" if kappa <= 0 else "only a little better than chance"
            line += f" It agrees with you {plain} (Cohen's κ {kappa:.2f}): don't lean on it."
    return line


def answer_card(report: Report) -> list[Section]:
    """The card's sections, in order; empty when the data say nothing about reasoning
    (a judge's agreement, when one judged, in its own section)."""
    out: list[Section] = []
    for h in report.reasoning_help:
        section = Section(f"Reasoning: {_label(report, h.with_)} vs {_label(report, h.without)}")
        if h.verifiable is not None:
            section.lines.append(_verifiable(h.verifiable))
        if h.open is not None:
            section.lines.append(_open(h.open))
        for tag, side in h.by_tag.items():
            section.lines.append("By tag, " + _tag_line(tag, side.verifiable, side.open))
        out.append(section)
    tell = [
        line
        for line in (
            _could_tell(report.discrimination, "answer came from a reasoner"),
            _could_tell(report.discrimination_reasoning, "reasoning was trained"),
        )
        if line
    ]
    if tell:
        out.append(Section("Could you tell?", tell))
    spent = []
    for cid, by_tag in report.reasoning_tokens.items():
        every = by_tag.get("all")
        if every is None or every.max == 0:
            continue
        mark = "≈" if every.estimated else ""
        spent.append(
            f"{_label(report, cid)}: median {mark}{_tokens(every.median)} "
            f"(middle half {mark}{_tokens(every.p25)}–{_tokens(every.p75)}, "
            f"most {mark}{_tokens(every.max)}), {_plural(every.n, 'answer')}."
        )
    if spent:
        out.append(Section("Reasoning tokens per answer", spent))
    for dose in report.dose_response:
        lines = []
        for pt in dose.points:
            median = pt.median_reasoning_tokens
            parts = [f"median {_tokens(median)} reasoning tokens" if median else "no reasoning tokens"]
            if pt.accuracy is not None:
                ci = pt.accuracy_ci95
                parts.append(f"{pt.accuracy:.0%} right" + (f" ({ci[0]:.0%}–{ci[1]:.0%})" if ci else ""))
            if pt.rating is not None:
                parts.append(
                    f"rating {pt.rating:.0f}"
                    + (
                        f" ({pt.ci95[0]:.0f}–{pt.ci95[1]:.0f})"
                        if pt.ci95
                        else " (too few votes for an interval)"
                    )
                )
            lines.append(f"{_label(report, pt.id)}: " + ", ".join(parts) + ".")
        out.append(Section(f"More thinking, better answers? ({dose.base})", lines))
    if report.judges:
        out.append(Section("Judges", [judge_line(c) for c in report.judges]))
    return out


def headline(report: Report) -> str | None:
    """One sentence first, the answer as far as the data go: each difference whose 95 %
    interval excludes none (where answers can be checked, and on open prompts), else
    that no difference is clear yet, and why."""
    if not report.reasoning_help:
        return None
    checked: list[str] = []
    open_: list[str] = []
    measured = False
    for h in report.reasoning_help:
        who = f"{_label(report, h.with_)} vs {_label(report, h.without)}"
        v, o = h.verifiable, h.open
        if v is not None and v.ci95 is not None:
            measured = True
            if round(v.ci95[0] * 100) > 0 or round(v.ci95[1] * 100) < 0:
                checked.append(f"{who} {_pts(v.diff)} ({_ci_pts(v.ci95)})")
        if o is not None and o.ci95 is not None:
            measured = True
            lo, hi = o.ci95
            if round(lo) > 0 or round(hi) < 0:
                open_.append(
                    f"{who} {_signed(o.rating_diff)} rating points (95 % CI {_signed(lo)} to {_signed(hi)})"
                )
    if not measured:
        if any(
            x is not None and x.note is not None
            for h in report.reasoning_help
            for x in (h.verifiable, h.open)
        ):
            return (
                "Where does reasoning help? No interval yet: the data are too one-sided or too uniform "
                "(see below)."
            )
        return "Where does reasoning help? Too few prompts yet to say: every comparison below needs more."
    out = []
    if checked:
        out.append("where answers can be checked, reasoning made a clear difference: " + "; ".join(checked))
    if open_:
        out.append("on open prompts: " + "; ".join(open_))
    if not out:
        return "Where does reasoning help? No clear difference yet: every interval below includes none."
    if not open_:
        out.append("on open prompts no difference is clear yet")
    elif not checked:
        out.append("where answers can be checked no difference is clear yet")
    first = out[0]
    return "Where does reasoning help? " + first[0].upper() + first[1:] + "; " + "; ".join(out[1:]) + "."
