"""Decompose and compose end to end on a tiny model: exactness, progress, cancel, candidates."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from layerlift.inference.api import compose, decompose
from layerlift.inference.contract import ComposeRequest
from layerlift.inference.engines.flux import engine as flux_engine
from layerlift.inference.errors import Cancelled
from layerlift.inference.layers import alpha_over, cycle_error
from tests.inference.flux.helpers import tiny_request

pytestmark = pytest.mark.filterwarnings("ignore:the flux engine is running on the CPU")


def test_zero_shot_decompose_keeps_outside_and_rebuilds_inside(tiny_folder, photo,
                                                               fresh_engine):
    image, mask = photo
    layers = fresh_engine.decompose(tiny_request(image, mask, tiny_folder))
    # The engine itself (not only the API) leaves everything outside the mask untouched.
    assert np.array_equal(layers.object[~mask], image[~mask])
    assert not layers.logo[~mask].any()
    mae, _ = cycle_error(image, layers.object, layers.logo, mask)
    assert mae <= 1.0 / 255
    rebuilt = alpha_over(layers.logo, layers.object)
    assert np.abs(rebuilt.astype(int) - image).max() <= 2
    assert layers.meta["mode"] == "zero-shot" and layers.meta["steps"] == 2


def test_same_seed_same_layers_other_seed_differs(tiny_folder, photo, fresh_engine):
    image, mask = photo
    a = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, seed=3))
    b = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, seed=3))
    c = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, seed=4))
    assert np.array_equal(a.object, b.object)
    assert not np.array_equal(a.object, c.object)


def test_candidates_keep_the_lowest_score_and_report_all(tiny_folder, photo):
    image, mask = photo
    seen = []
    layers = decompose(tiny_request(image, mask, tiny_folder, seed=10, candidates=3),
                       on_progress=lambda step, total, preview=None: seen.append((step, total)))
    cands = layers.meta["candidates"]
    assert [c["seed"] for c in cands] == [10, 11, 12]
    assert len({c["score"] for c in cands}) == 3       # a real score, not a constant
    best = min(cands, key=lambda c: c["score"])
    assert layers.meta["best_seed"] == best["seed"] and layers.meta["seed"] == 10
    assert layers.meta["candidate_score"] == best["score"]
    assert layers.meta["candidate_score_kind"] == "fill error on known surface"   # zero-shot
    assert "model_cycle_error" not in layers.meta
    assert seen == [(i, 6) for i in range(1, 7)]       # 3 candidates x 2 steps
    assert layers.meta["engine"] == "flux" and "cycle_error" in layers.meta


def test_cancel_between_steps_raises_and_returns_nothing(tiny_folder, photo, fresh_engine,
                                                         monkeypatch):
    image, mask = photo
    cancel = threading.Event()
    steps_run = []
    pipe_calls = []

    def on_progress(step, total, preview=None):
        steps_run.append(step)
        if step == 1:
            cancel.set()

    original = flux_engine.FluxEngine._fill

    def counting_fill(self, *args, **kwargs):
        pipe_calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(flux_engine.FluxEngine, "_fill", counting_fill)
    with pytest.raises(Cancelled):
        fresh_engine.decompose(tiny_request(image, mask, tiny_folder, steps=4, candidates=2),
                               on_progress, cancel)
    assert steps_run == [1]            # the interrupt stopped the loop after the first step
    assert len(pipe_calls) == 1        # and no further candidate started


def test_compose_in_place_logo_changes_only_near_the_logo(tiny_folder, photo):
    image, _ = photo
    logo = np.zeros(image.shape[:2] + (4,), np.uint8)
    logo[40:52, 44:64] = (250, 20, 20, 255)
    out = compose(ComposeRequest(object=image, logo=logo, engine="flux", steps=2, size=64,
                                 model=str(tiny_folder)))
    assert out.shape == image.shape and out.dtype == np.uint8
    near = np.zeros(image.shape[:2], bool)
    near[30:62, 34:74] = True
    assert np.array_equal(out[~near], image[~near])
    assert not np.array_equal(out[40:52, 44:64], image[40:52, 44:64])


def test_compose_asset_on_a_quad(tiny_folder, photo):
    image, _ = photo
    asset = np.zeros((10, 20, 4), np.uint8)
    asset[...] = (10, 200, 10, 255)
    quad = np.array([[30, 20], [70, 24], [68, 44], [32, 40]], float)
    out = compose(ComposeRequest(object=image, logo_asset=asset, quad=quad, engine="flux",
                                 steps=2, size=64, model=str(tiny_folder), strength=0.5))
    far = np.ones(image.shape[:2], bool)
    far[10:56, 20:82] = False
    assert np.array_equal(out[far], image[far])


def test_asset_is_placed_on_its_quad():
    asset = np.full((8, 8, 4), 255, np.uint8)
    quad = np.array([[10, 10], [30, 10], [30, 20], [10, 20]], float)
    request = ComposeRequest(object=np.zeros((40, 50, 3), np.uint8), logo_asset=asset,
                             quad=quad)
    layer = flux_engine.logo_in_place(request)
    assert layer.shape == (40, 50, 4)
    assert layer[15, 20, 3] == 255 and layer[5, 5, 3] == 0 and layer[25, 40, 3] == 0


def test_panel_alpha_recovers_a_known_blend():
    rng = np.random.default_rng(0)
    obj = rng.integers(0, 200, (16, 16, 3)).astype(np.float32)
    colour = np.array([30.0, 60.0, 220.0])
    alpha = rng.random((16, 16)).astype(np.float32)
    a = alpha[..., None]
    comp = np.rint(a * colour + (1 - a) * obj).astype(np.uint8)
    panel = np.rint(a * colour + (1 - a) * 255.0).astype(np.uint8)
    est = flux_engine.panel_alpha(comp, obj.astype(np.uint8), panel)
    assert np.abs(est - alpha).mean() < 0.05
    score = flux_engine.panel_rebuild_error(comp, obj.astype(np.uint8), panel,
                                            np.ones((16, 16), bool))
    assert score < 0.02


def test_skipping_the_strength_1_encode_changes_nothing():
    """initial_noise replaces the pipeline's wasted VAE encode, bit for bit."""
    import torch

    from layerlift.inference.engines.flux.tiny import build_tiny_fill_pipeline

    pipe = build_tiny_fill_pipeline(seed=2)
    image = np.random.default_rng(0).random((64, 192, 3)).astype(np.float32)
    fill = np.zeros((64, 192), np.float32)
    fill[:, 64:] = 1

    def run(generator, latents=None):
        return pipe(prompt="the", image=image, mask_image=fill, height=64, width=192,
                    num_inference_steps=2, output_type="np", generator=generator,
                    latents=latents).images

    plain = run(torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    shortcut = run(g, flux_engine.initial_noise(pipe, 64, 192, g, torch.float32))
    assert np.array_equal(plain, shortcut)


def test_zero_shot_with_a_perfect_fill_keeps_the_loose_mask_and_unblends(
        tiny_folder, fresh_engine, monkeypatch):
    """A stand-in for a perfect inpainting: the surface comes back, untouched surface inside
    the loose mask stays the input bit for bit, a semi-transparent mark stays semi-transparent."""
    rng = np.random.default_rng(3)
    surface = np.clip(rng.normal(128, 12, (128, 128, 3)), 0, 255)
    surface = cv2_blur(surface)
    colour, alpha = np.array([250.0, 250.0, 250.0]), 0.4
    image = surface.copy()
    image[52:76, 44:84] = alpha * colour + (1 - alpha) * surface[52:76, 44:84]
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    surface8 = np.clip(np.rint(surface), 0, 255).astype(np.uint8)
    mask = np.zeros((128, 128), bool)
    mask[36:92, 28:100] = True                     # loose: much bigger than the mark
    truth = {}

    def perfect_fill(self, loaded, img, fill, prompt, *args, **kwargs):
        truth["region"] = fill > 0.5
        from layerlift.inference.crop import extract
        return np.where(truth["region"][..., None],
                        extract(surface8, truth["box"], img.shape[0]), img)

    from layerlift.inference.crop import working_crop
    truth["box"] = working_crop(mask)
    monkeypatch.setattr(flux_engine.FluxEngine, "_fill", perfect_fill)
    layers = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, size=64))
    # The fill was limited to the mark (plus a margin), not the whole loose mask.
    assert truth["region"].mean() < 0.2
    far = mask.copy()
    far[46:82, 38:90] = False
    assert np.array_equal(layers.object[far], image[far])
    assert not layers.logo[far].any()
    core = np.zeros_like(mask)
    core[56:72, 48:80] = True
    a = layers.logo[..., 3][core] / 255.0
    assert np.abs(np.median(a) - alpha) < 0.1
    err = np.abs(layers.object[core].astype(float) - surface8[core]).mean()
    assert err < 8
    assert cycle_error(image, layers.object, layers.logo, mask)[0] <= 1.0 / 255


def cv2_blur(x):
    import cv2

    return cv2.GaussianBlur(x.astype(np.float32), (0, 0), 3)
