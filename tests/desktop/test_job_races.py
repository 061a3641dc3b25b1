"""A result that arrives too late is dropped: cancelled after the engine's last step, or
finished for a document the user has since replaced."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt

from layerlift.desktop.worker import Worker
from layerlift.inference.contract import DecomposeRequest
from layerlift.inference.imageio import save_png
from tests.desktop.conftest import make_photo


def test_a_cancel_while_the_result_is_pasted_drops_it(qtbot):
    """The engine has checked the token for the last time; the user presses Esc while the
    worker builds the full-size layers: the job ends cancelled and its result is not shown."""
    worker = Worker()
    finished, cancelled = [], []
    worker.finished.connect(lambda *args: finished.append(args))
    worker.cancelled.connect(lambda *args: cancelled.append(args))
    image = make_photo(60, 80)
    mask = np.zeros((60, 80), bool)
    mask[20:40, 25:55] = True

    def finish(layers):
        worker.cancel()                   # Esc, while the paste runs on the worker
        return layers

    try:
        job = worker.submit("decompose", DecomposeRequest(image, mask), finish)
        qtbot.waitUntil(lambda: bool(cancelled or finished), timeout=30000)
        qtbot.wait(50)
        assert cancelled == [(job, "decompose")] and finished == []
        assert not worker.busy()
    finally:
        worker.shutdown()


def test_a_result_for_a_replaced_document_is_dropped(window, qtbot, tmp_path):
    """The job finishes; before the window hears of it the user opens another photo. The
    result belongs to the old photo: the new document gets none of its layers."""
    window.doc.fill_rect((85, 65, 165, 115))
    emitted = threading.Event()
    # Runs on the worker thread the moment the result is sent to the GUI thread.
    window.worker._runner.finished.connect(lambda *_: emitted.set(),
                                           Qt.ConnectionType.DirectConnection)
    other = tmp_path / "other.png"
    save_png(other, make_photo()[::-1].copy())
    outcomes = []
    window.job_done.connect(lambda kind, outcome: outcomes.append((kind, outcome)))
    assert window.decompose()
    assert emitted.wait(30)                # the result is on its way; no event has run yet
    assert window.open_path(str(other))
    new_doc = window.doc
    qtbot.waitUntil(lambda: bool(outcomes), timeout=10000)
    assert outcomes == [("decompose", "cancelled")]
    assert window.doc is new_doc
    assert [layer.kind for layer in new_doc.layers] == ["original"]
    assert window.undo.count() == 0 and new_doc.meta == {}
