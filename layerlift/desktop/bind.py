"""One widget bound to one settings field, both ways.

`bind(widget, settings, "seed")` writes the widget's value into `settings.seed` whenever the
user changes it, and `Binding.refresh()` shows the setting in the widget (after settings
changed under it: startup, a project's stored engine settings). Each binding writes only its
own field, so showing one setting can never overwrite another with a widget not yet shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QAbstractSlider,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

# widget class -> (read, write, its change signal's name)
_ACCESS: list[tuple[type, Callable[[Any], Any], Callable[[Any, Any], None], str]] = [
    (QSpinBox, lambda w: w.value(), lambda w, v: w.setValue(round(v)), "valueChanged"),
    (QDoubleSpinBox, lambda w: w.value(), lambda w, v: w.setValue(v), "valueChanged"),
    (QAbstractSlider, lambda w: w.value(), lambda w, v: w.setValue(round(v)), "valueChanged"),
    (QComboBox, lambda w: w.currentText(), lambda w, v: w.setCurrentText(v),
     "currentTextChanged"),
    (QLineEdit, lambda w: w.text().strip(), lambda w, v: w.setText(v), "textChanged"),
    (QCheckBox, lambda w: w.isChecked(), lambda w, v: w.setChecked(v), "toggled"),
]


class Binding:
    def __init__(self, widget: QWidget, settings: Any, name: str, scale: float = 1.0,
                 on_change: Callable[[Any], None] | None = None) -> None:
        access = next((a for a in _ACCESS if isinstance(widget, a[0])), None)
        if access is None:
            raise TypeError(f"cannot bind a {type(widget).__name__}")
        _kind, read, write, signal = access
        self.widget, self.settings, self.name, self.scale = widget, settings, name, scale
        self.on_change = on_change
        self._read, self._write = read, write
        # A lambda, not the bound method: the connection then keeps the binding alive.
        getattr(widget, signal).connect(lambda *_args: self.store())

    def value(self) -> Any:
        """The widget's value in the setting's units and type."""
        value = self._read(self.widget)
        if self.scale != 1:
            value = value / self.scale
        if isinstance(getattr(self.settings, self.name), float):
            value = float(value)
        return value

    def store(self, *_args: Any) -> None:
        """Widget -> setting (and whatever else follows the setting: `on_change`)."""
        value = self.value()
        setattr(self.settings, self.name, value)
        if self.on_change is not None:
            self.on_change(value)

    def refresh(self) -> None:
        """Setting -> widget. The widget may not hold every value (a range, a list of
        choices): what it shows is stored back, so setting and widget agree."""
        value = getattr(self.settings, self.name)
        self.widget.blockSignals(True)
        try:
            self._write(self.widget, value * self.scale if self.scale != 1 else value)
        finally:
            self.widget.blockSignals(False)
        self.store()


def bind(widget: QWidget, settings: Any, name: str, scale: float = 1.0,
         on_change: Callable[[Any], None] | None = None) -> Binding:
    """Bind `widget` to `settings.<name>`; `scale` is widget units per setting unit (a 0..100
    slider for a 0..1 setting has 100); `on_change` gets each new value."""
    return Binding(widget, settings, name, scale, on_change)
