"""Light or dark, following the system's colour scheme (and its changes while running)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from layerlift.desktop.resources import resource_path


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    for role, colour in (
            (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
            (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
            (QPalette.ColorRole.ToolTipBase, base), (QPalette.ColorRole.ToolTipText, text),
            (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
            (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.BrightText, Qt.red),
            (QPalette.ColorRole.Highlight, QColor(0, 122, 204)),
            (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
            (QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140))):
        p.setColor(role, colour)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


def is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication) -> None:
    """Fusion everywhere (same look on every desktop), its palette light or dark."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if is_dark() else app.style().standardPalette())
    try:
        app.setStyleSheet(resource_path("style", "layerlift.qss").read_text(encoding="utf-8"))
    except OSError:
        pass


def follow_system(app: QApplication) -> None:
    apply_theme(app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app))
