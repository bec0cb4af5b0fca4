"""Adapter for Google's Gemini API (``streamGenerateContent?alt=sse``, v1beta), on ``google-genai``.

The SDK builds the request from its own types (``GenerateContentConfig``, with the
lane's system prompt as ``system_instruction``, ``temperature``, ``max_output_tokens``
and a ``ThinkingConfig``) and sends it: URL, API version, the key in the
``x-goog-api-key`` header, no hidden retries, a generous timeout, and a failed status
raised as its ``ClientError`` / ``ServerError`` (read by
:func:`~chatlab.providers.errors.map_exception`). The SDK's public stream turns every
chunk into pydantic models (~0.3 ms a chunk, and one count it can't parse ends the
answer), so, as for the other formats, chatlab reads the response's bytes itself
(:mod:`chatlab.providers.sse`, the shared pacing and coalescing of
:class:`~chatlab.providers.base.SDKAdapter`); the SDK's request builder and sender are
reached through its private ``_api_client`` (see :func:`_send`). A model name holding
what the SDK would put into the URL's path unescaped (``#``, whitespace, a control
character) is refused before sending.

Thinking: the lane's reasoning knob is translated by
:func:`chatlab.core.settings.reasoning.translate` (a budget for 2.5, a level for 3);
the older ``thinking_budget`` is sent as it is and ``reasoning_effort`` as the knob's
level. When the model thinks, thought summaries are asked for (``include_thoughts``):
parts marked ``thought`` become reasoning, other text the answer, ``thoughtSignature``
is ignored. Usage arrives with every chunk: the latest wins. Input = ``promptTokenCount``
(+ ``toolUsePromptTokenCount``), cached = ``cachedContentTokenCount``, reasoning =
``thoughtsTokenCount``, output = ``candidatesTokenCount`` + ``thoughtsTokenCount`` (what
Google bills). A candidate's ``finishReason`` is the end marker; a safety, recitation or
blocklist stop, or a ``promptFeedback.blockReason``, is a refusal said in a plain
sentence. Content, parts or a part of a shape chatlab can't read count as parts it
can't show (an answer of nothing else is an error, never an empty "ok"). An ``error``
chunk mid-stream ends the lane with the text kept. A server that
answers with one JSON ``GenerateContentResponse`` instead of a stream is read as the
whole answer.

A response schema (a judge's call) is sent as ``response_json_schema`` with
``response_mime_type="application/json"`` when the provider takes it
(``ProviderConfig.structured_output``) and the model is Gemini 2.5 or later (thinking
models included; see :func:`takes_json_schema`); otherwise nothing, and the prompt
alone asks for JSON.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

from chatlab.core.data.events import (
    Done,
    ErrorKind,
    Notice,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from chatlab.core.data.model import LaneParams, Message, Request
from chatlab.core.settings import families, reasoning
from chatlab.core.settings.config import ProviderConfig
from chatlab.core.settings.prompted import PROMPTED
from chatlab.providers import sse
from chatlab.providers.base import NO_KEY, SDK_TIMEOUT_S, SDKAdapter
from chatlab.providers.common import (
    counts,
    is_record,
    no_end_marker,
    not_a_record,
    schema_sent,
    text_of,
    usage_events,
)
from chatlab.providers.errors import StreamFailure, google_error, map_exception, not_an_object
from chatlab.providers.think import InlineThink

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
_VERSION_SUFFIX = re.compile(r"/(v1(?:alpha|beta)?\d*)/*$")
# What the SDK's URL builder would pass into the request's path as it is: a '#' (the rest,
# ':streamGenerateContent?alt=sse' included, becomes a fragment: the request goes to
# another endpoint), a backslash, whitespace or a control character.
_UNSAFE_MODEL = re.compile(r"[#\\\s\x00-\x1f\x7f]")

# The older reasoning_effort, as the knob's level.
EFFORT_LEVELS = {
    "none": "off",
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}

# A finishReason (or a prompt's blockReason) that means Gemini would not answer, and why.
REFUSALS = {
    "SAFETY": "its safety filters blocked it",
    "RECITATION": "it would have recited material it was trained on",
    "BLOCKLIST": "it contained a term on a blocklist",
    "PROHIBITED_CONTENT": "it was judged prohibited content",
    "SPII": "it contained sensitive personal information",
    "LANGUAGE": "its language is not supported",
    "IMAGE_SAFETY": "its safety filters blocked an image",
    "IMAGE_PROHIBITED_CONTENT": "an image was judged prohibited content",
    "IMAGE_RECITATION": "an image would have recited material it was trained on",
    "OTHER": "for a reason it did not give",
}


def split_base_url(base_url: str | None) -> tuple[str, str]:
    """(the base URL without an API version, the API version): a configured
    ``…/v1beta`` or ``…/v1`` is read as the version, else v1beta."""
    url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    found = _VERSION_SUFFIX.search(url)
    if found:
        return url[: found.start()], found.group(1)
    return url, API_VERSION


def thinking(provider: ProviderConfig, request: Request) -> dict[str, Any] | None:
    """The ``thinking_config`` to send (None: send none). Raises
    :class:`~chatlab.core.settings.reasoning.KnobError` for a setting the model can't take."""
    p = request.params
    if p.reasoning is None and p.thinking_budget is None and p.reasoning_effort is not None:
        p = replace(p, reasoning=EFFORT_LEVELS.get(p.reasoning_effort, "medium"), reasoning_effort=None)
    sent = reasoning.translate(provider, request.model, p)
    config = sent.body.get("thinking_config")
    config = dict(config) if isinstance(config, dict) else {}
    if not config and sent.params.thinking_budget is not None:
        config = {"thinking_budget": sent.params.thinking_budget}
    if not reasoning.support(provider, request.model).reasons:
        return config or None  # a model that doesn't think: only what was asked
    if config.get("thinking_budget") != 0:
        config["include_thoughts"] = True  # thought summaries, as reasoning
    return config


def build_config(provider: ProviderConfig, request: Request) -> dict[str, Any]:
    """The ``GenerateContentConfig`` fields for a lane (see :func:`thinking`)."""
    p: LaneParams = request.params
    config: dict[str, Any] = {
        "automatic_function_calling": {"disable": True},
    }
    if p.system:
        config["system_instruction"] = p.system
    if p.temperature is not None:
        config["temperature"] = p.temperature
    if p.max_output_tokens is not None:
        config["max_output_tokens"] = p.max_output_tokens
    think = thinking(provider, request)
    if think:
        if "thinking_level" in think:
            think["thinking_level"] = str(think["thinking_level"]).upper()
        config["thinking_config"] = think
    wanted = request.response_schema
    if wanted is not None and provider.structured_output and takes_json_schema(request.model):
        config["response_mime_type"] = "application/json"
        config["response_json_schema"] = schema_sent(wanted)
    return config


_VERSION = re.compile(r"gemini-(\d+)(?:\.(\d+))?")


def takes_json_schema(model: str) -> bool:
    """Whether the model takes ``response_json_schema`` (Gemini 2.5 and later; not 2.0,
    nor a Gemma or a name chatlab can't read, which may refuse JSON output)."""
    found = _VERSION.search(families.bare(model))
    return found is not None and (int(found.group(1)), int(found.group(2) or 0)) >= (2, 5)


def contents(request: Request) -> list[dict[str, Any]]:
    """The conversation as Gemini ``Content``: the assistant's turns are the ``model``'s."""
    return [
        {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
        for m in request.messages
        if m.role in ("user", "assistant")
    ]


class _Stream:
    """The open response: what :meth:`SDKAdapter.read` and :func:`sniff` need of a stream."""

    def __init__(self, response: Any) -> None:
        self.response = response

    async def close(self) -> None:
        await self.response.aclose()


class GeminiAdapter(SDKAdapter):
    def __init__(self, provider: ProviderConfig, api_key: str | None) -> None:
        from google import genai
        from google.genai import types

        self.provider = provider
        base, version = split_base_url(provider.base_url)
        self._base = base
        options = types.HttpOptions(
            base_url=base + "/",
            api_version=version,
            timeout=int(SDK_TIMEOUT_S * 1000),  # milliseconds; the orchestrator times lanes
            retry_options=None,  # chatlab retries in the open (orchestrator), never hidden in the SDK
        )
        self.client: Any = genai.Client(api_key=api_key or NO_KEY, vertexai=False, http_options=options)

    @property
    def url(self) -> str:
        """The endpoint, for error messages; the key is sent in a header, never here."""
        return self._base

    async def aclose(self) -> None:
        await self.client.aio.aclose()
        self.client.close()

    def warm_up(self) -> None:
        """Build (never send) one request, in the caller's worker thread: the first use of
        the SDK's request types and converters costs ~50 ms, which must not fall inside a
        lane's clock."""
        request = Request("gemini-2.5-flash", [Message("user", "")], LaneParams(system="", temperature=1.0))
        self._build(request, build_config(self.provider, request))

    async def list_models(self) -> list[str]:
        """The provider's models (``GET /v1beta/models``, every page), without ``models/``."""
        pager = await self.client.aio.models.list()
        return sorted([str(m.name or "").removeprefix("models/") async for m in pager])

    def _build(self, request: Request, config: dict[str, Any]) -> Any:
        """The HTTP request ``generate_content_stream`` would send: the SDK's own converter
        builds the body, and its client the URL, headers (the key) and timeout. These are
        its private ``_api_client`` and ``_GenerateContentParameters_to_mldev``, called as
        its public stream calls them. Raises ValueError for what the SDK refuses."""
        from google.genai import _common, models, types

        if bad := _UNSAFE_MODEL.search(request.model):
            raise ValueError(f"the model name holds {bad.group()!r}, which no Gemini model name has")
        api = self.client.aio._api_client
        params = types._GenerateContentParameters(
            model=request.model, contents=contents(request), config=types.GenerateContentConfig(**config)
        )
        body = models._GenerateContentParameters_to_mldev(api, params, None, params)
        path = "{model}:streamGenerateContent?alt=sse".format_map(body.pop("_url"))
        body.pop("config", None)
        body = _common.encode_unserializable_types(_common.convert_to_dict(body))
        return api._build_request("post", path, body, None)

    async def _send(self, http_request: Any) -> _Stream:
        """Send it and return the response unread; a failed status raises the SDK's
        ``ClientError`` / ``ServerError`` (no retries: ``retry_options`` is unset)."""
        api = self.client.aio._api_client
        sent = await api._async_request(http_request=http_request, http_options=None, stream=True)
        return _Stream(sent.response_stream)

    def whole_message(self, body: dict[str, Any], request: Request) -> list[StreamEvent]:
        reader = _Reader(self.url, request.model, request.params.think == PROMPTED)
        out: list[StreamEvent] = []
        try:
            reader.chunk(body, out)
            reader.end(out)
        except Exception as exc:
            reader.fail(exc, out)
        return out

    async def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]:
        try:
            config = build_config(self.provider, request)
        except reasoning.KnobError as exc:
            yield StreamError(ErrorKind.BAD_REQUEST, str(exc), started=False)
            return
        try:
            http_request = self._build(request, config)
        except ValueError as exc:  # the SDK refused the request (pydantic's errors are ValueErrors)
            yield StreamError(ErrorKind.BAD_REQUEST, f"{exc}", started=False)
            return
        stream = await self.open(self._send(http_request), request)
        if isinstance(stream, list):
            for ev in stream:
                yield ev
            return
        async for ev in self.read(stream, _Reader(self.url, request.model, request.params.think == PROMPTED)):
            yield ev

    async def _bytes(self, stream: Any) -> AsyncGenerator[bytes, None]:
        """The body as it arrives; a failed read raises the ``httpx2`` error (the SDK
        doesn't wrap them)."""
        async for chunk in self._paced(stream.response):
            yield chunk


def _refusal(reason: str, prompt: bool = False) -> str:
    why = REFUSALS.get(reason, "for a reason it did not explain")
    if prompt:
        return f"Gemini refused the prompt: {why} (blockReason {reason})."
    return f"Gemini stopped the answer: {why} (finishReason {reason})."


class _Reader:
    """One ``streamGenerateContent`` stream, chunk by chunk (see
    :class:`~chatlab.providers.base.Reader`)."""

    def __init__(self, url: str, model: str, prompted: bool = False) -> None:
        self.url = url
        self.think = InlineThink(model, on=prompted, prompted=True)  # the answer's <think> block
        self.finish: str | None = None
        self.usage: Any = None  # the latest usageMetadata, raw (checked at the end)
        self.text = False  # some answer or reasoning text arrived
        self.answered = False  # some answer text arrived
        self.unknown: set[str] = set()  # kinds of part chatlab can't show
        self.refused = False

    def feed(self, item: sse.Event, out: list[StreamEvent]) -> bool:
        if not item.lines and item.error is None:
            return False  # an id, a retry or a comment alone
        if not item.data.strip():
            item.check()
            return False
        self.chunk(item.json(), out)
        return False  # usage may still follow the finishReason: read to the end

    def chunk(self, data: Any, out: list[StreamEvent]) -> None:
        """One ``GenerateContentResponse`` (a chunk, or a whole answer)."""
        if not isinstance(data, dict):
            raise StreamFailure(not_an_object(data))
        if data.get("error") is not None:
            raise StreamFailure(google_error(data, "the provider reported an error"))
        if "usageMetadata" in data:
            self.usage = data["usageMetadata"]
        feedback = data.get("promptFeedback")
        block = text_of(feedback.get("blockReason")) if isinstance(feedback, dict) else ""
        if block and not self.refused:
            self.refused = True
            self.finish = block
            out.append(TextDelta(_refusal(block, prompt=True), refusal=True))
        candidates = data.get("candidates")
        if candidates is None:
            return
        first = candidates[0] if isinstance(candidates, list) and candidates else None
        if not isinstance(first, dict) or first.get("index", 0) not in (0, None):
            self.unknown.add("candidates other than the first")  # nothing chatlab asked for
            return
        content = first.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if content is not None and not isinstance(content, dict):
            self.unknown.add(f"content that is {type(content).__name__}")
        elif parts is not None and not isinstance(parts, list):
            self.unknown.add(f"parts that are {type(parts).__name__}")
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, dict):
                self.unknown.add(f"a part that is {type(part).__name__}")
                continue
            text = part.get("text")
            if isinstance(text, str):
                if not text:
                    continue
                self.text = True
                if part.get("thought") is True:
                    out.append(ReasoningDelta(text))
                else:
                    self.answered = True
                    out.extend(self.think.feed(text))
            else:
                self.unknown.update(k for k in part if k not in ("thought", "thoughtSignature"))
        reason = first.get("finishReason")
        if reason is not None:
            reason = reason if isinstance(reason, str) and reason else str(reason)
            self.finish = reason
            if reason in REFUSALS and not self.refused:
                self.refused = True
                out.extend(self.think.flush())
                lead = "\n\n" if self.answered else ""
                out.append(TextDelta(lead + _refusal(reason), refusal=True))

    def _usage(self) -> list[StreamEvent]:
        raw = self.usage
        if raw is None:
            return []
        if not is_record(raw):
            return [not_a_record("usageMetadata", raw)]
        n = counts(
            {
                "promptTokenCount": raw.get("promptTokenCount"),
                "toolUsePromptTokenCount": raw.get("toolUsePromptTokenCount"),
                "cachedContentTokenCount": raw.get("cachedContentTokenCount"),
                "candidatesTokenCount": raw.get("candidatesTokenCount"),
                "thoughtsTokenCount": raw.get("thoughtsTokenCount"),
            }
        )
        if isinstance(n, Notice):
            return [n]
        thoughts = n["thoughtsTokenCount"]
        events = usage_events(
            {
                "input_tokens": n["promptTokenCount"] + n["toolUsePromptTokenCount"],
                "cached_input_tokens": n["cachedContentTokenCount"],
                "output_tokens": n["candidatesTokenCount"] + thoughts,
                "reasoning_tokens": thoughts,
            }
        )
        return [self.think.usage(ev) if isinstance(ev, UsageReport) else ev for ev in events]

    def end(self, out: list[StreamEvent]) -> None:
        out.extend(self.think.flush())
        if self.finish is None:
            out.append(no_end_marker("a finishReason"))
            return
        if self.unknown and not self.text and not self.refused:
            kinds = ", ".join(sorted(self.unknown))
            out.append(
                StreamError(ErrorKind.PROTOCOL, f"the answer held only parts chatlab can't show ({kinds})")
            )
            return
        out.extend(self._usage())
        out.append(Done(self.finish))

    def fail(self, exc: Exception, out: list[StreamEvent]) -> None:
        out.extend(self.think.flush())
        out.append(map_exception(exc, self.url))
