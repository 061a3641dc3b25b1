"""Autosave: every N seconds the open document is written as a project (.ora) under
<user data dir>/autosave/, from a background thread so a large photo never stalls the UI.

Files are named autosave-<pid>.ora. A clean exit deletes this process's file; a file whose
process is gone is what a crash or kill left behind, and the next start offers it back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from layerlift.desktop.document import Document
from layerlift.desktop.project import save_project, snapshot
from layerlift.desktop.settings import autosave_dir
from layerlift.desktop.worker import lower_this_thread_priority

DEFAULT_SECONDS = 60
ENV = "LAYERLIFT_AUTOSAVE_SECONDS"


def interval_seconds() -> float:
    """The autosave period: LAYERLIFT_AUTOSAVE_SECONDS when set to a positive number."""
    try:
        value = float(os.environ.get(ENV, DEFAULT_SECONDS))
    except ValueError:
        return DEFAULT_SECONDS
    return value if value > 0 else DEFAULT_SECONDS


def own_path() -> Path:
    return autosave_dir() / f"autosave-{os.getpid()}.ora"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphans() -> list[Path]:
    """Autosave files left by processes that are no longer running, newest first."""
    folder = autosave_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("autosave-*.ora"):
        try:
            pid = int(path.stem.split("-", 1)[1])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def discard(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


class Autosaver(QObject):
    """Saves `get_doc()` when `is_dirty()` says it changed since the last autosave."""

    saved = Signal(str)          # path written
    failed = Signal(str)         # one-line message

    def __init__(self, get_doc: Callable[[], Document | None],
                 get_state: Callable[[], object], get_settings: Callable[[], dict],
                 seconds: float | None = None) -> None:
        super().__init__()
        self.get_doc, self.get_state, self.get_settings = get_doc, get_state, get_settings
        self._saved_state: object = None
        self._thread: threading.Thread | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(int((seconds or interval_seconds()) * 1000))
        self.timer.timeout.connect(self.save_if_changed)
        self.timer.start()
        self.path = own_path()

    def save_if_changed(self) -> threading.Thread | None:
        # Checked first: while a write runs, _saved_state is not settled yet (the writer
        # sets it on success), and once is_alive() is False that assignment has happened.
        if self._thread is not None and self._thread.is_alive():
            return None                  # the previous save is still writing
        doc = self.get_doc()
        state = self.get_state()
        if doc is None or state == self._saved_state:
            return None
        return self.save_now(doc, state)

    def save_now(self, doc: Document, state: object = None) -> threading.Thread:
        copy, settings = snapshot(doc), self.get_settings()
        path = self.path

        def write() -> None:
            lower_this_thread_priority()     # encoding PNGs must not slow the canvas down
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                save_project(copy, path, settings)
            except Exception as exc:  # report, never crash the app for an autosave
                # _saved_state stays as it was, so the next tick tries again (disk full...).
                self.failed.emit(f"autosave failed: {exc}")
            else:
                self._saved_state = state
                self.saved.emit(str(path))

        self._thread = threading.Thread(target=write, name="layerlift-autosave", daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def remove_own(self) -> None:
        """A clean exit: nothing to restore next time."""
        self.timer.stop()
        self.wait()
        discard([self.path])
