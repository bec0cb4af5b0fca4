"""How far a judge model (a rater ``judge:…``, issue 23) can be trusted: its calibration
against the blind human votes on the same comparisons, and which raters' votes count.

A *comparison* is one turn with ``ok`` answers; its *places* are those answers' lanes in
the session's order. Ties count half throughout: a tie (or "all bad", or a judge's orders
that disagreed) said against a single answer is half right; a tie against a tie is right.

- ``agreement``: per comparison with a judge vote and at least one blind human vote
  (hidden repeats never count), 1 when the judge chose what the human majority chose, 0
  when they chose different answers, ½ when exactly one of the two is a tie (a human
  majority split between answers is a tie). The mean, with a 95 % bootstrap interval over
  prompts (:mod:`chatlab.core.analysis.bootstrap`'s rounds and seed). ``pairwise`` is
  the judge against each human (averaged within the comparison), and ``human_ceiling`` the
  same for every pair of humans where two or more voted: the two figures to set side by
  side (against a majority the judge is flattered: where two humans split, the majority
  is a tie, and any choice scores half).
- ``kappa``: Cohen's κ between the judge and each human on the comparisons both voted on,
  coded by place (first lane, second…; a lane id is new in every comparison, so coded by
  lane id chance agreement would be nil) or ``tie``.
- ``position_consistency``: the share of the judge's votes whose orders agreed
  (``judgement.consistent``), with a Clopper–Pearson interval.
- ``length_bias``: where one answer is the longest (characters of its text), a rater's
  score is 1 when it chose that answer, 1/N for a tie, else 0; the judge's mean minus the
  mean of the humans' on the same comparisons (each comparison's humans averaged first).
- ``self_preference``: likewise for the answers whose vendor family (:func:`family`) is
  the judge's own, where some but not all answers are (a tie scores their share).
- ``criteria``: per criterion of the judge's scores, the point-biserial correlation of
  an answer's score with "the human majority chose this answer" (comparisons whose
  majority chose one answer).

:func:`select` keeps the votes a report counts: humans' (the default), judges', or both,
where a judge counts only with :data:`MIN_CALIBRATION` comparisons shared with humans,
each vote weighted by its agreement beyond chance with them at the least, the lower end
of Cohen's κ's 95 % interval (:func:`weight`; a judge not shown above chance counts for
nothing), and one judge model counts once however
many rubrics it judged by. ``decisive`` is the share of its votes that chose an answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from chatlab.core.analysis.bootstrap import BOOTSTRAP, SEED
from chatlab.core.analysis.exact import clopper_pearson
from chatlab.core.analysis.votes import rater_labels
from chatlab.core.data.model import Session, Status
from chatlab.core.data.votes import JUDGE, is_judge

TIE = "tie"
HUMANS, JUDGES, BOTH = "humans", "judges", "both"
RATER_KINDS = (HUMANS, JUDGES, BOTH)
MIN_SHARED = 5  # comparisons shared with humans below which a figure is "too few"
MIN_CALIBRATION = 10  # a judge's votes count alongside humans' only from this many on
MIN_KAPPA = 2

# Vendor families by the model's own name (a gateway's "vendor/" prefix dropped).
_FAMILIES = (
    (r"^(gpt|o\d|chatgpt|codex|davinci|text-embedding)", "openai"),
    (r"^claude", "anthropic"),
    (r"^(gemini|gemma|palm|bison)", "google"),
    (r"^grok", "xai"),
    (r"^deepseek", "deepseek"),
    (r"^(mistral|mixtral|magistral|codestral|ministral|devstral|pixtral)", "mistral"),
    (r"^(qwen|qwq)", "alibaba"),
    (r"^(llama|meta-llama)", "meta"),
    (r"^(kimi|moonshot)", "moonshot"),
    (r"^(glm|chatglm)", "zai"),
    (r"^command", "cohere"),
    (r"^(phi|mai-)", "microsoft"),
    (r"^demo", "demo"),
)


def family(spec: str) -> str:
    """The vendor family of a model ``PROVIDER:MODEL``: who trained it, read from the
    model's name (``azure:gpt-5`` and ``openrouter:openai/gpt-5`` are both openai), else
    its provider's name."""
    provider, _, model = spec.partition(":")
    name = model.rsplit("/", 1)[-1].lower()
    for pattern, vendor in _FAMILIES:
        if re.match(pattern, name):
            return vendor
    return provider.lower()


@dataclass
class Comparison:
    """One turn as calibration reads it: its prompt (the bootstrap's unit), its answers'
    lanes in place order, their lengths and families, the humans' choices and the judges'
    (a lane id or ``tie``), and each judge vote's judgement."""

    prompt: str
    lanes: list[str]
    chars: list[int]
    families: list[str]
    humans: dict[str, str] = field(default_factory=dict)
    judges: dict[str, str] = field(default_factory=dict)
    judgements: dict[str, dict[str, Any]] = field(default_factory=dict)


def comparisons(sessions: Iterable[Session]) -> list[Comparison]:
    """Every turn with two or more ``ok`` answers and a vote, blind and first votes only
    (sighted votes should already be out: :func:`~chatlab.core.analysis.votes.blind_only`)."""
    out = []
    for session in sessions:
        lanes = [*session.lanes, *session.retired]
        for turn in session.turns:
            ok = [ln for ln in lanes if ln.id in turn.responses and turn.responses[ln.id].status is Status.OK]
            if len(ok) < 2:
                continue
            prompt = f"{session.study.id}/{session.study.prompt_id}" if session.study else f"turn/{turn.id}"
            c = Comparison(
                prompt,
                [ln.id for ln in ok],
                [len(turn.responses[ln.id].text) for ln in ok],
                [family(ln.spec) for ln in ok],
            )
            for vote in turn.votes:
                if vote.repeat or vote.sighted:
                    continue
                choice = vote.choice if vote.choice in c.lanes else TIE  # tie, all bad, a failed lane
                if is_judge(vote.rater):
                    c.judges[vote.rater] = choice
                    c.judgements[vote.rater] = vote.judgement or {}
                else:
                    c.humans[vote.rater] = choice
            if c.humans or c.judges:
                out.append(c)
    return out


def _judge_name(rater: str) -> str:
    """A judge rater as a sentence names it: its model, and its rubric when not the
    default (``demo-judge``, ``gpt-5/writing``), as :func:`chatlab.core.judging.compose.judge_name`
    does (judging sits above analysis, so it is not imported)."""
    spec = rater.removeprefix(JUDGE)
    return spec.split(":", 1)[1] if ":" in spec else spec


def majority(choices: Iterable[str]) -> str:
    """The most chosen answer, or ``tie`` when the top is shared (or is a tie)."""
    counts = Counter(choices).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return TIE
    return counts[0][0]


def match(a: str, b: str) -> float:
    """1 for the same choice, ½ when exactly one is a tie, 0 for different answers."""
    if a == b:
        return 1.0
    return 0.5 if TIE in (a, b) else 0.0


def _bootstrap_mean(
    prompts: Sequence[str], values: Sequence[float], rounds: int, seed: int
) -> tuple[float, float]:
    """A 95 % percentile interval of the mean of ``values`` over prompts drawn with
    replacement (every prompt with all its values)."""
    keys = sorted(set(prompts))
    index = {p: i for i, p in enumerate(keys)}
    sums = np.zeros(len(keys))
    counts = np.zeros(len(keys))
    np.add.at(sums, [index[p] for p in prompts], values)
    np.add.at(counts, [index[p] for p in prompts], 1.0)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(keys), (rounds, len(keys)))
    means = sums[picks].sum(axis=1) / np.maximum(counts[picks].sum(axis=1), 1.0)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@dataclass
class Share:
    """A mean over comparisons (None: no comparison), its 95 % interval (None: fewer than
    two prompts, or too few comparisons), how many, and ``note`` when too few."""

    value: float | None
    ci95: tuple[float, float] | None
    n: int
    note: str | None = None


@dataclass
class Difference:
    """The judge's rate minus the humans' on the same comparisons, both rates, its 95 %
    interval, how many comparisons; None figures and ``note`` when it can't be said."""

    judge_rate: float | None
    human_rate: float | None
    difference: float | None
    ci95: tuple[float, float] | None
    n: int
    note: str | None = None


@dataclass
class Kappa:
    """Cohen's κ between the judge and one human (by name), on ``n`` shared comparisons
    (None, with ``note``: too few, or undefined when both always chose alike)."""

    rater: str
    kappa: float | None
    n: int
    note: str | None = None
    # Its 95 % interval (Cohen's large-sample standard error, the agreement adjusted by
    # half a comparison so that none or all agreeing still has an error): ``low`` is how
    # far the judge agrees beyond chance at the least, the figure its weight rests on.
    low: float | None = None
    high: float | None = None


@dataclass
class Criterion:
    """The point-biserial correlation of the judge's score on ``criterion`` with the human
    majority's choice, over ``n`` answers (None, with ``note``: too few or no spread)."""

    criterion: str
    correlation: float | None
    n: int
    note: str | None = None


@dataclass
class Calibration:
    """One judge rater against the humans: everything the module docstring defines."""

    rater: str
    name: str
    family: str
    votes: int
    shared: int  # comparisons it shares with blind human votes
    agreement: Share  # with the human majority
    pairwise: Share  # with each human: the figure to set beside human_ceiling
    human_ceiling: Share
    kappa: list[Kappa]
    position_consistency: Share
    length_bias: Difference
    self_preference: Difference
    criteria: list[Criterion]
    weight: float  # its votes' weight when judges and humans both count (0: not counted)
    # The share of its votes that chose an answer (the rest: ties, its own or its orders'):
    # a judge that mostly ties scores half against every human choice, and says little.
    decisive: Share = field(default_factory=lambda: Share(None, None, 0, "no votes"))
    model: str = ""  # PROVIDER:MODEL: one judge model with several rubrics counts once under Both
    weight_note: str | None = None  # why its weight is 0, in words


def _share(prompts: list[str], values: list[float], rounds: int, seed: int, what: str) -> Share:
    n = len(values)
    if not n:
        return Share(None, None, 0, f"no {what}")
    value = round(float(np.mean(values)), 4)
    if n < MIN_SHARED:
        return Share(value, None, n, f"too few {what} for an interval ({n}; it takes {MIN_SHARED})")
    if len(set(prompts)) < 2:
        return Share(value, None, n, "all on one prompt: no interval")
    lo, hi = _bootstrap_mean(prompts, values, rounds, seed)
    return Share(value, (round(lo, 4), round(hi, 4)), n)


def _difference(
    rows: list[tuple[str, float, float]], rounds: int, seed: int, what: str, none_note: str
) -> Difference:
    """(prompt, judge score, humans' mean score) per comparison → the difference."""
    n = len(rows)
    if not n:
        return Difference(None, None, None, None, 0, none_note)
    judge = float(np.mean([r[1] for r in rows]))
    human = float(np.mean([r[2] for r in rows]))
    diff = judge - human
    out = Difference(round(judge, 4), round(human, 4), round(diff, 4), None, n)
    if n < MIN_SHARED:
        out.note = f"too few {what} for an interval ({n}; it takes {MIN_SHARED})"
    elif len({r[0] for r in rows}) < 2:
        out.note = "all on one prompt: no interval"
    else:
        lo, hi = _bootstrap_mean([r[0] for r in rows], [r[1] - r[2] for r in rows], rounds, seed)
        out.ci95 = (round(lo, 4), round(hi, 4))
    return out


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's κ of two raters' codes on the same items (None: no items, or chance
    agreement is total, when κ is undefined)."""
    n = len(a)
    if not n:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def kappa_interval(a: Sequence[str], b: Sequence[str]) -> tuple[float, float] | None:
    """A 95 % interval of :func:`cohen_kappa`: κ ± 1.96 · sqrt(p̃(1 − p̃) / n) / (1 − pₑ),
    Cohen's (1960) large-sample standard error with the observed agreement adjusted to
    p̃ = (agreements + ½) / (n + 1), so that none or all agreeing keeps an error."""
    k = cohen_kappa(a, b)
    if k is None:
        return None
    n = len(a)
    agreed = sum(x == y for x, y in zip(a, b, strict=True))
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[key] * cb[key] for key in ca) / (n * n)
    p = (agreed + 0.5) / (n + 1)
    half = 1.96 * math.sqrt(p * (1.0 - p) / n) / (1.0 - expected)
    return k - half, k + half


def kappa_low(a: Sequence[str], b: Sequence[str]) -> float | None:
    """The lower end of :func:`kappa_interval`."""
    found = kappa_interval(a, b)
    return None if found is None else found[0]


def _code(c: Comparison, choice: str) -> str:
    return TIE if choice == TIE else str(c.lanes.index(choice))


def _scored(c: Comparison, choice: str, wanted: list[bool]) -> float:
    """A choice's score for the ``wanted`` answers: 1 when it chose one, a tie their share."""
    if choice == TIE:
        return sum(wanted) / len(wanted)
    return 1.0 if wanted[c.lanes.index(choice)] else 0.0


def _kappas(mine: list[Comparison], rater: str, names: dict[str, str]) -> list[Kappa]:
    out = []
    for human in sorted({h for c in mine for h in c.humans}):
        both = [c for c in mine if human in c.humans]
        a = [_code(c, c.judges[rater]) for c in both]
        b = [_code(c, c.humans[human]) for c in both]
        name = names.get(human, human)
        if len(both) < MIN_KAPPA:
            out.append(Kappa(name, None, len(both), f"too few shared comparisons ({len(both)})"))
            continue
        k, ci = cohen_kappa(a, b), kappa_interval(a, b)
        low, high = ci if ci is not None else (None, None)
        note = None if k is not None else "undefined: both always chose alike, so chance explains it all"
        out.append(
            Kappa(
                name,
                None if k is None else round(k, 4),
                len(both),
                note,
                None if low is None else round(low, 4),
                None if high is None else round(high, 4),
            )
        )
    return out


def _criteria(mine: list[Comparison], rater: str) -> list[Criterion]:
    scores: dict[str, list[tuple[float, float]]] = {}
    for c in mine:
        chosen = majority(c.humans.values())
        if chosen == TIE:
            continue
        given = c.judgements.get(rater, {}).get("scores")
        for lane in c.lanes:
            per_lane = given.get(lane) if isinstance(given, dict) else None
            pairs: list[tuple[Any, Any]] = list(per_lane.items()) if isinstance(per_lane, dict) else []
            for name, value in pairs:
                if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                    scores.setdefault(str(name), []).append((float(value), 1.0 if lane == chosen else 0.0))
    out = []
    for criterion, found in sorted(scores.items()):
        x = np.array([p[0] for p in found])
        y = np.array([p[1] for p in found])
        if len(found) < 3:
            out.append(Criterion(criterion, None, len(found), "too few scored answers"))
        elif x.std() == 0 or y.std() == 0:
            out.append(
                Criterion(criterion, None, len(found), "no spread: every score (or every choice) alike")
            )
        else:
            out.append(Criterion(criterion, round(float(np.corrcoef(x, y)[0, 1]), 4), len(found)))
    return out


def _own_family(mine: list[Comparison], rater: str, own: str) -> list[tuple[str, float, float]]:
    rows = []
    for c in mine:
        wanted = [f == own for f in c.families]
        if any(wanted) and not all(wanted):
            human = float(np.mean([_scored(c, h, wanted) for h in c.humans.values()]))
            rows.append((c.prompt, _scored(c, c.judges[rater], wanted), human))
    return rows


def _longest(mine: list[Comparison], rater: str) -> list[tuple[str, float, float]]:
    rows = []
    for c in mine:
        top = max(c.chars)
        if c.chars.count(top) != 1:
            continue  # no single longest answer
        wanted = [x == top for x in c.chars]
        human = float(np.mean([_scored(c, h, wanted) for h in c.humans.values()]))
        rows.append((c.prompt, _scored(c, c.judges[rater], wanted), human))
    return rows


def ceiling(found: Sequence[Comparison], rounds: int = BOOTSTRAP, seed: int = SEED) -> Share:
    """Human–human agreement: where two or more humans voted, every pair of them
    (:func:`match`), averaged in the comparison, then over comparisons."""
    prompts, values = [], []
    for c in found:
        if len(c.humans) < 2:
            continue
        picks = list(c.humans.values())
        pairs = [match(a, b) for i, a in enumerate(picks) for b in picks[i + 1 :]]
        prompts.append(c.prompt)
        values.append(float(np.mean(pairs)))
    return _share(prompts, values, rounds, seed, "comparisons with two or more human votes")


def chance(mine: Sequence[Comparison]) -> float:
    """What a judge choosing one answer at random would score against a human who
    chose one answer (1/N; a human's tie would give it ½ whatever it chose)."""
    return float(np.mean([1.0 / len(c.lanes) for c in mine])) if mine else 0.5


def weight(kappas: Sequence[Kappa], shared: int) -> tuple[float, str | None]:
    """A judge vote's weight beside a human's (1): how far it agrees with the humans beyond
    chance *at the least*, the lower end of each human's Cohen's κ 95 % interval (weighted
    by the comparisons shared), clipped to [0, 1]. So a judge counts only as far as its
    agreement is shown: one at chance (a coin, or one that mostly ties) weighs 0 about 39
    times in 40, whatever its κ by luck. 0 below :data:`MIN_CALIBRATION` shared
    comparisons. With the reason when 0."""
    if shared < MIN_CALIBRATION:
        return 0.0, f"it shares {shared} comparisons with your votes; it takes {MIN_CALIBRATION} to count"
    known = [(k.kappa, k.low, k.n) for k in kappas if k.kappa is not None and k.low is not None]
    if not known:
        return 0.0, "its agreement beyond chance (κ) can't be measured"
    total = sum(n for _, _, n in known)
    kappa = sum(k * n for k, _, n in known) / total
    low = sum(lo * n for _, lo, n in known) / total
    if low <= 0:
        return 0.0, (
            f"its agreement with you beyond chance isn't shown to be above 0 (κ {kappa:.2f}, "
            f"95 % interval from {low:.2f})"
        )
    return round(min(1.0, low), 4), None


def calibrate(
    sessions: Iterable[Session],
    names: dict[str, str] | None = None,
    rounds: int = BOOTSTRAP,
    seed: int = SEED,
) -> list[Calibration]:
    """One :class:`Calibration` per judge rater in these (blind) sessions."""
    sessions = list(sessions)
    names = rater_labels(sessions) if names is None else names
    found = comparisons(sessions)
    human_ceiling = ceiling(found, rounds, seed)
    out = []
    for rater in sorted({j for c in found for j in c.judges}):
        judged = [c for c in found if rater in c.judges]
        mine = [c for c in judged if c.humans]
        agree = _share(
            [c.prompt for c in mine],
            [match(c.judges[rater], majority(c.humans.values())) for c in mine],
            rounds,
            seed,
            "comparisons shared with human votes",
        )
        pairwise = _share(
            [c.prompt for c in mine],
            [float(np.mean([match(c.judges[rater], h) for h in c.humans.values()])) for c in mine],
            rounds,
            seed,
            "comparisons shared with human votes",
        )
        said = [c.judgements[rater].get("consistent") for c in judged]
        flags = [bool(x) for x in said if isinstance(x, bool)]
        lo, hi = clopper_pearson(sum(flags), len(flags))
        consistency = Share(
            round(sum(flags) / len(flags), 4) if flags else None,
            (round(lo, 4), round(hi, 4)) if flags else None,
            len(flags),
            None if flags else "no vote says whether its orders agreed",
        )
        spec = next(
            (c.judgements[rater].get("judge") for c in judged if c.judgements[rater].get("judge")), None
        )
        spec = str(spec) if spec else rater.removeprefix("judge:").split("/", 1)[0]
        own = family(spec)
        self_rows = _own_family(mine, rater, own)
        why = (
            f"no shared comparison with some but not all answers from its own family ({own})"
            if mine
            else "no comparison shared with human votes"
        )
        out.append(
            Calibration(
                rater=rater,
                name=_judge_name(rater) if names.get(rater, rater) == rater else names[rater],
                family=own,
                votes=len(judged),
                shared=len(mine),
                agreement=agree,
                pairwise=pairwise,
                human_ceiling=human_ceiling,
                kappa=_kappas(mine, rater, names),
                position_consistency=consistency,
                length_bias=_difference(
                    _longest(mine, rater),
                    rounds,
                    seed,
                    "comparisons with one longest answer",
                    "no shared comparison with one longest answer"
                    if mine
                    else "no comparison shared with human votes",
                ),
                self_preference=_difference(self_rows, rounds, seed, "such comparisons", why),
                criteria=_criteria(mine, rater),
                weight=0.0,
                decisive=_decisive(judged, rater),
                model=spec,
            )
        )
        cal = out[-1]
        cal.weight, cal.weight_note = weight(cal.kappa, cal.shared)
    # One judge model with several rubrics (or settings) is one judge: only its best
    # calibrated rater counts under Both, or three rubrics would outvote a person.
    best: dict[str, Calibration] = {}
    for cal in out:
        if cal.weight > 0 and (cal.model not in best or cal.weight > best[cal.model].weight):
            best[cal.model] = cal
    for cal in out:
        if cal.weight > 0 and best[cal.model] is not cal:
            cal.weight = 0.0
            cal.weight_note = f"{best[cal.model].name}, the same model, counts instead (one vote per model)"
    return out


def _decisive(judged: Sequence[Comparison], rater: str) -> Share:
    """The share of the judge's votes that chose an answer, with a Clopper–Pearson interval."""
    n = len(judged)
    if not n:
        return Share(None, None, 0, "no votes")
    chose = sum(c.judges[rater] != TIE for c in judged)
    lo, hi = clopper_pearson(chose, n)
    return Share(round(chose / n, 4), (round(lo, 4), round(hi, 4)), n)


@dataclass
class Raters:
    """Whose votes a report counts: ``kind`` (humans, judges or both), the humans and the
    judges counted (by name), the judges left out, each counted judge's weight, and the
    sentence that says so."""

    kind: str
    humans: int
    judges: list[str]
    judges_left_out: list[str]
    weights: dict[str, float]
    sentence: str


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def select(
    sessions: Sequence[Session], kind: str, found: Sequence[Calibration]
) -> tuple[list[Session], dict[str, float]]:
    """These sessions with only the votes ``kind`` counts, and each counted judge's weight
    by rater id when both count (humans weigh 1)."""
    if kind not in RATER_KINDS:
        raise ValueError(f"raters: one of {', '.join(RATER_KINDS)}, not {kind!r}")
    weights = {c.rater: c.weight for c in found if c.weight > 0} if kind == BOTH else {}

    def keep(rater: str) -> bool:
        if not is_judge(rater):
            return kind != JUDGES
        return kind == JUDGES or rater in weights

    out = [
        replace(s, turns=[replace(t, votes=[v for v in t.votes if keep(v.rater)]) for t in s.turns])
        for s in sessions
    ]
    return out, weights


def used(
    kind: str, counted: Iterable[str], found: Sequence[Calibration], weights: dict[str, float]
) -> Raters:
    """What a report counted: ``counted`` are the rater ids of its votes."""
    names = {c.rater: c.name for c in found}
    counted = set(counted)
    humans = len({r for r in counted if not is_judge(r)})
    judges = sorted(r for r in counted if is_judge(r))
    left = [c.name for c in found if c.rater not in counted]
    named = [names.get(j, _judge_name(j)) for j in judges]
    if kind == JUDGES:
        sentence = f"Judges' votes only ({_n(len(judges), 'judge')}); humans' votes not counted"
    elif kind == BOTH and judges:
        each = ", ".join(f"{names.get(j, j)} weighs {weights.get(j, 1.0):.2f}" for j in judges)
        sentence = (
            f"Humans' votes ({_n(humans, 'rater')}) and judges', each weighted by how far it agrees "
            f"with the humans beyond chance at the least, Cohen's κ's lower 95 % bound ({each})"
        )
    else:
        sentence = f"Humans' votes only ({_n(humans, 'rater')})"
        if kind == BOTH and found:
            sentence += (
                f"; no judge agrees with them beyond chance on {MIN_CALIBRATION} or more shared comparisons"
            )
    if left and kind != JUDGES:
        sentence += f"; {_n(len(left), 'judge')} not counted — see Judges"
    return Raters(
        kind,
        humans,
        named,
        left,
        {names.get(j, j): weights[j] for j in judges if j in weights},
        sentence + ".",
    )
