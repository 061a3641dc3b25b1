"""Faults injected into the app (issue 12): an engine that fails part-way through a run, a
read-only folder, a process killed while it saves. Each time the user gets one line, the
app stays usable, the earlier file stays whole, and the autosave brings the work back.

(A full disk during save and export is in test_write_failures.py.)
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from layerlift.desktop import autosave
from layerlift.inference import engines
from layerlift.inference.contract import check_cancel, report

ROOT = Path(__file__).parents[2]
MARK = (85, 65, 165, 115)


class FailsPartWay:
    """Reports a few steps, then fails with the exception the test sets."""

    name = "fails-part-way"
    error: BaseException = RuntimeError("the engine broke at step 3")

    def decompose(self, request, on_progress, cancel):
        for step in range(3):
            check_cancel(cancel)
            report(on_progress, step + 1, 10)
            time.sleep(0.02)
        raise self.error

    def compose(self, request, on_progress, cancel):
        raise self.error


def run_job(window, qtbot, start) -> str:
    with qtbot.waitSignal(window.job_done, timeout=60000) as ended:
        assert start()
    return ended.args[1]


@pytest.mark.parametrize("error, said", [
    (RuntimeError("the engine broke at step 3"), "the engine broke at step 3"),
    (MemoryError(), "memory"),
    (OSError(errno.EIO, "Input/output error"), "Input/output error"),
])
def test_an_engine_failing_part_way_leaves_the_app_usable(window, qtbot, monkeypatch, error,
                                                           said):
    monkeypatch.setitem(engines.ENGINES, "fails-part-way",
                        "tests.desktop.test_fault_injection:FailsPartWay")
    monkeypatch.setattr(FailsPartWay, "error", error)
    window.doc.fill_rect(MARK)
    layers, undo_steps = list(window.doc.layers), window.undo.count()
    window.settings.engine = "fails-part-way"
    assert run_job(window, qtbot, window.decompose) == "failed"
    assert said in window.last_error.lower() or said in window.last_error
    assert "\n" not in window.last_error.strip()
    assert window.doc.layers == layers and window.undo.count() == undo_steps
    assert window.status.progress.isHidden() and window.act["decompose"].isEnabled()
    # Still usable: the next run, with a working engine, goes through.
    window.settings.engine = "classical"
    assert run_job(window, qtbot, window.decompose) == "ok", window.last_error
    assert window.doc.layers[0].kind == "logo"


@pytest.fixture
def read_only(monkeypatch):
    """`folder` becomes read-only: creating a file in it fails as on a read-only mount
    (the tests may run as root, for whom a chmod would not stop a write)."""
    real_mkstemp = tempfile.mkstemp

    def make(folder: Path) -> None:
        def mkstemp(*args, dir=None, **kwargs):
            if dir is not None and Path(dir) == folder:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(folder))
            return real_mkstemp(*args, dir=dir, **kwargs)
        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return make


@pytest.mark.parametrize("what", ["save", "export"])
def test_a_read_only_folder_is_one_line_and_nothing_changes(window, qtbot, tmp_path,
                                                            read_only, what):
    folder = tmp_path / "locked"
    folder.mkdir()
    window.doc.fill_rect(MARK)
    target = folder / ("p.ora" if what == "save" else "p.psd")
    read_only(folder)

    def start():
        return (window.save_project(str(target)) if what == "save"
                else window.export(str(target), "psd"))

    with qtbot.waitSignal(window.file_written, timeout=30000) as ended:
        assert start()
    error = ended.args[2]
    assert "Read-only file system" in error and "\n" not in error
    assert os.listdir(folder) == []
    assert window.project_path is None and not window.files.busy()   # not taken as saved
    # Still usable: the same work saved elsewhere.
    elsewhere = tmp_path / "p.ora"
    assert window.save_project(str(elsewhere)) and window.finish_file_writes(), \
        window.last_error
    assert elsewhere.is_file() and window.project_path == str(elsewhere)


CHILD = r"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
app = QApplication([])
from layerlift.desktop.main_window import MainWindow
from layerlift.desktop.settings import Settings
from layerlift.inference import export

photo, project = sys.argv[1], sys.argv[2]
w = MainWindow(Settings(), autosave_seconds=3600)
assert w.open_path(photo), w.last_error
w.doc.fill_rect((20, 20, 60, 50))
assert w.save_project(project) and w.finish_file_writes(), w.last_error
print("saved", flush=True)
w.doc.fill_rect((150, 120, 200, 160))                  # work done after the save
w.autosaver.save_now(w.doc).join()                      # ... which the autosave holds

def hangs(stream, *args, **kwargs):                     # the next save stops part-way
    stream.write(b"PK\x03\x04 half a project")
    stream.flush()
    print("writing", flush=True)
    time.sleep(600)

export._write_ora = hangs
assert w.save_project(project)
while True:
    app.processEvents()
    time.sleep(0.05)
"""


def test_killed_while_saving_the_project_is_intact_and_the_autosave_restores(
        qtbot, tmp_path, photo_path):
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.project import open_project
    from layerlift.desktop.settings import Settings

    project = tmp_path / "work" / "p.ora"
    project.parent.mkdir()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(photo_path), str(project)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "saved", child.stderr.read()
        saved = project.read_bytes()
        assert child.stdout.readline().strip() == "writing", child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert project.read_bytes() == saved                 # the previous save, whole
    doc, _ = open_project(project)
    assert doc.mask_bool()[30, 30] and not doc.mask_bool()[140, 170]

    orphan = autosave.autosave_dir() / f"autosave-{child.pid}.ora"
    assert orphan in autosave.orphans()
    fresh = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(fresh)
    assert fresh.restore_autosave(str(orphan)), fresh.last_error
    assert fresh.doc.mask_bool()[30, 30] and fresh.doc.mask_bool()[140, 170]  # nothing lost
    # The next save there removes what the killed save left (its temp file).
    assert fresh.save_project(str(project)) and fresh.finish_file_writes(), fresh.last_error
    assert sorted(os.listdir(project.parent)) == ["p.ora"]
    fresh.close()
