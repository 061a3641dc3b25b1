"""A save or export that fails on the disk itself (the real writers, the disk full at the
last moment): the error reaches the user, the earlier file stays whole, nothing half-written
is left, and the document is not marked saved."""

from __future__ import annotations

import errno
import os
import stat

import pytest


@pytest.fixture
def full_disk(monkeypatch):
    """From now on, flushing a regular file to disk fails with ENOSPC."""
    real_fsync = os.fsync

    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    def start():
        monkeypatch.setattr(os, "fsync", fsync)
    return start


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("kind, name", [("psd", "out.psd"), ("ora", "out.ora"),
                                        ("flat", "flat.png")])
def test_an_export_on_a_full_disk_keeps_the_earlier_file(decomposed, tmp_path, qtbot,
                                                         full_disk, kind, name):
    w = decomposed
    out = tmp_path / "exports"
    out.mkdir()
    assert w.export(str(out / name), kind) and w.finish_file_writes(), w.last_error
    before = _files(out)
    w.edit_layer(0, opacity=0.5)                    # the next export would differ
    full_disk()
    with qtbot.waitSignal(w.file_written, timeout=30000) as ended:
        assert w.export(str(out / name), kind)
    assert ended.args[0] == "Export" and "No space left on device" in ended.args[2]
    assert "No space left on device" in w.last_error and "\n" not in w.last_error
    assert _files(out) == before                    # the same bytes, no temp file beside
    assert not w.files.busy()


def test_a_save_on_a_full_disk_leaves_the_document_unsaved(decomposed, tmp_path, qtbot,
                                                           full_disk):
    w = decomposed
    path = tmp_path / "p.ora"
    assert w.save_project(str(path)) and w.finish_file_writes(), w.last_error
    assert w.undo.isClean()
    before = path.read_bytes()
    w.edit_layer(1, name="Clean")
    full_disk()
    with qtbot.waitSignal(w.file_written, timeout=30000) as ended:
        assert w.save_project(str(path))
    assert "No space left on device" in ended.args[2]
    assert not w.undo.isClean() and "*" in w.windowTitle()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
