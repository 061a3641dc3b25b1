"""A job the machine cannot hold is refused before it starts: one line in a dialog, the
document as it was, the app ready for the next job."""

from __future__ import annotations

from layerlift.inference import ram


def test_a_decomposition_over_the_memory_limit_is_refused_with_a_dialog(window, qtbot,
                                                                         monkeypatch):
    h, w = window.doc.shape
    window.doc.fill_rect((0, 0, w, h))
    layers_before = list(window.doc.layers)
    monkeypatch.setenv(ram.MEMORY_ENV, "0.005")
    with qtbot.waitSignal(window.job_done, timeout=30000) as blocker:
        assert window.decompose()
    assert blocker.args == ["decompose", "failed"]
    assert "mask the logo more tightly" in window.last_error
    assert "\n" not in window.last_error
    assert window.doc.layers == layers_before
    window._error_box.close()
    monkeypatch.delenv(ram.MEMORY_ENV)
    with qtbot.waitSignal(window.job_done, timeout=30000) as blocker:
        assert window.decompose()
    assert blocker.args == ["decompose", "ok"], window.last_error
