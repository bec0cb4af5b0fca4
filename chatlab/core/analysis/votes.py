"""From sessions to votes: who the contenders are, and each vote as a choice ready to fit.

A contender is a model with its non-default parameters (a study's placebo twin is one of
its own). Every vote on a turn whose answers were ``ok`` becomes a :class:`Vote`: the
contenders present, their share of the win (a tie or "all bad" gives each 1/N), the
prompt it belongs to (the bootstrap's unit), the guesses and screen place, and its
weight in the fit (1, or a judge's agreement when judges count beside humans). :class:`Data`
holds them with each contender's costs, token counts and 1–5 scores. Sighted votes are
taken out first (:func:`blind_only`), and :func:`rater_labels` names the raters.
:func:`contender_kind` (from :mod:`chatlab.core.data.kinds`, where the reveals read it
too) says whether a contender is a trained reasoner, a plain model asked to think, or plain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from chatlab.core.data.kinds import NATIVE, PLAIN, PROMPTED, provider_reasoned, trained
from chatlab.core.data.kinds import contender_kind as contender_kind
from chatlab.core.data.model import Lane, Response, Session, Status, Turn
from chatlab.core.lab.blind import visible_reasoning

PLACEBO = " (placebo)"  # added to a placebo twin's contender id (and " (placebo 2)"… if taken)


def model_id(lane: Lane) -> str:
    """``provider:model``, with its non-default parameters: ``openai:o3 {reasoning_effort=high}``."""
    params = {k: v for k, v in lane.params.to_dict().items() if k != "system"}
    key = lane.spec
    if params:
        key += " {" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + "}"
    return key


def contender_id(lane: Lane) -> str:
    """:func:`model_id`; a study's placebo twin (:attr:`Lane.placebo`, never its label)
    is the same model under a second blind identity, a contender of its own, so the gap
    between the two measures the noise: its id has `` (placebo)`` added. (Should another
    contender already have that id, :meth:`Data.of` numbers the twin's.)"""
    key = model_id(lane)
    return key + PLACEBO if lane.placebo else key


def reasoned(resp: Response) -> bool:
    return resp.usage.reasoning_tokens > 0 or bool(resp.reasoning)


@dataclass
class Vote:
    """One vote, ready to fit: the contenders present (answer ``ok``) and their share of
    the win, the prompt it belongs to (the bootstrap's unit) and what else we need."""

    prompt: str
    present: list[int]  # contender indices
    share: list[float]  # of the win, summing to 1
    rater: str = ""
    choice: int | None = None  # the contender chosen, or None for a tie / all bad
    all_bad: bool = False
    # Answers are named by their place in ``present`` (a lane), never by contender: one
    # model may sit in two lanes of a vote, and only one of them may have reasoned.
    guessed: list[int] | None = None  # the places marked "reasoned"
    reasoners: list[int] = field(default_factory=list)  # the places whose answer reasoned
    # The places whose reasoning came from the provider (a model trained to reason), not
    # from chatlab's prompt (think = "prompted"): the truth when the reasoning was shown.
    trained: list[int] = field(default_factory=list)
    # The places whose reasoning text was on screen (a session that showed reasoning);
    # the others read "reasoning not shown" alike.
    visible: list[int] = field(default_factory=list)
    answer_tokens: list[int] = field(default_factory=list)  # per place
    item: str = ""  # the turn voted on (raters agree or not about the same item)
    position: int | None = None  # the chosen answer's place on screen (0 = Model A)
    shown: int = 0  # how many answers were on screen
    show_reasoning: bool = False  # cast on a session that showed each answer's reasoning
    weight: float = 1.0  # in the fit: a human's 1; a judge's its agreement (analysis.judges)


@dataclass
class Data:
    contenders: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    reasoner: list[bool] = field(default_factory=list)
    votes: list[Vote] = field(default_factory=list)
    costs: list[list[float]] = field(default_factory=list)  # per contender: measured answer costs
    answer_tokens: list[list[int]] = field(default_factory=list)
    reasoning_tokens: list[list[int]] = field(default_factory=list)
    scores: list[list[int]] = field(default_factory=list)  # per contender: 1–5 scores
    scored: list[tuple[str, str, int]] = field(default_factory=list)  # (turn/lane, rater, score)
    repeats: list[tuple[str, str, str, str]] = field(default_factory=list)  # (item, rater, first, again)
    # Per contender: None, or for a placebo twin the id of the contender it copies (its
    # model_id, which is also its original's contender id). Twins are known by this,
    # never by what their id or label says.
    twins: list[str | None] = field(default_factory=list)
    specs: list[str] = field(default_factory=list)  # per contender: provider:model
    index: dict[tuple[str, bool], int] = field(default_factory=dict)  # (model_id, twin?) -> contender
    # Per contender: its graded answers, (prompt, right?), one per answer with a key grade
    # (a study's keyed prompts), voted on or not; and each such prompt's tags.
    graded: list[list[tuple[str, bool]]] = field(default_factory=list)
    # Per contender: "native" (the provider reported reasoning), "prompted" (a lane with
    # think = "prompted": a plain model asked to think first) or "plain".
    kinds: list[str] = field(default_factory=list)
    prompt_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def prompts(self) -> int:
        return len({v.prompt for v in self.votes})

    def twin_of(self, c: int) -> str | None:
        """The model id a placebo twin copies, or None when ``c`` is no twin."""
        return self.twins[c] if c < len(self.twins) else None

    def original(self, c: int) -> int | None:
        """The contender a placebo twin copies (None: ``c`` is no twin, or its original
        was never seen)."""
        key = self.twin_of(c)
        if key is None:
            return None
        return next(
            (j for j, other in enumerate(self.contenders) if other == key and self.twin_of(j) is None), None
        )

    def _twin_name(self, key: str, c: int) -> str:
        """A twin's id: ``key (placebo)``, or ``key (placebo 2)``… when another contender
        (a model itself named "… (placebo)") has that id."""
        taken = {other for j, other in enumerate(self.contenders) if j != c}
        name, k = key + PLACEBO, 2
        while name in taken:
            name, k = f"{key} (placebo {k})", k + 1
        return name

    def of(self, lane: Lane) -> int:
        key = model_id(lane)
        slot = (key, lane.placebo)
        if slot not in self.index:
            c = len(self.contenders)
            self.index[slot] = c
            self.contenders.append(self._twin_name(key, c) if lane.placebo else key)
            self.twins.append(key if lane.placebo else None)
            self.specs.append(lane.spec)
            self.labels.append(lane.label or self.contenders[c])
            self.reasoner.append(False)
            self.kinds.append(PROMPTED if lane.params.think == PROMPTED else PLAIN)
            for table in (self.costs, self.answer_tokens, self.reasoning_tokens, self.scores, self.graded):
                table.append([])
            if not lane.placebo:  # a twin named before this model came along steps aside
                for t, other in enumerate(self.contenders[:c]):
                    if other == key and self.twin_of(t) is not None:
                        self.contenders[t] = self._twin_name(self.twins[t] or "", t)
                        if self.labels[t] == key:
                            self.labels[t] = self.contenders[t]
        return self.index[slot]


def collect(
    sessions: Iterable[Session],
    tags: Sequence[str] = (),
    raters: Sequence[str] = (),
    weights: dict[str, float] | None = None,
) -> Data:
    """The votes in ``sessions`` (non-repeat ones), filtered by study tags and raters;
    a rater in ``weights`` has its votes weighted so in the fit (others weigh 1)."""
    data = Data()
    wanted_tags = set(tags)
    wanted_raters = set(raters)
    for session in sessions:
        if wanted_tags and not (session.study and wanted_tags & set(session.study.tags)):
            continue
        for turn in session.turns:
            _turn_votes(session, turn, data, wanted_raters)
    if weights:
        for v in data.votes:
            v.weight = weights.get(v.rater, 1.0)
    return data


def _turn_votes(session: Session, turn: Turn, data: Data, wanted_raters: set[str]) -> None:
    lanes = {lane.id: lane for lane in (*session.lanes, *session.retired)}
    present: dict[str, int] = {}
    for lane_id, resp in turn.responses.items():
        lane = lanes.get(lane_id)
        if lane is None or resp.status is not Status.OK:
            continue
        c = data.of(lane)
        present[lane_id] = c
        if reasoned(resp):
            data.reasoner[c] = True
        if data.kinds[c] == PLAIN and provider_reasoned(resp):
            data.kinds[c] = NATIVE
        if resp.cost_usd is not None:
            data.costs[c].append(resp.cost_usd)
        data.answer_tokens[c].append(_answer_tokens(resp))
        mark = resp.grade_by("key")
        if mark is not None and session.study is not None:
            key = f"{session.study.id}/{session.study.prompt_id}"
            data.graded[c].append((key, mark.correct))
            data.prompt_tags[key] = session.study.tags
        data.reasoning_tokens[c].append(resp.usage.reasoning_tokens)
        for rating in resp.ratings:
            if rating.score is not None and (not wanted_raters or rating.rater in wanted_raters):
                data.scores[c].append(rating.score)
                data.scored.append((f"{turn.id}/{lane_id}", rating.rater, rating.score))
    if not present:
        return
    prompt = f"{session.study.id}/{session.study.prompt_id}" if session.study else f"turn/{turn.id}"
    firsts = {v.rater: v.choice for v in turn.votes if not v.repeat}
    for vote in turn.votes:
        if wanted_raters and vote.rater not in wanted_raters:
            continue
        if vote.choice not in present and vote.choice not in ("tie", "all_bad"):
            continue  # chose an answer that failed: a choice among the others nobody made
        if vote.repeat:
            if vote.rater in firsts:
                data.repeats.append((turn.id, vote.rater, firsts[vote.rater], vote.choice))
            continue
        ids = [lid for lid in (vote.shown_order or list(present)) if lid in present] or list(present)
        ids = list(dict.fromkeys(ids)) + [lid for lid in present if lid not in ids]
        members = [present[lid] for lid in ids]
        if vote.choice in present:
            share = [1.0 if lid == vote.choice else 0.0 for lid in ids]
            choice: int | None = present[vote.choice]
        else:
            share = [1.0 / len(ids)] * len(ids)
            choice = None
        order = vote.shown_order or []
        data.votes.append(
            Vote(
                prompt=prompt,
                present=members,
                share=share,
                rater=vote.rater,
                choice=choice,
                all_bad=vote.choice == "all_bad",
                guessed=None
                if vote.guessed is None
                else [ids.index(g) for g in dict.fromkeys(vote.guessed) if g in present],
                reasoners=[k for k, lid in enumerate(ids) if reasoned(turn.responses[lid])],
                trained=[k for k, lid in enumerate(ids) if trained(lanes[lid], turn.responses[lid])],
                visible=[
                    k
                    for k, lid in enumerate(ids)
                    if session.show_reasoning and visible_reasoning(turn.responses[lid])
                ],
                answer_tokens=[_answer_tokens(turn.responses[lid]) for lid in ids],
                item=turn.id,
                position=order.index(vote.choice) if vote.choice in order else None,
                shown=len(order),
                show_reasoning=session.show_reasoning,
            )
        )


def _answer_tokens(resp: Response) -> int:
    return max(0, resp.usage.output_tokens - resp.usage.reasoning_tokens)


def rater_labels(sessions: Iterable[Session]) -> dict[str, str]:
    """{rater id: the name shown} for every rater of these sessions (two ids that go by
    one name are shown apart: "carol", "carol (2)")."""
    from chatlab.core.settings.raters import labels

    return labels(
        [(v.rater, v.rater_name) for s in sessions for t in s.turns for v in t.votes]
        + [
            (r.rater, r.rater_name)
            for s in sessions
            for t in s.turns
            for x in t.responses.values()
            for r in x.ratings
        ]
    )


def blind_only(sessions: Iterable[Session]) -> tuple[list[Session], int]:
    """These sessions without their sighted votes (and the ratings each such vote's rater
    gave that turn's answers), and how many votes were left out (hidden repeats not
    counted). Sessions and turns with nothing sighted are the same objects."""
    out: list[Session] = []
    left_out = 0
    for session in sessions:
        if not any(v.sighted for t in session.turns for v in t.votes):
            out.append(session)
            continue
        turns = []
        for turn in session.turns:
            sighted = {v.rater for v in turn.votes if v.sighted and not v.repeat}
            if not any(v.sighted for v in turn.votes):
                turns.append(turn)
                continue
            left_out += sum(1 for v in turn.votes if v.sighted and not v.repeat)
            responses = {
                lane_id: replace(resp, ratings=[r for r in resp.ratings if r.rater not in sighted])
                for lane_id, resp in turn.responses.items()
            }
            votes = [v for v in turn.votes if not v.sighted and not (v.repeat and v.rater in sighted)]
            turns.append(replace(turn, votes=votes, responses=responses))
        out.append(replace(session, turns=turns))
    return out, left_out
