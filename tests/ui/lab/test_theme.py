"""Disabled controls look disabled (issue 24): in the dark theme as in the light one, a
disabled button's text is clearly dimmer than muted text, and its border too."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from chatlab.ui.shared import theme
from chatlab.ui.shared.theme import DARK, LIGHT, Colors


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""

    def luminance(hex_: str) -> float:
        c = QColor(hex_)
        parts = []
        for v in (c.redF(), c.greenF(), c.blueF()):
            parts.append(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4)
        return 0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("c", [LIGHT, DARK], ids=["light", "dark"])
def test_disabled_text_is_clearly_dimmer_than_muted_text(c: Colors) -> None:
    enabled = contrast(c.text, c.base)
    muted = contrast(c.muted, c.base)
    disabled = contrast(c.disabled, c.window)
    assert disabled < muted * 0.7 and disabled < enabled / 3  # plainly dimmer
    assert disabled >= 1.8  # still legible
    assert contrast(c.disabled_border, c.window) < contrast(c.border, c.window)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_disabled_button_is_drawn_dimmer(qtbot: QtBot, dark: bool) -> None:
    from PySide6.QtWidgets import QPushButton

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = (app.styleSheet(), app.palette(), app.style().name(), theme.colors())
    c = theme.apply(app, dark=dark)
    try:
        on, off = QPushButton("Stop all"), QPushButton("Stop all")
        off.setEnabled(False)
        for b in (on, off):
            qtbot.addWidget(b)
            b.resize(120, 32)

        def darkest_or_lightest(button: QPushButton) -> float:
            """The strongest text contrast drawn on the button."""
            image = button.grab().toImage()
            bg = QColor(image.pixel(3, image.height() // 2))
            best = 0.0
            for x in range(image.width()):
                for y in range(image.height()):
                    best = max(best, contrast(QColor(image.pixel(x, y)).name(), bg.name()))
            return best

        assert darkest_or_lightest(off) < darkest_or_lightest(on) * 0.6
        assert c.dark == dark
    finally:  # the app as other tests know it
        sheet, palette, style, colors = before
        app.setStyleSheet(sheet)
        app.setPalette(palette)
        app.setStyle(style)
        theme._current = colors
