"""The stream guard: every adapter event made safe to keep before a lane takes it in.

Text is made valid Unicode (a surrogate half split across two deltas is held until its
other half comes), the lane's key is redacted, and usage out of range is dropped with a
note (:func:`usage_problem`). :class:`~chatlab.core.lab.orchestrator.TurnRun` passes
each lane's stream through one :class:`Guard`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace

from chatlab.core.data import safety
from chatlab.core.data.events import (
    Done,
    Notice,
    ReasoningDelta,
    Revision,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)

_USAGE_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_write_input_tokens",
)


def usage_problem(usage: Usage) -> str | None:
    """Why a reported usage can't be believed (a count out of range), or None."""
    for name in _USAGE_FIELDS:
        problem = safety.count_problem(getattr(usage, name))
        if problem:
            return f"{name}: {problem}"
    return None


class Guard:
    """An adapter's events made safe to keep: valid Unicode, no key, believable numbers.

    Text and reasoning pass through :class:`~chatlab.core.data.safety.StreamRedactor` (a key
    split across chunks is still caught). A high surrogate that ends a delta waits for the
    next delta of its channel: a server that slices text in UTF-16 units may send an
    emoji's two halves apart. A usage report with a count out of range is dropped, so the
    estimate stays and is marked as one, with a :class:`Notice`; a cost that is not finite
    and non-negative is dropped the same way, keeping the counts. Invalid Unicode replaced
    by U+FFFD is said once, in a note, at the end. A lane that ends without a final event
    (stopped, timed out, its adapter failed) takes what is still held from :meth:`held`.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = secrets
        self.redactors = {"text": safety.StreamRedactor(secrets), "reasoning": safety.StreamRedactor(secrets)}
        self.halves = {"text": "", "reasoning": ""}
        self.replaced = False  # invalid Unicode was replaced
        self.noted = False  # and the note said so

    def _valid(self, value: str) -> str:
        cleaned = safety.clean_text(value)
        # Joining a surrogate pair is no replacement; a lone half turned into U+FFFD is.
        if cleaned is not value and cleaned.count("\ufffd") > value.count("\ufffd"):
            self.replaced = True
        return cleaned

    def _piece(self, channel: str, value: str) -> str:
        """``value`` after what its channel held, redacted; a high half at its end waits."""
        value = self.halves[channel] + value
        self.halves[channel] = ""
        if value and "\ud800" <= value[-1] <= "\udbff":
            self.halves[channel], value = value[-1], value[:-1]
        return self.redactors[channel].feed(self._valid(value))

    def _release(self, channel: str) -> str:
        """What ``channel`` still holds: a half that never got its pair (U+FFFD), then the
        redactor's tail."""
        half, self.halves[channel] = self.halves[channel], ""
        redactor = self.redactors[channel]
        return (redactor.feed(self._valid(half)) if half else "") + redactor.flush()

    def _clean(self, value: str) -> str:
        return safety.redact(self._valid(value), self.secrets)

    def held(self) -> list[StreamEvent]:
        """Everything still held, released: each channel's half and redactor tail, then
        the note, once, if any text was replaced."""
        out: list[StreamEvent] = []
        if tail := self._release("reasoning"):
            out.append(ReasoningDelta(tail))
        if tail := self._release("text"):
            out.append(TextDelta(tail))
        if self.replaced and not self.noted:
            self.noted = True
            out.append(Notice(safety.UNICODE_NOTE))
        return out

    async def events(self, events: AsyncGenerator[StreamEvent, None]) -> AsyncGenerator[StreamEvent, None]:
        async with contextlib.aclosing(events) as stream:
            async for ev in stream:
                if isinstance(ev, TextDelta):
                    piece = self._piece("text", ev.text)
                    if piece or ev.refusal:
                        yield TextDelta(piece, ev.refusal)
                elif isinstance(ev, ReasoningDelta):
                    if piece := self._piece("reasoning", ev.text):
                        yield ReasoningDelta(piece)
                elif isinstance(ev, UsageReport):
                    problem = usage_problem(ev.usage)
                    if problem:
                        yield Notice(safety.usage_note(problem))
                        continue
                    cost = ev.cost_usd
                    if cost is not None and (problem := safety.cost_problem(cost)):
                        yield Notice(safety.cost_note(f"cost: {problem}"))
                        ev = UsageReport(ev.usage, None)
                    yield ev
                elif isinstance(ev, Notice):
                    yield Notice(self._clean(ev.text))
                elif isinstance(ev, Revision):
                    # The revision replaces its channel's text: what that channel held goes
                    # with it; the other channel keeps waiting for its next delta.
                    channel = "reasoning" if ev.reasoning else "text"
                    self.halves[channel] = ""
                    self.redactors[channel].flush()
                    yield Revision(self._clean(ev.text), ev.reasoning)
                elif isinstance(ev, StreamError):
                    for out in self.held():
                        yield out
                    status = ev.status_code
                    after = ev.retry_after_s
                    yield replace(
                        ev,
                        message=self._clean(ev.message),
                        status_code=status if isinstance(status, int) and 100 <= status <= 599 else None,
                        retry_after_s=after
                        if after is not None and safety.cost_problem(after) is None
                        else None,
                    )
                    return
                else:
                    for out in self.held():
                        yield out
                    if isinstance(ev, Done) and ev.finish_reason is not None:
                        ev = Done(self._clean(str(ev.finish_reason)))
                    yield ev
                    return
        for out in self.held():
            yield out
