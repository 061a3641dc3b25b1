"""The found-mark overlay after a decomposition: the logo's alpha (the found mark) and, apart,
the filled surface, with the confidence in words and the doubtful fill outlined; View > Show
Found Mark (Shift+Q) toggles it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtTest import QTest

from layerlift.desktop import canvas as tools
from layerlift.desktop.document import LOGO, OBJECT
from layerlift.desktop.found_overlay import FILL_ALPHA, MARK_ALPHA, filled_region, found_mark
from layerlift.desktop.qimage import qimage_to_rgba
from layerlift.inference.confidence import CHECK, CLEAN


def scene_pixels(window) -> np.ndarray:
    """The canvas's scene as drawn, one pixel per photo pixel (what the user sees at 100 %)."""
    h, w = window.doc.shape
    image = QImage(w, h, QImage.Format.Format_RGBA8888)
    image.fill(0)
    painter = QPainter(image)
    window.canvas.scene().render(painter, QRectF(0, 0, w, h), QRectF(0, 0, w, h))
    painter.end()
    return qimage_to_rgba(image)


def test_after_decomposing_the_overlay_shows_the_mark_and_the_fill(decomposed, qtbot):
    window = decomposed
    found = window.canvas.found
    assert window.act["show_found"].isChecked() and found.visible
    # The mark: the Logo layer's alpha, where the logo sits.
    alpha, (x0, y0, x1, y1) = found_mark(window.doc)
    logo_alpha = window.doc.layer(LOGO).render(window.doc.shape)[..., 3]
    assert np.abs(alpha.astype(int) - logo_alpha[y0:y1, x0:x1]).max() <= 1
    shown = qimage_to_rgba(found.mark.pixmap().toImage())[..., 3]
    assert found.mark.isVisible() and found.mark.offset().x() == x0
    assert np.abs(shown.astype(int) - np.rint(alpha * MARK_ALPHA)).max() <= 1
    # The fill: where the object differs from the photo, drawn apart from the mark.
    region, (fx0, fy0, fx1, fy1) = filled_region(window.doc)
    obj = window.doc.layers[1].render(window.doc.shape)[..., :3]
    differs = np.any(obj != window.doc.image, axis=2)
    assert np.array_equal(differs[fy0:fy1, fx0:fx1], region) and differs.sum() == region.sum()
    fill = qimage_to_rgba(found.fill.pixmap().toImage())[..., 3]
    assert found.fill.isVisible() and np.array_equal(fill > 0, region)
    # On screen the mark turns magenta; hidden, the layers show as they are.
    window.canvas.set_mask_visible(False)
    on = scene_pixels(window)
    window.act["show_found"].trigger()
    assert not window.act["show_found"].isChecked()
    assert not any(item.isVisible() for item in found._items())
    off = scene_pixels(window)
    # Between the fill's stripes the mark shows magenta (red over green), on them cyan.
    stripes = np.zeros(window.doc.shape, bool)
    stripes[fy0:fy1, fx0:fx1] = fill == FILL_ALPHA[1]
    mark = logo_alpha > 200

    def red_minus_green(px, where):
        return np.median(px[where][:, 0].astype(int) - px[where][:, 1])

    assert red_minus_green(on, mark & ~stripes) > red_minus_green(off, mark & ~stripes) + 60
    assert red_minus_green(on, mark & stripes) < red_minus_green(on, mark & ~stripes) - 60


def test_the_confidence_in_words_and_the_doubtful_fill_outlined(decomposed, qtbot):
    window, found = decomposed, decomposed.canvas.found
    assert "confidence" in window.doc.meta
    window.doc.meta["confidence"] = 0.9
    window.canvas.set_found_visible(True)
    assert CLEAN in found.shown_words and found.words.isVisible()
    assert not found.doubtful and not found.outline.isVisible()
    window.doc.meta["confidence"] = 0.45
    window.canvas.set_found_visible(True)
    assert CHECK in found.shown_words and found.doubtful and found.outline.isVisible()
    # The outline runs round the filled region.
    region, (x0, y0, x1, y1) = filled_region(window.doc)
    outline = found.outline.path().boundingRect()
    assert abs(outline.left() - (x0 + np.nonzero(region.any(0))[0][0])) <= 1
    assert abs(outline.bottom() - (y0 + np.nonzero(region.any(1))[0][-1])) <= 1


def test_shift_q_toggles_it_a_logo_tool_hides_it_and_undo_clears_it(decomposed, qtbot):
    window, found = decomposed, decomposed.canvas.found
    window.canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ShiftModifier)
    assert not found.visible and not window.act["show_found"].isChecked()
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ShiftModifier)
    assert found.visible and found.mark.isVisible()
    window.set_tool(tools.MOVE)             # moving the logo: see the result, not the overlay
    assert not found.visible and not window.act["show_found"].isChecked()
    window.set_tool(tools.BRUSH)
    window.act["show_found"].trigger()
    assert found.mark.isVisible()
    window.undo.undo()                      # the decomposition undone: nothing found
    assert found.visible and not found.mark.isVisible() and not found.fill.isVisible()
    window.undo.redo()
    assert found.mark.isVisible() and found.fill.isVisible()


def test_the_overlay_of_a_new_decomposition_is_made_on_the_worker(window, qtbot, monkeypatch):
    # The GUI thread shows it as the result becomes layers: working it out there had added
    # ~8 ms to the window's longest stall at 24 MP.
    import threading

    import layerlift.desktop.found_overlay as overlay

    threads = []
    real = overlay.placed_asset

    def placed_asset(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(overlay, "placed_asset", placed_asset)
    window.doc.fill_rect((85, 65, 165, 115))
    with qtbot.waitSignal(window.job_done, timeout=30000) as blocker:
        assert window.decompose()
    assert blocker.args == ["decompose", "ok"], window.last_error
    assert window.canvas.found.visible and window.canvas.found.mark.isVisible()
    assert threads and threading.main_thread() not in threads


def test_a_failure_making_the_overlay_on_the_worker_does_not_fail_the_decomposition(
        window, qtbot, monkeypatch, capsys):
    import layerlift.desktop.found_overlay as overlay

    def broken(image, result):
        raise ValueError("odd result")

    monkeypatch.setattr(overlay, "prepare", broken)
    window.doc.fill_rect((85, 65, 165, 115))
    with qtbot.waitSignal(window.job_done, timeout=30000) as blocker:
        assert window.decompose()
    assert blocker.args == ["decompose", "ok"], window.last_error
    assert window.canvas.found.mark.isVisible()        # made on the GUI thread instead


def test_the_overlay_keeps_no_photo_alive():
    import gc
    import weakref

    from layerlift.desktop.found_overlay import fill_picture

    image = np.zeros((40, 50, 3), np.uint8)
    patch = np.full((10, 10, 4), 255, np.uint8)
    assert fill_picture(patch, (5, 5, 15, 15), image) is not None
    gone = weakref.ref(image)
    del image
    gc.collect()
    assert gone() is None


def test_a_refresh_over_the_same_pictures_converts_nothing_again(decomposed, qtbot,
                                                                 monkeypatch):
    """A recompose (or any edit that keeps the logo and the object) refreshes the overlay: the
    items keep their pictures, shown again where they were, without new pixmaps."""
    import layerlift.desktop.found_overlay as overlay

    window, found = decomposed, decomposed.canvas.found
    window.doc.meta["confidence"] = 0.45                   # doubtful: the outline too
    found.refresh(window.doc)
    where = (found.mark.offset(), found.fill.offset(), found.words.pos(),
             found.outline.path().boundingRect())
    converted = []
    real = overlay.rgba_to_pixmap
    monkeypatch.setattr(overlay, "rgba_to_pixmap", lambda a: converted.append(a) or real(a))
    paths = []
    real_outline = overlay._outline
    monkeypatch.setattr(overlay, "_outline", lambda *a: paths.append(a) or real_outline(*a))
    found.refresh(window.doc)
    assert converted == [] and paths == []
    assert all(item.isVisible() for item in found._items())
    assert (found.mark.offset(), found.fill.offset(), found.words.pos(),
            found.outline.path().boundingRect()) == where
    # The words sit under the filled region's lowest row, at its leftmost column.
    region, (x0, y0, _x1, _y1) = filled_region(window.doc)
    ys, xs = np.nonzero(region)
    assert (found.words.pos().x(), found.words.pos().y()) == (x0 + xs.min(), y0 + ys.max() + 4)
    window.undo.undo()                                     # nothing found: all hidden
    assert not any(item.isVisible() for item in found._items())
    window.undo.redo()
    assert found.mark.isVisible() and converted == []     # the same pictures once more
    # A different fill (here: the same pixels in a new array) is converted afresh.
    row = window.doc.index_of(OBJECT)
    window.doc.update_layer(row, patch=window.doc.layers[row].patch.copy())
    found.refresh(window.doc)
    assert len(converted) == 1 and found.fill.isVisible()
