"""Damaged and crafted project files in the app: one line in a dialog, the window stays
usable with what it had open, and `layerlift gui FILE.ora` starts anyway."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from tests.hostile.make_ora import corpus

REFUSED = [p for p in corpus() if not p.name.startswith("opens-")]


def test_every_hostile_file_gives_a_dialog_and_keeps_the_document(window, qtbot, photo_path):
    before = window.doc
    for path in REFUSED:
        window.last_error = None
        assert not window.open_path(str(path)), path.name
        assert path.name in window.last_error and "\n" not in window.last_error, \
            window.last_error
        box = window._error_box
        assert isinstance(box, QMessageBox) and box.isVisible()
        assert box.text() == window.last_error
        box.close()
        assert window.doc is before
    # Still usable: the next file opens.
    assert window.open_path(str(corpus()[0].with_name("opens-project.ora"))), window.last_error
    assert window.doc is not before and window.doc.shape == (24, 32)


def test_the_gui_command_on_a_hostile_file_starts_with_the_dialog(qtbot):
    from layerlift.desktop.app import create_window

    bad = next(p for p in REFUSED if p.stem == "x-inf")
    _app, win = create_window([str(bad), "--no-restore"])
    qtbot.addWidget(win)
    assert win.isVisible() and win.doc is None
    assert bad.name in win.last_error
    win._error_box.close()
    win.close()


def test_an_unexpected_error_while_opening_is_a_dialog_too(window, monkeypatch, tmp_path):
    """Should a reader bug ever raise something untyped, the window survives it."""
    from layerlift.desktop import project

    def broken(path, limits=None):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(project, "open_project", broken)
    path = tmp_path / "p.ora"
    path.write_bytes(b"x")
    before = window.doc
    assert not window.open_path(str(path))
    assert "p.ora" in window.last_error and "ZeroDivisionError" in window.last_error
    assert window.doc is before
