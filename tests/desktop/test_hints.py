"""The hint brushes: "this is mark" (K) and "this is not mark" (Shift+K) painted with real
mouse strokes into the document's hints (Alt erases them), one undo step per stroke, sent with
the next Decompose, which honours them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from layerlift.desktop import canvas as tools
from layerlift.desktop.document import LOGO, OBJECT
from tests.desktop.events import scene_to_viewport
from tests.desktop.test_jobs import run

NONE = Qt.KeyboardModifier.NoModifier


def stroke(window, points, modifier=NONE):
    """A real drag on the canvas through photo pixels `points`."""
    vp = window.canvas.viewport()

    def at(x, y):
        p = scene_to_viewport(window.canvas, x + 0.5, y + 0.5)
        return QPoint(round(p.x()), round(p.y()))

    QTest.mousePress(vp, Qt.MouseButton.LeftButton, modifier, at(*points[0]))
    for x, y in points[1:]:
        QTest.mouseMove(vp, at(x, y))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, modifier, at(*points[-1]))


def test_k_and_shift_k_paint_mark_and_not_mark_hints_one_undo_step_each(window, qtbot):
    window.canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_K)
    assert window.canvas.tool == tools.HINT_MARK
    window.brush_bar.size_spin.setValue(10)
    stroke(window, [(40, 40), (60, 40)])
    hints = window.doc.hints
    assert hints[40, 40:61].tolist() == [1] * 21 and hints[40, 75] == 0
    assert not window.doc.mask.any()                   # hints are not the mask
    QTest.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ShiftModifier)
    assert window.canvas.tool == tools.HINT_NOT_MARK
    stroke(window, [(50, 40), (50, 60)])
    assert hints[40, 50] == 2 and hints[60, 50] == 2 and hints[40, 40] == 1
    stroke(window, [(40, 40), (44, 40)], Qt.KeyboardModifier.AltModifier)   # Alt erases
    assert hints[40, 40] == 0 and hints[40, 58] == 1
    texts = [window.undo.text(i) for i in range(window.undo.count())]
    assert texts == ["Hint: mark", "Hint: not mark", "Erase hints"]
    window.undo.undo()
    assert hints[40, 40] == 1
    window.undo.undo()
    assert hints[60, 50] == 0 and hints[40, 50] == 1
    window.undo.undo()
    assert not hints.any()
    window.undo.redo()
    assert hints[40, 40:61].tolist() == [1] * 21
    # Shown over the photo: green for mark.
    argb = int(window.canvas.hint_overlay.pixels()[40, 45])
    assert (argb >> 8) & 0xFF > 100 and (argb >> 16) & 0xFF == 0


def test_decompose_honours_the_hints(window, qtbot):
    window.doc.fill_rect((85, 65, 165, 115))        # both parts of the mark and some surface
    window.set_tool(tools.HINT_NOT_MARK)
    window.brush_bar.size_spin.setValue(14)
    stroke(window, [(155, 72), (155, 108)])         # the vertical bar: "not mark"
    window.set_tool(tools.HINT_MARK)
    window.brush_bar.size_spin.setValue(8)
    stroke(window, [(100, 70), (120, 70)])          # plain surface above the bar: "mark"
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    shape = window.doc.shape
    alpha = window.doc.layer(LOGO).render(shape)[..., 3]
    obj = window.doc.layer(OBJECT).render(shape)[..., :3]
    image = window.doc.image
    bar = (slice(76, 104), slice(152, 158))
    assert (alpha[bar] == 0).all() and np.array_equal(obj[bar], image[bar])
    assert (alpha[70, 102:118] == 255).all()
    assert alpha[85:95, 95:140].mean() > 200        # the unhinted part is still found
    window.doc.put_hints((0, 0, shape[1], shape[0]), np.zeros(shape, np.uint8))
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    alpha = window.doc.layer(LOGO).render(shape)[..., 3]
    assert alpha[bar].mean() > 200 and (alpha[70, 102:118] < 128).all()


def test_clear_hints_is_one_undo_step(window, qtbot):
    window.set_tool(tools.HINT_MARK)
    stroke(window, [(40, 40), (60, 40)])
    window.act["clear_hints"].trigger()
    assert not window.doc.hints.any() and window.undo.undoText() == "Clear hints"
    window.undo.undo()
    assert window.doc.hints[40, 50] == 1


def test_hints_are_saved_in_the_project(window, qtbot, tmp_path):
    import json
    import zipfile

    from layerlift.desktop.project import open_project, save_project
    from layerlift.inference.errors import InputError

    window.set_tool(tools.HINT_MARK)
    stroke(window, [(40, 40), (60, 40)])
    window.set_tool(tools.HINT_NOT_MARK)
    stroke(window, [(100, 120), (100, 140)])
    path = tmp_path / "hinted.ora"
    assert window.save_project(str(path)) and window.finish_file_writes()   # (a snapshot)
    doc, _settings = open_project(path)
    assert np.array_equal(doc.hints, window.doc.hints) and (doc.hints == 2).any()
    # A project without hints opens with none; damaged hint data is a one-line refusal.
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    project = json.loads(files["layerlift/project.json"])
    project["hints"]["offset"] = [-1, 0]
    files["layerlift/project.json"] = json.dumps(project).encode()
    damaged = tmp_path / "damaged.ora"
    with zipfile.ZipFile(damaged, "w") as z:
        for name, data in files.items():
            z.writestr(name, data, zipfile.ZIP_STORED if name == "mimetype" else 8)
    try:
        open_project(damaged)
    except InputError as exc:
        assert "hints" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("damaged hints were accepted")
    window.editor.clear_hints()
    save_project(window.doc, tmp_path / "plain.ora")
    assert not open_project(tmp_path / "plain.ora")[0].hints.any()


def test_both_hint_colours_show_as_themselves_over_white_and_black(window):
    """Valid premultiplied colours (no channel above alpha): over white, "not mark" had
    overflowed to a dark teal."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    from layerlift.desktop.canvas import HintOverlay
    from layerlift.desktop.qimage import qimage_to_rgba

    hints = np.zeros((4, 8), np.uint8)
    hints[:, :4], hints[:, 4:] = 1, 2
    overlay = HintOverlay(hints)
    for ground in (0xFFFFFFFF, 0xFF000000):
        image = QImage(8, 4, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(ground)
        painter = QPainter(image)
        option = QStyleOptionGraphicsItem()
        option.exposedRect = QRectF(0, 0, 8, 4)
        overlay.paint(painter, option, None)
        painter.end()
        r, g, b = qimage_to_rgba(image)[..., :3].astype(int).transpose(2, 0, 1)
        assert (g[:, :4] > 150).all() and (g[:, :4] - r[:, :4] > 100).all(), hex(ground)
        assert (r[:, 4:] > 150).all() and (r[:, 4:] - g[:, 4:] > 100).all(), hex(ground)


def _scene_colour(window, x: int, y: int) -> tuple[int, int, int]:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter

    h, w = window.doc.shape
    shot = QImage(w, h, QImage.Format.Format_ARGB32)
    painter = QPainter(shot)
    window.canvas.scene().render(painter, QRectF(0, 0, w, h), QRectF(0, 0, w, h))
    painter.end()
    return QColor(shot.pixel(x, y)).getRgb()[:3]


def test_the_hint_overlay_is_left_out_of_painting_until_there_are_hints_and_follows_the_mask(
        window, qtbot):
    overlay = window.canvas.hint_overlay
    photo = _scene_colour(window, 45, 40)
    assert not overlay.isVisible()           # nothing to draw: no repaint visits it
    window.set_tool(tools.HINT_MARK)
    window.brush_bar.size_spin.setValue(10)
    stroke(window, [(40, 40), (60, 40)])
    assert overlay.isVisible()
    r, g, b = _scene_colour(window, 45, 40)
    assert g > photo[1] + 40 and r < photo[0] - 40          # drawn green over the photo
    window.set_tool(tools.MOVE)              # a logo tool hides the mask, and the hints
    assert not overlay.isVisible() and _scene_colour(window, 45, 40) == photo
    window.set_tool(tools.BRUSH)
    assert overlay.isVisible()
    # A new photo starts with no hints: out of painting again, shown with its first hint.
    window.set_document(type(window.doc)(window.doc.image.copy()))
    overlay = window.canvas.hint_overlay
    assert not overlay.isVisible()
    window.set_tool(tools.HINT_MARK)
    stroke(window, [(40, 40), (60, 40)])
    assert overlay.isVisible()
