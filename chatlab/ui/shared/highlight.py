"""Colouring code blocks by their language with Pygments, and doing it later, in slices.

Pygments colours code by the fence's language (an unknown or missing one stays plain: no
guessing), at most :data:`HIGHLIGHT_MAX` characters a block. Lexing costs about 10 µs a
token, so a render never lexes: it applies the colours remembered for the same code
(:func:`remembered`, seen while the answer streamed) and marks the other code frames
pending, for the view's :class:`CodeColourer` to colour in short slices shared by all
views, fewer while answers stream (a block just finished shows plain for a moment).
"""

from __future__ import annotations

import functools
import hashlib
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor, QTextDocument, QTextFrame

from chatlab.ui.shared.codeblocks import code_frame, code_frames, code_lines, code_start
from chatlab.ui.shared.markdown_formats import formats
from chatlab.ui.shared.textprops import CODE_ID_PROPERTY, CODE_LANGUAGE_PROPERTY, PENDING_PROPERTY
from chatlab.ui.shared.theme import colors

HIGHLIGHT_MAX = 200 * 1024  # characters of one code block coloured; the rest stays plain
# Colouring later, for all views together: this long, then a pause this long; while
# answers stream (an append less than STREAMING_QUIET_S ago), much less, streaming first.
HIGHLIGHT_SLICE_S, HIGHLIGHT_PAUSE_MS = 0.004, 12
STREAMING_SLICE_S, STREAMING_PAUSE_MS = 0.002, 50
STREAMING_QUIET_S = 0.3


# -- Pygments -------------------------------------------------------------------------------


_LEXERS: dict[str, Any] = {}


def _lexer(language: str) -> Any:
    """A Pygments lexer for a fence's language, or None (unknown, or no Pygments).

    No guessing: Pygments' guess loads every lexer (~0.4 s) and often picks a wrong one.
    """
    if language not in _LEXERS:
        try:
            from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]

            _LEXERS[language] = get_lexer_by_name(language.lower(), stripnl=False, ensurenl=False)
        except Exception:  # no language, an unknown one, a broken plugin, or no Pygments
            _LEXERS[language] = None
    return _LEXERS[language]


def lexer_missing(language: str) -> bool:
    """True if Pygments was asked for ``language`` and has no lexer for it (colouring it
    later would leave it plain anyway)."""
    return _LEXERS.get(language, True) is None


@functools.cache
def _pygments_style(style_name: str) -> Any:
    from pygments.styles import get_style_by_name  # type: ignore[import-untyped]

    return get_style_by_name(style_name)


_TOKEN_FORMATS: dict[tuple[str, Any], QTextCharFormat | None] = {}
_LOOKS: dict[tuple[str, bool, bool], QTextCharFormat] = {}


def _token_format(style_name: str, ttype: Any) -> QTextCharFormat | None:
    """The char format a Pygments style gives a token type (None: the default text)."""
    key = (style_name, ttype)
    if key in _TOKEN_FORMATS:
        return _TOKEN_FORMATS[key]
    try:
        spec = _pygments_style(style_name).style_for_token(ttype)
    except Exception:
        spec = {}
    look = (spec.get("color") or "", bool(spec.get("bold")), bool(spec.get("italic")))
    fmt = _LOOKS.get(look)
    if fmt is None and look != ("", False, False):  # one object per look: its runs join
        fmt = _LOOKS[look] = QTextCharFormat()
        if look[0]:
            fmt.setForeground(QColor(f"#{look[0]}"))
        if look[1]:
            fmt.setFontWeight(QFont.Weight.Bold)
        if look[2]:
            fmt.setFontItalic(True)
    _TOKEN_FORMATS[key] = fmt
    return fmt


Run = tuple[int, int, QTextCharFormat]  # UTF-16 offsets in a code block's text, and a format


def _runs(text: str, lexer: Any, style_name: str) -> Iterator[Run | None]:
    """The coloured runs of ``text``, lazily, and a None every 256 tokens (a moment to
    look at the clock); a lexer failure ends them early."""
    ascii_only = text.isascii()
    last_index = last_pos = 0
    run_fmt: QTextCharFormat | None = None
    run_start = run_end = 0
    try:
        for count, (index, ttype, value) in enumerate(lexer.get_tokens_unprocessed(text)):
            if count % 256 == 255:
                yield None
            if index < last_index or index + len(value) > len(text):
                return  # not the text we gave it: stop rather than colour the wrong place
            if ascii_only:
                pos, end = index, index + len(value)
            else:
                pos = last_pos + _utf16_len(text[last_index:index])
                end = pos + _utf16_len(value)
                last_index, last_pos = index, pos
            fmt = _token_format(style_name, ttype)
            if pos == run_end and (fmt is run_fmt or (run_fmt is not None and value.isspace())):
                run_end = end  # the same look, or blanks inside a run: one run
                continue
            if run_fmt is not None and run_end > run_start:
                yield run_start, run_end, run_fmt
            run_fmt, run_start, run_end = fmt, pos, end
    except Exception:  # a lexer bug on odd input: the rest stays plain
        return
    if run_fmt is not None and run_end > run_start:
        yield run_start, run_end, run_fmt


def _utf16_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


_RUN_CACHE: OrderedDict[tuple[str, str, bytes], tuple[int, list[Run]]] = OrderedDict()  # (chars, runs)
_RUN_CACHE_CHARS = 2 * 1024 * 1024  # code remembered (a streamed block, for its answer's final render)
_cache_chars = 0


def _key(text: str, language: str, style_name: str) -> tuple[str, str, bytes]:
    return (
        language,
        style_name,
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest(),
    )


def remembered(text: str, language: str, style_name: str) -> list[Run] | None:
    """The colours of a code block's text if they are remembered."""
    cached = _RUN_CACHE.get(_key(text[:HIGHLIGHT_MAX], language, style_name))
    return None if cached is None else cached[1]


class _Colouring:
    """The colours of one code block's text, lexed bit by bit or remembered."""

    def __init__(self, text: str, language: str, style_name: str) -> None:
        self.text = text[:HIGHLIGHT_MAX]
        self.key = _key(self.text, language, style_name)
        cached = _RUN_CACHE.get(self.key)
        self._source: Iterator[Run | None] | None = None
        if cached is not None:
            _RUN_CACHE.move_to_end(self.key)
            self.runs = cached[1]
            self.done = True
            return
        self.runs = []
        lexer = _lexer(language)
        self.done = lexer is None
        if lexer is not None:
            self._source = _runs(self.text, lexer, style_name)

    def advance(self, deadline: float) -> None:
        """Lex until ``deadline`` or the end (then the runs are remembered)."""
        if self.done or self._source is None:
            return
        for count, run in enumerate(self._source, start=1):
            if run is not None:
                self.runs.append(run)
            if (run is None or count % 32 == 0) and time.perf_counter() > deadline:
                return
        self.done = True
        _remember(self.key, len(self.text), self.runs)


def _remember(key: tuple[str, str, bytes], chars: int, runs: list[Run]) -> None:
    global _cache_chars
    if key in _RUN_CACHE:
        return
    _RUN_CACHE[key] = (chars, runs)
    _cache_chars += chars
    while _cache_chars > _RUN_CACHE_CHARS and len(_RUN_CACHE) > 1:
        _, (dropped, _runs) = _RUN_CACHE.popitem(last=False)
        _cache_chars -= dropped


def apply_runs(cursor: QTextCursor, start: int, runs: list[Run]) -> None:
    """Give the code that starts at ``start`` the formats of ``runs``."""
    for run_start, run_end, fmt in runs:
        cursor.setPosition(start + run_start)
        cursor.setPosition(start + run_end, QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(fmt)


# -- colouring later ------------------------------------------------------------------------


@dataclass
class _Job:
    """Colouring one pending code frame."""

    code_id: int
    position: int  # where the frame was last seen (it is checked, then looked for if moved)
    colouring: _Colouring | None = None
    applied: int = 0  # runs applied


class CodeColourer:
    """Colours the code blocks that renders left pending in ``doc``, a slice at a time.

    Every view's colourer shares one timer (:class:`_Turns`): all of them together use
    at most HIGHLIGHT_SLICE_S in every HIGHLIGHT_PAUSE_MS, however many lanes stream. A
    frame is looked up again at every step, by its number, so one that went away (an
    answer rendered again, a transcript reloaded) is simply dropped.
    """

    def __init__(self, doc: QTextDocument) -> None:
        self._doc = doc
        self._todo: deque[_Job] = deque()  # pending code frames, in document order

    def schedule(self) -> None:
        """Look for pending code blocks (a render just left some) and colour them."""
        self._todo.clear()
        _turns().add(self)

    def busy(self) -> bool:
        return _turns().has(self)

    def step(self, deadline: float) -> bool:
        """Colour until ``deadline``; False once nothing is left pending."""
        cursor = QTextCursor(self._doc)
        cursor.beginEditBlock()  # one change for the view to lay out, not one per run
        try:
            return self._step(cursor, deadline)
        finally:
            cursor.endEditBlock()

    def _step(self, cursor: QTextCursor, deadline: float) -> bool:
        if not self._todo:
            self._todo.extend(
                _Job(f.frameFormat().intProperty(CODE_ID_PROPERTY), f.firstPosition())
                for f in code_frames(self._doc)
                if f.frameFormat().boolProperty(PENDING_PROPERTY)
            )
        while self._todo and time.perf_counter() < deadline:
            job = self._todo[0]
            frame = _find_frame(cursor, job)
            if frame is None or not frame.frameFormat().boolProperty(PENDING_PROPERTY):
                self._todo.popleft()
                continue
            if job.colouring is None:
                fmt = frame.frameFormat()
                text = "\n".join(code_lines(frame))
                language = fmt.stringProperty(CODE_LANGUAGE_PROPERTY)
                job.colouring = _Colouring(text, language, formats(colors()).style_name)
            colouring = job.colouring
            colouring.advance(deadline)
            start = code_start(frame)
            while job.applied < len(colouring.runs) and time.perf_counter() < deadline:
                apply_runs(cursor, start, colouring.runs[job.applied : job.applied + 64])
                job.applied = min(job.applied + 64, len(colouring.runs))
            if colouring.done and job.applied == len(colouring.runs):
                fmt = frame.frameFormat()
                fmt.clearProperty(PENDING_PROPERTY)
                frame.setFrameFormat(fmt)
                self._todo.popleft()
        return bool(self._todo)


def _find_frame(cursor: QTextCursor, job: _Job) -> QTextFrame | None:
    """The code frame ``job`` colours, where it was or elsewhere; None if it is gone."""
    doc = cursor.document()
    if 0 < job.position < doc.characterCount():
        cursor.setPosition(job.position)
        frame = cursor.currentFrame()
        fmt = frame.frameFormat()
        if fmt.hasProperty(CODE_ID_PROPERTY) and fmt.intProperty(CODE_ID_PROPERTY) == job.code_id:
            return frame
    found = code_frame(doc, job.code_id)
    if found is not None:
        job.position = found.firstPosition()
    return found


_last_streamed = 0.0


def note_streaming() -> None:
    """Streamed text was just shown: colouring later slows down for a while."""
    global _last_streamed
    _last_streamed = time.perf_counter()


class _Turns:
    """One timer for every colourer: a slice of work, then a pause, round robin."""

    def __init__(self) -> None:
        self._queue: deque[weakref.ref[CodeColourer]] = deque()
        self._timer = QTimer(QCoreApplication.instance())  # goes with the application
        self._timer.setInterval(HIGHLIGHT_PAUSE_MS)  # a 0 ms timer would starve other timers
        self._timer.timeout.connect(self._tick)

    def add(self, colourer: CodeColourer) -> None:
        if not self.has(colourer):
            self._queue.append(weakref.ref(colourer))
        if not self._timer.isActive():
            self._timer.start()

    def has(self, colourer: CodeColourer) -> bool:
        return any(ref() is colourer for ref in self._queue)

    def _tick(self) -> None:
        now = time.perf_counter()
        streaming = now - _last_streamed < STREAMING_QUIET_S
        self._timer.setInterval(STREAMING_PAUSE_MS if streaming else HIGHLIGHT_PAUSE_MS)
        deadline = now + (STREAMING_SLICE_S if streaming else HIGHLIGHT_SLICE_S)
        while self._queue and time.perf_counter() < deadline:
            colourer = self._queue[0]()
            try:
                more = colourer is not None and colourer.step(deadline)
            except RuntimeError:  # its view, and document, were deleted
                more = False
            if more:
                self._queue.rotate(-1)  # out of time: the next view's turn comes first
            else:
                self._queue.popleft()
        if not self._queue:
            self._timer.stop()


@functools.cache
def _turns() -> _Turns:
    return _Turns()
