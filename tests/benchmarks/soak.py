"""Soak of the desktop app (issue 12): 5,000 brush moves, then 200 cycles of decompose ->
recompose -> undo -> undo, through the real window (offscreen), watching resident memory
and the thread count.

Targets: no crash; RSS at the end within 5 % of RSS after a warm-up (the first 10 cycles:
caches and first-run imports settle there); the thread count back to where it was.
`make soak` runs it and fails when a target is missed.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.benchmarks.soak [--cycles N]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer  # noqa: E402

WARM_UP = 10


def wait_for_job(window, start) -> str:
    """Run `start()` and the event loop until the job ends; returns its outcome."""
    loop, outcome = QEventLoop(), []

    def done(_kind: str, result: str) -> None:
        outcome.append(result)
        loop.quit()
    window.job_done.connect(done)
    try:
        if not start():
            return "not started"
        if not outcome:                     # (it may have ended already)
            QTimer.singleShot(120_000, loop.quit)
            loop.exec()
    finally:
        window.job_done.disconnect(done)
    return outcome[0] if outcome else "timed out"


def brush(window, app, moves: int) -> None:
    from layerlift.desktop import canvas as tools
    from tests.desktop.events import scene_to_viewport, send_mouse

    canvas = window.canvas
    window.set_tool(tools.BRUSH)
    window.brush_bar.size_spin.setValue(6)
    vp = canvas.viewport()
    h, w = window.doc.shape
    send_mouse(vp, QEvent.Type.MouseButtonPress, scene_to_viewport(canvas, w / 2, h / 2))
    for i in range(moves):
        t = i / moves * 20 * math.pi
        r = (0.1 + 0.35 * i / moves) * min(h, w)
        p = scene_to_viewport(canvas, w / 2 + r * math.cos(t), h / 2 + r * math.sin(t))
        send_mouse(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton,
                   Qt.MouseButton.LeftButton)
        if i % 25 == 0:
            app.processEvents()
    send_mouse(vp, QEvent.Type.MouseButtonRelease, p)
    app.processEvents()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--moves", type=int, default=5000)
    args = parser.parse_args(argv)

    home = tempfile.mkdtemp(prefix="layerlift-soak-")
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[key] = os.path.join(home, key.lower())
    from layerlift.desktop.app import application
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings
    from layerlift.inference.imageio import save_png
    from tests.desktop.conftest import make_photo

    app = application()
    MainWindow.ask_before_close = False
    window = MainWindow(Settings(), autosave_seconds=3600)
    window.resize(900, 700)
    window.show()
    photo = os.path.join(home, "photo.png")
    save_png(photo, make_photo(360, 480))
    assert window.open_path(photo), window.last_error
    me = psutil.Process()
    t0 = time.perf_counter()

    brush(window, app, args.moves)
    rss_brush = me.memory_info().rss
    print(f"{args.moves} brush moves: {time.perf_counter() - t0:.1f} s, "
          f"RSS {rss_brush / 2**20:.0f} MB")

    window.doc.fill_rect((170, 130, 330, 230))
    warm_rss = warm_threads = None
    failures = []
    warm_up = min(WARM_UP, max(1, args.cycles // 2))
    t1 = time.perf_counter()
    for cycle in range(args.cycles):
        for step in ("decompose", "recompose"):
            result = wait_for_job(window, getattr(window, step))
            if result != "ok":
                failures.append(f"cycle {cycle} {step}: {result} {window.last_error}")
        window.undo.undo()
        window.undo.undo()
        app.processEvents()
        if cycle < 3 or cycle % 25 == 0:
            print(f"  cycle {cycle}: {time.perf_counter() - t1:.1f} s", flush=True)
        if cycle + 1 == warm_up:
            warm_rss, warm_threads = me.memory_info().rss, me.num_threads()
    end_rss, end_threads = me.memory_info().rss, me.num_threads()
    growth = (end_rss - warm_rss) / warm_rss if warm_rss else 0.0
    print(f"{args.cycles} cycles decompose -> recompose -> undo -> undo: "
          f"{time.perf_counter() - t1:.1f} s")
    print(f"RSS after {warm_up} cycles {warm_rss / 2**20:.0f} MB, at the end "
          f"{end_rss / 2**20:.0f} MB: growth {growth * 100:+.1f} % (target <= 5 %)")
    print(f"threads after {warm_up} cycles {warm_threads}, at the end {end_threads} "
          f"(Python threads {threading.active_count()})")
    window.close()
    ok = not failures and growth <= 0.05 and end_threads <= warm_threads
    for failure in failures[:5]:
        print("FAILED", failure)
    print("soak:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
