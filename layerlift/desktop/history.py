"""Undo commands: every edit of the document is one QUndoCommand.

Mask edits keep only the changed bounding box (before and after pixels), not whole masks.
Commands are pushed after the edit was already applied (a stroke is painted live), so the
first redo() that QUndoStack.push() calls does nothing.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoCommand

from layerlift.desktop.document import Document, Layer, Rect


class _Applied(QUndoCommand):
    """Base: skips the redo() that push() makes, since the edit is already applied."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._first = True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        self.apply()

    def apply(self) -> None:
        raise NotImplementedError


class MaskEdit(_Applied):
    """A stroke, box, clear or loaded mask: the rectangle's pixels before and after."""

    def __init__(self, doc: Document, text: str, rect: Rect, before: np.ndarray) -> None:
        super().__init__(text)
        x0, y0, x1, y1 = rect
        self.doc, self.rect = doc, rect
        self.before = before
        self.after = doc.mask[y0:y1, x0:x1].copy()

    def apply(self) -> None:
        self.doc.put_mask(self.rect, self.after)

    def undo(self) -> None:
        self.doc.put_mask(self.rect, self.before)

    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


class HintEdit(_Applied):
    """A hint stroke (desktop/document.py `paint_hints`): its rectangle before and after."""

    def __init__(self, doc: Document, text: str, rect: Rect, before: np.ndarray) -> None:
        super().__init__(text)
        x0, y0, x1, y1 = rect
        self.doc, self.rect = doc, rect
        self.before = before
        self.after = doc.hints[y0:y1, x0:x1].copy()

    def apply(self) -> None:
        self.doc.put_hints(self.rect, self.after)

    def undo(self) -> None:
        self.doc.put_hints(self.rect, self.before)


class LayerChange(_Applied):
    """Any change of one layer's fields (visibility, opacity, name, quad, asset, tint)."""

    def __init__(self, doc: Document, text: str, index: int, before: Layer) -> None:
        super().__init__(text)
        self.doc, self.index = doc, index
        self.before, self.after = before, doc.layers[index]

    def apply(self) -> None:
        self.doc.put_layer(self.index, self.after)

    def undo(self) -> None:
        self.doc.put_layer(self.index, self.before)


class StackChange(_Applied):
    """The whole layer list replaced: a decomposition, a recompose, solo, opening a mask set."""

    def __init__(self, doc: Document, text: str, before: list[Layer],
                 meta_before: dict | None = None) -> None:
        super().__init__(text)
        self.doc = doc
        self.before, self.after = list(before), list(doc.layers)
        self.meta_before, self.meta_after = dict(meta_before or {}), dict(doc.meta)

    def apply(self) -> None:
        self.doc.meta = dict(self.meta_after)
        self.doc.set_layers(self.after)

    def undo(self) -> None:
        self.doc.meta = dict(self.meta_before)
        self.doc.set_layers(self.before)
