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
    editor = Editor(Document(make_photo()))
    yield editor
    editor.shutdown()


class Heard:
    """Everything an Editor told, in order: (signal, args)."""

    def __init__(self, editor: Editor) -> None:
        self.said: list[tuple] = []
        for name in ("state_changed", "job_started", "job_ended", "job_notes", "job_done",
                     "write_started", "file_written", "error", "message"):
            getattr(editor, name).connect(lambda *args, n=name: self.said.append((n, *args)))

    def names(self) -> list[str]:
        return [said[0] for said in self.said]

    def of(self, name: str) -> list[tuple]:
        return [said[1:] for said in self.said if said[0] == name]


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


def test_decompose_runs_on_the_worker_and_applies_its_result_as_one_step(editor, qtbot):
    heard = Heard(editor)
    assert not editor.decompose()                        # nothing masked: an error, no job
    assert heard.of("error") == [("Nothing to decompose", editor.last_error)]
    editor.add_box((95, 80, 150, 100))
    with qtbot.waitSignal(editor.job_done, timeout=30000) as done:
        assert editor.decompose()
        assert editor.busy() and not editor.decompose()   # one job at a time
    assert done.args == ["decompose", "ok"] and not editor.busy()
    assert [layer.kind for layer in editor.doc.layers] == ["logo", "object", "original"]
    assert editor.undo.text(editor.undo.count() - 1) == DECOMPOSE
    names = heard.names()
    assert names.index("job_started") < names.index("job_ended") < names.index("job_done")
    assert any(text.startswith("Decompose done in") for text, _ms in heard.of("message"))
    with qtbot.waitSignal(editor.job_done, timeout=30000) as done:
        assert editor.recompose()
    assert done.args == ["compose", "ok"] and editor.doc.layers[0].kind == "recomposed"


def test_cancel_leaves_the_document_as_it_was(editor, qtbot, monkeypatch):
    from layerlift.inference import engines
    monkeypatch.setitem(engines.ENGINES, "slow-test", "tests.desktop.slow_engine:SlowEngine")
    editor.settings.engine, editor.settings.steps = "slow-test", 1000
    editor.add_box((95, 80, 150, 100))
    with qtbot.waitSignal(editor.job_done, timeout=30000) as done:
        assert editor.decompose()
        qtbot.waitSignal(editor.progress, timeout=10000).wait()
        editor.cancel()
    assert done.args == ["decompose", "cancelled"]
    assert [layer.kind for layer in editor.doc.layers] == ["original"]
    assert editor.undo.count() == 1                      # only the box


def test_save_and_export_are_written_in_the_background_and_reported(editor, qtbot, tmp_path):
    from layerlift.desktop.project import open_project
    heard = Heard(editor)
    editor.add_box((95, 80, 150, 100))
    path = tmp_path / "p.ora"
    with qtbot.waitSignal(editor.file_written, timeout=30000) as written:
        assert editor.save_project(str(path))
    assert written.args == ["Save", str(path), ""]
    assert editor.undo.isClean() and editor.project_path == str(path)
    assert heard.of("write_started") == [("Saving p.ora…", f"Saving {path}")]
    assert open_project(path)[0].mask[80:100, 95:150].all()
    with qtbot.waitSignal(editor.file_written, timeout=30000) as written:
        assert editor.export(str(tmp_path / "x.psd"), "psd")
    assert written.args[2] == "" and (tmp_path / "x.psd").exists()
    editor.doc.path = str(tmp_path / "photo.png")        # never over the input photo
    assert not editor.export(editor.doc.path, "flat")
    assert heard.of("error")[-1][0] == "Export failed"


def test_the_blank_canvas_is_no_document(qapp):
    editor = Editor(Document(make_photo()), blank=True)
    assert editor.document is None and editor.edit_state()[0] == id(None)
    assert editor.add_box((10, 10, 20, 20))               # gestures still draw on it
    assert not editor.decompose() and not editor.save_project("/tmp/never.ora")
    assert not editor.load_mask_file("/tmp/none.png")
