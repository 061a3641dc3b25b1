"""The logo's cylinder bend in the app: the Bend slider with the transform tools (real mouse
and key events), one undo step, live on the canvas, in recompose and exports, in projects."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSlider, QToolBar

from layerlift.desktop import canvas as tools
from layerlift.desktop.bend_control import UNDO_TEXT
from layerlift.desktop.document import LOGO
from layerlift.desktop.project import open_project, save_project
from tests.desktop.test_jobs import run
from tests.desktop.test_project_fields import _document, _with_project_json


def bend_bar(window) -> QToolBar:
    return window.findChild(QToolBar, "bend")


def logo_row(window) -> int:
    return window.doc.index_of(LOGO)


def slider_point(slider, value: int) -> QPoint:
    """Where on the slider's groove `value` lies (widget coordinates)."""
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    groove = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                           QStyle.SubControl.SC_SliderGroove, slider)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                           QStyle.SubControl.SC_SliderHandle, slider)
    span = groove.width() - handle.width()
    x = QStyle.sliderPositionFromValue(slider.minimum(), slider.maximum(), value, span)
    return QPoint(groove.x() + x + handle.width() // 2, groove.center().y())


def top_rows(alpha: np.ndarray, columns) -> np.ndarray:
    return np.array([int(np.argmax(alpha[:, x] >= 128)) for x in columns])


def test_the_bend_bar_shows_with_the_transform_tools_only(decomposed):
    w = decomposed
    assert not bend_bar(w).isVisibleTo(w)
    for tool, shown in ((tools.TRANSFORM, True), (tools.PERSPECTIVE, True), (tools.MOVE, False),
                        (tools.BRUSH, False)):
        w.set_tool(tool)
        assert bend_bar(w).isVisibleTo(w) is shown, tool
    assert w.bend_control.isEnabled()


def with_the_slider(w, qtbot):
    """The transform tool on and the Bend slider shown: (slider, the logo's row, its quad)."""
    w.set_tool(tools.TRANSFORM)
    slider = w.bend_control.slider
    qtbot.waitExposed(slider)
    row = logo_row(w)
    return slider, row, w.doc.layers[row].quad.copy()


def test_slider_drag_bends_live_and_is_one_undo_step(decomposed, qtbot):
    w = decomposed
    slider, row, flat_quad = with_the_slider(w, qtbot)
    flat_item = w.canvas._items[row].sceneBoundingRect()
    steps = w.undo.count()
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=slider_point(slider, 0))
    assert slider.isSliderDown()
    for value in (10, 25, 40):
        qtbot.mouseMove(slider, slider_point(slider, value))
    live = w.doc.layers[row].bend
    assert live > 20                                   # previewed while held ...
    assert w.undo.count() == steps                     # ... without an undo step yet
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=slider_point(slider, 40))
    bent = w.doc.layers[row]
    assert w.undo.count() == steps + 1 and w.undo.undoText() == UNDO_TEXT
    assert bent.bend == live and np.array_equal(bent.quad, flat_quad)   # corners stay
    # The canvas shows it bent: the middle rises above the quad's top edge.
    item = w.canvas._items[row]
    assert item.sceneBoundingRect().top() < flat_item.top() - 1
    assert w.bend_control.value_label.text() == f"{round(bent.bend)} %"
    w.undo.undo()
    assert w.doc.layers[row].bend == 0 and slider.value() == 0
    assert w.canvas._items[row].sceneBoundingRect() == flat_item
    w.undo.redo()
    assert w.doc.layers[row].bend == bent.bend and slider.value() == round(bent.bend)


def test_each_key_press_is_one_step(decomposed, qtbot):
    w = decomposed
    w.set_tool(tools.PERSPECTIVE)
    slider = w.bend_control.slider
    slider.setFocus()
    steps = w.undo.count()
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert w.doc.layers[logo_row(w)].bend == -2
    assert w.undo.count() == steps + 2


def test_recompose_and_export_place_the_logo_bent(decomposed, qtbot):
    w = decomposed
    row = logo_row(w)
    quad = w.doc.layers[row].quad
    h, wd = int(round(quad[2, 1] - quad[0, 1])), int(round(quad[1, 0] - quad[0, 0]))
    label = np.full((h, wd, 4), (250, 250, 250, 255), np.uint8)   # an opaque white label
    w.edit_layer(row, "Replace logo", asset=label, ink=None, bend=-60.0)   # the middle sags
    alpha = w.doc.layers[row].render(w.doc.shape)[..., 3]
    x0, x1 = int(quad[0, 0]) + 2, int(quad[1, 0]) - 2
    mid = (x0 + x1) // 2
    tops = top_rows(alpha, [x0, mid, x1])
    assert tops[1] > tops[0] + 4 and tops[1] > tops[2] + 4
    assert run(w, qtbot, w.recompose, "compose") == "ok", w.last_error
    recomposed = w.doc.layers[0].render(w.doc.shape)[..., :3].astype(int)
    clean = w.doc.layers[w.doc.index_of("object")].render(w.doc.shape)[..., :3].astype(int)
    changed = np.abs(recomposed - clean).sum(axis=2) > 60
    # Recompose put the label where the bent layer shows it, not on the flat quad.
    assert not changed[tops[0] + 1:tops[1] - 1, mid].any()
    assert changed[tops[1] + 2, mid] and changed[tops[0] + 2, x0]


def test_the_bend_survives_save_and_open_and_old_projects_read_flat(tmp_path):
    doc = _document()
    doc.layers[0].bend = 37.5
    save_project(doc, tmp_path / "p.ora")
    back, _ = open_project(tmp_path / "p.ora")
    assert back.layers[0].bend == 37.5
    np.testing.assert_array_equal(back.layers[0].render(back.shape),
                                  doc.layers[0].render(doc.shape))

    def no_bend(project):
        for entry in project["layers"]:
            entry.pop("bend", None)
        return project
    old, _ = open_project(_with_project_json(tmp_path / "p.ora", tmp_path / "old.ora", no_bend))
    assert old.layers[0].bend == 0.0


@pytest.mark.parametrize("bad", [150, "a lot", None, True])
def test_a_damaged_bend_is_refused(tmp_path, bad):
    from layerlift.inference.errors import InputError

    save_project(_document(), tmp_path / "p.ora")

    def set_bend(project):
        project["layers"][0]["bend"] = bad
        return project
    path = _with_project_json(tmp_path / "p.ora", tmp_path / "bad.ora", set_bend)
    if bad is None:   # JSON null: the same as no bend
        assert open_project(path)[0].layers[0].bend == 0.0
        return
    with pytest.raises(InputError, match="bend"):
        open_project(path)


def test_a_replaced_bent_mark_offers_its_bend_back(window, qtbot, tmp_path):
    """A label printed with a 40 % bend, decomposed, then replaced by a logo file of the same
    shape: the new logo gets about that bend, over the same ground."""
    from PIL import Image

    from layerlift.inference.imageio import save_png
    from layerlift.inference.warp import warp_asset

    photo = np.zeros((240, 320, 3), np.uint8)
    photo[...] = (170, 175, 180)
    label = np.zeros((50, 150, 4), np.uint8)
    label[...] = (200, 30, 40, 255)
    quad = np.array([[80, 110], [230, 110], [230, 160], [80, 160]], np.float64)
    premult, (x0, y0, x1, y1) = warp_asset(label, quad, (320, 240), 40.0)
    region = photo[y0:y1, x0:x1].astype(np.float32) / 255
    photo[y0:y1, x0:x1] = np.rint((premult[..., :3] + region * (1 - premult[..., 3:4])) * 255)
    save_png(tmp_path / "can.png", photo)
    assert window.open_path(str(tmp_path / "can.png"))
    window.doc.fill_rect((x0 - 8, y0 - 8, x1 + 8, y1 + 8))
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    mark = window.doc.layers[logo_row(window)]
    assert mark.bend == 0                                 # the printed pixels carry the wrap
    Image.fromarray(np.full((50, 150, 4), (20, 90, 200, 255), np.uint8)).save(
        tmp_path / "new.png")
    assert window.replace_logo(str(tmp_path / "new.png"))
    new = window.doc.layers[logo_row(window)]
    assert new.bend == pytest.approx(40, abs=3)
    alpha = new.render(window.doc.shape)[..., 3] >= 128
    old_alpha = mark.render(window.doc.shape)[..., 3] >= 128
    overlap = (alpha & old_alpha).sum() / old_alpha.sum()
    assert overlap > 0.9 and alpha.sum() < 1.1 * old_alpha.sum()
    window.undo.undo()
    assert window.doc.layers[logo_row(window)].bend == 0


def test_an_undo_while_the_slider_is_held_starts_its_step_afresh(decomposed, qtbot):
    # The step pushed on release must start from the logo as the undo left it: from the logo
    # at the press, the next undo would bring the undone nudge back.
    w = decomposed
    slider, row, flat_quad = with_the_slider(w, qtbot)
    w.edit_layer(row, "Move logo", quad=flat_quad + [10, 0])
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=slider_point(slider, 0))
    qtbot.mouseMove(slider, slider_point(slider, 20))
    w.undo.undo()                                      # Ctrl+Z with the slider held
    qtbot.mouseMove(slider, slider_point(slider, 40))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=slider_point(slider, 40))
    assert w.undo.undoText() == UNDO_TEXT and w.doc.layers[row].bend > 30
    assert np.array_equal(w.doc.layers[row].quad, flat_quad)
    w.undo.undo()
    assert w.doc.layers[row].bend == 0
    assert np.array_equal(w.doc.layers[row].quad, flat_quad)   # the nudge stays undone
