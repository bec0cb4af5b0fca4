"""The settings dialog: where each key comes from (never the key), what happens without
an OS keychain, and that Save returns the edited config."""

from __future__ import annotations

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from chatlab.core.config import parse_config
from chatlab.core.keys import KeyStore
from chatlab.ui.dialogs import SettingsDialog

KEY = "sk-settings-" + "x" * 30


def _cell(dialog: SettingsDialog, row: int, column: int) -> str:
    item = dialog.table.item(row, column)
    return item.text() if item is not None else ""


def _texts(dialog: SettingsDialog) -> list[str]:
    out = []
    for w in dialog.findChildren(QWidget):
        out += [w.toolTip(), w.accessibleName()]
        if isinstance(w, QLabel | QAbstractButton | QLineEdit):
            out.append(w.text())
    out += [_cell(dialog, r, c) for r in range(dialog.table.rowCount()) for c in range(4)]
    return out


def test_settings_say_where_each_key_comes_from_never_the_key(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    dialog = SettingsDialog(parse_config({}), KeyStore())
    qtbot.addWidget(dialog)
    rows = {_cell(dialog, r, 0): _cell(dialog, r, 3) for r in range(dialog.table.rowCount())}
    assert rows["openai"] == "environment: OPENAI_API_KEY"
    assert rows["anthropic"] == "missing" and rows["ollama"] == "not needed"
    assert not any(KEY in text for text in _texts(dialog))
    assert dialog.keychain_note.text().startswith("Keys are stored in the OS keychain")
    dialog.rater.setText("ana")
    dialog.accept()
    assert dialog.result_config is not None and dialog.result_config.rater == "ana"


def test_settings_without_a_keychain_offer_the_session(qtbot: QtBot) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # the memory keyring is restored after the test
    dialog = SettingsDialog(parse_config({}), KeyStore())
    qtbot.addWidget(dialog)
    assert dialog.keychain_note.text().startswith("No OS keychain is available on this system")
    assert "for this session only" in dialog.keychain_note.text()
