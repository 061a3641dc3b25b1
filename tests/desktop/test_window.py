"""Window plumbing: recent files, settings persistence, theme, shortcuts (drag and drop:
test_drop.py)."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from layerlift.desktop.editor import engine_options
from layerlift.desktop.settings import load_settings


def test_recent_files_and_settings_survive_a_restart(window, photo_path, qtbot):
    from layerlift.desktop.main_window import MainWindow
    window.brush_bar.size_spin.setValue(77)
    window.engine_panel.engine_combo.setCurrentText("flux")
    window.engine_panel.seed_spin.setValue(5)
    assert window.settings.recent_files[0] == str(photo_path.resolve())
    actions = window.recent_menu.actions()
    assert actions and actions[0].text() == photo_path.name
    window.close()
    stored = load_settings()
    assert stored.brush_size == 77 and stored.engine == "flux" and stored.seed == 5
    assert stored.window_geometry
    again = MainWindow(stored, autosave_seconds=3600)
    qtbot.addWidget(again)
    assert again.canvas.brush_size == 77 and again.engine_panel.engine_combo.currentText() == "flux"
    again.recent_menu.actions()[0].trigger()
    assert again.doc is not None and again.doc.path == str(photo_path.resolve())
    again.close()


def test_title_marks_unsaved_changes(window):
    assert "*" not in window.windowTitle()
    window.canvas.add_box(QPointF(5, 5), QPointF(30, 30))
    assert window.windowTitle().startswith("photo.png*")
    window.undo.undo()
    assert "*" not in window.windowTitle()


def test_dark_palette_is_dark_and_shortcut_table_lists_the_tools():
    from PySide6.QtGui import QPalette

    from layerlift.desktop.shortcuts import SHORTCUTS, shortcuts_markdown
    from layerlift.desktop.theme import dark_palette
    assert dark_palette().color(QPalette.ColorRole.Window).lightness() < 80
    keys = dict(SHORTCUTS)
    assert {"B", "E", "M", "Ctrl+Enter", "Esc", "Ctrl+R"} <= set(keys)
    assert shortcuts_markdown().count("\n") == len(SHORTCUTS) + 1


def test_actions_carry_the_documented_shortcuts(window):
    from PySide6.QtGui import QKeySequence
    def keys(action):
        return {s.toString() for s in action.shortcuts()}
    assert "Ctrl+Return" in keys(window.act["decompose"])
    assert keys(window.act["cancel"]) == {"Esc"}
    assert keys(window.act["recompose"]) == {"Ctrl+R"}
    assert keys(window.act["fit"]) == {"Ctrl+0"} and keys(window.act["actual"]) == {"Ctrl+1"}
    assert QKeySequence("Ctrl+Z").toString() in keys(window.act["undo"])


def test_closing_with_unsaved_changes_asks(window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    window.ask_before_close = True
    window.canvas.add_box(QPointF(5, 5), QPointF(30, 30))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert not window.close() and window.isVisible()
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert window.close()


def test_model_only_settings_are_greyed_out_for_the_classical_engine(window):
    panel = window.engine_panel
    panel.engine_combo.setCurrentText("classical")
    assert not panel.steps_spin.isEnabled() and not panel.candidates_spin.isEnabled()
    assert engine_options(window.settings) == {"engine": "classical", "seed": window.settings.seed}
    panel.engine_combo.setCurrentText("flux")
    assert panel.steps_spin.isEnabled() and panel.lora_scale_spin.isEnabled()
    assert engine_options(window.settings)["engine"] == "flux"


def test_the_layers_panel_follows_only_the_document_open_now(window, tmp_path):
    from layerlift.inference.imageio import save_png
    from tests.desktop.conftest import make_photo

    first = window.editor.doc
    second_path = tmp_path / "second.png"
    save_png(second_path, make_photo(120, 160))
    assert window.open_path(str(second_path)), window.last_error
    panel = window.layers_panel
    assert window.editor.doc is not first
    assert panel._on_doc not in first.listeners    # the photo open before is let go
    assert window.editor.doc.listeners.count(panel._on_doc) == 1
