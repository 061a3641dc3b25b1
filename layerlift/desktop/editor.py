"""The Editor: every edit of the document as one method and one undo step. No widgets.

The canvas's gestures and the window's menus and panels call these methods; they change the
document and push the undo step, and nothing else pushes one. Edits that are shown live
while a gesture goes on (a brush stroke, a logo drag, the opacity slider) are applied by the
gesture and handed over once, when it ends (`mask_edited`, `layer_edited`).

Not yet here (issue 11, part 2): the worker, file writes and autosave, which the main window
still owns.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoStack

from layerlift.desktop.document import (
    LOGO,
    ORIGINAL,
    RECOMPOSED,
    Document,
    Layer,
    Rect,
    clip_rect,
    layers_from_decomposition,
    rgb_to_rgba,
    union,
)
from layerlift.desktop.history import LayerChange, MaskEdit, StackChange

DECOMPOSE = "Decompose"
UNDO_LIMIT = 500
LAYER_EDIT_NAMES = {"visible": "Visibility", "name": "Rename layer", "opacity": "Layer opacity"}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is b
    return a == b


class Editor(QObject):
    """Owns the undo stack; `doc` is the document being edited (set by whoever opens one)."""

    def __init__(self, doc: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo = QUndoStack(self)
        self.undo.setUndoLimit(UNDO_LIMIT)
        self.doc = doc

    def set_document(self, doc: Document) -> None:
        self.doc = doc
        self.undo.clear()

    # ---------------------------------------------------------------- mask
    def mask_edited(self, text: str, rect: Rect, before: np.ndarray) -> bool:
        """A stroke already painted into `rect` (before: its pixels before); False when it
        changed nothing (no undo step)."""
        x0, y0, x1, y1 = rect
        if np.array_equal(before, self.doc.mask[y0:y1, x0:x1]):
            return False
        self.undo.push(MaskEdit(self.doc, text, rect, before))
        return True

    def add_box(self, rect: Rect) -> Rect | None:
        """Add a rectangle to the mask (clipped to the photo); None when it lies outside."""
        rect = clip_rect(rect, self.doc.shape)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        before = self.doc.mask[y0:y1, x0:x1].copy()
        self.doc.fill_rect(rect)
        self.undo.push(MaskEdit(self.doc, "Box", rect, before))
        return rect

    def clear_mask(self) -> bool:
        rect = self.doc.mask_extent
        if rect is None:
            return False
        before = self.doc.mask[rect[1]:rect[3], rect[0]:rect[2]].copy()
        self.doc.fill_rect(rect, 0)
        self.undo.push(MaskEdit(self.doc, "Clear mask", rect, before))
        return True

    def load_mask(self, mask: np.ndarray) -> None:
        """Replace the mask; the undo step keeps only the box where either mask has marks."""
        old = self.doc.mask_extent
        before = self.doc.mask
        self.doc.set_mask(mask)
        rect = union(old, self.doc.mask_extent) or (0, 0, 1, 1)
        x0, y0, x1, y1 = rect
        self.undo.push(MaskEdit(self.doc, "Load mask", rect, before[y0:y1, x0:x1].copy()))

    # ---------------------------------------------------------------- layers
    def edit_layer(self, row: int, text: str | None = None, **changes: Any) -> bool:
        """One undoable change of a layer's fields; False when nothing would change."""
        if not 0 <= row < len(self.doc.layers):
            return False
        before = self.doc.layers[row]
        if all(_same(getattr(before, k), v) for k, v in changes.items()):
            return False
        self.doc.update_layer(row, **changes)
        if text is None:
            text = LAYER_EDIT_NAMES.get(next(iter(changes)), "Edit layer")
        self.undo.push(LayerChange(self.doc, text, row, before))
        return True

    def layer_edited(self, row: int, text: str, before: Layer) -> None:
        """A layer already changed live (a drag, a slider): its one undo step."""
        self.undo.push(LayerChange(self.doc, text, row, before))

    def move_layer(self, row: int, to: int) -> bool:
        """Move a layer to index `to` of the stack (0 is the top)."""
        count = len(self.doc.layers)
        if not (0 <= row < count and 0 <= to < count) or row == to:
            return False
        before = list(self.doc.layers)
        layers = list(before)
        layer = layers.pop(row)
        layers.insert(to, layer)
        self.doc.set_layers(layers)
        self.undo.push(StackChange(self.doc, f"Move layer {layer.name}", before, self.doc.meta))
        return True

    def show_layers(self, visible: list[bool], text: str) -> None:
        """Set every layer's visibility at once (solo), one undo step."""
        before = list(self.doc.layers)
        self.doc.set_layers([replace(layer, visible=v)
                             for layer, v in zip(before, visible, strict=True)])
        self.undo.push(StackChange(self.doc, text, before, self.doc.meta))

    # ---------------------------------------------------------------- job results
    def apply_decomposition(self, result: Any) -> None:
        """A decomposition's result (desktop.jobs.Decomposition) as the layer stack."""
        before, meta_before = list(self.doc.layers), dict(self.doc.meta)
        original = self.doc.layer(ORIGINAL) or Layer("Original", ORIGINAL,
                                                     rgba=rgb_to_rgba(self.doc.image))
        self.doc.meta = dict(result.meta)
        self.doc.set_layers(layers_from_decomposition(
            original, result.object_patch, result.object_offset, result.asset, result.quad,
            result.ink))
        self.undo.push(StackChange(self.doc, DECOMPOSE, before, meta_before))

    def apply_recomposition(self, result: Any) -> None:
        """A recomposition (desktop.jobs.Recomposition) as the top layer, replacing the last."""
        before = list(self.doc.layers)
        layers = [layer for layer in before if layer.kind != RECOMPOSED]
        layers.insert(0, Layer("Recomposed", RECOMPOSED, base=result.base, patch=result.patch,
                               offset=result.offset))
        self.doc.set_layers(layers)
        self.undo.push(StackChange(self.doc, "Recompose", before, self.doc.meta))

    def logo_row(self) -> int | None:
        return self.doc.index_of(LOGO)
