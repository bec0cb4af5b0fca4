"""Votes and ratings: what a rater judged of a turn (a :class:`Vote`) or of one answer (a
:class:`Rating`), and the rater ids they are kept under.

A rater is known by an id; the name they go by is shown and exported but is never a key.
Votes and ratings from before rater ids (or with no id) get one derived from their name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatlab.core.data.stamps import utc_now

DERIVED = "name:"  # a rater id made from a name: votes from before rater ids, or with no id
JUDGE = "judge:"  # a model as a rater: "judge:PROVIDER:MODEL", plus "/RUBRIC" off the default


def is_judge(rater_id: str) -> bool:
    """Whether a rater id is a judge model's (``judge:PROVIDER:MODEL[/RUBRIC]``), not a person's."""
    return rater_id.startswith(JUDGE)


def rater_id_of(d: dict[str, Any]) -> str:
    """The rater id of a vote or rating as a session document has it: its ``rater_id``,
    else one derived from its name (``"name:" + rater``). A vote with no name at all
    becomes rater ``"name:"``: never this chatlab's own rater, whose id is random."""
    given = d.get("rater_id")  # a document's is never empty (its schema says so); the store's may be
    return given if isinstance(given, str) else DERIVED + str(d.get("rater") or "")


def name_of_id(rater_id: str) -> str:
    """The name a derived rater id was made from ("" for any other id)."""
    return rater_id[len(DERIVED) :] if rater_id.startswith(DERIVED) else ""


def _name(d: dict[str, Any]) -> str:
    """The name a vote or rating is shown under (an id made from a name: that name)."""
    rater_id = rater_id_of(d)
    return name_of_id(rater_id) if rater_id.startswith(DERIVED) else str(d.get("rater") or "")


@dataclass
class Rating:
    """A score from 1 to 5 and a free note, for one response. ``rater`` is the rater's
    id; ``rater_name`` the name they go by (shown, exported; never a key)."""

    score: int | None = None
    note: str = ""
    rater: str = ""
    rated_at: str = field(default_factory=utc_now)
    rater_name: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": self.score,
            "note": self.note,
            "rater": self.rater_name or name_of_id(self.rater),
            "rated_at": self.rated_at,
        }
        if self.rater:
            out["rater_id"] = self.rater
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rating:
        return cls(d.get("score"), d.get("note", ""), rater_id_of(d), d["rated_at"], _name(d))


VOTE_CHOICES = ("tie", "all_bad")  # besides a lane id


@dataclass
class Vote:
    """The best lane of a turn (a lane id), or ``tie`` / ``all_bad``. In blind mode also
    the lanes the rater thinks reasoned (``guessed``; None when they made no guess, an
    empty list when they think none did). ``rater`` is the rater's id, ``rater_name``
    the name they go by. ``sighted``: cast with the models' names showing (a session
    that is not blind, a blind turn after its reveal, or a comparison its rater exported
    unblinded); statistics leave such votes out unless asked."""

    choice: str
    guessed: list[str] | None = None
    rater: str = ""
    voted_at: str = field(default_factory=utc_now)
    shown_order: list[str] | None = None  # lane ids in the order this rater saw them
    seconds_to_vote: float | None = None  # from the answers appearing to the vote
    repeat: bool = False  # a hidden repeat in a rating queue (test-retest), not the vote itself
    sighted: bool = False
    rater_name: str = field(default="", compare=False)
    # A judge model's vote (rater ``judge:…``): how it was reached (the orders seen, the
    # raw verdicts, the choice per order, whether they agreed, the criterion scores, its
    # own usage and cost). See ``chatlab.core.judging.run`` and the session schema.
    judgement: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rater": self.rater_name or name_of_id(self.rater),
            "choice": self.choice,
            "guess_reasoners": None if self.guessed is None else list(self.guessed),
            "voted_at": self.voted_at,
        }
        if self.rater:
            out["rater_id"] = self.rater
        if self.shown_order is not None:
            out["shown_order"] = list(self.shown_order)
        if self.seconds_to_vote is not None:
            out["seconds_to_vote"] = self.seconds_to_vote
        if self.repeat:
            out["repeat"] = True
        out["blind"] = not self.sighted
        if self.sighted:
            out["sighted"] = True
        if self.judgement is not None:
            out["judgement"] = self.judgement
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], session_blind: bool | None = None) -> Vote:
        """A vote as a document (or the store) has it. Whether it was sighted: its
        ``blind`` (version 3), else its ``sighted``, else, for a vote that says neither
        (older documents, other tools), sighted unless its session is blind
        (``session_blind``; not known: blind)."""
        guessed = d.get("guess_reasoners", d.get("guessed"))  # v2, v1
        if "guess_reasoners" not in d and "guessed" not in d and d.get("guess_reasoner") is not None:
            guessed = [d["guess_reasoner"]]  # files before the multi-guess
        shown = d.get("shown_order")
        return cls(
            d["choice"],
            None if guessed is None else list(guessed),
            rater_id_of(d),
            d["voted_at"],
            None if shown is None else list(shown),
            d.get("seconds_to_vote"),
            bool(d.get("repeat", False)),
            _sighted(d, session_blind),
            _name(d),
            d["judgement"] if isinstance(d.get("judgement"), dict) else None,
        )


def _sighted(d: dict[str, Any], session_blind: bool | None) -> bool:
    if "blind" in d:
        return not d["blind"]
    if "sighted" in d:
        return bool(d["sighted"])
    return session_blind is False
