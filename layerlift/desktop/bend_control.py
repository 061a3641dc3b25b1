"""The logo's cylinder bend control: a slider -100..100 % beside the transform tools.

Dragging the slider previews the bend live on the canvas (the layer is replaced without an
undo step, as a handle drag does; the canvas's bend handle, bend_handle.py, sets the same
bend); releasing it pushes one undo step, "Bend logo". A change
from the keyboard or the wheel (slider not held) is one step each. The slider follows the
document: undo, redo, opening a project and a new decomposition move it to the logo's bend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from layerlift.desktop.document import LOGO, Document, Layer
from layerlift.inference.contract import BEND_LIMIT

if TYPE_CHECKING:
    from layerlift.desktop.editor import Editor

UNDO_TEXT = "Bend logo"


class BendControl(QWidget):
    def __init__(self, editor: Editor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor       # the undo step is the Editor's (every push lives there)
        self.doc: Document | None = None
        self._before: Layer | None = None     # the logo when the slider was pressed
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-int(BEND_LIMIT), int(BEND_LIMIT))
        self.slider.setFixedWidth(160)
        self.slider.setToolTip("Bend the logo round a cylinder (mug, can, bottle): "
                               "> 0 arches its middle up, < 0 sags it; 0 is flat")
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(44)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Bend"))
        layout.addWidget(self.slider)
        layout.addWidget(self.value_label)
        self.slider.sliderPressed.connect(self._pressed)
        self.slider.valueChanged.connect(self._changed)
        self.slider.sliderReleased.connect(self._released)
        self._sync()

    def set_document(self, doc: Document | None) -> None:
        if self.doc is not None and self._on_doc in self.doc.listeners:
            self.doc.listeners.remove(self._on_doc)
        self.doc = doc
        if doc is not None:
            doc.listeners.append(self._on_doc)
        self._sync()

    def _on_doc(self, event: str, _payload: object) -> None:
        if event not in ("layer", "layers"):
            return
        if not self.slider.isSliderDown():
            self._sync()
        elif not self.editor.previewing:
            # Undone (or replaced by a job) under the held slider: its step starts from the
            # logo as it is now, or the next undo would bring the undone change back.
            self._pressed()

    def _logo_index(self) -> int | None:
        if self.doc is None:
            return None
        index = self.doc.index_of(LOGO)
        if index is None or self.doc.layers[index].quad is None:
            return None
        return index

    def _sync(self) -> None:
        """Slider and label show the logo's bend; disabled without a logo."""
        index = self._logo_index()
        bend = 0.0 if index is None else self.doc.layers[index].bend
        self.slider.blockSignals(True)
        self.slider.setValue(round(bend))
        self.slider.blockSignals(False)
        self.value_label.setText(f"{round(bend)} %")
        self.setEnabled(index is not None)

    def _pressed(self) -> None:
        index = self._logo_index()
        self._before = None if index is None else self.doc.layers[index]

    def _changed(self, value: int) -> None:
        index = self._logo_index()
        if index is None:
            return
        self.value_label.setText(f"{value} %")
        before = self.doc.layers[index] if self._before is None else self._before
        self.editor.preview_layer(index, bend=float(value))
        if not self.slider.isSliderDown():   # keyboard, wheel, a click on the groove
            self._push(index, before)

    def _released(self) -> None:
        index = self._logo_index()
        if index is not None and self._before is not None:
            self._push(index, self._before)
        self._before = None

    def _push(self, index: int, before: Layer) -> None:
        if before.bend != self.doc.layers[index].bend:
            self.editor.layer_edited(index, UNDO_TEXT, before)
