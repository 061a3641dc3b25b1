"""The Editor drives every edit without a widget: each is one undo step, undone exactly."""

from __future__ import annotations

import numpy as np
import pytest

from layerlift.desktop.document import Document, StrokeBackup
from layerlift.desktop.editor import DECOMPOSE, Editor
from layerlift.desktop.jobs import compose_job, decompose_job, private_request
from layerlift.inference.api import compose, decompose
from tests.desktop.conftest import make_photo


@pytest.fixture
def editor(qapp):
    return Editor(Document(make_photo()))


def test_a_box_is_one_step_undone_and_redone(editor):
    doc = editor.doc
    assert editor.add_box((20, 30, 60, 50)) == (20, 30, 60, 50)
    after = doc.mask.copy()
    assert editor.undo.count() == 1 and editor.undo.text(0) == "Box"
    editor.undo.undo()
    assert not doc.mask.any()
    editor.undo.redo()
    assert np.array_equal(doc.mask, after)
    assert editor.add_box((-50, -50, -10, -10)) is None and editor.undo.count() == 1


def test_a_stroke_is_handed_over_once_and_a_stroke_that_changed_nothing_is_not(editor):
    doc = editor.doc
    backup = StrokeBackup(doc.mask)
    rect = doc.paint(40, 40, 80, 60, radius=6, hardness=0.8, backup=backup)
    assert editor.mask_edited("Brush stroke", rect, backup.before(rect))
    editor.undo.undo()
    assert not doc.mask.any()
    assert not editor.mask_edited("Brush stroke", rect, doc.mask[rect[1]:rect[3],
                                                                  rect[0]:rect[2]].copy())
    assert editor.undo.count() == 1


def test_clear_and_load_mask_keep_only_the_marked_box(editor):
    doc = editor.doc
    editor.add_box((10, 10, 30, 20))
    loaded = np.zeros(doc.shape, np.uint8)
    loaded[100:120, 150:170] = 255
    editor.replace_mask(loaded)
    step = editor.undo.command(1)
    assert step.rect == (10, 10, 170, 120)          # both masks' marks, not the whole photo
    assert np.array_equal(doc.mask, loaded)
    editor.undo.undo()
    assert doc.mask[10:20, 10:30].all() and not doc.mask[100:120, 150:170].any()
    editor.undo.redo()
    assert editor.clear_mask() and not doc.mask.any()
    editor.undo.undo()
    assert np.array_equal(doc.mask, loaded)


def test_layer_edits_name_their_step_and_skip_no_change(editor):
    doc = editor.doc
    assert not editor.edit_layer(0, visible=True)               # already visible
    assert editor.edit_layer(0, visible=False)
    assert editor.edit_layer(0, name="Photo")
    assert [editor.undo.text(i) for i in range(2)] == ["Visibility", "Rename layer"]
    editor.undo.undo()
    editor.undo.undo()
    assert doc.layers[0].visible and doc.layers[0].name == "Original"
    assert not editor.edit_layer(5, visible=False)


def _decomposed(editor) -> None:
    editor.add_box((95, 80, 150, 100))
    request, finish = decompose_job(editor.doc.image, editor.doc.mask)
    editor.apply_decomposition(finish(decompose(private_request(request))))


def test_a_decomposition_and_a_recompose_are_steps_over_windows(editor):
    doc = editor.doc
    _decomposed(editor)
    assert editor.undo.text(editor.undo.count() - 1) == DECOMPOSE
    assert [layer.kind for layer in doc.layers] == ["logo", "object", "original"]
    obj = doc.layer("object")
    assert obj.rgba is None and obj.base is doc.layer("original").rgba
    assert obj.patch.shape[0] * obj.patch.shape[1] < doc.shape[0] * doc.shape[1] // 10
    logo = doc.layer("logo")
    request, finish = compose_job(obj, logo.shown_ink(), logo.quad, doc.shape)
    editor.apply_recomposition(finish(compose(private_request(request))))
    assert doc.layers[0].kind == "recomposed" and doc.layers[0].base is obj.base
    editor.undo.undo()
    editor.undo.undo()
    assert [layer.kind for layer in doc.layers] == ["original"] and doc.meta == {}


def test_move_and_solo_are_one_step_each(editor):
    doc = editor.doc
    _decomposed(editor)
    kinds = [layer.kind for layer in doc.layers]
    assert editor.move_layer(0, 2)
    assert [layer.kind for layer in doc.layers] == [kinds[1], kinds[2], kinds[0]]
    assert not editor.move_layer(1, 1) and not editor.move_layer(0, 9)
    editor.show_layers([False, True, False], "Solo layer")
    assert [layer.visible for layer in doc.layers] == [False, True, False]
    editor.undo.undo()
    editor.undo.undo()
    assert [layer.kind for layer in doc.layers] == kinds
