"""Engines for the batch tests: the classical engine, counted, or made to crash.

Each writes a line per construction and per decomposition ("init PID", "decompose PID NAME")
to the file named by $LAYERLIFT_TEST_ENGINE_LOG, so a test sees what every worker process
did. Registered by the tests under their own names (the driver hands the registry entry to
its workers).
"""

from __future__ import annotations

import os

import numpy as np

from layerlift.inference.engines.classical import ClassicalEngine

LOG_ENV = "LAYERLIFT_TEST_ENGINE_LOG"
CRASH_MARK = (255, 0, 255)  # a photo whose top-left pixel is this kills its worker


def _log(line: str) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a") as f:
            f.write(f"{line} {os.getpid()}\n")


class CountedEngine:
    name = "counted"

    def __init__(self) -> None:
        self._classical = ClassicalEngine()
        _log("init")

    def decompose(self, request, on_progress, cancel):
        _log("decompose")
        return self._classical.decompose(request, on_progress, cancel)

    def compose(self, request, on_progress, cancel):
        return self._classical.compose(request, on_progress, cancel)


class CrashingEngine(CountedEngine):
    name = "crashing"

    def decompose(self, request, on_progress, cancel):
        if tuple(np.asarray(request.image[0, 0])) == CRASH_MARK:
            _log("crash")
            os._exit(3)  # as a native crash or the kernel's OOM killer would end it
        return super().decompose(request, on_progress, cancel)
