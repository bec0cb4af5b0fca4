"""The formats rendered Markdown is dressed in, one set per theme.

:func:`formats` builds them once for a theme's :class:`~chatlab.ui.shared.theme.Colors`:
the tinted, bordered frame and monospace font of a code block, the tint of inline code,
a code block's header line and its "Copy code" link, a quote's one-cell table with an
accent bar on its left and muted text, a table's border, padding and tinted header row,
and the Pygments style code is coloured in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QTextBlockFormat,
    QTextCharFormat,
    QTextFrameFormat,
    QTextLength,
    QTextTableCellFormat,
    QTextTableFormat,
)

from chatlab.ui.shared.textprops import CHROME_PROPERTY, QUOTE_PROPERTY
from chatlab.ui.shared.theme import Colors


@dataclass(frozen=True)
class Formats:
    """The formats of one theme (built once per theme)."""

    code_frame: QTextFrameFormat
    code_chars: QTextCharFormat
    inline_code: QTextCharFormat
    header_block: QTextBlockFormat
    label_chars: QTextCharFormat
    link_chars: QTextCharFormat
    quote_table: QTextTableFormat
    quote_cell: QTextTableCellFormat
    quote_chars: QTextCharFormat
    table: QTextTableFormat
    header_cell: QTextTableCellFormat
    style_name: str  # Pygments'


@functools.cache
def formats(c: Colors) -> Formats:
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    code_frame = QTextFrameFormat()
    code_frame.setBackground(QColor(c.code))
    code_frame.setBorder(1)
    code_frame.setBorderBrush(QColor(c.border))
    code_frame.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    code_frame.setPadding(8)
    code_frame.setTopMargin(6)
    code_frame.setBottomMargin(10)
    code_chars = QTextCharFormat()
    code_chars.setFontFamilies([*mono.families(), "monospace"])
    code_chars.setFontFixedPitch(True)
    code_chars.setFontStyleHint(QFont.StyleHint.Monospace)
    inline_code = QTextCharFormat()
    inline_code.setBackground(QColor(c.code))
    header_block = QTextBlockFormat()
    header_block.setProperty(CHROME_PROPERTY, True)
    header_block.setBottomMargin(4)
    header_block.setNonBreakableLines(True)
    label_chars = QTextCharFormat()
    label_chars.setForeground(QColor(c.muted))
    label_chars.setFontPointSize(8)
    link_chars = QTextCharFormat(label_chars)
    link_chars.setForeground(QColor(c.accent))
    link_chars.setAnchor(True)
    link_chars.setToolTip("Copy this code block")
    # A quote is a one-cell table: only a cell can have a border on one side (the bar).
    quote_table = QTextTableFormat()
    quote_table.setBorder(0)
    quote_table.setBorderCollapse(True)
    quote_table.setCellSpacing(0)
    quote_table.setCellPadding(8)
    quote_table.setTopMargin(4)
    quote_table.setBottomMargin(10)
    quote_table.setWidth(QTextLength(QTextLength.Type.PercentageLength, 100))
    quote_table.setProperty(QUOTE_PROPERTY, True)
    quote_cell = QTextTableCellFormat()
    quote_cell.setBackground(QColor(c.alt))
    quote_cell.setBorder(0)
    quote_cell.setLeftBorder(3)
    quote_cell.setLeftBorderBrush(QColor(c.accent))
    quote_cell.setLeftBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    quote_chars = QTextCharFormat()
    quote_chars.setForeground(QColor(c.muted))
    table = QTextTableFormat()
    table.setBorder(1)
    table.setBorderBrush(QColor(c.border))
    table.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    table.setBorderCollapse(True)
    table.setCellSpacing(0)
    table.setCellPadding(6)
    table.setTopMargin(4)
    table.setBottomMargin(10)
    table.setHeaderRowCount(1)  # a Markdown table always has one
    header_cell = QTextTableCellFormat()
    header_cell.setBackground(QColor(c.alt))
    return Formats(
        code_frame=code_frame,
        code_chars=code_chars,
        inline_code=inline_code,
        header_block=header_block,
        label_chars=label_chars,
        link_chars=link_chars,
        quote_table=quote_table,
        quote_cell=quote_cell,
        quote_chars=quote_chars,
        table=table,
        header_cell=header_cell,
        style_name="github-dark" if c.dark else "default",
    )
