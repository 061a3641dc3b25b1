"""Startup after a crash, through the app's own entry (`create_window`, what `layerlift gui`
runs): the autosave is offered back, and `--no-restore` skips the offer."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from layerlift.desktop import autosave
from layerlift.desktop.app import create_window
from layerlift.desktop.document import Document
from layerlift.desktop.project import save_project
from tests.desktop.conftest import make_photo


@pytest.fixture
def orphan():
    """An autosave left by a process that died, with a brushed mask in it."""
    doc = Document(make_photo())
    doc.fill_rect((20, 20, 60, 50))
    folder = autosave.autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "autosave-999999995.ora"
    save_project(doc, path)
    return path


@pytest.fixture
def answers(monkeypatch):
    """Answer the restore question with Yes; returns the questions asked."""
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    return asked


def _start(qtbot, argv):
    _app, window = create_window(argv)
    qtbot.addWidget(window)
    return window


def test_startup_offers_the_autosave_back(qtbot, orphan, answers, photo_path):
    window = _start(qtbot, [str(photo_path)])
    assert len(answers) == 1 and orphan.name in answers[0]
    # Restored instead of the photo on the command line, and kept unsaved.
    assert window.doc is not None and window.doc.mask_bool()[30, 30]
    assert window.doc.path is None and window.project_path is None
    assert not orphan.exists()
    window.close()


def test_no_restore_opens_the_photo_and_keeps_the_autosave(qtbot, orphan, answers,
                                                           photo_path):
    window = _start(qtbot, ["--no-restore", str(photo_path)])
    assert answers == []
    assert window.doc.path == str(photo_path.resolve()) and not window.doc.mask_bool().any()
    assert orphan.exists()
    window.close()


def test_nothing_to_restore_asks_nothing(qtbot, answers, photo_path):
    window = _start(qtbot, [str(photo_path)])
    assert answers == [] and window.doc.path == str(photo_path.resolve())
    window.close()
