"""The endpoint editor: a custom OpenAI-compatible or Anthropic-compatible provider, new
or edited (name, wire format, base URL, key variable, retries). An invalid value is
refused inside the dialog with the reason shown.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from chatlab.core.settings.config import KINDS, PRESETS, ProviderConfig, url_problem
from chatlab.ui.dialogs.common import button_box, error_label

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
        self.error = error_label()
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
        layout.addWidget(button_box(QDialogButtonBox.StandardButton.Ok, self))
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
