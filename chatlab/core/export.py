"""The session document: chatlab's JSON export format (``"format": "chatlab.session"``).

Version 1 is a contract: fields are added, never renamed. Responses are listed in lane
order; each carries its status, reasoning and answer text, error, normalised usage,
cost with the price it used, and timing. No key or secret is ever part of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatlab import __version__
from chatlab.core.model import Session, utc_now

FORMAT = "chatlab.session"
VERSION = 1


def session_dict(session: Session) -> dict[str, Any]:
    order = [lane.id for lane in session.lanes]
    return {
        "id": session.id,
        "title": session.title,
        "created_at": session.created_at,
        "blind": session.blind,
        "lanes": [
            {
                "id": lane.id,
                "provider": lane.provider,
                "model": lane.model,
                "label": lane.label,
                "params": lane.params.to_dict(),
            }
            for lane in session.lanes
        ],
        "turns": [
            {
                "id": turn.id,
                "prompt": turn.prompt,
                "created_at": turn.created_at,
                "responses": [turn.responses[i].to_dict() for i in order if i in turn.responses],
                "shown_order": turn.shown_order,
                "vote": turn.vote.to_dict() if turn.vote else None,
            }
            for turn in session.turns
        ],
    }


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


def _need(obj: Any, key: str, kind: type | tuple[type, ...], path: str, optional: bool = False) -> Any:
    if not isinstance(obj, dict):
        raise DocumentError(path, "must be an object")
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise DocumentError(f"{path}.{key}" if path else key, "is missing")
    value = obj[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise DocumentError(f"{path}.{key}" if path else key, f"must be {_kind_name(kind)}")
    if not isinstance(value, kind):
        raise DocumentError(f"{path}.{key}" if path else key, f"must be {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "an object",
        bool: "true or false",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _check_response(r: Any, path: str, lane_ids: set[str]) -> None:
    from chatlab.core.events import ErrorKind
    from chatlab.core.model import Status

    lane_id = _need(r, "lane_id", str, path)
    if lane_id not in lane_ids:
        raise DocumentError(f"{path}.lane_id", f"names no lane of this session ({lane_id!r})")
    status = _need(r, "status", str, path)
    if status not in {s.value for s in Status} - {"queued", "running"}:
        raise DocumentError(f"{path}.status", f"unknown status {status!r}")
    _need(r, "text", str, path)
    _need(r, "reasoning", str, path)
    usage = _need(r, "usage", dict, path)
    for key in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens"):
        value = _need(usage, key, int, f"{path}.usage", optional=key == "cached_input_tokens")
        if value is not None and value < 0:
            raise DocumentError(f"{path}.usage.{key}", "must not be negative")
    _need(usage, "estimated", bool, f"{path}.usage")
    cost = _need(r, "cost_usd", (int, float), path, optional=True)
    if cost is not None and cost < 0:
        raise DocumentError(f"{path}.cost_usd", "must not be negative")
    err = _need(r, "error", dict, path, optional=True)
    if err is not None:
        kind = _need(err, "kind", str, f"{path}.error")
        if kind not in {k.value for k in ErrorKind}:
            raise DocumentError(f"{path}.error.kind", f"unknown error kind {kind!r}")
        _need(err, "message", str, f"{path}.error")
    _need(r, "timing", dict, path)
    price = _need(r, "price", dict, path, optional=True)
    if price is not None:
        _need(price, "input", (int, float), f"{path}.price")
        _need(price, "output", (int, float), f"{path}.price")
    rating = _need(r, "rating", dict, path, optional=True)
    if rating is not None:
        score = _need(rating, "score", int, f"{path}.rating", optional=True)
        if score is not None and not 1 <= score <= 5:
            raise DocumentError(f"{path}.rating.score", "must be from 1 to 5")
        _need(rating, "rated_at", str, f"{path}.rating")


def parse_document(doc: Any) -> list[Session]:
    """Validate a session document completely, then build its sessions.

    Raises :class:`DocumentError` naming the first bad place; nothing is built before the
    whole document has been checked.
    """
    if not isinstance(doc, dict):
        raise DocumentError("(document)", "must be a JSON object")
    fmt = _need(doc, "format", str, "")
    if fmt != FORMAT:
        raise DocumentError("format", f"must be {FORMAT!r}, got {fmt!r}")
    version = _need(doc, "version", int, "")
    if version != VERSION:
        raise DocumentError("version", f"unknown version {version} (this chatlab reads version {VERSION})")
    sessions = _need(doc, "sessions", list, "")
    seen: set[str] = set()
    for i, s in enumerate(sessions):
        path = f"sessions[{i}]"
        sid = _need(s, "id", str, path)
        if sid in seen:
            raise DocumentError(f"{path}.id", f"repeats session id {sid!r}")
        seen.add(sid)
        _need(s, "title", str, path)
        _need(s, "created_at", str, path)
        lanes = _need(s, "lanes", list, path)
        lane_ids: set[str] = set()
        for j, lane in enumerate(lanes):
            lp = f"{path}.lanes[{j}]"
            lane_ids.add(_need(lane, "id", str, lp))
            _need(lane, "provider", str, lp)
            _need(lane, "model", str, lp)
            _need(lane, "params", dict, lp)
        turns = _need(s, "turns", list, path)
        for k, turn in enumerate(turns):
            tp = f"{path}.turns[{k}]"
            _need(turn, "id", str, tp)
            _need(turn, "prompt", str, tp)
            _need(turn, "created_at", str, tp)
            for m, r in enumerate(_need(turn, "responses", list, tp)):
                _check_response(r, f"{tp}.responses[{m}]", lane_ids)
            vote = _need(turn, "vote", dict, tp, optional=True)
            if vote is not None:
                choice = _need(vote, "choice", str, f"{tp}.vote")
                if choice not in lane_ids and choice not in ("tie", "all_bad"):
                    raise DocumentError(
                        f"{tp}.vote.choice", f"must be a lane id, 'tie' or 'all_bad', got {choice!r}"
                    )
                _need(vote, "voted_at", str, f"{tp}.vote")
            order = _need(turn, "shown_order", list, tp, optional=True)
            if order is not None and not set(order) <= lane_ids:
                raise DocumentError(f"{tp}.shown_order", "names a lane that is not in this session")
    return [session_from_dict(s) for s in sessions]


def session_from_dict(d: dict[str, Any]) -> Session:
    from chatlab.core.model import Lane, LaneParams, Response, Turn, Vote

    lanes = [
        Lane(
            provider=x["provider"],
            model=x["model"],
            params=LaneParams.from_dict(x.get("params") or {}),
            label=x.get("label") or "",
            id=x["id"],
        )
        for x in d["lanes"]
    ]
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
                vote=Vote.from_dict(t["vote"]) if t.get("vote") else None,
            )
        )
    return Session(
        lanes=lanes,
        turns=turns,
        title=d.get("title") or "",
        id=d["id"],
        created_at=d["created_at"],
        blind=bool(d.get("blind", False)),
    )
