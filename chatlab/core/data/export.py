"""The session document: chatlab's JSON export format (``"format": "chatlab.session"``).

Version 3 adds each response's ``grades`` (its answer checked against the study
prompt's answer key) and each vote's ``blind``; a vote that says neither ``blind`` nor
``sighted`` is read as blind in a blind session and sighted otherwise.
Version 2 (several raters) lists every rater's vote on a turn (``votes``, each with
the order its rater saw the answers in and how long the vote took) and every rater's
rating of a response (``ratings``), and marks a study comparison with its ``study``.
A vote or rating names its rater twice: ``rater``, the name shown, and ``rater_id``,
who it is (see :mod:`chatlab.core.settings.raters`); one with a name only gets the id
``"name:" + name``. A vote cast with the models' names showing says ``"sighted": true``.
A blind session that showed each lane's reasoning before the vote says
``"show_reasoning": true`` (written only then).
Version 1 files (one ``vote``, one ``rating``) still import: each becomes one entry.
Within a version fields are added, never renamed; a later version's field found in an
older document (``grades`` or ``blind`` in version 2) is read as the later version says.
A grade's ``grader`` is a name with no control or invisible characters. A study's placebo twin says so on its
lane (``"placebo": true``, written only then); a document from before that field is read
as :func:`inferred_twin` says. Responses are listed in lane order;
each carries its status, reasoning and answer text, error, normalised usage, cost with
the price it used, timing, and notes on what chatlab corrected. No key or secret is
ever part of it. Imports are validated against the JSON Schema itself
(``resources/session.schema.json``), plus the few rules a schema can't express.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from chatlab import __version__
from chatlab.core.data import safety
from chatlab.core.data.model import Response, Session
from chatlab.core.data.stamps import utc_now
from chatlab.core.data.votes import VOTE_CHOICES, rater_id_of

FORMAT = "chatlab.session"
VERSION = 3
READS = (1, 2, 3)  # versions this chatlab imports


PLACEBO_LABEL = " (placebo)"  # how a suite labels its twin; a hint for old documents only


def session_dict(session: Session) -> dict[str, Any]:
    order = [lane.id for lane in (*session.lanes, *session.retired)]
    lanes = [
        {
            "id": lane.id,
            "provider": lane.provider,
            "model": lane.model,
            "label": lane.label,
            "params": lane.params.to_dict(),
            **({"retired": True} if retired else {}),
            **({"placebo": True} if lane.placebo else {}),
        }
        for retired, group in ((False, session.lanes), (True, session.retired))
        for lane in group
    ]
    # A lane an importer would take for an old document's twin, and that is not one (a
    # copy of the first lane the user labelled "… (placebo)" themselves), says so.
    lookalike = inferred_twin({"lanes": lanes, "study": session.study is not None})
    for lane_dict in lanes:
        if lane_dict["id"] == lookalike:
            lane_dict["placebo"] = False
    return {
        "id": session.id,
        "title": session.title,
        "created_at": session.created_at,
        "blind": session.blind,
        **({"show_reasoning": True} if session.show_reasoning else {}),
        "lanes": lanes,
        "turns": [
            {
                "id": turn.id,
                "prompt": turn.prompt,
                "created_at": turn.created_at,
                "responses": [_response_dict(turn.responses[i]) for i in order if i in turn.responses],
                "shown_order": turn.shown_order,
                "votes": [v.to_dict() for v in turn.votes],
                **({"to_rate": True} if turn.to_rate else {}),
            }
            for turn in session.turns
        ],
        **({"study": session.study.to_dict()} if session.study else {}),
    }


STILL_STREAMING = "still streaming when this was exported; the text so far is kept"


def _response_dict(resp: Response) -> dict[str, Any]:
    """A response as exported. One still streaming (in another window, or a running
    ``ask``) is a snapshot: it is exported as interrupted, with the text so far."""
    d = resp.to_dict()
    if not resp.status.finished:
        d["status"] = "interrupted"
        d["error"] = d["error"] or {"kind": "network", "message": STILL_STREAMING}
    return d


def document(sessions: Iterable[Session]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utc_now(),
        "app_version": __version__,
        "sessions": [session_dict(s) for s in sessions],
    }


class DocumentError(ValueError):
    """A session document that can't be imported; ``path`` names the place (``sessions[0].turns``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


MAX_DEPTH = 64  # far deeper than any session document; a deeper one is refused, not recursed


@cache
def _schema() -> dict[str, Any]:
    from chatlab.core.data.resources import resources_dir

    loaded: dict[str, Any] = json.loads((resources_dir() / "session.schema.json").read_text("utf-8"))
    return loaded


@cache
def _validator() -> Any:
    import jsonschema

    cls = jsonschema.validators.validator_for(_schema())
    return cls(_schema())


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "array": "a list",
    "object": "an object",
    "boolean": "true or false",
    "null": "null",
}


def schema_problem(error: Any) -> tuple[str, str]:
    """(path, message) for a jsonschema ValidationError, worded like the rest of chatlab."""
    parts = list(error.absolute_path)
    path = _path(parts)
    key = str(parts[-1]) if parts and not isinstance(parts[-1], int) else "value"
    value = error.instance
    validator = error.validator
    if validator == "required":
        missing = next((k for k in error.validator_value if k not in (value or {})), "?")
        return _path([*parts, missing]), "is missing"
    if validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return path, "must be " + " or ".join(_TYPE_NAMES.get(str(k), str(k)) for k in kinds)
    if validator == "const":
        if key == "version":
            return path, f"unknown version {_short(value)} (this chatlab reads versions 1 to 3)"
        return path, f"must be {error.validator_value!r}, got {_short(value)}"
    if validator == "enum":
        return path, f"unknown {key.replace('_', ' ')} {_short(value)}"
    if validator == "minimum":
        limit = error.validator_value
        return path, "must not be negative" if limit == 0 else f"must be at least {limit}"
    if validator == "maximum":
        limit = error.validator_value
        shown = f"{limit:,}" if isinstance(limit, int) else f"{limit:g}"
        return path, f"must be at most {shown}, got {_short(value)}"
    if validator == "maxLength":
        return path, f"is too long ({len(value):,} characters; at most {error.validator_value:,})"
    if validator == "maxProperties":
        return path, f"has {len(value):,} entries; at most {error.validator_value} are allowed"
    if validator == "maxItems":
        return path, f"has {len(value):,} entries; at most {error.validator_value} are allowed"
    if validator == "uniqueItems":
        return path, "names the same entry twice"
    if validator in ("minLength", "minItems"):
        return path, "must not be empty"
    if validator == "pattern":
        allowed = error.schema.get("description") if isinstance(error.schema, dict) else None
        return (
            path,
            f"{_short(value)}: {allowed}" if allowed else f"{_short(value)} is not in the allowed form",
        )
    return path, safety.show(str(error.message), 200)


def _short(value: Any) -> str:
    return safety.show(value, 60)


def _check_values(doc: Any) -> None:
    """Refuse what JSON Schema can't see: lone surrogates (no database or file can hold
    them), non-finite numbers, and nesting deeper than any real document. Iterative, so
    a hostile depth can't exhaust the stack."""
    stack: list[tuple[Any, list[Any]]] = [(doc, [])]
    while stack:
        value, parts = stack.pop()
        if len(parts) > MAX_DEPTH:
            raise DocumentError(_path(parts[:MAX_DEPTH]), f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            at = safety.first_surrogate(value)
            if at is not None:
                raise DocumentError(
                    _path(parts), f"is not valid Unicode (a lone surrogate at character {at})"
                )
        elif isinstance(value, float) and not math.isfinite(value):
            raise DocumentError(_path(parts), f"must be a finite number, got {value!r}")
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and safety.first_surrogate(k) is not None:
                    raise DocumentError(_path(parts), "has a key that is not valid Unicode")
                stack.append((v, [*parts, k]))
        elif isinstance(value, list):
            stack.extend((v, [*parts, i]) for i, v in enumerate(value))


def _check_references(sessions: list[dict[str, Any]]) -> None:
    """What the schema can't say: ids are unique in the file, and references resolve."""
    seen: dict[str, dict[str, str]] = {"session": {}, "lane": {}, "turn": {}}

    def unique(kind: str, value: str, path: str) -> None:
        first = seen[kind].get(value)
        if first is not None:
            raise DocumentError(path, f"repeats {kind} id {value!r} (first at {first})")
        seen[kind][value] = path

    slots: dict[tuple[str, str, int], str] = {}
    for i, s in enumerate(sessions):
        path = f"sessions[{i}]"
        unique("session", s["id"], f"{path}.id")
        study = s.get("study")
        if study is not None:
            slot = (study["id"], study["prompt_id"], study["sample"])
            if slot in slots:
                raise DocumentError(
                    f"{path}.study",
                    f"is the same comparison (study, prompt, sample) as {slots[slot]}",
                )
            slots[slot] = path
        lane_ids: set[str] = set()
        for j, lane in enumerate(s["lanes"]):
            unique("lane", lane["id"], f"{path}.lanes[{j}].id")
            lane_ids.add(lane["id"])
        for k, turn in enumerate(s["turns"]):
            tp = f"{path}.turns[{k}]"
            unique("turn", turn["id"], f"{tp}.id")
            answered: set[str] = set()
            for m, r in enumerate(turn["responses"]):
                lane_id = r["lane_id"]
                if lane_id not in lane_ids:
                    raise DocumentError(
                        f"{tp}.responses[{m}].lane_id", f"names no lane of this session ({lane_id!r})"
                    )
                if lane_id in answered:
                    raise DocumentError(
                        f"{tp}.responses[{m}].lane_id", f"repeats lane {lane_id!r} in this turn"
                    )
                answered.add(lane_id)
            votes = [(f"{tp}.vote", turn["vote"])] if turn.get("vote") is not None else []
            votes += [(f"{tp}.votes[{v}]", vote) for v, vote in enumerate(turn.get("votes") or [])]
            voters: dict[tuple[str, bool], str] = {}
            for vp, vote in votes:
                _check_vote(vp, vote, lane_ids)
                who = (rater_id_of(vote), bool(vote.get("repeat", False)))
                if who in voters:
                    raise DocumentError(f"{vp}.rater", f"votes twice on this turn (first at {voters[who]})")
                voters[who] = vp
            for m, r in enumerate(turn["responses"]):
                graders = [g["grader"] for g in r.get("grades") or []]
                if len(graders) != len(set(graders)):
                    raise DocumentError(f"{tp}.responses[{m}].grades", "has two grades from one grader")
                raters: set[str] = set()
                for n, rating in enumerate(r.get("ratings") or []):
                    if rater_id_of(rating) in raters:
                        raise DocumentError(
                            f"{tp}.responses[{m}].ratings[{n}].rater", "rates this answer twice"
                        )
                    raters.add(rater_id_of(rating))
            order = turn.get("shown_order")
            if order is not None and not set(order) <= lane_ids:
                raise DocumentError(f"{tp}.shown_order", "names a lane that is not in this session")


def _check_vote(vp: str, vote: dict[str, Any], lane_ids: set[str]) -> None:
    if "blind" in vote and "sighted" in vote and vote["blind"] == vote["sighted"]:
        raise DocumentError(f"{vp}.blind", "contradicts its sighted field (a vote is one or the other)")
    choice = vote["choice"]
    if choice not in lane_ids and choice not in VOTE_CHOICES:
        raise DocumentError(f"{vp}.choice", f"must be a lane id, 'tie' or 'all_bad', got {_short(choice)}")
    guess = vote.get("guess_reasoner")
    if guess is not None and (not isinstance(guess, str) or guess not in lane_ids):
        raise DocumentError(f"{vp}.guess_reasoner", f"names no lane of this session ({guess!r})")
    for key in ("guessed", "guess_reasoners", "shown_order"):
        named_list = vote.get(key)
        if named_list is not None and not isinstance(named_list, list):
            raise DocumentError(f"{vp}.{key}", "must be a list of lane ids")
        for g, named in enumerate(named_list or []):
            if not isinstance(named, str) or named not in lane_ids:
                raise DocumentError(f"{vp}.{key}[{g}]", f"names no lane of this session ({_short(named)})")


def parse_document(doc: Any) -> list[Session]:
    """Validate a session document completely (:func:`validate_document`), then build
    its sessions."""
    validate_document(doc)
    return [session_from_dict(s) for s in doc["sessions"]]


def validate_document(doc: Any) -> None:
    """Check a session document completely, building nothing.

    The JSON Schema in ``resources/session.schema.json`` is the one source of truth for
    shapes, types and ranges; what it can't express (unique ids, references between
    lanes, responses and votes, valid Unicode) is checked here. Raises
    :class:`DocumentError` naming the bad place; nothing is built before the whole
    document has been checked.
    """
    if not isinstance(doc, dict):
        raise DocumentError("(document)", "must be a JSON object")
    _check_values(doc)
    if doc.get("format") != FORMAT:  # say what the file is before listing its problems
        fmt = doc.get("format")
        raise DocumentError("format", f"must be {FORMAT!r}, got {_short(fmt)}" if fmt else "is missing")
    version = doc.get("version")
    if version not in READS or isinstance(version, bool):
        if version is None:
            raise DocumentError("version", "is missing")
        raise DocumentError(
            "version", f"unknown version {_short(version)} (this chatlab reads versions 1 to 3)"
        )
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if error is not None:
        raise DocumentError(*schema_problem(error))
    _check_references(doc["sessions"])


def pack_created_at(doc: dict[str, Any]) -> str | None:
    """When a (validated) rating pack was made, or None for any other document."""
    pack = doc.get("pack")
    return str(pack["created_at"]) if isinstance(pack, dict) else None


def masked(session: Session, rater: str | None = None) -> bool:
    """A blind session whose last turn waits for its vote (and was not stopped): its
    export would say which model is which, so it is left out until the vote. With
    ``rater`` (this installation's), it waits for *their* vote: other raters' votes,
    merged from their files, don't unmask it for them."""
    from chatlab.core.data.model import Status

    if session.lanes and all(lane.provider == "blind" for lane in session.lanes):
        return False  # a rating pack's comparison: it names no model to hide (packs.PROVIDER)
    last = session.turns[-1] if session.turns else None
    if last is not None and last is not session.turns[0]:
        return False  # a later turn is sighted: the first's reveal showed the names (lab.blind.sighted)
    voted = (last.vote if rater is None else last.vote_of(rater)) if last is not None else None
    return (
        session.blind
        and last is not None
        and voted is None
        and not any(r.status is Status.CANCELLED for r in last.responses.values())
    )


def export_sessions(
    ids: Iterable[str],
    load: Callable[[str], Session],
    *,
    unblind: bool = False,
    rater: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The document of every session that loads and validates, and one line for each
    that doesn't (a damaged row in the database, or a blind turn not yet voted on): an
    export always re-imports cleanly, never un-blinds a test, and one bad session never
    keeps the others from being exported. ``unblind`` (``export --study NAME
    --unblind``, the study's owner): blind turns not yet voted on are exported too, with
    their names (the caller marks them sighted). ``rater``: whose vote unmasks a blind
    turn (this installation's; see :func:`masked`)."""
    good: list[dict[str, Any]] = []
    problems: list[str] = []
    for sid in ids:
        try:
            session = load(sid)
            if masked(session, rater) and not unblind:
                problems.append(f"session {sid}: a blind turn not yet voted on (vote first)")
                continue
            d = session_dict(session)
            validate_document({**document([]), "sessions": [d]})
        except DocumentError as exc:
            problems.append(f"session {sid}: {str(exc).removeprefix('sessions[0].')}")
            continue
        except Exception as exc:  # a row the store could not read back
            problems.append(f"session {sid}: {exc}")
            continue
        good.append(d)
    return {**document([]), "sessions": good}, problems


def inferred_twin(d: dict[str, Any]) -> str | None:
    """The id of the lane a session document from before lanes said ``placebo`` ran as
    its study's placebo twin, or None.

    Such documents marked the twin by its label alone: a suite with ``placebo = true``
    appended a copy of its first lane, labelled "<first lane's label or spec> (placebo)",
    as the last lane of every comparison. So the last active lane of a study comparison
    is taken for the twin when it has no ``placebo`` field, its label ends with
    " (placebo)", and its provider, model and parameters are those of the first active
    lane (a different lane is never a twin). A lane that says ``placebo`` (true or false)
    is taken at its word, and so is every lane of a session that is not a study's."""
    from chatlab.core.data.model import LaneParams

    if not d.get("study"):
        return None
    active = [x for x in d["lanes"] if not x.get("retired")]
    if len(active) < 2:
        return None
    first, last = active[0], active[-1]
    if "placebo" in last or not str(last.get("label") or "").endswith(PLACEBO_LABEL):
        return None

    def what(x: dict[str, Any]) -> tuple[Any, ...]:
        return x["provider"], x["model"], LaneParams.from_dict(x.get("params") or {})

    return str(last["id"]) if what(first) == what(last) else None


def session_from_dict(d: dict[str, Any]) -> Session:
    from chatlab.core.data.model import Lane, LaneParams, Response, StudyRef, Turn
    from chatlab.core.data.votes import Vote

    twin = inferred_twin(d)
    lanes = [
        Lane(
            provider=x["provider"],
            model=x["model"],
            params=LaneParams.from_dict(x.get("params") or {}),
            label=x.get("label") or "",
            id=x["id"],
            placebo=bool(x.get("placebo", False)) or x["id"] == twin,
        )
        for x in d["lanes"]
    ]
    retired = [lane for lane, x in zip(lanes, d["lanes"], strict=True) if x.get("retired")]
    turns = []
    for t in d["turns"]:
        responses = {r["lane_id"]: Response.from_dict(r) for r in t["responses"]}
        turns.append(
            Turn(
                prompt=t["prompt"],
                id=t["id"],
                created_at=t["created_at"],
                responses=responses,
                shown_order=list(t["shown_order"]) if t.get("shown_order") else None,
                to_rate=bool(t.get("to_rate", False)),
                # A turn may carry both (a v1 vote kept beside v2 votes): neither is lost.
                votes=[
                    Vote.from_dict(v, bool(d.get("blind", False)))
                    for v in [*([t["vote"]] if t.get("vote") else []), *(t.get("votes") or [])]
                ],
            )
        )
    return Session(
        lanes=[lane for lane in lanes if lane not in retired],
        retired=retired,
        turns=turns,
        title=d.get("title") or "",
        id=d["id"],
        created_at=d["created_at"],
        blind=bool(d.get("blind", False)),
        study=StudyRef.from_dict(d["study"]) if d.get("study") else None,
        show_reasoning=bool(d.get("show_reasoning", False)),
    )
