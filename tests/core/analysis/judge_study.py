"""Study comparisons built in memory for the judge calibration tests: lanes with given
answer texts, human votes, and a judge vote made the real way (demo-judge's verdict on
each order's judge request, read by chatlab's parser, composed into one vote) or by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chatlab.core.data.events import Usage
from chatlab.core.data.model import Lane, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Vote
from chatlab.core.judging.compose import Call, choice_of, compose, judge_rater, lane_orders
from chatlab.core.judging.orders import letters
from chatlab.core.judging.prompt import Shown, judge_messages
from chatlab.core.judging.rubrics import find_rubric
from chatlab.core.judging.verdicts import parse_verdict
from chatlab.demo import judge

SPEC = "demo:demo-judge"
RUBRIC = find_rubric("general")
JUDGE = judge_rater(SPEC, RUBRIC.name)


def comparison(
    k: int,
    texts: Sequence[str],
    humans: Mapping[str, int | str],
    specs: Sequence[str] = ("demo:alpha", "demo:beta", "demo:gamma"),
    prompt: str | None = None,
) -> Session:
    """Comparison ``k``: one lane per text (models from ``specs``), each human's vote by
    answer index (or ``tie``/``all_bad``) under rater id ``id:NAME``."""
    lanes = []
    for i in range(len(texts)):
        provider, model = specs[i].split(":", 1)
        lanes.append(Lane(provider, model, label=model, id=f"c{k}l{i}"))
    turn = Turn(prompt=prompt or f"Prompt {k}", id=f"t{k}", created_at="2026-01-01T00:00:00+00:00")
    for lane, text in zip(lanes, texts, strict=True):
        turn.responses[lane.id] = Response(
            lane.id,
            Status.OK,
            text_parts=[text],
            usage=Usage(input_tokens=5, output_tokens=max(1, len(text) // 4)),
        )
    ids = [lane.id for lane in lanes]
    for name, pick in humans.items():
        choice = ids[pick] if isinstance(pick, int) else pick
        turn.votes.append(
            Vote(choice, rater=f"id:{name}", rater_name=name, voted_at="2026-01-02", shown_order=list(ids))
        )
    study = StudyRef("s1", "S", f"p{k}", 0, ())
    return Session(
        lanes=lanes, turns=[turn], id=f"s{k}", created_at="2026-01-01T00:00:00+00:00", blind=True, study=study
    )


def judged(session: Session) -> Vote:
    """The demo judge's vote on this comparison: every order's request written as chatlab
    writes it, answered by :func:`chatlab.demo.judge.verdict`, read by chatlab's parser,
    and composed."""
    turn = session.turns[0]
    ids = [lane.id for lane in session.lanes]
    shown = [Shown(turn.responses[i].text) for i in ids]
    calls = []
    for position, order in enumerate(lane_orders(ids)):
        places = tuple(ids.index(x) for x in order)
        _, user = judge_messages(RUBRIC, turn.prompt, shown, places, show_reasoning=False)
        raw = judge.verdict(user)
        v = parse_verdict(raw, letters(len(ids)), RUBRIC.criterion_names)
        calls.append(Call(position, order, raw, choice_of(RUBRIC, v.scores, v.choice), v.problem, v.scores))
    outcome = compose(SPEC, RUBRIC, "seen", ids, calls)
    assert outcome.vote is not None, outcome.problem
    return outcome.vote


def by_hand(
    session: Session, pick: int | str, consistent: bool = True, rater: str = JUDGE, **extra: Any
) -> Vote:
    """A judge vote made by hand: answer ``pick`` (an index, or ``tie``)."""
    ids = [lane.id for lane in session.lanes]
    choice = ids[pick] if isinstance(pick, int) else pick
    judgement: dict[str, Any] = {"judge": SPEC, "orders": [ids], "choices": ["A"], "consistent": consistent}
    judgement.update(extra)
    return Vote(choice, rater=rater, rater_name=rater, shown_order=list(ids), judgement=judgement)
