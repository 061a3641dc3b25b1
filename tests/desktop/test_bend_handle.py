"""The bend handle on the canvas (desktop/bend_handle.py), driven by real mouse events on the
canvas's viewport: drag it to bend the logo live, one undo step, the Bend slider following;
the corner handles and the quad drag as before; shown with the transform tools only."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from layerlift.desktop import bend_handle
from layerlift.desktop import canvas as tools
from layerlift.desktop.bend_control import UNDO_TEXT
from layerlift.desktop.document import LOGO
from layerlift.desktop.qimage import qimage_to_rgba
from layerlift.inference.contract import BEND_LIMIT
from layerlift.inference.warp import top_middle
from tests.desktop.events import scene_to_viewport

LEFT = Qt.MouseButton.LeftButton
LABEL = (230, 20, 20)            # an opaque red label: its top edge is easy to find on screen


@pytest.fixture
def labelled(decomposed):
    """The decomposed window, its logo replaced by a flat opaque red label on the same quad,
    the transform tool on."""
    w = decomposed
    row = w.doc.index_of(LOGO)
    quad = w.doc.layers[row].quad
    h, wd = int(round(quad[2, 1] - quad[0, 1])), int(round(quad[1, 0] - quad[0, 0]))
    label = np.zeros((h, wd, 4), np.uint8)
    label[...] = (*LABEL, 255)
    w.edit_layer(row, "Replace logo", asset=label, ink=None)
    w.set_tool(tools.TRANSFORM)
    return w


def row_of(w) -> int:
    return w.doc.index_of(LOGO)


def view_point(w, x: float, y: float) -> QPoint:
    p = scene_to_viewport(w.canvas, x, y)
    return QPoint(round(p.x()), round(p.y()))


def handle_view_point(w) -> QPoint:
    layer = w.doc.layers[row_of(w)]
    return view_point(w, *top_middle(layer.quad, layer.bend))


def mouse_drag(qtbot, w, start: QPoint, moves) -> None:
    """A real press at `start`, moves through `moves` (viewport points), release at the last."""
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, LEFT, pos=start)
    for p in moves:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, LEFT, pos=moves[-1] if moves else start)


def screen(w) -> np.ndarray:
    """The canvas's viewport as drawn (RGB)."""
    return qimage_to_rgba(w.canvas.viewport().grab().toImage())[..., :3].astype(np.int16)


def label_tops(shot: np.ndarray, columns) -> np.ndarray:
    """The first screen row of the red label in each viewport column."""
    red = (shot[..., 0] > 180) & (shot[..., 1] < 90) & (shot[..., 2] < 90)
    assert red[:, columns].any(axis=0).all(), "the label is not on screen in those columns"
    return np.argmax(red[:, columns], axis=0)


def label_columns(w) -> list[int]:
    quad = w.doc.layers[row_of(w)].quad
    left, right = view_point(w, *quad[0]).x(), view_point(w, *quad[1]).x()
    return [round(left + share * (right - left)) for share in (0.15, 0.5, 0.85)]


def test_the_handle_sits_on_the_bent_top_edge_with_the_transform_tools_only(labelled):
    w = labelled
    frame, row = w.canvas.frame, row_of(w)
    w.edit_layer(row, UNDO_TEXT, bend=30.0)
    quad = w.doc.layers[row].quad
    for tool in (tools.TRANSFORM, tools.PERSPECTIVE):
        w.set_tool(tool)
        assert frame.isVisible()
        np.testing.assert_allclose(frame.bend_at, top_middle(quad, 30.0))
        assert frame.bend_at[1] < quad[0, 1] - 3             # up on the arc, off the quad
        assert frame.bent is not None                       # the bent outline, dashed
    # On screen: the filled diamond just above the handle's centre (over the arched label's
    # top, where no quad edge runs).
    hp = handle_view_point(w)
    above = screen(w)[hp.y() - 3, hp.x()]
    assert tuple(above) == tools.FRAME_COLOUR.getRgb()[:3]
    for tool in (tools.MOVE, tools.BRUSH, tools.SELECT):
        w.set_tool(tool)
        assert frame.bend_at is None or not frame.isVisible(), tool
        assert tuple(screen(w)[hp.y() - 3, hp.x()]) != tools.FRAME_COLOUR.getRgb()[:3], tool
    w.set_tool(tools.TRANSFORM)
    w.edit_layer(row, visible=False)                         # a hidden logo: no handle
    assert not frame.isVisible()
    assert w.canvas._bend_handle_at(scene_point(w, hp)) is None


def scene_point(w, p: QPoint):
    return w.canvas.mapToScene(p)


def test_no_handle_without_a_logo(window):
    window.set_tool(tools.TRANSFORM)
    assert window.doc.index_of(LOGO) is None
    assert not window.canvas.frame.isVisible()
    h, wd = window.doc.shape
    assert window.canvas._bend_handle_at(scene_point(window, view_point(window, wd / 2, h / 2))) \
        is None


def test_dragging_the_handle_up_bends_live_and_is_one_undo_step(labelled, qtbot):
    w = labelled
    row, slider = row_of(w), w.bend_control.slider
    qtbot.waitExposed(w.canvas)
    flat = w.doc.layers[row]
    flat_shot, columns = screen(w), label_columns(w)
    flat_tops = label_tops(flat_shot, columns)
    steps = w.undo.count()
    start = handle_view_point(w)
    moves = [start - QPoint(0, dy) for dy in (4, 8, 14, 20)]
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, LEFT, pos=start)
    live = []
    for p in moves:
        qtbot.mouseMove(vp, p)
        live.append(w.doc.layers[row].bend)
        assert slider.value() == w.doc.layers[row].bend       # the slider follows, live
        assert w.undo.count() == steps                        # no undo step while dragging
    live_tops = label_tops(screen(w), columns)                # the canvas shows it live
    assert live_tops[1] < flat_tops[1] - 5, (live_tops, flat_tops)
    qtbot.mouseRelease(vp, LEFT, pos=moves[-1])
    assert 0 < live[0] < live[-1] and live == sorted(live), live
    bent = w.doc.layers[row]
    assert bent.bend == live[-1] == round(bent.bend)         # whole percent, as the slider
    assert np.array_equal(bent.quad, flat.quad)              # a bend, not a move
    assert w.undo.count() == steps + 1 and w.undo.undoText() == UNDO_TEXT
    assert slider.value() == bent.bend
    assert w.bend_control.value_label.text() == f"{round(bent.bend)} %"
    # The handle followed the mouse up (to within a percent's rounding).
    assert abs(handle_view_point(w).y() - moves[-1].y()) <= 2
    # On screen the label's top edge rose unevenly: the middle by far the most.
    bent_shot = screen(w)
    rises = flat_tops - label_tops(bent_shot, columns)
    assert rises[1] >= 8 and rises[1] >= max(rises[0], rises[2]) + 5, rises
    w.undo.undo()
    assert w.doc.layers[row].bend == 0 and slider.value() == 0
    assert np.array_equal(w.doc.layers[row].quad, flat.quad)
    assert np.array_equal(screen(w), flat_shot)
    w.undo.redo()
    assert w.doc.layers[row].bend == bent.bend and slider.value() == bent.bend
    assert np.array_equal(screen(w), bent_shot)


def test_dragging_down_sags_and_the_bend_stops_at_its_limit(labelled, qtbot):
    w = labelled
    row, start, steps = row_of(w), handle_view_point(w), w.undo.count()
    mouse_drag(qtbot, w, start, [start + QPoint(0, 10)])
    assert w.doc.layers[row].bend < 0                        # down: the middle sags
    start = handle_view_point(w)
    mouse_drag(qtbot, w, start, [start - QPoint(0, 200), start - QPoint(0, 400)])
    assert w.doc.layers[row].bend == BEND_LIMIT
    assert w.bend_control.slider.value() == BEND_LIMIT
    start = handle_view_point(w)
    mouse_drag(qtbot, w, start, [start + QPoint(0, 600)])
    assert w.doc.layers[row].bend == -BEND_LIMIT
    assert w.undo.count() == steps + 3 and w.undo.undoText() == UNDO_TEXT


def test_a_press_beside_the_handles_centre_does_not_jump(labelled, qtbot):
    w = labelled
    steps = w.undo.count()
    start = handle_view_point(w) + QPoint(3, 3)
    mouse_drag(qtbot, w, start, [start + QPoint(1, 0)])
    assert w.doc.layers[row_of(w)].bend == 0
    assert w.undo.count() == steps                           # nothing changed: no step


def test_the_corner_handles_and_the_quad_drag_keep_working(labelled, qtbot):
    w = labelled
    row = row_of(w)
    w.edit_layer(row, UNDO_TEXT, bend=20.0)
    w.set_tool(tools.PERSPECTIVE)
    quad = w.doc.layers[row].quad.copy()
    corner = view_point(w, *quad[1])
    mouse_drag(qtbot, w, corner, [corner + QPoint(6, -6), corner + QPoint(12, -9)])
    moved = w.doc.layers[row].quad
    assert np.linalg.norm(moved[1] - quad[1]) > 2 and np.allclose(moved[[0, 2, 3]], quad[[0, 2, 3]])
    assert w.doc.layers[row].bend == 20 and w.undo.undoText() == "Perspective"
    w.undo.undo()
    # Inside the quad, away from the handle: the logo moves, the bend stays.
    inside = view_point(w, *quad.mean(axis=0))
    mouse_drag(qtbot, w, inside, [inside + QPoint(10, 10)])
    assert w.undo.undoText() == "Move logo" and w.doc.layers[row].bend == 20
    assert not np.allclose(w.doc.layers[row].quad, quad)


def test_a_corner_handle_wins_where_it_overlaps_the_bend_handle(labelled, qtbot):
    w = labelled
    row = row_of(w)
    quad = w.doc.layers[row].quad.copy()
    width = quad[1, 0] - quad[0, 0]
    w.canvas.set_zoom(14 / width)               # the logo 14 px wide: handles 7 px apart
    w.canvas.centerOn(*quad.mean(axis=0))
    assert w.canvas._bend_handle_at(scene_point(w, handle_view_point(w))) is None
    start = handle_view_point(w)
    mouse_drag(qtbot, w, start, [start - QPoint(0, 5)])
    assert w.doc.layers[row].bend == 0 and w.undo.undoText() == "Scale logo"


def test_hovering_the_handle_shows_how_to_use_it(labelled, qtbot):
    w = labelled
    vp = w.canvas.viewport()
    away = view_point(w, *w.doc.layers[row_of(w)].quad.mean(axis=0))
    qtbot.mouseMove(vp, away)
    assert vp.cursor().shape() == Qt.CursorShape.SizeAllCursor
    qtbot.mouseMove(vp, handle_view_point(w))
    assert vp.cursor().shape() == Qt.CursorShape.SizeVerCursor
    assert vp.toolTip() == bend_handle.HINT
    assert w.statusBar().currentMessage() == bend_handle.HINT
    qtbot.mouseMove(vp, away)
    assert vp.cursor().shape() == Qt.CursorShape.SizeAllCursor and vp.toolTip() == ""


def test_a_double_click_on_the_handle_makes_the_logo_flat(labelled, qtbot):
    w = labelled
    row = row_of(w)
    w.edit_layer(row, UNDO_TEXT, bend=-35.0)
    steps = w.undo.count()
    qtbot.mouseDClick(w.canvas.viewport(), LEFT, pos=handle_view_point(w))
    assert w.doc.layers[row].bend == 0 and w.bend_control.slider.value() == 0
    assert w.undo.count() == steps + 1 and w.undo.undoText() == UNDO_TEXT
    w.undo.undo()
    assert w.doc.layers[row].bend == -35


def test_a_plain_click_keeps_a_fractional_bend(labelled, qtbot):
    # A decomposed mark's bend is estimated to 0.1 %: a click on the handle must not round it.
    w = labelled
    row = row_of(w)
    w.edit_layer(row, UNDO_TEXT, bend=23.4)
    steps, start = w.undo.count(), handle_view_point(w)
    mouse_drag(qtbot, w, start, [start, start + QPoint(1, 0)])
    assert w.doc.layers[row].bend == 23.4 and w.undo.count() == steps


def test_an_undo_during_a_drag_ends_it_without_a_step(labelled, qtbot):
    # The drag's "before" is no longer the layer once an undo has changed it: pushing it would
    # bring the undone nudge back with the next undo.
    w = labelled
    row = row_of(w)
    flat_quad = w.doc.layers[row].quad.copy()
    w.edit_layer(row, "Move logo", quad=flat_quad + [10, 0])
    steps, start = w.undo.count(), handle_view_point(w)
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, LEFT, pos=start)
    qtbot.mouseMove(vp, start - QPoint(0, 8))
    w.undo.undo()                                    # Ctrl+Z mid-drag: the nudge undone
    qtbot.mouseMove(vp, start - QPoint(0, 16))
    qtbot.mouseRelease(vp, LEFT, pos=start - QPoint(0, 16))
    assert w.undo.count() == steps and w.undo.index() == steps - 1
    assert w.undo.undoText() != UNDO_TEXT
    assert np.array_equal(w.doc.layers[row].quad, flat_quad) and w.doc.layers[row].bend == 0


def test_a_tool_switch_during_a_drag_ends_it_with_its_step(labelled, qtbot):
    w = labelled
    row, steps, start = row_of(w), w.undo.count(), handle_view_point(w)
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, LEFT, pos=start)
    qtbot.mouseMove(vp, start - QPoint(0, 12))
    bent = w.doc.layers[row].bend
    w.set_tool(tools.BRUSH)                          # a shortcut pressed mid-drag
    assert bent > 0 and w.undo.count() == steps + 1 and w.undo.undoText() == UNDO_TEXT
    qtbot.mouseMove(vp, start - QPoint(0, 30))       # the drag is over: nothing follows
    qtbot.mouseRelease(vp, LEFT, pos=start - QPoint(0, 30))
    assert w.doc.layers[row].bend == bent and w.undo.count() == steps + 1


def test_on_a_rotated_logo_the_handle_moves_along_the_logos_own_up(labelled, qtbot):
    w = labelled
    row = row_of(w)
    quad = w.doc.layers[row].quad
    centre = quad.mean(axis=0)
    turned = (quad - centre) @ np.array([[0.0, 1.0], [-1.0, 0.0]]) + centre   # 90 degrees
    w.edit_layer(row, "Rotate logo", quad=turned)
    up = (turned[0] + turned[1]) / 2 - (turned[3] + turned[2]) / 2
    assert abs(up[1]) < 1e-6                         # the logo's up is sideways on screen
    vp = w.canvas.viewport()
    qtbot.mouseMove(vp, handle_view_point(w))
    assert vp.cursor().shape() == Qt.CursorShape.SizeHorCursor
    start = handle_view_point(w)
    away = QPoint(20 if up[0] > 0 else -20, 0)
    mouse_drag(qtbot, w, start, [start + away])
    assert w.doc.layers[row].bend > 0                # away from the logo arches it
    assert np.allclose(w.doc.layers[row].quad, turned)


def test_a_double_click_while_panning_does_not_flatten(labelled, qtbot):
    w = labelled
    row = row_of(w)
    w.edit_layer(row, UNDO_TEXT, bend=-35.0)
    steps = w.undo.count()
    w.canvas._space = True                           # Space held: the mouse pans
    qtbot.mouseDClick(w.canvas.viewport(), LEFT, pos=handle_view_point(w))
    w.canvas._space = False
    assert w.doc.layers[row].bend == -35 and w.undo.count() == steps
