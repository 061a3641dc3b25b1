"""Shared set-up of the desktop benchmarks: a big synthetic photo and a shown window."""

from __future__ import annotations

import os
import statistics

import numpy as np


def big_photo(h: int = 4000, w: int = 6000) -> np.ndarray:
    """A 24 MP photo-like image (smooth gradient + noise) with a dark ~300 px mark."""
    rng = np.random.default_rng(0)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    photo = np.empty((h, w, 3), np.uint8)
    for c, (a, b) in enumerate(((140, 80), (110, 60), (90, 70))):
        noise = rng.integers(0, 12, (h, w), dtype=np.uint8)
        photo[..., c] = (a + b * (0.6 * xx + 0.4 * yy)).astype(np.uint8) + noise
    cy, cx = h // 2, w // 2
    photo[cy - 60:cy + 60, cx - 150:cx + 150] = (25, 35, 150)
    return photo


def logo_box(h: int = 4000, w: int = 6000) -> tuple[int, int, int, int]:
    cy, cx = h // 2, w // 2
    return cx - 170, cy - 80, cx + 170, cy + 80


def percentiles(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p = lambda q: ms[min(len(ms) - 1, int(round(q * (len(ms) - 1))))]  # noqa: E731
    return (f"n={len(ms)}  median {statistics.median(ms):.2f} ms  p95 {p(0.95):.2f} ms  "
            f"max {ms[-1]:.2f} ms")


def setup_qt() -> None:
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Benchmarks must not touch the user's settings or autosaves either.
    import tempfile
    tmp = tempfile.mkdtemp(prefix="layerlift-bench-")
    os.environ["XDG_CONFIG_HOME"] = os.path.join(tmp, "config")
    os.environ["XDG_DATA_HOME"] = os.path.join(tmp, "data")


def machine_load() -> str:
    """Load average and Linux CPU pressure: how much the (shared) machine makes us wait."""
    text = f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    try:
        with open("/proc/pressure/cpu") as f:
            some = f.readline().split()
        text += f", CPU pressure {some[1].split('=')[1]} % (tasks waiting for a CPU, 10 s avg)"
    except (OSError, IndexError):
        pass
    return text


HEARTBEAT_MS = 2


def start_heartbeat(period_ms: int = HEARTBEAT_MS, cpu_waits: list[float] | None = None):
    """(timer, beats): a QTimer on the GUI thread adding the time of each beat to `beats`.
    A gap between beats longer than the period is a stall the user would feel.
    `cpu_waits`, when given, gets `cpu_wait()` at each beat too (see `cpu_wait_in`)."""
    import time

    from PySide6.QtCore import QTimer

    beats: list[float] = []

    def beat() -> None:
        beats.append(time.perf_counter())
        if cpu_waits is not None:
            cpu_waits.append(cpu_wait())
    timer = QTimer()
    timer.setInterval(period_ms)
    timer.timeout.connect(beat)
    timer.start()
    return timer, beats


def cpu_wait() -> float:
    """Seconds the calling thread has spent ready to run but waiting for a CPU (Linux's
    schedstat; NaN elsewhere): on a shared machine, the part of a stall that is the load's."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def cpu_wait_in(beats: list[float], cpu_waits: list[float], at: float) -> float:
    """ms the GUI thread waited for a CPU during the gap that began at beat time `at`."""
    i = beats.index(at) if at in beats else len(cpu_waits)
    return (cpu_waits[i + 1] - cpu_waits[i]) * 1000 if i + 1 < len(cpu_waits) else 0.0


def longest_stall(beats: list[float], start: float, end: float,
                  period_ms: int = HEARTBEAT_MS) -> tuple[float, float]:
    """(ms, when): the longest gap between beats that overlaps [start, end], minus the
    period, and the time it began."""
    gaps = [(b - a, a) for a, b in zip(beats, beats[1:], strict=False) if b >= start and a <= end]
    gap, at = max(gaps, default=(0.0, start))
    return max(gap * 1000 - period_ms, 0.0), at


def open_window(photo: np.ndarray):
    """(app, window): the real main window, shown, on `photo`, scripted (no questions)."""
    from layerlift.desktop.app import application
    from layerlift.desktop.document import Document
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings

    app = application()
    window = MainWindow(Settings(), autosave_seconds=3600)
    window.ask_before_close = False         # scripted: no "save changes?" question
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    window.set_document(Document(photo))
    return app, window
