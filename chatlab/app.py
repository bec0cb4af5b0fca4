"""The desktop app's entry point: one qasync event loop drives Qt and the streaming core.

``chatlab`` with no subcommand lands here. The built-in loopback server starts in a
background thread so the ``demo`` provider always works. With no API key configured the
window opens in demo mode: three demo lanes replay a small experiment ("which one is the
reasoner?") so a newcomer sees every part of the window working within seconds. Closing
the window cancels running lanes cleanly before the loop stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from chatlab import __version__
from chatlab.core.data.events import ErrorKind
from chatlab.core.data.model import Lane
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import (
    Config,
    ConfigError,
    load_config,
    parse_config,
    paths,
    save_config,
)
from chatlab.core.settings.model_lists import ModelListCache
from chatlab.core.settings.presets import DEMO_PRESET, lane_from_spec, shipped
from chatlab.core.settings.raters import installation
from chatlab.demo.scripts import HAIKU_PROMPT
from chatlab.demo.server import DemoServer
from chatlab.demo.setup import with_demo
from chatlab.store.db import Store, StoreError, default_path

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from chatlab.core.settings.raters import Rater
    from chatlab.core.studies.study import StudyInfo
    from chatlab.ui.lab.window import MainWindow

PREWARM_AFTER_S = 0.3  # after the window's first paint
LIST_MODELS_TIMEOUT_S = 20.0  # the lane editor's model list: a fetch that takes longer has failed
_background: set[asyncio.Future[None]] = set()  # tasks kept alive until they finish

DEMO_BANNER = (
    "Demo mode: no API key yet, so three scripted models on chatlab's built-in server answer. Two of "
    "them reason before answering (one shows its reasoning, one keeps it hidden); one does not. Blind "
    "mode is on: read the three haikus, tick the ones you think reasoned, vote for the best, and see "
    "the reveal. The demo models are scripted: they answer with the same haiku whatever you "
    "ask. Add real providers in Settings."
)


def has_any_key(config: Config, keys: KeyStore) -> bool:
    return any(p.needs_key and keys.source(p).found for name, p in config.providers.items() if name != "demo")


def window_parser(cls: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``chatlab [-m PROVIDER:MODEL]... [--blind] [--send] [PROMPT]``: the window's options."""
    parser = cls(prog="chatlab")
    parser.add_argument("--demo", action="store_true", help="open the demo session even with keys configured")
    parser.add_argument("--no-autosend", action="store_true", help="do not send the demo prompt at start")
    parser.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="PROVIDER:MODEL",
        help="a lane, optionally with its parameters: -m 'openai:gpt-4.1{think=prompted}'",
    )
    parser.add_argument("--blind", action="store_true", help="start in blind mode")
    parser.add_argument("--send", action="store_true", help="send the prompt at once")
    parser.add_argument("prompt", nargs="?", help="put this prompt in the editor")
    return parser


def start(window: MainWindow, args: argparse.Namespace, demo: bool, send: bool = True) -> None:
    """Set the window up as the command line asked: the demo, or the given lanes, blind
    mode and prompt; then send (the demo's prompt is kept only once the user acts)."""
    specs = [lane_from_spec(spec) for spec in args.model]  # checked by chatlab.cli.window_flags
    lanes = [Lane(e.provider, e.model, e.params, e.label) for e in specs]
    demo_lanes = demo and not lanes
    if demo_lanes:
        lanes = next(p for p in shipped() if p.name == DEMO_PRESET).lanes()
    for lane in lanes:
        window.add_lane(lane)
    if args.blind or demo_lanes:  # the demo *is* the blind experiment
        window.lab.set_blind(True)
    window.prompt.setPlainText(args.prompt or (HAIKU_PROMPT if demo and not args.model else ""))
    if not send:
        return
    if args.send:
        window.send()
    elif demo and not args.model and not args.no_autosend:
        window.send(keep=False)  # saved once the user votes, rates or follows up
    else:
        # Nothing is sent yet: import the lanes' SDKs now, in a worker thread, once the
        # window has painted, so the first send starts at once instead of after them.
        providers = {lane.provider for lane in window.session.lanes}
        loop = asyncio.get_running_loop()

        def prewarm() -> None:
            task = asyncio.ensure_future(window.lab.runner.prepare(providers))
            _background.add(task)
            task.add_done_callback(_background.discard)

        loop.call_later(PREWARM_AFTER_S, prewarm)


def model_lister(runner_of: Callable[[], Runner]) -> Callable[[str], Awaitable[list[str]]]:
    """The lane editor's ``list_models``: the provider's models by its adapter (built in a
    worker thread: importing an SDK takes a while), or ``ConnectionError`` with one line
    saying why not (no key, the server not started, the provider's own message)."""

    async def list_models(name: str) -> list[str]:
        from chatlab.providers.errors import map_exception

        runner = runner_of()
        provider = runner.config.provider(name)
        if provider.needs_key and not runner.keys.source(provider).found:
            raise ConnectionError(f"no key for {name}: add one in Settings")
        try:
            adapter = await asyncio.to_thread(runner.adapter, name)
            async with asyncio.timeout(LIST_MODELS_TIMEOUT_S):
                return await adapter.list_models()
        except TimeoutError:
            raise ConnectionError(f"no answer within {LIST_MODELS_TIMEOUT_S:g} s") from None
        except Exception as exc:
            error = map_exception(exc, provider.base_url)
            why = f"HTTP {error.status_code}: {error.message}" if error.status_code else error.message
            if error.kind is ErrorKind.NETWORK and _local(provider.base_url):
                why += f" — {provider.hint}" if provider.hint else f" — is {name}'s server started?"
            raise ConnectionError(why) from None

    return list_models


def _local(url: str | None) -> bool:
    host = urllib.parse.urlsplit(url or "").hostname or ""
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".local")


async def run_window(argv: Sequence[str]) -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QMessageBox

    from chatlab.providers import make_adapter
    from chatlab.ui.dialogs.connection import connection_tester
    from chatlab.ui.dialogs.lane import LaneDialog
    from chatlab.ui.dialogs.settings import SettingsDialog
    from chatlab.ui.lab.window import MainWindow

    args = window_parser().parse_args(list(argv))

    server = DemoServer().start_in_thread()
    keys = KeyStore()
    try:
        config = load_config()
    except ConfigError as exc:
        QMessageBox.critical(None, "chatlab", f"{exc}\n\nchatlab starts with the built-in presets only.")
        config = parse_config({})
    runner = Runner(with_demo(config, server), keys, make_adapter)
    demo = args.demo or (not args.model and not has_any_key(config, keys))
    store: Store | None = None
    try:
        store = Store(default_path())
    except StoreError as exc:
        QMessageBox.warning(
            None,
            "chatlab — sessions won't be saved",
            f"{exc}.\n\nUntil this is resolved, sessions are not saved, and history, studies and the "
            "Leaderboard are off. To start a new database, move that file aside and restart chatlab.",
        )

    model_lists = ModelListCache()

    def edit_lane(window: MainWindow, lane: Lane | None) -> Lane | None:
        list_models = model_lister(lambda: window.lab.runner)
        dialog = LaneDialog(window.lab.runner.config, lane, list_models, window, model_lists)
        return dialog.result_lane if dialog.exec() else None

    closing: set[asyncio.Future[None]] = set()

    test_connection = connection_tester(keys, make_adapter, server.openai_base_url)

    def open_settings(window: MainWindow) -> None:
        try:
            current = load_config()  # as the user wrote it (presets may have been saved since)
        except ConfigError:
            current = config
        dialog = SettingsDialog(current, keys, window, test_connection=test_connection)
        if dialog.exec() and dialog.result_config is not None:
            save_config(dialog.result_config)
            if window.lab.known_rater() is not None:  # the new name, where votes show it
                try:
                    claim = store.claim_rater if store is not None else None
                    window.lab.rater_name = installation(claim).name
                except (ConfigError, OSError, sqlite3.Error) as exc:
                    QMessageBox.warning(window, "chatlab", f"The new name could not be kept: {exc}")
            if not window.lab.busy:
                old = window.lab.runner
                window.lab.runner = Runner(with_demo(dialog.result_config, server), keys, make_adapter)
                closing.add(asyncio.ensure_future(old.aclose()))

    window = MainWindow(
        runner,
        store=store,
        # This installation's rater, made on first need (a vote, the rating queue); known
        # from the start when it was made before, so a reopened session shows its votes.
        rater=config.rater_id or "",
        rater_of=lambda: installation(store.claim_rater if store is not None else None),
        demo_banner=DEMO_BANNER if demo else "",
        open_settings=open_settings,
        edit_lane=edit_lane,
        settings=QSettings(str(paths().config_dir / "window.ini"), QSettings.Format.IniFormat),
    )
    if config.rater_id:
        window.lab.rater_name = config.rater or ""  # the name its votes show
    screen = window.screen().availableGeometry()
    first_run = not (paths().config_dir / "window.ini").exists()
    if first_run and (screen.width() < 1500 or screen.height() < 950):
        window.showMaximized()  # a laptop screen: the window's frame must not push it off-screen
    else:
        window.show()
    if os.environ.get("CHATLAB_STARTUP_PROBE"):
        # Benchmarks: report once the window has been shown and painted, then quit.
        def probe() -> None:
            print("chatlab: window shown", flush=True)
            window.close()

        start(window, args, demo, send=False)
        QTimer.singleShot(0, probe)
    else:
        start(window, args, demo)

    restore_signals = close_on_signals(window)
    closed = asyncio.get_running_loop().create_future()

    def on_shutdown() -> None:
        if not closed.done():
            closed.set_result(None)

    window.shutdownComplete.connect(on_shutdown)
    try:
        await closed
    finally:
        restore_signals()
        server.stop_thread()
        if store is not None:
            store.close()
    return 0


def close_on_signals(window: QWidget) -> Callable[[], None]:
    """SIGTERM (a logout, ``kill``) and SIGINT (Ctrl+C in the terminal) close the window
    as Ctrl+Q does: running lanes stop, what they wrote is saved, and the exit status is 0.
    Python runs its signal handlers only between bytecodes, and Qt's loop may sit in C++
    for a long time, so the handler's wake-up byte goes to a socket that Qt watches.
    Returns a function that puts the previous handlers back."""
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier, QTimer

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:
        with contextlib.suppress(OSError):
            reader.recv(512)

    notifier.activated.connect(drain)

    def on_signal(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, window.close)

    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        reader.close()
        writer.close()

    return restore


def qt_app() -> QApplication:
    """The one QApplication, named and themed, with chatlab's icon and desktop entry."""
    from PySide6.QtWidgets import QApplication

    from chatlab.ui.shared import theme
    from chatlab.ui.shared.icons import APP_ID, app_icon

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("chatlab")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # Wayland and the taskbar match the window to the menu entry
    app.setWindowIcon(app_icon())
    theme.apply(app)
    return app


def rate_main(study_id: str | None, rater: str = "") -> int:
    """``chatlab rate``: the blind queue of one study (or, with no study, of the turns
    marked to rate), in a window of its own."""
    from PySide6.QtWidgets import QMessageBox

    from chatlab.core.settings import logs

    logs.setup()
    app = qt_app()
    try:
        store = Store(default_path())
    except StoreError as exc:
        QMessageBox.critical(None, "chatlab", str(exc))
        return 2
    try:
        found = None
        if rater:  # `chatlab rate --rater NAME`: the name shown, never a new identity
            try:
                found = installation(store.claim_rater, name=rater)
            except (ConfigError, OSError, sqlite3.Error) as exc:
                QMessageBox.critical(None, "chatlab", f"There is no rater id to vote under: {exc}")
                return 2
        info = store.study(study_id) if study_id is not None else None
        from chatlab.ui.shared.loop import QtLoop

        app.setQuitOnLastWindowClosed(False)
        return asyncio.run(_rate(app, store, info, found), loop_factory=lambda: QtLoop(app))
    finally:
        store.close()


async def _rate(app: QApplication, store: Store, info: StudyInfo | None, rater: Rater | None) -> int:
    """The queue's window, and the Leaderboard its end screen offers (on this loop: it
    computes in a thread), until the last window closes."""
    from chatlab.ui.rating.window import open_queue

    boards: list[QWidget] = []

    def leaderboard() -> QWidget:
        from chatlab.ui.results.leaderboard import LeaderboardView

        if not boards:
            boards.append(LeaderboardView(store))
        else:
            boards[0].refresh()  # type: ignore[attr-defined]
        board = boards[0]
        board.show()
        board.raise_()
        board.activateWindow()
        return board

    window = open_queue(store, info, rater, None, leaderboard)
    if window is None:
        return 1
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def last_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    app.lastWindowClosed.connect(last_closed)
    await closed
    for board in boards:
        task = getattr(board, "task", None)
        if task is not None and not task.done():
            task.cancel()  # the store closes next
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from chatlab.core.settings import logs
    from chatlab.ui.shared.loop import QtLoop

    logs.setup()
    app = qt_app()
    app.setQuitOnLastWindowClosed(False)
    argv = sys.argv[1:] if argv is None else argv
    return asyncio.run(run_window(argv), loop_factory=lambda: QtLoop(app))


if __name__ == "__main__":
    sys.exit(main())
