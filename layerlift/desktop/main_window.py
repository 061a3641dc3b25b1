"""The main window: canvas in the middle, layers and engine panels, menus, status bar.

Every edit of the document goes through the QUndoStack. Long work (decompose, compose) goes
to the one worker thread; its results come back as plain data and only then change the
document, so a cancelled or failed run leaves the document as it was.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QPalette,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from layerlift.desktop import canvas as tools
from layerlift.desktop.autosave import Autosaver
from layerlift.desktop.bend_control import BendControl
from layerlift.desktop.canvas import Canvas
from layerlift.desktop.document import (
    LOGO,
    OBJECT,
    Document,
    Layer,
    Rect,
    replacement_placement,
)
from layerlift.desktop.editor import DECOMPOSE, Editor
from layerlift.desktop.file_writes import FileWrite, FileWrites
from layerlift.desktop.history import StackChange
from layerlift.desktop.layers_model import LayersModel, OpacityRole
from layerlift.desktop.resources import resource_path
from layerlift.desktop.settings import Settings, save_settings
from layerlift.desktop.worker import Worker
from layerlift.inference.confidence import CHECK, CLEAN, GUESS, confidence_words
from layerlift.inference.errors import InputError, LayerliftError

APP_NAME = "Layerlift"
VERSION = "0.1.0"
IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp *.gif);;All files (*)"
PROJECT_FILTER = "Layerlift project (*.ora)"
LOGO_FILTER = "Logos (*.png *.jpg *.jpeg *.webp *.svg *.svgz);;All files (*)"
ENGINES = ("classical", "flux")


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


QUALITY_COLOURS = {"good": "#2e9d4f", "fair": "#c98a00", "poor": "#d0342c"}
CONFIDENCE_COLOURS = {CLEAN: QUALITY_COLOURS["good"], CHECK: QUALITY_COLOURS["fair"],
                      GUESS: QUALITY_COLOURS["poor"]}


def cycle_quality(error: float) -> str:
    """How far the layers rebuild the photo (mean abs error in [0, 1]) -> good / fair / poor."""
    return "good" if error <= 0.01 else "fair" if error <= 0.03 else "poor"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class MainWindow(QMainWindow):
    job_done = Signal(str, str)           # kind, outcome: "ok" / "cancelled" / "failed"
    file_written = Signal(str, str, str)  # "Save" / "Export", path, error ("" if written)
    ask_before_close = True               # tests turn the "unsaved changes" question off

    def __init__(self, settings: Settings | None = None,
                 autosave_seconds: float | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self._edits = 0
        self.doc: Document | None = None
        self.last_error: str | None = None
        self._error_box: QMessageBox | None = None
        self._job_started = 0.0
        self._job_doc: Document | None = None     # the document a running job belongs to
        self.project_path: str | None = None       # where Ctrl+S saves
        self._showing_settings = False             # see _show_engine_settings
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(icon("layerlift"))
        self.setAcceptDrops(True)
        self.resize(1280, 860)

        blank = Document(np.full((600, 800, 3), 236, np.uint8))
        self.editor = Editor(blank, self)     # every edit and its undo step
        self.undo = self.editor.undo
        self.canvas = Canvas(blank, self.editor, self)
        self.doc = None                    # the blank canvas is not a document
        self.setCentralWidget(self.canvas)
        self.layers_model = LayersModel(blank, self.edit_layer, self.move_layer)

        self.worker = Worker()
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_job_finished)
        self.worker.failed.connect(self._on_job_failed)
        self.worker.cancelled.connect(self._on_job_cancelled)
        self.files = FileWrites()
        self.files.ended.connect(self._file_write_ended)

        self._build_actions()
        self._build_menus()
        self._build_toolbars()
        self._build_layers_dock()
        self._build_engine_dock()
        self._build_status_bar()
        self._apply_settings()
        self.canvas.cursor_moved.connect(self._on_cursor)
        self.canvas.zoom_changed.connect(self._on_zoom)
        self.undo.cleanChanged.connect(self._update_title)
        self.undo.indexChanged.connect(self._update_actions)
        self.undo.indexChanged.connect(self._sync_fill_check)
        self._update_actions()
        self.autosaver = Autosaver(lambda: self.doc, self._edit_state,
                                   lambda: asdict(self.settings), autosave_seconds)
        self.autosaver.failed.connect(self._on_autosave_failed)
        self._first_show = True

    # ------------------------------------------------------------------ building
    def _action(self, text: str, slot, shortcut=None, icon_name: str | None = None,
                checkable: bool = False, tip: str | None = None) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            if isinstance(shortcut, list | tuple):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if tip or shortcut is not None:
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip or text.replace('…', '')}" + (f"  ({keys})" if keys else ""))
        action.triggered.connect(slot)
        self.addAction(action)   # shortcuts work while any child has focus
        return action

    def _build_actions(self) -> None:
        S = QKeySequence.StandardKey
        a = self._action
        self.act_open = a("&Open…", self.open_dialog, S.Open)
        self.act_open_project = a("Open &Project…", self.open_project_dialog, "Ctrl+Shift+O")
        self.act_save = a("&Save Project", self.save_project_action, S.Save)
        self.act_save_as = a("Save Project &As…", self.save_project_as, "Ctrl+Shift+S")
        self.act_load_mask = a("Load &Mask…", self.load_mask_dialog, "Ctrl+Shift+M")
        self.act_export_psd = a("Export Layers as &PSD…", lambda: self.export_dialog("psd"),
                                "Ctrl+E")
        self.act_export_ora = a("Export Layers as &ORA…", lambda: self.export_dialog("ora"))
        self.act_export_png = a("Export Layers as PNG &Folder…",
                                lambda: self.export_dialog("png-folder"))
        self.act_export_flat = a("Export &Flattened PNG/JPEG…",
                                 lambda: self.export_dialog("flat"), "Ctrl+Shift+E")
        self.act_quit = a("&Quit", self.close, S.Quit)

        self.act_undo = self.undo.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts([QKeySequence(S.Undo)])
        self.act_redo = self.undo.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        self.act_clear_mask = a("&Clear Mask", self.clear_mask, ["Ctrl+D", "Ctrl+Shift+A"])
        self.act_overlay_colour = a("Mask Overlay &Colour…", self.choose_overlay_colour)
        self.act_show_mask = a("Show &Mask", self.canvas.set_mask_visible, "Q", checkable=True,
                               tip="Show the mask overlay")
        self.act_show_mask.setChecked(True)
        self.canvas.mask_visibility_changed.connect(self.act_show_mask.setChecked)

        self.act_zoom_in = a("Zoom &In", lambda: self.canvas.zoom_by(1.25),
                             ["Ctrl++", "Ctrl+="])
        self.act_zoom_out = a("Zoom &Out", lambda: self.canvas.zoom_by(0.8), "Ctrl+-")
        self.act_fit = a("&Fit in Window", self.canvas.fit, "Ctrl+0")
        self.act_actual = a("&100 %", self.canvas.actual_size, "Ctrl+1")

        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for tool, text, key, tip in (
                (tools.BRUSH, "&Brush", "B", "Brush: paint the logo's mask"),
                (tools.ERASER, "&Eraser", "E", "Eraser: remove from the mask"),
                (tools.BOX, "Bo&x", "M", "Box: add a rectangle to the mask"),
                (tools.MOVE, "&Move Logo", "V", "Move the logo"),
                (tools.TRANSFORM, "&Transform Logo", "Ctrl+T",
                 "Transform: corners scale, outside rotates"),
                (tools.PERSPECTIVE, "&Perspective", "Shift+P",
                 "Perspective: drag each corner"),
                (tools.HAND, "&Hand", "H", "Hand: pan (or hold Space)")):
            action = a(text, lambda _c=False, t=tool: self.set_tool(t), key, tool,
                       checkable=True, tip=tip)
            self.tool_group.addAction(action)
            self.tool_actions[tool] = action
        self.act_bigger = a("Bigger Brush", lambda: self.resize_brush(1.25), "]")
        self.act_smaller = a("Smaller Brush", lambda: self.resize_brush(0.8), "[")
        self.act_harder = a("Harder Brush", lambda: self.change_hardness(0.1), "Shift+]")
        self.act_softer = a("Softer Brush", lambda: self.change_hardness(-0.1), "Shift+[")

        self.act_decompose = a("&Decompose", self.decompose, ["Ctrl+Return", "Ctrl+Enter"],
                               tip="Split the photo into logo and clean object")
        self.act_cancel = a("&Cancel", self.cancel_job, "Esc")
        self.act_recompose = a("&Recompose", self.recompose, "Ctrl+R",
                               tip="Put the (edited) logo back onto the object")
        self.act_replace_logo = a("Replace &Logo…", self.replace_logo_dialog, "Ctrl+Shift+L")
        self.act_tint = a("&Tint Logo…", self.tint_logo_dialog)
        self.act_untint = a("Remove Tin&t", self.remove_tint)
        self.act_solo = a("&Solo Selected Layer", self.solo_selected, "Alt+S")
        self.act_raise = a("Bring Layer &Forward", lambda: self.move_selected(-1), "Ctrl+]",
                           "layer-up", tip="Move the selected layer up the stack")
        self.act_lower = a("Send Layer &Backward", lambda: self.move_selected(1), "Ctrl+[",
                           "layer-down", tip="Move the selected layer down the stack")
        self.act_about = a("&About Layerlift", self.about)
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts, "F1")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_open, self.act_open_project])
        self.recent_menu = m.addMenu("Open &Recent")
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addAction(self.act_load_mask)
        m.addSeparator()
        m.addActions([self.act_export_psd, self.act_export_ora, self.act_export_png,
                      self.act_export_flat])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = bar.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_clear_mask, self.act_overlay_colour])
        m = bar.addMenu("&View")
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual])
        m.addSeparator()
        m.addAction(self.act_show_mask)
        self.view_menu = m
        m = bar.addMenu("&Tools")
        m.addActions(list(self.tool_actions.values()))
        m.addSeparator()
        m.addActions([self.act_bigger, self.act_smaller, self.act_harder, self.act_softer])
        m = bar.addMenu("&Layers")
        m.addActions([self.act_decompose, self.act_cancel, self.act_recompose])
        m.addSeparator()
        m.addActions([self.act_replace_logo, self.act_tint, self.act_untint, self.act_solo])
        m.addSeparator()
        m.addActions([self.act_raise, self.act_lower])
        m = bar.addMenu("&Help")
        m.addActions([self.act_shortcuts, self.act_about])
        self._rebuild_recent_menu()

    def _build_toolbars(self) -> None:
        tb = self.addToolBar("Tools")
        tb.setObjectName("tools")
        tb.setIconSize(QSize(22, 22))
        tb.addActions(list(self.tool_actions.values()))
        opts = self.addToolBar("Brush")
        opts.setObjectName("brush")
        opts.addWidget(QLabel(" Size "))
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, 2000)
        self.size_spin.setSuffix(" px")
        self.size_spin.valueChanged.connect(lambda v: self._set_brush(size=v))
        opts.addWidget(self.size_spin)
        opts.addWidget(QLabel(" Hardness "))
        self.hardness_slider = QSlider(Qt.Orientation.Horizontal)
        self.hardness_slider.setRange(0, 100)
        self.hardness_slider.setFixedWidth(90)
        self.hardness_slider.valueChanged.connect(lambda v: self._set_brush(hardness=v / 100))
        opts.addWidget(self.hardness_slider)
        opts.addWidget(QLabel(" Overlay "))
        self.overlay_slider = QSlider(Qt.Orientation.Horizontal)
        self.overlay_slider.setRange(0, 100)
        self.overlay_slider.setFixedWidth(90)
        self.overlay_slider.valueChanged.connect(self._set_overlay_opacity)
        opts.addWidget(self.overlay_slider)
        opts.addSeparator()
        opts.addAction(self.act_clear_mask)
        run = self.addToolBar("Run")
        run.setObjectName("run")
        run.addActions([self.act_decompose, self.act_recompose, self.act_replace_logo])
        bend = self.addToolBar("Bend")          # shown with the transform / perspective tools
        bend.setObjectName("bend")
        self.bend_control = BendControl(self.editor)
        bend.addWidget(self.bend_control)
        bend.setVisible(False)
        self.canvas.tool_changed.connect(
            lambda tool: bend.setVisible(tool in (tools.TRANSFORM, tools.PERSPECTIVE)))

    def _build_layers_dock(self) -> None:
        dock = QDockWidget("Layers", self)
        dock.setObjectName("layers-dock")
        panel = QWidget()
        box = QVBoxLayout(panel)
        box.setContentsMargins(4, 4, 4, 4)
        self.layers_view = QListView()
        self.layers_view.setObjectName("layers")
        self.layers_view.setModel(self.layers_model)
        self.layers_view.setIconSize(QSize(48, 48))
        self.layers_view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                         | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.layers_view.selectionModel().currentChanged.connect(
            lambda _c, _p: self._sync_opacity_slider())
        self.layers_view.selectionModel().currentChanged.connect(self._update_actions)
        # Drag a row to reorder; the model turns the drop into move_layer (one undo step).
        self.layers_view.setDragEnabled(True)
        self.layers_view.setAcceptDrops(True)
        self.layers_view.setDropIndicatorShown(True)
        self.layers_view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.layers_view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.layers_view.setDragDropOverwriteMode(False)
        box.addWidget(self.layers_view)
        row = QHBoxLayout()
        row.addWidget(QLabel("Opacity"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.sliderPressed.connect(self._opacity_drag_start)
        self.opacity_slider.sliderReleased.connect(self._opacity_drag_end)
        self.opacity_slider.valueChanged.connect(self._opacity_changed)
        row.addWidget(self.opacity_slider)
        solo = QToolButton()
        solo.setDefaultAction(self.act_solo)
        solo.setText("Solo")
        row.addWidget(solo)
        for action in (self.act_raise, self.act_lower):
            button = QToolButton()
            button.setDefaultAction(action)
            row.addWidget(button)
        box.addLayout(row)
        self.cycle_label = QLabel("")
        self.cycle_label.setObjectName("cycle")
        self.cycle_label.setWordWrap(True)
        box.addWidget(self.cycle_label)
        self.notes_label = QLabel("")       # the last run's warnings (e.g. a memory fallback)
        self.notes_label.setObjectName("job-notes")
        self.notes_label.setWordWrap(True)
        box.addWidget(self.notes_label)
        dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.view_menu.addSeparator()
        self.view_menu.addAction(dock.toggleViewAction())
        self._opacity_before: Layer | None = None
        self._solo_saved: list[bool] | None = None

    def _build_engine_dock(self) -> None:
        dock = QDockWidget("Engine", self)
        dock.setObjectName("engine-dock")
        panel = QWidget()
        form = QFormLayout(panel)
        self.engine_combo = QComboBox()
        self.engine_combo.addItems(ENGINES)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(0, 1000)
        self.steps_spin.setSpecialValueText("default")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.candidates_spin = QSpinBox()
        self.candidates_spin.setRange(1, 64)
        self.lora_scale_spin = QDoubleSpinBox()
        self.lora_scale_spin.setRange(0.0, 2.0)
        self.lora_scale_spin.setSingleStep(0.05)
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("FLUX.1-Fill-dev folder or file")
        self.lora_edit = QLineEdit()
        self.lora_edit.setPlaceholderText("LoRA .safetensors (optional)")
        self.exact_mask_check = QCheckBox("Exact mask")
        self.exact_mask_check.setToolTip(
            "Trust the mask as painted: every masked pixel is mark and is filled (for a tight "
            "mask, or to replace the whole region). The flux engine always fills the whole "
            "mask.")
        form.addRow("Engine", self.engine_combo)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("", self.exact_mask_check)
        form.addRow("Candidates", self.candidates_spin)
        form.addRow("LoRA scale", self.lora_scale_spin)
        model_row = self._with_browse(self.model_edit, folder=True)
        lora_row = self._with_browse(self.lora_edit, folder=False)
        form.addRow("Model", model_row)
        form.addRow("LoRA", lora_row)
        go = QPushButton("Decompose")
        go.clicked.connect(self.decompose)
        form.addRow(go)
        # Widgets only the flux engine reads: greyed out for the classical engine.
        self.flux_only_widgets = [self.steps_spin, self.candidates_spin, self.lora_scale_spin,
                                  model_row, lora_row]
        self.engine_combo.currentTextChanged.connect(self._show_engine_fields)
        self._show_engine_fields(self.engine_combo.currentText())
        for signal in (self.engine_combo.currentTextChanged, self.steps_spin.valueChanged,
                       self.seed_spin.valueChanged, self.candidates_spin.valueChanged,
                       self.lora_scale_spin.valueChanged, self.model_edit.textChanged,
                       self.lora_edit.textChanged, self.exact_mask_check.toggled):
            signal.connect(self._engine_settings_changed)
        dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.view_menu.addAction(dock.toggleViewAction())

    def _show_engine_fields(self, engine: str) -> None:
        for widget in self.flux_only_widgets:
            widget.setEnabled(engine != "classical")

    def _engine_options(self) -> dict:
        """The request options for the chosen engine (the classical engine takes only a seed)."""
        s = self.settings
        if s.engine == "classical":
            return dict(engine=s.engine, seed=s.seed)
        return dict(engine=s.engine, seed=s.seed, steps=s.steps or None,
                    lora_scale=s.lora_scale, model=s.model_path or None,
                    lora=s.lora_path or None)

    def _with_browse(self, edit: QLineEdit, folder: bool) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit)
        button = QToolButton()
        button.setText("…")

        def browse() -> None:
            if folder:
                path = QFileDialog.getExistingDirectory(self, "Model folder", edit.text())
            else:
                path, _ = QFileDialog.getOpenFileName(self, "LoRA file", edit.text(),
                                                      "LoRA (*.safetensors)")
            if path:
                edit.setText(path)
        button.clicked.connect(browse)
        row.addWidget(button)
        return w

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.pos_label = QLabel("")
        self.zoom_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(260)
        self.progress.hide()
        self.file_progress = QProgressBar()       # a save or export being written
        self.file_progress.setFixedWidth(200)
        self.file_progress.setRange(0, 0)
        self.file_progress.hide()
        bar.addPermanentWidget(self.file_progress)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.cancel_button.hide()
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.pos_label)
        bar.addPermanentWidget(self.zoom_label)

    # ------------------------------------------------------------------ settings
    def _apply_settings(self) -> None:
        s = self.settings
        self.size_spin.setValue(round(s.brush_size))
        self.hardness_slider.setValue(round(s.brush_hardness * 100))
        self.overlay_slider.setValue(round(s.overlay_opacity * 100))
        self.canvas.set_brush(s.brush_size, s.brush_hardness)
        colour = QColor(s.overlay_colour)
        self.canvas.set_overlay(colour if colour.isValid() else None, s.overlay_opacity)
        self._show_engine_settings()
        if s.window_geometry:
            self.restoreGeometry(QByteArray.fromHex(s.window_geometry.encode()))
        if s.window_state:
            self.restoreState(QByteArray.fromHex(s.window_state.encode()))
        self.set_tool(tools.BRUSH)

    def _show_engine_settings(self) -> None:
        """The engine panel's widgets from the settings. Each widget's change signal would
        write all widgets back into the settings, the ones not yet set too: not while here."""
        s = self.settings
        self._showing_settings = True
        try:
            self.engine_combo.setCurrentText(s.engine if s.engine in ENGINES else "classical")
            self.steps_spin.setValue(s.steps)
            self.seed_spin.setValue(s.seed)
            self.candidates_spin.setValue(s.candidates)
            self.lora_scale_spin.setValue(s.lora_scale)
            self.model_edit.setText(s.model_path)
            self.lora_edit.setText(s.lora_path)
            self.exact_mask_check.setChecked(s.exact_mask)
        finally:
            self._showing_settings = False

    def _engine_settings_changed(self, *_args) -> None:
        if self._showing_settings:
            return
        s = self.settings
        s.engine = self.engine_combo.currentText()
        s.steps = self.steps_spin.value()
        s.seed = self.seed_spin.value()
        s.candidates = self.candidates_spin.value()
        s.lora_scale = self.lora_scale_spin.value()
        s.model_path = self.model_edit.text().strip()
        s.lora_path = self.lora_edit.text().strip()
        s.exact_mask = self.exact_mask_check.isChecked()

    def _set_brush(self, size: float | None = None, hardness: float | None = None) -> None:
        self.canvas.set_brush(size, hardness)
        self.settings.brush_size = self.canvas.brush_size
        self.settings.brush_hardness = self.canvas.hardness

    def resize_brush(self, factor: float) -> None:
        size = self.canvas.brush_size * factor
        size = size + (1 if factor > 1 else -1) if abs(size - self.canvas.brush_size) < 1 \
            else size
        self.size_spin.setValue(round(min(max(size, 1), 2000)))

    def change_hardness(self, delta: float) -> None:
        self.hardness_slider.setValue(round((self.canvas.hardness + delta) * 100))

    def _set_overlay_opacity(self, value: int) -> None:
        self.canvas.set_overlay(opacity=value / 100)
        self.settings.overlay_opacity = value / 100

    def choose_overlay_colour(self) -> None:
        colour = QColorDialog.getColor(self.canvas.overlay_colour, self, "Mask overlay colour")
        if colour.isValid():
            self.canvas.set_overlay(colour=colour)
            self.settings.overlay_colour = colour.name()

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)

    # ------------------------------------------------------------------ document
    def set_document(self, doc: Document) -> None:
        if self.worker.busy():
            self.cancel_job()
        self.doc = doc
        self.editor.set_document(doc)
        self.canvas.set_document(doc)
        self.layers_model.set_document(doc)
        self.bend_control.set_document(doc)
        doc.listeners.append(self._on_doc)
        self.layers_view.setCurrentIndex(self.layers_model.index(0))
        self._sync_opacity_slider()
        self._show_quality()
        self._update_title()
        self._update_actions()

    def _on_doc(self, event: str, payload: object) -> None:
        self._edits += 1            # any change at all: the autosave compares this
        if event == "layers":
            row = self.selected_row()
            self.layers_model.layers_changed()
            if row is not None and row < self.layers_model.rowCount():
                self.layers_view.setCurrentIndex(self.layers_model.index(row))
            self._show_quality()
            self._update_actions()
        elif event == "layer":
            self.layers_model.layer_changed(int(payload))
            self._sync_opacity_slider()

    def _edit_state(self) -> object:
        """Changes whenever the document changes (a different document, or any edit)."""
        return (id(self.doc), self._edits)

    def _update_title(self, clean: bool | None = None) -> None:
        # `clean` comes from the signal: the stack may be mid-destruction when it fires.
        name = Path(self.doc.path).name if self.doc and self.doc.path else "untitled"
        if self.doc is None:
            self.setWindowTitle(APP_NAME)
            return
        star = "" if (self.undo.isClean() if clean is None else clean) else "*"
        self.setWindowTitle(f"{name}{star} — {APP_NAME}")

    def _update_actions(self, *_args) -> None:
        has_doc = self.doc is not None
        busy = self.worker.busy()
        has_logo = has_doc and self.doc.layer(LOGO) is not None
        for action in (self.act_save, self.act_save_as, self.act_load_mask, self.act_export_psd,
                       self.act_export_ora, self.act_export_png, self.act_export_flat,
                       self.act_clear_mask):
            action.setEnabled(has_doc)
        self.act_decompose.setEnabled(has_doc and not busy)
        self.act_recompose.setEnabled(has_logo and not busy)
        for action in (self.act_replace_logo, self.act_tint, self.act_untint):
            action.setEnabled(has_logo)
        row = self.selected_row() if has_doc else None
        self.act_raise.setEnabled(row is not None and row > 0)
        self.act_lower.setEnabled(row is not None and row < len(self.doc.layers) - 1)
        self.act_cancel.setEnabled(busy)

    def open_path(self, path: str) -> bool:
        """Open a photo or a project (.ora); errors become a dialog. True on success."""
        try:
            if Path(path).suffix.lower() == ".ora":
                from layerlift.desktop.project import open_project
                doc, stored = open_project(path)
                self._apply_project_settings(stored)
            else:
                from layerlift.inference.imageio import load_image
                doc = Document(load_image(path), path=str(Path(path).resolve()))
        except (LayerliftError, OSError, ValueError, MemoryError) as exc:
            self.show_error("Cannot open file", str(exc))
            return False
        except Exception as exc:  # a bug in a reader must not take the open window down
            traceback.print_exc()
            self.show_error("Cannot open file", f"{Path(path).name}: internal error while "
                            f"reading it ({type(exc).__name__}: {exc})")
            return False
        self.project_path = str(path) if Path(path).suffix.lower() == ".ora" else None
        self.set_document(doc)
        self.settings.add_recent(path)
        self.settings.last_dir = str(Path(path).resolve().parent)
        self._rebuild_recent_menu()
        self.statusBar().showMessage(f"Opened {Path(path).name}", 4000)
        return True

    def _apply_project_settings(self, stored: dict) -> None:
        keys = ("engine", "steps", "seed", "candidates", "lora_scale", "exact_mask")
        for key in keys:
            if key in stored and type(stored[key]) is type(getattr(self.settings, key)):
                setattr(self.settings, key, stored[key])
        self._show_engine_settings()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", self.settings.last_dir,
                                              IMAGE_FILTER + ";;" + PROJECT_FILTER)
        if path:
            self.open_path(path)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self.settings.last_dir,
                                              PROJECT_FILTER)
        if path:
            self.open_path(path)

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    # ------------------------------------------------------------------ mask edits
    def clear_mask(self) -> None:
        if self.doc is not None:
            self.editor.clear_mask()

    def load_mask(self, path: str) -> bool:
        if self.doc is None:
            return False
        try:
            from layerlift.inference.imageio import load_mask
            mask = load_mask(path, self.doc.shape)
        except (LayerliftError, OSError) as exc:
            self.show_error("Cannot load mask", str(exc))
            return False
        self.editor.load_mask(mask)
        return True

    def load_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load mask", self.settings.last_dir,
                                              IMAGE_FILTER)
        if path:
            self.load_mask(path)

    # ------------------------------------------------------------------ layer edits
    def edit_layer(self, row: int, text: str | None = None, **changes) -> None:
        """One undoable change of a layer's fields (from the panel or the menus)."""
        if self.doc is not None:
            self.editor.edit_layer(row, text, **changes)

    def move_layer(self, row: int, to: int) -> None:
        """Move a layer to index `to` of the stack (0 is the top), as one undo step."""
        if self.doc is not None and self.editor.move_layer(row, to):
            self.layers_view.setCurrentIndex(self.layers_model.index(to))

    def move_selected(self, step: int) -> None:
        """Bring the selected layer forward (step -1) or send it backward (+1)."""
        row = self.selected_row()
        if row is not None:
            self.move_layer(row, row + step)

    def selected_row(self) -> int | None:
        index = self.layers_view.currentIndex()
        return index.row() if index.isValid() else None

    def _sync_opacity_slider(self) -> None:
        row = self.selected_row()
        if row is None or self.doc is None or row >= len(self.doc.layers):
            return
        if not self.opacity_slider.isSliderDown():
            self.opacity_slider.blockSignals(True)
            self.opacity_slider.setValue(round(self.doc.layers[row].opacity * 100))
            self.opacity_slider.blockSignals(False)

    def _opacity_drag_start(self) -> None:
        row = self.selected_row()
        self._opacity_before = None if row is None or self.doc is None \
            else self.doc.layers[row]

    def _opacity_changed(self, value: int) -> None:
        row = self.selected_row()
        if row is None or self.doc is None:
            return
        if self.opacity_slider.isSliderDown():
            self.doc.update_layer(row, opacity=value / 100)     # live; one undo on release
        else:
            self.layers_model.setData(self.layers_model.index(row), value / 100, OpacityRole)

    def _opacity_drag_end(self) -> None:
        row, before = self.selected_row(), self._opacity_before
        self._opacity_before = None
        if row is None or before is None or self.doc is None:
            return
        if self.doc.layers[row].opacity != before.opacity:
            self.editor.layer_edited(row, "Layer opacity", before)

    def solo_selected(self) -> None:
        """Show only the selected layer; again on a solo layer brings back what was shown."""
        row = self.selected_row()
        if row is None or self.doc is None:
            return
        before = list(self.doc.layers)
        shown = [layer.visible for layer in before]
        if shown == [i == row for i in range(len(before))]:
            saved = self._solo_saved if self._solo_saved and len(self._solo_saved) == len(
                before) else [True] * len(before)
            visible, self._solo_saved = saved, None
        else:
            visible, self._solo_saved = [i == row for i in range(len(before))], shown
        self.editor.show_layers(visible, "Solo layer")

    def _logo_row(self) -> int | None:
        return None if self.doc is None else self.doc.index_of(LOGO)

    def replace_logo(self, path: str) -> bool:
        """Load PNG/JPEG/SVG and fit it into the current logo's quad (one undo step)."""
        row = self._logo_row()
        if row is None:
            self.show_error("No logo layer", "Decompose the photo first.")
            return False
        try:
            from layerlift.desktop.qimage import load_logo_file
            asset = load_logo_file(path)
        except (LayerliftError, OSError) as exc:
            self.show_error("Cannot load logo", str(exc))
            return False
        layer = self.doc.layers[row]
        quad = layer.quad
        if layer.asset is None or not layer.asset[..., 3].any():
            quad = self._mask_quad()        # the engine found no mark: use the brushed area
        quad, bend = replacement_placement(asset, quad, layer)
        # A logo file is ink already (no light of this photo in it): no separate ink.
        self.edit_layer(row, "Replace logo", asset=asset, ink=None, quad=quad, bend=bend,
                        tint=None, tint_strength=0.0)
        return True

    def _mask_quad(self) -> np.ndarray:
        """The mask's bounding box as a quad, or the photo's middle half without a mask."""
        h, w = self.doc.shape
        x0, y0, x1, y1 = self.doc.mask_box() or (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)

    def replace_logo_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Replace logo", self.settings.last_dir,
                                              LOGO_FILTER)
        if path:
            self.replace_logo(path)

    def tint_logo(self, colour: QColor, strength: float = 1.0) -> None:
        row = self._logo_row()
        if row is not None:
            self.edit_layer(row, "Tint logo", tint=(colour.red(), colour.green(), colour.blue()),
                            tint_strength=strength)

    def tint_logo_dialog(self) -> None:
        colour = QColorDialog.getColor(QColor(0, 0, 0), self, "Logo tint")
        if colour.isValid():
            self.tint_logo(colour)

    def remove_tint(self) -> None:
        row = self._logo_row()
        if row is not None:
            self.edit_layer(row, "Remove tint", tint=None, tint_strength=0.0)

    # ------------------------------------------------------------------ background jobs
    def decompose(self) -> bool:
        if self.doc is None or self.worker.busy():
            return False
        box = self.doc.mask_box()
        if box is None:
            self.show_error("Nothing to decompose",
                            "Paint over the logo first (B for the brush, M for a box).")
            return False
        from layerlift.desktop.jobs import decompose_job
        options = self._engine_options() | {"exact_mask": self.settings.exact_mask}
        if options["engine"] != "classical":
            options["candidates"] = self.settings.candidates
        request, finish = decompose_job(self.doc.image, self.doc.mask, box, **options)
        self._start_job("decompose", request, finish, "Decomposing")
        return True

    def recompose(self) -> bool:
        if self.doc is None or self.worker.busy():
            return False
        logo, obj = self.doc.layer(LOGO), self.doc.layer(OBJECT)
        if logo is None or obj is None:
            self.show_error("Nothing to recompose", "Decompose the photo first.")
            return False
        from layerlift.desktop.jobs import compose_job
        # The ink, not the printed asset: compose shades an asset in the light at its quad.
        request, finish = compose_job(obj, logo.shown_ink(), np.array(logo.quad),
                                      self.doc.shape, logo.bend, **self._engine_options())
        self._start_job("compose", request, finish, "Recomposing")
        return True

    def _start_job(self, kind: str, request, finish, text: str) -> None:
        self._job_doc = self.doc
        self._job_started = time.perf_counter()
        self.worker.submit(kind, request, finish)
        self.progress.setRange(0, 0)        # busy until the first progress report
        self.progress.setFormat(text + "…")
        self.progress.show()
        self.cancel_button.show()
        self.statusBar().showMessage(text + "…")
        self._update_actions()

    def cancel_job(self) -> None:
        if self.worker.busy():
            self.worker.cancel()
            self.statusBar().showMessage("Cancelling…")

    def _on_progress(self, job: int, step: int, total: int, left: float) -> None:
        current = self.worker.current
        if total <= 0 or current is None or current.job_id != job:
            return                   # a late report from a job that already ended
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        eta = f" · {left:.0f} s left" if left >= 0 else ""
        self.progress.setFormat(f"{step}/{total}{eta}")

    def _job_ended(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self._update_actions()

    def _on_job_finished(self, _job: int, kind: str, result: object,
                         warnings: list[str]) -> None:
        self._job_ended()
        if self.doc is None or self.doc is not self._job_doc:
            self.job_done.emit(kind, "cancelled")    # the document changed meanwhile
            return
        seconds = time.perf_counter() - self._job_started
        if kind == "decompose":
            self._apply_decomposition(result)
        else:
            self._apply_recomposition(result)
        from layerlift.desktop.jobs import job_notes
        notes = job_notes(result, warnings)
        self.notes_label.setText("\n".join(f"⚠ {note}" for note in notes))
        text = f"{kind.capitalize()} done in {seconds:.1f} s"
        if notes:
            more = f" (+{len(notes) - 1} more in the Layers panel)" if len(notes) > 1 else ""
            text += f" — {notes[0]}{more}"
        self.statusBar().showMessage(text, 15000 if notes else 6000)
        self.job_done.emit(kind, "ok")

    def _apply_decomposition(self, result) -> None:
        self.editor.apply_decomposition(result)
        row = self.doc.index_of(LOGO)
        if row is not None:
            self.layers_view.setCurrentIndex(self.layers_model.index(row))

    def _apply_recomposition(self, result) -> None:
        self.editor.apply_recomposition(result)

    def _on_job_failed(self, _job: int, kind: str, message: str) -> None:
        self._job_ended()
        self.statusBar().showMessage(f"{kind.capitalize()} failed", 6000)
        self.show_error(f"{kind.capitalize()} failed", message)
        self.job_done.emit(kind, "failed")

    def _on_job_cancelled(self, _job: int, kind: str) -> None:
        self._job_ended()
        self.statusBar().showMessage(f"{kind.capitalize()} cancelled", 4000)
        self.job_done.emit(kind, "cancelled")

    def _show_quality(self) -> None:
        """The last decomposition's confidence in words where the engine gives one (the
        classical engine's cycle is always exact), else its cycle error."""
        meta = self.doc.meta if self.doc else {}
        confidence = meta.get("confidence")
        if _is_number(confidence):
            self._show_confidence(float(confidence), bool(meta.get("filled_box")))
        elif _is_number(meta.get("cycle_error")):
            self._show_cycle(float(meta["cycle_error"]), meta.get("cycle_psnr"))
        else:
            self.cycle_label.setText("")

    def _show_confidence(self, confidence: float, outlined: bool) -> None:
        words = confidence_words(confidence)
        where = ". The dashed box on the canvas marks where the surface was filled in." \
            if words != CLEAN and outlined else ""
        self._set_quality_text(f"Confidence {confidence * 100:.0f} % — {words}{where}",
                               CONFIDENCE_COLOURS[words])

    def _show_cycle(self, error: float, psnr: object) -> None:
        quality = cycle_quality(error)
        psnr_text = f", {psnr:.1f} dB" if _is_number(psnr) and psnr < 1e9 else ""
        self._set_quality_text(
            f"Cycle error {error * 100:.2f} %{psnr_text} — {quality}: how closely logo over "
            f"object rebuilds the photo inside the mask", QUALITY_COLOURS[quality])

    def _set_quality_text(self, text: str, colour: str) -> None:
        self.cycle_label.setText(text)
        palette = self.cycle_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        self.cycle_label.setPalette(palette)

    def _sync_fill_check(self, *_args) -> None:
        self.canvas.show_fill_check(self._fill_check_box())

    def _fill_check_box(self) -> Rect | None:
        """Where to check the fill: a doubtful decomposition's filled box, while the document
        is as that decomposition left it (its step is the last one done: any edit, undo or
        new run takes the outline away; redo brings it back)."""
        index = self.undo.index()
        step = self.undo.command(index - 1) if index > 0 else None
        if not isinstance(step, StackChange) or step.text() != DECOMPOSE:
            return None
        confidence, box = step.meta_after.get("confidence"), step.meta_after.get("filled_box")
        if not _is_number(confidence) or not box or confidence_words(confidence) == CLEAN:
            return None
        x0, y0, x1, y1 = (int(v) for v in box)
        return x0, y0, x1, y1

    # ------------------------------------------------------------------ files out
    def export(self, path: str, kind: str) -> bool:
        """Start writing an export in the background. False if it cannot start (no document,
        a write still running, the input photo as the target); how it ended comes as a
        status message or an error dialog (`file_written`)."""
        from layerlift.desktop.project import export
        return self._start_write("Export", path, lambda doc: export(doc, path, kind))

    def _start_write(self, what: str, path: str, write: Callable[[Document], None]) -> bool:
        if self.doc is None:
            return False
        if self.files.busy():
            self.statusBar().showMessage(
                f"Still writing {Path(self.files.current.path).name}: try again when it is "
                f"done", 5000)
            return False
        from layerlift.desktop.project import check_target, snapshot
        doc = snapshot(self.doc)          # the user may keep editing while it is written
        try:
            check_target(doc, path)
        except (LayerliftError, OSError, ValueError) as exc:
            self.show_error(f"{what} failed", str(exc))
            return False
        self.files.start(FileWrite(what, path, self.doc, self._edit_state()),
                         lambda: write(doc))
        verb = "Saving" if what == "Save" else "Exporting"
        self.file_progress.setFormat(f"{verb} {Path(path).name}…")
        self.file_progress.setToolTip(f"{verb} {path}")
        self.file_progress.show()
        return True

    def _file_write_ended(self, write: FileWrite) -> None:
        if write.reported:                # finish_file_writes got there first
            return
        write.reported = True
        self.file_progress.hide()
        if write.error:
            self.show_error(f"{write.what} failed", write.error)
        elif write.what == "Save":
            if write.doc is self.doc:       # (not if another photo was opened meanwhile)
                self.project_path = write.path
                if self._edit_state() == write.state:    # no edit since the snapshot
                    self.undo.setClean()
            self.settings.add_recent(write.path)
            self._rebuild_recent_menu()
            self.statusBar().showMessage(f"Saved {Path(write.path).name}", 4000)
        else:
            self.statusBar().showMessage(f"Exported {Path(write.path).name}", 5000)
        self.file_written.emit(write.what, write.path, write.error or "")

    def finish_file_writes(self) -> bool:
        """Wait for the save or export being written, if any, and report how it ended.
        False if it failed (the error dialog is up); True otherwise, or if none was left."""
        write = self.files.current
        if write is None or write.reported:
            return True
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.files.wait()
        finally:
            QApplication.restoreOverrideCursor()
        self._file_write_ended(write)
        return not write.error

    def export_dialog(self, kind: str) -> None:
        if self.doc is None:
            return
        stem = Path(self.doc.path).stem if self.doc.path else "untitled"
        folder = Path(self.settings.last_dir or ".")
        if kind == "png-folder":
            parent = QFileDialog.getExistingDirectory(self, "Export layers into folder",
                                                      str(folder))
            if parent:
                self.export(str(Path(parent) / f"{stem}-layers"), kind)
            return
        suffix, filt = {"psd": (".psd", "Photoshop (*.psd)"), "ora": (".ora", "OpenRaster (*.ora)"),
                        "flat": ("-flat.png", "PNG (*.png);;JPEG (*.jpg *.jpeg)")}[kind]
        path, _ = QFileDialog.getSaveFileName(self, "Export", str(folder / f"{stem}{suffix}"),
                                              filt)
        if path:
            self.export(path, kind)

    def save_project(self, path: str) -> bool:
        """Start writing the project in the background (see `export`). Once written, the
        document counts as saved unless it was edited meanwhile."""
        from layerlift.desktop.project import save_project
        settings = asdict(self.settings)
        return self._start_write("Save", path, lambda doc: save_project(doc, path, settings))

    def save_project_action(self) -> None:
        if self.project_path:
            self.save_project(self.project_path)
        else:
            self.save_project_as()

    def save_project_as(self) -> None:
        if self.doc is None:
            return
        stem = Path(self.doc.path).stem if self.doc.path else "untitled"
        start = str(Path(self.settings.last_dir or ".") / f"{stem}.ora")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        if path:
            if not path.lower().endswith(".ora"):
                path += ".ora"
            self.save_project(path)

    def restore_autosave(self, path: str) -> bool:
        """Open an autosaved project; it stays unsaved (modified) until saved somewhere."""
        if not self.open_path(path):
            return False
        self.project_path = None
        self.settings.recent_files = [p for p in self.settings.recent_files if p != str(
            Path(path).resolve())]
        self._rebuild_recent_menu()
        return True

    # ------------------------------------------------------------------ misc
    def show_error(self, title: str, message: str) -> None:
        """A window-modal message box that does not block the event loop."""
        self.last_error = message
        box = QMessageBox(QMessageBox.Icon.Warning, title, message,
                          QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self._error_box = box

    def about(self) -> None:
        QMessageBox.about(
            self, f"About {APP_NAME}",
            f"<h3>{APP_NAME} {VERSION}</h3>"
            "<p>Takes a product photo apart into a logo layer and a clean object layer, "
            "lets you edit or swap the logo and puts it back in the surface's light and "
            "perspective.</p>"
            "<p>Method: <i>Cycle-Consistent Tuning for Layered Image Decomposition</i> "
            "(Gu et al., CVPR 2026).</p><p>Licensed under the Apache License 2.0.</p>")

    def show_shortcuts(self) -> None:
        from layerlift.desktop.shortcuts import shortcuts_html
        QMessageBox.information(self, "Keyboard shortcuts", shortcuts_html())

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
            self.save_project_action()
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
        self.worker.shutdown()
        self.autosaver.remove_own()
        super().closeEvent(event)

    def _on_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    def _on_autosave_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def _on_cursor(self, x: int, y: int) -> None:
        self.pos_label.setText("" if x < 0 else f"{x}, {y}")
