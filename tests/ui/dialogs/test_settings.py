"""The dialogs: settings say where each key comes from (never the key) and what happens
without an OS keychain in one sentence; endpoints can be added, edited and removed;
shipped prices are shown read-only beside the user's editable ones; a connection test
reports one redacted line; the lane editor greys out unticked parameters and never drops
a typed value; lane presets can be chosen and named; every dialog fits its contents."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from chatlab.core.costs.pricing import builtin_table
from chatlab.core.data.model import Lane, LaneParams
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import Config, ProviderConfig, parse_config
from chatlab.core.settings.presets import DEMO_PRESET, Preset, all_presets, save_preset, shipped
from chatlab.demo.server import DemoServer
from chatlab.ui.dialogs.connection import connection_tester
from chatlab.ui.dialogs.endpoint import EndpointDialog
from chatlab.ui.dialogs.lane import LaneDialog
from chatlab.ui.dialogs.preset import PresetDialog, PresetNameDialog, ask_preset_name, choose_preset
from chatlab.ui.dialogs.settings import SettingsDialog

KEY = "sk-settings-" + "x" * 30
WAIT_MS = 20_000
VLLM = {"kind": "openai-chat", "base_url": "http://127.0.0.1:8000/v1", "api_key_env": "VLLM_KEY"}


def _cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    return item.text() if item is not None else ""


def _header(table: QTableWidget, column: int) -> str:
    item = table.horizontalHeaderItem(column)
    return item.text() if item is not None else ""


def _rows(table: QTableWidget) -> list[list[str]]:
    return [[_cell(table, r, c) for c in range(table.columnCount())] for r in range(table.rowCount())]


def _texts(dialog: QDialog) -> list[str]:
    out = []
    for w in dialog.findChildren(QWidget):
        out += [w.toolTip(), w.accessibleName()]
        if isinstance(w, QLabel | QAbstractButton | QLineEdit):
            out.append(w.text())
        if isinstance(w, QTableWidget):
            out += [text for row in _rows(w) for text in row]
    return out


def _settings(qtbot: QtBot, config: Config | None = None, **kwargs: object) -> SettingsDialog:
    dialog = SettingsDialog(config or parse_config({}), KeyStore(), **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    return dialog


def _on_modal(check: Callable[[QDialog], None], seen: list[QDialog]) -> None:
    """Run ``check`` on the modal dialog about to open; it is always closed afterwards."""

    def run() -> None:
        modal = QApplication.activeModalWidget()
        assert isinstance(modal, QDialog)
        seen.append(modal)
        try:
            check(modal)
        finally:
            if modal.isVisible():
                modal.reject()

    QTimer.singleShot(0, run)


# -- providers and keys ------------------------------------------------------------------


def test_settings_say_where_each_key_comes_from_never_the_key(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    dialog = _settings(qtbot)
    rows = {row[0]: row[3] for row in _rows(dialog.table)}
    assert rows["openai"] == "environment: OPENAI_API_KEY"
    assert rows["anthropic"] == "missing" and rows["ollama"] == "not needed"
    assert not any(KEY in text for text in _texts(dialog))
    assert dialog.keychain_note.text().startswith("Keys are stored in the OS keychain")
    dialog.rater.setText("ana")
    dialog.accept()
    assert dialog.result_config is not None and dialog.result_config.rater == "ana"


def test_an_emptied_rater_name_keeps_the_one_the_rater_had(qtbot: QtBot) -> None:
    config = parse_config({"rater": {"id": "r" + "a" * 32, "name": "ana"}})
    dialog = _settings(qtbot, config)
    dialog.rater.setText("   ")
    dialog.accept()
    assert dialog.result_config is not None
    assert (dialog.result_config.rater, dialog.result_config.rater_id) == ("ana", "r" + "a" * 32)


def test_without_a_keychain_one_plain_sentence_and_the_session_option(qtbot: QtBot) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # the memory keyring is restored after the test
    dialog = _settings(
        qtbot,
        parse_config(
            {"providers": {"gpubox": {"kind": "openai-chat", "base_url": "http://127.0.0.1:8000/v1"}}}
        ),
    )
    assert dialog.keychain_note.text().startswith("No system keychain on this machine:")
    assert "for this session only" in dialog.keychain_note.text()
    assert not dialog.key_problem.isVisibleTo(dialog)

    assert not dialog.save_key("openai", KEY)
    sentence = (
        "No system keychain on this machine: set the key in the environment variable OPENAI_API_KEY instead."
    )
    assert dialog.key_problem.text() == sentence
    assert dialog.key_problem.isVisibleTo(dialog) and dialog.session_key_button.isVisibleTo(dialog)
    texts = " ".join(_texts(dialog))
    assert "NoKeyringError" not in texts and "backend" not in texts and KEY not in texts

    dialog.session_key_button.click()
    assert dialog.keys.source(PROVIDER_OPENAI).where == "session"
    assert {row[0]: row[3] for row in _rows(dialog.table)}["openai"] == "this session only"
    assert not dialog.key_problem.isVisibleTo(dialog) and not dialog.session_key_button.isVisibleTo(dialog)

    # A provider with no environment variable of its own is told how to get one.
    assert not dialog.save_key("gpubox", KEY)
    assert dialog.key_problem.text() == (
        "No system keychain on this machine: give gpubox a key variable (Edit endpoint…) "
        "and set the key in that environment variable instead."
    )


PROVIDER_OPENAI = parse_config({}).provider("openai")


def test_a_key_goes_to_the_keychain_and_can_be_removed(qtbot: QtBot) -> None:
    dialog = _settings(qtbot)
    assert dialog.save_key("anthropic", KEY)
    assert {row[0]: row[3] for row in _rows(dialog.table)}["anthropic"] == "in keychain"
    dialog.select_provider("anthropic")
    assert dialog.remove_key_button.isEnabled()
    dialog.remove_key_button.click()
    assert {row[0]: row[3] for row in _rows(dialog.table)}["anthropic"] == "missing"
    assert not dialog.remove_key_button.isEnabled()


# -- endpoints ---------------------------------------------------------------------------


def test_the_endpoint_editor_starts_with_the_providers_settings(qtbot: QtBot) -> None:
    gpubox = parse_config({"providers": {"gpubox": {**VLLM, "needs_key": False, "max_retries": 4}}}).provider(
        "gpubox"
    )
    dialog = EndpointDialog(provider=gpubox)
    qtbot.addWidget(dialog)
    assert dialog.name.text() == "gpubox" and dialog.name.isReadOnly()
    assert (dialog.kind.currentText(), dialog.url.text(), dialog.env.text()) == (
        "openai-chat",
        "http://127.0.0.1:8000/v1",
        "VLLM_KEY",
    )
    assert not dialog.needs_key.isChecked() and dialog.retries.value() == 4
    dialog.url.setText("https://gpu.example.org/v1")
    dialog.kind.setCurrentText("openai-responses")
    dialog.accept()
    assert dialog.result_provider == ProviderConfig(
        "gpubox",
        "openai-responses",
        base_url="https://gpu.example.org/v1",
        api_key_env="VLLM_KEY",
        needs_key=False,
        max_retries=4,
    )


def test_a_built_in_provider_is_edited_with_a_blank_url_meaning_its_default(qtbot: QtBot) -> None:
    ollama = parse_config({}).provider("ollama")
    dialog = EndpointDialog(provider=ollama)
    qtbot.addWidget(dialog)
    assert dialog.url.text() == "" and "http://localhost:11434/v1" in dialog.url.placeholderText()
    assert dialog.build() == ollama
    dialog.url.setText("http://gpu-box:11434/v1")
    edited = dialog.build()
    assert edited.base_url == "http://gpu-box:11434/v1" and edited.builtin


@pytest.mark.parametrize(
    "name,url,env,needle",
    [
        ("", "http://h/v1", "", "A name is required"),
        ("a:b", "http://h/v1", "", "without ':'"),
        ("openai", "http://h/v1", "", "exists already"),
        ("mine", "", "", "A base URL is required"),
        ("mine", "ftp://h/v1", "", "must be an http:// or https:// URL"),
        ("mine", "http://h/v1", "sk-proj-abc123-secret", "environment variable's name"),
    ],
)
def test_the_endpoint_editor_refuses_bad_values(
    qtbot: QtBot, name: str, url: str, env: str, needle: str
) -> None:
    dialog = EndpointDialog(taken=parse_config({}).providers)
    qtbot.addWidget(dialog)
    dialog.name.setText(name)
    dialog.url.setText(url)
    dialog.env.setText(env)
    dialog.accept()
    assert dialog.result_provider is None and needle in dialog.error.text()
    assert env == "" or env not in dialog.error.text()  # a pasted key is never echoed


def test_custom_endpoints_are_edited_and_removed_built_ins_only_edited(qtbot: QtBot) -> None:
    config = parse_config({"providers": {"gpubox": VLLM, "openai": {"base_url": "http://proxy.local/v1"}}})
    dialog = _settings(qtbot, config)
    assert not dialog.edit_button.isEnabled() and not dialog.remove_button.isEnabled()  # nothing selected

    dialog.select_provider("openai")
    assert dialog.edit_button.isEnabled() and not dialog.remove_button.isEnabled()
    assert not dialog.remove_endpoint("openai") and "built in" in dialog.error.text()
    dialog.select_provider("demo")
    assert not dialog.edit_button.isEnabled()

    seen: list[QDialog] = []

    def edit(modal: QDialog) -> None:
        assert isinstance(modal, EndpointDialog) and modal.name.text() == "gpubox"
        assert modal.url.text() == "http://127.0.0.1:8000/v1"
        modal.url.setText("http://127.0.0.1:9000/v1")
        modal.accept()

    dialog.select_provider("gpubox")
    _on_modal(edit, seen)
    dialog.edit_button.click()
    assert len(seen) == 1 and seen[0].result() == QDialog.DialogCode.Accepted
    assert dialog.selected_name() == "gpubox"
    assert {row[0]: row[2] for row in _rows(dialog.table)}["gpubox"] == "http://127.0.0.1:9000/v1"

    built = dialog.build()
    assert built.provider("gpubox").base_url == "http://127.0.0.1:9000/v1"
    assert built.provider("openai").base_url == "http://proxy.local/v1"  # an earlier change is kept

    assert dialog.remove_button.isEnabled()
    dialog.remove_button.click()
    assert "gpubox" not in [row[0] for row in _rows(dialog.table)]
    assert "gpubox" not in dialog.build().providers


def test_add_endpoint_adds_and_selects_it(qtbot: QtBot) -> None:
    dialog = _settings(qtbot)
    seen: list[QDialog] = []

    def add(modal: QDialog) -> None:
        assert isinstance(modal, EndpointDialog) and modal.name.text() == "" and not modal.name.isReadOnly()
        modal.name.setText("lanbox")
        modal.url.setText("http://127.0.0.1:1234/v1")
        modal.needs_key.setChecked(False)
        modal.accept()

    _on_modal(add, seen)
    dialog.add_button.click()
    assert dialog.selected_name() == "lanbox"
    assert dialog.build().provider("lanbox").base_url == "http://127.0.0.1:1234/v1"


# -- connection test ---------------------------------------------------------------------


def test_test_connection_needs_a_selection_and_a_tester(qtbot: QtBot) -> None:
    async def tester(provider: ProviderConfig) -> str:
        return "OK"

    without = _settings(qtbot)
    without.select_provider("openai")
    assert not without.test_button.isEnabled()
    dialog = _settings(qtbot, test_connection=tester)
    assert not dialog.test_button.isEnabled()
    dialog.select_provider("openai")
    assert dialog.test_button.isEnabled()


def test_test_connection_shows_testing_then_one_line(qtbot: QtBot, loop: asyncio.AbstractEventLoop) -> None:
    release = asyncio.Event()
    tested: list[ProviderConfig] = []

    async def tester(provider: ProviderConfig) -> str:
        tested.append(provider)
        await release.wait()
        return "OK — 12 models"

    dialog = _settings(qtbot, test_connection=tester)
    dialog.select_provider("ollama")
    dialog.test_button.click()
    assert dialog.test_result.text() == "ollama: Testing…"
    assert not dialog.test_button.isEnabled()
    release.set()
    qtbot.waitUntil(lambda: dialog.test_result.text() == "ollama: OK — 12 models", timeout=WAIT_MS)
    assert dialog.test_button.isEnabled() and tested == [dialog.provider("ollama")]


def test_a_failed_test_shows_one_redacted_line_never_a_traceback(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> None:
    async def tester(provider: ProviderConfig) -> str:
        raise PermissionError(f"Incorrect API key provided: {KEY}\nTraceback (most recent call last):\n  x")

    dialog = _settings(qtbot, test_connection=tester)
    assert dialog.save_key("anthropic", KEY)
    dialog.select_provider("anthropic")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "failed" in dialog.test_result.text(), timeout=WAIT_MS)
    text = dialog.test_result.text()
    assert text.startswith("anthropic: failed: Incorrect API key provided: sk-…xxxx")
    assert "\n" not in text and KEY not in " ".join(_texts(dialog))
    assert dialog.test_button.isEnabled()


def test_a_tester_that_fails_at_once_is_reported_too(qtbot: QtBot) -> None:
    def tester(provider: ProviderConfig) -> Awaitable[str]:
        raise RuntimeError(f"bad config\n for {provider.name}")

    dialog = _settings(qtbot, test_connection=tester)
    dialog.select_provider("openai")
    dialog.test_button.click()
    assert dialog.test_result.text() == "openai: failed: bad config for openai"
    assert dialog.test_button.isEnabled()


def test_a_test_still_running_is_cancelled_when_the_dialog_closes(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> None:
    started: list[asyncio.Task[object] | None] = []

    async def tester(provider: ProviderConfig) -> str:
        started.append(asyncio.current_task())
        await asyncio.Event().wait()
        return "never"

    dialog = _settings(qtbot, test_connection=tester)
    dialog.select_provider("openai")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: bool(started), timeout=WAIT_MS)
    dialog.reject()
    task = started[0]
    assert task is not None
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.cancelled()


def test_the_connection_tester_lists_models_on_the_loopback_server(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, server: DemoServer
) -> None:
    keys = KeyStore()
    config = parse_config(
        {"providers": {"down": {"kind": "openai-chat", "base_url": "http://127.0.0.1:9/v1"}}}
    )
    dialog = SettingsDialog(
        config, keys, test_connection=connection_tester(keys, demo_base_url=server.openai_base_url)
    )
    qtbot.addWidget(dialog)
    dialog.select_provider("demo")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "Testing" not in dialog.test_result.text(), timeout=WAIT_MS)
    assert dialog.test_result.text() == f"demo: OK — {len(server.scripts)} models"

    dialog.select_provider("down")  # needs a key, has none
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "Testing" not in dialog.test_result.text(), timeout=WAIT_MS)
    assert dialog.test_result.text() == "down: failed: no key for down: set one first"

    dialog.set_endpoint(
        ProviderConfig("down", "openai-chat", base_url="http://127.0.0.1:9/v1", needs_key=False)
    )
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "Testing" not in dialog.test_result.text(), timeout=WAIT_MS)
    assert dialog.test_result.text().startswith("down: failed: could not connect to http://127.0.0.1:9/v1")


# -- prices ------------------------------------------------------------------------------


def test_shipped_prices_are_shown_read_only_beside_the_users(qtbot: QtBot) -> None:
    config = parse_config({"prices": {"vllm:qwen3": {"input": 0.1, "output": 0.2}}})
    dialog = _settings(qtbot, config)
    shipped_rows = _rows(dialog.shipped)
    assert len(shipped_rows) == len(builtin_table())
    # Real models are genai-prices'; the shipped table holds what it lacks (the demo models).
    assert ["demo", "demo-fast", "0.15", "0.075", "—", "0.60", "2026-11-26"] in shipped_rows
    assert not any(r[0] in ("openai", "anthropic") for r in shipped_rows)
    headers = [_header(dialog.shipped, c) for c in range(dialog.shipped.columnCount())]
    assert "Output + reasoning" in headers
    assert dialog.shipped.editTriggers() == QTableWidget.EditTrigger.NoEditTriggers
    assert _rows(dialog.prices) == [["vllm:qwen3", "0.1", "", "", "0.2"]]
    assert dialog.prices.editTriggers() != QTableWidget.EditTrigger.NoEditTriggers
    notes = [label.text() for label in dialog.findChildren(QLabel)]
    assert any(n.startswith("Real models are priced by genai-prices") for n in notes)
    assert any(n.startswith("Your prices (editable") for n in notes)


def test_a_shipped_price_can_be_copied_into_yours_and_changed(qtbot: QtBot) -> None:
    dialog = _settings(qtbot)
    assert not dialog.override_button.isEnabled()
    row = [r[1] for r in _rows(dialog.shipped)].index("demo-fast")
    dialog.shipped.selectRow(row)
    assert dialog.override_button.isEnabled()
    dialog.override_button.click()
    dialog.override_button.click()  # a second copy is not added
    assert _rows(dialog.prices) == [["demo:demo-fast", "0.15", "0.075", "", "0.6"]]
    item = dialog.prices.item(0, 4)
    assert item is not None and item.flags() & Qt.ItemFlag.ItemIsEditable
    item.setText("12")
    price = dialog.build().prices["demo:demo-fast"]
    assert (price.input, price.output) == (0.15, 12.0)


def test_a_bad_price_is_refused_with_the_reason(qtbot: QtBot) -> None:
    dialog = _settings(qtbot)
    add = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Add price")
    add.click()
    for column, text in enumerate(("vllm:qwen3", "cheap", "", "", "1")):
        item = dialog.prices.item(0, column)
        assert item is not None
        item.setText(text)
    dialog.accept()
    assert (
        dialog.result_config is None
        and dialog.error.text() == "vllm:qwen3: input must be a number, got 'cheap'"
    )
    dialog.prices.item(0, 1).setText("0.5")  # type: ignore[union-attr]
    dialog.accept()
    assert dialog.result_config is not None and dialog.result_config.prices["vllm:qwen3"].input == 0.5


# -- lane presets in the settings --------------------------------------------------------


def test_settings_list_presets_and_remove_only_the_users(qtbot: QtBot) -> None:
    config = save_preset(parse_config({}), "mine", [Lane("demo", "demo-fast"), Lane("demo", "demo-hidden")])
    dialog = _settings(qtbot, config)
    names = [dialog.preset_list.names.item(i).text() for i in range(dialog.preset_list.names.count())]
    assert names == [f"{p.name}  (shipped)" for p in shipped()] + ["mine"]
    assert dialog.build().presets == config.presets  # kept when untouched

    dialog.preset_list.names.setCurrentRow(0)
    assert not dialog.remove_preset_button.isEnabled()
    dialog.preset_list.names.setCurrentRow(len(names) - 1)
    assert dialog.preset_list.details.text() == (
        "2 lanes, saved by you (config.toml):\ndemo:demo-fast\ndemo:demo-hidden"
    )
    assert dialog.remove_preset_button.isEnabled()
    dialog.remove_preset_button.click()
    assert dialog.preset_list.names.count() == len(shipped())
    assert dialog.build().presets == {}


# -- sizes -------------------------------------------------------------------------------


def _fits_screen(qtbot: QtBot, dialog: QDialog) -> None:
    dialog.show()
    qtbot.waitExposed(dialog)
    screen = dialog.screen().availableGeometry()
    assert dialog.width() <= screen.width() and dialog.height() <= screen.height()
    hint = dialog.minimumSizeHint()
    assert dialog.width() >= hint.width() and dialog.height() >= hint.height()


def test_settings_are_sized_for_their_tables(qtbot: QtBot) -> None:
    config = parse_config(
        {
            "providers": {
                "a-long-endpoint-name": {**VLLM, "base_url": "https://inference.gpu-cluster.example.org/v1"}
            }
        }
    )
    dialog = _settings(qtbot, config)
    _fits_screen(qtbot, dialog)
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        QApplication.processEvents()  # lay the new tab out
        for table in dialog.tabs.currentWidget().findChildren(QTableWidget):
            header = table.horizontalHeader()
            for c in range(table.columnCount()):
                need = max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
                assert table.columnWidth(c) >= need, (_header(table, c), need)
            assert not table.horizontalScrollBar().isVisible()
    assert dialog.height() < 900 and dialog.width() < 1400  # no huge empty dialog


def test_an_endpoint_too_long_for_the_screen_scrolls_instead_of_growing_the_dialog(qtbot: QtBot) -> None:
    config = parse_config(
        {"providers": {"far": {**VLLM, "base_url": "https://" + "x" * 150 + ".example.org/v1"}}}
    )
    dialog = _settings(qtbot, config)
    _fits_screen(qtbot, dialog)


@pytest.mark.parametrize("make", ["lane", "endpoint", "preset", "name"])
def test_small_dialogs_fit_their_contents(qtbot: QtBot, make: str) -> None:
    config = parse_config({})
    dialogs: dict[str, Callable[[], QDialog]] = {
        "lane": lambda: LaneDialog(config, None),
        "endpoint": lambda: EndpointDialog(),
        "preset": lambda: PresetDialog(all_presets(config)),
        "name": lambda: PresetNameDialog(config),
    }
    dialog = dialogs[make]()
    qtbot.addWidget(dialog)
    _fits_screen(qtbot, dialog)
    assert dialog.height() < 600


# -- the lane editor ---------------------------------------------------------------------


def _lane_dialog(qtbot: QtBot, lane: Lane | None = None) -> LaneDialog:
    dialog = LaneDialog(parse_config({}), lane)
    qtbot.addWidget(dialog)
    return dialog


def test_unticked_parameters_are_greyed_out_and_not_sent(qtbot: QtBot) -> None:
    dialog = _lane_dialog(qtbot)
    for check, box in ((dialog.use_temp, dialog.temp), (dialog.use_max, dialog.max_tokens)):
        assert not check.isChecked() and not box.isEnabled()
    assert dialog.build().params == LaneParams()
    dialog.use_temp.setChecked(True)
    assert dialog.temp.isEnabled()
    assert dialog.build().params == LaneParams(temperature=1.0)
    dialog.use_temp.setChecked(False)
    assert not dialog.temp.isEnabled() and dialog.build().params == LaneParams()


def test_a_lanes_parameters_open_ticked_and_come_back_unchanged(qtbot: QtBot) -> None:
    params = LaneParams(
        system="sys\nline two",
        temperature=0.3,
        max_output_tokens=9000,
        thinking_budget=2048,
        think="prompted",
    )
    lane = Lane("anthropic", "claude-sonnet-4-5", params, "mine")
    dialog = _lane_dialog(qtbot, lane)
    assert dialog.think.isChecked() and dialog.system.toPlainText() == "sys\nline two"
    assert dialog.use_temp.isChecked() and dialog.use_max.isChecked() and dialog.use_budget.isChecked()
    assert dialog.temp.isEnabled() and dialog.max_tokens.isEnabled() and dialog.budget.isEnabled()
    built = dialog.build()
    assert built.params == params and built.id == lane.id and built.label == "mine"


def test_think_first_and_the_lanes_own_system_prompt(qtbot: QtBot) -> None:
    dialog = _lane_dialog(qtbot, Lane("openai", "gpt-4.1"))
    assert not dialog.think.isChecked() and dialog.system.toPlainText() == ""
    assert "<think>" in dialog.think.toolTip() and "think_instruction" in dialog.think.toolTip()
    dialog.think.setChecked(True)
    dialog.system.setPlainText("  Answer in French.\nKeep it short.\n")
    assert dialog.build().params == LaneParams(system="Answer in French.\nKeep it short.", think="prompted")
    dialog.think.setChecked(False)
    dialog.system.setPlainText(" \n\t")
    assert dialog.build().params == LaneParams()  # blank: no system prompt of its own


def test_changing_a_value_ticks_its_box(qtbot: QtBot) -> None:
    dialog = _lane_dialog(
        qtbot, Lane("anthropic", "claude-sonnet-4-5")
    )  # a model that takes a thinking budget
    dialog.max_tokens.setValue(20000)
    dialog.budget.setValue(8192)
    assert dialog.use_max.isChecked() and dialog.use_budget.isChecked()
    assert dialog.max_tokens.isEnabled() and dialog.budget.isEnabled()
    assert dialog.build().params == LaneParams(max_output_tokens=20000, thinking_budget=8192)


def test_a_typed_value_is_sent_without_pressing_enter(qtbot: QtBot) -> None:
    dialog = _lane_dialog(
        qtbot, Lane("anthropic", "claude-sonnet-4-5")
    )  # a model that takes a thinking budget
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.use_temp.setChecked(True)
    dialog.temp.setFocus()
    dialog.temp.selectAll()
    qtbot.keyClicks(dialog.temp, "0.35")
    dialog.use_budget.setChecked(True)
    dialog.budget.selectAll()
    qtbot.keyClicks(dialog.budget, "2000")
    dialog.accept()
    assert dialog.result_lane is not None
    assert dialog.result_lane.params == LaneParams(temperature=0.35, thinking_budget=2000)


def test_the_lane_editor_refuses_a_budget_not_below_max_tokens(qtbot: QtBot) -> None:
    dialog = _lane_dialog(
        qtbot, Lane("anthropic", "claude-sonnet-4-5")
    )  # a model that takes a thinking budget
    dialog.max_tokens.setValue(4000)
    dialog.budget.setValue(4000)
    dialog.accept()
    assert dialog.result_lane is None
    assert (
        dialog.error.text() == "max output tokens (4,000) must be larger than the 4,000-token thinking budget"
    )


# -- choosing and naming presets ---------------------------------------------------------


def test_the_preset_dialog_shows_each_presets_lanes(qtbot: QtBot) -> None:
    dialog = PresetDialog(shipped())
    qtbot.addWidget(dialog)
    dialog.select(DEMO_PRESET)
    lines = dialog.view.details.text().splitlines()
    assert lines == [
        "3 lanes, shipped with chatlab:",
        "demo:demo-reasoner — Visible reasoner",
        "demo:demo-fast — No reasoning",
        "demo:demo-hidden — Hidden reasoner",
    ]
    dialog.select("Claude Sonnet 4.5: thinking on vs off")
    assert "anthropic:claude-sonnet-4-5 — thinking on (8k budget) (thinking 8,192, max 16,384)" in (
        dialog.view.details.text()
    )
    dialog.select("o4-mini vs gpt-4.1 asked to think")  # the prompted-reasoning control
    assert "openai:gpt-4.1 — gpt-4.1, asked to think (think prompted)" in dialog.view.details.text()
    dialog.select("Claude Sonnet 4.5: thinking on vs off")
    dialog.accept()
    assert (
        dialog.result_preset is not None
        and dialog.result_preset.name == "Claude Sonnet 4.5: thinking on vs off"
    )


def test_a_preset_needing_a_missing_provider_cant_be_chosen(qtbot: QtBot) -> None:
    config = save_preset(
        parse_config({"providers": {"gpubox": VLLM}}),
        "gpu",
        [Lane("gpubox", "qwen3"), Lane("demo", "demo-fast")],
    )
    dialog = PresetDialog(all_presets(config), providers=["demo", "openai"])
    qtbot.addWidget(dialog)
    dialog.select("gpu")
    assert dialog.error.text() == "This preset needs the provider gpubox: add it in Settings first."
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok is not None and not ok.isEnabled()
    dialog.accept()
    assert dialog.result_preset is None
    dialog.select(DEMO_PRESET)
    assert dialog.error.text() == ""
    dialog.accept()
    assert dialog.result_preset is not None and dialog.result_preset.name == DEMO_PRESET


def test_choose_preset_returns_the_choice_or_none(qtbot: QtBot) -> None:
    presets = shipped()
    seen: list[QDialog] = []

    def pick(modal: QDialog) -> None:
        assert isinstance(modal, PresetDialog)
        modal.select(DEMO_PRESET)
        modal.accept()

    _on_modal(pick, seen)
    chosen = choose_preset(None, presets)
    assert isinstance(chosen, Preset) and chosen.name == DEMO_PRESET

    _on_modal(lambda modal: modal.reject(), seen)
    assert choose_preset(None, presets) is None and len(seen) == 2


def test_ask_preset_name_refuses_bad_names_and_returns_a_good_one(qtbot: QtBot) -> None:
    config = save_preset(parse_config({}), "mine", [Lane("demo", "demo-fast")])
    seen: list[QDialog] = []
    errors: list[str] = []

    def name(modal: QDialog) -> None:
        assert isinstance(modal, PresetNameDialog)
        for bad in ("", DEMO_PRESET, "x" * 61):
            modal.name.setText(bad)
            modal.accept()
            errors.append(modal.error.text())
        modal.name.setText("mine")
        assert modal.info.text() == "This replaces your saved preset of that name."
        modal.name.setText("  sonnet pair ")
        modal.accept()

    _on_modal(name, seen)
    assert ask_preset_name(None, config) == "sonnet pair"
    assert errors == [
        "A preset needs a name.",
        f"{DEMO_PRESET!r} is a shipped preset: choose another name.",
        "A preset name has at most 60 characters.",
    ]
    _on_modal(lambda modal: modal.reject(), seen)
    assert ask_preset_name(None, config) is None


def test_each_provider_row_says_how_its_reasoning_knob_is_sent(qtbot: QtBot) -> None:
    dialog = _settings(qtbot)
    tips = {}
    for r in range(dialog.table.rowCount()):
        name, endpoint = dialog.table.item(r, 0), dialog.table.item(r, 2)
        assert name is not None and endpoint is not None
        tips[name.text()] = endpoint.toolTip()
    assert (
        tips["gemini"] == "gemini: the reasoning knob is sent as thinking_budget (2.5) or thinking_level (3)"
    )
    assert "chat_template_kwargs" in tips["vllm"]
