"""Typed stream events: the only vocabulary a provider adapter speaks to the core.

Every adapter turns its SDK's objects into these frozen dataclasses, so nothing above
``chatlab.providers`` ever sees an SDK type. A stream is a sequence of reasoning and text
deltas, at most one usage report, notes about what chatlab had to correct, and exactly one
terminal event: :class:`Done` when the provider sent its end marker, or
:class:`StreamError` otherwise. Error kinds are a closed set so that the UI, the CLI's
exit code and the export all agree on what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a lane failed. The value is what exports and the UI show."""

    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    SERVER = "server"
    OVERLOADED = "overloaded"
    NETWORK = "network"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"
    CANCELLED = "cancelled"

    @property
    def interrupts(self) -> bool:
        """True when the stream broke off (transport) rather than being refused."""
        return self in (ErrorKind.NETWORK, ErrorKind.TIMEOUT)


@dataclass(frozen=True, slots=True)
class Usage:
    """Normalised token usage.

    ``input_tokens`` is the total input including cached and cache-write tokens;
    ``output_tokens`` includes reasoning tokens. ``estimated`` is True when the figures
    were counted locally rather than reported by the provider; ``reasoning_estimated``
    when only the reasoning count is local (Anthropic without ``thinking_tokens``, or a
    ``<think>`` block the model wrote in its answer, e.g. a prompted lane's).
    """

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_input_tokens: int = 0
    estimated: bool = False
    reasoning_estimated: bool = False

    def to_dict(self) -> dict[str, int | bool]:
        return {
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_input_tokens": self.cache_write_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "estimated": self.estimated,
            "reasoning_estimated": self.reasoning_estimated,
        }


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's visible reasoning (thinking, summary or ``<think>`` text)."""

    text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer. ``refusal`` marks text the provider flagged as a refusal."""

    text: str
    refusal: bool = False


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Usage as reported by the provider; ``cost_usd`` only when the provider billed it."""

    usage: Usage
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should know about this response that is not part of its text:
    usage the provider sent that was out of range and was dropped, a final text that
    differed from what was streamed. It is kept with the response (``notes``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Revision:
    """The provider's final word on the answer (or the reasoning) differs from what was
    streamed: ``text`` replaces the whole of it. Rare; views re-render when it happens."""

    text: str
    reasoning: bool = False


@dataclass(frozen=True, slots=True)
class StreamError:
    """A terminal failure. Text already delivered stays with the response.

    ``started`` is False when the request failed before the provider began answering
    (refused with an HTTP error, or no connection at all): such a request was never
    interrupted, and it cost nothing.
    """

    kind: ErrorKind
    message: str
    status_code: int | None = None
    retry_after_s: float | None = None
    started: bool = True

    @property
    def retryable(self) -> bool:
        """Worth sending again if nothing has arrived yet: 408, 409, 429, 5xx, 529, or a
        failed connection. Never after a token, which would duplicate text."""
        if self.status_code is not None:
            return self.status_code in (408, 409, 429) or self.status_code >= 500
        # An error event inside the stream, or a connection that failed or broke off.
        return self.kind in (ErrorKind.NETWORK, ErrorKind.RATE_LIMIT, ErrorKind.OVERLOADED, ErrorKind.SERVER)


@dataclass(frozen=True, slots=True)
class Done:
    """The provider's end marker arrived; ``finish_reason`` is the provider's own word."""

    finish_reason: str | None = None


StreamEvent = ReasoningDelta | TextDelta | UsageReport | Notice | Revision | StreamError | Done
