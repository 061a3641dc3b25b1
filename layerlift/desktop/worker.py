"""The one long-lived worker thread that runs the engine (decompose / compose).

The worker emits plain data only: ints and floats for progress, the result object of the
core (Layers or an HxWx3 array), error strings. The GUI thread turns arrays into QImages.
Cancel is a threading.Event the engine polls between steps (a busy worker never sees queued
signals, STACK-NOTES).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from layerlift.inference.errors import Cancelled, LayerliftError

# A progress signal at most this often: more would only flood the GUI thread's queue.
PROGRESS_INTERVAL_S = 0.05
# The worker runs at a lower CPU priority (Linux nice, per thread) so that on a busy machine
# the GUI thread gets the CPU first and the canvas stays responsive during long runs.
WORKER_NICE = 10


def lower_this_thread_priority(nice: int = WORKER_NICE) -> None:
    """Linux: per-thread nice via setpriority on the thread id; elsewhere nothing."""
    if not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        pass


# What the first save or export would import on its writer thread, stalling the window:
# psd-tools (~0.3 s of imports, for its PackBits codec), modules whose class bodies and
# dataclasses compile code holding the GIL, the codec of the PSD's layer names; and Pillow's
# common format plugins (PIL.Image.preinit). The warm-up imports them instead.
WRITER_MODULES = ("psd_tools.compression", "layerlift.desktop.project",
                  "layerlift.inference.export", "layerlift.inference.psd",
                  "encodings.utf_16_be")


@dataclass
class Job:
    kind: str          # "decompose", "compose" or "select"
    request: Any       # DecomposeRequest / ComposeRequest / desktop.jobs.SelectRequest
    cancel: threading.Event
    job_id: int
    finish: Callable[[Any], Any] | None = None   # runs in the worker on the engine's result


class _Runner(QObject):
    """Lives in the worker thread; run() executes one job at a time."""

    progress = Signal(int, int, int, float)      # job id, step, total, seconds left (-1: ?)
    finished = Signal(int, str, object, object)  # job id, kind, result, warnings (list[str])
    failed = Signal(int, str, str)               # job id, kind, one-line message
    cancelled = Signal(int, str)                 # job id, kind
    _niced = False

    @Slot(object)
    def run(self, job: Job) -> None:
        if not self._niced:
            lower_this_thread_priority()
            self._niced = True
        start = time.perf_counter()
        last = [0.0]

        def on_progress(step: int, total: int, preview: Any = None) -> None:
            now = time.perf_counter()
            if step < total and now - last[0] < PROGRESS_INTERVAL_S:
                return
            last[0] = now
            elapsed = now - start
            left = elapsed / step * (total - step) if step > 0 and total > 0 else -1.0
            self.progress.emit(job.job_id, int(step), int(total), float(left))

        if job.kind == "warm-up":
            self._warm_up()
            return
        # The engines' warnings (e.g. flux falling back to a smaller memory tier) go to the
        # user with the result. catch_warnings swaps process-wide state, so a warning another
        # thread raises meanwhile lands here too; only this thread uses it in the app.
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if job.cancel.is_set():
                    raise Cancelled("cancelled")
                from layerlift.desktop.jobs import private_request
                from layerlift.inference import api  # the registry; heavy engines load on first use
                request = private_request(job.request)
                if job.kind == "decompose":
                    result = api.decompose(request, on_progress, job.cancel)
                elif job.kind == "select":
                    from layerlift.desktop.jobs import run_select
                    result = run_select(request)
                else:
                    result = api.compose(request, on_progress, job.cancel)
                if job.finish is not None:
                    result = job.finish(result)
                if job.cancel.is_set():     # cancelled after the last check: drop the result
                    raise Cancelled("cancelled")
        except Cancelled:
            self.cancelled.emit(job.job_id, job.kind)
        except LayerliftError as exc:
            self.failed.emit(job.job_id, job.kind, str(exc))
        except MemoryError:
            self.failed.emit(job.job_id, job.kind, "out of memory")
        except Exception as exc:  # an engine bug must become a dialog, never kill the app
            traceback.print_exc()
            self.failed.emit(job.job_id, job.kind, f"{type(exc).__name__}: {exc}")
        else:
            self.finished.emit(job.job_id, job.kind, result, warning_lines(caught))
            return
        for w in caught:        # no result to show them with: to stderr, as without the app
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)

    @staticmethod
    def _warm_up() -> None:
        """Run the default engine once on a tiny image, so its imports (which hold the GIL
        and would stall the UI) happen before the user's first run."""
        try:
            import numpy as np

            # Modules a real run reaches that the tiny run below may not: the job builders
            # (used on the GUI thread), the ink solve, the texture period search.
            import numpy.fft  # noqa: F401

            import layerlift.desktop.jobs  # noqa: F401
            import layerlift.inference.engines.classical.compose  # noqa: F401
            from layerlift.inference import api
            from layerlift.inference.contract import DecomposeRequest
            _warm_writers()
            image = np.full((48, 48, 3), 200, np.uint8)
            image[20:28, 16:32] = 20
            mask = np.zeros((48, 48), bool)
            mask[18:30, 14:34] = True
            api.decompose(DecomposeRequest(image, mask))
        except Exception:  # the real run reports any problem
            pass
        freeze_startup_heap()


def _warm_writers() -> None:
    """Each of WRITER_MODULES on its own: one that is missing (a dependency moved a module)
    must not skip the others, nor the engine's warm-up."""
    for name in WRITER_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    from PIL import Image
    Image.preinit()


def freeze_startup_heap() -> None:
    """Move the objects alive after startup (modules, Qt wrappers, the engine's imports) out of
    the garbage collector's reach, once per process. Otherwise every full collection walks
    them all, ~20 ms holding the GIL at 24 MP-app heap sizes, which stalls the GUI thread
    mid-run about once in 40 jobs. The collect first keeps startup garbage from being pinned."""
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()
    gc.freeze()


def warning_lines(caught: list[warnings.WarningMessage]) -> list[str]:
    """Recorded warnings as one-line plain strings, each once, in order."""
    lines = [" ".join(str(w.message).split()) for w in caught]
    return list(dict.fromkeys(line for line in lines if line))


_live_workers: weakref.WeakSet[Worker] = weakref.WeakSet()
_heap_frozen = False


@atexit.register
def _stop_live_workers() -> None:
    """Qt aborts when a running QThread is destroyed: stop any worker still alive at exit."""
    for worker in list(_live_workers):
        worker.shutdown(wait_ms=None)


class Worker(QObject):
    """Owns the thread; submit() queues a job, cancel() sets the running job's token."""

    _submit = Signal(object)
    progress = Signal(int, int, int, float)
    finished = Signal(int, str, object, object)   # job id, kind, result, warnings (list[str])
    failed = Signal(int, str, str)
    cancelled = Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self._thread = QThread()
        self._thread.setObjectName("layerlift-worker")
        self._runner = _Runner()
        self._runner.moveToThread(self._thread)
        self._submit.connect(self._runner.run)
        self._runner.progress.connect(self.progress)
        self._runner.finished.connect(self._done_ok)
        self._runner.failed.connect(self._done_failed)
        self._runner.cancelled.connect(self._done_cancelled)
        self._thread.start()
        _live_workers.add(self)
        self._next_id = 1
        self.current: Job | None = None

    def busy(self) -> bool:
        return self.current is not None

    def submit(self, kind: str, request: Any, finish: Callable[[Any], Any] | None = None) -> int:
        """Queue a job; `finish` post-processes the result in the worker thread."""
        if self.current is not None:
            raise RuntimeError("the worker is busy")
        job = Job(kind, request, threading.Event(), self._next_id, finish)
        self._next_id += 1
        self.current = job
        self._submit.emit(job)
        return job.job_id

    def warm_up(self) -> None:
        """Load the classical engine in the background (never flux: torch loads on use)."""
        self._submit.emit(Job("warm-up", None, threading.Event(), 0))

    def cancel(self) -> None:
        if self.current is not None:
            self.current.cancel.set()

    def _done_ok(self, job_id: int, kind: str, result: object, notes: object) -> None:
        self.current = None
        self.finished.emit(job_id, kind, result, notes)

    def _done_failed(self, job_id: int, kind: str, message: str) -> None:
        self.current = None
        self.failed.emit(job_id, kind, message)

    def _done_cancelled(self, job_id: int, kind: str) -> None:
        self.current = None
        self.cancelled.emit(job_id, kind)

    def shutdown(self, wait_ms: int | None = 10000) -> None:
        """Cancel what runs and stop the thread (engines stop at their next step);
        wait_ms=None waits for as long as that takes."""
        self.cancel()
        if self._thread.isRunning():
            self._thread.quit()
            if wait_ms is None:
                self._thread.wait()
            else:
                self._thread.wait(wait_ms)
