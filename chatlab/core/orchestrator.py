"""The run orchestrator: one asyncio task per lane, each failing or finishing on its own.

:class:`Runner` holds what lanes share (config, keys, one adapter per provider, prices).
:class:`TurnRun` sends one turn to its lanes concurrently. Each lane task streams its
adapter's events into its :class:`Response`, with an idle timeout (no event for N
seconds) and an optional total timeout, and can be cancelled alone. A lane's exception,
error, timeout or cancellation never reaches another lane. Live token counts are cheap
character-based estimates; at the end the provider's usage replaces them, or, when the
provider sent none, a proper estimate is made from the text and flagged as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Protocol

from chatlab.core import pricing
from chatlab.core.config import Config, ConfigError, ProviderConfig
from chatlab.core.events import (
    Done,
    ErrorKind,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.core.keys import KeyStore
from chatlab.core.model import ErrorInfo, Lane, Request, Response, Session, Status, Turn
from chatlab.core.tokens import count_messages, count_tokens


class Adapter(Protocol):
    def stream(self, request: Request) -> AsyncGenerator[StreamEvent, None]: ...

    def warm_up(self) -> None:
        """Do one-time CPU work (SDK model building); called in a worker thread."""

    async def aclose(self) -> None: ...


AdapterFactory = Callable[[ProviderConfig, str | None], Adapter]
# Called after every event a lane receives (event is None for status-only changes).
Listener = Callable[[Lane, Response, StreamEvent | None], None]

DEFAULT_IDLE_TIMEOUT_S = 300.0


def live_usage(resp: Response) -> Usage:
    """The usage to show now: the provider's if it arrived, else a cheap running estimate."""
    if not resp.usage.estimated:
        return resp.usage
    chars = resp.reasoning_chars + resp.text_chars
    return Usage(
        input_tokens=resp.usage.input_tokens,
        output_tokens=math.ceil(chars / 4),
        reasoning_tokens=math.ceil(resp.reasoning_chars / 4),
        estimated=True,
    )


class Runner:
    """Shared state for running turns: adapters are made once per provider and reused."""

    def __init__(self, config: Config, keys: KeyStore, factory: AdapterFactory) -> None:
        self.config = config
        self.keys = keys
        self._factory = factory
        self._adapters: dict[str, Adapter] = {}
        self._lock = threading.Lock()

    def check_lane(self, lane: Lane) -> None:
        """Raise :class:`ConfigError` if the lane cannot run (unknown provider, no key)."""
        provider = self.config.provider(lane.provider)
        if provider.needs_key and not self.keys.source(provider).found:
            envs = " or ".join(provider.env_candidates) or "an api_key_env in config.toml"
            raise ConfigError(
                f"no API key for provider {provider.name!r}: "
                f"run `chatlab keys set {provider.name}` or set {envs}"
            )
        if not provider.base_url and provider.name == "demo":
            raise ConfigError("the demo provider has no server; start it with chatlab.demo")
        try:
            lane.params.validate()
        except ValueError as exc:
            raise ConfigError(f"lane {lane.spec}: {exc}") from None

    def adapter(self, provider_name: str) -> Adapter:
        with self._lock:  # adapters are created in a worker thread (see TurnRun.run)
            if provider_name not in self._adapters:
                provider = self.config.provider(provider_name)
                key, _ = self.keys.resolve(provider)
                self._adapters[provider_name] = self._factory(provider, key)
            return self._adapters[provider_name]

    def turn(
        self,
        session: Session,
        turn: Turn,
        *,
        lanes: Iterable[Lane] | None = None,
        listener: Listener | None = None,
        idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
        timeout_s: float | None = None,
    ) -> TurnRun:
        return TurnRun(
            self,
            session,
            turn,
            list(lanes) if lanes is not None else list(session.lanes),
            listener=listener,
            idle_timeout_s=idle_timeout_s,
            timeout_s=timeout_s,
        )

    async def aclose(self) -> None:
        adapters = list(self._adapters.values())
        self._adapters.clear()
        for adapter in adapters:
            with contextlib.suppress(Exception):
                await adapter.aclose()


class TurnRun:
    """One turn in flight. ``await run()``; ``cancel(lane_id)`` or ``cancel_all()`` any time."""

    def __init__(
        self,
        runner: Runner,
        session: Session,
        turn: Turn,
        lanes: list[Lane],
        *,
        listener: Listener | None,
        idle_timeout_s: float | None,
        timeout_s: float | None,
    ) -> None:
        self.runner = runner
        self.session = session
        self.turn = turn
        self.lanes = lanes
        self.listener = listener
        self.idle_timeout_s = idle_timeout_s
        self.timeout_s = timeout_s
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._user_cancelled: set[str] = set()
        for lane in lanes:
            existing = turn.responses.get(lane.id)
            if existing is None or existing.status is not Status.QUEUED:  # a retry starts afresh
                turn.responses[lane.id] = Response(lane_id=lane.id)

    def _notify(self, lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        if self.listener is not None:
            self.listener(lane, resp, ev)

    async def run(self) -> Turn:
        # Build adapters before any lane's clock starts: importing an SDK and building its
        # models takes seconds of CPU the first time, so it happens in a worker thread and
        # the event loop (and the UI, and the CLI's progress) stays responsive.
        def prepare() -> None:
            for provider in {lane.provider for lane in self.lanes}:
                with contextlib.suppress(Exception):  # a failure shows in the lane itself
                    self.runner.adapter(provider).warm_up()

        await asyncio.to_thread(prepare)
        for lane in self.lanes:
            if lane.id in self._user_cancelled:  # stopped while the adapters were being prepared
                self._finish(
                    lane,
                    self.turn.responses[lane.id],
                    StreamError(ErrorKind.CANCELLED, "stopped by the user"),
                )
                continue
            self.tasks[lane.id] = asyncio.create_task(self._run_lane(lane), name=f"lane:{lane.spec}")
        try:
            await asyncio.gather(*self.tasks.values())
        except asyncio.CancelledError:
            for task in self.tasks.values():
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            raise
        return self.turn

    def cancel(self, lane_id: str) -> None:
        """Stop one lane; before its task exists (adapters still being prepared) it never starts."""
        task = self.tasks.get(lane_id)
        if task is None:
            if not self.turn.responses[lane_id].status.finished:
                self._user_cancelled.add(lane_id)
        elif not task.done():
            self._user_cancelled.add(lane_id)
            task.cancel()

    def cancel_all(self) -> None:
        for lane in self.lanes:
            self.cancel(lane.id)

    def _request(self, lane: Lane) -> Request:
        return Request(lane.model, self.session.history(lane.id, self.turn), lane.params)

    async def _run_lane(self, lane: Lane) -> None:
        resp = self.turn.responses[lane.id]
        timing = resp.timing
        loop = asyncio.get_running_loop()
        try:
            request = self._request(lane)
            texts = [m.content for m in request.messages]
            if lane.params.system:
                texts.append(lane.params.system)
            resp.usage = Usage(input_tokens=count_messages(texts, lane.model).tokens, estimated=True)
            resp.price = pricing.lookup(self.runner.config, lane.provider, lane.model)
            adapter = self.runner.adapter(lane.provider)
            resp.status = Status.RUNNING
            timing.started = time.monotonic()
            self._notify(lane, resp, None)
            terminal = await self._consume(lane, resp, adapter.stream(request), loop)
        except asyncio.CancelledError:
            terminal = StreamError(ErrorKind.CANCELLED, "stopped by the user")
            if lane.id not in self._user_cancelled:
                self._finish(lane, resp, terminal)
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except Exception as exc:  # a bug in an adapter must stay in its lane
            terminal = StreamError(ErrorKind.PROTOCOL, f"internal error: {type(exc).__name__}: {exc}")
        self._finish(lane, resp, terminal)

    async def _consume(
        self,
        lane: Lane,
        resp: Response,
        events: AsyncGenerator[StreamEvent, None],
        loop: asyncio.AbstractEventLoop,
    ) -> Done | StreamError:
        idle = self.idle_timeout_s
        start = loop.time()
        hard = start + self.timeout_s if self.timeout_s else None

        def deadline(now: float) -> float | None:
            soft = now + idle if idle else None
            if soft is None:
                return hard
            return soft if hard is None else min(soft, hard)

        armed_at = start
        timing = resp.timing
        try:
            async with asyncio.timeout_at(deadline(start)) as timer, contextlib.aclosing(events) as stream:
                async for ev in stream:
                    if idle:
                        now = loop.time()
                        if now - armed_at > 0.25:  # re-arm cheaply, not on every chunk
                            armed_at = now
                            timer.reschedule(deadline(now))
                    if isinstance(ev, TextDelta):
                        if ev.text:
                            if timing.first_token is None:
                                timing.first_token = time.monotonic()
                            resp.text_parts.append(ev.text)
                            resp.text_chars += len(ev.text)
                        if ev.refusal:
                            resp.refusal = True
                    elif isinstance(ev, ReasoningDelta):
                        if timing.first_token is None:
                            timing.first_token = time.monotonic()
                        resp.reasoning_parts.append(ev.text)
                        resp.reasoning_chars += len(ev.text)
                    elif isinstance(ev, UsageReport):
                        self._apply_usage(resp, ev)
                    else:
                        return ev
                    self._notify(lane, resp, ev)
        except TimeoutError:
            now = loop.time()
            if hard is not None and now >= hard - 0.001:
                return StreamError(ErrorKind.TIMEOUT, f"the lane ran past its {self.timeout_s:g} s limit")
            return StreamError(ErrorKind.TIMEOUT, f"no data from the provider for {idle:g} s")
        return StreamError(ErrorKind.PROTOCOL, "the adapter ended without a final event")

    def _apply_usage(self, resp: Response, ev: UsageReport) -> None:
        resp.usage = ev.usage
        if ev.cost_usd is not None:
            resp.cost_usd = ev.cost_usd
            resp.cost_reported = True
        else:
            resp.cost_usd = pricing.cost(ev.usage, resp.price)

    def _finish(self, lane: Lane, resp: Response, terminal: Done | StreamError) -> None:
        if resp.status.finished:
            return
        resp.timing.ended = time.monotonic()
        if resp.timing.started is None:
            resp.timing.started = resp.timing.ended
        if resp.usage.estimated:
            # No provider usage: a proper estimate from the full text, flagged as estimated.
            reasoning = count_tokens(resp.reasoning, lane.model).tokens
            out = reasoning + count_tokens(resp.text, lane.model).tokens
            resp.usage = Usage(
                input_tokens=resp.usage.input_tokens,
                output_tokens=out,
                reasoning_tokens=reasoning,
                estimated=True,
            )
            resp.cost_usd = pricing.cost(resp.usage, resp.price)
        if isinstance(terminal, Done):
            resp.status = Status.OK
            resp.finish_reason = terminal.finish_reason
        else:
            resp.error = ErrorInfo.from_event(terminal)
            if terminal.kind is ErrorKind.CANCELLED:
                resp.status = Status.CANCELLED
            elif terminal.kind.interrupts:
                resp.status = Status.INTERRUPTED
            else:
                resp.status = Status.ERROR
        self._notify(lane, resp, terminal)
