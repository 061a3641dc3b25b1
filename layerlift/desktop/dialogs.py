"""The menu actions that ask first: a file or colour dialog, then the Editor's method."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QFileDialog, QWidget

from layerlift.desktop.editor import Editor

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp *.gif);;All files (*)"
PROJECT_FILTER = "Layerlift project (*.ora)"
LOGO_FILTER = "Logos (*.png *.jpg *.jpeg *.webp *.svg *.svgz);;All files (*)"
EXPORTS = {"psd": (".psd", "Photoshop (*.psd)"), "ora": (".ora", "OpenRaster (*.ora)"),
           "flat": ("-flat.png", "PNG (*.png);;JPEG (*.jpg *.jpeg)")}


class Dialogs:
    def __init__(self, parent: QWidget, editor: Editor) -> None:
        self.parent, self.editor, self.settings = parent, editor, editor.settings

    def _open_name(self, title: str, filters: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self.parent, title, self.settings.last_dir,
                                              filters)
        return path

    def _stem(self) -> str:
        doc = self.editor.document
        return Path(doc.path).stem if doc is not None and doc.path else "untitled"

    def open_photo(self) -> None:
        path = self._open_name("Open photo", IMAGE_FILTER + ";;" + PROJECT_FILTER)
        if path:
            self.editor.open_path(path)

    def open_project(self) -> None:
        path = self._open_name("Open project", PROJECT_FILTER)
        if path:
            self.editor.open_path(path)

    def load_mask(self) -> None:
        path = self._open_name("Load mask", IMAGE_FILTER)
        if path:
            self.editor.load_mask_file(path)

    def replace_logo(self) -> None:
        path = self._open_name("Replace logo", LOGO_FILTER)
        if path:
            self.editor.replace_logo(path)

    def tint_logo(self) -> None:
        colour = QColorDialog.getColor(QColor(0, 0, 0), self.parent, "Logo tint")
        if colour.isValid():
            self.editor.tint_logo(colour)

    def save(self) -> None:
        if self.editor.project_path:
            self.editor.save_project(self.editor.project_path)
        else:
            self.save_as()

    def save_as(self) -> None:
        if self.editor.document is None:
            return
        start = str(Path(self.settings.last_dir or ".") / f"{self._stem()}.ora")
        path, _ = QFileDialog.getSaveFileName(self.parent, "Save project", start,
                                              PROJECT_FILTER)
        if path:
            if not path.lower().endswith(".ora"):
                path += ".ora"
            self.editor.save_project(path)

    def export(self, kind: str) -> None:
        if self.editor.document is None:
            return
        folder = Path(self.settings.last_dir or ".")
        if kind == "png-folder":
            parent = QFileDialog.getExistingDirectory(self.parent, "Export layers into folder",
                                                      str(folder))
            if parent:
                self.editor.export(str(Path(parent) / f"{self._stem()}-layers"), kind)
            return
        suffix, filters = EXPORTS[kind]
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export",
                                              str(folder / f"{self._stem()}{suffix}"), filters)
        if path:
            self.editor.export(path, kind)
