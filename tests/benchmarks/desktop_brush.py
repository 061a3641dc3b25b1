"""Brush cost per mouse-move on a 6000x4000 photo (target: p95 <= 4 ms).

Run: .venv/bin/python -m tests.benchmarks.desktop_brush
Each move goes through the canvas's real event path (QMouseEvent -> stamp into the numpy mask
-> recolour the dirty rect of the overlay -> schedule a repaint). "move" times the handler;
"move+paint" also runs the event loop after each move so the canvas repaints the dirty region.
Wall time includes whatever else the (shared) machine does; the GUI thread's CPU time is the
app's own cost.
"""

from __future__ import annotations

import math
import time

from tests.benchmarks.desktop_common import (
    big_photo,
    machine_load,
    open_window,
    percentiles,
    setup_qt,
)


def main() -> None:
    setup_qt()
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtWidgets import QApplication

    from layerlift.desktop.canvas import BRUSH
    from tests.desktop.events import send_mouse

    app, window = open_window(big_photo())
    window.set_tool(BRUSH)
    # Let the worker's warm-up (the engine loads 1 s after the window shows) finish first.
    settle = time.perf_counter() + 2.5
    while time.perf_counter() < settle:
        app.processEvents()
        time.sleep(0.005)
    canvas, vp = window.canvas, window.canvas.viewport()
    h, w = window.doc.shape
    print(f"photo {w}x{h}, viewport {vp.width()}x{vp.height()}, "
          f"platform {QApplication.platformName()}; {machine_load()}")

    for zoom_name, set_zoom, size in (("fit", canvas.fit, 120), ("100 %", canvas.actual_size, 40)):
        set_zoom()
        canvas.centerOn(w / 2, h / 2)
        window.brush_bar.size_spin.setValue(size)
        app.processEvents()
        for with_paint in (None, False, True):     # None: one warm-up round, not reported
            times, cpu, press = [], [], []
            for stroke in range(6 if with_paint is not None else 1):
                # Each stroke: a wavy line across the visible area, 100 moves, ~8 px apart on
                # screen (a fast hand on a 1000 Hz mouse gives about that).
                y0 = vp.height() * (0.2 + 0.1 * stroke)
                pts = [(vp.width() * 0.1 + 8 * i, y0 + 20 * math.sin(i / 8)) for i in range(100)]
                first = QPointF(*pts[0])
                t = time.perf_counter()
                send_mouse(vp, QEvent.Type.MouseButtonPress, first)
                press.append(time.perf_counter() - t)
                for x, y in pts[1:]:
                    p = QPointF(x, y)
                    t, c = time.perf_counter(), time.thread_time()
                    send_mouse(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton,
                               Qt.MouseButton.LeftButton)
                    if with_paint:
                        app.processEvents()
                    times.append(time.perf_counter() - t)
                    cpu.append(time.thread_time() - c)
                send_mouse(vp, QEvent.Type.MouseButtonRelease, QPointF(*pts[-1]))
                app.processEvents()
            if with_paint is None:
                continue
            label = "move+paint" if with_paint else "move      "
            print(f"zoom {zoom_name:5s} brush {size:3d} px  {label}: wall {percentiles(times)}")
            print(f"{'':27s}{'':12s}GUI-thread CPU {percentiles(cpu)}")
        print(f"zoom {zoom_name:5s} stroke start (mask snapshot for undo): {percentiles(press)}")
    window.close()


if __name__ == "__main__":
    main()
