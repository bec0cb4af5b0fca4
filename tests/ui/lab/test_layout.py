"""The lanes' layout at 1280×800 (issue 24): every lane inside the window at a readable
width, five to eight lanes in a grid of two rows, the sidebar folded when the lanes need
its room and back when they don't (the user's own toggle kept), the model's name whole
in a lane's header when it fits and cut at the provider first when it doesn't, the
next-send estimate never cut."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFontMetrics
from pytestqt.qtbot import QtBot

from chatlab.ui.lab.lane import MIN_LANE_WIDTH, LaneWidget
from chatlab.ui.lab.lane_header import elide_spec
from chatlab.ui.lab.lanes import columns
from chatlab.ui.lab.window import MainWindow
from chatlab.ui.rating.reveal import ModelCell
from tests.ui.conftest import add_lanes, wait_turn

SPECS = [
    "chat:demo-reasoner",
    "responses:demo-hidden",
    "claude:demo-fast",
    "gemini:demo-coder",
    "chat:demo-fast",
    "responses:demo-reasoner",
    "claude:demo-coder",
    "gemini:demo-fast",
]


def grab(win: MainWindow, name: str) -> None:
    """Save a picture of the window when CHATLAB_GRABS names a folder (to look at)."""
    folder = os.environ.get("CHATLAB_GRABS")
    if folder:
        win.grab().save(os.path.join(folder, f"{name}.png"))


def cards(win: MainWindow) -> list[LaneWidget]:
    return [w for i in range(len(win.lane_widgets)) if (w := win.lanes.widget_at(i)) is not None]


def inside(win: MainWindow, card: LaneWidget) -> bool:
    """The whole card is on the window's visible lanes area."""
    top_left = card.mapTo(win, QPoint(0, 0))
    rect = QRect(top_left, card.size())
    scroller = win.lanes.scroller
    area = QRect(scroller.mapTo(win, QPoint(0, 0)), scroller.size())
    return area.contains(rect) and win.rect().contains(rect)


def laid_out(win: MainWindow, n: int) -> bool:
    shown = cards(win)
    return len(shown) == n and all(inside(win, c) and c.width() >= MIN_LANE_WIDTH for c in shown)


def test_columns_make_a_grid_of_two_rows_from_five_lanes() -> None:
    assert [columns(n) for n in range(1, 9)] == [1, 2, 3, 4, 3, 3, 4, 4]


@pytest.mark.parametrize("n", [1, 3, 4, 8])
def test_every_lane_fits_at_1280_by_800(win: MainWindow, qtbot: QtBot, n: int) -> None:
    assert win.sidebar is not None and win.sidebar.isVisible()
    add_lanes(win, *SPECS[:n])
    qtbot.waitUntil(lambda: laid_out(win, n), timeout=5_000)
    assert win.lanes.scroller.horizontalScrollBar().maximum() == 0  # nothing to scroll to
    # Up to three lanes keep the sidebar; four and more need its room.
    assert win.sidebar.isVisible() == (n <= 3)
    shown = cards(win)
    if n == 8:  # two rows of four
        tops = sorted({c.mapTo(win, QPoint(0, 0)).y() for c in shown})
        assert len(tops) == 2
        assert [c.mapTo(win, QPoint(0, 0)).y() for c in shown] == [tops[0]] * 4 + [tops[1]] * 4
        # A grid: the second row's columns line up with the first's.
        qtbot.waitUntil(
            lambda: all(
                abs(shown[i].mapTo(win, QPoint(0, 0)).x() - shown[i + 4].mapTo(win, QPoint(0, 0)).x()) <= 2
                and abs(shown[i].width() - shown[i + 4].width()) <= 2
                for i in range(4)
            )
        )
    else:
        assert len({c.mapTo(win, QPoint(0, 0)).y() for c in shown}) == 1
    if n == 3:  # the model's name is whole in every header
        for card in shown:  # an unlabelled lane's title is its model; a labelled one's line is
            assert (card.spec if card.lane.label else card.title).shown() == card.lane.spec
    grab(win, f"layout-{n}-lanes")


def test_the_sidebar_comes_back_when_the_lanes_no_longer_need_its_room(win: MainWindow, qtbot: QtBot) -> None:
    assert win.sidebar is not None
    lanes = add_lanes(win, *SPECS[:5])  # 3 + 2: the row of three fits beside the sidebar
    qtbot.waitUntil(lambda: laid_out(win, 5))
    assert win.sidebar.isVisible()
    add_lanes(win, SPECS[5], SPECS[6])  # 4 + 3: it doesn't
    qtbot.waitUntil(lambda: laid_out(win, 7))
    assert not win.sidebar.isVisible()
    for lane in lanes[:4]:
        win.lab.remove_lane(lane.id)
    qtbot.waitUntil(lambda: laid_out(win, 3))
    assert win.sidebar.isVisible()  # folded by the window, so opened by it too


def test_the_users_own_toggle_is_kept(win: MainWindow, qtbot: QtBot) -> None:
    assert win.sidebar is not None
    add_lanes(win, SPECS[0])
    win.registry.trigger("sidebar.toggle")  # the user folds it
    assert not win.sidebar.isVisible()
    lanes = add_lanes(win, *SPECS[1:4])
    qtbot.waitUntil(lambda: laid_out(win, 4))
    win.lab.remove_lane(lanes[-1].id)
    qtbot.waitUntil(lambda: laid_out(win, 3))
    assert not win.sidebar.isVisible()  # room again, but the user had closed it
    win.registry.trigger("sidebar.toggle")
    assert win.sidebar.isVisible()
    add_lanes(win, SPECS[4])
    qtbot.waitUntil(lambda: laid_out(win, 4))
    assert not win.sidebar.isVisible()  # opened by the user with room: folds for the lanes again


def test_the_window_made_larger_opens_the_sidebar_again(win: MainWindow, qtbot: QtBot) -> None:
    assert win.sidebar is not None
    add_lanes(win, *SPECS[:4])
    qtbot.waitUntil(lambda: laid_out(win, 4))
    assert not win.sidebar.isVisible()
    win.resize(1920, 1000)
    qtbot.waitUntil(lambda: win.sidebar is not None and win.sidebar.isVisible() and laid_out(win, 4))
    grab(win, "layout-4-lanes-wide")


def test_a_narrow_header_cuts_the_provider_before_the_model() -> None:
    def advance(text: str) -> int:
        return 7 * len(text)

    def elide(text: str, width: int) -> str:
        return text if advance(text) <= width else text[: width // 7 - 1] + "…"

    spec = "openrouter:demo-reasoner"
    assert elide_spec(spec, 7 * len(spec), advance, elide) == spec  # whole when it fits
    assert elide_spec(spec, 7 * 16, advance, elide) == "…:demo-reasoner"  # the provider goes first
    assert elide_spec(spec, 7 * 8, advance, elide) == "demo-re…"  # then the model's end
    assert elide_spec("no-colon-model", 7 * 5, advance, elide) == "no-c…"


def test_a_narrow_lane_shows_its_model_whole_rather_than_its_provider(win: MainWindow, qtbot: QtBot) -> None:
    (lane,) = add_lanes(win, "chat:demo-reasoner")
    card = win.lane_widgets[lane.id]
    title = card.title  # unlabelled: the title is the model
    title.setFixedWidth(title.fontMetrics().horizontalAdvance("…:demo-reasoner") + 4)
    qtbot.waitUntil(lambda: title.shown() == "…:demo-reasoner")
    assert title.text() == "chat:demo-reasoner" and "chat:demo-reasoner" in title.toolTip()
    assert not card.spec.isVisibleTo(card)  # said once


def test_the_estimate_is_never_cut(win: MainWindow, qtbot: QtBot) -> None:
    add_lanes(win, *SPECS)
    win.prompt.setPlainText("Write a haiku about the sea, please.")
    win.update_estimates()
    area = win.prompt_area
    label = area.estimate
    text = label.text()
    assert text.startswith("Next send:")
    qtbot.waitUntil(lambda: label.width() > 0)

    def whole() -> bool:
        if area.estimate_on_own_line():
            return label.wordWrap() and label.height() >= label.heightForWidth(label.width())
        return QFontMetrics(label.font()).horizontalAdvance(text) <= label.width()

    qtbot.waitUntil(whole)
    assert area.estimate_on_own_line()  # eight lanes' estimates don't fit beside the buttons
    grab(win, "layout-8-estimate")
    for lane in list(win.session.lanes)[1:]:
        win.lab.remove_lane(lane.id)
    win.update_estimates()
    qtbot.waitUntil(lambda: not area.estimate_on_own_line())  # one lane's fits in the row
    qtbot.waitUntil(lambda: QFontMetrics(label.font()).horizontalAdvance(label.text()) <= label.width())


def test_a_reveal_with_long_names_never_widens_the_window(win: MainWindow, qtbot: QtBot) -> None:
    """Three labelled lanes beside the open history: the reveal's table cuts a long name
    (whole in its tooltip) rather than push the window, and the lanes, past 1280 px. A
    label that looks like markup is shown as it is written."""
    specs = ("chat:demo-reasoner@tps=0", "claude:demo-fast@tps=0", "responses:demo-hidden@tps=0")
    labels = ("Visible reasoner " * 3, "<b>No</b> reasoning", "Hidden reasoner")
    for lane, label in zip(add_lanes(win, *specs), labels, strict=True):
        lane.label = label.strip()
    win.lab.set_blind(True)
    win.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, win)
    assert win.sidebar is not None and win.sidebar.isVisible()
    order = win.session.turns[-1].shown_order or []
    win.lab.vote(order[0])
    qtbot.waitUntil(lambda: win.reveal.isVisible() and win.reveal.reveal is not None)
    qtbot.waitUntil(lambda: laid_out(win, 3))
    # Its content fits the room it has (below its minimum it would be clipped, or, with a
    # window manager, push the window wider than the screen).
    assert win.reveal.width() >= win.reveal.minimumSizeHint().width()
    assert win.width() <= 1280 and win.minimumSizeHint().width() <= 1280
    reveal = win.reveal
    assert QRect(reveal.mapTo(win, QPoint(0, 0)), reveal.size()).right() < win.width()
    cells = [c for c in reveal.findChildren(ModelCell) if c.isVisibleTo(win)]
    assert len(cells) == 3
    assert any("<b>No</b> reasoning" in c.text() for c in cells)
    assert all(c.textFormat() == Qt.TextFormat.PlainText for c in cells)
    grab(win, "reveal-long-names")


def test_eight_revealed_lanes_keep_room_to_read_at_1280x800(win: MainWindow, qtbot: QtBot) -> None:
    """Eight lanes in two rows, voted blind: the reveal folds to its one line and each card's
    reasoning folds, so every answer keeps a few lines, and no card's badges run into its
    score row."""
    specs = ["chat:demo-reasoner@tps=0", "responses:demo-hidden@tps=0,think_delay_s=0"] * 2
    add_lanes(win, *specs, *SPECS[4:])
    win.lab.set_blind(True)
    win.prompt.setPlainText("Write a haiku.")
    wait_turn(qtbot, win)
    order = win.session.turns[-1].shown_order or []
    win.lab.vote(order[0])
    qtbot.waitUntil(lambda: win.reveal.isVisible() and win.reveal.folded)
    qtbot.waitUntil(lambda: laid_out(win, 8))
    line = QFontMetrics(win.font()).lineSpacing()

    def readable() -> bool:
        for card in cards(win):
            status = QRect(card.status.mapTo(card, QPoint(0, 0)), card.status.size())
            score = QRect(card.rating_box.mapTo(card, QPoint(0, 0)), card.rating_box.size())
            if card.answer.viewport().height() < 3 * line or status.bottom() > score.top():
                return False
        return True

    qtbot.waitUntil(readable)
    assert not any(card.reasoning.isVisibleTo(card) for card in cards(win))
    grab(win, "reveal-8-lanes")
    # Unfolded by hand, it stays open for the next reveal.
    win.reveal.fold.click()
    assert not win.reveal.folded
