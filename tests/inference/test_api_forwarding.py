"""The API hands the caller's progress callback and cancel token to the engine, for compose
as for decompose; and an engine's S x S result is brought back to photo scale as the
engines expect (area averaging down, a smooth cubic up)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from layerlift.inference import api, engines
from layerlift.inference.contract import ComposeRequest, DecomposeRequest, Layers
from layerlift.inference.crop import CropBox, to_photo_scale


class RecordingEngine:
    """Records what the API handed it; its results are trivial."""

    name = "recording-test"
    seen: list = []

    def decompose(self, request, on_progress, cancel) -> Layers:
        RecordingEngine.seen.append(("decompose", on_progress, cancel))
        return Layers(object=request.image.copy(),
                      logo=np.zeros(request.image.shape[:2] + (4,), np.uint8))

    def compose(self, request, on_progress, cancel) -> np.ndarray:
        RecordingEngine.seen.append(("compose", on_progress, cancel))
        return request.object.copy()


@pytest.fixture
def recording(monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "recording-test",
                        "tests.inference.test_api_forwarding:RecordingEngine")
    RecordingEngine.seen = []
    return RecordingEngine.seen


def test_progress_and_cancel_reach_the_engine(recording):
    image = np.full((20, 30, 3), 120, np.uint8)
    mask = np.zeros((20, 30), bool)
    mask[5:10, 5:15] = True
    progress, cancel = (lambda *a: None), threading.Event()
    api.decompose(DecomposeRequest(image, mask, engine="recording-test"), progress, cancel)
    logo = np.zeros((20, 30, 4), np.uint8)
    api.compose(ComposeRequest(object=image, logo=logo, engine="recording-test"), progress,
                cancel)
    assert recording == [("decompose", progress, cancel), ("compose", progress, cancel)]


def test_a_cancelled_compose_stops_in_the_classical_engine():
    from layerlift.inference.errors import Cancelled

    image = np.full((20, 30, 3), 120, np.uint8)
    logo = np.zeros((20, 30, 4), np.uint8)
    logo[5:10, 5:15] = (200, 0, 0, 255)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        api.compose(ComposeRequest(object=image, logo=logo), None, cancel)


def test_a_smaller_result_is_area_averaged_down_to_the_window():
    rng = np.random.default_rng(0)
    patch = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out = to_photo_scale(patch, CropBox(0, 0, 32))
    blocks = patch.reshape(32, 2, 32, 2, 3).astype(float).mean(axis=(1, 3))
    assert out.shape == (32, 32, 3)
    assert np.abs(out - blocks).max() <= 0.5 + 1e-9      # each pixel: its 2x2 block's mean


def test_a_larger_window_gets_a_cubic_not_a_linear_upscale():
    import cv2

    patch = np.zeros((16, 16), np.float32)
    patch[8, 8] = 1.0
    out = to_photo_scale(patch, CropBox(0, 0, 64))
    assert out.shape == (64, 64)
    assert out.min() < -1e-3            # a cubic kernel rings below zero; linear never does
    linear = cv2.resize(patch, (64, 64), interpolation=cv2.INTER_LINEAR)
    assert not np.allclose(out, linear)
    assert to_photo_scale(patch, CropBox(0, 0, 16)) is patch            # same size: as is


class SloppyEngine(RecordingEngine):
    """Changes a pixel outside the mask (in a hole of it, inside its box: the API fixes the
    box, see enforce_outside) and leaves logo there; inside the mask, a known error."""

    name = "sloppy-test"

    def decompose(self, request, on_progress, cancel) -> Layers:
        obj = request.image.copy()
        obj[7, 7] = 0                                   # the hole in the mask
        obj[request.mask] = np.clip(obj[request.mask].astype(int) + 51, 0, 255)
        logo = np.zeros(request.image.shape[:2] + (4,), np.uint8)
        logo[7, 7] = 255
        return Layers(object=obj, logo=logo, meta={"timings": {"engine_s": 0.0}})


def test_the_api_enforces_the_contract_and_reports_the_cycle(monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "sloppy-test",
                        "tests.inference.test_api_forwarding:SloppyEngine")
    image = np.full((20, 30, 3), 100, np.uint8)
    mask = np.zeros((20, 30), bool)
    mask[5:10, 5:15] = True
    mask[7, 7] = False
    layers = api.decompose(DecomposeRequest(image, mask, engine="sloppy-test", seed=7))
    np.testing.assert_array_equal(layers.object[~mask], image[~mask])   # fixed by the API
    assert not layers.logo[~mask].any()
    meta = layers.meta
    assert meta["engine"] == "sloppy-test" and meta["seed"] == 7
    assert meta["cycle_error"] == pytest.approx(51 / 255)               # inside the mask only
    assert meta["cycle_psnr"] == pytest.approx(10 * np.log10((255 / 51) ** 2))
    assert meta["timings"]["engine_s"] == 0.0 and 0 < meta["timings"]["total_s"] < 60


def test_a_window_shrunk_for_the_engine_is_area_averaged_and_grown_back_smooth():
    """What the engine sees of a large window: each pixel the mean of the block it stands
    for (no aliasing of fine texture); a small window grows with the same cubic as above."""
    import cv2

    from layerlift.inference.crop import extract

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out = extract(image, CropBox(0, 0, 64), 16)
    blocks = image.reshape(16, 4, 16, 4, 3).astype(float).mean(axis=(1, 3))
    assert out.shape == (16, 16, 3)
    assert np.abs(out - blocks).max() <= 0.5 + 1e-9
    grown = extract(image[:16, :16], CropBox(0, 0, 16), 48)
    cubic = cv2.resize(image[:16, :16], (48, 48), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(grown, cubic)
    nearest = extract(image, CropBox(0, 0, 64), 16, nearest=True)    # masks, labels
    np.testing.assert_array_equal(nearest, cv2.resize(image, (16, 16),
                                                      interpolation=cv2.INTER_NEAREST))
