"""The session model: a session has lanes (one model each) and turns (one prompt each).

A turn holds one :class:`Response` per lane. A response accumulates a stream's events:
text and reasoning are appended to lists and joined once when read, so the cost of a
response stays linear in its length. Each lane keeps its own history: the messages of a
follow-up turn are built from that lane's earlier prompts and answers only. Votes and
ratings are in :mod:`chatlab.core.data.votes`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chatlab.core.data.constants import EFFORTS, REASONING_LEVELS, THINK_MODES
from chatlab.core.data.events import ErrorKind, StreamError, Usage
from chatlab.core.data.price import Price as Price  # re-exported: sessions and prices were one module
from chatlab.core.data.stamps import new_id, utc_now
from chatlab.core.data.votes import Rating, Vote


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (Status.QUEUED, Status.RUNNING)


MAX_TOKENS = 2**53  # what every count in a saved session may be (the schema's bound)


@dataclass(frozen=True)
class LaneParams:
    """Per-lane request parameters; ``None`` means "the provider's default"."""

    system: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    # "prompted": the prompted-reasoning control. The lane's model is asked, by a shipped
    # instruction, to think inside <think>…</think> before answering; that thinking goes
    # to the reasoning pane and is counted as (estimated) reasoning.
    think: str | None = None
    # The one reasoning knob, the same for every provider: "off", "low", "medium", "high"
    # or a token budget. Each adapter sends what its API takes for it (see
    # chatlab.core.settings.reasoning); ``reasoning_effort`` and ``thinking_budget`` are
    # the older, provider-specific way, still honoured, but not together with this.
    reasoning: str | int | None = None

    def validate(self) -> None:
        for name, kinds in (
            ("system", (str,)),
            ("temperature", (int, float)),
            ("max_output_tokens", (int,)),
            ("reasoning_effort", (str,)),
            ("thinking_budget", (int,)),
            ("think", (str,)),
            ("reasoning", (str, int)),
        ):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
                raise ValueError(f"{name.replace('_', ' ')} has the wrong type ({type(value).__name__})")
        for name in ("max_output_tokens", "thinking_budget"):
            value = getattr(self, name)
            if value is not None and value > MAX_TOKENS:
                raise ValueError(f"{name.replace('_', ' ')} must be at most {MAX_TOKENS:,}")
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, got {self.temperature}")
        if self.max_output_tokens is not None and self.max_output_tokens < 1:
            raise ValueError("max output tokens must be at least 1")
        if self.reasoning_effort is not None and self.reasoning_effort not in EFFORTS:
            raise ValueError(f"reasoning effort must be one of {', '.join(EFFORTS)}")
        if self.think is not None and self.think not in THINK_MODES:
            raise ValueError(f"think must be one of {', '.join(THINK_MODES)}, got {self.think!r}")
        if self.thinking_budget is not None and self.thinking_budget < 0:
            raise ValueError("thinking budget must not be negative")
        r = self.reasoning
        if isinstance(r, str) and r not in REASONING_LEVELS:
            raise ValueError(f"reasoning must be {', '.join(REASONING_LEVELS)} or a token budget, got {r!r}")
        if isinstance(r, int) and r < 1:
            raise ValueError('a reasoning budget is a number of tokens, at least 1 (use reasoning = "off")')
        if isinstance(r, int) and r > MAX_TOKENS:
            raise ValueError(f"a reasoning budget is at most {MAX_TOKENS:,} tokens")
        if r is not None and (self.reasoning_effort is not None or self.thinking_budget is not None):
            raise ValueError("set reasoning, or the older reasoning effort / thinking budget, not both")
        if r not in (None, "off") and self.think is not None:
            raise ValueError('a lane asked to think first (think = "prompted") has its own reasoning off')

    @property
    def reasoning_asked(self) -> bool | None:
        """True: the lane asks its model to reason (a level, a budget, an effort other than
        none, a thinking budget); False: it turns reasoning off; None: it says nothing
        (the model's default)."""
        if self.reasoning is not None:
            return self.reasoning != "off"
        if self.reasoning_effort == "none" or self.thinking_budget == 0:
            return False
        if self.reasoning_effort is not None or self.thinking_budget:
            return True
        return None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LaneParams:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class Lane:
    provider: str
    model: str
    params: LaneParams = field(default_factory=LaneParams)
    label: str = ""
    id: str = field(default_factory=new_id)
    # A study's placebo twin: the suite's first lane run a second time, under its own
    # blind identity, so the gap between the two copies measures noise. Set only by
    # :func:`chatlab.core.studies.study.comparisons` (and read back from the store or an export);
    # never inferred from the label, which is the user's to choose.
    placebo: bool = field(default=False, kw_only=True)

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def display(self) -> str:
        return self.label or self.spec


@dataclass
class Timing:
    """When a response started, got its first token and ended, and what that gives.

    Live, it holds ``time.monotonic()`` readings. A saved response reopened later has no
    such readings (monotonic clocks don't survive a restart): it holds the figures that
    were recorded (``recorded``), and answers the same questions from them. Views,
    the CLI and the export all ask these properties, never the raw readings.
    """

    started: float | None = None  # the request's first attempt: ``duration_s`` runs from here
    first_token: float | None = None
    ended: float | None = None
    recorded: dict[str, float | None] | None = None  # ttft_s, duration_s, output_tokens_per_s, wait_s
    attempt: float | None = None  # the answering attempt's start (after retries): ``ttft_s`` runs from here
    waited: float = 0.0  # seconds spent waiting to send again (in ``duration_s``)

    @property
    def ttft_s(self) -> float | None:
        """From the answering attempt's start to its first token (retries' time is not
        the model's)."""
        if self.recorded is not None:
            return self.recorded.get("ttft_s")
        start = self.attempt if self.attempt is not None else self.started
        if start is None or self.first_token is None:
            return None
        return self.first_token - start

    @property
    def wait_s(self) -> float | None:
        """Seconds spent waiting to send again, over every retry (None: none recorded)."""
        if self.recorded is not None:
            return self.recorded.get("wait_s")
        return self.waited

    @property
    def finished(self) -> bool:
        return self.recorded is not None or self.ended is not None

    def duration_s(self, now: float | None = None) -> float | None:
        if self.recorded is not None:
            return self.recorded.get("duration_s")
        if self.started is None:
            return None
        end = self.ended if self.ended is not None else (now if now is not None else time.monotonic())
        return end - self.started

    def tokens_per_s(self, output_tokens: int, now: float | None = None) -> float | None:
        """Output tokens per second of generation, from the first token to the end."""
        if self.recorded is not None:
            return self.recorded.get("output_tokens_per_s")
        if self.first_token is None or output_tokens <= 0:
            return None
        end = self.ended if self.ended is not None else (now if now is not None else time.monotonic())
        span = end - self.first_token
        # Under a millisecond the whole answer arrived at once (a server that did not
        # stream): a rate would be a meaningless, huge number.
        rate = output_tokens / span if span >= 0.001 else None
        # Above a billion tokens a second the counts, not the model, are wrong.
        return rate if rate is not None and rate <= 1e9 else None

    def to_dict(self, tokens_per_s: float | None) -> dict[str, float | None]:
        """The figures to keep (durations, not clock readings); ``tokens_per_s`` is the
        response's, which knows what to count."""
        if self.recorded is not None:
            return dict(self.recorded)
        out = {
            "ttft_s": _round(self.ttft_s),
            "duration_s": _round(self.duration_s()) if self.finished else None,
            "output_tokens_per_s": _round(tokens_per_s) if self.finished else None,
        }
        if self.waited:
            out["wait_s"] = _round(self.waited)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Timing:
        keys = ("ttft_s", "duration_s", "output_tokens_per_s")
        recorded = {k: (d or {}).get(k) for k in keys}
        if (d or {}).get("wait_s") is not None:
            recorded["wait_s"] = (d or {})["wait_s"]
        return cls(recorded=recorded)


@dataclass
class ErrorInfo:
    kind: ErrorKind
    message: str
    status_code: int | None = None
    retry_after_s: float | None = None

    @classmethod
    def from_event(cls, ev: StreamError) -> ErrorInfo:
        return cls(ev.kind, ev.message, ev.status_code, ev.retry_after_s)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "message": self.message}
        if self.status_code is not None:
            out["status_code"] = self.status_code
        if self.retry_after_s is not None:
            out["retry_after_s"] = self.retry_after_s
        return out


@dataclass(frozen=True)
class RetryWait:
    """A lane waiting to send again after a transient failure (attempt ``n`` of ``of``)."""

    error: ErrorInfo
    n: int
    of: int
    until: float  # time.monotonic() when the next attempt goes out


MAX_GRADE_DETAIL = 500  # a grade's detail is a line, never an echo of a long answer


@dataclass(frozen=True)
class Grade:
    """An answer checked by ``grader`` (``"key"``: a suite prompt's answer key, by code,
    no model involved): right or wrong, and one line on why ("expected 42, found 41")."""

    correct: bool
    detail: str
    grader: str = "key"

    def to_dict(self) -> dict[str, Any]:
        return {"grader": self.grader, "correct": self.correct, "detail": self.detail}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grade:
        return cls(bool(d["correct"]), str(d.get("detail") or "")[:MAX_GRADE_DETAIL], str(d["grader"]))


@dataclass
class Response:
    lane_id: str
    status: Status = Status.QUEUED
    reasoning_parts: list[str] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    refusal: bool = False
    error: ErrorInfo | None = None
    usage: Usage = field(default_factory=lambda: Usage(estimated=True))
    cost_usd: float | None = None
    cost_reported: bool = False
    price: Price | None = None
    timing: Timing = field(default_factory=Timing)
    finish_reason: str | None = None
    reasoning_chars: int = 0
    text_chars: int = 0
    # One rating per rater (see :attr:`rating` for the live window's own).
    ratings: list[Rating] = field(default_factory=list)
    # What chatlab corrected or dropped (usage out of range, a final text that differed).
    notes: list[str] = field(default_factory=list)
    # The failed attempts that were sent again: each error's dict plus "waited_s".
    retries: list[dict[str, Any]] = field(default_factory=list)
    retry: RetryWait | None = None  # set while waiting to send again
    cost_refused: bool = False  # refused before anything was generated: cost 0, nothing billed
    revisions: int = 0  # how often the text was replaced (views re-render when it changes)
    # Checks of the answer text (one per grader); a study grades each finished answer of a
    # keyed prompt at once. Like every side channel, hidden in a blind turn until its vote.
    grades: list[Grade] = field(default_factory=list)

    def grade_by(self, grader: str) -> Grade | None:
        return next((g for g in self.grades if g.grader == grader), None)

    def set_grade(self, grade: Grade | None, grader: str = "key") -> None:
        """Replace ``grader``'s grade with ``grade`` (None: take it away)."""
        self.grades = [g for g in self.grades if g.grader != grader] + ([grade] if grade else [])

    @property
    def rating(self) -> Rating | None:
        """The first rater's rating (in the window, the person at it; one per rater)."""
        return self.ratings[0] if self.ratings else None

    @rating.setter
    def rating(self, value: Rating | None) -> None:
        if value is None:
            self.ratings.clear()
            return
        self.rate(value)

    def rate(self, rating: Rating) -> None:
        """Set ``rating.rater``'s rating, replacing their earlier one."""
        for i, old in enumerate(self.ratings):
            if old.rater == rating.rater:
                self.ratings[i] = rating
                return
        self.ratings.append(rating)

    def rating_of(self, rater: str) -> Rating | None:
        return next((r for r in self.ratings if r.rater == rater), None)

    def revise(self, text: str, reasoning: bool = False) -> None:
        """Replace the whole answer (or reasoning) with the provider's final word."""
        parts = self.reasoning_parts if reasoning else self.text_parts
        parts.clear()
        parts.append(text)
        if reasoning:
            self.reasoning_chars = len(text)
        else:
            self.text_chars = len(text)
        self.revisions += 1

    # The parts lists only ever grow while streaming (views keep an index into them), so
    # the joined text is built on demand: at the end of a stream, for export, for history.
    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def failed(self) -> bool:
        """Finished with nothing to judge: refused or broken off before any answer text."""
        return self.status is Status.ERROR or (
            self.status.finished and self.status is not Status.OK and not self.text
        )

    @property
    def hidden_reasoning(self) -> bool:
        """The provider reasoned but returned no reasoning text (count only)."""
        return self.usage.reasoning_tokens > 0 and self.reasoning_chars == 0 and not self.usage.estimated

    def tokens_per_s(self, now: float | None = None) -> float | None:
        """Output tokens per second after the first token. Hidden reasoning was generated
        before the first visible token, so it is left out of the count."""
        streamed = self.usage.output_tokens
        if self.hidden_reasoning:
            streamed -= self.usage.reasoning_tokens
        return self.timing.tokens_per_s(streamed, now)

    def timing_dict(self) -> dict[str, float | None]:
        return self.timing.to_dict(self.tokens_per_s())

    def to_dict(self) -> dict[str, Any]:
        return {
            "lane_id": self.lane_id,
            "status": self.status.value,
            "reasoning": self.reasoning,
            "text": self.text,
            "refusal": self.refusal,
            "hidden_reasoning": self.hidden_reasoning,
            "error": self.error.to_dict() if self.error else None,
            "usage": self.usage.to_dict(),
            "cost_usd": self.cost_usd,
            "cost_source": self.cost_source,
            "price": self.price.to_dict() if self.price else None,
            "timing": self.timing_dict(),
            "finish_reason": self.finish_reason,
            "ratings": [r.to_dict() for r in self.ratings],
            "notes": list(self.notes),
            "retries": [dict(r) for r in self.retries],
            **({"grades": [g.to_dict() for g in self.grades]} if self.grades else {}),
        }

    @property
    def cost_source(self) -> str | None:
        """Where ``cost_usd`` came from: ``provider``, ``price``, ``refused`` or None (no price)."""
        if self.cost_reported:
            return "provider"
        if self.cost_refused:
            return "refused"
        return "price" if self.price and self.cost_usd is not None else None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Response:
        """The inverse of :meth:`to_dict` (for the store and for import)."""
        err = d.get("error")
        price = d.get("price")
        usage = d.get("usage") or {}
        resp = cls(
            lane_id=d["lane_id"],
            status=Status(d["status"]),
            reasoning_parts=[d["reasoning"]] if d.get("reasoning") else [],
            text_parts=[d["text"]] if d.get("text") else [],
            refusal=bool(d.get("refusal", False)),
            error=ErrorInfo(
                ErrorKind(err["kind"]), err["message"], err.get("status_code"), err.get("retry_after_s")
            )
            if err
            else None,
            usage=Usage(**{k: v for k, v in usage.items() if k in Usage.__dataclass_fields__}),
            cost_usd=d.get("cost_usd"),
            cost_reported=d.get("cost_source") == "provider",
            cost_refused=d.get("cost_source") == "refused",
            price=Price.from_dict(price) if price else None,
            finish_reason=d.get("finish_reason"),
            ratings=[Rating.from_dict(r) for r in d["ratings"]]
            if d.get("ratings")
            else [Rating.from_dict(d["rating"])]
            if d.get("rating")
            else [],
            timing=Timing.from_dict(d.get("timing")),
            notes=list(d.get("notes") or []),
            retries=[dict(r) for r in d.get("retries") or []],
            grades=[Grade.from_dict(g) for g in d.get("grades") or []],
        )
        resp.reasoning_chars = len(d.get("reasoning") or "")
        resp.text_chars = len(d.get("text") or "")
        return resp


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 6)  # microseconds: a reopened figure reads as it did live


@dataclass
class Turn:
    prompt: str
    id: str = field(default_factory=new_id)
    created_at: str = field(default_factory=utc_now)
    responses: dict[str, Response] = field(default_factory=dict)
    shown_order: list[str] | None = None  # blind mode: lane ids in the order shown
    votes: list[Vote] = field(default_factory=list)  # one per (rater, repeat)
    to_rate: bool = False  # marked for the blind rating queue (rate later)

    @property
    def vote(self) -> Vote | None:
        """The first rater's vote (in the window, the person at it), never a repeat."""
        return next((v for v in self.votes if not v.repeat), None)

    @vote.setter
    def vote(self, value: Vote | None) -> None:
        if value is None:  # the answers judged are being replaced: every judgement goes
            self.votes.clear()
            return
        self.cast(value)

    def cast(self, vote: Vote) -> None:
        """Set ``vote.rater``'s vote (or repeat vote), replacing their earlier one."""
        for i, old in enumerate(self.votes):
            if old.rater == vote.rater and old.repeat == vote.repeat:
                self.votes[i] = vote
                return
        self.votes.append(vote)

    def vote_of(self, rater: str, repeat: bool = False) -> Vote | None:
        return next((v for v in self.votes if v.rater == rater and v.repeat == repeat), None)


@dataclass
class Message:
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True)
class StudyRef:
    """Where a study comparison comes from: its study, the suite prompt, which sample."""

    id: str
    name: str
    prompt_id: str
    sample: int
    tags: tuple[str, ...] = ()
    # The study's rating design, carried by a rating pack to other raters' chatlabs.
    reveal: str | None = None
    repeats: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "prompt_id": self.prompt_id,
            "sample": self.sample,
            "tags": list(self.tags),
        }
        if self.reveal is not None:
            out["reveal"] = self.reveal
        if self.repeats is not None:
            out["repeats"] = self.repeats
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudyRef:
        return cls(
            d["id"],
            d["name"],
            d["prompt_id"],
            int(d["sample"]),
            tuple(d.get("tags") or ()),
            d.get("reveal"),
            None if d.get("repeats") is None else float(d["repeats"]),
        )


@dataclass
class Session:
    """Lanes (the models being compared now), turns, and ``retired`` lanes: lanes that
    wrote answers and were then removed or changed. A retired lane keeps its answers, so
    history always says who wrote what; it takes no part in new turns."""

    lanes: list[Lane] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    title: str = ""
    id: str = field(default_factory=new_id)
    created_at: str = field(default_factory=utc_now)
    blind: bool = False
    retired: list[Lane] = field(default_factory=list)
    study: StudyRef | None = None  # a study comparison: one turn, never followed up
    # Blind, with each lane's reasoning shown while masked (alike for every lane: see
    # chatlab.core.lab.blind.shown_reasoning), so the guess is about the thinking.
    show_reasoning: bool = False

    def lane(self, lane_id: str) -> Lane:
        for lane in (*self.lanes, *self.retired):
            if lane.id == lane_id:
                return lane
        raise KeyError(lane_id)

    def has_history(self, lane_id: str) -> bool:
        """True if the lane has a response in any turn."""
        return any(lane_id in turn.responses for turn in self.turns)

    def retire(self, lane: Lane) -> None:
        """Take ``lane`` out of the comparison; its answers stay attributed to it."""
        self.lanes = [x for x in self.lanes if x.id != lane.id]
        if self.has_history(lane.id) and all(x.id != lane.id for x in self.retired):
            self.retired.append(lane)

    def new_turn(self, prompt: str) -> Turn:
        if not self.title:
            self.title = " ".join(prompt.split())[:80]
        turn = Turn(prompt=prompt)
        for lane in self.lanes:
            turn.responses[lane.id] = Response(lane_id=lane.id)
        self.turns.append(turn)
        return turn

    def history(self, lane_id: str, upto: Turn) -> list[Message]:
        """The lane's own conversation before ``upto``, then ``upto``'s prompt.

        A turn in which the lane produced no answer text contributes nothing, so the
        alternation of user and assistant messages is never broken.
        """
        messages: list[Message] = []
        for turn in self.turns:
            if turn is upto:
                break
            resp = turn.responses.get(lane_id)
            if resp is None or not resp.text:
                continue
            messages.append(Message("user", turn.prompt))
            messages.append(Message("assistant", resp.text))
        messages.append(Message("user", upto.prompt))
        return messages


@dataclass(frozen=True)
class ResponseSchema:
    """A JSON Schema the answer should follow (structured output, sent only where the API
    takes one), named as OpenAI requires: 1–64 letters, digits, ``_`` or ``-``."""

    name: str
    schema: dict[str, Any]

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.name):
            raise ValueError(f"a response schema's name is 1 to 64 letters, digits, _ or -: {self.name!r}")


@dataclass(frozen=True)
class Request:
    """What an adapter is asked to send: one lane's model, history and parameters, and
    (a judge's call) the JSON Schema its answer should follow."""

    model: str
    messages: list[Message]
    params: LaneParams = field(default_factory=LaneParams)
    response_schema: ResponseSchema | None = None
