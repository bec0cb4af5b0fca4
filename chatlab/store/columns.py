"""How values are kept in the store's columns: structured values as compact JSON text,
read back defensively, since a row may have been edited or damaged outside chatlab. Every
subject module (sessions.py, votes.py, studies.py, merge.py) writes and reads through these."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def as_text(value: Any) -> str:
    """A text column as text: a BLOB written into it outside chatlab is decoded, not lost."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def json_object(text: Any) -> dict[str, Any]:
    """A JSON object column; anything else (damaged, edited) reads as {}."""
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def lane_ids(text: str | None) -> list[str] | None:
    """A vote's guessed lanes (or the order it was shown): a JSON list of lane ids, or NULL
    for no guess."""
    value = loads(text)
    if value is not None and not (isinstance(value, list) and all(isinstance(x, str) for x in value)):
        raise ValueError("votes.guessed is not a list of lane ids")
    return value
