"""The Layers panel: the layer stack (drag to reorder, double-click to rename), the selected
layer's opacity, solo / forward / backward, the last decomposition's quality and notes."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from layerlift.desktop.document import LOGO, Document, Layer
from layerlift.desktop.editor import Editor, is_number
from layerlift.desktop.layers_model import LayersModel, OpacityRole
from layerlift.inference.confidence import (
    CHECK,
    CLEAN,
    GUESS,
    NOTHING_FOUND,
    confidence_words,
    found_nothing,
)

QUALITY_COLOURS = {"good": "#2e9d4f", "fair": "#c98a00", "poor": "#d0342c"}
CONFIDENCE_COLOURS = {CLEAN: QUALITY_COLOURS["good"], CHECK: QUALITY_COLOURS["fair"],
                      GUESS: QUALITY_COLOURS["poor"]}


def cycle_quality(error: float) -> str:
    """How far the layers rebuild the photo (mean abs error in [0, 1]) -> good / fair / poor."""
    return "good" if error <= 0.01 else "fair" if error <= 0.03 else "poor"


def quality_text(meta: dict) -> tuple[str, str]:
    """The last decomposition's confidence in words where the engine gives one (the classical
    engine's cycle is always exact), else its cycle error; with its colour."""
    confidence, error = meta.get("confidence"), meta.get("cycle_error")
    if found_nothing(meta):
        return (NOTHING_FOUND[0].upper() + NOTHING_FOUND[1:] + ". Brush more tightly round "
                "the logo, paint it with the Mark hint (K), or turn on Exact mask.",
                CONFIDENCE_COLOURS[GUESS])
    if is_number(confidence):
        words = confidence_words(confidence)
        where = ". The dashed box on the canvas marks where the surface was filled in." \
            if words != CLEAN and meta.get("filled_box") else ""
        return (f"Confidence {confidence * 100:.0f} % — {words}{where}",
                CONFIDENCE_COLOURS[words])
    if is_number(error):
        quality, psnr = cycle_quality(error), meta.get("cycle_psnr")
        psnr_text = f", {psnr:.1f} dB" if is_number(psnr) and psnr < 1e9 else ""
        return (f"Cycle error {error * 100:.2f} %{psnr_text} — {quality}: how closely logo "
                f"over object rebuilds the photo inside the mask", QUALITY_COLOURS[quality])
    return "", ""


class LayersPanel(QWidget):
    changed = Signal()          # the selection or the stack changed (the actions follow)

    def __init__(self, editor: Editor, actions: dict[str, QAction]) -> None:
        super().__init__()
        self.editor = editor
        self._doc: Document | None = None  # the document whose events this panel follows
        self.model = LayersModel(editor.doc, self._edit, self.move_layer)
        self.view = QListView()
        self.view.setObjectName("layers")
        self.view.setModel(self.model)
        self.view.setIconSize(QSize(48, 48))
        # Every row is one height (thumbnails are square: layers_model.thumbnail), so the
        # view lays the list out from the first row instead of asking each row's size: a
        # new stack (each decomposition's result) costs the GUI thread ~0.3 ms less.
        self.view.setUniformItemSizes(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.selectionModel().currentChanged.connect(self._selection_changed)
        # Drag a row to reorder; the model turns the drop into move_layer (one undo step).
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setDragDropOverwriteMode(False)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.sliderPressed.connect(self._opacity_drag_start)
        self.opacity_slider.sliderReleased.connect(self._opacity_drag_end)
        self.opacity_slider.valueChanged.connect(self._opacity_changed)
        self._opacity_before: Layer | None = None
        self.cycle_label = self._label("cycle")
        self.notes_label = self._label("job-notes")     # the last run's warnings
        row = QHBoxLayout()
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity_slider)
        for name, text in (("solo", "Solo"), ("raise", ""), ("lower", "")):
            button = QToolButton()
            button.setDefaultAction(actions[name])
            if text:
                button.setText(text)
            row.addWidget(button)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(self.view)
        box.addLayout(row)
        box.addWidget(self.cycle_label)
        box.addWidget(self.notes_label)
        editor.opened.connect(self._opened)
        editor.job_notes.connect(lambda notes: self.notes_label.setText(
            "\n".join(f"⚠ {note}" for note in notes)))
        editor.job_done.connect(self._job_done)

    @staticmethod
    def _label(name: str) -> QLabel:
        label = QLabel("")
        label.setObjectName(name)
        label.setWordWrap(True)
        return label

    def _opened(self) -> None:
        doc = self.editor.doc
        if self._doc is not None and self._on_doc in self._doc.listeners:
            self._doc.listeners.remove(self._on_doc)  # the photo open before is done with
        self._doc = doc
        self.model.set_document(doc)
        doc.listeners.append(self._on_doc)
        self.view.setCurrentIndex(self.model.index(0))
        self._sync_opacity_slider()
        self._show_quality()

    def _on_doc(self, event: str, payload: object) -> None:
        if event == "layers":
            row = self.selected_row()
            self.model.layers_changed()
            if row is not None and row < self.model.rowCount():
                self.view.setCurrentIndex(self.model.index(row))
            self._show_quality()
            self.changed.emit()
        elif event == "layer":
            self.model.layer_changed(int(payload))
            self._sync_opacity_slider()

    def _job_done(self, kind: str, outcome: str) -> None:
        row = self.editor.doc.index_of(LOGO)
        if kind == "decompose" and outcome == "ok" and row is not None:
            self.view.setCurrentIndex(self.model.index(row))

    def _selection_changed(self, *_args) -> None:
        self._sync_opacity_slider()
        self.changed.emit()

    def _show_quality(self) -> None:
        text, colour = quality_text(self.editor.doc.meta)
        self.cycle_label.setText(text)
        if colour:
            palette = self.cycle_label.palette()
            palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
            self.cycle_label.setPalette(palette)

    def _edit(self, row: int, text: str | None = None, **changes) -> None:
        if self.editor.document is not None:     # (not the blank canvas)
            self.editor.edit_layer(row, text, **changes)

    def selected_row(self) -> int | None:
        index = self.view.currentIndex()
        return index.row() if index.isValid() else None

    def move_layer(self, row: int, to: int) -> None:
        """Move a layer to index `to` of the stack (0 is the top); the selection follows."""
        if self.editor.document is not None and self.editor.move_layer(row, to):
            self.view.setCurrentIndex(self.model.index(to))

    def move_selected(self, step: int) -> None:
        """Bring the selected layer forward (step -1) or send it backward (+1)."""
        row = self.selected_row()
        if row is not None:
            self.move_layer(row, row + step)

    def solo_selected(self) -> None:
        row = self.selected_row()
        if row is not None and self.editor.document is not None:
            self.editor.solo(row)

    def _sync_opacity_slider(self) -> None:
        row, layers = self.selected_row(), self.editor.doc.layers
        if row is not None and row < len(layers) and not self.opacity_slider.isSliderDown():
            self.opacity_slider.blockSignals(True)
            self.opacity_slider.setValue(round(layers[row].opacity * 100))
            self.opacity_slider.blockSignals(False)

    def _opacity_drag_start(self) -> None:
        row = self.selected_row()
        self._opacity_before = None if row is None or self.editor.document is None \
            else self.editor.doc.layers[row]

    def _opacity_changed(self, value: int) -> None:
        row = self.selected_row()
        if row is None or self.editor.document is None:
            return
        if self.opacity_slider.isSliderDown():      # live; one undo step on release
            self.editor.preview_layer(row, opacity=value / 100)
        else:
            self.model.setData(self.model.index(row), value / 100, OpacityRole)

    def _opacity_drag_end(self) -> None:
        row, before = self.selected_row(), self._opacity_before
        self._opacity_before = None
        if row is not None and before is not None \
                and self.editor.doc.layers[row].opacity != before.opacity:
            self.editor.layer_edited(row, "Layer opacity", before)
