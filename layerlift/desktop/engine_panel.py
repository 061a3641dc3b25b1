"""The Engine panel: which engine decomposes and its options, bound to the settings."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from layerlift.desktop.bind import Binding, bind
from layerlift.desktop.editor import Editor

ENGINES = ("classical", "flux")


def _spin(low: int, high: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    return spin


class EnginePanel(QWidget):
    def __init__(self, editor: Editor) -> None:
        super().__init__()
        self.engine_combo = QComboBox()
        self.engine_combo.addItems(ENGINES)
        self.steps_spin = _spin(0, 1000)
        self.steps_spin.setSpecialValueText("default")
        self.seed_spin = _spin(0, 2**31 - 1)
        self.candidates_spin = _spin(1, 64)
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
        model_row = self._with_browse(self.model_edit, folder=True)
        lora_row = self._with_browse(self.lora_edit, folder=False)
        go = QPushButton("Decompose")
        go.clicked.connect(editor.decompose)
        form = QFormLayout(self)
        for label, widget in (("Engine", self.engine_combo), ("Steps", self.steps_spin),
                              ("Seed", self.seed_spin), ("", self.exact_mask_check),
                              ("Candidates", self.candidates_spin),
                              ("LoRA scale", self.lora_scale_spin), ("Model", model_row),
                              ("LoRA", lora_row)):
            form.addRow(label, widget)
        form.addRow(go)
        # Widgets only the flux engine reads: greyed out for the classical engine.
        self.flux_only_widgets = [self.steps_spin, self.candidates_spin, self.lora_scale_spin,
                                  model_row, lora_row]
        s = editor.settings
        self.bindings: list[Binding] = [
            bind(self.engine_combo, s, "engine", on_change=self._show_engine_fields),
            bind(self.steps_spin, s, "steps"), bind(self.seed_spin, s, "seed"),
            bind(self.candidates_spin, s, "candidates"),
            bind(self.lora_scale_spin, s, "lora_scale"), bind(self.model_edit, s, "model_path"),
            bind(self.lora_edit, s, "lora_path"), bind(self.exact_mask_check, s, "exact_mask")]
        self.refresh()
        editor.settings_changed.connect(self.refresh)

    def refresh(self) -> None:
        """The widgets from the settings."""
        for binding in self.bindings:
            binding.refresh()

    def _show_engine_fields(self, engine: str) -> None:
        for widget in self.flux_only_widgets:
            widget.setEnabled(engine != "classical")

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
