"""The menu actions a user takes to open, save and export, through Qt's own file dialogs
(the widget-based, non-native ones): each dialog is answered the way a user answers it, by
typing a name and pressing Enter, or by cancelling."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit

from layerlift.inference.imageio import load_image, save_png
from tests.desktop.conftest import make_photo


@pytest.fixture(autouse=True)
def non_native_dialogs():
    app = QApplication.instance()
    before = app.testAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs)
    app.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, True)
    yield
    app.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, before)


class Answer:
    """Answers the next file dialog: `seen` keeps what it showed (title, folder, suggested
    name, filters); `name` is typed into its file name box and Enter pressed; a folder
    dialog gets `folder` chosen; `cancel` presses Escape."""

    def __init__(self, name: str | None = None, folder: str | None = None,
                 cancel: bool = False) -> None:
        self.name, self.folder, self.cancel = name, folder, cancel
        self.seen: dict | None = None
        self._tries = 0
        QTimer.singleShot(0, self._answer)

    def _answer(self) -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            self._tries += 1
            if self._tries < 200:                      # ~10 s; the action may not open one
                QTimer.singleShot(50, self._answer)
            return
        edit = dialog.findChild(QLineEdit, "fileNameEdit")
        self.seen = {"title": dialog.windowTitle(), "folder": dialog.directory().path(),
                     "name": edit.text() if edit else "", "filters": dialog.nameFilters(),
                     "mode": dialog.fileMode(), "accept": dialog.acceptMode()}
        if self.cancel:
            QTest.keyClick(dialog, Qt.Key.Key_Escape)
        elif self.folder is not None:
            dialog.selectFile(self.folder)
            dialog.accept()
        else:
            edit.selectAll()
            QTest.keyClicks(edit, self.name)
            QTest.keyClick(edit, Qt.Key.Key_Return)


def _decompose(window, qtbot):
    window.doc.fill_rect((85, 65, 165, 115))
    with qtbot.waitSignal(window.job_done, timeout=30000) as blocker:
        assert window.decompose()
    assert blocker.args == ["decompose", "ok"], window.last_error


def test_open_a_photo_from_the_dialog(window, tmp_path):
    other = tmp_path / "second.png"
    save_png(other, make_photo()[::-1].copy())
    window.settings.last_dir = str(tmp_path)
    answer = Answer(name="second.png")
    window.act["open"].trigger()
    assert answer.seen["title"] == "Open photo" and answer.seen["folder"] == str(tmp_path)
    assert any("*.png" in f for f in answer.seen["filters"])
    assert any("*.ora" in f for f in answer.seen["filters"])     # projects open here too
    assert window.doc.path == str(other.resolve())
    np.testing.assert_array_equal(window.doc.image, make_photo()[::-1])


def test_save_as_suggests_the_photo_name_and_adds_the_suffix(window, qtbot, tmp_path):
    _decompose(window, qtbot)
    window.settings.last_dir = str(tmp_path)
    answer = Answer(name="my project")
    window.act["save_as"].trigger()
    assert answer.seen["name"] == "photo.ora" and answer.seen["folder"] == str(tmp_path)
    assert answer.seen["accept"] == QFileDialog.AcceptMode.AcceptSave
    assert window.finish_file_writes(), window.last_error
    saved = tmp_path / "my project.ora"
    assert saved.is_file() and window.project_path == str(saved) and window.undo.isClean()
    # Ctrl+S from now on writes there without asking.
    window.edit_layer(1, name="Clean")
    window.act["save"].trigger()
    assert window.finish_file_writes() and window.undo.isClean()
    from layerlift.desktop.project import open_project
    assert open_project(saved)[0].layers[1].name == "Clean"


@pytest.mark.parametrize("kind, action, typed, check", [
    ("psd", "export_psd", "layers.psd", "psd"),
    ("ora", "export_ora", "layers.ora", "ora"),
    ("flat", "export_flat", "flat.jpg", "jpeg"),
])
def test_export_from_the_dialog(window, qtbot, tmp_path, kind, action, typed, check):
    _decompose(window, qtbot)
    window.settings.last_dir = str(tmp_path)
    answer = Answer(name=typed)
    window.act[action].trigger()
    suggested = {"psd": "photo.psd", "ora": "photo.ora", "flat": "photo-flat.png"}[kind]
    assert answer.seen["name"] == suggested and answer.seen["title"] == "Export"
    assert window.finish_file_writes(), window.last_error
    path = tmp_path / typed
    if check == "psd":
        from psd_tools import PSDImage
        assert [layer.name for layer in PSDImage.open(path)] == ["Original", "Object", "Logo"]
    elif check == "ora":
        from layerlift.inference.ora import read_ora
        assert [layer.name for layer in read_ora(path)[0]] == ["Logo", "Object", "Original"]
    else:
        assert path.read_bytes()[:2] == b"\xff\xd8"          # a JPEG, chosen by the name
        flat = load_image(path).astype(int)
        assert np.abs(flat - window.doc.composite()).mean() < 3


def test_export_a_png_folder_into_the_chosen_folder(window, qtbot, tmp_path):
    _decompose(window, qtbot)
    target = tmp_path / "exports"
    target.mkdir()
    answer = Answer(folder=str(target))
    window.act["export_png"].trigger()
    assert answer.seen["mode"] == QFileDialog.FileMode.Directory
    assert window.finish_file_writes(), window.last_error
    folder = target / "photo-layers"
    assert {"logo.png", "object.png", "original.png", "manifest.json"} <= {
        p.name for p in folder.iterdir()}


def test_load_a_mask_from_the_dialog(window, tmp_path):
    mask = np.zeros(window.doc.shape, np.uint8)
    mask[40:60, 50:90] = 255
    save_png(tmp_path / "m.png", mask)
    window.settings.last_dir = str(tmp_path)
    Answer(name="m.png")
    window.act["load_mask"].trigger()
    assert window.doc.mask_bool()[50, 70] and not window.doc.mask_bool()[10, 10]
    window.undo.undo()
    assert not window.doc.mask_bool().any()


@pytest.mark.parametrize("action", ["open", "save_as", "export_psd",
                                    "export_png"])
def test_a_cancelled_dialog_changes_nothing(window, tmp_path, action):
    window.settings.last_dir = str(tmp_path)
    doc, before = window.doc, sorted(p.name for p in tmp_path.iterdir())
    answer = Answer(cancel=True)
    window.act[action].trigger()
    assert answer.seen is not None                    # a dialog was shown, and cancelled
    assert window.finish_file_writes()
    assert window.doc is doc and not window.files.busy()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
