"""The bend handle on the canvas: a diamond at the middle of the logo's top edge, where the
bent edge really is (the core's placement, inference/warp.py), shown with the transform and
perspective tools. Dragging it away from the logo (up, for an upright logo) arches the
logo's middle (bend > 0), towards it sags it, as the Bend slider does; a double-click on it
makes the logo flat again.

This module is the handle's geometry (where it is, whether a point is on it, the bend a drag
gives); the canvas draws it with the logo's frame and turns its mouse events into edits.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPolygonF

from layerlift.inference.warp import bend_for_top_middle, bent_outline, top_middle

HINT = ("Drag to bend the logo round a cylinder (away from the logo arches it, towards it "
        "sags it; double-click: flat)")
# The resize cursors by the direction of the logo's own up on screen, a 45 degree step each.
CURSORS = (Qt.CursorShape.SizeHorCursor, Qt.CursorShape.SizeBDiagCursor,
           Qt.CursorShape.SizeVerCursor, Qt.CursorShape.SizeFDiagCursor)


def handle_point(quad: np.ndarray, bend: float) -> np.ndarray:
    """Where the handle sits (photo x, y): the middle of the bent logo's top edge."""
    return top_middle(quad, bend)


def on_handle(quad: np.ndarray, bend: float, x: float, y: float, radius: float) -> bool:
    """Whether photo point (x, y) is within `radius` (photo units) of the handle."""
    hx, hy = handle_point(quad, bend)
    return bool(np.hypot(hx - x, hy - y) <= radius)


def dragged_bend(quad: np.ndarray, grab: np.ndarray, to: tuple[float, float],
                 start: float) -> float | None:
    """The bend, in whole percent as the slider has it, when the handle is dragged so that the
    point of it that was grabbed (`grab`: the handle's position minus the press, so a press
    beside its centre does not make it jump) follows the mouse to `to`; `start` (the bend
    when the drag began) while the drag has moved it by less than half a percent, so that a
    plain click does not round a bend estimated to 0.1 %. None where the mouse is beyond the
    quad's horizon: the bend stays as it is."""
    bend = bend_for_top_middle(quad, (to[0] + grab[0], to[1] + grab[1]))
    if bend is None:
        return None
    return start if abs(bend - start) < 0.5 else float(round(bend))


def drag_cursor(quad: np.ndarray) -> Qt.CursorShape:
    """The resize cursor along the logo's own up (the quad's left and right sides' middle
    line), which is where the handle moves: vertical for an upright logo."""
    up = (quad[0] + quad[1]) / 2 - (quad[3] + quad[2]) / 2
    angle = np.degrees(np.arctan2(-up[1], up[0])) % 180      # (screen y runs down)
    return CURSORS[int((angle + 22.5) // 45) % 4]


def bent_edge(quad: np.ndarray, bend: float) -> QPolygonF | None:
    """The bent logo's outline, drawn dashed beside the quad; None when the logo is flat."""
    if bend == 0:
        return None
    return QPolygonF([QPointF(x, y) for x, y in bent_outline(quad, bend)])


def diamond(x: float, y: float, half: float) -> QPolygonF:
    """The handle's shape: a diamond (the corner handles are squares)."""
    return QPolygonF([QPointF(x, y - half), QPointF(x + half, y), QPointF(x, y + half),
                      QPointF(x - half, y)])
