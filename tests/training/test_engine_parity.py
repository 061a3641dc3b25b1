"""The trainer shows the model exactly the triptychs the flux engine shows it at inference."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from layerlift.inference.contract import ComposeRequest, DecomposeRequest
from layerlift.inference.engines.flux.engine import FluxEngine
from layerlift.inference.layers import alpha_over
from layerlift.training.data import Sample, make_example
from layerlift.training.model import training_triptychs

pytestmark = pytest.mark.filterwarnings("ignore:the flux engine is running on the CPU")

SIZE = 64


def hard_edged_sample() -> Sample:
    """A 160 px photo (so the crops are shrunk to S) with an opaque, hard-edged logo whose
    colour under alpha 0 is black: what straight-alpha resizing turns into a dark fringe."""
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:160, 0:160].astype(np.float32)
    obj = np.stack([90 + xx / 2, 120 + yy / 3, np.full_like(xx, 150)], axis=2)
    obj = np.clip(obj + rng.normal(0, 4, obj.shape), 0, 255).astype(np.uint8)
    logo = np.zeros((160, 160, 4), np.uint8)
    logo[60:100, 50:110] = (240, 200, 30, 255)
    logo[72:88, 66:94] = 0                     # a hole: black under alpha 0
    mask = np.zeros((160, 160), bool)
    mask[54:106, 44:116] = True
    return Sample(alpha_over(logo, obj), obj, logo, mask)


def engine_triptychs(monkeypatch, sample: Sample) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image, fill) of every Fill pass the engine makes with a LoRA: decompose, then compose.
    No model is loaded: the pass hands its input back."""
    seen = []

    def fill(self, loaded, image, fill_mask, *args, **kwargs):
        seen.append((image.copy(), fill_mask.copy()))
        return image

    monkeypatch.setattr(FluxEngine, "_load", lambda self, *a: SimpleNamespace(
        source=SimpleNamespace(label="stand-in")))
    monkeypatch.setattr(FluxEngine, "_use_lora", lambda self, *a: {"file": "stand-in"})
    monkeypatch.setattr(FluxEngine, "_fill", fill)
    engine = FluxEngine()
    engine.decompose(DecomposeRequest(image=sample.composite, mask=sample.mask, engine="flux",
                                      size=SIZE, lora="stand-in", device="cpu"))
    engine.compose(ComposeRequest(object=sample.object, logo=sample.logo, engine="flux",
                                  size=SIZE, lora="stand-in", device="cpu"))
    return seen


def test_trainer_triptychs_equal_the_engines(monkeypatch):
    sample = hard_edged_sample()
    (dec_image, dec_fill), (comp_image, comp_fill) = engine_triptychs(monkeypatch, sample)
    shown, targets, fills = training_triptychs([make_example(sample, SIZE)])
    assert np.array_equal(shown[0], dec_image) and np.array_equal(fills[0], dec_fill)
    # the logo panel included: resizing the straight-alpha logo before flattening it (what the
    # engine did) differs from this by up to 59/255 at the hole's edges on this sample
    assert np.array_equal(shown[1], comp_image) and np.array_equal(fills[1], comp_fill)
