"""bind(): a widget and one settings field, both ways, each binding writing only its own."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
)

from layerlift.desktop.bind import bind
from layerlift.desktop.settings import Settings


def test_each_kind_of_widget_writes_its_setting_when_the_user_changes_it(qapp):
    s = Settings()
    spin, double, check = QSpinBox(), QDoubleSpinBox(), QCheckBox()
    spin.setRange(0, 100)
    combo = QComboBox()
    combo.addItems(["classical", "flux"])
    edit = QLineEdit()
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    for widget, name in ((spin, "seed"), (double, "lora_scale"), (check, "exact_mask"),
                         (combo, "engine"), (edit, "model_path")):
        bind(widget, s, name)
    bind(slider, s, "brush_hardness", scale=100)
    spin.setValue(7)
    double.setValue(0.25)
    check.setChecked(True)
    combo.setCurrentText("flux")
    edit.setText("  /models/fill  ")
    slider.setValue(30)
    assert (s.seed, s.lora_scale, s.exact_mask, s.engine) == (7, 0.25, True, "flux")
    assert s.model_path == "/models/fill"                 # a typed path without its spaces
    assert s.brush_hardness == pytest.approx(0.3) and isinstance(s.brush_hardness, float)


def test_refresh_shows_the_setting_and_stores_back_what_the_widget_can_hold(qapp):
    s = Settings(brush_size=12.0, brush_hardness=0.55, steps=5000)
    size, steps = QSpinBox(), QSpinBox()
    size.setRange(1, 2000)
    steps.setRange(0, 1000)
    hardness = QSlider(Qt.Orientation.Horizontal)
    hardness.setRange(0, 100)
    seen = []
    bindings = [bind(size, s, "brush_size", on_change=seen.append),
                bind(hardness, s, "brush_hardness", scale=100), bind(steps, s, "steps")]
    for binding in bindings:
        binding.refresh()
    assert size.value() == 12 and hardness.value() == 55 and steps.value() == 1000
    assert s.steps == 1000 and s.brush_size == 12.0       # the spin box's range, stored back
    assert seen == [12.0]                                  # on_change once, not per signal
    s.brush_size = 40.0
    bindings[0].refresh()
    assert size.value() == 40 and seen == [12.0, 40.0]


def test_showing_one_setting_never_writes_another(qapp):
    """What the old hand-written mirror had to guard against: one widget's change signal
    writing every widget back, the ones not shown yet too."""
    s = Settings(seed=3, candidates=9)
    seed, candidates = QSpinBox(), QSpinBox()
    seed.setRange(0, 100)
    candidates.setRange(1, 64)
    seed_binding = bind(seed, s, "seed")
    bind(candidates, s, "candidates")             # still showing 1, not 9
    seed_binding.refresh()
    seed.setValue(4)
    assert s.seed == 4 and s.candidates == 9


def test_a_widget_it_cannot_read_is_refused(qapp):
    with pytest.raises(TypeError, match="QLabel"):
        bind(QLabel(), Settings(), "seed")
