"""Lane presets in dialogs: the list the settings and the chooser both show (names, and
the selected preset's lanes), the chooser a new session starts from, and the dialog
that names the current lanes to save them as a preset.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.data import format as fmt
from chatlab.core.data.model import LaneParams
from chatlab.core.settings.config import Config
from chatlab.core.settings.presets import Preset, name_problem
from chatlab.ui.dialogs.common import button_box, error_label


def describe_params(params: LaneParams) -> str:
    """The parameters a lane sets, in a few words ("effort high, max 16,384")."""
    return ", ".join(fmt.params(params))


def lane_line(spec: str, label: str, params: LaneParams) -> str:
    """One lane of a preset as shown: ``provider:model — label (parameters)``."""
    line = spec + (f" — {label}" if label else "")
    described = describe_params(params)
    return line + (f" ({described})" if described else "")


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
        self.error = error_label()
        self.buttons = button_box(QDialogButtonBox.StandardButton.Ok, self)
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
        self.error = error_label()
        form = QFormLayout()
        form.addRow("Preset name", self.name)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.info)
        layout.addWidget(self.error)
        layout.addWidget(button_box(QDialogButtonBox.StandardButton.Save, self))
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
