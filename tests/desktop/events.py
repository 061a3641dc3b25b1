"""Mouse events delivered through Qt's normal event path (tests, benchmarks, screenshots)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication


def send_mouse(widget, kind: QEvent.Type, pos: QPointF, button=Qt.MouseButton.LeftButton,
               buttons=None) -> None:
    """Deliver a mouse event through Qt's normal event path (what a real drag produces)."""
    if buttons is None:
        buttons = button if kind != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton
    global_pos = QPointF(widget.mapToGlobal(QPoint(round(pos.x()), round(pos.y()))))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def scene_to_viewport(canvas, x: float, y: float) -> QPointF:
    return canvas.viewportTransform().map(QPointF(x, y))


def drag(canvas, points, button=Qt.MouseButton.LeftButton) -> None:
    """Press at the first scene point, move through the others, release at the last."""
    vp = canvas.viewport()
    pts = [scene_to_viewport(canvas, x, y) for x, y in points]
    send_mouse(vp, QEvent.Type.MouseButtonPress, pts[0], button)
    for p in pts[1:]:
        send_mouse(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, button)
    send_mouse(vp, QEvent.Type.MouseButtonRelease, pts[-1], button)
