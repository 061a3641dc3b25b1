"""Fixtures for the whole suite."""

from __future__ import annotations

import threading
import time

import pytest

# How long a test's threads may take to end after it (a worker finishing its last job).
THREAD_GRACE_S = 10.0


def _threads() -> set[threading.Thread]:
    # Threads started outside Python (Qt's, a C library's) show up as dummies once they call
    # into Python and never "end" for the threading module: they are not the tests' own.
    # tqdm's monitor is one process-wide daemon that the library keeps for every later bar.
    return {t for t in threading.enumerate()
            if not isinstance(t, threading._DummyThread) and t.name != "tqdm_monitor"}


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail a test that leaves a thread of its own running (a worker, a writer, a pool)."""
    before = _threads()
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
    left = _threads() - before
    while left and time.monotonic() < deadline:
        for thread in left:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = {t for t in _threads() - before if t.is_alive()}
    if left:
        names = ", ".join(sorted(t.name for t in left))
        pytest.fail(f"the test left threads running: {names}", pytrace=False)
