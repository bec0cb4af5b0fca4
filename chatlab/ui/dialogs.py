"""Dialogs: the lane editor, settings (providers and keys, endpoints, prices, lane
presets), the endpoint editor, and the lane-preset chooser and namer. Invalid values are
refused inside the dialog with the reason shown, so nothing half-valid reaches a lane; an
unticked parameter is greyed out and not sent, and changing its value ticks it, so a
typed value is never dropped silently. Keys go to the OS keychain; without one the
dialog says so in one sentence and offers to keep the key in memory for this session
only. A key is never displayed: the settings show only where each key comes from, and a
connection test's one-line result is redacted. The prices tab shows the shipped table
(read-only) above the user's editable overrides.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
from collections.abc import Awaitable, Callable, Collection, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
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
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data import format as fmt
from chatlab.core.data.model import EFFORTS, Lane, LaneParams
from chatlab.core.data.safety import clean_text, known_secrets, redact
from chatlab.core.lab.contract import AdapterFactory
from chatlab.core.settings.apikeys import KeyStore, NoKeychain
from chatlab.core.settings.config import (
    KINDS,
    PRESETS,
    Config,
    ConfigError,
    PriceOverride,
    ProviderConfig,
    check_lane_params,
    clean_name,
    parse_config,
    url_problem,
)
from chatlab.core.settings.presets import Preset, all_presets, name_problem

TestConnection = Callable[[ProviderConfig], Awaitable[str]]

ERROR_STYLE = "color: #c62828;"
OK_STYLE = "color: #2e7d32;"
RESULT_CHARS = 160  # a connection test's result is shown on one line, cut to this length
SCREEN_MARGIN = 80  # a dialog leaves this much of the screen's width free
TEST_TIMEOUT_S = 20.0  # a connection test that takes longer has failed
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def one_line(text: str, limit: int = RESULT_CHARS) -> str:
    """``text`` on one line: control characters and runs of whitespace become one space,
    cut to ``limit`` characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in clean_text(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def connection_tester(
    keys: KeyStore,
    make_adapter: AdapterFactory | None = None,
    demo_base_url: str | None = None,
) -> TestConnection:
    """A ``test_connection`` for :class:`SettingsDialog`: list the provider's models with
    its key (``GET /models``) and say how many; a failure raises ``ConnectionError`` with
    one readable line (the provider's own message when it sent one). ``demo_base_url``
    is where the built-in demo server listens (the saved config does not know)."""

    async def test(provider: ProviderConfig) -> str:
        from chatlab.providers.errors import map_exception

        if provider.name == "demo" and provider.base_url is None:
            if demo_base_url is None:
                raise ConnectionError("the built-in demo server is not running")
            provider = dataclasses.replace(provider, base_url=demo_base_url)
        key = keys.resolve(provider)[0]
        if provider.needs_key and not key:
            raise ConnectionError(f"no key for {provider.name}: set one first")
        factory: AdapterFactory
        if make_adapter is None:
            from chatlab.providers import make_adapter as factory
        else:
            factory = make_adapter
        adapter = factory(provider, key)
        try:
            async with asyncio.timeout(TEST_TIMEOUT_S):
                models = await adapter.list_models()
        except TimeoutError:
            raise ConnectionError(f"no answer within {TEST_TIMEOUT_S:g} s") from None
        except Exception as exc:
            error = map_exception(exc, provider.base_url)
            status = f"HTTP {error.status_code}: " if error.status_code else ""
            raise ConnectionError(status + error.message) from None
        finally:
            await adapter.aclose()
        return f"OK — {len(models)} model{'' if len(models) == 1 else 's'}"

    return test


def describe_params(params: LaneParams) -> str:
    """The parameters a lane sets, in a few words ("effort high, max 16,384")."""
    return ", ".join(fmt.params(params))


def fit_table(table: QTableWidget, min_rows: int = 3, max_rows: int = 12) -> None:
    """Size ``table`` for its contents: every column as wide as its widest cell or header
    (no clipped column; on a screen too narrow for that, the table scrolls sideways), and
    tall enough for a few rows."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    table.resizeColumnsToContents()
    columns = sum(
        max(table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(table.columnCount())
    )
    vertical = table.verticalHeader()
    side = vertical.sizeHint().width() if vertical.isVisible() else 0
    frame = 2 * table.frameWidth()
    width = columns + side + frame + table.verticalScrollBar().sizeHint().width()
    room = table.screen().availableGeometry().width() - SCREEN_MARGIN  # very long cells scroll
    table.setMinimumWidth(min(width, room))
    rows = min(max(table.rowCount(), min_rows), max_rows)
    table.setMinimumHeight(header.sizeHint().height() + rows * vertical.defaultSectionSize() + frame)


def _table(columns: Sequence[str], editable: bool = False) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    if not editable:
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    return table


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("error")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    return label


def _buttons(ok: QDialogButtonBox.StandardButton, dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


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
        # An unticked parameter is greyed out; changing its value ticks it (set after the
        # lane's values are in, so that opening the dialog ticks nothing).
        self._switches: list[tuple[QCheckBox, QAbstractSpinBox]] = [
            (self.use_temp, self.temp),
            (self.use_max, self.max_tokens),
            (self.use_budget, self.budget),
        ]
        for check, box in self._switches:
            box.setEnabled(check.isChecked())
            check.toggled.connect(box.setEnabled)
        self.temp.valueChanged.connect(lambda _v: self.use_temp.setChecked(True))
        self.max_tokens.valueChanged.connect(lambda _v: self.use_max.setChecked(True))
        self.budget.valueChanged.connect(lambda _v: self.use_budget.setChecked(True))

        form = QFormLayout()
        form.addRow("Provider", self.provider)
        form.addRow("Model", model_row)
        form.addRow("Label", self.label)
        form.addRow(self.use_temp, self.temp)
        form.addRow(self.use_max, self.max_tokens)
        form.addRow("Reasoning effort", self.effort)
        form.addRow(self.use_budget, self.budget)
        note = QLabel(
            "Unticked parameters are not sent (the provider's default applies). Parameters a model "
            "family rejects are not sent either (e.g. temperature to o-series models)."
        )
        note.setWordWrap(True)
        self.error = _error_label()
        self.info = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.info)
        layout.addWidget(self.error)
        layout.addWidget(_buttons(QDialogButtonBox.StandardButton.Ok, self))
        self.result_lane: Lane | None = None
        self._base = lane
        self.adjustSize()

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
                self.error.setText(f"Could not list models: {one_line(str(exc) or type(exc).__name__)}")
                return
            current = self.model.currentText()
            self.model.clear()
            self.model.addItems(models)
            self.model.setCurrentText(current)
            self.error.setText("")
            self.info.setText(f"{len(models)} models listed." if models else "The provider listed no models.")

        future.add_done_callback(done)

    def build(self) -> Lane:
        """The lane as entered; raises ValueError with the reason when invalid. Every
        ticked parameter is included, with the value typed so far."""
        model = self.model.currentText().strip()
        if not model:
            raise ValueError("choose or type a model")
        for _check, box in self._switches:
            box.interpretText()  # text typed but not yet committed (no Enter, focus still in)
        effort = self.effort.currentText()
        params = LaneParams(
            system=self._base.params.system,
            temperature=round(self.temp.value(), 3) if self.use_temp.isChecked() else None,
            max_output_tokens=self.max_tokens.value() if self.use_max.isChecked() else None,
            reasoning_effort=None if effort == "default" else effort,
            thinking_budget=self.budget.value() if self.use_budget.isChecked() else None,
        )
        check_lane_params(params)
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


class PresetList(QWidget):
    """Preset names on the left, the selected preset's lanes (``provider:model``) on the
    right; shipped presets are marked."""

    def __init__(self, presets: Sequence[Preset], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names = QListWidget()
        self.names.currentRowChanged.connect(self._show)
        self.details = QLabel()
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setWordWrap(True)
        self.details.setMinimumWidth(320)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.names, 1)
        layout.addWidget(self.details, 1)
        self.presets: list[Preset] = []
        self.set_presets(presets)

    def set_presets(self, presets: Sequence[Preset]) -> None:
        current = self.current()
        self.presets = list(presets)
        self.names.clear()
        for preset in self.presets:
            item = QListWidgetItem(f"{preset.name}  (shipped)" if preset.builtin else preset.name)
            item.setToolTip("\n".join(lane_line(e.spec, e.label, e.params) for e in preset.entries))
            self.names.addItem(item)
        width = self.names.sizeHintForColumn(0) + 2 * self.names.frameWidth() + 24
        self.names.setMinimumWidth(min(max(width, 200), 420))
        names = [p.name for p in self.presets]
        self.names.setCurrentRow(names.index(current.name) if current and current.name in names else 0)
        self._show(self.names.currentRow())

    def current(self) -> Preset | None:
        row = self.names.currentRow()
        return self.presets[row] if 0 <= row < len(self.presets) else None

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.presets):
            self.details.setText("")
            return
        preset = self.presets[row]
        lines = [lane_line(e.spec, e.label, e.params) for e in preset.entries]
        source = "shipped with chatlab" if preset.builtin else "saved by you (config.toml)"
        self.details.setText("\n".join([f"{len(lines)} lanes, {source}:", *lines]))


def lane_line(spec: str, label: str, params: LaneParams) -> str:
    """One lane of a preset as shown: ``provider:model — label (parameters)``."""
    line = spec + (f" — {label}" if label else "")
    described = describe_params(params)
    return line + (f" ({described})" if described else "")


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

        self.error = _error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error)
        layout.addWidget(_buttons(QDialogButtonBox.StandardButton.Save, self))
        self.finished.connect(self._closed)
        self._fill()
        self.adjustSize()

    # -- building the tabs ---------------------------------------------------------------

    def _providers_tab(self) -> QWidget:
        page = QWidget()
        self.table = _table(["Provider", "Wire format", "Endpoint", "Key"])
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

        self.key_problem = _error_label()
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
            "Shipped prices (read-only): chatlab's price table, USD per 1M tokens. "
            "Reasoning tokens are billed at the output rate."
        )
        shipped_note.setWordWrap(True)
        self.shipped = _table(
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
        self.prices = _table(
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
            url = p.base_url or ("built-in demo server" if name == "demo" else "default")
            for c, text in enumerate((name, p.kind, url, label)):
                self.table.setItem(r, c, QTableWidgetItem(text))
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


class EndpointDialog(QDialog):
    """A custom OpenAI-compatible or Anthropic-compatible endpoint, new or edited.

    Given ``provider``, the fields start with its settings and its name can't change (the
    keychain and saved sessions know it by name). A built-in provider's blank base URL
    means its default.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        provider: ProviderConfig | None = None,
        taken: Collection[str] = (),
    ) -> None:
        super().__init__(parent)
        self.base = provider
        self.taken = set(taken)
        preset = PRESETS.get(provider.name) if provider is not None else None
        self.setWindowTitle("Add endpoint" if provider is None else f"Edit endpoint — {provider.name}")
        self.name = QLineEdit(provider.name if provider else "")
        self.name.setPlaceholderText("e.g. vllm")
        self.name.setReadOnly(provider is not None)
        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.url = QLineEdit()
        self.url.setPlaceholderText(
            f"blank = default ({preset.base_url or 'the SDK default'})"
            if preset is not None
            else "http://127.0.0.1:8000/v1"
        )
        self.env = QLineEdit()
        self.env.setPlaceholderText("environment variable with the key (optional)")
        self.needs_key = QCheckBox("Needs an API key")
        self.retries = QSpinBox()
        self.retries.setRange(0, 10)
        self.retries.setToolTip("chatlab's own retries before the first token")
        if provider is not None:
            self.kind.setCurrentText(provider.kind)
            default = preset.base_url if preset is not None else None
            self.url.setText(provider.base_url if provider.base_url and provider.base_url != default else "")
            self.env.setText(provider.api_key_env or "")
            self.needs_key.setChecked(provider.needs_key)
            self.retries.setValue(provider.max_retries)
        else:
            self.needs_key.setChecked(True)
            self.retries.setValue(ProviderConfig.max_retries)
        self.error = _error_label()
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Wire format", self.kind)
        form.addRow("Base URL", self.url)
        form.addRow("Key variable", self.env)
        form.addRow("", self.needs_key)
        form.addRow("Retries", self.retries)
        layout = QVBoxLayout(self)
        if preset is not None:
            note = QLabel("A built-in provider: it can be changed here but not removed.")
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(_buttons(QDialogButtonBox.StandardButton.Ok, self))
        self.setMinimumWidth(460)
        self.adjustSize()
        self.result_provider: ProviderConfig | None = None

    def build(self) -> ProviderConfig:
        """The endpoint as entered; raises ValueError with the reason when invalid."""
        name = self.name.text().strip()
        url = self.url.text().strip()
        env = self.env.text().strip()
        preset = PRESETS.get(name) if self.base is not None else None
        if not name or ":" in name:
            raise ValueError("A name is required, without ':'.")
        if self.base is None and name in self.taken:
            raise ValueError(f"A provider named {name!r} exists already: choose another name.")
        if url:
            problem = url_problem(url)
            if problem:
                raise ValueError(f"The base URL {problem}.")
        elif preset is None:
            raise ValueError("A base URL is required, e.g. http://127.0.0.1:8000/v1.")
        if env and not ENV_NAME.match(env):  # never echoed: it may be a pasted key
            raise ValueError("The key variable must be an environment variable's name, like MY_API_KEY.")
        base = self.base or ProviderConfig(name=name, kind=KINDS[0])
        return dataclasses.replace(
            base,
            kind=self.kind.currentText(),
            base_url=url or (preset.base_url if preset else None),
            api_key_env=env or None,
            needs_key=self.needs_key.isChecked(),
            max_retries=self.retries.value(),
        )

    def accept(self) -> None:
        try:
            self.result_provider = self.build()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class PresetDialog(QDialog):
    """Pick a lane preset to start a new session with."""

    def __init__(
        self,
        presets: Sequence[Preset],
        providers: Collection[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New session from a preset")
        self.providers = providers
        self.view = PresetList(presets)
        self.view.names.currentRowChanged.connect(lambda _r: self._check())
        self.view.names.itemDoubleClicked.connect(lambda _i: self.accept())
        self.error = _error_label()
        self.buttons = _buttons(QDialogButtonBox.StandardButton.Ok, self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.result_preset: Preset | None = None
        self._check()
        self.adjustSize()

    def select(self, name: str) -> None:
        names = [p.name for p in self.view.presets]
        if name in names:
            self.view.names.setCurrentRow(names.index(name))

    def _problem(self) -> str | None:
        preset = self.view.current()
        if preset is None:
            return "Choose a preset."
        missing = preset.missing_providers(self.providers) if self.providers is not None else []
        if missing:
            return f"This preset needs the provider {', '.join(missing)}: add it in Settings first."
        return None

    def _check(self) -> None:
        problem = self._problem()
        self.error.setText(problem or "")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setEnabled(problem is None)

    def accept(self) -> None:
        if self._problem() is not None:
            return
        self.result_preset = self.view.current()
        super().accept()


def choose_preset(
    parent: QWidget | None, presets: Sequence[Preset], providers: Collection[str] | None = None
) -> Preset | None:
    """Ask for a preset (modal); None when cancelled. With ``providers``, presets that
    use a provider not in it can't be chosen."""
    dialog = PresetDialog(presets, providers, parent)
    return dialog.result_preset if dialog.exec() else None


class PresetNameDialog(QDialog):
    """A name for saving the current lanes as a preset."""

    def __init__(self, config: Config | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save lanes as preset")
        self.config = config
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. sonnet thinking vs not")
        self.name.textChanged.connect(self._changed)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.error = _error_label()
        form = QFormLayout()
        form.addRow("Preset name", self.name)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.info)
        layout.addWidget(self.error)
        layout.addWidget(_buttons(QDialogButtonBox.StandardButton.Save, self))
        self.setMinimumWidth(380)
        self.adjustSize()
        self.result_name: str | None = None

    def _changed(self, text: str) -> None:
        self.error.setText("")
        name = text.strip()
        replaces = self.config is not None and name in self.config.presets
        self.info.setText("This replaces your saved preset of that name." if replaces else "")

    def accept(self) -> None:
        name = self.name.text().strip()
        problem = name_problem(name, self.config)
        if problem:
            self.error.setText(problem[0].upper() + problem[1:] + ".")
            return
        self.result_name = name
        super().accept()


def ask_preset_name(parent: QWidget | None, config: Config | None = None) -> str | None:
    """Ask for a new preset's name (modal); None when cancelled. Shipped presets' names
    are refused; with ``config``, the user's own preset names may be reused (replaced)."""
    dialog = PresetNameDialog(config, parent)
    return dialog.result_name if dialog.exec() else None


def _money(value: float | None) -> str:
    """A price as read on a price page: at least two decimals, no trailing zeros past them."""
    if value is None:
        return "—"
    whole, _, fraction = f"{value:.4f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _cell(item: QTableWidgetItem | None) -> str:
    return item.text().strip() if item is not None else ""
