"""The main window: the canvas in the middle, the Layers and Engine panels, the menus and
toolbars the actions table builds, the status bar. It assembles them around the Editor
(desktop/editor.py), which does the work: every edit and its undo step, the engine's jobs,
saves, exports and autosave. The window shows what the Editor reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QMessageBox, QWidget

from layerlift.desktop import canvas as tools
from layerlift.desktop.actions import (
    TOOLBARS,
    State,
    build_actions,
    build_menus,
    icon,
    update_enabled,
)
from layerlift.desktop.bend_control import BendControl
from layerlift.desktop.brush_bar import BrushBar
from layerlift.desktop.canvas import Canvas
from layerlift.desktop.dialogs import Dialogs
from layerlift.desktop.document import LOGO, Document
from layerlift.desktop.editor import Editor
from layerlift.desktop.engine_panel import EnginePanel
from layerlift.desktop.layers_panel import LayersPanel
from layerlift.desktop.settings import Settings, save_settings
from layerlift.desktop.status_bar import StatusWidgets
from layerlift.inference.errors import InputError

APP_NAME = "Layerlift"
VERSION = "0.1.0"
ABOUT = ("<p>Takes a product photo apart into a logo layer and a clean object layer, lets you "
         "edit or swap the logo and puts it back in the surface's light and perspective.</p>"
         "<p>Method: <i>Cycle-Consistent Tuning for Layered Image Decomposition</i> (Gu et al., "
         "CVPR 2026).</p><p>Licensed under the Apache License 2.0.</p>")

__all__ = ["APP_NAME", "VERSION", "MainWindow", "icon"]


class MainWindow(QMainWindow):
    ask_before_close = True               # tests turn the "unsaved changes" question off

    def __init__(self, settings: Settings | None = None,
                 autosave_seconds: float | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self._error_box: QMessageBox | None = None
        self._actions_state: State | None = None      # what the actions were last set for
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(icon("layerlift"))
        self.setAcceptDrops(True)
        self.resize(1280, 860)
        blank = Document(np.full((600, 800, 3), 236, np.uint8))   # not a document: nothing open
        self.editor = e = Editor(blank, self.settings, self, blank=True)
        self.undo = e.undo
        self.canvas = Canvas(blank, e, self)
        self.setCentralWidget(self.canvas)
        e.opened.connect(self._opened)
        # The window's face for the app, scripts and tests: the Editor's own methods.
        self.decompose, self.recompose, self.open_path = e.decompose, e.recompose, e.open_path
        self.save_project, self.export, self.set_document = e.save_project, e.export, \
            e.set_document
        self.replace_logo, self.tint_logo, self.load_mask = e.replace_logo, e.tint_logo, \
            e.load_mask_file
        self.edit_layer, self.clear_mask, self.restore_autosave = e.edit_layer, e.clear_mask, \
            e.restore_autosave
        self.job_done, self.file_written = e.job_done, e.file_written

        self.dialogs = Dialogs(self, e)
        self.act = build_actions(self)
        self.menus = build_menus(self.menuBar(), self.act)
        self.recent_menu = self.menus["recent"]
        self._toolbar("Tools", "tools").setIconSize(QSize(22, 22))
        self.brush_bar = BrushBar(self.canvas, self.settings)
        self.brush_bar.addAction(self.act["clear_mask"])
        self.addToolBar(self.brush_bar)
        self._toolbar("Run", "run")
        self.bend_control = BendControl(e)
        bend = self._toolbar("Bend", "bend")   # shown with the transform / perspective tools
        bend.addWidget(self.bend_control)
        bend.setVisible(False)
        self.canvas.tool_changed.connect(
            lambda tool: bend.setVisible(tool in (tools.TRANSFORM, tools.PERSPECTIVE)))
        self.layers_panel = LayersPanel(e, self.act)
        self._dock("Layers", "layers-dock", self.layers_panel, separator=True)
        self.engine_panel = EnginePanel(e)
        self._dock("Engine", "engine-dock", self.engine_panel)
        self.status = StatusWidgets(self.statusBar(), e, self.canvas)

        self.act["show_mask"].setChecked(True)
        self.canvas.mask_visibility_changed.connect(self.act["show_mask"].setChecked)
        self.canvas.found_visibility_changed.connect(self.act["show_found"].setChecked)
        # (Slots that are methods: Qt drops them with the window; the stack may outlive it.)
        self.undo.undoTextChanged.connect(self._undo_texts)
        self.undo.redoTextChanged.connect(self._undo_texts)
        self.undo.cleanChanged.connect(self._update_title)
        for signal in (self.undo.indexChanged, e.state_changed, self.layers_panel.changed):
            signal.connect(self._update_actions)
        self.undo.indexChanged.connect(self._sync_fill_check)
        e.error.connect(self.show_error)
        e.recent_changed.connect(self._rebuild_recent_menu)
        self._rebuild_recent_menu()
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromHex(self.settings.window_geometry.encode()))
        if self.settings.window_state:
            self.restoreState(QByteArray.fromHex(self.settings.window_state.encode()))
        self.set_tool(tools.BRUSH)
        self._update_actions()
        e.start_autosave(autosave_seconds)
        self._first_show = True

    # ------------------------------------------------------------------ assembling
    def _toolbar(self, title: str, name: str):
        bar = self.addToolBar(title)
        bar.setObjectName(name)
        bar.addActions([self.act[n] for n in TOOLBARS.get(name, [])])
        return bar

    def _dock(self, title: str, name: str, panel: QWidget, separator: bool = False) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        if separator:
            self.menus["&View"].addSeparator()
        self.menus["&View"].addAction(dock.toggleViewAction())

    # ------------------------------------------------------------------ the Editor's state
    doc = property(lambda self: self.editor.document)     # None while nothing is open
    project_path = property(lambda self: self.editor.project_path)
    last_error = property(lambda self: self.editor.last_error,
                          lambda self, text: setattr(self.editor, "last_error", text))
    worker = property(lambda self: self.editor.worker)
    files = property(lambda self: self.editor.files)
    autosaver = property(lambda self: self.editor.autosaver)

    def _opened(self) -> None:
        doc = self.editor.doc
        self.canvas.set_document(doc)
        self.bend_control.set_document(doc)
        self._update_title()

    def state(self) -> State:
        doc, row = self.doc, self.layers_panel.selected_row()
        return State(has_doc=doc is not None, busy=self.editor.busy(),
                     has_logo=doc is not None and doc.layer(LOGO) is not None,
                     row=row if doc is not None else None,
                     rows=len(doc.layers) if doc is not None else 0,
                     can_undo=self.undo.canUndo(), can_redo=self.undo.canRedo())

    def _undo_texts(self, *_args) -> None:
        self.act["undo"].setText(f"&Undo {self.undo.undoText()}".strip())
        self.act["redo"].setText(f"&Redo {self.undo.redoText()}".strip())

    def _sync_fill_check(self, *_args) -> None:
        self.canvas.show_fill_check(self.editor.fill_check_box())

    def _update_actions(self, *_args) -> None:
        # Four signals ask for this after each job's result (the stack, the undo index, the
        # job's end, the selection), mostly with nothing changed since the last time.
        state = self.state()
        if state != self._actions_state:
            update_enabled(self.act, state)
            self._actions_state = state

    def _update_title(self, clean: bool | None = None) -> None:
        # `clean` comes from the signal: the stack may be mid-destruction when it fires.
        if self.doc is None:
            self.setWindowTitle(APP_NAME)
            return
        name = Path(self.doc.path).name if self.doc.path else "untitled"
        star = "" if (self.undo.isClean() if clean is None else clean) else "*"
        self.setWindowTitle(f"{name}{star} — {APP_NAME}")

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.act[tool].setChecked(True)

    def finish_file_writes(self) -> bool:
        """Wait (with a busy cursor) for the save or export being written; False if it
        failed (the error dialog is up)."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            return self.editor.finish_file_writes()
        finally:
            QApplication.restoreOverrideCursor()

    # ------------------------------------------------------------------ dialogs
    def show_error(self, title: str, message: str) -> None:
        """A window-modal message box that does not block the event loop."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message,
                          QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self._error_box = box

    def about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", f"<h3>{APP_NAME} {VERSION}</h3>{ABOUT}")

    def show_shortcuts(self) -> None:
        from layerlift.desktop.shortcuts import shortcuts_html
        QMessageBox.information(self, "Keyboard shortcuts", shortcuts_html())

    # ------------------------------------------------------------------ window events
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._first_show:
            self._first_show = False
            QTimer.singleShot(0, self.canvas.fit)
            QTimer.singleShot(1000, self.worker.warm_up)

    def _may_close(self) -> bool:
        """Unsaved changes: ask to save them (Save / Discard / Cancel)."""
        if not self.ask_before_close or self.doc is None or self.undo.isClean():
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save the changes to this project before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            self.dialogs.save()
            self.finish_file_writes()
            return self.undo.isClean()          # saved (not cancelled in the file dialog)
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:
        # A save or export still being written finishes first; if it failed, the window
        # stays open with the error, so nothing the user asked to keep is lost.
        if not self.finish_file_writes() or not self._may_close():
            event.ignore()
            return
        self.settings.window_geometry = bytes(self.saveGeometry().toHex()).decode()
        self.settings.window_state = bytes(self.saveState().toHex()).decode()
        try:
            save_settings(self.settings)
        except (OSError, InputError) as exc:
            print(f"layerlift: could not save settings: {exc}")
        self.editor.shutdown()
        super().closeEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return
