"""``chatlab ask``: one prompt to one or more lanes, through the lab controller the window
uses (:class:`~chatlab.core.lab.controller.Lab`), the answers printed as plain text or,
with ``--json``, as the session document.

How the answers reach stdout:

- **one lane** streams (as ``llm`` does): its answer is written as it arrives (a burst of
  tokens as one write, at most 20 ms late), in the shape the whole block has
  (:class:`LaneStream`); the reasoning, when the provider returns it, streams first
  under ``-- reasoning --``. Only what can't be known until the end comes after the
  text: a hidden reasoning count, the error, the notes and the figures line. A lane
  that fails part way keeps its partial text, then the error.
- **several lanes** print their blocks in lane order once every lane has ended; with
  ``--stream`` each block is printed the moment its lane ends, in finish order
  (:class:`FinishOrder`).
- ``--no-stream`` (and ``--json``) prints everything at the end, as before streaming.

On a terminal, live per-lane lines are drawn on stderr (:class:`Progress`); they are
erased before a block is printed under them, and when one lane starts streaming onto the
same terminal they stop. If the reader of stdout goes away mid-answer, nothing more is
written but the lanes run to the end and are saved; the command then ends as any closed
pipe ends it; any other failure to write (a full disk, stdout closed before the start)
is said on stderr, with the session to export, and the status is 1. The first Ctrl-C
stops the lanes and keeps what came; another is ignored until the answers are saved
(:class:`_Interrupts`). ``ask`` has no blind mode: every lane is named as it prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import io
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Collection, Iterator
from typing import IO, Any, cast

from chatlab.cli.common import UsageError, parse_model_spec
from chatlab.core.data import format as fmt
from chatlab.core.data.events import (
    Done,
    ErrorKind,
    ReasoningDelta,
    Revision,
    StreamError,
    StreamEvent,
    TextDelta,
)
from chatlab.core.data.export import document
from chatlab.core.data.model import ErrorInfo, Lane, LaneParams, Response, Session, Status
from chatlab.core.data.safety import terminal_text
from chatlab.core.lab.controller import MAX_LANES, Lab
from chatlab.core.lab.figures import Figures
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import Config, check_lane_params, load_config
from chatlab.store.checkpoint import Checkpointer, reason_words
from chatlab.store.db import Store, StoreError, default_path, error_reason

# What a lane's run calls after each event (chatlab.core.lab.orchestrator.Listener).
Watch = Callable[[Lane, Response, StreamEvent | None], None]
FLUSH_S = 0.02  # a streamed answer reaches stdout at most this long after it arrived


def _read_prompt(arg: str | None, stdin: IO[str]) -> str:
    if arg is None or arg == "-":
        if stdin.isatty():
            print("Type the prompt, then Ctrl-D:", file=sys.stderr)
        arg = stdin.read()
    if not arg.strip():
        raise UsageError("empty prompt")
    return arg


class Progress:
    """Live per-lane lines on a terminal (stderr), redrawn a few times a second."""

    def __init__(self, stream: IO[str], session: Session, responses: dict[str, Response]) -> None:
        self.stream = stream
        self.session = session
        self.responses = responses
        self.drawn = 0
        self.stopped = False

    def draw(self) -> None:
        if self.stopped:
            return
        lines = []
        now = time.monotonic()
        for lane in self.session.lanes:
            resp = self.responses[lane.id]
            figures = Figures.of(resp, now=now)
            mark = "≈" if figures.usage.estimated else ""
            name = terminal_text(lane.display)[:32]
            line = f"{name:<32} {figures.state:<11} {mark}{figures.usage.output_tokens:>6,} tok"
            if figures.tokens_per_s:
                line += f" {mark}{figures.tokens_per_s:>6,.0f} tok/s"
            if resp.error:
                line += f"  {resp.error.kind.value}: {terminal_text(resp.error.message)[:60]}"
            lines.append(line)
        out = ""
        if self.drawn:
            out += f"\x1b[{self.drawn}F"
        out += "".join(f"\x1b[2K{line}\n" for line in lines)
        self.stream.write(out)
        self.stream.flush()
        self.drawn = len(lines)

    def clear(self) -> None:
        """Erase the lines drawn, so that what is printed next takes their place (they
        are drawn again below it)."""
        if self.drawn:
            self.drawn, drawn = 0, self.drawn
            with contextlib.suppress(OSError, ValueError):
                self.stream.write(f"\x1b[{drawn}F\x1b[J")
                self.stream.flush()

    def stop(self) -> None:
        """Erase the lines and draw no more (a lane streams onto the same terminal)."""
        self.clear()
        self.stopped = True

    async def run(self) -> None:
        while not self.stopped:
            try:
                self.draw()
            except Exception:  # a terminal that went away must not stop the lanes
                return
            await asyncio.sleep(0.1)


# -- printing --------------------------------------------------------------------------


def _head(lane: Lane) -> str:
    return f"== {terminal_text(lane.display)} ==\n"


def _tail(resp: Response) -> str:
    """What follows an answer's text: its error, its notes, its figures."""
    out = ""
    if resp.error:
        out += f"!! {resp.error.kind.value}: {terminal_text(resp.error.message)}\n"
    for note in resp.notes:
        out += f"-- note: {terminal_text(note)} --\n"
    return out + f"[{Figures.of(resp).line(duration=True)}]\n\n"


def block(lane: Lane, resp: Response) -> str:
    """One lane's whole answer as ``ask`` prints it."""
    out = _head(lane)
    hidden = fmt.hidden_reasoning(resp)
    if resp.reasoning:
        out += "-- reasoning --\n" + terminal_text(resp.reasoning.rstrip()) + "\n-- answer --\n"
    elif hidden:
        out += f"-- reasoning: {hidden} --\n"
    if resp.refusal:
        out += "[refusal] "
    return out + terminal_text(resp.text.rstrip()) + "\n" + _tail(resp)


def _print_text(session: Session, out: IO[str], done: Collection[str] = ()) -> None:
    """Every lane's block, in lane order, but those in ``done`` (printed already)."""
    turn = session.turns[-1]
    for lane in session.lanes:
        if lane.id not in done:
            out.write(block(lane, turn.responses[lane.id]))


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


class _Writer:
    """Writes to stdout from a lane's listener, gathered here and written out at once
    when nothing was for a moment (the first token shows as it comes), else at most
    :data:`FLUSH_S` later (a fast stream is not a write per token, even to an unbuffered
    stdout); quiet once the reader has gone (a closed pipe must not end the lane)."""

    def __init__(self, out: IO[str], progress: Progress | None) -> None:
        self.out = out
        self.progress = progress
        self.gone = False
        self.failure: OSError | ValueError | None = None  # why it went: a closed pipe, a full disk…
        self._pending: list[str] = []
        self._flushed = -FLUSH_S  # when the last flush was (loop time)

    def write(self, text: str) -> None:
        if self.gone or not text:
            return
        self._pending.append(text)
        if len(self._pending) > 1:
            return  # a flush is due already
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (the lane ended as asyncio.run closed)
            self.flush()
            return
        wait = self._flushed + FLUSH_S - loop.time()
        if wait > 0:
            loop.call_later(wait, self.flush)
        else:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        text, self._pending = "".join(self._pending), []
        if self.gone or not text:
            return
        with contextlib.suppress(RuntimeError):
            self._flushed = asyncio.get_running_loop().time()
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError) as exc:
            self.gone, self.failure = True, exc


def _channel(ev: StreamEvent | None) -> str | None:
    """What ``ev`` adds to or replaces: "reasoning", "answer", or None (neither, or nothing)."""
    if isinstance(ev, ReasoningDelta | TextDelta | Revision) and ev.text:
        reasoning = isinstance(ev, ReasoningDelta) or (isinstance(ev, Revision) and ev.reasoning)
        return "reasoning" if reasoning else "answer"
    return None


class LaneStream(_Writer):
    """One lane's answer written as it arrives, in the shape :func:`block` gives it
    whole: the same bytes, but that a hidden reasoning count (known from the usage, at
    the end) follows the answer instead of preceding it. Trailing white space is held
    back until more text follows it, as the whole block strips it."""

    def __init__(self, lane: Lane, out: IO[str], progress: Progress | None = None) -> None:
        super().__init__(out, progress)
        self.lane = lane
        self.phase: str | None = None  # None (nothing written), "reasoning" or "answer"
        self.held: list[str] = []  # trailing white space not written yet, in pieces
        self.written = 0  # parts of the current channel written
        self.late_reasoning = False  # reasoning came after the answer began
        self.ended = False

    def __call__(self, lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        if self.ended or lane.id != self.lane.id:
            return
        if isinstance(ev, Done | StreamError):
            self.finish(resp)
            return
        channel = _channel(ev)
        if channel is None:
            return
        if isinstance(ev, Revision) and channel == self.phase:
            # The provider's final word on what is being written differs from what
            # streamed (a note says so at the end): all of it again, after a line saying so.
            self.write(f"\n-- the provider's final {channel}: --\n")
            self.held, self.written = [], 0
        elif channel == "reasoning" and self.phase == "answer":
            self.late_reasoning = True  # written whole at the end
            return
        elif channel == "reasoning" and self.phase is None:
            self._begin("-- reasoning --\n")
            self.phase = "reasoning"
        elif channel == "answer" and self.phase != "answer":
            self._to_answer(resp)
        self._more(resp.reasoning_parts if channel == "reasoning" else resp.text_parts)

    def _begin(self, text: str) -> None:
        if self.progress is not None and _isatty(self.out):
            self.progress.stop()  # its lines would be drawn over the answer
        self.write(_head(self.lane) + text)

    def _to_answer(self, resp: Response) -> None:
        if self.phase is None:
            self._begin("[refusal] " if resp.refusal else "")
        else:
            self.write("\n-- answer --\n" + ("[refusal] " if resp.refusal else ""))
        self.phase, self.held, self.written = "answer", [], 0

    def _more(self, parts: list[str]) -> None:
        new = "".join(parts[self.written :])
        self.written = len(parts)
        kept = new.rstrip()
        if not kept:  # white space only: held with the rest (a flood of it stays linear)
            if new:
                self.held.append(new)
            return
        text = "".join(self.held) + kept
        self.held = [new[len(kept) :]] if len(kept) < len(new) else []
        self.write(terminal_text(text))

    def finish(self, resp: Response) -> None:
        if self.ended:
            return
        self.ended = True
        if self.phase is None:  # nothing streamed: the whole block, as without streaming
            self._begin(block(self.lane, resp)[len(_head(self.lane)) :])
        else:
            if self.phase == "reasoning":
                self._to_answer(resp)
            self.write("\n")
            hidden = fmt.hidden_reasoning(resp)
            if hidden:
                self.write(f"-- reasoning: {hidden} --\n")
            elif self.late_reasoning:
                self.write(
                    "-- the whole reasoning (it grew or changed after the answer began) --\n"
                    + terminal_text(resp.reasoning.rstrip())
                    + "\n"
                )
            self.write(_tail(resp))
        self.flush()


class FinishOrder(_Writer):
    """Several lanes' blocks, each printed whole the moment its lane ends (``--stream``)."""

    def __init__(self, out: IO[str], progress: Progress | None = None) -> None:
        super().__init__(out, progress)
        self.done: set[str] = set()

    def __call__(self, lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        if isinstance(ev, Done | StreamError) and lane.id not in self.done:
            self.done.add(lane.id)
            if self.progress is not None:
                self.progress.clear()
            self.write(block(lane, resp))
            self.flush()


# -- the command -----------------------------------------------------------------------


class _Interrupts:
    """Ctrl-C while ``ask`` runs: the first stops the lanes (it cancels the command's
    task, as ``asyncio.run`` would); any later one is ignored until the answers are
    saved, so that pressing it again can't cut a write to the store in half or end the
    command with a traceback."""

    def __init__(self) -> None:
        self.count = 0
        self.task: asyncio.Task[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count > 1:
            return
        if self.task is None or self.loop is None:
            raise KeyboardInterrupt  # before the lanes started
        self.loop.call_soon_threadsafe(self.task.cancel)

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Interrupts]:
        """This handler for SIGINT while the block runs (in the main thread, when
        SIGINT has Python's own handler; else nothing changes)."""
        try:
            before = signal.getsignal(signal.SIGINT)
            if before is not signal.default_int_handler:
                raise ValueError(before)
            signal.signal(signal.SIGINT, self)
        except ValueError:  # not the main thread, or SIGINT handled by someone else
            yield self
            return
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, before)

    def watch(self) -> None:
        """Called in the command's task: the task the first Ctrl-C cancels."""
        self.task = asyncio.current_task()
        self.loop = asyncio.get_running_loop()


async def _ask(
    lab: Lab,
    prompt: str,
    progress: Progress | None,
    store: Store | None,
    watch: Watch | None = None,
    interrupts: _Interrupts | None = None,
) -> str | None:
    """Send ``prompt`` through the lab (saved before any token, checkpointed while it
    streams; ``watch`` sees every event) and draw the live lines until every lane has
    finished; returns why the answers could not all be saved, if they could not."""
    if interrupts is not None:
        interrupts.watch()
    turn = lab.prepare(prompt)
    problem = None
    if store is not None and lab.save_error is not None:
        if error_reason(lab.save_error, store.path) == "read-only":
            raise UsageError(f"{store.path} is read-only; nothing was sent")
        problem = _cannot_save(store, lab.save_error)  # ask anyway; say so at the end
    run = lab.start(turn)
    if watch is not None:
        run.listeners.append(watch)  # before its first event: the run starts at the next await
    if progress is not None:
        progress.responses = turn.responses
    task = asyncio.create_task(progress.run()) if progress else None
    try:
        await lab.wait()
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if progress:
            with contextlib.suppress(Exception):
                progress.draw()
        await lab.runner.aclose()
    if lab.saver is not None and lab.saver.problem:
        problem = lab.saver.problem
    return problem


def _cannot_save(store: Store, exc: BaseException) -> str:
    return f"could not save the session: {reason_words(error_reason(exc, store.path))}"


def _lanes(args: Any, config: Config) -> list[Lane]:
    if not args.model:
        raise UsageError(
            "no model given: add -m PROVIDER:MODEL (try -m demo:demo-reasoner -m demo:demo-fast)"
        )
    if len(args.model) > MAX_LANES:
        raise UsageError(f"{len(args.model)} models given: at most {MAX_LANES} lanes side by side")
    params = LaneParams(
        system=args.system,
        temperature=args.temperature,
        max_output_tokens=args.max_tokens,
        reasoning_effort=args.effort,
        thinking_budget=args.thinking_budget,
        reasoning=args.reasoning,
    )
    try:
        params.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    lanes = []
    for spec in args.model:
        entry = parse_model_spec(spec)
        config.provider(entry.provider)  # unknown provider -> ConfigError
        given = params.to_dict()
        mine = entry.params.to_dict()
        if mine.keys() & {"reasoning", "reasoning_effort", "thinking_budget", "think"}:
            # The lane sets its own reasoning (or thinks first, reasoning off): the
            # options' reasoning settings are not its.
            for key in ("reasoning", "reasoning_effort", "thinking_budget"):
                given.pop(key, None)
        own = LaneParams.from_dict({**given, **mine})  # the lane's own win
        try:
            check_lane_params(own)
        except ValueError as exc:
            raise UsageError(f"{spec}: {exc}") from None
        lanes.append(Lane(provider=entry.provider, model=entry.model, params=own, label=entry.label))
    return lanes


class _Closed(io.TextIOBase):
    """What ``ask`` writes to when its stdout or stderr was closed before it started
    (``chatlab ask … >&-``: Python's ``sys.stdout`` is None): every write fails as on a
    closed descriptor, so the answers are kept and the command says so where it can."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "it is closed")

    def isatty(self) -> bool:
        return False


def cmd_ask(args: Any, stdin: IO[str], out: IO[str] | None, err: IO[str] | None) -> int:
    stdout = out if out is not None else cast(IO[str], _Closed())
    stderr = err if err is not None else cast(IO[str], _Closed())
    stream: bool | None = getattr(args, "stream", None)
    if args.json and stream:
        raise UsageError("--stream prints answers as they come and --json one document at the end: pick one")
    config = load_config()
    lanes = _lanes(args, config)
    if stream is None:
        stream = len(lanes) == 1 and not args.json
    try:
        prompt = _read_prompt(args.prompt, stdin)
    except KeyboardInterrupt:  # Ctrl-C while the prompt was being typed
        with contextlib.suppress(OSError, ValueError):
            print("\nchatlab: stopped; nothing was sent", file=stderr)
        return 130
    store = None
    save_problem = None
    if not args.no_save:
        try:
            store = Store(default_path())
        except StoreError as exc:
            if exc.reason != "disk full":
                raise UsageError(str(exc)) from None
            save_problem = "could not save the session: disk full"  # ask anyway; say so at the end
    from chatlab.demo.setup import start_if_needed

    config, server = start_if_needed(config, lanes)
    writer: LaneStream | FinishOrder | None = None
    try:
        from chatlab.providers import make_adapter

        runner = Runner(config, KeyStore(), make_adapter)
        for lane in lanes:
            runner.check_lane(lane)
        lab = Lab(
            runner, store=store, saver_factory=functools.partial(Checkpointer, store) if store else None
        )
        lab.idle_timeout_s = args.idle_timeout or None
        lab.timeout_s = args.timeout
        for lane in lanes:
            lab.add_lane(lane)
        session = lab.session
        live = stderr.isatty() and not os.environ.get("CHATLAB_NO_PROGRESS")
        progress = Progress(stderr, session, {}) if live else None
        if stream and len(lanes) == 1:
            writer = LaneStream(lanes[0], stdout, progress)
        elif stream:
            writer = FinishOrder(stdout, progress)
        with _Interrupts().installed() as interrupts:
            try:
                save_problem = (
                    asyncio.run(_ask(lab, prompt, progress, store, writer, interrupts)) or save_problem
                )
            except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C
                for resp in session.turns[-1].responses.values():
                    if not resp.status.finished:
                        resp.status = Status.CANCELLED
                        if resp.error is None:
                            resp.error = ErrorInfo(ErrorKind.CANCELLED, "stopped by the user")
            if store is not None:
                try:
                    store.save_session(session)
                    save_problem = None
                except (sqlite3.Error, OSError) as exc:
                    save_problem = _cannot_save(store, exc)
    finally:
        if server is not None:
            server.stop_thread()
        if store is not None:
            store.close()
    kept = store is not None and not save_problem
    if writer is not None and writer.gone:
        return _unwritable(writer.failure, stdout, stderr, session, kept)
    try:
        if args.json:
            json.dump(document([session]), stdout, ensure_ascii=False, indent=2, allow_nan=False)
            stdout.write("\n")
        elif isinstance(writer, LaneStream):
            if not writer.ended:  # stopped before the lane was told it ended
                writer.finish(session.turns[-1].responses[lanes[0].id])
            if writer.gone:
                return _unwritable(writer.failure, stdout, stderr, session, kept)
        else:
            _print_text(session, stdout, writer.done if writer is not None else set())
        stdout.flush()
    except (OSError, ValueError) as exc:
        return _unwritable(exc, stdout, stderr, session, kept)
    if save_problem:
        with contextlib.suppress(OSError, ValueError):  # a closed stderr: the status says it
            print(f"chatlab: {save_problem}; the answers above were not all kept", file=stderr)
    ok = all(r.status is Status.OK for r in session.turns[-1].responses.values())
    return 0 if ok and not save_problem else 1


def _unwritable(
    exc: OSError | ValueError | None, stdout: IO[str], stderr: IO[str], session: Session, kept: bool
) -> int:
    """stdout took no more: a reader that went away ends the command as a closed pipe
    does (the answers are saved); any other failure (a full disk, an I/O error) is said
    on stderr, with where the answers are, and the exit status is 1."""
    if exc is None or isinstance(exc, BrokenPipeError):
        raise BrokenPipeError
    # What stdout still buffers would fail again as Python exits: send it nowhere.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
    where = f"the answers are saved: `chatlab export {session.id}`" if kept else "the answers were not saved"
    with contextlib.suppress(OSError, ValueError):
        print(f"chatlab: could not write the answers to stdout ({why}); {where}", file=stderr)
    return 1
