"""Live splitting of inline ``<think>…</think>`` reasoning out of a model's answer text.

Some OpenAI-compatible servers (Ollama, vLLM, llama.cpp with R1-style models) put the
reasoning inline in ``content``. The splitter routes it to the reasoning pane while the
stream is running, even when a tag is cut across chunks: a possible tag prefix at the
end of a chunk is held back until the next chunk decides it. An opening tag counts only
before any answer text (after whitespace); after the block closes, text passes straight
through, so an answer that talks about ``<think>`` tags is left alone.
"""

from __future__ import annotations

from chatlab.core.data.events import ReasoningDelta, TextDelta

OPEN = "<think>"
CLOSE = "</think>"


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest proper prefix of ``tag`` that ``text`` ends with."""
    for k in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:k]):
            return k
    return 0


class ThinkSplitter:
    def __init__(self) -> None:
        self._state = "start"  # start -> think -> after -> answer, or start -> answer
        self._pending = ""

    def feed(self, chunk: str) -> list[ReasoningDelta | TextDelta]:
        if self._state == "answer" and not self._pending:
            return [TextDelta(chunk)] if chunk else []
        text = self._pending + chunk
        self._pending = ""
        out: list[ReasoningDelta | TextDelta] = []
        if self._state == "start":
            stripped = text.lstrip()
            if stripped.startswith(OPEN):
                self._state = "think"
                text = stripped[len(OPEN) :]
            elif OPEN.startswith(stripped):  # "", "<", "<th"…: wait for more
                self._pending = text
                return out
            else:
                self._state = "answer"
                return [TextDelta(text)]
        if self._state == "think":
            idx = text.find(CLOSE)
            if idx >= 0:
                if idx:
                    out.append(ReasoningDelta(text[:idx]))
                self._state = "after"
                text = text[idx + len(CLOSE) :]
            else:
                keep = _partial_suffix(text, CLOSE)
                body = text[: len(text) - keep]
                self._pending = text[len(text) - keep :]
                if body:
                    out.append(ReasoningDelta(body))
                return out
        if self._state == "after":  # drop the blank lines between the block and the answer
            text = text.lstrip("\n")
            if not text:
                return out
            self._state = "answer"
        if text:
            out.append(TextDelta(text))
        return out

    def flush(self) -> list[ReasoningDelta | TextDelta]:
        """Emit whatever is held back at the end of the stream."""
        pending, self._pending = self._pending, ""
        if not pending:
            return []
        if self._state == "think":
            return [ReasoningDelta(pending)]
        return [TextDelta(pending)]
