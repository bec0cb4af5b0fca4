"""The lane editor's Reasoning knob and model list: each choice comes back as the lane's
``reasoning``; a setting the model can't honour is greyed out in the list, or refused
under the field with the reason and the OK button disabled, and this follows the model;
the older provider's own settings sit in a fold and are never set with the knob. The
model list shows the cached list at once, fetched again by Refresh over loopback, keeps
it when a fetch fails (saying why in one line), ignores a corrupt cache file, follows
the provider, marks the reasoners and filters as you type."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import cast

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from pytestqt.qtbot import QtBot

from chatlab.app import model_lister
from chatlab.core.data.model import Lane, LaneParams
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings import reasoning
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import Config, parse_config
from chatlab.core.settings.model_lists import ModelListCache
from chatlab.demo.server import DemoServer
from chatlab.providers import make_adapter
from chatlab.ui.dialogs.lane import BOTH, BUDGET, THINK_FIRST, LaneDialog
from chatlab.ui.dialogs.lane_models import NOTE_ROLE
from tests.conftest import lab_config

FETCH_MS = 30_000


def _dialog(
    qtbot: QtBot, lane: Lane, config: Config | None = None, runner: Runner | None = None
) -> LaneDialog:
    lister = model_lister(lambda: runner) if runner is not None else None
    dialog = LaneDialog(config or parse_config({}), lane, lister)
    qtbot.addWidget(dialog)
    return dialog


def _choose(dialog: LaneDialog, value: str | int | None) -> None:
    if isinstance(value, int):
        dialog.reasoning.setCurrentIndex(dialog.reasoning.findData(BUDGET))
        dialog.reasoning_budget.setValue(value)
    else:
        index = dialog.reasoning.findData(value) if value is not None else 0
        dialog.reasoning.setCurrentIndex(index)


def _enabled(dialog: LaneDialog) -> dict[str, bool]:
    items = cast(QStandardItemModel, dialog.reasoning.model())
    return {items.item(r).text(): items.item(r).isEnabled() for r in range(items.rowCount())}


@pytest.mark.parametrize("value", [None, "off", "low", "medium", "high", 3000])
def test_each_reasoning_choice_comes_back_as_the_lanes_knob(qtbot: QtBot, value: str | int | None) -> None:
    dialog = _dialog(qtbot, Lane("anthropic", "claude-sonnet-4-5"))
    _choose(dialog, value)
    assert dialog.ok.isEnabled() and dialog.reasoning_error.text() == ""
    assert dialog.reasoning_budget.isVisibleTo(dialog) is isinstance(value, int)
    built = dialog.build()
    assert built.params == LaneParams(reasoning=value)
    again = _dialog(qtbot, built)  # and a lane with it opens showing it
    assert again.knob() == value and again.build().params == built.params


def test_a_setting_the_model_cant_honour_disables_ok_with_the_reason(qtbot: QtBot) -> None:
    openai = parse_config({}).providers["openai"]
    dialog = _dialog(qtbot, Lane("openai", "o4-mini", LaneParams(reasoning="off")))
    why = reasoning.problem(openai, "o4-mini", LaneParams(reasoning="off"))
    assert why is not None and "always reasons" in why
    assert dialog.reasoning_error.text() == why and dialog.reasoning_error.isVisibleTo(dialog)
    assert not dialog.ok.isEnabled()
    dialog.accept()
    assert dialog.result_lane is None and dialog.error.text() == why
    # The settings o4-mini can't take are greyed out, the reason in their tooltip.
    assert _enabled(dialog) == {
        "default": True,
        "off": True,  # the current one, shown as chosen
        "low": True,
        "medium": True,
        "high": True,
        "a token budget": False,
    }
    # It follows the model: gpt-5.1 can turn reasoning off; gpt-4.1 doesn't reason at all.
    dialog.model.setCurrentText("gpt-5.1")
    assert dialog.ok.isEnabled() and not dialog.reasoning_error.isVisibleTo(dialog)
    assert dialog.reasoning_note.text().startswith("gpt-5.1 takes off, low, medium or high: sent as")
    dialog.model.setCurrentText("gpt-4.1")
    assert dialog.ok.isEnabled()  # off, for a model that doesn't reason: nothing to send
    _choose(dialog, "high")
    assert not dialog.ok.isEnabled() and "gpt-4.1 doesn't reason" in dialog.reasoning_error.text()
    _choose(dialog, None)
    assert dialog.ok.isEnabled() and dialog.build().params == LaneParams()


def test_a_budget_out_of_the_models_range_is_refused(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Lane("anthropic", "claude-sonnet-4-5"))
    _choose(dialog, 100)
    assert not dialog.ok.isEnabled() and "from 1,024 to 63,999 tokens" in dialog.reasoning_error.text()
    dialog.reasoning_budget.setValue(2048)
    assert dialog.ok.isEnabled() and dialog.build().params.reasoning == 2048
    dialog.model.setCurrentText("claude-opus-4-6")  # adaptive thinking: no token budget
    assert not dialog.ok.isEnabled() and "takes no token budget" in dialog.reasoning_error.text()


def test_think_first_allows_only_reasoning_off(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Lane("demo", "demo-hybrid"))
    _choose(dialog, "high")
    dialog.think.setChecked(True)
    assert not dialog.ok.isEnabled() and dialog.reasoning_error.text() == THINK_FIRST
    assert not _enabled(dialog)["low"] and not _enabled(dialog)["a token budget"]
    _choose(dialog, "off")
    assert dialog.ok.isEnabled()
    assert dialog.build().params == LaneParams(think="prompted", reasoning="off")


def test_the_providers_own_settings_sit_in_a_fold_and_never_with_the_knob(qtbot: QtBot) -> None:
    plain = _dialog(qtbot, Lane("openai", "o4-mini"))
    assert not plain.fold.isChecked() and not plain.own.isVisibleTo(plain)
    older = LaneParams(reasoning_effort="low")
    dialog = _dialog(qtbot, Lane("openai", "o4-mini", older))
    assert dialog.fold.isChecked() and dialog.own.isVisibleTo(dialog)
    assert dialog.build().params == older  # a lane using them keeps working
    assert not any(enabled for name, enabled in _enabled(dialog).items() if name != "default")
    _choose(dialog, "high")  # chosen anyway (e.g. by keyboard): refused, the reason says what to do
    assert not dialog.ok.isEnabled() and dialog.reasoning_error.text() == BOTH
    dialog.effort.setCurrentText("default")
    assert dialog.ok.isEnabled() and dialog.build().params == LaneParams(reasoning="high")
    dialog.use_budget.setChecked(True)
    assert not dialog.ok.isEnabled() and dialog.reasoning_error.text() == BOTH


# -- the model list --------------------------------------------------------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port  # nothing listens there now


@pytest.fixture
def lister(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, server: DemoServer, closed_port: int
) -> Iterator[Runner]:
    gone: dict[str, object] = {
        "kind": "openai-chat",
        "base_url": f"http://127.0.0.1:{closed_port}/v1",
        "needs_key": False,
    }
    keyed: dict[str, object] = {
        "kind": "openai-chat",
        "base_url": server.openai_base_url,
        "api_key_env": "NO_SUCH_KEY_ENV",
    }
    runner = Runner(lab_config(server, gone=gone, keyed=keyed), KeyStore(), make_adapter)
    yield runner
    closing = loop.create_task(runner.aclose())  # the adapters' connections, closed here
    qtbot.waitUntil(closing.done, timeout=FETCH_MS)


def _models(dialog: LaneDialog) -> list[str]:
    return dialog.picker.models()


def test_the_cached_list_shows_at_once_and_refresh_fetches_it_again(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, lister: Runner
) -> None:
    chat = lister.config.providers["chat"]
    ModelListCache().put(chat, ["old-model"], fetched=1000.0)
    dialog = _dialog(qtbot, Lane("chat", "my-own-model"), lister.config, lister)
    assert _models(dialog) == ["old-model"] and not dialog.picker._fetching  # no fetch: it had one
    assert "1 model, fetched" in dialog.picker.status.text() and "days ago" in dialog.picker.status.text()
    with qtbot.waitSignal(dialog.picker.fetched, timeout=FETCH_MS):
        dialog.picker.refresh.click()
        assert not dialog.picker.refresh.isEnabled()  # fetching, in the background
    listed = _models(dialog)
    assert "demo-reasoner" in listed and "demo-fast" in listed and "old-model" not in listed
    assert dialog.picker.refresh.isEnabled() and dialog.picker.error.isHidden()
    assert "fetched just now" in dialog.picker.status.text()
    kept = ModelListCache().get(chat)
    assert kept is not None and list(kept.models) == listed and kept.fetched > 1000.0
    assert dialog.model.currentText() == "my-own-model"  # the typed id stays
    assert dialog.build().model == "my-own-model"


def test_a_failed_refresh_says_why_in_one_line_and_keeps_the_list(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, lister: Runner, closed_port: int
) -> None:
    gone = lister.config.providers["gone"]
    ModelListCache().put(gone, ["qwen3-8b", "gemma-3-4b"], fetched=1000.0)
    dialog = _dialog(qtbot, Lane("gone", "qwen3-8b"), lister.config, lister)
    with qtbot.waitSignal(dialog.picker.fetched, timeout=FETCH_MS):
        dialog.picker.refresh.click()
    assert dialog.picker.error.text() == (
        f"Could not list gone's models: could not connect to http://127.0.0.1:{closed_port}/v1 "
        "(connection refused) — is gone's server started?"
    )
    assert dialog.picker.error.isVisibleTo(dialog)
    assert _models(dialog) == ["qwen3-8b", "gemma-3-4b"]
    kept = ModelListCache().get(gone)
    assert kept is not None and kept.fetched == 1000.0  # the cache is untouched
    assert dialog.ok.isEnabled()  # a lane can still be made


def test_a_provider_without_a_key_says_so(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, lister: Runner
) -> None:
    dialog = _dialog(qtbot, Lane("keyed", "x"), lister.config, lister)
    with qtbot.waitSignal(dialog.picker.fetched, timeout=FETCH_MS):
        pass  # no list kept: opening the dialog asked at once
    assert (
        dialog.picker.error.text() == "Could not list keyed's models: no key for keyed: add one in Settings"
    )
    assert _models(dialog) == [] and dialog.picker.refresh.isEnabled()


def test_a_corrupt_cache_file_is_ignored_and_the_list_fetched(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, lister: Runner
) -> None:
    cache = ModelListCache()
    path = cache.path("chat")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"version": 1, "models": [')
    dialog = _dialog(qtbot, Lane("chat", "demo-fast"), lister.config, lister)
    assert _models(dialog) == []
    with qtbot.waitSignal(dialog.picker.fetched, timeout=FETCH_MS):
        pass  # none usable: fetched at once
    assert "demo-reasoner" in _models(dialog)
    assert cache.get(lister.config.providers["chat"]) is not None


def test_a_provider_switch_shows_its_list(qtbot: QtBot) -> None:
    config = parse_config({})
    cache = ModelListCache()
    cache.put(config.providers["openai"], ["gpt-4.1", "o4-mini"])
    cache.put(config.providers["openrouter"], ["deepseek/deepseek-r1", "meta-llama/llama-3.3-70b-instruct"])
    dialog = _dialog(qtbot, Lane("openai", "o4-mini", LaneParams(reasoning="high")))
    assert _models(dialog) == ["gpt-4.1", "o4-mini"]
    dialog.provider.setCurrentText("openrouter")
    assert _models(dialog) == ["deepseek/deepseek-r1", "meta-llama/llama-3.3-70b-instruct"]
    assert dialog.model.currentText() == ""  # openai's o4-mini is no id of OpenRouter's
    dialog.model.setCurrentText("deepseek/deepseek-r1")
    assert "OpenRouter" in dialog.reasoning_note.text()
    dialog.provider.setCurrentText("openai")  # an id the next provider lists too stays
    dialog.model.setCurrentText("gpt-4.1")
    cache.put(config.providers["openrouter"], ["gpt-4.1"])
    dialog.provider.setCurrentText("openrouter")
    assert dialog.model.currentText() == "gpt-4.1"
    dialog.provider.setCurrentText("anthropic")  # nothing kept, and nothing to ask here
    assert _models(dialog) == [] and "No model list kept" in dialog.picker.status.text()


def test_reasoners_are_marked_and_the_list_filters_as_you_type(qtbot: QtBot) -> None:
    config = parse_config({})
    many = [f"vendor{i}/model-{i}" for i in range(400)] + ["deepseek/deepseek-r1", "openai/o4-mini"]
    ModelListCache().put(config.providers["openrouter"], many)
    dialog = _dialog(qtbot, Lane("openrouter", "openai/o4-mini"))
    items = dialog.picker.items
    notes = {items.item(r).text(): items.item(r).data(NOTE_ROLE) for r in range(items.rowCount())}
    assert len(notes) == 402 and notes["vendor7/model-7"] == ""
    assert notes["deepseek/deepseek-r1"] == "reasons"
    tip = items.item(400).data(Qt.ItemDataRole.ToolTipRole)
    assert "OpenRouter's reasoning" in tip
    completer = dialog.picker.completer
    completer.setCompletionPrefix("SEEK-R")
    assert completer.completionCount() == 1 and completer.currentCompletion() == "deepseek/deepseek-r1"
    completer.setCompletionPrefix("model-39")
    assert completer.completionCount() == 11  # model-39, model-390 … model-399
    dialog.model.setCurrentText("someone/not-listed-yet")
    assert dialog.build().model == "someone/not-listed-yet"


def test_the_providers_own_settings_are_refused_where_the_knob_would_be(qtbot: QtBot) -> None:
    """An effort of none on o4-mini is reasoning off, which it can't do: refused with the
    reason, OK disabled and the fold open, as the knob's own off is."""
    dialog = _dialog(qtbot, Lane("openai", "o4-mini"))
    dialog.effort.setCurrentText("none")
    why = dialog.reasoning_error.text()
    assert (
        "o4-mini can't be set to reasoning effort none (reasoning off)" in why and not dialog.ok.isEnabled()
    )
    assert dialog.fold.isChecked()
    dialog.effort.setCurrentText("high")
    assert dialog.ok.isEnabled() and dialog.build().params.reasoning_effort == "high"
    dialog.effort.setCurrentText("default")
    dialog.use_max.setChecked(True)
    dialog.max_tokens.setValue(4096)
    dialog.provider.setCurrentText("anthropic")
    dialog.model.setCurrentText("claude-sonnet-4-5")
    dialog.reasoning.setCurrentIndex(dialog.reasoning.findData("medium"))
    assert "8,192-token thinking budget" in dialog.reasoning_error.text() and not dialog.ok.isEnabled()
    dialog.max_tokens.setValue(16384)
    assert dialog.ok.isEnabled()


def test_a_provider_switch_drops_the_last_providers_own_settings(qtbot: QtBot) -> None:
    dialog = _dialog(
        qtbot, Lane("openai", "o4-mini", LaneParams(reasoning_effort="high", thinking_budget=2048))
    )
    assert dialog.effort.currentText() == "high" and dialog.use_budget.isChecked()
    dialog.provider.setCurrentText("lmstudio")
    assert dialog.effort.currentText() == "default" and not dialog.use_budget.isChecked()
    dialog.model.setCurrentText("qwen3-8b")
    assert dialog.build().params == LaneParams()


def test_a_model_that_doesnt_reason_is_said_plainly(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Lane("openai", "gpt-4.1"))
    assert dialog.reasoning_note.text() == "gpt-4.1 doesn't reason: Reasoning can only be off or default."
