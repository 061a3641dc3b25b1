"""Saving and exporting a 24 MP document from the app: how long the write takes, and the
longest event-loop stall while it is written (the same 2 ms QTimer heartbeat as
desktop_stall).

Run: .venv/bin/python -m tests.benchmarks.desktop_save [ROUNDS]   (default 1 round of 4 writes)
The document is a decomposed 6000x4000 photo (Original, Object, Logo). Writes run on a
background thread (desktop/file_writes.py); the GUI thread only takes a snapshot. Each stall
says how much of it the GUI thread spent waiting for a CPU (other processes' load, Linux).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.desktop_common import (
    big_photo,
    cpu_wait_in,
    logo_box,
    longest_stall,
    machine_load,
    open_window,
    setup_qt,
    start_heartbeat,
)


def main(rounds: int = 1) -> None:
    setup_qt()
    app, window = open_window(big_photo())
    window.doc.fill_rect(logo_box())
    done: dict[str, float] = {}
    window.job_done.connect(lambda *_a: done.setdefault("t", time.perf_counter()))
    window.decompose()
    while "t" not in done:
        app.processEvents()
        time.sleep(0.001)
    written: list[str] = []
    window.file_written.connect(lambda _what, _path, error: written.append(error))

    waits: list[float] = []
    timer, beats = start_heartbeat(cpu_waits=waits)
    settle = time.perf_counter() + 1.0
    while time.perf_counter() < settle:
        app.processEvents()
        time.sleep(0.0005)

    # The noise floor: the longest gap of the heartbeat with nothing being written (on a
    # loaded machine the GUI thread also waits for a CPU).
    t0 = time.perf_counter()
    while time.perf_counter() < t0 + 3.0:
        app.processEvents()
        time.sleep(0.0005)
    idle, at = longest_stall(beats, t0, time.perf_counter())
    print(f"idle, nothing written (3 s): max stall {idle:.1f} ms "
          f"(waiting for a CPU {cpu_wait_in(beats, waits, at):.1f} ms)")

    folder = Path(tempfile.mkdtemp(prefix="layerlift-save-"))
    writes = [("save project (.ora)", lambda: window.save_project(str(folder / "p.ora"))),
              ("export PSD", lambda: window.export(str(folder / "x.psd"), "psd")),
              ("export ORA", lambda: window.export(str(folder / "x.ora"), "ora")),
              ("export flattened PNG", lambda: window.export(str(folder / "f.png"), "flat"))]
    for name, start in writes * rounds:
        count = len(written)
        t0 = time.perf_counter()
        assert start()
        started = time.perf_counter() - t0
        while len(written) == count:
            app.processEvents()
            time.sleep(0.0005)
        t1 = time.perf_counter()
        assert written[-1] == "", written[-1]
        stall, at = longest_stall(beats, t0, t1)
        print(f"{name}: written in {t1 - t0:.2f} s; the GUI thread busy {started * 1000:.1f} ms "
              f"to start it; max stall while writing {stall:.1f} ms (waiting for a CPU "
              f"{cpu_wait_in(beats, waits, at):.1f} ms)")
    print(machine_load())
    timer.stop()
    window.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
