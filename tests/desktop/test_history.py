"""The undo commands on their own: each is named as the Edit menu shows it, undoes and redoes
exactly its change, and a mask edit keeps only its rectangle."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoStack

from layerlift.desktop.document import LOGO, OBJECT, ORIGINAL, Document, Layer, rgb_to_rgba
from layerlift.desktop.history import LayerChange, MaskEdit, StackChange
from tests.desktop.conftest import make_photo


def _doc() -> Document:
    return Document(make_photo(60, 80))


def test_a_mask_edit_is_named_and_undoes_only_its_rectangle():
    doc, stack = _doc(), QUndoStack()
    doc.fill_rect((5, 5, 20, 15))
    rect = (10, 10, 40, 30)
    before = doc.mask[10:30, 10:40].copy()
    doc.fill_rect(rect)
    edit = MaskEdit(doc, "Box", rect, before)
    stack.push(edit)
    assert stack.undoText() == "Box" and edit.text() == "Box"
    assert edit.nbytes() == 2 * 20 * 30                # the rectangle, before and after
    after = doc.mask.copy()
    stack.undo()
    assert doc.mask[5:15, 5:20].all() and not doc.mask[15:30, 20:40].any()
    assert doc.mask[10:15, 10:20].all()                # the earlier edit inside the rect stays
    stack.redo()
    np.testing.assert_array_equal(doc.mask, after)


def test_a_layer_change_is_named_and_undone():
    doc, stack = _doc(), QUndoStack()
    before = doc.layers[0]
    doc.update_layer(0, name="Photo", opacity=0.5)
    stack.push(LayerChange(doc, "Rename layer", 0, before))
    assert stack.undoText() == "Rename layer"
    events = []
    doc.listeners.append(lambda event, payload: events.append((event, payload)))
    stack.undo()
    assert doc.layers[0] is before and events == [("layer", 0)]
    stack.redo()
    assert (doc.layers[0].name, doc.layers[0].opacity) == ("Photo", 0.5)
    assert events == [("layer", 0), ("layer", 0)]


def test_a_stack_change_restores_layers_and_meta():
    doc, stack = _doc(), QUndoStack()
    before, meta_before = list(doc.layers), dict(doc.meta)
    obj = Layer("Object", OBJECT, rgba=rgb_to_rgba(doc.image))
    logo = Layer("Logo", LOGO, asset=np.zeros((4, 4, 4), np.uint8),
                 quad=np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float))
    doc.meta = {"engine": "classical", "confidence": 0.9}
    doc.set_layers([logo, obj, *before])
    stack.push(StackChange(doc, "Decompose", before, meta_before))
    assert stack.undoText() == "Decompose"
    stack.undo()
    assert [layer.kind for layer in doc.layers] == [ORIGINAL] and doc.meta == meta_before
    stack.redo()
    assert [layer.kind for layer in doc.layers] == [LOGO, OBJECT, ORIGINAL]
    assert doc.meta == {"engine": "classical", "confidence": 0.9}
