"""The ``chatlab`` command: the window with no subcommand, headless subcommands otherwise.

``ask`` sends one prompt to several models at once over the same core the window uses,
shows live per-lane progress on a terminal, and prints the answers: one lane's text as it
arrives, several lanes' when all have ended (``--stream``: each as it ends; ``--no-stream``:
all at the end, one lane too), or, with ``--json``, the session document. Exit codes: 0
when every lane succeeded, 1 when any lane failed (all results are still printed), 2 for
a usage or configuration problem, which is printed as one line without a traceback.
``keys`` manages API keys in the OS keychain, ``providers`` shows what is configured, and
``serve-demo`` runs the loopback server. Plain-text output shows control characters in
model text as visible escapes (``\x1b``), so an answer can't clear the screen or retitle
the terminal; ``--json`` escapes them itself. Output into a closed pipe
(``chatlab sessions | head -1``) ends quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from chatlab import __version__
from chatlab.cli.common import UsageError, parse_model_spec
from chatlab.core.data.constants import DEFAULT_IDLE_TIMEOUT_S, EFFORTS, REASONING_LEVELS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _reasoning(value: str) -> str | int:
    """``--reasoning``: a level, or a token budget (ASCII digits)."""
    if value.isascii() and value.isdigit():
        return int(value)
    if value in REASONING_LEVELS:
        return value
    raise argparse.ArgumentTypeError(f"expected off, low, medium, high or a number of tokens, got {value!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chatlab",
        description="Compare language models side by side.",
        epilog="With no command, chatlab opens its window: chatlab [-m PROVIDER:MODEL]... [--blind] [--send] "
        "[PROMPT] (demo mode until a key is set). A lane may carry its own parameters: "
        "-m 'openai:gpt-4.1{think=prompted}' asks a plain model to think first.",
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
        help="a lane; repeat for more lanes, at most 8 (e.g. -m openai:gpt-4o -m demo:demo-fast); "
        "its own parameters in braces win over the options below: "
        "-m 'openai:gpt-4.1{think=prompted, temperature=0.7}' (think=prompted asks a plain model "
        'to think first; a value with a comma is a JSON string: system="Be brief, please.")',
    )
    ask.add_argument("--system", help="system prompt for every lane (a lane's own system= wins)")
    ask.add_argument(
        "--temperature", type=float, help="sampling temperature (dropped where a model rejects it)"
    )
    ask.add_argument("--max-tokens", type=int, dest="max_tokens", help="max output tokens per lane")
    ask.add_argument(
        "--reasoning",
        type=_reasoning,
        metavar="off|low|medium|high|N",
        help="the one reasoning knob, for every provider: a level, or N tokens of budget; a "
        "setting a model can't honour is refused before sending",
    )
    ask.add_argument("--effort", choices=EFFORTS, help="the provider's own reasoning effort (older)")
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
    flow = ask.add_mutually_exclusive_group()
    flow.add_argument(
        "--stream",
        action="store_const",
        const=True,
        dest="stream",
        help="with several lanes, print each lane's answer the moment it ends (one lane streams "
        "its text as it arrives, unless --no-stream or --json)",
    )
    flow.add_argument(
        "--no-stream",
        action="store_const",
        const=False,
        dest="stream",
        help="print every answer at the end, when all lanes have ended",
    )
    ask.add_argument("--json", action="store_true", help="print the session document as JSON (at the end)")
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
        "--for",
        dest="for_name",
        metavar="NAME",
        help="with --rating-pack: whom the pack is for (a name written into it)",
    )
    exp.add_argument(
        "--unblind",
        action="store_true",
        help="with --study: every comparison with its models' names, even before you vote "
        "(your later votes on them are sighted)",
    )
    exp.add_argument(
        "--votes",
        action="store_true",
        help="your own votes and ratings, to send back to a study's owner: with --study NAME one "
        "study's; with --all every session's (else it asks before including interactive ones)",
    )
    exp.add_argument("-o", "--output", help="write to FILE instead of stdout")
    imp = sub.add_parser("import", help="import a session document (validated first; all or nothing)")
    imp.add_argument("file")

    from chatlab.cli.study_args import add_parser as add_study
    from chatlab.cli.study_args import add_rate_parser

    add_study(sub, _Parser)
    add_rate_parser(sub)
    from chatlab.cli.stats_args import add_parser as add_stats

    add_stats(sub)
    from chatlab.cli.judge_args import add_parser as add_judge

    add_judge(sub, _Parser)

    demo = sub.add_parser("serve-demo", help="run the built-in loopback provider server")
    demo.add_argument("--port", type=int, default=8765)
    return parser


# -- ask -----------------------------------------------------------------------------


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
    "judge",
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
    from chatlab.core.settings.config import load_config

    args = window_parser(_Parser).parse_args(list(argv))
    config = load_config()
    for spec in args.model:
        config.provider(parse_model_spec(spec).provider)  # unknown provider -> ConfigError
    return list(argv)


def _main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        flags = window_flags(argv)
        if flags is not None:
            return launch_gui(flags)
        args = build_parser().parse_args(argv)
        from chatlab.core.settings import logs

        logs.setup()  # after parsing: --help and a mistyped command need no log file
        if args.install_desktop or args.uninstall_desktop:
            if args.command is not None:
                raise UsageError("--install-desktop and --uninstall-desktop take no subcommand")
            from chatlab.cli.desktop import cmd_desktop

            return cmd_desktop(args.uninstall_desktop, sys.stdout, sys.stderr)
        if args.command is None:
            return launch_gui(["--demo"] * args.demo + ["--no-autosend"] * args.no_autosend)
        if args.command == "ask":
            from chatlab.cli.ask import cmd_ask

            return cmd_ask(args, sys.stdin, sys.stdout, sys.stderr)
        if args.command in ("keys", "providers", "sessions", "export", "import"):
            from chatlab.cli import commands

            if args.command == "keys":
                return commands.cmd_keys(args, sys.stdin, sys.stdout, sys.stderr)
            if args.command == "providers":
                from chatlab.cli.providers import cmd_providers

                return cmd_providers(args, sys.stdout)
            if args.command == "sessions":
                return commands.cmd_sessions(sys.stdout)
            if args.command == "export":
                return commands.cmd_export(args, sys.stdout, sys.stdin)
            return commands.cmd_import(args, sys.stdout)
        if args.command == "study":
            from chatlab.cli.study import cmd_study

            return cmd_study(args, sys.stdout, sys.stderr)
        if args.command == "stats":
            from chatlab.cli.stats import cmd_stats

            return cmd_stats(args, sys.stdout)
        if args.command == "judge":
            from chatlab.cli.judge import cmd_judge

            return cmd_judge(args, sys.stdout, sys.stderr)
        if args.command == "rate":
            from chatlab.cli.study import cmd_rate

            return cmd_rate(args, sys.stderr)
        if args.command == "serve-demo":
            from chatlab.demo.server import main as serve

            serve(args.port)
            return 0
    except Exception as exc:
        from chatlab.core.data.safety import terminal_text
        from chatlab.core.settings.config import ConfigError
        from chatlab.core.studies.controller import StudyError

        if not isinstance(exc, UsageError | ConfigError | StudyError):
            raise
        print(f"chatlab: {terminal_text(str(exc))}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
