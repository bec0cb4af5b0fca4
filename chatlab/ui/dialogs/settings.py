"""The settings dialog: providers and keys, endpoints, prices, lane presets and the
rater's name, saved to config.toml. Keys go to the OS keychain; without one the dialog
says so in one sentence and offers to keep the key in memory for this session only. A
key is never displayed: the settings show only where each key comes from, and a
connection test's one-line result is redacted. The prices tab shows chatlab's own table
(read-only; real models are priced by genai-prices) above the user's editable overrides.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Awaitable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data.safety import known_secrets, redact
from chatlab.core.settings import reasoning
from chatlab.core.settings.apikeys import KeyStore, NoKeychain
from chatlab.core.settings.config import (
    PRESETS,
    Config,
    ConfigError,
    PriceOverride,
    ProviderConfig,
    clean_name,
    parse_config,
)
from chatlab.core.settings.presets import Preset, all_presets
from chatlab.ui.dialogs.common import (
    ERROR_STYLE,
    OK_STYLE,
    button_box,
    error_label,
    fit_table,
    new_table,
    one_line,
)
from chatlab.ui.dialogs.connection import TestConnection
from chatlab.ui.dialogs.endpoint import EndpointDialog
from chatlab.ui.dialogs.preset import PresetList


def no_keychain_sentence(provider: ProviderConfig, keychain: bool) -> str:
    """One plain sentence for a key the keychain could not take, naming where to put it."""
    head = "The system keychain did not accept the key" if keychain else "No system keychain on this machine"
    envs = provider.env_candidates
    if envs:
        return f"{head}: set the key in the environment variable {envs[0]} instead."
    return (
        f"{head}: give {provider.name} a key variable (Edit endpoint…) "
        "and set the key in that environment variable instead."
    )


class SettingsDialog(QDialog):
    """Providers and keys, endpoints, prices and lane presets; saved to config.toml."""

    def __init__(
        self,
        config: Config,
        keys: KeyStore,
        parent: QWidget | None = None,
        test_connection: TestConnection | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.config = config
        self.keys = keys
        self.result_config: Config | None = None
        self._test_connection = test_connection
        self._testing: asyncio.Future[str] | None = None
        self._pending_key: tuple[str, str] | None = None  # (provider, key) the keychain refused
        self._keychain = True
        self._is_closed = False
        self._providers = dict(config.providers)
        self._presets = dict(config.presets)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._providers_tab(), "Providers and keys")
        self.tabs.addTab(self._prices_tab(), "Prices")
        self.tabs.addTab(self._presets_tab(), "Lane presets")
        self.tabs.addTab(self._general_tab(), "General")

        self.error = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error)
        layout.addWidget(button_box(QDialogButtonBox.StandardButton.Save, self))
        self.finished.connect(self._closed)
        self._fill()
        self.adjustSize()

    # -- building the tabs ---------------------------------------------------------------

    def _providers_tab(self) -> QWidget:
        page = QWidget()
        self.table = new_table(["Provider", "Wire format", "Endpoint", "Key"])
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.keychain_note = QLabel()
        self.keychain_note.setWordWrap(True)
        self.set_key_button = QPushButton("Set key…")
        self.set_key_button.clicked.connect(self._set_key)
        self.remove_key_button = QPushButton("Remove key")
        self.remove_key_button.clicked.connect(self._remove_key)
        self.add_button = QPushButton("Add endpoint…")
        self.add_button.clicked.connect(self._add_provider)
        self.edit_button = QPushButton("Edit endpoint…")
        self.edit_button.clicked.connect(self._edit_provider)
        self.remove_button = QPushButton("Remove endpoint")
        self.remove_button.clicked.connect(self._remove_provider)
        row = QHBoxLayout()
        for b in (self.set_key_button, self.remove_key_button, self.add_button, self.edit_button):
            row.addWidget(b)
        row.addWidget(self.remove_button)
        row.addStretch(1)

        self.key_problem = error_label()
        self.key_problem.hide()
        self.session_key_button = QPushButton("Use for this session only")
        self.session_key_button.setToolTip("Keep the key in memory until chatlab exits; it is never written")
        self.session_key_button.clicked.connect(self._use_for_session)
        self.session_key_button.hide()
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_problem, 1)
        key_row.addWidget(self.session_key_button)

        self.test_button = QPushButton("Test connection")
        self.test_button.setToolTip("List the selected provider's models, to check its endpoint and key")
        self.test_button.clicked.connect(self._test)
        self.test_result = QLabel()
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)

        layout = QVBoxLayout(page)
        layout.addWidget(self.keychain_note)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addLayout(key_row)
        layout.addLayout(test_row)
        return page

    def _prices_tab(self) -> QWidget:
        page = QWidget()
        shipped_note = QLabel(
            "Real models are priced by genai-prices (its bundled snapshot, offline); below, "
            "chatlab's own table (read-only) for what it lacks, USD per 1M tokens. "
            "Reasoning tokens are billed at the output rate."
        )
        shipped_note.setWordWrap(True)
        self.shipped = new_table(
            ["Vendor", "Model", "Input", "Cached input", "Cache write", "Output + reasoning", "As of"]
        )
        self.override_button = QPushButton("Override selected")
        self.override_button.setToolTip("Copy the selected shipped price into your prices, to edit it")
        self.override_button.setEnabled(False)
        self.override_button.clicked.connect(self._override_shipped)
        self.shipped.itemSelectionChanged.connect(
            lambda: self.override_button.setEnabled(self.shipped.currentRow() >= 0)
        )
        self._fill_shipped(shipped_note)

        yours_note = QLabel(
            'Your prices (editable, saved in config.toml as [prices."PROVIDER:MODEL"]): they override '
            "the shipped price; a blank cell keeps the shipped value."
        )
        yours_note.setWordWrap(True)
        self.prices = new_table(
            ["PROVIDER:MODEL", "Input", "Cached input", "Cache write", "Output"], editable=True
        )
        for key, price in sorted(self.config.prices.items()):
            self._add_price_row(key, price)
        add_price = QPushButton("Add price")
        add_price.clicked.connect(lambda: self._add_price_row("", PriceOverride()))
        del_price = QPushButton("Remove price")
        del_price.clicked.connect(self._remove_price_row)

        layout = QVBoxLayout(page)
        layout.addWidget(shipped_note)
        layout.addWidget(self.shipped, 3)
        r1 = QHBoxLayout()
        r1.addWidget(self.override_button)
        r1.addStretch(1)
        layout.addLayout(r1)
        layout.addWidget(yours_note)
        layout.addWidget(self.prices, 2)
        r2 = QHBoxLayout()
        r2.addWidget(add_price)
        r2.addWidget(del_price)
        r2.addStretch(1)
        layout.addLayout(r2)
        fit_table(self.prices)
        return page

    def _presets_tab(self) -> QWidget:
        page = QWidget()
        note = QLabel(
            "Lane presets start a new session with a set of lanes. Shipped presets can't be removed."
        )
        note.setWordWrap(True)
        self.preset_list = PresetList(self._all_presets())
        self.preset_list.names.currentRowChanged.connect(lambda _r: self._update_buttons())
        self.remove_preset_button = QPushButton("Remove preset")
        self.remove_preset_button.clicked.connect(self._remove_preset)
        row = QHBoxLayout()
        row.addWidget(self.remove_preset_button)
        row.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addWidget(note)
        layout.addWidget(self.preset_list, 1)
        layout.addLayout(row)
        return page

    def _general_tab(self) -> QWidget:
        page = QWidget()
        self.rater = QLineEdit(self.config.rater or "")
        self.rater.setPlaceholderText("the name your ratings and votes are shown under")
        layout = QFormLayout(page)
        layout.addRow("Rater name", self.rater)
        why = QLabel(
            "Your votes and ratings carry this installation's own rater id; the name is how they "
            "are shown (to you, and to a study's owner when you send votes back)."
        )
        why.setWordWrap(True)
        why.setTextFormat(Qt.TextFormat.PlainText)
        why.setProperty("role", "muted")
        layout.addRow("", why)
        return page

    # -- providers and keys --------------------------------------------------------------

    def _fill(self) -> None:
        selected = self.selected_name()
        self._keychain = self.keys.keychain_available()
        self.keychain_note.setText(
            "Keys are stored in the OS keychain and never shown here."
            if self._keychain
            else "No system keychain on this machine: keys can come from environment variables "
            "(such as OPENAI_API_KEY), or be kept in memory for this session only."
        )
        self.table.setRowCount(0)
        for name, p in sorted(self._providers.items()):
            r = self.table.rowCount()
            self.table.insertRow(r)
            where = self.keys.source(p).where if p.needs_key else "not needed"
            label = {"keychain": "in keychain", "session": "this session only", "missing": "missing"}.get(
                where, where.replace("env:", "environment: ")
            )
            url = p.base_url or (
                "built-in demo server"
                if name == "demo"
                else "not set: needs its endpoint"
                if p.api_version
                else "default"
            )
            knob = f"{name}: the reasoning knob is sent as {reasoning.dialect(p).words}"
            for c, text in enumerate((name, p.kind, url, label)):
                item = QTableWidgetItem(text)
                item.setToolTip(knob)
                self.table.setItem(r, c, item)
            if name == selected:
                self.table.selectRow(r)
        fit_table(self.table, min_rows=len(self._providers), max_rows=14)
        self._update_buttons()

    def selected_name(self) -> str | None:
        """The provider whose row is selected, or None."""
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 0) if rows else None
        return item.text() if item is not None else None

    def select_provider(self, name: str) -> None:
        """Select ``name``'s row (for the buttons that act on the selected provider)."""
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.text() == name:
                self.table.selectRow(r)
                return
        self.table.clearSelection()

    def provider(self, name: str) -> ProviderConfig | None:
        """The provider as currently edited in this dialog (saved on Save)."""
        return self._providers.get(name)

    def _selected(self) -> ProviderConfig | None:
        name = self.selected_name()
        if name is None:
            self.error.setText("Select a provider first.")
            return None
        return self._providers.get(name)

    def _update_buttons(self) -> None:
        name = self.selected_name()
        p = self._providers.get(name) if name else None
        self.set_key_button.setEnabled(p is not None and p.needs_key)
        self.remove_key_button.setEnabled(
            p is not None and self.keys.source(p).where in ("keychain", "session")
        )
        self.edit_button.setEnabled(p is not None and p.name != "demo")
        self.edit_button.setToolTip(
            "" if p is None or p.name != "demo" else "The demo server can't be edited"
        )
        self.remove_button.setEnabled(p is not None and p.name not in PRESETS)
        self.remove_button.setToolTip(
            "Built-in providers can't be removed" if p is not None and p.name in PRESETS else ""
        )
        testing = self._testing is not None and not self._testing.done()
        self.test_button.setEnabled(p is not None and self._test_connection is not None and not testing)
        current = self.preset_list.current()
        self.remove_preset_button.setEnabled(current is not None and current.name in self._presets)

    def _set_key(self) -> None:
        provider = self._selected()
        if provider is None:
            return
        secret, ok = QInputDialog.getText(
            self, "API key", f"API key for {provider.name}:", QLineEdit.EchoMode.Password
        )
        if ok and secret.strip():
            self.save_key(provider.name, secret.strip())

    def save_key(self, name: str, secret: str) -> bool:
        """Store ``secret`` as ``name``'s key in the keychain. Without a usable keychain,
        say so in one sentence and offer to keep it for this session only; False then."""
        provider = self._providers[name]
        try:
            self.keys.set(name, secret)
        except NoKeychain:
            self._pending_key = (name, secret)
            self.key_problem.setText(no_keychain_sentence(provider, self.keys.keychain_available()))
            self.key_problem.show()
            self.session_key_button.show()
            self._fill()
            return False
        self._clear_key_problem()
        self._fill()
        return True

    def _use_for_session(self) -> None:
        if self._pending_key is not None:
            self.keys.set_for_session(*self._pending_key)
        self._clear_key_problem()
        self._fill()

    def _clear_key_problem(self) -> None:
        self._pending_key = None
        self.key_problem.setText("")
        self.key_problem.hide()
        self.session_key_button.hide()

    def _remove_key(self) -> None:
        provider = self._selected()
        if provider is not None:
            self.keys.delete(provider.name)
            self._fill()

    # -- endpoints -----------------------------------------------------------------------

    def _add_provider(self) -> None:
        dialog = EndpointDialog(self, taken=self._providers)
        if dialog.exec() and dialog.result_provider is not None:
            self.set_endpoint(dialog.result_provider)

    def _edit_provider(self) -> None:
        provider = self._selected()
        if provider is None or provider.name == "demo":
            return
        dialog = EndpointDialog(self, provider=provider)
        if dialog.exec() and dialog.result_provider is not None:
            self.set_endpoint(dialog.result_provider)

    def set_endpoint(self, provider: ProviderConfig) -> None:
        """Add or replace a provider (kept on Save) and select it."""
        self._providers[provider.name] = provider
        self.error.setText("")
        self._fill()
        self.select_provider(provider.name)

    def _remove_provider(self) -> None:
        provider = self._selected()
        if provider is not None:
            self.remove_endpoint(provider.name)

    def remove_endpoint(self, name: str) -> bool:
        """Remove a custom provider (kept on Save); built-in ones stay. False if refused."""
        if name in PRESETS or name not in self._providers:
            self.error.setText(f"{name} is built in and can't be removed." if name in PRESETS else "")
            return False
        del self._providers[name]
        self.error.setText("")
        self._fill()
        return True

    # -- connection test -----------------------------------------------------------------

    def _test(self) -> None:
        provider = self._selected()
        if provider is None or self._test_connection is None:
            return
        key = self.keys.resolve(provider)[0]
        secrets = [*([key] if key else []), *known_secrets()]
        name = provider.name
        self.test_result.setStyleSheet("")
        self.test_result.setToolTip("")
        self.test_result.setText(f"{name}: Testing…")
        awaitable: Awaitable[str] | None = None
        try:
            awaitable = self._test_connection(provider)
            future: asyncio.Future[str] = asyncio.ensure_future(awaitable)
        except Exception as exc:  # not awaitable, or no event loop: say so, don't leak it
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            self._show_test(name, secrets, None, exc)
            return
        self._testing = future
        self._update_buttons()
        future.add_done_callback(lambda fut: self._tested(name, secrets, fut))

    def _tested(self, name: str, secrets: list[str], future: asyncio.Future[str]) -> None:
        if self._is_closed:  # the widgets may be gone
            return
        self._testing = None
        exc = asyncio.CancelledError("cancelled") if future.cancelled() else future.exception()
        self._show_test(name, secrets, None if exc is not None else future.result(), exc)
        self._update_buttons()

    def _show_test(
        self, name: str, secrets: list[str], result: str | None, exc: BaseException | None
    ) -> None:
        if exc is None:
            text = redact(str(result or "OK"), secrets)
            self.test_result.setStyleSheet(OK_STYLE)
        else:
            text = "failed: " + redact(str(exc) or type(exc).__name__, secrets)
            self.test_result.setStyleSheet(ERROR_STYLE)
        line = one_line(f"{name}: {text}")
        self.test_result.setText(line)
        self.test_result.setToolTip(one_line(text, 2000) if line.endswith("…") else "")

    def _closed(self, _result: int) -> None:
        self._is_closed = True
        if self._testing is not None and not self._testing.done():
            self._testing.cancel()
        self._testing = None
        self._pending_key = None

    # -- prices --------------------------------------------------------------------------

    def _fill_shipped(self, note: QLabel) -> None:
        from chatlab.core.costs.pricing import builtin_table

        try:
            table = builtin_table()
        except (OSError, ValueError, KeyError) as exc:  # a broken install: say so, don't crash
            note.setText(f"The shipped price table could not be read ({type(exc).__name__}).")
            table = {}
        for key, entry in table.items():
            vendor, _, model = key.partition(":")
            p = entry.price
            r = self.shipped.rowCount()
            self.shipped.insertRow(r)
            cells = (vendor, model, p.input, p.cached_input, p.cache_write, p.output, entry.as_of)
            for c, value in enumerate(cells):
                item = QTableWidgetItem(_money(value) if isinstance(value, float) or value is None else value)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(p.source)
                self.shipped.setItem(r, c, item)
        fit_table(self.shipped, min_rows=6, max_rows=10)

    def _override_shipped(self) -> None:
        row = self.shipped.currentRow()
        if row < 0:
            return
        from chatlab.core.costs.pricing import builtin_table

        vendor, model = _cell(self.shipped.item(row, 0)), _cell(self.shipped.item(row, 1))
        key = f"{vendor}:{model}"
        p = builtin_table()[key].price
        existing = [r for r in range(self.prices.rowCount()) if _cell(self.prices.item(r, 0)) == key]
        if existing:
            self.prices.setCurrentCell(existing[0], 1)
            return
        self._add_price_row(key, PriceOverride(p.input, p.cached_input, p.cache_write, p.output))

    def _add_price_row(self, key: str, price: PriceOverride) -> None:
        r = self.prices.rowCount()
        self.prices.insertRow(r)
        values = (key, price.input, price.cached_input, price.cache_write, price.output)
        for c, v in enumerate(values):
            self.prices.setItem(r, c, QTableWidgetItem("" if v is None else str(v)))
        self.prices.setCurrentCell(r, 0)

    def _remove_price_row(self) -> None:
        if self.prices.currentRow() >= 0:
            self.prices.removeRow(self.prices.currentRow())

    # -- presets -------------------------------------------------------------------------

    def _all_presets(self) -> list[Preset]:
        return all_presets(dataclasses.replace(self.config, presets=self._presets))

    def _remove_preset(self) -> None:
        preset = self.preset_list.current()
        if preset is not None:
            self.remove_preset(preset.name)

    def remove_preset(self, name: str) -> bool:
        """Remove the user's preset ``name`` (kept on Save); shipped presets stay."""
        if name not in self._presets:
            return False
        del self._presets[name]
        self.preset_list.set_presets(self._all_presets())
        self._update_buttons()
        return True

    # -- result --------------------------------------------------------------------------

    def build(self) -> Config:
        prices: dict[str, dict[str, float]] = {}
        for r in range(self.prices.rowCount()):
            cells = [_cell(self.prices.item(r, c)) for c in range(5)]
            if not cells[0]:
                continue
            entry: dict[str, float] = {}
            for name, text in zip(("input", "cached_input", "cache_write", "output"), cells[1:], strict=True):
                if text:
                    try:
                        entry[name] = float(text)
                    except ValueError:
                        raise ValueError(f"{cells[0]}: {name} must be a number, got {text!r}") from None
            prices[cells[0]] = entry
        providers = {
            name: {
                k: v
                for k, v in dataclasses.asdict(p).items()
                if k in ("kind", "base_url", "api_key_env", "needs_key", "vendor", "max_retries")
                and v is not None
            }
            for name, p in self._providers.items()
            if p != PRESETS.get(name)  # a built-in keeps the user's changes, new or saved before
        }
        try:
            parsed = parse_config({"providers": providers, "prices": prices})
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return dataclasses.replace(
            parsed,
            # Once votes carry this installation's id, a name is needed to show them by:
            # an emptied field keeps the one it had.
            rater=clean_name(self.rater.text()) or (self.config.rater if self.config.rater_id else None),
            rater_id=self.config.rater_id,  # the name changes; who the rater is never does
            presets=dict(self._presets),
            source=self.config.source,
        )

    def accept(self) -> None:
        try:
            self.result_config = self.build()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


def _money(value: float | None) -> str:
    """A price as read on a price page: at least two decimals, no trailing zeros past them."""
    if value is None:
        return "—"
    whole, _, fraction = f"{value:.4f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _cell(item: QTableWidgetItem | None) -> str:
    return item.text().strip() if item is not None else ""
