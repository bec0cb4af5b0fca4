"""The rating queue: a study's comparisons rated later, blind, one at a time, by one rater.

A :class:`RatingQueue` holds the comparisons its rater has not voted on yet, in the
order :mod:`chatlab.core.studies.queue_plan` gives for the study's seed and the rater's id (the
same prompt never twice in a row; each contender in each screen position about equally
often; optional hidden repeats), so a queue closed halfway resumes where it was. The id
is random (see :mod:`chatlab.core.settings.raters`): a study's seed and a rater's name are not
enough to work out their queue. Each item shows only the prompt and the answers, as
Model A, B, C…: what the queue hands a view (:class:`Shown`) carries no lane, model,
token, cost or timing, so a view can't leak what it never had; reasoning only when the
comparison shows it (:attr:`Session.show_reasoning`), and then every answer's alike: its
text, or "reasoning not shown" (:func:`chatlab.core.lab.blind.shown_reasoning`). A vote records
the choice (a lane, ``tie`` or ``all_bad``), the optional guess of which answers
reasoned, optional 1–5 scores and notes, the order this rater saw, and the seconds from
the answers appearing to the vote. A score or note the rater gave an answer before (in
the main window, then marked the turn "rate later") is shown with it, so a vote changes
it only where the rater does; :meth:`RatingQueue.undo` takes the last vote back and puts
each rating it changed back exactly as it was (or takes it away, if there was none).
Identities are revealed after each vote or only at the end (``reveal``), as the study
says.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from chatlab.core.data.kinds import contender_kind
from chatlab.core.data.model import Grade, Lane, Session, Status, Turn
from chatlab.core.data.safety import clean_text
from chatlab.core.data.votes import Rating, Vote
from chatlab.core.lab.blind import guess_truth, letter, reasoned, shown_reasoning
from chatlab.core.studies.queue_plan import Item, Slot, plan, remaining

MAX_NOTE = 4000
MAX_RATER = 200  # what the session document allows
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # a note keeps its line breaks and tabs
CHOICES = ("tie", "all_bad")


class RatingError(Exception):
    """A vote the queue can't take (one line, for the status bar)."""


class VoteSink(Protocol):
    """Where votes go (the store); core never imports it."""

    def judge(self, turn_id: str, vote: Vote, ratings: Sequence[tuple[str, Rating]] = ()) -> None: ...
    def unvote(
        self,
        turn_id: str,
        rater: str,
        repeat: bool = False,
        ratings: Sequence[str] = (),
        restore: Sequence[tuple[str, Rating]] = (),
    ) -> None: ...


@dataclass(frozen=True)
class Answer:
    """One answer as the rater sees it: a letter and the text, and this rater's own
    score and note of it from before (none on a hidden repeat, which must look new)."""

    letter: str
    text: str
    score: int | None = None
    note: str = ""
    reasoning: str | None = None  # shown reasoning (see Shown.show_reasoning); None: not shown


@dataclass(frozen=True)
class Shown:
    """What a view may show of the current item."""

    prompt: str
    answers: tuple[Answer, ...]
    number: int  # 1-based place in this sitting's queue
    sighted: bool = False  # this rater saw its names (an unblinded export): the vote is sighted
    # Each answer's reasoning is on show (its text, or "reasoning not shown"), and the
    # guess asks which was trained to reason.
    show_reasoning: bool = False


@dataclass
class QueueItem:
    slot: Slot
    session: Session
    lanes: tuple[str, ...]  # lane ids in screen order (never given to a view)

    @property
    def turn(self) -> Turn:
        return self.session.turns[0]

    @property
    def repeat(self) -> bool:
        return self.slot.repeat


@dataclass(frozen=True)
class RevealRow:
    """After the vote (or at the end): who a letter was."""

    letter: str
    name: str
    reasoned: bool
    chosen: bool
    guessed: bool
    truth: bool  # what the guess is judged against (see blind.guess_truth)
    kind: str = ""  # native, prompted or plain (chatlab.core.data.kinds); "": not known
    grade: Grade | None = None  # the answer key's grade (a keyed prompt); shown only now


@dataclass(frozen=True)
class Standing:
    """At the end of a queue: one contender's record in this rater's votes."""

    name: str
    shown: int
    wins: int
    ties: int
    guessed_reasoned: int
    reasoned: int
    # Of the votes that came with a reasoning guess (``guesses``), how many called this
    # contender right: marked when it reasoned, unmarked when it did not (the truth of
    # blind.guess_truth: "trained to reason?" where the reasoning was on show).
    guesses: int = 0
    guesses_right: int = 0


@dataclass(frozen=True)
class GuessRecord:
    """At the end of a queue: this rater's reasoning guesses, counted plainly (``items``
    guessed, ``right`` where every answer was called right)."""

    items: int
    right: int


def contenders(session: Session) -> list[str]:
    """The lanes of a comparison with an answer to judge (a failed lane has none)."""
    turn = session.turns[0]
    return [
        lane.id
        for lane in session.lanes
        if lane.id in turn.responses
        and turn.responses[lane.id].status.finished
        and not turn.responses[lane.id].failed
    ]


NOT_ONE_TURN = "not one prompt with its answers"
STILL_ANSWERING = "not answered yet"
CUT_OFF = "with an answer cut off or stopped"
NO_ANSWER = "with no answer to judge"
TO_RETRY = "with an answer to send again (study resume)"
ONE_ANSWER = "with one answer only (the others failed)"


def not_ready(session: Session) -> str | None:
    """Why this comparison is not rated yet (None: it is ready). Every lane must have its
    final answer (or, in a study, have failed for good, with two answers or more to
    compare) and at least one must have answered: a
    comparison still being answered, or stopped half-way, is not rated yet (the answer
    that arrives first would say which model is quick). The one rule for the owner's
    queue and for a rating pack (:mod:`chatlab.core.studies.packs`)."""
    if len(session.turns) != 1:
        return NOT_ONE_TURN
    turn = session.turns[0]
    statuses = [
        turn.responses[lane.id].status if lane.id in turn.responses else None for lane in session.lanes
    ]
    if any(s is None or not s.finished for s in statuses):
        return STILL_ANSWERING
    final = (Status.OK, Status.ERROR)  # an error was tried again already; cut off or stopped is not final
    if any(s not in final for s in statuses):
        return CUT_OFF
    answered = contenders(session)
    if session.study is not None:
        from chatlab.core.studies.study import unit_state

        # A study's unit that failed in a way worth another try is sent again on resume:
        # until then the comparison is not complete, and the answers there are would
        # say which lane failed.
        if any(unit_state(turn.responses.get(lane.id)) == "transient" for lane in session.lanes):
            return TO_RETRY
        # One answer is no comparison, and says whose it is to anyone who knows which
        # lane failed.
        if len(answered) == 1:
            return ONE_ANSWER
    return None if answered else NO_ANSWER


def rateable(session: Session) -> bool:
    """Whether this comparison goes into a rating queue (see :func:`not_ready`)."""
    return not_ready(session) is None


class RatingQueue:
    def __init__(
        self,
        sessions: Sequence[Session],
        rater: str,
        *,
        seed: int = 0,
        repeats: float = 0.0,
        reveal: str = "end",
        sink: VoteSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        complete: bool = True,
        sighted: Collection[str] = (),
    ) -> None:
        """``sighted``: turns whose names this rater has seen (the store's
        ``sighted_turns``): votes on them are stored as sighted, and the view says so
        before the vote, not after."""
        if not rater.strip() or len(rater) > MAX_RATER:
            raise RatingError(f"a rater id is 1 to {MAX_RATER} characters")
        self.rater = rater
        self.sighted = set(sighted)
        self.reveal_policy = reveal
        self.sink = sink
        self.clock = clock
        # Names are shown at the end only once the study is complete: while comparisons
        # are still being answered, the rater will see more of them later.
        self.complete = complete and all(rateable(s) for s in sessions)
        # A rating pack from someone else: the names are with the study's owner.
        self.from_pack = any(lane.provider == "blind" for s in sessions for lane in s.lanes)
        self.sessions = {s.turns[0].id: s for s in sessions if rateable(s)}
        items = []
        for turn_id, session in self.sessions.items():
            ids = contenders(session)
            # A contender is a lane's place in the suite, the same in every comparison,
            # so positions balance across the study, not within one comparison.
            index = {lane.id: str(i) for i, lane in enumerate(session.lanes)}
            group = session.study.prompt_id if session.study else session.id
            items.append(Item(turn_id, group, tuple(index[i] for i in ids)))
        self.plan = plan(items, seed=seed, rater=rater, repeats=repeats)
        done = {
            (t.id, v.repeat)
            for s in self.sessions.values()
            for t in s.turns
            for v in t.votes
            if v.rater == rater
        }
        self.items = [self._item(slot) for slot in remaining(self.plan, done)]
        self.total = len(self.plan)
        self.rated_before = self.total - len(self.items)
        self.position = 0
        self._voted: list[tuple[QueueItem, Vote]] = []
        # The ratings each vote wrote: (lane, the new one, the rater's one before or None).
        self._changed: dict[tuple[str, bool], list[tuple[str, Rating, Rating | None]]] = {}
        self.undone: dict[str, Rating] = {}  # the last undone vote's scores and notes, by lane
        self._shown_at: float | None = None
        self._durations: list[float] = []

    def _item(self, slot: Slot) -> QueueItem:
        session = self.sessions[slot.key]
        by_index = {str(i): lane.id for i, lane in enumerate(session.lanes)}
        return QueueItem(slot, session, tuple(by_index[c] for c in slot.shown))

    # -- where the rater is --------------------------------------------------------------

    @property
    def current(self) -> QueueItem | None:
        return self.items[self.position] if self.position < len(self.items) else None

    @property
    def finished(self) -> bool:
        return self.position >= len(self.items)

    @property
    def rated(self) -> int:
        return self.rated_before + self.position

    def shown(self) -> Shown | None:
        """The current item as a view may show it; starts its vote clock."""
        item = self.current
        if item is None:
            return None
        if self._shown_at is None:
            self._shown_at = self.clock()
        turn = item.turn
        answers = []
        for i, lane_id in enumerate(item.lanes):
            resp = turn.responses[lane_id]
            mine = None if item.repeat else resp.rating_of(self.rater)
            answers.append(
                Answer(
                    letter(i),
                    resp.text,
                    mine.score if mine else None,
                    mine.note if mine else "",
                    shown_reasoning(resp) if item.session.show_reasoning else None,
                )
            )
        shows = item.session.show_reasoning
        return Shown(turn.prompt, tuple(answers), self.position + 1, turn.id in self.sighted, shows)

    def seconds_left(self) -> float | None:
        """At this rater's pace in this sitting (the median time per vote), what is left."""
        if not self._durations:
            return None
        ordered = sorted(self._durations)
        median = ordered[len(ordered) // 2]
        return median * (len(self.items) - self.position)

    def progress_text(self) -> str:
        from chatlab.core.data import format as fmt

        text = f"{self.rated} of {self.total} rated"
        left = self.seconds_left()
        if left is not None and not self.finished:
            text += f" · about {fmt.duration(left)} left at your pace"
        return text

    # -- voting --------------------------------------------------------------------------

    def lane_at(self, letter_index: int) -> str:
        item = self.current
        if item is None or not 0 <= letter_index < len(item.lanes):
            raise RatingError("no answer there")
        return item.lanes[letter_index]

    def vote(
        self,
        choice: str | int,
        guessed: Iterable[int] | None = None,
        scores: Mapping[int, int] | None = None,
        notes: Mapping[int, str] | None = None,
    ) -> Vote:
        """Vote on the current item: ``choice`` is a screen position (0 = Model A), or
        ``tie`` / ``all_bad``; ``guessed`` the positions thought to have reasoned (None:
        no guess); ``scores`` and ``notes`` by position. Moves to the next item."""
        item = self.current
        if item is None:
            raise RatingError("the queue is done")
        if isinstance(choice, bool) or not isinstance(choice, int | str):
            raise RatingError("a vote is an answer's place, a tie or all bad")
        if isinstance(choice, int):
            lane_choice = self.lane_at(choice)
        elif choice in CHOICES:
            if choice == "tie" and len(item.lanes) < 2:
                raise RatingError("a tie needs two answers")
            lane_choice = choice
        else:
            raise RatingError("a vote is an answer's place, a tie or all bad")
        guess = None if guessed is None else sorted({self.lane_at(i) for i in guessed}, key=item.lanes.index)
        ratings: list[tuple[str, Rating]] = []
        for place in sorted({*(scores or {}), *(notes or {})}):
            score = (scores or {}).get(place)
            if score is not None and (
                isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5
            ):
                raise RatingError("a score is a whole number from 1 to 5")
            note = _CONTROLS.sub("", clean_text((notes or {}).get(place, ""))).strip()[:MAX_NOTE]
            if score is None and not note:
                continue
            ratings.append((self.lane_at(place), Rating(score=score, note=note, rater=self.rater)))
        if not item.repeat:
            # A card that showed this rater's earlier score or note and comes back with
            # neither was cleared: the rating is taken away (an empty rating is none).
            given = {lane_id for lane_id, _ in ratings}
            for lane_id in item.lanes:
                if lane_id not in given and item.turn.responses[lane_id].rating_of(self.rater) is not None:
                    ratings.append((lane_id, Rating(score=None, note="", rater=self.rater)))
        now = self.clock()
        took = None if self._shown_at is None else max(0.0, now - self._shown_at)
        vote = Vote(
            choice=lane_choice,
            guessed=guess,
            rater=self.rater,
            shown_order=list(item.lanes),
            seconds_to_vote=None if took is None else round(took, 3),
            repeat=item.repeat,
        )
        changed: list[tuple[str, Rating, Rating | None]] = []
        for lane_id, rating in ratings:
            before = item.turn.responses[lane_id].rating_of(self.rater)
            if before is not None and item.repeat:
                # A repeat's vote is a vote of its own; a score or note given on it is
                # kept only where the rater has none yet for that answer (the first stands).
                continue
            if before is not None and (before.score, before.note) == (rating.score, rating.note):
                continue  # shown on the card and left as it was: it stays, with its time
            changed.append((lane_id, rating, before))
        if self.sink is not None:
            # all or nothing, before memory changes
            self.sink.judge(item.turn.id, vote, [(lane_id, new) for lane_id, new, _ in changed])
        item.turn.cast(vote)
        for lane_id, rating, _ in changed:
            resp = item.turn.responses[lane_id]
            if rating.score is None and not rating.note:
                resp.ratings = [r for r in resp.ratings if r.rater != self.rater]
            else:
                resp.rate(rating)
        self._changed[(item.turn.id, vote.repeat)] = changed
        self._voted.append((item, vote))
        if took is not None:
            self._durations.append(took)
        self.position += 1
        self._shown_at = None
        return vote

    def undo(self) -> QueueItem | None:
        """Take back the last vote of this sitting and go back to its item."""
        if not self._voted:
            return None
        item, vote = self._voted[-1]
        changed = self._changed.get((item.turn.id, vote.repeat), [])
        if self.sink is not None:
            # One transaction: the vote goes, each rating it wrote goes or is put back.
            self.sink.unvote(
                item.turn.id,
                self.rater,
                vote.repeat,
                [lane_id for lane_id, _, before in changed if before is None],
                [(lane_id, before) for lane_id, _, before in changed if before is not None],
            )
        self._voted.pop()
        self._changed.pop((item.turn.id, vote.repeat), None)
        # What the vote's cards said, for a view to show again: undo takes the vote back,
        # not the work of scoring and noting (Enter saves them again with the new vote).
        self.undone = {lane_id: new for lane_id, new, _ in changed}
        item.turn.votes = [
            v for v in item.turn.votes if not (v.rater == self.rater and v.repeat == vote.repeat)
        ]
        for lane_id, _, before in changed:
            resp = item.turn.responses[lane_id]
            if before is None:
                resp.ratings = [r for r in resp.ratings if r.rater != self.rater]
            else:
                resp.rate(before)
        self.position -= 1
        if self._durations and vote.seconds_to_vote is not None:
            self._durations.pop()
        self._shown_at = None
        return item

    # -- revealing -----------------------------------------------------------------------

    def reveal(self, item: QueueItem, vote: Vote) -> list[RevealRow]:
        """Who each letter was in ``item`` (after its vote, when the policy allows)."""
        turn = item.turn
        guessed = set(vote.guessed or [])
        return [
            RevealRow(
                letter(i),
                item.session.lane(lane_id).display,
                reasoned(turn.responses[lane_id]),
                vote.choice == lane_id,
                lane_id in guessed,
                guess_truth(item.session, lane_id, turn.responses[lane_id]),
                self.kind(item.session.lane(lane_id)),
                turn.responses[lane_id].grade_by("key"),
            )
            for i, lane_id in enumerate(item.lanes)
        ]

    def kind(self, lane: Lane) -> str:
        """The contender's kind, from every answer of its model and settings in this queue
        (a reasoner that happened not to reason on this prompt is still one); "" for a
        rating pack, whose lanes carry no model, parameters or reasoning to tell it by."""
        if self.from_pack:
            return ""
        answers = [
            turn.responses[other.id]
            for session in self.sessions.values()
            for turn in session.turns
            for other in session.lanes
            if (other.provider, other.model, other.params) == (lane.provider, lane.model, lane.params)
            and other.id in turn.responses
        ]
        return contender_kind(lane, answers)

    @property
    def last(self) -> tuple[QueueItem, Vote] | None:
        return self._voted[-1] if self._voted else None

    @property
    def can_reveal(self) -> bool:
        """Whether names may be shown at the end of this queue."""
        return self.finished and self.complete and not self.from_pack

    def standings(self) -> list[Standing]:
        """At the end: each contender (by its place in the study) in this rater's votes;
        nothing before the names may be shown (see :attr:`can_reveal`)."""
        if not self.can_reveal:
            return []
        rows: dict[int, list[int]] = {}
        names: dict[int, str] = {}
        for session in self.sessions.values():
            turn = session.turns[0]
            vote = turn.vote_of(self.rater)
            if vote is None:
                continue
            for i, lane in enumerate(session.lanes):
                if lane.id not in (vote.shown_order or []):
                    continue
                names.setdefault(i, lane.display)
                row = rows.setdefault(i, [0, 0, 0, 0, 0, 0, 0])
                resp = turn.responses[lane.id]
                row[0] += 1
                row[1] += vote.choice == lane.id
                row[2] += vote.choice == "tie"
                row[3] += lane.id in (vote.guessed or [])
                row[4] += reasoned(resp)
                if vote.guessed is not None:
                    row[5] += 1
                    row[6] += (lane.id in vote.guessed) == guess_truth(session, lane.id, resp)
        return [Standing(names[i], *rows[i]) for i in sorted(rows)]

    def guess_record(self) -> GuessRecord | None:
        """At the end: how many of this rater's votes came with a reasoning guess, and in
        how many every answer shown was called right; None before the names may be shown."""
        if not self.can_reveal:
            return None
        items = right = 0
        for session in self.sessions.values():
            turn = session.turns[0]
            vote = turn.vote_of(self.rater)
            if vote is None or vote.guessed is None:
                continue
            shown = [x for x in vote.shown_order or [] if x in turn.responses]
            items += 1
            right += all((x in vote.guessed) == guess_truth(session, x, turn.responses[x]) for x in shown)
        return GuessRecord(items, right)
