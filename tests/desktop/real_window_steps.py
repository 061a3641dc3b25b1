"""The main window on a real X server, checked by its pixels (run by test_real_window_xvfb.py,
which starts Xvfb and runs this module under it; not collected on its own: the name does not
start with test_).

The bundled sample photo, real mouse events on the canvas (QTest press / move / release on its
viewport), keys through the window's shortcuts (W, K, Shift+K, Ctrl+T, Ctrl+Enter, Ctrl+Z,
Ctrl+Shift+Z), the Bend slider and the canvas's bend handle dragged with the mouse. After
every step and every undo the window's pixels are read back from the X server
(QScreen.grabWindow: what is on screen) and compared with the screenshot before the step.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from layerlift.desktop import canvas as tools
from layerlift.desktop.document import LOGO
from layerlift.desktop.main_window import MainWindow
from layerlift.desktop.qimage import qimage_to_rgba
from layerlift.desktop.resources import resource_path
from layerlift.desktop.settings import Settings
from layerlift.inference.warp import top_middle
from layerlift.resources.sample import make_sample
from tests.desktop.events import scene_to_viewport, send_mouse
from tests.desktop.test_bend import slider_point

CX, CY = make_sample.PATCH_CENTRE
BADGE = (303, 352)                 # the name badge right of the patch: a second mark
NONE = Qt.KeyboardModifier.NoModifier
SHIFT, ALT = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
CHANGED = 12                       # a pixel differs when a channel moves more than this


@pytest.fixture
def window(qtbot):
    assert QGuiApplication.platformName() == "xcb", "not on a real X server"
    win = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(win)
    win.resize(1000, 760)
    win.move(0, 0)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()            # shortcuts need the active window (no window manager here)
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    assert win.open_path(str(resource_path("sample", "photo.jpg"))), win.last_error
    win.canvas.fit()
    win.canvas.setFocus()
    yield win
    win.close()


class Screen:
    """Screenshots of the canvas's viewport as the X server has it, and where photo pixels
    land in them."""

    def __init__(self, window, qtbot) -> None:
        self.window, self.qtbot = window, qtbot
        self.saved = os.environ.get("LAYERLIFT_XVFB_SHOTS")   # a folder: keep the shots there
        self.count = 0

    def grab(self, name: str, repaint: bool = False) -> np.ndarray:
        """The viewport's RGB pixels once the window has stopped repainting. `repaint`: the
        whole viewport painted afresh first, a reference free of the rounding that earlier
        partial repaints leave along their edges (a few pixels; see assert_same)."""
        if repaint:
            self.window.canvas.viewport().update()
        last = None
        for _ in range(200):
            self.qtbot.wait(15)
            whole = self.window.screen().grabWindow(self.window.winId()).toImage()
            shot = qimage_to_rgba(whole)[..., :3]
            if last is not None and np.array_equal(shot, last):
                break
            last = shot
        else:
            raise AssertionError(f"{name}: the window never stopped repainting")
        if self.saved:
            self.count += 1
            whole.save(os.path.join(self.saved, f"{self.count:02d}-{name}.png"))
        vp = self.window.canvas.viewport()
        at = vp.mapTo(self.window, QPoint(0, 0))
        return shot[at.y():at.y() + vp.height(), at.x():at.x() + vp.width()].astype(np.int16)

    def photo_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """The photo pixel under each viewport pixel's centre (x, y; float)."""
        canvas = self.window.canvas
        t = canvas.viewportTransform()
        assert t.m12() == 0 and t.m21() == 0        # fit: a scale and a shift, no rotation
        vp = canvas.viewport()
        xs = (np.arange(vp.width()) + 0.5 - t.dx()) / t.m11()
        ys = (np.arange(vp.height()) + 0.5 - t.dy()) / t.m22()
        return np.meshgrid(xs, ys)

    def disc(self, centre, radius) -> np.ndarray:
        x, y = self.photo_coords()
        return (x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius ** 2

    def square(self, centre, half) -> np.ndarray:
        x, y = self.photo_coords()
        return (np.abs(x - centre[0]) <= half) & (np.abs(y - centre[1]) <= half)

    def on_photo(self) -> np.ndarray:
        h, w = self.window.doc.shape
        x, y = self.photo_coords()
        return (x >= 0) & (x < w) & (y >= 0) & (y < h)

    def at(self, x: float, y: float) -> tuple[int, int]:
        """The viewport pixel (row, column) showing photo pixel (x, y)."""
        p = scene_to_viewport(self.window.canvas, x + 0.5, y + 0.5)
        return int(p.y()), int(p.x())


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b).max(axis=-1) > CHANGED


def assert_same(a: np.ndarray, b: np.ndarray, what: str, where: np.ndarray | None = None
                ) -> None:
    """The same picture (where `where` is true, if given). A pixel may show the pixel next to
    it instead: where a row of screen pixels falls exactly between two photo pixels, Qt's two
    ways of drawing a zoomed image (a rectangular clip or not) round it apart. Any other
    difference fails."""
    diff = changed(a, b)
    for axis in (0, 1):
        for step in (1, -1):
            diff &= changed(a, np.roll(b, step, axis=axis))
    if where is not None:
        diff &= where
    assert not diff.any(), f"{what}: {diff.sum()} pixels differ on screen"


def key(window, k, modifier=NONE) -> None:
    QTest.keyClick(window, k, modifier)


def view_point(window, x: float, y: float) -> QPoint:
    p = scene_to_viewport(window.canvas, x + 0.5, y + 0.5)
    return QPoint(round(p.x()), round(p.y()))


def click(window, qtbot, x, y, modifier=NONE) -> None:
    """A real click on the canvas at photo pixel (x, y); waits for the selection."""
    with qtbot.waitSignal(window.job_done, timeout=30000) as blocker:
        QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, modifier,
                         view_point(window, x, y))
    assert blocker.args == ["select", "ok"], window.last_error


def stroke(window, points, modifier=NONE) -> None:
    """A real drag on the canvas through photo pixels `points`."""
    vp = window.canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, modifier, view_point(window, *points[0]))
    for x, y in points[1:]:
        QTest.mouseMove(vp, view_point(window, x, y))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, modifier, view_point(window, *points[-1]))


def undo_redo(window, screen: Screen, before: np.ndarray, after: np.ndarray, step: str) -> None:
    """Ctrl+Z puts the screen back as it was before `step`; Ctrl+Shift+Z brings it back."""
    key(window, Qt.Key.Key_Z, CTRL)
    assert_same(screen.grab(f"undo-{step}"), before, f"after undoing {step}")
    key(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert_same(screen.grab(f"redo-{step}"), after, f"after redoing {step}")


def test_select_click_shift_alt_and_undo_on_screen(window, qtbot):
    screen = Screen(window, qtbot)
    key(window, Qt.Key.Key_W)
    assert window.canvas.tool == tools.SELECT
    window.brush_bar.tolerance_slider.setValue(50)
    photo = screen.on_photo()
    patch = screen.disc((CX, CY), make_sample.PATCH_RADIUS)
    # (a selection is the found mark's box grown by a margin: square round the round patch)
    near_patch = screen.square((CX, CY), make_sample.PATCH_RADIUS + 12)
    blank = screen.grab("opened")

    click(window, qtbot, CX, CY)
    selected = screen.grab("click")
    shown = changed(selected, blank)
    assert shown[patch].mean() > 0.9, "the selection does not cover the clicked patch"
    assert shown[photo & ~near_patch].sum() < 0.05 * patch.sum(), \
        "the selection shows far from the clicked patch"
    # The overlay is the mask colour (blue) over the patch.
    blue = selected[..., 2] - selected[..., 0]
    assert np.median(blue[patch]) > np.median((blank[..., 2] - blank[..., 0])[patch]) + 40
    undo_redo(window, screen, blank, selected, "the click")

    click(window, qtbot, *BADGE, SHIFT)
    added = screen.grab("shift-click")
    new = changed(added, selected)
    assert new[screen.at(*BADGE)], "Shift+click shows nothing over the badge"
    assert not new[near_patch].any(), "Shift+click changed the first area"
    assert new[photo].sum() > 0.2 * shown[photo].sum(), "Shift+click added too little"
    undo_redo(window, screen, selected, added, "the Shift+click")

    window.brush_bar.tolerance_slider.setValue(20)      # a narrower click: part of the patch
    click(window, qtbot, CX, CY, ALT)
    taken = screen.grab("alt-click")
    back = ~changed(taken, blank) & shown           # overlay gone: the photo shows again
    assert back[screen.at(CX, CY)], "Alt+click did not clear the clicked point"
    assert 0.1 < back[patch].mean() < 0.9, "Alt+click should take part of the patch, not all"
    assert_same(taken, added, "Alt+click, away from the patch", where=~near_patch)
    undo_redo(window, screen, added, taken, "the Alt+click")


def test_hint_brushes_show_their_colours_and_undo_on_screen(window, qtbot):
    screen = Screen(window, qtbot)
    window.brush_bar.size_spin.setValue(12)
    key(window, Qt.Key.Key_K)
    assert window.canvas.tool == tools.HINT_MARK
    # The brush outline follows the mouse: park it in one place for every screenshot.
    def park() -> None:
        send_mouse(window.canvas.viewport(), QEvent.Type.MouseMove,
                   QPointF(view_point(window, 20, 20)), Qt.MouseButton.NoButton)

    park()
    before = screen.grab("hint-tool")

    line = [(x, 90) for x in range(300, 361, 10)]           # the studio wall, top right
    stroke(window, line)
    park()
    marked = screen.grab("hint-mark")
    on_line = np.array([screen.at(x, y) for x, y in line[1:-1]])
    px = marked[on_line[:, 0], on_line[:, 1]]
    old = before[on_line[:, 0], on_line[:, 1]]
    assert (px[:, 1] - px[:, 0] > old[:, 1] - old[:, 0] + 40).all(), "no green along the stroke"
    x, y = screen.photo_coords()
    along = (np.abs(y - 90) <= 8) & (x >= 292) & (x <= 368)     # the stroke, brush radius 6
    assert not changed(marked, before)[~along].any(), "the hint shows away from the stroke"
    undo_redo(window, screen, before, marked, "the mark hint")

    key(window, Qt.Key.Key_K, SHIFT)
    assert window.canvas.tool == tools.HINT_NOT_MARK
    column = [(330, y) for y in range(110, 171, 10)]        # below it, not touching it
    stroke(window, column)
    park()
    not_marked = screen.grab("hint-not-mark")
    on_column = np.array([screen.at(x, y) for x, y in column[1:-1]])
    px = not_marked[on_column[:, 0], on_column[:, 1]]
    old = marked[on_column[:, 0], on_column[:, 1]]
    assert (px[:, 0] - px[:, 1] > old[:, 0] - old[:, 1] + 40).all(), "no red along the stroke"
    assert_same(not_marked, marked, "the mark hint, after the not-mark stroke", where=along)
    undo_redo(window, screen, marked, not_marked, "the not-mark hint")


def rise(before: np.ndarray, after: np.ndarray, column: int, rows: slice,
         reach: int = 20, sideways: int = 8) -> int:
    """How far up (> 0) the pixels of one screen column moved between two screenshots: the
    vertical shift of the best match of a 5-pixel-wide band around it. The band may also
    have moved sideways (a bend foreshortens the logo towards its sides): matched up and
    down only, a band near a side of the round patch read a rise nearly the middle's."""
    band = before[rows, column - 2:column + 3].astype(np.int32)
    costs = np.full((2 * reach + 1, 2 * sideways + 1), np.inf)
    for s in range(-reach, reach + 1):
        for dx in range(-sideways, sideways + 1):
            moved = after[rows.start - s:rows.stop - s,
                          column - 2 + dx:column + 3 + dx].astype(np.int32)
            costs[s + reach, dx + sideways] = np.abs(moved - band).mean()
    return int(np.unravel_index(np.argmin(costs), costs.shape)[0]) - reach


def decompose_and_transform(window, qtbot) -> None:
    """The sample's mask loaded, Ctrl+Enter (a real decomposition), Ctrl+T."""
    assert window.load_mask(str(resource_path("sample", "mask.png"))), window.last_error
    with qtbot.waitSignal(window.job_done, timeout=60000) as blocker:
        key(window, Qt.Key.Key_Return, CTRL)
    assert blocker.args == ["decompose", "ok"], window.last_error
    key(window, Qt.Key.Key_T, CTRL)
    assert window.canvas.tool == tools.TRANSFORM


def assert_arc(window, screen: Screen, flat: np.ndarray, bent: np.ndarray) -> None:
    """How far the logo's pixels rose on screen, near its left edge, in the middle, near its
    right edge: an arc lifts the middle more than the sides."""
    quad = window.doc.layers[window.doc.index_of(LOGO)].quad
    (top, left), (bottom, right) = screen.at(*quad[0]), screen.at(*quad[2])
    rows = slice(top + (bottom - top) // 4, bottom - (bottom - top) // 4)
    width = right - left
    shifts = {share: rise(flat, bent, left + round(share * width), rows)
              for share in (0.15, 0.5, 0.85)}
    assert changed(bent, flat)[top:bottom, left:right].mean() > 0.2, "the bend shows nothing"
    assert shifts[0.5] >= 3, f"the middle does not rise: {shifts}"
    assert shifts[0.5] >= max(shifts[0.15], shifts[0.85]) + 2, f"no arc: {shifts}"


def test_bend_slider_arcs_the_logo_on_screen_and_undo(window, qtbot):
    screen = Screen(window, qtbot)
    decompose_and_transform(window, qtbot)
    slider = window.bend_control.slider
    qtbot.waitExposed(slider)
    flat = screen.grab("transform-tool", repaint=True)

    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=slider_point(slider, 0))
    for value in (20, 40, 60):
        qtbot.mouseMove(slider, slider_point(slider, value))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=slider_point(slider, 60))
    assert window.undo.undoText() == "Bend logo"
    bent = screen.grab("bent")
    assert_arc(window, screen, flat, bent)
    undo_redo(window, screen, flat, bent, "the bend")


def diamond_shows(window, shot: np.ndarray, at) -> bool:
    """Whether the bend handle's blue fill is on screen 3 pixels above photo point `at` (the
    diamond's centre; just above the quad's top edge, which is blue too)."""
    p = scene_to_viewport(window.canvas, *at)
    return tuple(shot[round(p.y()) - 3, round(p.x())]) == tools.FRAME_COLOUR.getRgb()[:3]


def test_bend_handle_dragged_up_arcs_the_logo_on_screen_and_undo(window, qtbot):
    screen = Screen(window, qtbot)
    decompose_and_transform(window, qtbot)
    vp = window.canvas.viewport()
    layer = window.doc.layers[window.doc.index_of(LOGO)]
    handle = top_middle(layer.quad, 0)
    # The handle's diamond is on screen, filled blue, where the flat top edge's middle is.
    flat = screen.grab("bend-handle", repaint=True)
    assert diamond_shows(window, flat, handle), "no bend handle on screen"

    target = top_middle(layer.quad, 60)           # where the handle of a 60 % bend would be
    steps = window.undo.count()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, NONE, view_point(window, *handle))
    for share in (0.25, 0.5, 0.75, 1.0):
        QTest.mouseMove(vp, view_point(window, *(handle + share * (target - handle))))
    live = window.doc.layers[window.doc.index_of(LOGO)].bend
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, NONE, view_point(window, *target))
    bent_layer = window.doc.layers[window.doc.index_of(LOGO)]
    assert 50 <= live == bent_layer.bend <= 70, live
    assert np.array_equal(bent_layer.quad, layer.quad)
    assert window.bend_control.slider.value() == bent_layer.bend
    assert window.undo.count() == steps + 1 and window.undo.undoText() == "Bend logo"
    # Out of the handle's way: no tooltip over the screenshots.
    QTest.mouseMove(vp, view_point(window, 20, 20))
    bent = screen.grab("bent-by-handle")
    assert_arc(window, screen, flat, bent)
    moved_to = top_middle(bent_layer.quad, bent_layer.bend)
    assert diamond_shows(window, bent, moved_to), "the handle did not move up with the bend"
    assert not diamond_shows(window, bent, handle)
    undo_redo(window, screen, flat, bent, "the handle's bend")
    assert window.doc.layers[window.doc.index_of(LOGO)].bend == bent_layer.bend
