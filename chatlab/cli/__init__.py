"""The ``chatlab`` command: the window with no subcommand, headless subcommands otherwise.

``ask`` sends one prompt to several models at once over the same core the window uses,
shows live per-lane progress on a terminal, and prints the answers (or, with ``--json``,
the session document). Exit codes: 0 when every lane succeeded, 1 when any lane failed
(all results are still printed), 2 for a usage or configuration problem, which is
printed as one line without a traceback. ``keys`` manages API keys in the OS keychain,
``providers`` shows what is configured, and ``serve-demo`` runs the loopback server.
Plain-text output shows control characters in model text as visible escapes (``\x1b``),
so an answer can't clear the screen or retitle the terminal; ``--json`` escapes them
itself. Output into a closed pipe (``chatlab sessions | head -1``) ends quietly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import getpass
import json
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from chatlab import __version__
from chatlab.cli.study import StudyUsageError
from chatlab.core import format as fmt
from chatlab.core.config import ConfigError, load_config, paths
from chatlab.core.export import DocumentError, document, export_sessions, parse_document
from chatlab.core.figures import Figures
from chatlab.core.keys import KeyStore, NoKeychain
from chatlab.core.lab import Lab
from chatlab.core.model import EFFORTS, Lane, LaneParams, Response, Session, Status
from chatlab.core.orchestrator import DEFAULT_IDLE_TIMEOUT_S, Runner
from chatlab.core.safety import display_url, terminal_text
from chatlab.store.checkpoint import Checkpointer, reason_words
from chatlab.store.db import Store, StoreError, default_path, error_reason


class UsageError(Exception):
    """Bad command-line input; exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_model_spec(spec: str) -> tuple[str, str]:
    provider, sep, model = spec.partition(":")
    if not sep or not provider or not model:
        raise UsageError(f"malformed model {spec!r}: expected PROVIDER:MODEL, e.g. openai:gpt-4o")
    return provider, model


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chatlab",
        description="Compare language models side by side.",
        epilog="With no command, chatlab opens its window: chatlab [-m PROVIDER:MODEL]... [--blind] [--send] "
        "[PROMPT] (demo mode until a key is set).",
    )
    parser.add_argument("--version", action="version", version=f"chatlab {__version__}")
    parser.add_argument("--demo", action="store_true", help="window: open the demo session even with keys")
    desktop = parser.add_mutually_exclusive_group()
    desktop.add_argument(
        "--install-desktop",
        action="store_true",
        help="add chatlab to the desktop's app menu (entry and icons under ~/.local/share), then exit",
    )
    desktop.add_argument(
        "--uninstall-desktop", action="store_true", help="remove what --install-desktop added, then exit"
    )
    parser.add_argument(
        "--no-autosend",
        action="store_true",
        dest="no_autosend",
        help="window: don't send the demo prompt at start",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    ask = sub.add_parser("ask", help="send one prompt to several models at once")
    ask.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="PROVIDER:MODEL",
        help="a lane; repeat for more lanes (e.g. -m openai:gpt-4o -m demo:demo-fast)",
    )
    ask.add_argument("--system", help="system prompt for every lane")
    ask.add_argument(
        "--temperature", type=float, help="sampling temperature (dropped where a model rejects it)"
    )
    ask.add_argument("--max-tokens", type=int, dest="max_tokens", help="max output tokens per lane")
    ask.add_argument("--effort", choices=EFFORTS, help="reasoning effort for reasoning models")
    ask.add_argument(
        "--thinking-budget",
        type=int,
        dest="thinking_budget",
        help="thinking budget in tokens (Claude, OpenRouter); 0 turns thinking off",
    )
    ask.add_argument("--timeout", type=float, help="total seconds allowed per lane")
    ask.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT_S,
        dest="idle_timeout",
        help="seconds without data before a lane times out (default %(default)g)",
    )
    ask.add_argument("--json", action="store_true", help="print the session document as JSON")
    ask.add_argument("--no-save", action="store_true", dest="no_save", help="do not keep the session")
    ask.add_argument("prompt", nargs="?", help="the prompt; read from stdin when omitted or '-'")

    keys = sub.add_parser("keys", help="manage API keys in the OS keychain")
    ksub = keys.add_subparsers(dest="keys_command", parser_class=_Parser, required=True)
    kset = ksub.add_parser("set", help="store a key (read without echo, or from stdin)")
    kset.add_argument("name", help="provider name, e.g. openai")
    kdel = ksub.add_parser("delete", help="remove a stored key")
    kdel.add_argument("name")
    ksub.add_parser("list", help="where each provider's key comes from (never the key)")

    sub.add_parser("providers", help="list configured providers")
    sub.add_parser("sessions", help="list saved sessions")
    exp = sub.add_parser("export", help="export sessions as JSON (the session document)")
    exp.add_argument("ids", nargs="*", metavar="ID", help="session ids (or unique prefixes)")
    exp.add_argument("--all", action="store_true", help="every session")
    exp.add_argument("--study", metavar="NAME", help="the comparisons of a study")
    exp.add_argument(
        "--rating-pack",
        action="store_true",
        dest="rating_pack",
        help="with --study: a pack for another person to rate blind (no model, cost, timing or reasoning)",
    )
    exp.add_argument(
        "--votes",
        action="store_true",
        help="every comparison you voted on or rated (to send back to its owner)",
    )
    exp.add_argument("-o", "--output", help="write to FILE instead of stdout")
    imp = sub.add_parser("import", help="import a session document (validated first; all or nothing)")
    imp.add_argument("file")

    from chatlab.cli.study import add_parser as add_study
    from chatlab.cli.study import add_rate_parser

    add_study(sub, _Parser)
    add_rate_parser(sub)
    from chatlab.cli.stats import add_parser as add_stats

    add_stats(sub)

    demo = sub.add_parser("serve-demo", help="run the built-in loopback provider server")
    demo.add_argument("--port", type=int, default=8765)
    return parser


# -- ask -----------------------------------------------------------------------------


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

    def draw(self) -> None:
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

    async def run(self) -> None:
        while True:
            try:
                self.draw()
            except Exception:  # a terminal that went away must not stop the lanes
                return
            await asyncio.sleep(0.1)


async def _ask(lab: Lab, prompt: str, progress_stream: IO[str] | None, store: Store | None) -> str | None:
    """Send ``prompt`` through the lab (saved before any token, checkpointed while it
    streams) and draw the live lines until every lane has finished; returns why the
    answers could not all be saved, if they could not."""
    turn = lab.prepare(prompt)
    problem = None
    if store is not None and lab.save_error is not None:
        if error_reason(lab.save_error, store.path) == "read-only":
            raise UsageError(f"{store.path} is read-only; nothing was sent")
        problem = _cannot_save(store, lab.save_error)  # ask anyway; say so at the end
    lab.start(turn)
    progress = Progress(progress_stream, lab.session, turn.responses) if progress_stream else None
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


def _print_text(session: Session, out: IO[str]) -> None:
    turn = session.turns[-1]
    for lane in session.lanes:
        resp = turn.responses[lane.id]
        out.write(f"== {terminal_text(lane.display)} ==\n")
        hidden = fmt.hidden_reasoning(resp)
        if resp.reasoning:
            out.write("-- reasoning --\n" + terminal_text(resp.reasoning.rstrip()) + "\n-- answer --\n")
        elif hidden:
            out.write(f"-- reasoning: {hidden} --\n")
        if resp.refusal:
            out.write("[refusal] ")
        out.write(terminal_text(resp.text.rstrip()) + "\n")
        if resp.error:
            out.write(f"!! {resp.error.kind.value}: {terminal_text(resp.error.message)}\n")
        for note in resp.notes:
            out.write(f"-- note: {terminal_text(note)} --\n")
        out.write(f"[{Figures.of(resp).line(duration=True)}]\n\n")


def cmd_ask(args: Any, stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> int:
    if not args.model:
        raise UsageError(
            "no model given: add -m PROVIDER:MODEL (try -m demo:demo-reasoner -m demo:demo-fast)"
        )
    params = LaneParams(
        system=args.system,
        temperature=args.temperature,
        max_output_tokens=args.max_tokens,
        reasoning_effort=args.effort,
        thinking_budget=args.thinking_budget,
    )
    try:
        params.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    config = load_config()
    lanes = []
    for spec in args.model:
        provider, model = parse_model_spec(spec)
        config.provider(provider)  # unknown provider -> ConfigError
        lanes.append(Lane(provider=provider, model=model, params=params))
    prompt = _read_prompt(args.prompt, stdin)
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
        progress = stderr if stderr.isatty() and not os.environ.get("CHATLAB_NO_PROGRESS") else None
        try:
            save_problem = asyncio.run(_ask(lab, prompt, progress, store)) or save_problem
        except KeyboardInterrupt:
            for resp in session.turns[-1].responses.values():
                if not resp.status.finished:
                    resp.status = Status.CANCELLED
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
    if args.json:
        json.dump(document([session]), stdout, ensure_ascii=False, indent=2, allow_nan=False)
        stdout.write("\n")
    else:
        _print_text(session, stdout)
    if save_problem:
        stdout.flush()
        print(f"chatlab: {save_problem}; the answers above were not all kept", file=stderr)
    ok = all(r.status is Status.OK for r in session.turns[-1].responses.values())
    return 0 if ok and not save_problem else 1


# -- keys and providers ---------------------------------------------------------------


def cmd_keys(args: Any, stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> int:
    config = load_config()
    store = KeyStore()
    if args.keys_command == "list":
        for name, provider in sorted(config.providers.items()):
            where = store.source(provider).where if provider.needs_key else "not needed"
            stdout.write(f"{terminal_text(name):<14} {where}\n")
        return 0
    provider = config.provider(args.name)
    if args.keys_command == "delete":
        removed = store.delete(provider.name)
        stdout.write(f"{'removed' if removed else 'no stored key for'} {provider.name}\n")
        return 0
    if stdin.isatty():
        secret = getpass.getpass(f"API key for {provider.name} (input hidden): ")
    else:
        secret = stdin.readline()
    secret = secret.strip()
    if not secret:
        raise UsageError("empty key")
    try:
        store.set(provider.name, secret)
    except NoKeychain as exc:
        envs = " or ".join(provider.env_candidates) or "api_key_env in config.toml"
        stderr.write(f"chatlab: the key was not saved: {exc} Set {envs} instead.\n")
        return 1
    stdout.write(f"stored the key for {provider.name} in the OS keychain\n")
    return 0


def cmd_providers(args: Any, stdout: IO[str]) -> int:
    config = load_config()
    store = KeyStore()
    for name, p in sorted(config.providers.items()):
        key = store.source(p).where if p.needs_key else "no key needed"
        url = (
            display_url(p.base_url)
            if p.base_url
            else ("built-in loopback server" if name == "demo" else "default endpoint")
        )
        stdout.write(f"{terminal_text(name):<14} {p.kind:<17} {terminal_text(url):<40} key: {key}\n")
    stdout.write(
        f"config: {config.source or paths().config_file} ({'found' if config.source else 'absent'})\n"
    )
    return 0


def open_store(readonly_ok: bool = False) -> Store:
    """The session database; ``readonly_ok`` for commands that only read it."""
    try:
        return Store.for_reading(default_path()) if readonly_ok else Store(default_path())
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def cmd_sessions(stdout: IO[str]) -> int:
    if not default_path().exists():
        stdout.write("no sessions yet\n")
        return 0
    store = open_store(readonly_ok=True)
    try:
        rows = store.sessions()
    finally:
        store.close()
    if not rows:
        stdout.write("no sessions yet\n")
    for s in rows:
        blind = " [blind]" if s.blind else ""
        when = terminal_text(s.created_at[:16].replace("T", " "))
        title = terminal_text(s.title)
        stdout.write(f"{terminal_text(s.id)}  {when}  lanes {s.lanes}  turns {s.turns}  {title}{blind}\n")
    return 0


def _resolve_ids(store: Store, wanted: Sequence[str]) -> list[str]:
    known = store.ids()
    out = []
    for w in wanted:
        matches = [i for i in known if i.startswith(w)]
        if len(matches) != 1:
            raise UsageError(f"{'no' if not matches else 'more than one'} session matches {w!r}")
        out.append(matches[0])
    return out


def cmd_export(args: Any, stdout: IO[str]) -> int:
    chosen = sum(bool(x) for x in (args.all, args.ids, args.study, args.votes))
    if chosen != 1:
        raise UsageError("name the sessions to export, or use one of --all, --study NAME or --votes")
    if args.rating_pack and not args.study:
        raise UsageError("--rating-pack needs --study NAME")
    store = open_store(readonly_ok=not args.rating_pack)
    try:
        if args.study:
            from chatlab.cli.study import find_study

            info = find_study(store, args.study)
            if args.rating_pack:
                from chatlab.core.packs import rating_pack

                damaged: list[str] = []
                doc, mapping = rating_pack(store.study_sessions(info.id, damaged), info.name)
                try:
                    store.remember_pack(mapping)
                except (sqlite3.Error, OSError) as exc:
                    raise UsageError(
                        f"{store.path}: {reason_words(error_reason(exc, store.path))}; no pack was written"
                    ) from None
                problems: list[str] = damaged
                packed = doc["sessions"][0]["study"]["name"] if doc["sessions"] else info.name
                if packed != info.name:
                    print(
                        f"chatlab: the study's name names a model, so the pack calls it {packed!r}",
                        file=sys.stderr,
                    )
            else:
                doc, problems = export_sessions(store.study_session_ids(info.id), store.load)
        else:
            ids = (
                store.ids()
                if args.all
                else store.voted_ids()
                if args.votes
                else _resolve_ids(store, args.ids)
            )
            doc, problems = export_sessions(ids, store.load)
    finally:
        store.close()
    ids = [s["id"] for s in doc["sessions"]]
    text = json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write: {exc.strerror}") from None
        print(f"exported {len(ids)} session{'s' if len(ids) != 1 else ''} to {args.output}", file=sys.stderr)
    else:
        stdout.write(text)
    for problem in problems:
        print(f"chatlab: left out {terminal_text(problem)}", file=sys.stderr)
    return 1 if problems else 0


def cmd_import(args: Any, stdout: IO[str]) -> int:
    path = Path(args.file)
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"), parse_constant=_no_constant)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); nothing was imported") from None
    except RecursionError:
        raise UsageError(f"{path}: not a session document: nested too deeply; nothing was imported") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON: {exc}; nothing was imported") from None
    try:
        sessions = parse_document(doc)
    except DocumentError as exc:
        raise UsageError(f"{path}: {exc}; nothing was imported") from None
    store = open_store()
    try:
        result = store.import_document(sessions)
    except DocumentError as exc:
        raise UsageError(f"{path}: {exc}; nothing was imported") from None
    except (sqlite3.Error, OSError) as exc:
        raise UsageError(
            f"{store.path}: {reason_words(error_reason(exc, store.path))}; nothing was imported"
        ) from None
    finally:
        store.close()
    added = result.added
    skipped = len(sessions) - added
    merged = ""
    if result.votes or result.ratings:
        merged = (
            f"; merged {result.votes} vote{'s' if result.votes != 1 else ''} and "
            f"{result.ratings} rating{'s' if result.ratings != 1 else ''} from other raters"
        )
    stdout.write(
        f"imported {added} session{'s' if added != 1 else ''}"
        + (f" ({skipped} already present)" if skipped else "")
        + merged
        + "\n"
    )
    return 0


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def launch_gui(flags: Sequence[str] = ()) -> int:
    import importlib

    if sys.platform.startswith("linux") and not any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    ):
        # Qt would abort with advice about xcb libraries, which is not the problem.
        print(
            "chatlab: no display: the window needs a desktop session (or `ssh -X`); "
            "headless commands work anywhere, e.g. `chatlab ask -m demo:demo-fast hi` (see `chatlab --help`)",
            file=sys.stderr,
        )
        return 2

    try:
        app = importlib.import_module("chatlab.app")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("chatlab.app"):
            print("chatlab: the desktop window is not built yet; try `chatlab ask --help`", file=sys.stderr)
            return 2
        raise
    return int(app.main(list(flags)))


def main(argv: Sequence[str] | None = None) -> int:
    from chatlab.core import logs

    logs.setup()
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`chatlab sessions | head -1`): stop quietly, as Unix tools
        # do. Python would complain again when flushing stdout at exit; point it at devnull.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the closed pipe


SUBCOMMANDS = (
    "ask",
    "keys",
    "providers",
    "sessions",
    "export",
    "import",
    "study",
    "rate",
    "stats",
    "serve-demo",
)


def window_flags(argv: Sequence[str]) -> list[str] | None:
    """The window's flags when ``argv`` opens the window (no subcommand), checked here so
    a bad ``-m`` is one line and exit 2, not a dialog; None when a subcommand is given."""
    expect_value = lanes = False
    for arg in argv:
        if expect_value:
            expect_value = False
        elif arg in ("-m", "--model"):
            expect_value = lanes = True
        elif (
            arg in ("-h", "--help", "--version", "--install-desktop", "--uninstall-desktop")
            or arg in SUBCOMMANDS
        ):
            return None
        elif not arg.startswith("-"):
            if not lanes:
                return None  # a word with no lanes is a (mistyped) subcommand, not a prompt
            break
    from chatlab.app import window_parser

    args = window_parser(_Parser).parse_args(list(argv))
    config = load_config()
    for spec in args.model:
        config.provider(parse_model_spec(spec)[0])  # unknown provider -> ConfigError
    return list(argv)


def _main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        flags = window_flags(argv)
        if flags is not None:
            return launch_gui(flags)
        args = build_parser().parse_args(argv)
        if args.install_desktop or args.uninstall_desktop:
            if args.command is not None:
                raise UsageError("--install-desktop and --uninstall-desktop take no subcommand")
            from chatlab.cli.desktop import cmd_desktop

            return cmd_desktop(args.uninstall_desktop, sys.stdout, sys.stderr)
        if args.command is None:
            return launch_gui(["--demo"] * args.demo + ["--no-autosend"] * args.no_autosend)
        if args.command == "ask":
            return cmd_ask(args, sys.stdin, sys.stdout, sys.stderr)
        if args.command == "keys":
            return cmd_keys(args, sys.stdin, sys.stdout, sys.stderr)
        if args.command == "providers":
            return cmd_providers(args, sys.stdout)
        if args.command == "sessions":
            return cmd_sessions(sys.stdout)
        if args.command == "export":
            return cmd_export(args, sys.stdout)
        if args.command == "import":
            return cmd_import(args, sys.stdout)
        if args.command == "study":
            from chatlab.cli.study import cmd_study

            return cmd_study(args, sys.stdout, sys.stderr)
        if args.command == "stats":
            from chatlab.cli.stats import cmd_stats

            return cmd_stats(args, sys.stdout)
        if args.command == "rate":
            from chatlab.cli.study import cmd_rate

            return cmd_rate(args, sys.stderr)
        if args.command == "serve-demo":
            from chatlab.demo.server import main as serve

            serve(args.port)
            return 0
    except (UsageError, ConfigError, StudyUsageError) as exc:
        print(f"chatlab: {terminal_text(str(exc))}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
