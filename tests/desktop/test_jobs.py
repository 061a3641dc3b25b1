"""Decompose / cancel / errors in the worker thread; logo replace, perspective, recompose."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from layerlift.desktop import canvas as tools
from layerlift.inference import engines
from tests.desktop.events import drag

SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">
<rect x="0" y="0" width="200" height="100" fill="#00c000"/>
<circle cx="100" cy="50" r="30" fill="#ffffff"/></svg>"""


@pytest.fixture
def test_engines(monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "slow-test", "tests.desktop.slow_engine:SlowEngine")
    monkeypatch.setitem(engines.ENGINES, "broken-test", "tests.desktop.slow_engine:BrokenEngine")
    monkeypatch.setitem(engines.ENGINES, "oom-fallback-test",
                        "tests.desktop.slow_engine:OutOfMemoryFallbackEngine")


def mark_logo(window):
    window.doc.fill_rect((85, 65, 165, 115))


def run(window, qtbot, start, kind, timeout=30000):
    with qtbot.waitSignal(window.job_done, timeout=timeout) as blocker:
        assert start()
    assert blocker.args[0] == kind
    return blocker.args[1]


@pytest.fixture
def decomposed(window, qtbot):
    mark_logo(window)
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    return window


def test_decompose_classical_adds_layers_and_cycle_error(decomposed):
    w = decomposed
    doc = w.doc
    assert [layer.kind for layer in doc.layers] == ["logo", "object", "original"]
    logo, obj = doc.layers[0], doc.layers[1].render(doc.shape)
    # The clean object differs from the photo under the mark and equals it outside the mask.
    photo = doc.image
    assert np.abs(obj[85:95, 100:140, :3].astype(int) - photo[85:95, 100:140]).mean() > 30
    outside = ~doc.mask_bool()
    assert (obj[..., :3][outside] == photo[outside]).all()
    assert logo.asset is not None and logo.quad.shape == (4, 2)
    # The cycle is exact with this engine, so the panel says the confidence instead.
    assert "cycle_error" in doc.meta and "Confidence" in w.layers_panel.cycle_label.text()
    assert w.layers_panel.model.rowCount() == 3
    # One undo step back to the single Original layer.
    w.undo.undo()
    assert [layer.kind for layer in w.doc.layers] == ["original"]
    assert w.layers_panel.cycle_label.text() == ""
    w.undo.redo()
    assert w.doc.layers[0].kind == "logo"


def test_decompose_with_an_empty_mask_explains(window):
    assert not window.decompose()
    assert "Paint over the logo" in window.last_error


def test_cancel_leaves_the_document_as_it_was(window, qtbot, test_engines):
    mark_logo(window)
    window.settings.engine = "slow-test"
    window.settings.steps = 1000
    layers_before, undo_before = list(window.doc.layers), window.undo.count()
    with qtbot.waitSignal(window.job_done, timeout=20000) as blocker:
        assert window.decompose()
        bar = window.status.progress
        qtbot.waitUntil(lambda: bar.maximum() == 1000 and bar.value() > 2, timeout=10000)
        assert "/1000" in bar.format()
        assert not window.act["decompose"].isEnabled()
        window.activateWindow()
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)          # the Esc shortcut
    assert blocker.args == ["decompose", "cancelled"]
    assert window.doc.layers == layers_before and window.undo.count() == undo_before
    assert window.status.progress.isHidden() and window.act["decompose"].isEnabled()


def test_engine_exception_becomes_an_error_dialog(window, qtbot, test_engines):
    mark_logo(window)
    window.settings.engine = "broken-test"
    assert run(window, qtbot, window.decompose, "decompose") == "failed"
    assert "engine exploded" in window.last_error
    assert [layer.kind for layer in window.doc.layers] == ["original"]


def test_replace_logo_with_svg_fits_the_old_quad(decomposed, tmp_path):
    w = decomposed
    svg = tmp_path / "new-logo.svg"
    svg.write_text(SVG)
    row = w.doc.index_of("logo")
    old = w.doc.layers[row]
    assert w.replace_logo(str(svg))
    new = w.doc.layers[row]
    assert new.asset.shape[1] == 2 * new.asset.shape[0]        # the SVG's 2:1 aspect
    assert tuple(new.asset[10, 10]) == (0, 192, 0, 255)
    # Fitted inside the old quad, same centre.
    np.testing.assert_allclose(new.quad.mean(axis=0), old.quad.mean(axis=0), atol=1e-6)
    assert new.quad[:, 0].min() >= old.quad[:, 0].min() - 1e-6
    assert new.quad[:, 1].min() >= old.quad[:, 1].min() - 1e-6
    w.undo.undo()
    assert w.doc.layers[row].asset is old.asset
    assert not w.replace_logo(str(tmp_path / "missing.svg"))


def test_perspective_drag_moves_one_corner(decomposed):
    w = decomposed
    w.set_tool(tools.PERSPECTIVE)
    row = w.doc.index_of("logo")
    quad = w.doc.layers[row].quad.copy()
    x, y = quad[2]
    drag(w.canvas, [(x, y), (x + 6, y + 4), (x + 12, y + 8)])
    new = w.doc.layers[row].quad
    np.testing.assert_allclose(new[2], quad[2] + [12, 8], atol=0.6)
    np.testing.assert_allclose(new[[0, 1, 3]], quad[[0, 1, 3]])
    w.undo.undo()
    np.testing.assert_allclose(w.doc.layers[row].quad, quad)


def test_move_and_transform_tools(decomposed):
    w = decomposed
    row = w.doc.index_of("logo")
    quad = w.doc.layers[row].quad.copy()
    cx, cy = quad.mean(axis=0)
    w.set_tool(tools.MOVE)
    drag(w.canvas, [(cx, cy), (cx + 10, cy - 5)])
    np.testing.assert_allclose(w.doc.layers[row].quad, quad + [10, -5], atol=0.6)
    w.undo.undo()
    w.set_tool(tools.TRANSFORM)
    x, y = quad[1]
    drag(w.canvas, [(x, y), (cx + (x - cx) * 1.5, cy + (y - cy) * 1.5)])
    scaled = w.doc.layers[row].quad
    np.testing.assert_allclose(scaled.mean(axis=0), quad.mean(axis=0), atol=1e-6)
    assert np.linalg.norm(scaled[1] - scaled[0]) == pytest.approx(
        1.5 * np.linalg.norm(quad[1] - quad[0]), rel=0.03)
    w.undo.undo()
    # Dragging outside the quad rotates it about its centre: a quarter turn here.
    r = 1.2 * np.linalg.norm(quad[1] - [cx, cy])
    arc = [(cx + r * np.cos(t), cy + r * np.sin(t)) for t in np.linspace(0, np.pi / 2, 8)]
    drag(w.canvas, arc)
    turned = w.doc.layers[row].quad
    np.testing.assert_allclose(turned.mean(axis=0), quad.mean(axis=0), atol=1e-6)
    expected = [cx, cy] + (quad[0] - [cx, cy]) @ np.array([[0, -1], [1, 0]]).T
    np.testing.assert_allclose(turned[0], expected, atol=1.0)
    assert w.undo.undoText() == "Rotate logo"


def test_arrow_keys_nudge_the_logo(decomposed, qtbot):
    w = decomposed
    row = w.doc.index_of("logo")
    quad = w.doc.layers[row].quad.copy()
    w.set_tool(tools.MOVE)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Right)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_allclose(w.doc.layers[row].quad, quad + [1, 10])
    w.undo.undo()
    w.undo.undo()
    np.testing.assert_allclose(w.doc.layers[row].quad, quad)


def test_layers_panel_visibility_rename_opacity_solo(decomposed):
    from PySide6.QtCore import Qt
    w = decomposed
    model = w.layers_panel.model
    idx = model.index(1)                               # Object
    assert model.data(idx, Qt.ItemDataRole.DecorationRole).width() == 48
    model.setData(idx, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert not w.doc.layers[1].visible and not w.canvas._items[1].isVisible()
    model.setData(idx, "Clean bottle", Qt.ItemDataRole.EditRole)
    assert w.doc.layers[1].name == "Clean bottle"
    w.layers_panel.view.setCurrentIndex(model.index(0))
    w.layers_panel.opacity_slider.setValue(40)
    assert w.doc.layers[0].opacity == pytest.approx(0.4)
    assert w.canvas._items[0].opacity() == pytest.approx(0.4)
    w.undo.undo()
    w.undo.undo()
    w.undo.undo()
    assert w.doc.layers[1].visible and w.doc.layers[1].name == "Object"
    assert w.doc.layers[0].opacity == 1.0
    w.act["solo"].trigger()
    assert [layer.visible for layer in w.doc.layers] == [True, False, False]
    w.act["solo"].trigger()
    assert [layer.visible for layer in w.doc.layers] == [True, True, False]


def test_tint_logo(decomposed):
    from PySide6.QtGui import QColor
    w = decomposed
    row = w.doc.index_of("logo")
    w.tint_logo(QColor(255, 0, 0))
    shown = w.doc.layers[row].shown_asset()
    opaque = shown[..., 3] > 200
    assert shown[..., 1][opaque].max() == 0
    w.undo.undo()
    assert w.doc.layers[row].tint is None


def test_recompose_adds_the_result_on_top(decomposed, qtbot, tmp_path):
    w = decomposed
    svg = tmp_path / "new-logo.svg"
    svg.write_text(SVG)
    assert w.replace_logo(str(svg))
    assert run(w, qtbot, w.recompose, "compose") == "ok", w.last_error
    top = w.doc.layers[0]
    assert top.kind == "recomposed" and top.visible
    obj = w.doc.layer("object").render(w.doc.shape)
    quad = w.doc.layer("logo").quad
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    inside = top.render(w.doc.shape)[y0:y1, x0:x1, :3].astype(int) - obj[y0:y1, x0:x1, :3]
    assert np.abs(inside).mean() > 10                   # the new logo is there
    far = (slice(0, 20), slice(0, 20))
    assert (top.render(w.doc.shape)[far] == obj[far]).all()      # nothing changed far away
    w.undo.undo()
    assert w.doc.layers[0].kind == "logo"


def test_engine_warnings_and_memory_fallback_reach_the_user(window, qtbot, test_engines):
    mark_logo(window)
    window.settings.engine = "oom-fallback-test"
    window.settings.steps = 3
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    notes = window.layers_panel.notes_label.text()
    assert "out of GPU memory with memory tier bf16; retrying with nf4" in notes
    assert "Ran with memory tier nf4 after running out of GPU memory with bf16" in notes
    status = window.statusBar().currentMessage()
    assert "Decompose done" in status and "out of GPU memory" in status
    # A run without warnings clears them.
    window.settings.engine = "slow-test"
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    assert window.layers_panel.notes_label.text() == ""
    assert "out of GPU memory" not in window.statusBar().currentMessage()


def test_layers_reorder_by_action_and_by_drag_with_undo_and_survive_a_project(decomposed,
                                                                              tmp_path, qtbot):
    from PySide6.QtCore import QModelIndex, QPoint, QPointF
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from layerlift.desktop.project import open_project

    w = decomposed

    def kinds():
        return [layer.kind for layer in w.doc.layers]

    def canvas_order():       # the canvas's items, top first by their z value
        pairs = zip(w.canvas._items, w.canvas._item_layers, strict=True)
        return [layer.kind for _, layer in sorted(pairs, key=lambda p: -p[0].zValue())]

    w.layers_panel.view.setCurrentIndex(w.layers_panel.model.index(0))
    assert not w.act["raise"].isEnabled() and w.act["lower"].isEnabled()      # the top layer
    w.act["lower"].trigger()
    assert kinds() == ["object", "logo", "original"] == canvas_order()
    assert w.layers_panel.selected_row() == 1 and w.act["raise"].isEnabled()
    # Dragging the bottom row into the gap above the first row: the model hands the move
    # to the window and never removes a row itself (the drop reports False to the view).
    model = w.layers_panel.model
    assert not model.dropMimeData(model.mimeData([model.index(2)]), Qt.DropAction.MoveAction,
                                  0, 0, QModelIndex())
    assert kinds() == ["original", "object", "logo"] == canvas_order()
    # Into the gap below the last row (row -1): the top layer goes to the bottom.
    model.dropMimeData(model.mimeData([model.index(0)]), Qt.DropAction.MoveAction, -1, 0,
                       QModelIndex())
    assert kinds() == ["object", "logo", "original"]
    assert w.undo.undoText() == "Move layer Original"
    # Through the view, as a drop event at the top edge of the first row: the view works out
    # the gap, the model the move.
    view = w.layers_panel.view
    top = view.visualRect(model.index(0)).topLeft() + QPoint(10, 2)
    data = model.mimeData([model.index(2)])
    buttons, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for event in (QDragEnterEvent(top, Qt.DropAction.MoveAction, data, buttons, none),
                  QDragMoveEvent(top, Qt.DropAction.MoveAction, data, buttons, none),
                  QDropEvent(QPointF(top), Qt.DropAction.MoveAction, data, buttons, none)):
        QApplication.sendEvent(view.viewport(), event)
    assert kinds() == ["original", "object", "logo"]
    w.undo.undo()
    assert kinds() == ["object", "logo", "original"]
    path = tmp_path / "order.ora"
    assert w.save_project(str(path)), w.last_error
    assert w.finish_file_writes(), w.last_error
    assert [layer.kind for layer in open_project(path)[0].layers] == kinds()
    for _ in range(3):
        w.undo.undo()
    assert kinds() == ["logo", "object", "original"] == canvas_order()
    # Recompose after a move still finds the logo and object by kind.
    w.undo.redo()
    assert kinds() == ["object", "logo", "original"]
    assert run(w, qtbot, w.recompose, "compose") == "ok", w.last_error
    assert kinds() == ["recomposed", "object", "logo", "original"]
