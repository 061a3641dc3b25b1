"""The canvas through real mouse events: brush, eraser, box, zoom, pan, undo/redo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from layerlift.desktop import canvas as tools
from tests.desktop.events import drag, scene_to_viewport, send_mouse


def test_brush_drag_paints_along_the_path_and_undo_redo(window):
    window.set_tool(tools.BRUSH)
    window.brush_bar.size_spin.setValue(10)
    window.brush_bar.hardness_slider.setValue(100)
    drag(window.canvas, [(40, 40), (80, 40), (120, 40)])
    mask = window.doc.mask_bool()
    assert mask[40, 40:121].all()
    assert not mask[60:].any() and not mask[:30].any()
    # The overlay shows the stroke in its colour (premultiplied ARGB, alpha = coverage).
    overlay = window.canvas.overlay.pixels()
    assert (overlay[40, 50] >> 24) == 255 and overlay[100, 100] == 0
    # One undo step, and it stores only the stroke's bounding box.
    assert window.undo.count() == 1
    command = window.undo.command(0)
    assert command.before.shape[0] < 20 and command.before.shape[1] < 100
    window.undo.undo()
    assert not window.doc.mask.any()
    assert window.canvas.overlay.pixels()[40, 50] == 0
    window.undo.redo()
    assert window.doc.mask_bool()[40, 40:121].all()


def test_eraser_removes_part_of_the_mask(window):
    window.doc.fill_rect((20, 20, 200, 120))
    window.set_tool(tools.ERASER)
    window.brush_bar.size_spin.setValue(20)
    window.brush_bar.hardness_slider.setValue(100)
    drag(window.canvas, [(30, 70), (190, 70)])
    mask = window.doc.mask_bool()
    assert not mask[70, 40:180].any()
    assert mask[25, 40:180].all() and mask[115, 40:180].all()
    window.undo.undo()
    assert window.doc.mask_bool()[70, 40:180].all()


def test_box_tool_adds_a_rectangle(window):
    window.set_tool(tools.BOX)
    drag(window.canvas, [(50, 60), (100, 80), (150, 110)])
    mask = window.doc.mask_bool()
    ys, xs = np.nonzero(mask)
    assert abs(xs.min() - 50) <= 1 and abs(xs.max() - 149) <= 1
    assert abs(ys.min() - 60) <= 1 and abs(ys.max() - 109) <= 1
    assert mask[60:109, 51:149].all()
    window.undo.undo()
    assert not window.doc.mask.any()


def test_clear_mask_is_undoable(window):
    window.doc.fill_rect((10, 10, 50, 50))
    window.clear_mask()
    assert not window.doc.mask.any()
    window.undo.undo()
    assert window.doc.mask_bool()[10:50, 10:50].all()


def test_shortcuts_switch_tools_and_brush_size(window, qtbot):
    canvas = window.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_E)
    assert canvas.tool == tools.ERASER
    qtbot.keyClick(canvas, Qt.Key.Key_M)
    assert canvas.tool == tools.BOX
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    assert canvas.tool == tools.BRUSH
    size = canvas.brush_size
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.brush_size > size
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.brush_size < size
    assert canvas.cursor_item.radius == canvas.brush_size / 2


def test_zoom_fit_and_actual_size(window, qtbot):
    canvas = window.canvas
    window.act["actual"].trigger()
    assert canvas.zoom() == 1.0 and window.status.zoom_label.text() == "100 %"
    pos = QPointF(canvas.viewport().width() / 2, canvas.viewport().height() / 2)
    wheel = QWheelEvent(pos, QPointF(canvas.viewport().mapToGlobal(pos.toPoint())),
                        QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), wheel)
    assert canvas.zoom() > 1.3
    window.act["fit"].trigger()
    rect = canvas.mapFromScene(canvas.sceneRect()).boundingRect()
    assert rect.width() <= canvas.viewport().width() + 2
    assert rect.height() <= canvas.viewport().height() + 2


def test_middle_button_pans_and_status_shows_position(window):
    canvas = window.canvas
    canvas.set_zoom(4.0)
    bar = canvas.horizontalScrollBar()
    before = bar.value()
    vp = canvas.viewport()
    start = QPointF(200, 200)
    send_mouse(vp, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.MiddleButton)
    send_mouse(vp, QEvent.Type.MouseMove, QPointF(120, 200), Qt.MouseButton.NoButton,
               Qt.MouseButton.MiddleButton)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, QPointF(120, 200),
               Qt.MouseButton.MiddleButton)
    assert bar.value() == before + 80
    assert not window.doc.mask.any()              # panning never paints
    p = scene_to_viewport(canvas, 33.5, 44.5)
    send_mouse(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    assert window.status.pos_label.text() == "33, 44"


def test_space_drag_pans_instead_of_painting(window, qtbot):
    canvas = window.canvas
    canvas.set_zoom(4.0)
    canvas.setFocus()
    before = canvas.verticalScrollBar().value()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    vp = canvas.viewport()
    send_mouse(vp, QEvent.Type.MouseButtonPress, QPointF(200, 200))
    send_mouse(vp, QEvent.Type.MouseMove, QPointF(200, 150), Qt.MouseButton.NoButton,
               Qt.MouseButton.LeftButton)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, QPointF(200, 150))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.verticalScrollBar().value() == before + 50
    assert not window.doc.mask.any()


def test_overlay_colour_and_opacity(window):
    from PySide6.QtGui import QColor
    window.doc.fill_rect((0, 0, 10, 10))
    window.canvas.set_overlay(QColor(0, 255, 0), 0.25)
    assert window.canvas.overlay.pixels()[5, 5] == 0xFF00FF00
    assert window.canvas.overlay.opacity() == 0.25


def test_load_mask_from_file(window, tmp_path):
    from layerlift.inference.imageio import save_png
    mask = np.zeros(window.doc.shape, np.uint8)
    mask[30:60, 40:90] = 255
    save_png(tmp_path / "mask.png", mask)
    assert window.load_mask(str(tmp_path / "mask.png"))
    assert (window.doc.mask_bool() == (mask > 0)).all()
    window.undo.undo()
    assert not window.doc.mask.any()
    save_png(tmp_path / "small.png", mask[:10])
    assert not window.load_mask(str(tmp_path / "small.png"))
    assert "mask is" in window.last_error


def test_opening_a_broken_file_shows_an_error(window, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    doc = window.doc
    assert not window.open_path(str(bad))
    assert window.last_error and window.doc is doc


def test_a_stroke_copies_only_the_tiles_it_paints_and_undo_is_exact(window):
    from layerlift.desktop.document import Document
    rng = np.random.default_rng(5)
    h, w = 1200, 1600
    mask = np.where(rng.random((h, w)) < 0.3, 255, 0).astype(np.uint8)  # some earlier marks
    window.set_document(Document(np.zeros((h, w, 3), np.uint8), mask=mask.copy()))
    window.canvas.fit()
    window.set_tool(tools.BRUSH)
    window.brush_bar.size_spin.setValue(30)
    canvas, vp = window.canvas, window.canvas.viewport()
    points = [scene_to_viewport(canvas, x, y) for x, y in ((100, 100), (700, 120), (720, 900))]
    send_mouse(vp, QEvent.Type.MouseButtonPress, points[0])
    for p in points[1:]:
        send_mouse(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton,
                   Qt.MouseButton.LeftButton)
    # Mid-stroke, the undo snapshot holds a few tiles, not a copy of the 1.9 MB mask.
    kept = sum(t.nbytes for t in canvas._drag["before"].tiles.values())
    assert 0 < kept < mask.nbytes / 3
    send_mouse(vp, QEvent.Type.MouseButtonRelease, points[-1])
    after = window.doc.mask.copy()
    assert not np.array_equal(after, mask) and window.undo.count() == 1
    window.undo.undo()
    assert np.array_equal(window.doc.mask, mask)
    window.undo.redo()
    assert np.array_equal(window.doc.mask, after)


def test_overlay_paints_only_where_the_mask_was_and_still_shows_it(window):
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QImage, QPainter

    overlay = window.canvas.overlay
    assert overlay.drawn.isEmpty()
    window.doc.fill_rect((20, 20, 60, 50))
    window.doc.fill_rect((200, 150, 210, 160))
    # The box that painting keeps to holds both rectangles and little else.
    assert overlay.drawn == QRect(20, 20, 190, 140)
    window.canvas.set_overlay(QColor(0, 255, 0), 1.0)
    h, w = window.doc.shape
    shot = QImage(w, h, QImage.Format.Format_ARGB32)
    painter = QPainter(shot)
    window.canvas.scene().render(painter, window.canvas.scene().sceneRect(), QRectF(0, 0, w, h))
    painter.end()
    assert QColor(shot.pixel(30, 30)).getRgb()[:3] == (0, 255, 0)      # the mask is drawn
    assert QColor(shot.pixel(205, 155)).getRgb()[:3] == (0, 255, 0)
    assert QColor(shot.pixel(100, 30)).green() < 255                    # the photo is not
    # Loading a new mask starts the box afresh, from the mask's own pixels.
    mask = np.zeros((h, w), np.uint8)
    mask[5:8, 6:9] = 255
    window.canvas.overlay.set_mask(mask)
    assert overlay.drawn == QRect(6, 5, 3, 3)


def _scene_pixels(window) -> np.ndarray:
    from PySide6.QtGui import QImage, QPainter

    window.canvas.overlay.setVisible(False)
    for item in window.canvas.scene().items():   # the logo frame and cursor are not pixels
        if item not in window.canvas._items:
            item.setVisible(False)
    h, w = window.doc.shape
    shot = QImage(w, h, QImage.Format.Format_RGB888)
    shot.fill(0xFFFFFF)
    painter = QPainter(shot)
    window.canvas.scene().render(painter, QRectF(0, 0, w, h), QRectF(0, 0, w, h))
    painter.end()
    bits = np.frombuffer(shot.constBits(), np.uint8, count=shot.sizeInBytes())
    return bits.reshape(h, shot.bytesPerLine())[:, :w * 3].reshape(h, w, 3).copy()


@pytest.mark.parametrize("opacity", [1.0, 0.5])
def test_a_window_layer_is_drawn_as_its_full_pixels(decomposed, opacity):
    """The Object layer is a window over the Original's pixels: the canvas draws the base
    outside the window and the patch inside it, the same as the layer's full picture (at
    half opacity too: the base does not show through the patch)."""
    w = decomposed
    obj_row = w.doc.index_of("object")
    w.doc.update_layer(w.doc.index_of("logo"), visible=False)
    w.doc.update_layer(obj_row, opacity=opacity)
    obj = w.doc.layers[obj_row]
    assert obj.rgba is None and obj.base is w.doc.layer("original").rgba
    shown = _scene_pixels(w).astype(int)
    expected = w.doc.composite().astype(int)
    assert np.abs(shown - expected).max() <= 2
    x0, y0, x1, y1 = obj.patch_rect
    assert np.abs(shown[y0:y1, x0:x1] - w.doc.image[y0:y1, x0:x1]).max() > 30  # the patch shows


def _paint_item(item, shot, scale: float, device_rect=None) -> None:
    """Paint one canvas item into `shot` at `scale` (plus a fractional shift), as the view
    does for a repaint of `device_rect` (all of it when None): clipped there, its exposed
    rect that rectangle in the item's coordinates."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QPainter, QTransform
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    painter = QPainter(shot)
    transform = QTransform(scale, 0, 0, scale, 3.3, 2.7)
    option = QStyleOptionGraphicsItem()
    if device_rect is None:
        option.exposedRect = item.boundingRect()
    else:
        painter.setClipRect(QRect(*device_rect))      # (in device pixels: before the zoom)
        inverse, _ = transform.inverted()
        option.exposedRect = inverse.mapRect(QRectF(QRect(*device_rect)))
    painter.setTransform(transform)
    item.paint(painter, option, None)
    painter.end()


@pytest.mark.parametrize("scale", [1.31, 2.5, 0.4])
def test_a_repainted_part_of_the_photo_matches_the_whole_photo_drawn(scale):
    """A partial repaint (after a brush stroke, a Select click, an undo) draws the same
    pixels as a full one: no seam of neighbouring photo pixels along the repainted
    rectangle's edges at a fractional zoom (they stayed on screen until the next full
    repaint)."""
    from PySide6.QtGui import QColor, QImage

    from layerlift.desktop.canvas import MaskOverlay, PhotoLayerItem
    from layerlift.desktop.qimage import qimage_to_rgba

    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (120, 160, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    mask = (rng.random((120, 160)) > 0.5).astype(np.uint8) * 255
    size = (int(160 * scale) + 8, int(120 * scale) + 8)
    for item in (PhotoLayerItem(rgba), MaskOverlay(mask, QColor(47, 123, 255))):
        whole = QImage(*size, QImage.Format.Format_ARGB32_Premultiplied)
        whole.fill(0)
        _paint_item(item, whole, scale)
        part = whole.copy()
        rect = (int(37 * scale) + 1, int(41 * scale) + 2, int(50 * scale), int(33 * scale))
        x, y, w, h = rect
        for row in range(y, y + h):               # wipe the rectangle, then repaint it
            for col in range(x, x + w):
                part.setPixel(col, row, 0)
        _paint_item(item, part, scale, rect)
        diff = np.abs(qimage_to_rgba(part).astype(int) - qimage_to_rgba(whole)).max(axis=2)
        assert not diff.any(), f"{type(item).__name__}: {np.count_nonzero(diff)} pixels differ"
