"""OUT/manifest.jsonl: one JSON line per photo per run, appended as each photo finishes.

Only the driver writes it, one whole line at a time, flushed to disk before the next photo is
counted, so a batch killed at any moment leaves every finished photo's line (at worst the
last line is cut short; readers skip a line that does not parse). The manifest is a log:
whether a photo is done is decided by its folder's report.json (see work.py), so a photo
finished in the instant before a kill is not done again even if its line was lost.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from layerlift.inference.decompose_file import json_safe
from layerlift.inference.errors import InputError

Record = dict[str, Any]


def read_records(path: Path) -> Iterator[Record]:
    """The manifest's records; lines that do not parse (a cut-off last line) are skipped."""
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    except OSError as e:
        raise InputError(f"cannot read the manifest {path}: {e.strerror or e}") from None
    with f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def earlier_folders(path: Path) -> dict[str, str]:
    """photo (absolute path) -> the folder under OUT the latest run gave it."""
    folders: dict[str, str] = {}
    for record in read_records(path):
        photo, out = record.get("input"), record.get("out")
        if isinstance(photo, str) and isinstance(out, str) and out and "/" not in out:
            folders[photo] = out
    return folders


class Manifest:
    """The manifest opened for appending whole lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._f = open(path, "ab")
            if self._f.tell() and not _ends_with_newline(path):
                self._f.write(b"\n")  # after a line a kill cut short
        except OSError as e:
            raise InputError(f"cannot write the manifest {path}: {e.strerror or e}") from None

    def append(self, record: Record) -> None:
        line = json.dumps(json_safe(record), allow_nan=False, ensure_ascii=False) + "\n"
        self._f.write(line.encode("utf-8"))
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold OUT's lock for the run: a second batch on the same OUT is refused, not raced.

    An OS file lock (flock), so a killed batch never leaves it held. Where there is no flock
    (Windows) runs are not guarded.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise InputError(f"cannot write {lock_path}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"another batch is writing to {lock_path.parent}; wait for it "
                             "to finish or give another --out") from None
        yield
    finally:
        os.close(fd)
