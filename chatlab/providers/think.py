"""Live splitting of inline ``<think>…</think>`` reasoning out of a model's answer text.

Some OpenAI-compatible servers (Ollama, vLLM, llama.cpp with R1-style models) put the
reasoning inline in ``content``. The splitter routes it to the reasoning pane while the
stream is running, even when a tag is cut across chunks: a possible tag prefix at the
end of a chunk is held back until the next chunk decides it. An opening tag counts only
before any answer text (after whitespace); after the block closes, text passes straight
through, so an answer that talks about ``<think>`` tags is left alone.

:class:`InlineThink` is what a reader holds: the splitter (Chat Completions always
splits; Messages and Responses split when the lane is ``think = "prompted"``), the
reasoning it split (and reasoning sent as a part of the answer, e.g. Mistral's
``thinking`` parts, :meth:`InlineThink.reasoned`), and :meth:`InlineThink.usage`, which
counts that reasoning as reasoning tokens. A provider counts an inline block as answer
tokens, so the count is chatlab's own estimate (tiktoken, else the approximation),
flagged ``reasoning_estimated`` (shown with ≈); the provider's output total stays. A
block that never closes stays reasoning to the end, whatever ends the stream.

Both take time in proportion to the text, however it is cut: whitespace before the tag
is kept aside rather than re-joined with every chunk, and a server that reports usage
with every chunk has the block counted again only as it grows by half (in between, the
new characters are estimated at four a token), exactly once more at the end
(:attr:`InlineThink.settled`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from chatlab.core.costs.tokens import count_tokens
from chatlab.core.data.events import ReasoningDelta, TextDelta, UsageReport

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
        self._pending = ""  # the start of a tag, held until the next chunk decides it
        self._lead: list[str] = []  # whitespace before anything else: dropped before a block

    def feed(self, chunk: str) -> list[ReasoningDelta | TextDelta]:
        if self._state == "answer" and not self._pending:
            return [TextDelta(chunk)] if chunk else []
        text = self._pending + chunk
        self._pending = ""
        out: list[ReasoningDelta | TextDelta] = []
        if self._state == "start":
            stripped = text.lstrip()
            if len(stripped) < len(text):
                self._lead.append(text[: len(text) - len(stripped)])
            if stripped.startswith(OPEN):
                self._state = "think"
                self._lead = []
                text = stripped[len(OPEN) :]
            elif OPEN.startswith(stripped):  # "", "<", "<th"…: wait for more
                self._pending = stripped
                return out
            else:
                self._state = "answer"
                lead, self._lead = "".join(self._lead), []
                return [TextDelta(lead + stripped)]
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
        if self._state == "start":
            pending, self._lead = "".join(self._lead) + pending, []
        if not pending:
            return []
        if self._state == "think":
            return [ReasoningDelta(pending)]
        return [TextDelta(pending)]


class InlineThink:
    """A reader's inline ``<think>`` state: the splitter when ``on`` (else text passes
    through), the reasoning split so far, and the usage that counts it.

    ``prompted``: the lane asked for the block, so its tokens are added to any reasoning
    the provider reported; otherwise (a server that streams an R1-style model's block in
    the answer) they are counted only when the provider reported none."""

    def __init__(self, model: str = "", on: bool = True, prompted: bool = False) -> None:
        self.model = model
        self.on = on
        self.prompted = prompted
        self.splitter = ThinkSplitter()
        self.parts: list[str] = []
        self.chars = 0  # of the reasoning split so far
        self._count: tuple[int, int] | None = None  # (chars, tokens) when last counted
        self._settled = 0  # chars the last usage counted exactly (-1: it estimated some)

    @property
    def text(self) -> str:
        """The reasoning split out so far."""
        return "".join(self.parts)

    @property
    def settled(self) -> bool:
        """The last :meth:`usage` counted all the reasoning split so far, exactly."""
        return self._settled == self.chars

    def _kept(self, out: list[ReasoningDelta | TextDelta]) -> list[ReasoningDelta | TextDelta]:
        for ev in out:
            if isinstance(ev, ReasoningDelta):
                self.parts.append(ev.text)
                self.chars += len(ev.text)
        return out

    def feed(self, chunk: str) -> list[ReasoningDelta | TextDelta]:
        if not self.on:
            return [TextDelta(chunk)]
        return self._kept(self.splitter.feed(chunk))

    def flush(self) -> list[ReasoningDelta | TextDelta]:
        return self._kept(self.splitter.flush())

    def reasoned(self, text: str) -> ReasoningDelta:
        """Reasoning the server sent as a part of its answer (Mistral's ``thinking``
        content parts), counted as a split block is: its tokens are in the provider's
        output count, and estimated as reasoning when it reported none."""
        self.parts.append(text)
        self.chars += len(text)
        return ReasoningDelta(text)

    def restart(self, whole: str) -> tuple[str, str]:
        """Split ``whole``, the provider's final answer text, afresh: (reasoning, answer).
        The splitter is left as after reading it, ready for more."""
        self.splitter = ThinkSplitter()
        self.parts = []
        self.chars, self._count, self._settled = 0, None, 0
        out = self.feed(whole)
        answer = "".join(ev.text for ev in out if isinstance(ev, TextDelta))
        return self.text, answer

    def _tokens(self, exact: bool) -> int:
        """Tokens of the reasoning split so far: counted again when ``exact``, or once it
        has grown by half since the last count; in between, the last count plus the new
        characters at four a token."""
        if self._count is not None:
            at, tokens = self._count
            if at == self.chars:
                self._settled = self.chars
                return tokens
            if not exact and self.chars < at * 3 // 2:
                self._settled = -1
                return tokens + math.ceil((self.chars - at) / 4)
        tokens = count_tokens(self.text, self.model).tokens
        self._count = (self.chars, tokens)
        self._settled = self.chars
        return tokens

    def usage(self, report: UsageReport, exact: bool = True) -> UsageReport:
        """``report`` with the split reasoning counted as (estimated) reasoning tokens.
        ``exact=False`` (usage that may come with every chunk): see :meth:`_tokens`."""
        self._settled = self.chars
        if not self.chars:
            return report
        usage = report.usage
        if usage.reasoning_tokens and not self.prompted:
            return report  # the server counted its model's reasoning itself
        tokens = min(usage.reasoning_tokens + self._tokens(exact), usage.output_tokens)
        if not tokens:
            return report
        return replace(report, usage=replace(usage, reasoning_tokens=tokens, reasoning_estimated=True))
