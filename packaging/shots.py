"""Drive the real window through the states worth showing and photograph the screen.

Run by ``packaging/screenshots.sh`` under Xvfb with openbox (Qt's window shortcuts need
an active window). Each scene builds the state the way a user would reach it (the demo
sent and voted, lanes added, a dialog opened), waits for the turn to finish, then
captures the whole screen with ImageMagick's ``import``. ``SHOTS_OUT`` names the output
folder, ``SHOTS_TAG`` the suffix (e.g. ``1280-light``); ``CHATLAB_THEME`` picks the look.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from chatlab.app import DEMO_BANNER
from chatlab.core.data.model import Lane
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import parse_config
from chatlab.core.settings.presets import DEMO_PRESET, shipped
from chatlab.demo.scripts import HAIKU_PROMPT
from chatlab.demo.server import DemoServer
from chatlab.demo.setup import with_demo
from chatlab.providers import make_adapter
from chatlab.store.db import Store, default_path
from chatlab.ui.dialogs.settings import SettingsDialog
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.shared.loop import QtLoop

OUT = Path(os.environ.get("SHOTS_OUT", "resources/screenshots"))
TAG = os.environ.get("SHOTS_TAG", "shot")


async def settle(seconds: float = 0.4) -> None:
    """Let the loop (which is Qt's) paint and lay out for a while."""
    await asyncio.sleep(seconds)


def snap(name: str) -> None:
    path = OUT / f"{name}-{TAG}.png"
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    print(f"wrote {path}", flush=True)


async def turn(window: MainWindow, prompt: str) -> None:
    window.prompt.setPlainText(prompt)
    window.send()
    await settle(0.2)
    while window.lab.busy:
        await settle(0.2)
    window.render_pending_finals()
    await settle(0.5)


def make_window(runner: Runner, store: Store | None, banner: str = "") -> MainWindow:
    window = MainWindow(runner, store=store, demo_banner=banner)
    window.lab.rater, window.lab.rater_name = "shots", "You"  # as the app's own rater would
    window.show()
    screen = window.screen().availableGeometry()
    window.setGeometry(screen)
    window.showMaximized()
    window.activateWindow()
    return window


async def close(window: MainWindow) -> None:
    await window.shutdown()
    window.close()
    window.deleteLater()
    await settle(0.2)


async def scenes(server: DemoServer) -> None:
    store = Store(default_path())
    demo_config = with_demo(parse_config({}), server)
    # A provider with a real-looking key, served by the loopback server: what a user with
    # an OpenAI-compatible key sees.
    os.environ["LOOPBACK_API_KEY"] = "loopback-demo-key"
    keyed = parse_config(
        {
            "providers": {
                "work": {
                    "kind": "openai-chat",
                    "base_url": server.openai_base_url,
                    "api_key_env": "LOOPBACK_API_KEY",
                }
            },
            "prices": {"work:demo-reasoner": {"input": 1.1, "output": 4.4}},
        }
    )

    async def demo_masked_and_reveal() -> None:
        window = make_window(Runner(demo_config, KeyStore(), make_adapter), store, DEMO_BANNER)
        for lane in next(p for p in shipped() if p.name == DEMO_PRESET).lanes():
            window.add_lane(lane)
        window.lab.set_blind(True)
        await turn(window, HAIKU_PROMPT)
        window.vote_bar.guesses[(window.session.turns[-1].shown_order or [""])[0]].setChecked(True)
        await settle(0.3)
        snap("demo-masked")
        order = window.session.turns[-1].shown_order or []
        window.vote_bar.guesses[order[2]].setChecked(True)
        window.vote_bar.buttons[order[1]].click()  # a click selects; Vote casts it
        await settle(0.3)
        snap("vote-selected")
        assert window.vote_bar.vote_button is not None
        window.vote_bar.vote_button.click()
        await settle(0.6)
        snap("reveal")
        window.reveal.set_folded(True)
        await turn(window, "Now one about snow on the same roof.")
        snap("sighted-follow-up")
        window.reveal.set_folded(False)
        await close(window)

    async def one_lane() -> None:
        window = make_window(Runner(keyed, KeyStore(), make_adapter), store)
        window.add_lane(Lane("work", "demo-reasoner@tps=4000", label="My model"))
        await turn(window, HAIKU_PROMPT)
        snap("one-lane")
        await close(window)

    async def eight_lanes() -> None:
        window = make_window(Runner(demo_config, KeyStore(), make_adapter), store)
        models = ["demo-reasoner", "demo-fast", "demo-hidden", "demo-coder"] * 2
        for i, model in enumerate(models):
            window.add_lane(Lane("demo", f"{model}@tps=3000", label=f"Lane {i + 1}" if i % 2 else ""))
        await turn(window, HAIKU_PROMPT)
        snap("eight-lanes")
        await close(window)

    async def four_lanes() -> None:
        """Four lanes beside the open history: none cut, each name whole."""
        window = make_window(Runner(demo_config, KeyStore(), make_adapter), store)
        for model in ("demo-reasoner", "demo-fast", "demo-hidden", "demo-coder"):
            window.add_lane(Lane("demo", f"{model}@tps=3000"))
        await turn(window, HAIKU_PROMPT)
        snap("four-lanes")
        await close(window)

    async def blind_wait() -> None:
        """Eight slow lanes, blind: the count and the clock, never which have finished."""
        window = make_window(Runner(demo_config, KeyStore(), make_adapter), store)
        for i, model in enumerate(["demo-reasoner", "demo-fast", "demo-hidden", "demo-coder"] * 2):
            window.add_lane(Lane("demo", f"{model}@tps={40 + 60 * i}"))
        window.lab.set_blind(True)
        window.prompt.setPlainText(HAIKU_PROMPT)
        window.send()
        while not any(r.status.finished for r in window.session.turns[-1].responses.values()):
            await settle(0.2)
        await settle(1.2)
        snap("blind-wait")
        window.lab.stop_all()
        while window.lab.busy:
            await settle(0.2)
        await close(window)

    async def thinking() -> None:
        """A model that thinks in private: its card says so, with a clock, not a blank."""
        window = make_window(Runner(demo_config, KeyStore(), make_adapter), store)
        window.add_lane(Lane("demo", "demo-hidden@think_delay_s=30", label="Hidden reasoner"))
        window.add_lane(Lane("demo", "demo-fast@tps=3000", label="Fast"))
        window.prompt.setPlainText(HAIKU_PROMPT)
        window.send()
        await settle(3.2)
        snap("thinking")
        window.lab.stop_all()
        while window.lab.busy:
            await settle(0.2)
        await close(window)

    async def markdown_and_error() -> None:
        window = make_window(Runner(demo_config, KeyStore(), make_adapter), None)
        window.add_lane(Lane("demo", "demo-coder@tps=3000", label="Coder"))
        window.add_lane(Lane("demo", "demo-fast@fault=500", label="Broken endpoint"))
        await turn(window, "How do I read a file safely in Python?")
        snap("markdown-and-error")
        await close(window)

    async def settings_dialog() -> None:
        window = make_window(Runner(demo_config, KeyStore(), make_adapter), store)
        dialog = SettingsDialog(keyed, KeyStore(), window)
        dialog.show()
        await settle(0.6)
        snap("settings")
        dialog.close()
        await close(window)

    async def history() -> None:
        window = make_window(Runner(demo_config, KeyStore(), make_adapter), store)
        window.add_lane(Lane("demo", "demo-fast@tps=3000", label="Fast"))
        window.add_lane(Lane("demo", "demo-coder@tps=3000", label="Coder"))
        await turn(window, "How do I read a file safely in Python?")
        assert window.sidebar is not None
        window.sidebar.search.setText("roof")
        await settle(0.8)
        snap("history")
        await close(window)

    async def studies_and_queue() -> None:
        from chatlab.core.studies.suites import load_suite, shipped_suites
        from chatlab.ui.studies.view import EstimateDialog

        window = make_window(Runner(demo_config, KeyStore(), make_adapter), store)
        window.lab.rater = "ann"
        view = window.open_studies()
        assert view is not None
        demo = load_suite(next(p for p in shipped_suites() if p.name == "demo.toml"), demo_config)
        from chatlab.core.studies.estimate import estimate
        from chatlab.core.studies.study import comparisons, work

        rows = estimate(demo, work(comparisons(demo, "x", demo.name)), demo_config, store.model_history)
        from chatlab.core.studies.estimate import reasoning_warnings

        dialog = EstimateDialog(view, demo, rows, 0.0, reasoning_warnings(demo, demo_config))
        dialog.show()
        await settle(0.6)
        snap("study-estimate")
        dialog.close()
        first = view.start_new(demo, confirm=False)
        assert first is not None
        await settle(3.0)
        view.refresh()
        await settle(0.3)
        snap("studies")
        while view.controller.running(first.id):
            await settle(0.3)
        view.refresh()
        window.open_rate(store.study(first.id))
        await settle(0.8)
        rate = window.rate_windows[-1]
        rate.showMaximized()
        await settle(0.6)
        rview = rate.view  # type: ignore[attr-defined]
        rview.pick(1)
        rview.toggle_guess(0)
        await settle(0.4)
        snap("rate-queue")
        # A rater with a taste, for the leaderboard: the hybrid at effort high most often,
        # then the reasoner, the prompted lane, now and then a plain one; one guess of
        # which was trained to reason, right more often than not.
        labels = ["Hybrid, effort high", "Visible reasoner", "Prompted to think", "Hybrid, effort high",
                  "No reasoning", "Hybrid, effort low", "Visible reasoner (placebo)"]  # fmt: skip
        k = 0
        while (item := rview.queue.current) is not None:
            wanted = labels[k % len(labels)]
            names = [item.session.lane(lane_id).label for lane_id in item.lanes]
            rview.pick(names.index(wanted) if wanted in names else 0)
            trained = [
                i for i, name in enumerate(names) if "reasoner" in name or "low" in name or "high" in name
            ]
            others = [i for i in range(len(names)) if i not in trained]
            pool = trained if k % 3 else others
            if pool:
                rview.toggle_guess(pool[k % len(pool)])
            rview.commit()
            k += 1
            await settle(0.05)
        await settle(0.6)
        snap("rate-done")
        rate.close()
        from chatlab.ui.results.leaderboard import LeaderboardView

        board = window.open_leaderboard()
        assert isinstance(board, LeaderboardView)
        board.showMaximized()
        while board.doc is None or (board.task is not None and not board.task.done()):
            await settle(0.3)
        await settle(0.6)
        for i, name in enumerate(("ratings", "wins", "cost", "dose", "guess")):  # the card above each
            board.tabs.setCurrentIndex(i)
            await settle(0.5)
            snap(f"leaderboard-{name}")
        board.close()
        view.close()
        assert window.sidebar is not None
        window.sidebar.refresh()  # the study's comparisons, grouped under it
        await settle(0.5)
        snap("history-study")
        await close(window)

    steps: list[Callable[[], Awaitable[None]]] = [
        demo_masked_and_reveal,
        one_lane,
        four_lanes,
        eight_lanes,
        blind_wait,
        thinking,
        markdown_and_error,
        settings_dialog,
        history,
        studies_and_queue,
    ]
    only = set(filter(None, os.environ.get("SHOTS_ONLY", "").split(",")))
    for step in steps:
        if not only or step.__name__ in only:
            await step()
    store.close()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    from chatlab.app import qt_app

    app = qt_app()  # as the app makes it: name, theme, icon, desktop file name
    app.setQuitOnLastWindowClosed(False)
    server = DemoServer().start_in_thread()
    try:
        asyncio.run(scenes(server), loop_factory=lambda: QtLoop(app))
    finally:
        server.stop_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
