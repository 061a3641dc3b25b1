"""The GUI thread's work per brush move and per decomposition result, in instructions counted
by callgrind: a figure the shared machine's load does not move (wall-clock gaps and even a
thread's CPU time do).

Run (MODE: `brush` or `result`):
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=ffi_call \\
        --callgrind-out-file=/tmp/counted.out \\
        .venv/bin/python -m tests.benchmarks.desktop_counted MODE
    callgrind_annotate /tmp/counted.out | grep TOTALS     # the measured work's instructions
Without valgrind it prints the GUI thread's CPU time of the same work. Under valgrind a run
takes 5-10 minutes (most of it the start and the worker's decompositions, not collected).

The measured work runs inside one C call (libc's qsort calling back into Python through
ctypes), so `--toggle-collect=ffi_call` collects exactly that work: for `brush`, 2 strokes of
99 mouse moves at fit zoom on the 6000x4000 photo, each move with its repaint (as
desktop_brush); for `result`, 2 decompositions' results turned into layers, with the repaints
that show them (the decomposition itself runs on the worker first, not collected). The same
file runs on the code before the Editor split (8fadc12) for an A/B.
"""

from __future__ import annotations

import ctypes
import math
import sys
import time

from tests.benchmarks.desktop_common import big_photo, logo_box, open_window, setup_qt

STROKES = 2
RESULTS = 2


def collected(work) -> float:
    """Run `work` inside qsort's comparator (the part callgrind collects); its GUI CPU s."""
    libc = ctypes.CDLL(None)
    compare_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    spent: list[float] = []

    def compare(_a, _b) -> int:
        if not spent:                       # (called once for two items; once is enough)
            start = time.thread_time()
            work()
            spent.append(time.thread_time() - start)
        return 0

    libc.qsort((ctypes.c_int * 2)(1, 2), 2, ctypes.sizeof(ctypes.c_int), compare_type(compare))
    return spent[0]


def spin(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.0005)


def brush() -> list[float]:
    from PySide6.QtCore import QEvent, QPointF, Qt

    from layerlift.desktop.canvas import BRUSH
    from tests.desktop.events import send_mouse

    app, window = open_window(big_photo())
    window.set_tool(BRUSH)
    spin(app, 2.5)                          # the worker's warm-up
    canvas, vp = window.canvas, window.canvas.viewport()
    h, w = window.doc.shape
    canvas.fit()
    canvas.centerOn(w / 2, h / 2)
    getattr(window, "brush_bar", window).size_spin.setValue(120)   # (8fadc12: the window's)
    app.processEvents()

    def stroke(row: int, measured: bool) -> float:
        y0 = vp.height() * (0.2 + 0.1 * row)
        points = [QPointF(vp.width() * 0.1 + 8 * i, y0 + 20 * math.sin(i / 8))
                  for i in range(100)]
        send_mouse(vp, QEvent.Type.MouseButtonPress, points[0])
        app.processEvents()

        def moves() -> None:
            for p in points[1:]:
                send_mouse(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton,
                           Qt.MouseButton.LeftButton)
                app.processEvents()
        if measured:
            spent = collected(moves)
        else:
            moves()
            spent = 0.0
        send_mouse(vp, QEvent.Type.MouseButtonRelease, points[-1])
        app.processEvents()
        return spent

    stroke(0, measured=False)               # warm-up
    return [stroke(row, measured=True) / 99 for row in range(1, STROKES + 1)]


def result() -> list[float]:
    try:
        from layerlift.desktop.editor import Editor as Handler
    except ImportError:                     # before the Editor split: the window's own
        from layerlift.desktop.main_window import MainWindow as Handler
    handle = Handler._on_job_finished
    delivered: list[tuple] = []
    # The worker's result is held back as it arrives, to be handled inside `collected`.
    Handler._on_job_finished = lambda self, *args: delivered.append((self, args))
    app, window = open_window(big_photo())
    window.doc.fill_rect(logo_box())
    spin(app, 3.0)
    spent = []
    for run in range(RESULTS + 1):
        window.undo.clear()
        spin(app, 0.1)
        delivered.clear()
        assert window.decompose()
        while not delivered:
            app.processEvents()
            time.sleep(0.001)
        spin(app, 0.05)
        owner, args = delivered[0]

        def show(owner=owner, args=args) -> None:
            handle(owner, *args)
            for _ in range(30):             # the repaints that show it
                app.processEvents()
        if run == 0:
            show()                          # warm-up
        else:
            spent.append(collected(show))
        spin(app, 0.1)
    return spent


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "brush"
    setup_qt()
    if mode == "brush":
        spent = brush()
        what = "per brush move (fit zoom, 120 px brush, repaint included)"
    elif mode == "result":
        spent = result()
        what = "per decomposition result turned into layers and shown"
    else:
        raise SystemExit("mode: brush or result")
    print(f"GUI thread CPU {what}: " + ", ".join(f"{s * 1000:.2f} ms" for s in spent))


if __name__ == "__main__":
    main()
