"""Startup to first paint (target: <= 1.5 s), measured from process start.

Run: .venv/bin/python -m tests.benchmarks.desktop_startup
The parent starts `python -m tests.benchmarks.desktop_startup --child [IMAGE]` and stops the
clock when the child reports that the canvas has painted for the first time (interpreter
start, imports, window, loading the photo, first paint: all included). Runs are repeated
and the median and worst are printed, for an empty window and for a 12 MP JPEG. The
children start from compiled bytecode, as an installed app does.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 5


def child(argv: list[str]) -> None:
    from PySide6.QtCore import QEvent, QObject, QTimer

    from layerlift.desktop.app import create_window

    app, window = create_window(argv + ["--no-restore"])

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint:
                obj.removeEventFilter(self)
                # Report once this paint has been processed.
                QTimer.singleShot(0, lambda: (print("PAINTED", flush=True), app.quit()))
            return False

    watcher = FirstPaint()
    window.canvas.viewport().installEventFilter(watcher)
    app.exec()
    print("TORCH" if "torch" in sys.modules else "NO-TORCH", flush=True)


def measure(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.desktop_startup",
                             "--child", *args], stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if line.strip() == "PAINTED":
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError("the child never painted")
    rest = proc.stdout.read()
    proc.wait(60)
    if "NO-TORCH" not in rest:
        raise RuntimeError("torch was imported at startup")
    return elapsed


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="layerlift-startup-")
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "c"),
               XDG_DATA_HOME=os.path.join(tmp, "d"))
    # An installed app starts from compiled bytecode; where PYTHONDONTWRITEBYTECODE is set
    # (this project's shared machines), every start compiled the project's own modules
    # again (~80 ms, more on a busy machine). The first, unmeasured run of each case
    # writes the bytecode here; the measured ones read it.
    had_bytecode = "PYTHONDONTWRITEBYTECODE" not in env
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "bytecode")
    if not env.get("DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    from layerlift.inference.imageio import save_jpeg
    from tests.benchmarks.desktop_common import big_photo, machine_load
    photo = os.path.join(tmp, "photo-12mp.jpg")
    save_jpeg(photo, big_photo(3000, 4000), quality=90)
    print(f"platform: {env.get('QT_QPA_PLATFORM') or 'xcb (DISPLAY)'}; {machine_load()}")
    if not had_bytecode:
        print("(PYTHONDONTWRITEBYTECODE was set: ignored, so the runs start from bytecode)")
    cases = [("empty window", []), ("12 MP JPEG", [photo])]
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "layerlift", "resources", "sample",
                          "photo.jpg")
    if os.path.isfile(sample):
        cases.insert(1, ("the bundled sample (make run)", [os.path.abspath(sample)]))
    for label, args in cases:
        measure(args, env)                     # warm the OS file cache once
        times = [measure(args, env) for _ in range(RUNS)]
        print(f"startup to first paint, {label}: median {statistics.median(times):.2f} s, "
              f"worst {max(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
