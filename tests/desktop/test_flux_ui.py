"""The flux engine driven from the app, on a tiny random FLUX Fill model written offline:
the engine panel's settings reach the worker, progress comes back, the layers and the
recomposition arrive like the classical engine's, and a bad LoRA file becomes one error line.
Nothing here says anything about quality (the model is random); see tests/inference/flux."""

from __future__ import annotations

import numpy as np
import pytest

from tests.desktop.test_jobs import mark_logo, run


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from layerlift.inference.engines.flux.tiny import save_tiny_pipeline

    folder = tmp_path_factory.mktemp("tiny-flux-ui")
    save_tiny_pipeline(folder, seed=0)
    return folder


@pytest.fixture
def flux_window(window, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLIFT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    window.engine_panel.engine_combo.setCurrentText("flux")
    window.engine_panel.model_edit.setText(str(tiny_model))
    window.engine_panel.steps_spin.setValue(2)
    window.engine_panel.seed_spin.setValue(7)
    return window


def test_flux_decompose_and_recompose_from_the_panel(flux_window, qtbot):
    w = flux_window
    assert w.engine_panel.steps_spin.isEnabled()    # flux-only fields are live for flux
    assert w.settings.model_path == w.engine_panel.model_edit.text()
    progress = []
    w.worker.progress.connect(lambda _job, step, total, _left: progress.append((step, total)))
    mark_logo(w)
    assert run(w, qtbot, w.decompose, "decompose", timeout=120000) == "ok", w.last_error
    meta = w.doc.meta
    assert meta["engine"] == "flux" and meta["seed"] == 7 and meta["steps"] == 2
    assert meta["mode"] == "zero-shot"
    assert [layer.kind for layer in w.doc.layers] == ["logo", "object", "original"]
    assert progress and progress[-1][0] == progress[-1][1]      # ran to its last step
    obj = w.doc.layer("object").render(w.doc.shape)
    outside = ~w.doc.mask_bool()
    assert (obj[..., :3][outside] == w.doc.image[outside]).all()
    assert "Cycle error" in w.layers_panel.cycle_label.text()
    assert run(w, qtbot, w.recompose, "compose", timeout=120000) == "ok", w.last_error
    recomposed = w.doc.layers[0]
    shown = recomposed.render(w.doc.shape)
    assert recomposed.kind == "recomposed" and shown.shape[:2] == w.doc.shape
    assert np.array_equal(shown[:10, :10, :3], obj[:10, :10, :3])   # far corner


def test_a_bad_lora_file_fails_the_run_with_one_line_and_keeps_the_document(flux_window,
                                                                            qtbot, tmp_path):
    w = flux_window
    bad = tmp_path / "not-a-lora.safetensors"
    bad.write_bytes(b"\x00" * 64)
    w.engine_panel.lora_edit.setText(str(bad))
    mark_logo(w)
    before = list(w.doc.layers)
    assert run(w, qtbot, w.decompose, "decompose", timeout=120000) == "failed"
    assert "not-a-lora.safetensors" in w.last_error and "\n" not in w.last_error
    assert w.doc.layers == before
