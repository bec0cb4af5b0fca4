"""The run orchestrator: one asyncio task per lane, each failing or finishing on its own.

:class:`Runner` holds what lanes share (config, keys, one adapter per provider, prices).
:class:`TurnRun` sends one turn to its lanes concurrently (a judge's turn with the JSON
Schema its answers should follow, sent where the provider takes one). Each lane task streams its
adapter's events into its :class:`Response`, with an idle timeout (no event for N
seconds) and an optional total timeout, and can be cancelled alone. A lane's exception,
error, timeout or cancellation never reaches another lane, and neither does a listener
that fails (it is logged and that lane alone ends in error). Every adapter's events pass
one guard on the way in (:class:`~chatlab.core.lab.guard.Guard`): text is made valid
Unicode, the lane's key is redacted, and usage out of range is dropped with a note.
A lane whose reasoning setting its model can't honour ends at once with the reason,
unsent (:func:`chatlab.core.settings.reasoning.problem`). Transient failures before the
first token (408, 409, 429, 5xx, 529, a failed connection) are retried in the open,
with backoff that honours ``Retry-After``; never after a token, which would duplicate
text.
Live token counts are cheap character-based estimates; at the end the provider's usage
replaces them, or, when the provider sent none, a proper estimate is made from the text
and flagged as such. A request refused before anything was generated costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import replace

from chatlab.core.costs import pricing, tokens
from chatlab.core.costs.tokens import count_messages
from chatlab.core.data import safety
from chatlab.core.data.constants import DEFAULT_IDLE_TIMEOUT_S as DEFAULT_IDLE_TIMEOUT_S
from chatlab.core.data.events import (
    Done,
    ErrorKind,
    Notice,
    ReasoningDelta,
    Revision,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.core.data.model import (
    ErrorInfo,
    Lane,
    Request,
    Response,
    ResponseSchema,
    RetryWait,
    Session,
    Status,
    Turn,
)
from chatlab.core.lab.contract import Adapter, AdapterFactory
from chatlab.core.lab.guard import Guard
from chatlab.core.settings import prompted, reasoning
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import Config, ConfigError

log = logging.getLogger("chatlab")


# Called after every event a lane receives (event is None for status-only changes).
Listener = Callable[[Lane, Response, StreamEvent | None], None]

MAX_RETRY_WAIT_S = 60.0  # a longer Retry-After is not waited out: the lane fails and says so
BACKOFF_BASE_S = 1.0


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


async def _refusal(why: str) -> AsyncGenerator[StreamEvent, None]:
    """The events of a lane refused before sending: one error, nothing started."""
    yield StreamError(ErrorKind.BAD_REQUEST, f"not sent: {why}", started=False)


class Runner:
    """Shared state for running turns: adapters are made once per provider and reused."""

    def __init__(self, config: Config, keys: KeyStore, factory: AdapterFactory) -> None:
        self.config = config
        self.keys = keys
        self._factory = factory
        self._adapters: dict[str, Adapter] = {}
        self._secrets: dict[str, str] = {}
        self._lock = threading.Lock()
        self.warm: set[str] = set()  # providers whose adapter is built and warmed up

    def check_lane(self, lane: Lane) -> None:
        """Raise :class:`ConfigError` if the lane cannot run (unknown provider, no key, a
        reasoning setting its model can't honour)."""
        provider = self.config.provider(lane.provider)
        if provider.needs_key and not self.keys.source(provider).found:
            envs = " or ".join(provider.env_candidates) or "an api_key_env in config.toml"
            raise ConfigError(
                f"no API key for provider {provider.name!r}: "
                f"run `chatlab keys set {provider.name}` or set {envs}"
            )
        if provider.needs_key and (bad_key := self.keys.problem(provider)):
            raise ConfigError(bad_key)
        if not provider.base_url and provider.name == "demo":
            raise ConfigError("the demo provider has no server; start it with chatlab.demo")
        if provider.api_version and not provider.base_url:
            raise ConfigError(
                f"provider {provider.name!r} needs its endpoint: set base_url in [providers.{provider.name}] "
                "of config.toml (https://RESOURCE.openai.azure.com)"
            )
        try:
            lane.params.validate()
        except ValueError as exc:
            raise ConfigError(f"lane {lane.spec}: {exc}") from None
        why = reasoning.problem(provider, lane.model, lane.params)
        if why:
            raise ConfigError(f"lane {lane.spec}: {why}")

    def adapter(self, provider_name: str) -> Adapter:
        with self._lock:  # adapters are created in a worker thread (see TurnRun.run)
            if provider_name not in self._adapters:
                provider = self.config.provider(provider_name)
                key, _ = self.keys.resolve(provider)
                self._adapters[provider_name] = self._factory(provider, key)
                if key:
                    self._secrets[provider_name] = key
                    safety.register_secret(key)
            return self._adapters[provider_name]

    async def prepare(self, providers: Iterable[str]) -> None:
        """Build and warm up the adapters of ``providers``, once each. Importing an SDK
        takes half a second to a second of CPU the first time, so it happens in a worker
        thread and the event loop (the window, the CLI's progress) stays responsive. A
        turn does it before its lanes' clocks start; the window does it at start-up, so the
        first send doesn't wait for it. A failure is left for the lane to show."""
        cold = set(providers) - self.warm
        if not cold:  # a study's thousandth unit doesn't queue for a thread
            return

        def build() -> None:
            for provider in cold:
                with contextlib.suppress(Exception):
                    self.adapter(provider).warm_up()
                    self.warm.add(provider)

        await asyncio.to_thread(build)

    def secrets(self, provider_name: str) -> tuple[str, ...]:
        """The key a lane's adapter was made with, to redact from everything it returns."""
        key = self._secrets.get(provider_name)
        return (key,) if key else ()

    def turn(
        self,
        session: Session,
        turn: Turn,
        *,
        lanes: Iterable[Lane] | None = None,
        listener: Listener | None = None,
        listeners: Sequence[Listener] = (),
        idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
        timeout_s: float | None = None,
        response_schema: ResponseSchema | None = None,
    ) -> TurnRun:
        return TurnRun(
            self,
            session,
            turn,
            list(lanes) if lanes is not None else list(session.lanes),
            listeners=[*listeners, *([listener] if listener else [])],
            idle_timeout_s=idle_timeout_s,
            timeout_s=timeout_s,
            response_schema=response_schema,
        )

    async def aclose(self) -> None:
        adapters = list(self._adapters.values())
        self._adapters.clear()
        self.warm.clear()
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
        listeners: Sequence[Listener],
        idle_timeout_s: float | None,
        timeout_s: float | None,
        response_schema: ResponseSchema | None = None,
    ) -> None:
        self.runner = runner
        self.session = session
        self.turn = turn
        self.lanes = lanes
        self.listeners = list(listeners)
        # Lanes whose listener raised: (lane id -> what went wrong); that lane ends in error.
        self.listener_errors: dict[str, str] = {}
        self.idle_timeout_s = idle_timeout_s
        self.timeout_s = timeout_s
        # The JSON Schema every lane's answer is asked to follow (a judge's call), or None.
        self.response_schema = response_schema
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._rough_input: set[str] = set()  # lanes whose input estimate is a character count
        self._user_cancelled: set[str] = set()
        for lane in lanes:
            existing = turn.responses.get(lane.id)
            if existing is None or existing.status is not Status.QUEUED:  # a retry starts afresh
                turn.responses[lane.id] = Response(lane_id=lane.id)

    def _notify(self, lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        for listener in self.listeners:
            try:
                listener(lane, resp, ev)
            except Exception as exc:  # a listener's bug stays in its lane, and is logged
                if lane.id not in self.listener_errors:
                    log.exception("listener failed for lane %s", lane.spec)
                    self.listener_errors[lane.id] = f"{type(exc).__name__}: {exc}"

    async def run(self) -> Turn:
        # Build adapters before any lane's clock starts (see Runner.prepare).
        await self.runner.prepare(lane.provider for lane in self.lanes)
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
            # A lane's own failures end inside its task; what reaches here is a task
            # cancelled before its first step (Stop pressed in the same instant), whose
            # body never ran: it is finished below, like any stopped lane.
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        except asyncio.CancelledError:
            for task in self.tasks.values():
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            raise
        for lane in self.lanes:
            resp = self.turn.responses[lane.id]
            if not resp.status.finished:
                self._finish(
                    lane, resp, StreamError(ErrorKind.CANCELLED, "stopped by the user", started=False)
                )
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
        params = prompted.request_params(lane.params, self.runner.config.think_instruction)
        return Request(lane.model, self.session.history(lane.id, self.turn), params, self.response_schema)

    def _input_estimate(self, lane: Lane, request: Request, final: bool = False) -> int:
        """The input tokens to show until the provider reports them. With no vocabulary
        loaded yet, a character count now (loading one would delay the request by a
        quarter of a second) and the vocabulary's count when the lane ends, if it is
        still needed then (the provider reported no usage)."""
        system = request.params.system
        texts = [m.content for m in request.messages] + ([system] if system else [])
        if final or tokens.ready(lane.model):
            return count_messages(texts, lane.model).tokens
        self._rough_input.add(lane.id)
        return tokens.rough_messages(texts).tokens

    async def _run_lane(self, lane: Lane) -> None:
        resp = self.turn.responses[lane.id]
        timing = resp.timing
        loop = asyncio.get_running_loop()
        try:
            request = self._request(lane)
            resp.usage = Usage(input_tokens=self._input_estimate(lane, request), estimated=True)
            resp.price = pricing.lookup(self.runner.config, lane.provider, lane.model)
            adapter = self.runner.adapter(lane.provider)
            secrets = self.runner.secrets(lane.provider)
            provider = self.runner.config.provider(lane.provider)
            retries = provider.max_retries
            # A reasoning setting the model can't honour ends the lane at once, unsent.
            refused = reasoning.problem(provider, lane.model, lane.params)
            resp.status = Status.RUNNING
            timing.started = time.monotonic()
            hard = loop.time() + self.timeout_s if self.timeout_s else None
            self._notify(lane, resp, None)
            while True:
                guard = Guard(secrets)
                events = _refusal(refused) if refused else adapter.stream(request)
                terminal = await self._consume(lane, resp, guard, events, hard)
                wait, why_not = self._retry_wait(lane, resp, terminal, retries, hard, loop)
                if wait is None:
                    if why_not and isinstance(terminal, StreamError):
                        terminal = replace(terminal, message=f"{terminal.message} — {why_not}")
                    break
                assert isinstance(terminal, StreamError)
                resp.retries.append({**ErrorInfo.from_event(terminal).to_dict(), "waited_s": round(wait, 3)})
                resp.retry = RetryWait(
                    ErrorInfo.from_event(terminal), len(resp.retries), retries, time.monotonic() + wait
                )
                self._notify(lane, resp, None)
                await asyncio.sleep(wait)
                resp.retry = None
                resp.usage = Usage(input_tokens=resp.usage.input_tokens, estimated=True)
                # duration_s is the whole request, waits included (wait_s says how much);
                # ttft_s and tok/s are the answering attempt's own.
                timing.waited += wait
                timing.attempt = time.monotonic()
                self._notify(lane, resp, None)
        except asyncio.CancelledError:
            # Stopped while waiting to send again: every attempt so far was refused.
            waiting, resp.retry = resp.retry is not None, None
            terminal = StreamError(ErrorKind.CANCELLED, "stopped by the user", started=not waiting)
            if lane.id not in self._user_cancelled:
                self._finish(lane, resp, terminal)
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except Exception as exc:  # a bug in an adapter must stay in its lane
            log.exception("lane %s failed", lane.spec)
            terminal = StreamError(ErrorKind.PROTOCOL, f"internal error: {type(exc).__name__}: {exc}")
        self._finish(lane, resp, terminal)

    def _retry_wait(
        self,
        lane: Lane,
        resp: Response,
        terminal: Done | StreamError,
        retries: int,
        hard: float | None,
        loop: asyncio.AbstractEventLoop,
    ) -> tuple[float | None, str | None]:
        """(seconds to wait before sending again, None) or, when this ends the lane,
        (None, why a retryable failure was not retried, to add to its message)."""
        if not isinstance(terminal, StreamError) or not terminal.retryable:
            return None, None
        if resp.timing.first_token is not None or resp.text_chars or resp.reasoning_chars:
            return None, None  # a token arrived: sending again would duplicate text
        if lane.id in self.listener_errors:
            return None, None
        if len(resp.retries) >= retries:
            tries = f"{retries} retr{'y' if retries == 1 else 'ies'}"
            return None, f"gave up after {tries}" if retries else None
        if terminal.retry_after_s is not None:
            if terminal.retry_after_s > MAX_RETRY_WAIT_S:
                return None, (
                    f"the provider asked to wait {terminal.retry_after_s:,.0f} s; chatlab waits at most "
                    f"{MAX_RETRY_WAIT_S:.0f} s, so retry later"
                )
            wait = terminal.retry_after_s + random.uniform(0, 0.25)
        else:
            wait = min(BACKOFF_BASE_S * 2 ** len(resp.retries), MAX_RETRY_WAIT_S) * random.uniform(0.5, 1.0)
        if hard is not None and loop.time() + wait >= hard:
            return None, "no time left for another try within the lane's time limit"
        return wait, None

    async def _consume(
        self,
        lane: Lane,
        resp: Response,
        guard: Guard,
        stream: AsyncGenerator[StreamEvent, None],
        hard: float | None,
    ) -> Done | StreamError:
        """Take a lane's guarded events into its response until the final one; a lane
        that ends without it (stopped, timed out, its adapter failed) still keeps what the
        guard was holding."""
        try:
            return await self._take(lane, resp, guard.events(stream), hard)
        finally:
            for ev in guard.held():  # nothing, when the final event came
                self._apply(resp, ev)

    async def _take(
        self,
        lane: Lane,
        resp: Response,
        events: AsyncGenerator[StreamEvent, None],
        hard: float | None,
    ) -> Done | StreamError:
        loop = asyncio.get_running_loop()
        idle = self.idle_timeout_s
        start = loop.time()

        def deadline(now: float) -> float | None:
            soft = now + idle if idle else None
            if soft is None:
                return hard
            return soft if hard is None else min(soft, hard)

        armed_at = start
        # Re-arming costs a heap operation, so it happens at most 4 times a second, and
        # often enough that a deadline never falls within a quarter of the timeout.
        rearm = min(0.25, idle / 4) if idle else 0.25
        try:
            async with asyncio.timeout_at(deadline(start)) as timer, contextlib.aclosing(events) as stream:
                async for ev in stream:
                    if idle:
                        now = loop.time()
                        if now - armed_at > rearm:  # re-arm cheaply, not on every chunk
                            armed_at = now
                            timer.reschedule(deadline(now))
                    if isinstance(ev, Done | StreamError):
                        return ev
                    self._apply(resp, ev)
                    self._notify(lane, resp, ev)
                    if lane.id in self.listener_errors:
                        return StreamError(
                            ErrorKind.PROTOCOL,
                            "internal error while saving or showing this lane "
                            f"({self.listener_errors[lane.id]}); the text so far is kept",
                        )
        except TimeoutError:
            now = loop.time()
            if hard is not None and now >= hard - 0.001:
                return StreamError(ErrorKind.TIMEOUT, f"the lane ran past its {self.timeout_s:g} s limit")
            return StreamError(ErrorKind.TIMEOUT, f"no data from the provider for {idle:g} s")
        return StreamError(ErrorKind.PROTOCOL, "the adapter ended without a final event")

    def _apply(self, resp: Response, ev: StreamEvent) -> None:
        """One event that isn't the final one, taken into the response."""
        if isinstance(ev, TextDelta):
            if ev.text:
                if resp.timing.first_token is None:
                    resp.timing.first_token = time.monotonic()
                resp.text_parts.append(ev.text)
                resp.text_chars += len(ev.text)
            if ev.refusal:
                resp.refusal = True
        elif isinstance(ev, ReasoningDelta):
            if resp.timing.first_token is None:
                resp.timing.first_token = time.monotonic()
            resp.reasoning_parts.append(ev.text)
            resp.reasoning_chars += len(ev.text)
        elif isinstance(ev, UsageReport):
            self._apply_usage(resp, ev)
        elif isinstance(ev, Notice):
            resp.notes.append(ev.text)
        elif isinstance(ev, Revision):
            resp.revise(ev.text, reasoning=ev.reasoning)

    def _apply_usage(self, resp: Response, ev: UsageReport) -> None:
        cost = ev.cost_usd if ev.cost_usd is not None else pricing.cost(ev.usage, resp.price)
        if cost is not None and (problem := safety.cost_problem(cost)):
            # Counts in range can still price out at more than any response could cost.
            resp.notes.append(safety.usage_note(f"at the price they would cost ${problem}"))
            return
        resp.usage = ev.usage
        resp.cost_usd = cost
        resp.cost_reported = ev.cost_usd is not None

    def _finish(self, lane: Lane, resp: Response, terminal: Done | StreamError) -> None:
        if resp.status.finished:
            return
        resp.retry = None
        resp.timing.ended = time.monotonic()
        never_sent = resp.timing.started is None
        if never_sent:
            resp.timing.started = resp.timing.ended
        nothing_back = resp.timing.first_token is None and not resp.text_chars and not resp.reasoning_chars
        refused = isinstance(terminal, StreamError) and (
            never_sent
            or (
                nothing_back
                and resp.usage.estimated
                and not (
                    terminal.started and (terminal.kind.interrupts or terminal.kind is ErrorKind.CANCELLED)
                )
            )
        )
        if refused:
            # Refused (or never sent) before anything was generated: nothing was billed.
            resp.usage = Usage()
            resp.cost_usd = 0.0
            resp.cost_refused = True
        elif resp.usage.estimated:
            # No provider usage: a proper estimate from the full text, flagged as estimated.
            input_tokens = None
            if lane.id in self._rough_input:
                input_tokens = self._input_estimate(lane, self._request(lane), final=True)
            pricing.estimate_from_text(resp, lane.model, input_tokens)
        if isinstance(terminal, Done):
            resp.status = Status.OK
            resp.finish_reason = terminal.finish_reason
            if not resp.text_chars and not resp.refusal:
                # Well formed but empty (a proxy's reply to an upstream it could not read,
                # or every token spent on reasoning): said, never a silent blank "ok".
                why = f" (finish reason: {terminal.finish_reason})" if terminal.finish_reason else ""
                resp.notes.append(f"empty answer: the server finished without any text{why}")
        else:
            resp.error = ErrorInfo.from_event(terminal)
            if terminal.kind is ErrorKind.CANCELLED:
                resp.status = Status.CANCELLED
            elif terminal.kind.interrupts and terminal.started:
                resp.status = Status.INTERRUPTED
            else:
                resp.status = Status.ERROR
        self._notify(lane, resp, terminal)
