"""Exports (PSD, ORA, PNG folder, flattened), projects, autosave and restore."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from layerlift.desktop import autosave
from layerlift.desktop.project import MASK_LAYER, open_project
from layerlift.inference.ora import read_ora


def test_export_psd_and_read_back(decomposed, tmp_path):
    from psd_tools import PSDImage
    w = decomposed
    path = tmp_path / "out.psd"
    assert w.export(str(path), "psd"), w.last_error
    assert w.finish_file_writes(), w.last_error
    psd = PSDImage.open(path)
    names = [layer.name for layer in psd]
    assert names == ["Original", "Object", "Logo"]           # psd-tools lists bottom first
    assert [layer.visible for layer in psd] == [False, True, True]
    merged = np.asarray(psd.composite().convert("RGB"))
    assert np.abs(merged.astype(int) - w.doc.composite()).max() <= 2


def test_export_ora_reads_back_the_same_layers(decomposed, tmp_path):
    w = decomposed
    path = tmp_path / "out.ora"
    assert w.export(str(path), "ora")
    assert w.finish_file_writes(), w.last_error
    layers, _extra = read_ora(path)
    assert [layer.name for layer in layers] == ["Logo", "Object", "Original"]
    assert (layers[1].rgba == w.doc.layers[1].render(w.doc.shape)).all()
    logo = w.doc.layers[0].render(w.doc.shape)
    assert (layers[0].rgba == logo).all()
    with zipfile.ZipFile(path) as z:
        assert z.namelist()[0] == "mimetype"


def test_export_png_folder_and_flattened(decomposed, tmp_path):
    from layerlift.inference.imageio import load_image
    w = decomposed
    assert w.export(str(tmp_path / "layers"), "png-folder")
    assert w.finish_file_writes(), w.last_error
    assert {"logo.png", "object.png", "original.png", "manifest.json"} <= set(
        os.listdir(tmp_path / "layers"))
    assert w.export(str(tmp_path / "flat.png"), "flat")
    assert w.finish_file_writes(), w.last_error
    flat = load_image(tmp_path / "flat.png")
    assert np.abs(flat.astype(int) - w.doc.composite()).max() <= 1
    assert w.export(str(tmp_path / "flat.jpg"), "flat")
    assert w.finish_file_writes(), w.last_error
    assert load_image(tmp_path / "flat.jpg").shape == flat.shape


def test_export_never_overwrites_the_input_photo(decomposed, photo_path):
    w = decomposed
    before = photo_path.read_bytes()
    assert not w.export(str(photo_path), "flat")
    assert "overwrite" in w.last_error
    assert not w.save_project(str(photo_path))
    assert photo_path.read_bytes() == before


def test_save_and_open_project_round_trip(decomposed, tmp_path, qtbot):
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings
    w = decomposed
    row = w.doc.index_of("logo")
    w.edit_layer(row, quad=w.doc.layers[row].quad + [3, 2])
    w.edit_layer(1, name="Clean")
    w.settings.seed = 77
    path = tmp_path / "proj.ora"
    assert w.save_project(str(path)), w.last_error
    assert w.finish_file_writes(), w.last_error
    assert w.undo.isClean()

    other = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(other)
    assert other.open_path(str(path)), other.last_error
    doc = other.doc
    assert [(layer.name, layer.kind) for layer in doc.layers] == [
        ("Logo", "logo"), ("Clean", "object"), ("Original", "original")]
    assert (doc.image == w.doc.image).all()
    assert (doc.mask == w.doc.mask).all()
    np.testing.assert_allclose(doc.layers[0].quad, w.doc.layers[row].quad)
    assert (doc.layers[0].asset == w.doc.layers[row].asset).all()
    assert not doc.layers[2].visible
    assert doc.meta["cycle_error"] == pytest.approx(w.doc.meta["cycle_error"])
    assert other.settings.seed == 77
    assert doc.path == w.doc.path                       # the photo stays protected
    other.close()
    # Other apps see plain layers, plus our hidden mask layer.
    layers, extra = read_ora(path)
    assert MASK_LAYER in [layer.name for layer in layers] and "project.json" in extra


def test_open_a_foreign_ora_flattens_it(tmp_path):
    from layerlift.inference.export import ExportLayer, write_ora
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 1] = 200
    rgba[..., 3] = 255
    write_ora(tmp_path / "x.ora", [ExportLayer("Only", rgba)])
    doc, settings = open_project(tmp_path / "x.ora")
    assert doc.image.shape == (20, 30, 3) and (doc.image[..., 1] == 200).all()
    assert settings == {}


def test_autosave_writes_an_ora_with_a_mask_layer(window, private_dirs):
    window.doc.fill_rect((10, 10, 40, 30))
    thread = window.autosaver.save_if_changed()
    assert thread is not None
    thread.join(30)
    path = window.autosaver.path
    assert path.parent == autosave.autosave_dir()
    assert str(path).startswith(str(private_dirs / "data" / "layerlift" / "autosave"))
    layers, _ = read_ora(path)
    mask_layers = [layer for layer in layers if "mask" in layer.name.lower()]
    assert len(mask_layers) == 1 and mask_layers[0].rgba[20, 20, 3] == 255
    # Nothing changed since: no second write.
    assert window.autosaver.save_if_changed() is None
    # A clean exit removes it.
    window.close()
    assert not path.exists()


def test_autosave_interval_from_environment(monkeypatch):
    monkeypatch.setenv(autosave.ENV, "2.5")
    assert autosave.interval_seconds() == 2.5
    monkeypatch.setenv(autosave.ENV, "soon")
    assert autosave.interval_seconds() == autosave.DEFAULT_SECONDS


def test_timer_autosaves_and_orphan_is_offered_back(qtbot, photo_path, monkeypatch):
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings
    monkeypatch.setenv(autosave.ENV, "0.2")
    w = MainWindow(Settings())
    qtbot.addWidget(w)
    assert w.open_path(str(photo_path))
    w.doc.fill_rect((50, 50, 90, 80))
    qtbot.waitUntil(lambda: w.autosaver.path.exists(), timeout=10000)
    w.autosaver.wait()
    # Pretend the process died: rename the file to a pid that does not exist.
    dead = w.autosaver.path.with_name("autosave-999999999.ora")
    os.replace(w.autosaver.path, dead)
    w.autosaver.timer.stop()
    assert autosave.orphans() == [dead]
    fresh = MainWindow(Settings())
    qtbot.addWidget(fresh)
    assert fresh.restore_autosave(str(dead)), fresh.last_error
    assert fresh.doc.mask_bool()[60, 60] and not fresh.doc.mask_bool()[10, 10]
    assert fresh.project_path is None
    autosave.discard([dead])
    assert autosave.orphans() == []
    w.close()
    fresh.close()


def test_next_start_offers_the_orphan_back(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from layerlift.desktop.app import offer_restore
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.project import save_project
    from layerlift.desktop.settings import Settings
    window.doc.fill_rect((20, 20, 60, 50))
    folder = autosave.autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    orphan = folder / "autosave-999999998.ora"
    save_project(window.doc, orphan)
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Yes)
    fresh = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(fresh)
    assert offer_restore(fresh)
    assert len(asked) == 1 and fresh.doc.mask_bool()[30, 30]
    assert not orphan.exists()
    assert not offer_restore(fresh) and len(asked) == 1      # nothing left to offer
    fresh.close()


def _two_orphans(window):
    """An older and a newer autosave left by dead processes; returns (older, newer)."""
    from layerlift.desktop.project import save_project
    window.doc.fill_rect((20, 20, 60, 50))
    folder = autosave.autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    older, newer = folder / "autosave-999999996.ora", folder / "autosave-999999997.ora"
    save_project(window.doc, older)
    save_project(window.doc, newer)
    os.utime(older, (1_000_000, 1_000_000))
    return older, newer


def _answer(monkeypatch, button):
    from PySide6.QtWidgets import QMessageBox
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or button)
    return asked


@pytest.mark.parametrize("button, newer_kept, restored", [
    ("Yes", False, True), ("Discard", False, False), ("No", True, False)])
def test_restore_removes_only_the_offered_file(window, qtbot, monkeypatch, button, newer_kept,
                                               restored):
    from PySide6.QtWidgets import QMessageBox

    from layerlift.desktop.app import offer_restore
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings
    older, newer = _two_orphans(window)
    asked = _answer(monkeypatch, getattr(QMessageBox.StandardButton, button))
    fresh = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(fresh)
    assert offer_restore(fresh) is restored
    assert newer.name in asked[0]                    # the newest one was offered
    assert newer.exists() is newer_kept
    assert older.exists()                            # never offered: kept for a later start
    fresh.close()


def test_a_failed_restore_keeps_the_autosave(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from layerlift.desktop.app import offer_restore
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings
    _older, newer = _two_orphans(window)
    newer.write_bytes(b"not a zip")                 # e.g. the crash hit mid-write elsewhere
    _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    fresh = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(fresh)
    assert not offer_restore(fresh)
    assert newer.exists() and newer.read_bytes() == b"not a zip"
    fresh.close()


def test_a_failed_autosave_is_tried_again_without_a_new_edit(window, qtbot, monkeypatch):
    real_save = autosave.save_project
    calls = []

    def disk_full_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(autosave, "save_project", disk_full_once)
    window.doc.fill_rect((10, 10, 40, 30))
    with qtbot.waitSignal(window.autosaver.failed, timeout=30000) as failed:
        window.autosaver.save_if_changed().join(30)
    assert "No space left" in failed.args[0] and not window.autosaver.path.exists()
    # No edit since the failure: the next tick still writes.
    retry = window.autosaver.save_if_changed()
    assert retry is not None
    retry.join(30)
    assert window.autosaver.path.exists() and len(calls) == 2
    assert window.autosaver.save_if_changed() is None      # saved now: nothing more to do


@pytest.fixture
def gated_save(monkeypatch):
    """Project saves that wait for `gate` before writing: a slow disk, on demand."""
    import threading

    from layerlift.desktop import project
    gate = threading.Event()
    real = project.save_project

    def slow_save(*args, **kwargs):
        assert gate.wait(30)
        real(*args, **kwargs)
    monkeypatch.setattr(project, "save_project", slow_save)
    return gate


def test_a_save_is_written_in_the_background_from_a_snapshot(decomposed, tmp_path, qtbot,
                                                             gated_save):
    w = decomposed
    path = tmp_path / "slow.ora"
    assert w.save_project(str(path))
    assert w.files.busy() and w.status.file_progress.isVisible()
    assert "slow.ora" in w.status.file_progress.format()
    # The window keeps working: events run and the user edits the mask meanwhile.
    qtbot.wait(50)
    w.doc.fill_rect((0, 0, 10, 10))
    w.editor.edits += 1                       # (what the window's document listener counts)
    assert not w.save_project(str(tmp_path / "second.ora"))        # one write at a time
    assert "Still writing slow.ora" in w.statusBar().currentMessage()
    with qtbot.waitSignal(w.file_written, timeout=30000) as ended:
        gated_save.set()
    assert ended.args == ["Save", str(path), ""]
    assert not w.status.file_progress.isVisible()
    # Written as it was when saved; edited since, so the document is not clean.
    doc, _settings = open_project(path)
    assert not doc.mask[:10, :10].any() and w.doc.mask[:10, :10].all()
    assert not w.undo.isClean() and w.project_path == str(path)
    assert not (tmp_path / "second.ora").exists()


def test_closing_waits_for_a_save_being_written(decomposed, tmp_path, gated_save):
    import threading
    w = decomposed
    path = tmp_path / "at-close.ora"
    assert w.save_project(str(path))
    threading.Timer(0.3, gated_save.set).start()
    assert w.close()
    assert path.exists() and w.undo.isClean()


def test_a_failed_write_is_an_error_and_leaves_the_document_unsaved(decomposed, tmp_path,
                                                                    qtbot, monkeypatch):
    from layerlift.desktop import project

    def full_disk(*_args, **_kwargs):
        raise OSError("No space left on device")
    monkeypatch.setattr(project, "export", full_disk)
    w = decomposed
    with qtbot.waitSignal(w.file_written, timeout=30000) as ended:
        assert w.export(str(tmp_path / "x.psd"), "psd")
    assert ended.args[2] == "No space left on device" == w.last_error
    assert not (tmp_path / "x.psd").exists() and not w.files.busy()
    assert w.finish_file_writes()           # already reported: nothing left to wait for


def test_a_save_failing_while_closing_keeps_the_window_open(decomposed, tmp_path, monkeypatch):
    import threading

    from layerlift.desktop import project
    gate = threading.Event()

    def failing_save(*_args, **_kwargs):
        assert gate.wait(30)
        raise OSError("the disk went away")
    monkeypatch.setattr(project, "save_project", failing_save)
    w = decomposed
    assert w.save_project(str(tmp_path / "lost.ora"))
    threading.Timer(0.3, gate.set).start()
    assert not w.close()                    # the user sees the error, the work is still here
    assert w.isVisible() and w.last_error == "the disk went away" and not w.undo.isClean()
    assert w.close()                        # reported once: closing again is the user's call


def test_a_save_ending_after_another_photo_was_opened_leaves_that_photo_alone(
        decomposed, tmp_path, qtbot, gated_save, photo_path):
    from layerlift.desktop.history import MaskEdit
    w = decomposed
    path = tmp_path / "first.ora"
    assert w.save_project(str(path))
    assert w.open_path(str(photo_path))            # a new document while the save is written
    w.doc.fill_rect((0, 0, 10, 10))
    w.undo.push(MaskEdit(w.doc, "Box", (0, 0, 10, 10), np.zeros((10, 10), np.uint8)))
    with qtbot.waitSignal(w.file_written, timeout=30000):
        gated_save.set()
    assert path.exists()
    assert w.project_path is None and not w.undo.isClean()
