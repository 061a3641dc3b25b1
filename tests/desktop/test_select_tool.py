"""The Select tool (W) on the canvas, with real mouse clicks on the bundled sample (a real
photograph: the astronaut's mission patch): a click masks the mark round it, Shift+click adds,
Alt+click subtracts, the tolerance slider sets the reach, one undo step per click, and the
selection runs on the worker, not the GUI thread."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from layerlift.desktop import canvas as tools
from layerlift.desktop.main_window import MainWindow
from layerlift.desktop.resources import resource_path
from layerlift.desktop.settings import Settings
from layerlift.inference.imageio import load_image
from layerlift.inference.select import select_mark
from layerlift.resources.sample import make_sample
from tests.desktop.events import scene_to_viewport

CX, CY = make_sample.PATCH_CENTRE
SHIFT, ALT = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.AltModifier


def patch_disc(shape, radius):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (xx - CX) ** 2 + (yy - CY) ** 2 <= radius ** 2


@pytest.fixture
def sample(qtbot):
    win = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(win)
    win.resize(900, 700)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_path(str(resource_path("sample", "photo.jpg"))), win.last_error
    win.canvas.fit()
    yield win
    win.close()


def click(window, qtbot, x, y, modifier=Qt.KeyboardModifier.NoModifier):
    """A real click on the canvas at photo pixel (x, y); waits for the selection."""
    at = scene_to_viewport(window.canvas, x + 0.5, y + 0.5)
    with qtbot.waitSignal(window.job_done, timeout=30000) as blocker:
        QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, modifier,
                         QPoint(round(at.x()), round(at.y())))
        # Off the GUI thread: the click returns with the worker busy and the mask as it was.
        assert window.editor.busy()
    assert blocker.args == ["select", "ok"], window.last_error


def set_tolerance(window, percent):
    window.brush_bar.tolerance_slider.setValue(percent)
    assert window.settings.select_tolerance == percent / 100


def test_w_picks_the_select_tool(sample, qtbot):
    sample.canvas.setFocus()
    QTest.keyClick(sample, Qt.Key.Key_W)
    assert sample.canvas.tool == tools.SELECT and sample.act[tools.SELECT].isChecked()


def test_a_click_masks_the_patch_and_little_else(sample, qtbot):
    sample.set_tool(tools.SELECT)
    set_tolerance(sample, 80)
    click(sample, qtbot, CX, CY)
    mask = sample.doc.mask_bool()
    assert mask[patch_disc(mask.shape, make_sample.PATCH_RADIUS)].mean() > 0.9
    assert mask[~patch_disc(mask.shape, make_sample.PATCH_RADIUS + 12)].sum() < 500
    assert sample.undo.count() == 1 and sample.undo.undoText() == "Select"
    # Only the selection's box is touched (and kept for undo), never the whole photo.
    x0, y0, x1, y1 = sample.undo.command(0).rect
    ys, xs = np.nonzero(mask)
    assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    sample.undo.undo()
    assert not sample.doc.mask.any()
    sample.editor.add_box((10, 10, 40, 40))     # a plain click replaces a mask far away too
    click(sample, qtbot, CX, CY)
    assert np.array_equal(sample.doc.mask_bool(), mask)
    sample.undo.undo()
    assert sample.doc.mask_bool()[10:40, 10:40].all() and sample.doc.mask_bool().sum() == 900


def test_shift_adds_alt_subtracts_one_undo_step_each(sample, qtbot):
    image = load_image(resource_path("sample", "photo.jpg"))
    # Two reaches whose selections differ (the selection's size need not grow with the
    # tolerance: a wider reach that floods is narrowed again).
    wide = select_mark(image, [(CX, CY)], tolerance=0.5)
    tight = select_mark(image, [(CX, CY)], tolerance=0.2)
    assert tight.sum() < wide.sum() and (wide & ~tight).any()
    sample.set_tool(tools.SELECT)
    set_tolerance(sample, 50)
    click(sample, qtbot, CX, CY)
    assert np.array_equal(sample.doc.mask_bool(), wide)
    set_tolerance(sample, 20)                   # the slider's reach, not the last click's
    click(sample, qtbot, CX, CY, ALT)
    assert np.array_equal(sample.doc.mask_bool(), wide & ~tight)
    click(sample, qtbot, CX, CY, SHIFT)
    assert np.array_equal(sample.doc.mask_bool(), wide)
    click(sample, qtbot, CX, CY)                # a plain click replaces the mask
    assert np.array_equal(sample.doc.mask_bool(), tight)
    texts = [sample.undo.text(i) for i in range(sample.undo.count())]
    assert texts == ["Select", "Subtract from selection", "Add to selection", "Select"]
    sample.undo.undo()
    assert np.array_equal(sample.doc.mask_bool(), wide)
    sample.undo.undo()
    assert np.array_equal(sample.doc.mask_bool(), wide & ~tight)
    sample.undo.undo()
    sample.undo.undo()
    assert not sample.doc.mask.any()


def test_a_click_outside_the_photo_or_while_busy_does_nothing(sample, qtbot):
    assert not sample.editor.select(-1, 5)
    assert not sample.editor.select(5, 512)
    assert sample.editor.select(CX, CY)
    assert not sample.editor.select(CX, CY)     # one at a time
    qtbot.waitUntil(lambda: not sample.editor.busy(), timeout=30000)
    assert sample.undo.count() == 1
