"""Dialogs: the lane editor (provider, model, parameters, label) and settings (providers,
keys, price overrides).

Invalid values are refused inside the dialog with the reason shown; nothing half-valid
reaches a lane. Keys go to the OS keychain; when there is none the dialog says so and
offers to keep the key in memory for this session only. A key is never displayed: the
settings show only where each key comes from.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.config import KINDS, Config, ConfigError, PriceOverride, ProviderConfig, parse_config
from chatlab.core.keys import KeyStore, NoKeychain
from chatlab.core.model import EFFORTS, Lane, LaneParams


class LaneDialog(QDialog):
    """Choose a provider and model, set parameters and a label."""

    def __init__(
        self,
        config: Config,
        lane: Lane | None,
        list_models: Callable[[str], asyncio.Future[list[str]] | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lane" if lane is None else f"Lane — {lane.display}")
        self.setMinimumWidth(520)
        self.config = config
        self._list_models = list_models
        lane = lane or Lane(provider="demo", model="demo-fast")
        p = lane.params

        self.provider = QComboBox()
        self.provider.addItems(sorted(config.providers))
        self.provider.setCurrentText(lane.provider)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setMinimumWidth(280)
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model.setCurrentText(lane.model)
        self.fetch = QPushButton("List models")
        self.fetch.setToolTip("Ask the provider for its models (GET /models)")
        self.fetch.clicked.connect(self._fetch_models)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.fetch)
        self.label = QLineEdit(lane.label)
        self.label.setPlaceholderText("Display label (optional)")

        self.use_temp = QCheckBox("Temperature")
        self.temp = QDoubleSpinBox()
        self.temp.setRange(-10.0, 10.0)  # out-of-range values are refused with a reason
        self.temp.setSingleStep(0.1)
        self.temp.setValue(p.temperature if p.temperature is not None else 1.0)
        self.use_temp.setChecked(p.temperature is not None)
        self.use_max = QCheckBox("Max output tokens")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setValue(p.max_output_tokens or 4096)
        self.use_max.setChecked(p.max_output_tokens is not None)
        self.effort = QComboBox()
        self.effort.addItems(["default", *EFFORTS])
        self.effort.setCurrentText(p.reasoning_effort or "default")
        self.use_budget = QCheckBox("Thinking budget")
        self.budget = QSpinBox()
        self.budget.setRange(0, 1_000_000)
        self.budget.setSingleStep(1024)
        self.budget.setValue(p.thinking_budget if p.thinking_budget is not None else 4096)
        self.use_budget.setChecked(p.thinking_budget is not None)

        form = QFormLayout()
        form.addRow("Provider", self.provider)
        form.addRow("Model", model_row)
        form.addRow("Label", self.label)
        form.addRow(self.use_temp, self.temp)
        form.addRow(self.use_max, self.max_tokens)
        form.addRow("Reasoning effort", self.effort)
        form.addRow(self.use_budget, self.budget)
        note = QLabel("Parameters a model family rejects are not sent (e.g. temperature to o-series models).")
        note.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setStyleSheet("color: #c62828;")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.info = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.info)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.result_lane: Lane | None = None
        self._base = lane

    def _fetch_models(self) -> None:
        if self._list_models is None:
            return
        future = self._list_models(self.provider.currentText())
        if future is None:
            return
        self.fetch.setEnabled(False)
        self.fetch.setText("Listing…")

        def done(fut: asyncio.Future[list[str]]) -> None:
            self.fetch.setEnabled(True)
            self.fetch.setText("List models")
            try:
                models = fut.result()
            except Exception as exc:
                self.error.setText(f"Could not list models: {exc}")
                return
            current = self.model.currentText()
            self.model.clear()
            self.model.addItems(models)
            self.model.setCurrentText(current)
            self.error.setText("")
            self.info.setText(f"{len(models)} models listed." if models else "The provider listed no models.")

        future.add_done_callback(done)

    def build(self) -> Lane:
        """The lane as entered; raises ValueError with the reason when invalid."""
        model = self.model.currentText().strip()
        if not model:
            raise ValueError("choose or type a model")
        effort = self.effort.currentText()
        params = LaneParams(
            system=self._base.params.system,
            temperature=round(self.temp.value(), 3) if self.use_temp.isChecked() else None,
            max_output_tokens=self.max_tokens.value() if self.use_max.isChecked() else None,
            reasoning_effort=None if effort == "default" else effort,
            thinking_budget=self.budget.value() if self.use_budget.isChecked() else None,
        )
        params.validate()
        if (
            params.thinking_budget
            and params.max_output_tokens
            and params.max_output_tokens <= params.thinking_budget
        ):
            raise ValueError("max output tokens must be larger than the thinking budget")
        return dataclasses.replace(
            self._base,
            provider=self.provider.currentText(),
            model=model,
            params=params,
            label=self.label.text().strip(),
        )

    def accept(self) -> None:
        try:
            self.result_lane = self.build()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class SettingsDialog(QDialog):
    """Providers and keys, and price overrides; saved to config.toml."""

    def __init__(self, config: Config, keys: KeyStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(820, 480)
        self.config = config
        self.keys = keys
        self.result_config: Config | None = None

        tabs = QTabWidget()
        providers = QWidget()
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Provider", "Wire format", "Endpoint", "Key"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.keychain_note = QLabel()
        self.keychain_note.setWordWrap(True)
        set_key = QPushButton("Set key…")
        set_key.clicked.connect(self._set_key)
        remove_key = QPushButton("Remove key")
        remove_key.clicked.connect(self._remove_key)
        add = QPushButton("Add endpoint…")
        add.clicked.connect(self._add_provider)
        row = QHBoxLayout()
        for b in (set_key, remove_key, add):
            row.addWidget(b)
        row.addStretch(1)
        pl = QVBoxLayout(providers)
        pl.addWidget(self.keychain_note)
        pl.addWidget(self.table)
        pl.addLayout(row)
        tabs.addTab(providers, "Providers and keys")

        prices = QWidget()
        self.prices = QTableWidget(0, 5)
        self.prices.setHorizontalHeaderLabels(
            ["PROVIDER:MODEL", "input", "cached input", "cache write", "output"]
        )
        self.prices.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for key, price in sorted(config.prices.items()):
            self._add_price_row(key, price)
        add_price = QPushButton("Add price")
        add_price.clicked.connect(lambda: self._add_price_row("", PriceOverride()))
        del_price = QPushButton("Remove price")
        del_price.clicked.connect(lambda: self.prices.removeRow(self.prices.currentRow()))
        prl = QVBoxLayout(prices)
        prl.addWidget(
            QLabel("USD per 1M tokens. Overrides the shipped table; blank = use the shipped value.")
        )
        prl.addWidget(self.prices)
        r2 = QHBoxLayout()
        r2.addWidget(add_price)
        r2.addWidget(del_price)
        r2.addStretch(1)
        prl.addLayout(r2)
        tabs.addTab(prices, "Prices")

        general = QWidget()
        self.rater = QLineEdit(config.rater or "")
        self.rater.setPlaceholderText("your name, stored with each rating and vote")
        gl = QFormLayout(general)
        gl.addRow("Rater name", self.rater)
        tabs.addTab(general, "General")

        self.error = QLabel()
        self.error.setStyleSheet("color: #c62828;")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._providers = dict(config.providers)
        self._fill()

    def _fill(self) -> None:
        available = self.keys.keychain_available()
        self.keychain_note.setText(
            "Keys are stored in the OS keychain and never shown here."
            if available
            else "No OS keychain is available on this system, so keys can't be saved. "
            "Set an environment variable (e.g. OPENAI_API_KEY) before starting chatlab, "
            "or enter a key for this session only: it is kept in memory and forgotten on exit."
        )
        self.table.setRowCount(0)
        for name, p in sorted(self._providers.items()):
            r = self.table.rowCount()
            self.table.insertRow(r)
            where = self.keys.source(p).where if p.needs_key else "not needed"
            label = {"keychain": "in keychain", "session": "this session only", "missing": "missing"}.get(
                where, where.replace("env:", "environment: ")
            )
            url = p.base_url or ("built-in demo server" if name == "demo" else "default")
            for c, text in enumerate((name, p.kind, url, label)):
                self.table.setItem(r, c, QTableWidgetItem(text))

    def _selected(self) -> ProviderConfig | None:
        row = self.table.currentRow()
        if row < 0:
            self.error.setText("Select a provider first.")
            return None
        item = self.table.item(row, 0)
        return self._providers.get(item.text()) if item else None

    def _set_key(self) -> None:
        provider = self._selected()
        if provider is None:
            return
        secret, ok = QInputDialog.getText(
            self, "API key", f"API key for {provider.name}:", QLineEdit.EchoMode.Password
        )
        if not ok or not secret.strip():
            return
        try:
            self.keys.set(provider.name, secret.strip())
        except NoKeychain as exc:
            box = QMessageBox(self)
            box.setWindowTitle("No keychain")
            box.setText(f"The key could not be saved: {exc}")
            session_only = box.addButton("Use for this session only", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() is session_only:
                self.keys.set_for_session(provider.name, secret.strip())
        self._fill()

    def _remove_key(self) -> None:
        provider = self._selected()
        if provider is not None:
            self.keys.delete(provider.name)
            self._fill()

    def _add_provider(self) -> None:
        dialog = EndpointDialog(self)
        if dialog.exec() and dialog.result_provider is not None:
            self._providers[dialog.result_provider.name] = dialog.result_provider
            self._fill()

    def _add_price_row(self, key: str, price: PriceOverride) -> None:
        r = self.prices.rowCount()
        self.prices.insertRow(r)
        values = (key, price.input, price.cached_input, price.cache_write, price.output)
        for c, v in enumerate(values):
            self.prices.setItem(r, c, QTableWidgetItem("" if v is None else str(v)))

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
            if not p.builtin or p != self.config.providers.get(name)
        }
        try:
            return dataclasses.replace(
                parse_config({"providers": providers, "prices": prices}),
                rater=self.rater.text().strip() or None,
            )
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    def accept(self) -> None:
        try:
            self.result_config = self.build()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class EndpointDialog(QDialog):
    """A custom OpenAI-compatible or Anthropic-compatible endpoint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add endpoint")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. vllm")
        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://127.0.0.1:8000/v1")
        self.env = QLineEdit()
        self.env.setPlaceholderText("environment variable with the key (optional)")
        self.needs_key = QCheckBox("Needs an API key")
        self.error = QLabel()
        self.error.setStyleSheet("color: #c62828;")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Wire format", self.kind)
        form.addRow("Base URL", self.url)
        form.addRow("Key variable", self.env)
        form.addRow("", self.needs_key)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.result_provider: ProviderConfig | None = None

    def accept(self) -> None:
        name = self.name.text().strip()
        url = self.url.text().strip()
        if not name or ":" in name:
            self.error.setText("A name is required, without ':'.")
            return
        if not url.startswith(("http://", "https://")):
            self.error.setText("The base URL must start with http:// or https://.")
            return
        self.result_provider = ProviderConfig(
            name=name,
            kind=self.kind.currentText(),
            base_url=url,
            api_key_env=self.env.text().strip() or None,
            needs_key=self.needs_key.isChecked(),
        )
        super().accept()


def _cell(item: QTableWidgetItem | None) -> str:
    return item.text().strip() if item is not None else ""
