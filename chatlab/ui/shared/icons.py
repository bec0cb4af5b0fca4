"""Line icons drawn from small inline SVGs in the theme's text colour (light and dark).

Only the conventional ones: stop, retry, copy, settings, add, remove, move, sidebar,
export, new, reasoning, send, more. They are built once per colour and cached. The shapes
are simple strokes on a 24-unit grid, in the style of common open icon sets.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from chatlab.ui.shared import theme

APP_ID = "io.github.chatlab.Chatlab"  # the desktop entry's and the icons' name

_PATHS = {
    "stop": '<rect x="6" y="6" width="12" height="12" rx="2" fill="COLOR"/>',
    "retry": '<path d="M3 12a9 9 0 1 0 3-6.7"/><path d="M3 4v5h5"/>',
    "copy": '<rect x="9" y="9" width="12" height="12" rx="2"/><path d="M5 15V5a2 2 0 0 1 2-2h8"/>',
    "settings": '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1'
    'M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1"/>',
    "add": '<path d="M12 5v14M5 12h14"/>',
    "remove": '<path d="M6 6l12 12M18 6 6 18"/>',
    "left": '<path d="M15 18l-6-6 6-6"/>',
    "right": '<path d="M9 18l6-6-6-6"/>',
    "sidebar": '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M9 4v16"/>',
    "export": '<path d="M12 3v12M7 8l5-5 5 5"/><path d="M5 15v4a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-4"/>',
    "new": '<path d="M12 20h9"/><path d="M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z"/>',
    "reasoning": '<path d="M9 18h6M10 22h4"/><path d="M12 2a7 7 0 0 0-4 12.7V17h8v-2.3A7 7 0 0 0 12 2z"/>',
    "send": '<path d="M22 2 11 13"/><path d="M22 2l-7 20-4-9-9-4z"/>',
    "more": '<circle cx="5" cy="12" r="1"/><circle cx="12" cy="12" r="1"/><circle cx="19" cy="12" r="1"/>',
    "edit": '<path d="M4 20h4L19 9l-4-4L4 16z"/>',
    "studies": '<path d="M4 20V10M10 20V4M16 20v-7M22 20H2"/>',
    "board": '<path d="M8 21h8M12 17v4M7 4h10v5a5 5 0 0 1-10 0z"/>'
    '<path d="M17 5h3v2a3 3 0 0 1-3 3M7 5H4v2a3 3 0 0 0 3 3"/>',
}


@cache
def _icon(name: str, color: str) -> QIcon:
    shape = _PATHS[name].replace("COLOR", color)  # a filled shape takes the same colour
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="{color}" '
        f'stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{shape}</svg>'
    )
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    out = QIcon()
    for size in (16, 20, 32, 40):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        out.addPixmap(pixmap)
    return out


def icon(name: str, color: str | None = None) -> QIcon:
    """The named icon in ``color`` (default: the theme's text colour)."""
    return _icon(name, color or theme.colors().text)


@cache
def app_icon() -> QIcon:
    """chatlab's own icon (the designed one under ``resources/icons``), at every size
    shipped; an empty icon if the files are missing, so a broken install still starts."""
    from chatlab.core.data.resources import resources_dir

    icon = QIcon()
    hicolor = resources_dir() / "icons" / "hicolor"
    svg = hicolor / "scalable" / "apps" / f"{APP_ID}.svg"
    if svg.is_file():
        icon.addFile(str(svg))
    for folder in sorted(hicolor.glob("*x*")):
        png = folder / "apps" / f"{APP_ID}.png"
        if png.is_file():
            icon.addFile(str(png))
    return icon
