"""The Brush toolbar: brush size and hardness, the mask overlay's opacity (and its colour),
the Select tool's tolerance, bound to the settings and shown on the canvas."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QLabel, QSlider, QSpinBox, QToolBar

from layerlift.desktop.bind import Binding, bind
from layerlift.desktop.canvas import Canvas
from layerlift.desktop.settings import Settings


def _slider() -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setFixedWidth(90)
    return slider


class BrushBar(QToolBar):
    def __init__(self, canvas: Canvas, settings: Settings) -> None:
        super().__init__("Brush")
        self.setObjectName("brush")
        self.canvas, self.settings = canvas, settings
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, 2000)
        self.size_spin.setSuffix(" px")
        self.hardness_slider = _slider()
        self.overlay_slider = _slider()
        self.tolerance_slider = _slider()
        self.tolerance_slider.setToolTip("Select (W): how far from the clicked colour still "
                                         "counts as the logo")
        for text, widget in ((" Size ", self.size_spin), (" Hardness ", self.hardness_slider),
                             (" Overlay ", self.overlay_slider),
                             (" Tolerance ", self.tolerance_slider)):
            self.addWidget(QLabel(text))
            self.addWidget(widget)
        self.addSeparator()
        self.bindings: list[Binding] = [
            bind(self.size_spin, settings, "brush_size",
                 on_change=lambda size: canvas.set_brush(size=size)),
            bind(self.hardness_slider, settings, "brush_hardness", scale=100,
                 on_change=lambda hardness: canvas.set_brush(hardness=hardness)),
            bind(self.overlay_slider, settings, "overlay_opacity", scale=100,
                 on_change=lambda opacity: canvas.set_overlay(opacity=opacity)),
            bind(self.tolerance_slider, settings, "select_tolerance", scale=100)]
        for binding in self.bindings:
            binding.refresh()
        colour = QColor(settings.overlay_colour)
        canvas.set_overlay(colour if colour.isValid() else None)

    def resize_brush(self, factor: float) -> None:
        """At least one pixel bigger or smaller, within the spin box's range."""
        size = self.canvas.brush_size * factor
        if abs(size - self.canvas.brush_size) < 1:
            size += 1 if factor > 1 else -1
        self.size_spin.setValue(round(min(max(size, 1), 2000)))

    def change_hardness(self, delta: float) -> None:
        self.hardness_slider.setValue(round((self.canvas.hardness + delta) * 100))

    def choose_overlay_colour(self) -> None:
        colour = QColorDialog.getColor(self.canvas.overlay_colour, self, "Mask overlay colour")
        if colour.isValid():
            self.canvas.set_overlay(colour=colour)
            self.settings.overlay_colour = colour.name()
