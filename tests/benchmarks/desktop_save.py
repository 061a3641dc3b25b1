"""Saving and exporting a 24 MP document from the app: how long the write takes, and the
longest event-loop stall while it is written (the same 2 ms QTimer heartbeat as
desktop_stall).

Run: .venv/bin/python -m tests.benchmarks.desktop_save
The document is a decomposed 6000x4000 photo (Original, Object, Logo). Writes run on a
background thread (desktop/file_writes.py); the GUI thread only takes a snapshot.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.benchmarks.desktop_common import (
    big_photo,
    logo_box,
    longest_stall,
    machine_load,
    open_window,
    setup_qt,
    start_heartbeat,
)


def main() -> None:
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

    timer, beats = start_heartbeat()
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
    idle, _at = longest_stall(beats, t0, time.perf_counter())
    print(f"idle, nothing written (3 s): max stall {idle:.1f} ms")

    folder = Path(tempfile.mkdtemp(prefix="layerlift-save-"))
    writes = [("save project (.ora)", lambda: window.save_project(str(folder / "p.ora"))),
              ("export PSD", lambda: window.export(str(folder / "x.psd"), "psd")),
              ("export ORA", lambda: window.export(str(folder / "x.ora"), "ora")),
              ("export flattened PNG", lambda: window.export(str(folder / "f.png"), "flat"))]
    for name, start in writes:
        count = len(written)
        t0 = time.perf_counter()
        assert start()
        started = time.perf_counter() - t0
        while len(written) == count:
            app.processEvents()
            time.sleep(0.0005)
        t1 = time.perf_counter()
        assert written[-1] == "", written[-1]
        stall, _at = longest_stall(beats, t0, t1)
        print(f"{name}: written in {t1 - t0:.2f} s; the GUI thread busy {started * 1000:.1f} ms "
              f"to start it; max stall while writing {stall:.1f} ms")
    print(machine_load())
    timer.stop()
    window.close()


if __name__ == "__main__":
    main()
