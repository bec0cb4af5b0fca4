"""Gemini streams that bend the rules, for :mod:`tests.golden_events` (kept apart so that
module stays short): what the Gemini adapter makes of each, served byte for byte, is
recorded in ``tests/golden/hostile.json`` beside the other formats' streams."""

from __future__ import annotations

import json
from typing import Any

USAGE = {"promptTokenCount": 4, "candidatesTokenCount": 2, "thoughtsTokenCount": 3}


def _data(data: Any) -> bytes:
    body = data if isinstance(data, str) else json.dumps(data)
    return f"data: {body}\r\n\r\n".encode()


def _cand(*parts: Any, finish: Any = None, **extra: Any) -> bytes:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return _data({"candidates": [candidate], **extra})


_END = _cand({"text": ""}, finish="STOP", usageMetadata=USAGE)

GEMINI_HOSTILE: dict[str, tuple[str, bytes]] = {
    "gemini-thoughts-and-signature": (
        "gemini",
        _cand({"text": "hm", "thought": True}, usageMetadata={"promptTokenCount": 4})
        + _cand({"text": "a", "thoughtSignature": "c2ln"}, usageMetadata=USAGE)
        + _END,
    ),
    "gemini-lf-comments-and-ids": (
        "gemini",
        b': keep-alive\n\nid: 1\ndata: {"candidates": [{"content": {"parts": [{"text": "x"}]}}]}\n\n'
        + b'data: {"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}]}\n\n',
    ),
    "gemini-no-finish": ("gemini", _cand({"text": "cut"})),
    "gemini-empty-body": ("gemini", b""),
    "gemini-not-an-object": ("gemini", _cand({"text": "a"}) + _data("[1, 2]") + _END),
    "gemini-error-chunk": (
        "gemini",
        _cand({"text": "a"})
        + _data({"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}),
    ),
    "gemini-error-status-only": ("gemini", _data({"error": {"status": "RESOURCE_EXHAUSTED"}})),
    "gemini-odd-types": (
        "gemini",
        _data({"candidates": "no"})
        + _data({"candidates": [{"content": {"parts": "no"}}]})
        + _cand({"text": 5}, "junk", {"text": None}, {"text": "ok"})
        + _cand(finish=7, usageMetadata="lots"),
    ),
    "gemini-second-candidate": (
        "gemini",
        _data({"candidates": [{"index": 1, "content": {"parts": [{"text": "other"}]}}]}) + _END,
    ),
    "gemini-usage-odd": (
        "gemini",
        _cand({"text": "a"}, finish="MAX_TOKENS", usageMetadata={"promptTokenCount": -1}),
    ),
    "gemini-cached-and-tools": (
        "gemini",
        _cand(
            {"text": "a"},
            finish="STOP",
            usageMetadata={**USAGE, "cachedContentTokenCount": 2, "toolUsePromptTokenCount": 5},
        ),
    ),
    "gemini-only-a-function-call": ("gemini", _cand({"functionCall": {"name": "f"}}, finish="STOP")),
    "gemini-blocked-prompt": (
        "gemini",
        _data({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}),
    ),
    "gemini-safety-after-text": ("gemini", _cand({"text": "Well"}) + _cand(finish="SAFETY")),
    "gemini-think-tags-not-split": ("gemini", _cand({"text": "<think>x</think>y"}) + _END),
    "gemini-data-after-finish": ("gemini", _END + _cand({"text": "late"})),
    "gemini-malformed": ("gemini", _cand({"text": "a"}) + b'data: {"candidates": [\r\n\r\n'),
}
