"""Saves and exports written on a background thread, so the canvas stays live meanwhile.

Writing a 24 MP project compresses ~200 MB of layers: about 9 s, which on the GUI thread
froze the whole window. The writer gets a snapshot of the document (desktop.project.snapshot),
so the user may keep editing; one write runs at a time. Each file is still written atomically
by the core (temp file, then rename), so a write that fails or is cut short leaves nothing
half-written.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from layerlift.desktop.worker import lower_this_thread_priority
from layerlift.inference.errors import LayerliftError


@dataclass
class FileWrite:
    what: str                 # "Export" or "Save", for messages
    path: str
    doc: object               # the document it was written from
    state: object             # the window's edit state when the snapshot was taken
    error: str | None = None  # None while writing; "" once written
    reported: bool = False    # the window has dealt with its end
    done: threading.Event = field(default_factory=threading.Event)


class FileWrites(QObject):
    """Runs one write at a time; `ended` carries the FileWrite (queued to the GUI thread)."""

    ended = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.current: FileWrite | None = None

    def busy(self) -> bool:
        return self.current is not None and not self.current.done.is_set()

    def start(self, write: FileWrite, run: Callable[[], None]) -> None:
        if self.busy():
            raise RuntimeError("a write is already running")
        self.current = write

        def body() -> None:
            lower_this_thread_priority()        # compressing PNGs must not slow the canvas
            try:
                run()
            except (LayerliftError, OSError, ValueError) as exc:
                write.error = str(exc) or type(exc).__name__
            except MemoryError:
                write.error = "out of memory"
            except Exception as exc:  # a bug must become a message, never a lost thread
                traceback.print_exc()
                write.error = f"{type(exc).__name__}: {exc}"
            else:
                write.error = ""
            write.done.set()
            self.ended.emit(write)

        threading.Thread(target=body, name="layerlift-file-write", daemon=False).start()

    def wait(self) -> None:
        """Block until the running write (if any) has ended."""
        if self.current is not None:
            self.current.done.wait()
