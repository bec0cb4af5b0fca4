"""Asking the loopback server with the official SDKs, as a real client would, and
collecting what came back: the answer text, the reasoning text and the usage counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anthropic
import openai

from chatlab.demo.server import DemoServer

FORMATS = ("chat", "responses", "anthropic", "gemini")


@dataclass
class Reply:
    text: str
    reasoning: str
    output_tokens: int
    reasoning_tokens: int


def _count(value: Any) -> int:
    return int(value or 0)


def _field(obj: Any, name: str) -> Any:
    """A field of an SDK object, typed or extra."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None and getattr(obj, "model_extra", None):
        value = obj.model_extra.get(name)
    return value


def ask(
    server: DemoServer,
    fmt: str,
    model: str,
    prompt: str,
    *,
    system: str | None = None,
    system_form: str = "plain",  # chat: developer | responses: input | anthropic: blocks
    **extra: Any,
) -> Reply:
    """One streamed request in wire format ``fmt`` through its SDK (``extra`` goes into
    the request as it is: ``reasoning_effort``, ``reasoning``, ``thinking``…)."""
    if fmt == "chat":
        return _chat(server, model, prompt, system, system_form, extra)
    if fmt == "responses":
        return _responses(server, model, prompt, system, system_form, extra)
    if fmt == "gemini":
        return _gemini(server, model, prompt, system, extra)
    return _anthropic(server, model, prompt, system, system_form, extra)


def _chat(server: DemoServer, model: str, prompt: str, system: str | None, form: str, extra: Any) -> Reply:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    messages: list[Any] = []
    if system is not None:
        messages.append({"role": "developer" if form == "developer" else "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    text = reasoning = ""
    usage: Any = None
    try:
        stream = client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}, **extra
        )
        for chunk in stream:
            if chunk.choices:
                delta = chunk.choices[0].delta
                text += delta.content or ""
                reasoning += _field(delta, "reasoning_content") or ""
            if chunk.usage is not None:
                usage = chunk.usage
    finally:
        client.close()
    details = _field(usage, "completion_tokens_details")
    return Reply(
        text,
        reasoning,
        _count(_field(usage, "completion_tokens")),
        _count(_field(details, "reasoning_tokens")),
    )


def _responses(
    server: DemoServer, model: str, prompt: str, system: str | None, form: str, extra: Any
) -> Reply:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    kwargs: dict[str, Any] = {"input": [{"role": "user", "content": prompt}]}
    if system is not None and form == "input":
        kwargs["input"] = [{"role": "system", "content": system}, *kwargs["input"]]
    elif system is not None:
        kwargs["instructions"] = system
    text = reasoning = ""
    usage: Any = None
    try:
        for event in client.responses.create(model=model, stream=True, **kwargs, **extra):
            if event.type == "response.output_text.delta":
                text += event.delta
            elif event.type == "response.reasoning_summary_text.delta":
                reasoning += event.delta
            elif event.type == "response.completed":
                usage = event.response.usage
    finally:
        client.close()
    details = _field(usage, "output_tokens_details")
    return Reply(
        text, reasoning, _count(_field(usage, "output_tokens")), _count(_field(details, "reasoning_tokens"))
    )


def _anthropic(
    server: DemoServer, model: str, prompt: str, system: str | None, form: str, extra: Any
) -> Reply:
    client = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="k", max_retries=0)
    kwargs: dict[str, Any] = {}
    if system is not None:
        kwargs["system"] = [{"type": "text", "text": system}] if form == "blocks" else system
    text = reasoning = ""
    usage: Any = None
    try:
        stream = client.messages.create(
            model=model,
            max_tokens=20_000,
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            **kwargs,
            **extra,
        )
        for event in stream:
            if event.type == "content_block_delta":
                if event.delta.type == "text_delta":
                    text += event.delta.text
                elif event.delta.type == "thinking_delta":
                    reasoning += event.delta.thinking
            elif event.type == "message_delta":
                usage = event.usage
    finally:
        client.close()
    details = _field(usage, "output_tokens_details")
    return Reply(
        text, reasoning, _count(_field(usage, "output_tokens")), _count(_field(details, "thinking_tokens"))
    )


def _gemini(server: DemoServer, model: str, prompt: str, system: str | None, extra: Any) -> Reply:
    """Google's SDK, streaming (thinking settings come in ``extra["thinking_config"]``)."""
    from google import genai
    from google.genai import types

    options = types.HttpOptions(base_url=server.gemini_base_url, api_version="v1beta")
    client = genai.Client(api_key="k", http_options=options)
    extra = {"thinking_config": {"include_thoughts": True}, **extra}  # as chatlab asks for thoughts
    config = types.GenerateContentConfig(system_instruction=system, **extra)
    text = reasoning = ""
    usage: Any = None
    try:
        for chunk in client.models.generate_content_stream(model=model, contents=prompt, config=config):
            for candidate in chunk.candidates or ():
                for part in (candidate.content.parts if candidate.content else None) or ():
                    if part.thought:
                        reasoning += part.text or ""
                    else:
                        text += part.text or ""
            if chunk.usage_metadata is not None:
                usage = chunk.usage_metadata
    finally:
        client.close()
    thoughts = _count(_field(usage, "thoughts_token_count"))
    return Reply(text, reasoning, _count(_field(usage, "candidates_token_count")) + thoughts, thoughts)


def effort_kwargs(fmt: str, effort: str | None) -> dict[str, Any]:
    """How each wire format asks for ``effort`` (None: not at all). Anthropic's effort is a
    thinking budget, as chatlab sends it to models that take one."""
    if effort is None:
        return {}
    if fmt == "chat":
        return {"reasoning_effort": effort}
    if fmt == "responses":
        return {"reasoning": {"effort": effort, "summary": "auto"}}
    if fmt == "gemini":  # a 2.5-style budget, as chatlab sends a level to models that take one
        budgets = {"none": 0, "low": 1024, "medium": 8192, "high": 24576}
        return {"thinking_config": {"thinking_budget": budgets[effort], "include_thoughts": effort != "none"}}
    if effort == "none":
        return {"thinking": {"type": "disabled"}}
    budgets = {"low": 2048, "medium": 8192, "high": 16384}
    return {"thinking": {"type": "enabled", "budget_tokens": budgets[effort]}}


def answer_part(text: str) -> str:
    """The answer after a prompted ``<think>`` block, as chatlab's client splits it."""
    return text.split("</think>", 1)[1].lstrip("\n") if text.startswith("<think>") else text
