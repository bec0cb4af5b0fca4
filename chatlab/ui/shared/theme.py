"""chatlab's look: one palette and one style sheet, light and dark, applied app-wide.

Widgets don't carry colours of their own; they set an object name or a dynamic property
(``card``, ``badge``, ``chip``, ``focused``, ``tone``) and this module's style sheet draws
them. The scheme follows the system's (Qt's colour-scheme hint) unless ``CHATLAB_THEME``
says ``light`` or ``dark``. Lanes are cards on a tinted window; badges are small rounded
labels; the accent marks the focused lane and the primary button. A disabled control's
text and border are dimmer than muted text, so it never reads as enabled (dark or light).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Colors:
    dark: bool
    window: str
    base: str
    alt: str
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    reasoning: str
    code: str
    error: str
    error_bg: str
    good: str
    good_bg: str
    disabled: str  # a disabled control's text: clearly dimmer than muted text
    disabled_border: str


LIGHT = Colors(
    dark=False,
    window="#eef0f4",
    base="#ffffff",
    alt="#f6f7f9",
    border="#d5d9e0",
    text="#1c2028",
    muted="#667085",
    accent="#4f46e5",
    accent_text="#ffffff",
    reasoning="#f4f2fd",
    code="#f3f4f6",
    error="#b42318",
    error_bg="#fef3f2",
    good="#067647",
    good_bg="#ecfdf3",
    disabled="#a9afba",
    disabled_border="#e3e6eb",
)

DARK = Colors(
    dark=True,
    window="#17181c",
    base="#212329",
    alt="#292b32",
    border="#383b44",
    text="#e7e8ec",
    muted="#9aa1ad",
    accent="#8b84ff",
    accent_text="#101014",
    reasoning="#27253a",
    code="#2b2d35",
    error="#f97066",
    error_bg="#3a1f1f",
    good="#47cd89",
    good_bg="#17321f",
    disabled="#5b606b",
    disabled_border="#2b2d34",
)

_current = LIGHT


def colors() -> Colors:
    """The colours in use (for views that paint or build HTML)."""
    return _current


def wants_dark(app: QGuiApplication) -> bool:
    choice = os.environ.get("CHATLAB_THEME", "").lower()
    if choice in ("light", "dark"):
        return choice == "dark"
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def palette(c: Colors) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, value in (
        (role.Window, c.window),
        (role.WindowText, c.text),
        (role.Base, c.base),
        (role.AlternateBase, c.alt),
        (role.Text, c.text),
        (role.Button, c.base),
        (role.ButtonText, c.text),
        (role.ToolTipBase, c.base),
        (role.ToolTipText, c.text),
        (role.PlaceholderText, c.muted),
        (role.Highlight, c.accent),
        (role.HighlightedText, c.accent_text),
        (role.Link, c.accent),
        (role.BrightText, c.error),
        (role.Mid, c.border),
        (role.Midlight, c.alt),
        (role.Dark, c.border),
    ):
        p.setColor(r, QColor(value))
    disabled = QColor(c.disabled)
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, role.Button, QColor(c.window))
    return p


def style_sheet(c: Colors) -> str:
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
QToolTip {{ background: {c.base}; color: {c.text}; border: 1px solid {c.border}; padding: 4px; }}
QFrame[card="true"] {{
    background: {c.base}; border: 1px solid {c.border}; border-radius: 10px;
}}
QFrame[card="true"][focused="true"] {{ border: 2px solid {c.accent}; }}
QLabel[role="title"] {{ font-weight: 600; font-size: 11pt; }}
QLabel[role="muted"] {{ color: {c.muted}; }}
QLabel[role="chip"] {{
    color: {c.muted}; background: {c.alt}; border: 1px solid {c.border};
    border-radius: 8px; padding: 0px 6px; font-size: 8pt;
}}
QLabel[role="badge"] {{
    color: {c.text}; background: {c.alt}; border-radius: 6px; padding: 1px 6px; font-size: 8.5pt;
}}
QLabel[role="badge"][tone="good"] {{ color: {c.good}; background: {c.good_bg}; }}
QLabel[role="badge"][tone="bad"] {{ color: {c.error}; background: {c.error_bg}; }}
QLabel[role="badge"][tone="busy"] {{ color: {c.accent}; }}
QFrame[role="error"] {{
    background: {c.error_bg}; border: 1px solid {c.error}; border-radius: 8px;
}}
QFrame[role="error"] QLabel {{ color: {c.error}; }}
QFrame[role="banner"], QFrame[role="reveal"], QFrame[role="votebar"] {{
    background: {c.base}; border: 1px solid {c.border}; border-radius: 10px;
}}
QFrame[role="reveal"] {{ border: 2px solid {c.accent}; }}
QFrame[role="votebar"][flash="true"] {{ border: 2px solid {c.accent}; background: {c.alt}; }}
QLabel[role="turn"] {{
    color: {c.text}; background: {c.base}; border: 1px solid {c.border};
    border-radius: 8px; padding: 6px 10px;
}}
QTextBrowser, QPlainTextEdit {{
    background: {c.base}; border: none; selection-background-color: {c.accent};
    selection-color: {c.accent_text};
}}
QPlainTextEdit#reasoning {{ background: {c.reasoning}; border-radius: 6px; padding: 4px; }}
QPlainTextEdit#prompt, QPlainTextEdit#system {{
    border: 1px solid {c.border}; border-radius: 8px; padding: 6px;
}}
QPlainTextEdit#prompt:focus {{ border: 1px solid {c.accent}; }}
QPushButton {{
    background: {c.base}; border: 1px solid {c.border}; border-radius: 6px; padding: 4px 10px;
}}
QPushButton:hover {{ border-color: {c.accent}; }}
QPushButton:disabled {{ color: {c.disabled}; background: {c.window}; border-color: {c.disabled_border}; }}
QPushButton:checked {{ background: {c.accent}; color: {c.accent_text}; border-color: {c.accent}; }}
QPushButton[primary="true"] {{
    background: {c.accent}; color: {c.accent_text}; border-color: {c.accent}; font-weight: 600;
}}
QPushButton[primary="true"]:disabled {{
    background: {c.window}; color: {c.disabled}; border-color: {c.disabled_border}; font-weight: 400;
}}
QToolButton {{ border: none; border-radius: 6px; padding: 3px; }}
QToolButton:hover {{ background: {c.alt}; }}
QToolButton:checked {{ background: {c.alt}; }}
QToolButton:disabled, QCheckBox:disabled, QRadioButton:disabled, QLabel:disabled {{ color: {c.disabled}; }}
QLineEdit:disabled, QComboBox:disabled {{ color: {c.disabled}; border-color: {c.disabled_border}; }}
QWidget#progress-line QLabel {{ color: {c.accent}; font-weight: 600; }}
QLabel#wait {{ font-size: 11pt; padding: 12px; }}
QSplitter::handle {{ background: transparent; }}
QScrollArea {{ background: transparent; border: none; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
QListWidget {{ background: {c.base}; border: 1px solid {c.border}; border-radius: 8px; }}
QLineEdit {{
    background: {c.base}; border: 1px solid {c.border}; border-radius: 6px; padding: 3px 6px;
}}
QDialogButtonBox {{ dialogbuttonbox-buttons-have-icons: 0; }}
QToolButton[popupMode="1"] {{ padding-right: 14px; }}
QToolButton::menu-button {{ border: none; width: 14px; }}
QToolButton[popupMode="2"]::menu-indicator {{ image: none; width: 0; }}
QToolButton::menu-button:hover {{ background: {c.alt}; }}
QStatusBar {{ color: {c.muted}; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 0; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 0; }}
QScrollBar::handle {{ background: {c.border}; border-radius: 4px; min-width: 24px; min-height: 24px; }}
QScrollBar::handle:hover {{ background: {c.muted}; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
"""


def apply(app: QApplication, dark: bool | None = None) -> Colors:
    """Style the whole application; returns the colours chosen."""
    global _current
    _current = DARK if (wants_dark(app) if dark is None else dark) else LIGHT
    app.setStyle("Fusion")
    app.setPalette(palette(_current))
    app.setStyleSheet(style_sheet(_current))
    return _current
