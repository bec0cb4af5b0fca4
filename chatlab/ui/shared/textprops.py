"""The properties chatlab marks text formats with, numbered in one place so that no two
of them share a number.

A display-only line break (:mod:`.longline`), a display-only block and the frames of
code blocks (:mod:`.codeblocks`), and the table a quote is drawn in (:mod:`.markdown`).
"""

from __future__ import annotations

from PySide6.QtGui import QTextFormat

_USER = int(QTextFormat.Property.UserProperty.value)
BREAK_PROPERTY = _USER + 1  # a block that continues the previous block's line (a display-only break)
CHROME_PROPERTY = _USER + 2  # a display-only block (a code block's header): never copied as text
CODE_ID_PROPERTY = _USER + 3  # on a code block's frame: the number its copy link names
CODE_TEXT_PROPERTY = _USER + 4  # on a code block's frame: the block's exact text
CODE_LANGUAGE_PROPERTY = _USER + 5  # on a code block's frame: its fence's language
PENDING_PROPERTY = _USER + 6  # on a code block's frame: not coloured yet
QUOTE_PROPERTY = _USER + 7  # on a quote's one-cell table
