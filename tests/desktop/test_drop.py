"""Dropping a file on the window, through Qt's drag sequence: drag-enter and drag-move go to
the widget under the pointer and travel up to the first one that accepts drops and takes the
drag; the drop then goes to that one only (as QApplication routes them)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from layerlift.inference.imageio import save_png
from tests.desktop.conftest import make_photo

NO_BUTTON, NO_KEY = Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
COPY = Qt.DropAction.CopyAction


def drag_and_drop(window, where: QPoint, mime: QMimeData) -> bool:
    """Drag `mime` over the window to `where` (window coordinates) and drop it there.
    Returns whether the drag was taken (drag-enter accepted)."""
    target = window.childAt(where) or window
    local = target.mapFrom(window, where)
    enter = QDragEnterEvent(local, COPY, mime, NO_BUTTON, NO_KEY)
    QApplication.sendEvent(target, enter)
    move = QDragMoveEvent(local, COPY, mime, NO_BUTTON, NO_KEY)
    QApplication.sendEvent(target, move)
    drop = QDropEvent(QPointF(local), COPY, mime, NO_BUTTON, NO_KEY)
    QApplication.sendEvent(target, drop)
    return enter.isAccepted()


def _files(*paths) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


@pytest.fixture
def dropped(tmp_path):
    path = tmp_path / "dropped.png"
    save_png(path, make_photo(60, 80))
    return path


def test_a_photo_dropped_on_the_canvas_opens(window, dropped):
    centre = window.canvas.mapTo(window, window.canvas.rect().center())
    assert window.childAt(centre) is not window            # a widget of the canvas is there
    assert drag_and_drop(window, centre, _files(dropped))
    assert window.doc.shape == (60, 80)
    assert window.doc.path == str(dropped.resolve())
    assert "dropped.png" in window.windowTitle()


def test_the_first_local_file_of_several_opens(window, dropped, tmp_path):
    mime = _files(dropped)
    mime.setUrls([QUrl("https://example.invalid/logo.png"), QUrl.fromLocalFile(str(dropped))])
    centre = window.canvas.mapTo(window, window.canvas.rect().center())
    assert drag_and_drop(window, centre, mime)
    assert window.doc.path == str(dropped.resolve())


@pytest.mark.parametrize("kind", ["web address", "text"])
def test_what_is_not_a_local_file_is_not_taken(window, kind):
    doc = window.doc
    mime = QMimeData()
    if kind == "web address":
        mime.setUrls([QUrl("https://example.invalid/photo.png")])
    else:
        mime.setText("/tmp/photo.png")
    centre = window.canvas.mapTo(window, window.canvas.rect().center())
    assert not drag_and_drop(window, centre, mime)
    assert window.doc is doc


def test_a_broken_file_dropped_keeps_the_document_and_says_why(window, tmp_path):
    doc = window.doc
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    centre = window.canvas.mapTo(window, window.canvas.rect().center())
    assert drag_and_drop(window, centre, _files(bad))
    assert window.doc is doc and "not an image" in window.last_error
