"""Rating packs: a study's comparisons for another person to rate, with nothing that
could say which model wrote which answer.

A pack is an ordinary session document (version 2), so a second chatlab imports it as
it imports anything, rates it in its queue, and exports its votes. What is left out:
provider, model, label and parameters (every lane becomes ``blind`` / an opaque id),
usage, cost, price, timing, reasoning text and whether there was any (a study that
shows reasoning carries each answer's reasoning text as the queue shows it, and nothing
on whether a provider hid it: see :func:`chatlab.core.lab.blind.visible_reasoning`;
like the answers, the text is the model's own and is not scrubbed), notes, retries,
the text of failed answers' errors (one can name its model), other raters' votes and
ratings, and a study or prompt name that contains any of those names. Each lane id is
replaced by a fresh random one, and each comparison lists its lanes in its own random
order; the owner keeps the mapping (see the store's ``pack_lanes``), so the votes that
come back are merged onto the real lanes. (The rater's queue still shuffles and
balances screen places; it can't balance per model, which it must not know.)

A pack holds exactly the comparisons the owner's own rating queue would show, by the
same rule (:func:`chatlab.core.studies.rating.not_ready`): one not answered yet, with an answer
cut off, stopped or still to retry, or with fewer than two answers, is left out, and
:attr:`Pack.left_out` says how many and why.
The document's ``pack.created_at`` says when it was made: importing a newer pack of the
same study replaces the answers of the comparisons the rater has not voted on yet (see
the store's ``import_document``); an older one replaces nothing. ``pack.id`` is random;
the owner keeps it with the pack's lanes, and the first votes that come back for the
pack bind it to their rater id (a second rater's votes for it are refused).
``pack.for`` (optional) is whom the owner made it for, left out if it could name a
model. A pack carries no votes or ratings.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chatlab.core.data.export import document, session_dict, validate_document
from chatlab.core.data.model import Session
from chatlab.core.data.stamps import new_id
from chatlab.core.lab.blind import visible_reasoning
from chatlab.core.studies.rating import contenders, not_ready

PROVIDER = "blind"
_RANDOM = random.SystemRandom()
_EMPTY_USAGE = {
    "input_tokens": 0,
    "cached_input_tokens": 0,
    "cache_write_input_tokens": 0,
    "output_tokens": 0,
    "reasoning_tokens": 0,
    "estimated": True,
    "reasoning_estimated": True,
}
_NO_TIMING = {"ttft_s": None, "duration_s": None, "output_tokens_per_s": None}
_ANSWER: dict[str, Any] = {  # an answer as a pack carries it: the text, nothing about who or how
    "status": "ok",
    "reasoning": "",
    "text": "",
    "refusal": False,
    "hidden_reasoning": False,
    "error": None,
    "usage": _EMPTY_USAGE,
    "cost_usd": None,
    "cost_source": None,
    "price": None,
    "timing": _NO_TIMING,
    "finish_reason": None,
    "ratings": [],
    "notes": [],
    "retries": [],
}
# Failed for good as the rater's chatlab reads it (a refusal): a pack can't be resumed.
_NO_ANSWER = {
    **_ANSWER,
    "status": "error",
    "error": {"kind": "bad_request", "message": "no answer in this pack"},
}


def identities(sessions: Sequence[Session]) -> set[str]:
    """Every string that names a model in these comparisons (for the scrub, and for
    tests): provider, model (also without a vendor prefix or ``@options``), its family
    (``claude``, ``gpt``…), label, spec and lane id."""
    out: set[str] = set()
    for s in sessions:
        for lane in (*s.lanes, *s.retired):
            base = lane.model.partition("@")[0]
            short = base.rsplit("/", 1)[-1]
            family = re.split(r"[-_.:\s]", short, maxsplit=1)[0]
            out.update(
                x for x in (lane.provider, lane.model, lane.label, lane.spec, lane.id, base, short) if x
            )
            if len(family) >= 3 and not family.isdigit():
                out.add(family)
    return out


def _names_a_model(text: str, names: set[str]) -> bool:
    """Whether ``text`` contains a name of these models: anywhere for a name of three
    characters or more, as a word of its own for a two-character one (``o3`` in "Is o3
    worth it?", not in "photo3"), which would otherwise match by accident too often."""
    folded = text.casefold()
    for name in names:
        n = name.casefold()
        if len(n) >= 3 and n in folded:
            return True
        if len(n) == 2 and re.search(rf"(?<![^\W_]){re.escape(n)}(?![^\W_])", folded):
            return True
    return False


@dataclass
class Pack:
    """A rating pack: the document, {opaque lane id: real lane id} for the owner to keep,
    and the study's comparisons left out because they are not ready to rate, counted by
    why (:func:`chatlab.core.studies.rating.not_ready`)."""

    doc: dict[str, Any]
    mapping: dict[str, str]
    left_out: dict[str, int] = field(default_factory=dict)
    dropped_for: bool = False  # the name it was made for could name a model: left out

    @property
    def comparisons(self) -> int:
        return len(self.doc["sessions"])

    @property
    def id(self) -> str:
        return str(self.doc["pack"]["id"])

    @property
    def created_at(self) -> str:
        return str(self.doc["pack"]["created_at"])

    @property
    def made_for(self) -> str | None:
        made_for = self.doc["pack"].get("for")
        return None if made_for is None else str(made_for)

    def left_out_text(self) -> str:
        """One line on what was left out and why ("" when nothing was)."""
        n = sum(self.left_out.values())
        if not n:
            return ""
        most = sorted(self.left_out.items(), key=lambda rc: (-rc[1], rc[0]))
        why = ", ".join(f"{count} {reason}" for reason, count in most)
        return f"left out {n} comparison{'s' if n != 1 else ''} not ready to rate ({why})"


def rating_pack(
    sessions: Sequence[Session],
    study_name: str,
    rng: random.Random | None = None,
    for_name: str | None = None,
) -> Pack:
    """The pack for these study comparisons: only those ready to rate, as the owner's
    own queue would show them. ``rng`` orders each comparison's lanes (a system source
    unless a test gives one). ``for_name``: whom it is for, written as ``pack.for``
    unless it could name a model (then :attr:`Pack.dropped_for` says so)."""
    order = rng or _RANDOM
    names = identities(sessions)
    safe_name = study_name if not _names_a_model(study_name, names) else "Study " + new_id()[:8]
    mapping: dict[str, str] = {}
    renamed: dict[str, str] = {}  # a prompt id that names a model -> one stand-in for all its samples
    left_out: Counter[str] = Counter()
    out = []
    for session in sessions:
        if session.study is None:
            continue
        why = not_ready(session)
        if why is not None:
            left_out[why] += 1
            continue
        turn = session.turns[0]
        judged = set(contenders(session))
        opaque = {lane.id: new_id() for lane in session.lanes}
        # Each comparison lists its lanes in its own random order: a place in the file
        # (or in the rater's chatlab) never stands for the same model twice.
        shuffled = list(session.lanes)
        order.shuffle(shuffled)
        mapping.update({v: k for k, v in opaque.items()})
        prompt_id = session.study.prompt_id
        if _names_a_model(prompt_id, names):
            prompt_id = renamed.setdefault(prompt_id, "prompt-" + new_id()[:8])
        d = session_dict(session)
        answers = []
        for lane in shuffled:
            if lane.id not in judged:
                # A lane that failed for good: its error could name the model. The lane
                # stays (so places still line up), with no answer and a neutral word.
                answers.append({**_NO_ANSWER, "lane_id": opaque[lane.id]})
                continue
            # Ready to rate means every other answer is final and complete ("ok").
            resp = turn.responses[lane.id]
            thought = visible_reasoning(resp) if session.show_reasoning else ""
            answers.append({**_ANSWER, "lane_id": opaque[lane.id], "text": resp.text, "reasoning": thought})
        out.append(
            {
                "id": d["id"],
                "title": f"{safe_name} · {prompt_id} · {session.study.sample + 1}",
                "created_at": d["created_at"],
                "blind": True,
                **({"show_reasoning": True} if session.show_reasoning else {}),
                "lanes": [
                    {
                        "id": opaque[lane.id],
                        "provider": PROVIDER,
                        "model": opaque[lane.id][:12],
                        "label": "",
                        "params": {},
                    }
                    for lane in shuffled
                ],
                "turns": [
                    {
                        "id": turn.id,
                        "prompt": turn.prompt,
                        "created_at": turn.created_at,
                        "responses": answers,
                        "shown_order": None,
                        "votes": [],
                    }
                ],
                "study": {
                    "id": session.study.id,
                    "name": safe_name,
                    "prompt_id": prompt_id,
                    "sample": session.study.sample,
                    "tags": [t for t in session.study.tags if not _names_a_model(t, names)],
                    **({"reveal": session.study.reveal} if session.study.reveal else {}),
                    **({"repeats": session.study.repeats} if session.study.repeats else {}),
                },
            }
        )
    doc = {**document([]), "sessions": out}
    # When the pack was made: a rater's chatlab lets a newer pack of the study update
    # what they have not voted on yet, and never an older one. (The same for every
    # lane: it says nothing about who wrote what.)
    # Its id (random: it says nothing about the study or its models) is how the owner
    # knows the votes that come back for it, and binds them to one rater.
    doc["pack"] = {"created_at": doc["exported_at"], "id": "p" + new_id()}
    dropped = False
    if for_name:
        if _names_a_model(for_name, names) or "placebo" in for_name.casefold():
            dropped = True
        else:
            doc["pack"]["for"] = for_name
    validate_document(doc)  # a pack always imports cleanly
    return Pack(doc, mapping, dict(left_out), dropped)
