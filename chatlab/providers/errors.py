"""Turn any exception an SDK (or its HTTP layer) raises into a :class:`StreamError`.

The SDKs raise status errors with the HTTP code and the provider's JSON body (OpenAI's
and Anthropic's ``APIStatusError``, google-genai's ``ClientError`` / ``ServerError``,
whose body carries Google's ``status`` word and, for a 429, a ``RetryInfo`` delay);
mid-stream error events arrive the same way but with the stream's 200 status, so the
body's error type decides. Transport failures map to ``network`` or ``timeout``; anything we cannot
parse is ``protocol``. The provider's own message is kept, because it is usually the
most useful sentence a user will read.
"""

from __future__ import annotations

import json
import math
import sys
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from chatlab.core.data.events import ErrorKind, StreamError

_TYPE_KINDS: dict[str, ErrorKind] = {
    # Anthropic error.type values
    "authentication_error": ErrorKind.AUTH,
    "permission_error": ErrorKind.AUTH,
    "invalid_request_error": ErrorKind.BAD_REQUEST,
    "request_too_large": ErrorKind.BAD_REQUEST,
    "not_found_error": ErrorKind.NOT_FOUND,
    "rate_limit_error": ErrorKind.RATE_LIMIT,
    "overloaded_error": ErrorKind.OVERLOADED,
    "api_error": ErrorKind.SERVER,
    "timeout_error": ErrorKind.TIMEOUT,
    # OpenAI error.type / error.code values
    "invalid_api_key": ErrorKind.AUTH,
    "insufficient_quota": ErrorKind.RATE_LIMIT,
    "rate_limit_exceeded": ErrorKind.RATE_LIMIT,
    "tokens": ErrorKind.RATE_LIMIT,
    "server_error": ErrorKind.SERVER,
    "server_is_overloaded": ErrorKind.OVERLOADED,
    "slow_down": ErrorKind.OVERLOADED,
    "model_not_found": ErrorKind.NOT_FOUND,
    "invalid_prompt": ErrorKind.BAD_REQUEST,
    "context_length_exceeded": ErrorKind.BAD_REQUEST,
    "vector_store_timeout": ErrorKind.TIMEOUT,
    # Google's error.status values (google.rpc.Code names)
    "UNAUTHENTICATED": ErrorKind.AUTH,
    "PERMISSION_DENIED": ErrorKind.AUTH,
    "INVALID_ARGUMENT": ErrorKind.BAD_REQUEST,
    "FAILED_PRECONDITION": ErrorKind.BAD_REQUEST,
    "OUT_OF_RANGE": ErrorKind.BAD_REQUEST,
    "NOT_FOUND": ErrorKind.NOT_FOUND,
    "RESOURCE_EXHAUSTED": ErrorKind.RATE_LIMIT,
    "UNAVAILABLE": ErrorKind.OVERLOADED,
    "INTERNAL": ErrorKind.SERVER,
    "DEADLINE_EXCEEDED": ErrorKind.TIMEOUT,
}


class StreamFailure(Exception):
    """Raised inside an adapter to end its stream with ``error`` (the text so far kept)."""

    def __init__(self, error: StreamError) -> None:
        super().__init__(error.message)
        self.error = error


def event_error(body: Any, fallback: str) -> StreamError:
    """An error the provider reported inside a stream that began with status 200: its kind
    from the body's ``code`` or ``type``, its message from the body (else ``fallback``)."""
    err = _error_obj(body)
    kind = kind_for_code(err.get("code"), kind_for_code(err.get("type"), ErrorKind.SERVER))
    return StreamError(kind, _message(body, fallback))


def stream_error(error: Any) -> StreamError:
    """An OpenAI stream event whose data carries an ``error`` (what the SDK raises as
    ``APIError`` with that body, and :func:`map_exception` then reads)."""
    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return event_error(error, message)


def google_error(body: Any, fallback: str) -> StreamError:
    """An error chunk in a Gemini stream (``{"error": {"code", "message", "status"}}``):
    its kind from the HTTP code, else the status word; its message from the body."""
    err = _error_obj(body)
    kind = kind_for_code(err.get("code"), kind_for_code(err.get("status"), ErrorKind.SERVER))
    return StreamError(kind, _message(body, fallback))


def google_retry_delay(body: Any) -> float | None:
    """The seconds a Google 429 asks to wait (``RetryInfo.retryDelay``, e.g. ``"7s"``)."""
    details = _error_obj(body).get("details")
    for item in details if isinstance(details, list) else ():
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                seconds = float(delay[:-1])
            except ValueError:
                continue
            if math.isfinite(seconds) and seconds >= 0:
                return seconds
    return None


def not_an_object(data: Any) -> StreamError:
    what = type(data).__name__ if not isinstance(data, list) else "an array"
    return StreamError(
        ErrorKind.PROTOCOL, f"malformed stream data: an event that is {what}, not a JSON object"
    )


def kind_for_status(status: int) -> ErrorKind:
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 408:
        return ErrorKind.TIMEOUT
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if status in (503, 529):
        return ErrorKind.OVERLOADED
    if status >= 500:
        return ErrorKind.SERVER
    return ErrorKind.BAD_REQUEST


def kind_for_code(code: Any, default: ErrorKind) -> ErrorKind:
    if isinstance(code, str):
        return _TYPE_KINDS.get(code, default)
    if isinstance(code, int) and 400 <= code < 600:
        return kind_for_status(code)
    return default


def _error_obj(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner
    return {}


def _message(body: Any, fallback: str) -> str:
    err = _error_obj(body)
    msg = err.get("message")
    if isinstance(msg, str) and msg:
        return msg
    if isinstance(body, str) and body:
        return body
    return fallback


def sse_body(body: Any) -> Any:
    """An error body a server sent framed as an event stream (``data: {"error": …}``, as
    LiteLLM's proxy does for a failed stream) as the JSON object it frames; any other
    body as it is."""
    if not isinstance(body, str) or "data:" not in body[:1000]:
        return body
    for line in body[:100_000].splitlines():
        if line.startswith("data:"):
            try:
                found = json.loads(line[5:].strip())
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    return body


# The API a path belongs to, for a 404 that says nothing of its own.
_APIS = (
    ("/chat/completions", "Chat Completions API"),
    ("/responses", "Responses API"),
    ("/messages", "Anthropic Messages API"),
    (":streamGenerateContent", "Gemini API"),
)


def _status_words(response: Any, status: int, said: str, specific: bool) -> str:
    """An error status in words: ``404 from URL: what the body said`` (else the status's
    reason), and, for a 404 whose body gave no error message of its own (``specific``:
    "the model x does not exist" is), which API the path belongs to."""
    request = getattr(response, "request", None)
    url = str(getattr(request, "url", "") or "")
    url = url.split("?", 1)[0]
    reason = said or getattr(response, "reason_phrase", "") or "no message"
    where = f" from {url}" if url else ""
    words = f"{status}{where}: {reason}"
    if status == 404 and not specific:
        api = next((name for path, name in _APIS if path in url), None)
        if api:
            words += f" — does this server speak the {api}?"
    return words


def retry_after(headers: httpx2.Headers) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            seconds = float(ms) / 1000
        except ValueError:
            pass
        else:
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        from datetime import UTC, datetime

        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def _sdk_errors(name: str) -> tuple[type[BaseException], ...]:
    """The named exception class from each SDK that is loaded (an SDK's exception implies
    its module is loaded, so neither SDK has to be imported just to classify errors)."""
    found = []
    for module in ("openai", "anthropic"):
        sdk = sys.modules.get(module)
        if sdk is not None:
            found.append(getattr(sdk, name))
    return tuple(found)


def _google_errors() -> tuple[type[BaseException], ...]:
    """google-genai's ``APIError`` (the base of its ``ClientError`` and ``ServerError``),
    when the SDK is loaded."""
    errors = sys.modules.get("google.genai.errors")
    return (errors.APIError,) if errors is not None else ()


def _google_status(exc: BaseException) -> StreamError:
    """A google-genai ``APIError``: the HTTP code decides the kind (a generic 5xx may say
    more in Google's status word), the provider's message is kept, and a 429's wait comes
    from ``Retry-After`` or the body's ``RetryInfo``."""
    status = getattr(exc, "code", None)
    body = getattr(exc, "details", None)
    err = _error_obj(body)
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        message = _message(body, str(exc))
    if not isinstance(status, int) or status < 400:  # an error chunk inside a 200 stream
        return StreamError(google_error(body, message).kind, message)
    kind = kind_for_status(status)
    if kind is ErrorKind.SERVER:
        kind = kind_for_code(err.get("status"), kind)
    headers = getattr(getattr(exc, "response", None), "headers", None)
    wait = retry_after(headers) if isinstance(headers, httpx2.Headers) else None
    if wait is None and status == 429:
        wait = google_retry_delay(body)
    return StreamError(kind, message, status_code=status, retry_after_s=wait)


def _connect_reason(exc: BaseException) -> str | None:
    """Why a connection could not be made ("connection refused"), or None if it was made."""
    import socket
    import ssl

    seen: set[int] = set()
    node: BaseException | None = exc
    connect = False
    reason = None
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, httpx2.ConnectError | httpx2.ConnectTimeout):
            connect = True
        if isinstance(node, ConnectionRefusedError):
            return "connection refused"
        if isinstance(node, socket.gaierror):
            return "host not found"
        if isinstance(node, ssl.SSLError):
            return f"TLS error: {node.reason or node}"
        if isinstance(node, httpx2.ConnectTimeout | TimeoutError):
            reason = "timed out"
        node = node.__cause__ or node.__context__
    if connect:
        return reason or str(exc) or "connection failed"
    return None


def map_exception(exc: BaseException, base_url: str | None = None, hint: str | None = None) -> StreamError:
    """Classify ``exc``; never raises. ``base_url`` names the endpoint in connection
    errors, and ``hint`` (a local server's preset: "is LM Studio's server started?")
    follows them."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:  # an HTTP layer's task group
        exc = exc.exceptions[0]
    if isinstance(exc, StreamFailure):
        return exc.error
    if isinstance(exc, (*_sdk_errors("APIConnectionError"), httpx2.RequestError)):
        reason = _connect_reason(exc)
        if reason is not None:
            where = f" to {base_url}" if base_url else ""
            after = f" — {hint}" if hint else ""
            message = f"could not connect{where} ({reason}){after}"
            return StreamError(ErrorKind.NETWORK, message, started=False)
    # Timeouts first: they subclass the connection errors.
    if isinstance(exc, (*_sdk_errors("APITimeoutError"), httpx2.TimeoutException)):
        return StreamError(ErrorKind.TIMEOUT, "the provider did not answer in time")
    if isinstance(exc, _google_errors()):
        return _google_status(exc)
    if isinstance(exc, _sdk_errors("APIStatusError")):
        assert hasattr(exc, "body") and hasattr(exc, "status_code") and hasattr(exc, "response")
        body = sse_body(exc.body)
        status = exc.status_code
        err = _error_obj(body)
        if status >= 400:
            kind = kind_for_status(status)
            if kind is ErrorKind.SERVER:  # a generic 5xx: the body may say more (overloaded_error)
                kind = kind_for_code(err.get("code"), kind_for_code(err.get("type"), kind))
        else:  # an error event inside a 200 stream
            kind = kind_for_code(err.get("code"), kind_for_code(err.get("type"), ErrorKind.SERVER))
        message = _message(body, "")
        if status >= 400 and (status == 404 or not message):
            message = _status_words(exc.response, status, message, specific=bool(err.get("message")))
        return StreamError(
            kind,
            message or str(exc),
            status_code=status if status >= 400 else None,
            retry_after_s=retry_after(exc.response.headers) if status >= 400 else None,
        )
    if isinstance(exc, (*_sdk_errors("APIConnectionError"), httpx2.RequestError)):
        cause = exc.__cause__ or exc.__context__
        detail = f": {cause}" if cause and str(cause) else ""
        return StreamError(ErrorKind.NETWORK, f"connection lost{detail}")
    if isinstance(exc, _sdk_errors("APIError")):
        return event_error(getattr(exc, "body", None), str(exc))
    if isinstance(exc, json.JSONDecodeError | ValueError | TypeError | KeyError | AttributeError):
        return StreamError(ErrorKind.PROTOCOL, f"malformed stream data: {type(exc).__name__}: {exc}")
    return StreamError(ErrorKind.PROTOCOL, f"{type(exc).__name__}: {exc}")
