"""A list model over the document's layers, for the layers panel (top layer first).

Visibility is the check box, the name is editable, the thumbnail is the decoration; rows
are dragged to reorder the stack. Edits go through `on_edit(index, **changes)` and moves
through `on_move(row, to)`, so the window can make them undoable.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QPixmap

from layerlift.desktop.display import display_for
from layerlift.desktop.document import Document, Layer
from layerlift.desktop.qimage import rgba_to_pixmap

THUMB = 48
OpacityRole = Qt.ItemDataRole.UserRole + 1
KindRole = Qt.ItemDataRole.UserRole + 2
# A dragged row carries only its number, in a type no other program offers.
ROW_MIME = "application/x-layerlift-layer-row"


def thumbnail(layer: Layer, shape: tuple[int, int]) -> np.ndarray:
    """A small RGBA picture of the layer, at most THUMB px on its longer side."""
    h, w = shape
    scale = THUMB / max(h, w)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    full = layer.rgba if layer.rgba is not None else layer.base
    if full is not None:
        rgba = _shrunk(full, (tw, th))
        if layer.patch is not None:
            rgba = rgba.copy()
            _paste_shrunk(rgba, layer.patch, layer.offset, tw / w, th / h)
        return rgba
    # A logo is small in the photo: its thumbnail shows the logo itself, fitted.
    asset = layer.shown_asset()
    ah, aw = asset.shape[:2]
    fit = THUMB / max(ah, aw)
    size = (max(1, round(aw * fit)), max(1, round(ah * fit)))
    small = cv2.resize(asset, size, interpolation=cv2.INTER_AREA if fit < 1 else
                       cv2.INTER_LINEAR)
    square = np.zeros((THUMB, THUMB, 4), np.uint8)      # rows of the panel stay one height
    y, x = (THUMB - size[1]) // 2, (THUMB - size[0]) // 2
    square[y:y + size[1], x:x + size[0]] = small
    return square


# The last full-size array shrunk to a thumbnail: the Original, the Object and Recomposed
# windows over it all start from the same one, and each new result asked for it again.
_last_shrunk: tuple[weakref.ref, tuple[int, int], np.ndarray] | None = None


def _shrunk(full: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`full` (HxWx4) shrunk to `size` (w, h), straight-alpha RGBA; not to be written to.

    From the smallest copy of its display pixels (desktop/display.py: made with the layer,
    off the GUI thread, and needed by the canvas anyway): BGRA, premultiplied unless opaque.
    Shrinking the 24 MP layer itself costs ~1 ms even decimated; this ~1.7 ms, so it is
    remembered for the next layer over the same pixels."""
    global _last_shrunk
    last = _last_shrunk
    if last is not None and last[0]() is full and last[1] == size:
        return last[2]
    display = display_for(full)
    small = cv2.resize(display.level(max(display.levels)), size, interpolation=cv2.INTER_AREA)
    rgba = cv2.cvtColor(small, cv2.COLOR_BGRA2RGBA)
    rgba = rgba if display.opaque else cv2.cvtColor(rgba, cv2.COLOR_mRGBA2RGBA)
    rgba.flags.writeable = False
    _last_shrunk = (weakref.ref(full), size, rgba)
    return rgba


def _paste_shrunk(thumb: np.ndarray, patch: np.ndarray, offset: tuple[int, int],
                  fx: float, fy: float) -> None:
    """A window layer's patch shrunk into its place in the base's thumbnail."""
    x0, y0 = int(offset[0] * fx), int(offset[1] * fy)
    x1 = max(x0 + 1, round((offset[0] + patch.shape[1]) * fx))
    y1 = max(y0 + 1, round((offset[1] + patch.shape[0]) * fy))
    x1, y1 = min(x1, thumb.shape[1]), min(y1, thumb.shape[0])
    if x1 > x0 and y1 > y0:
        thumb[y0:y1, x0:x1] = cv2.resize(patch, (x1 - x0, y1 - y0),
                                         interpolation=cv2.INTER_AREA)


def same_pixels(a: Layer, b: Layer) -> bool:
    return (a.rgba is b.rgba and a.asset is b.asset and a.tint == b.tint
            and a.tint_strength == b.tint_strength and a.patch is b.patch
            and a.offset == b.offset)


class LayersModel(QAbstractListModel):
    def __init__(self, doc: Document, on_edit: Callable[..., None],
                 on_move: Callable[[int, int], None]) -> None:
        super().__init__()
        self.doc = doc
        self.on_edit = on_edit
        self.on_move = on_move
        # row -> (the layer whose pixels it shows, pixmap); reused while the pixels are the
        # same arrays, so hiding or renaming a layer does not redo its thumbnail.
        self._thumbs: dict[int, tuple[Layer, QPixmap]] = {}

    def set_document(self, doc: Document) -> None:
        self.beginResetModel()
        self.doc = doc
        self._thumbs.clear()
        self.endResetModel()

    def layers_changed(self) -> None:
        # Thumbnails follow their pixels to their new rows, so a new stack reuses them.
        old = list(self._thumbs.values())
        self.beginResetModel()
        self._thumbs.clear()
        for row, layer in enumerate(self.doc.layers):
            for cached_layer, pixmap in old:
                if same_pixels(cached_layer, layer):
                    self._thumbs[row] = (layer, pixmap)
                    break
        self.endResetModel()

    def layer_changed(self, row: int) -> None:
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.doc.layers)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled          # drops go between rows only
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
                | Qt.ItemFlag.ItemIsDragEnabled)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.doc.layers):
            return None
        layer = self.doc.layers[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            suffix = "" if layer.opacity >= 1 else f"  ({round(layer.opacity * 100)} %)"
            return layer.name + suffix
        if role == Qt.ItemDataRole.EditRole:
            return layer.name
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(index.row(), layer)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{layer.kind}, opacity {round(layer.opacity * 100)} %"
        if role == OpacityRole:
            return layer.opacity
        if role == KindRole:
            return layer.kind
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid():
            return False
        row = index.row()
        if role == Qt.ItemDataRole.CheckStateRole:
            visible = Qt.CheckState(value) == Qt.CheckState.Checked
            self.on_edit(row, visible=visible)
            return True
        if role == Qt.ItemDataRole.EditRole:
            name = str(value).strip()
            if not name:
                return False
            self.on_edit(row, name=name)
            return True
        if role == OpacityRole:
            self.on_edit(row, opacity=float(min(max(value, 0.0), 1.0)))
            return True
        return False

    # Drag and drop: the model only reads the dragged row and hands the move to `on_move`.
    # dropMimeData returns False so the view never removes the source row itself (the
    # document changes as one undoable step, and the model resets from it).
    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [ROW_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        data = QMimeData()
        if indexes:
            data.setData(ROW_MIME, QByteArray(str(indexes[0].row()).encode()))
        return data

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: QModelIndex | QPersistentModelIndex) -> bool:
        if action != Qt.DropAction.MoveAction or not data.hasFormat(ROW_MIME):
            return False
        try:
            source = int(bytes(data.data(ROW_MIME).data()).decode())
        except ValueError:
            return False
        count = len(self.doc.layers)
        if not 0 <= source < count:
            return False
        # `row` is the gap the row was dropped into (-1: below the last row); the layer's
        # new index is counted after it has left its old place.
        gap = count if row < 0 else min(row, count)
        self.on_move(source, gap - 1 if gap > source else gap)
        return False

    def _thumbnail(self, row: int, layer: Layer) -> QPixmap:
        cached = self._thumbs.get(row)
        if cached is not None and same_pixels(cached[0], layer):
            return cached[1]
        pixmap = rgba_to_pixmap(thumbnail(layer, self.doc.shape))
        self._thumbs[row] = (layer, pixmap)
        return pixmap
