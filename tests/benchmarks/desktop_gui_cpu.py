"""The GUI thread's own CPU time per decomposition and per recompose: what the window's stall
is made of, in a figure the other engineers' load hardly moves (desktop_stall's wall-clock
gaps grow with the machine's load; a thread's CPU time does not, much).

Run: .venv/bin/python -m tests.benchmarks.desktop_gui_cpu
The same window and 24 MP photo as desktop_stall. For each job, in milliseconds of
`time.thread_time()` on the GUI thread: submitting it (Decompose / Ctrl+R), turning its result
into layers (the Editor's handler, all the document's listeners included), the canvas's
paints until the job is shown, and the longest CPU time between two beats of a 2 ms heartbeat
(the GUI thread's longest piece of work). Medians and worst over the runs are printed.
"""

from __future__ import annotations

import statistics
import time

from tests.benchmarks.desktop_common import big_photo, logo_box, machine_load, open_window, setup_qt

RUNS = 10
RECOMPOSE_RUNS = 6


def main() -> None:
    setup_qt()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QGraphicsView

    from layerlift.desktop.canvas import Canvas
    from layerlift.desktop.editor import Editor

    spent = {"handler": 0.0, "paint": 0.0}
    handler = Editor._on_job_finished

    def timed_handler(self, *args):
        start = time.thread_time()
        handler(self, *args)
        spent["handler"] += time.thread_time() - start

    def timed_paint(self, event):
        start = time.thread_time()
        QGraphicsView.paintEvent(self, event)
        spent["paint"] += time.thread_time() - start

    Editor._on_job_finished = timed_handler      # (before the window connects it)
    Canvas.paintEvent = timed_paint
    app, window = open_window(big_photo())
    window.doc.fill_rect(logo_box())
    beats: list[float] = []
    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(lambda: beats.append(time.thread_time()))
    timer.start()

    def spin(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.0005)

    def run(start_job) -> dict[str, float]:
        done: dict[str, bool] = {}
        def job_done(*_args) -> None:
            done.setdefault("ok", True)
        window.job_done.connect(job_done)
        spent["handler"] = spent["paint"] = 0.0
        first = len(beats)
        start = time.thread_time()
        assert start_job()
        submit = time.thread_time() - start
        while not done:
            app.processEvents()
            time.sleep(0.0005)
        spin(0.08)                                   # the paint that shows it
        # (only this slot: the canvas and the layers panel listen to the same signal)
        window.job_done.disconnect(job_done)
        ticks = beats[first:]
        longest = max((b - a for a, b in zip(ticks, ticks[1:], strict=False)), default=0.0)
        return {"submitting": submit, "result to layers": spent["handler"],
                "canvas paints": spent["paint"], "longest piece of work": longest}

    spin(3.0)                          # the worker's warm-up (1 s after the window shows)
    rows = {"decomposition": [], "recompose": []}
    for _ in range(RUNS):
        window.undo.clear()
        spin(0.1)
        rows["decomposition"].append(run(window.decompose))
    for _ in range(RECOMPOSE_RUNS):
        rows["recompose"].append(run(window.recompose))
    print(machine_load())
    for job, results in rows.items():
        print(f"{job} ({len(results)} runs), GUI thread CPU ms, median / worst:")
        for name in results[0]:
            values = [r[name] * 1000 for r in results]
            print(f"  {name:22s} {statistics.median(values):5.1f} / {max(values):5.1f}")
    timer.stop()
    window.close()


if __name__ == "__main__":
    main()
