"""The flux engine honours the user's hints: "not mark" pixels leave the region the model
fills and stay the input; "mark" pixels join the zero-shot fill's support and the logo."""

from __future__ import annotations

import numpy as np
import pytest

from layerlift.inference.crop import extract, working_crop
from layerlift.inference.engines.flux import engine as flux_engine
from layerlift.inference.hints import MARK, NOT_MARK
from layerlift.inference.layers import alpha_over
from tests.inference.flux.helpers import tiny_request

pytestmark = pytest.mark.filterwarnings("ignore:the flux engine is running on the CPU")


def scene():
    """A flat surface, an opaque mark, and a patch the classical matte cannot see (it is the
    surface's own colour) which the user says is mark; a loose mask round both."""
    rng = np.random.default_rng(5)
    surface = np.clip(rng.normal(128, 2, (128, 128, 3)), 0, 255).astype(np.uint8)
    image = surface.copy()
    image[50:70, 40:70] = (20, 30, 200)
    mask = np.zeros((128, 128), bool)
    mask[36:90, 28:100] = True
    hints = np.zeros((128, 128), np.uint8)
    hints[74:84, 76:92] = MARK          # nothing there the matte could find
    hints[54:66, 44:56] = NOT_MARK      # the user keeps part of the mark
    return surface, image, mask, hints


def fill_with(colour, seen):
    def fill(self, loaded, img, fill_mask, prompt, *args, **kwargs):
        seen.append(fill_mask > 0.5)
        return np.where((fill_mask > 0.5)[..., None], np.uint8(colour), img)
    return fill


def check_contract(image, mask, layers):
    assert np.array_equal(layers.object[~mask], image[~mask])
    assert not layers.logo[~mask].any()
    assert np.abs(alpha_over(layers.logo, layers.object).astype(int) - image)[mask].max() <= 2


def test_zero_shot_fills_mark_hints_and_keeps_not_mark_hints(tiny_folder, fresh_engine,
                                                             monkeypatch):
    surface, image, mask, hints = scene()
    seen = []
    monkeypatch.setattr(flux_engine.FluxEngine, "_fill", fill_with((128, 128, 128), seen))
    layers = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, hints=hints))
    region = seen[0]
    box = working_crop(mask)
    s = region.shape[0]
    assert region[extract(hints == MARK, box, s)].all()          # the mark hint is filled
    assert not region[extract(hints == NOT_MARK, box, s)].any()   # the other is not
    kept = hints == NOT_MARK
    assert np.array_equal(layers.object[kept], image[kept])
    assert not layers.logo[..., 3][kept].any()
    assert (layers.logo[..., 3][hints == MARK] == 255).all()
    check_contract(image, mask, layers)


def test_zero_shot_without_hints_leaves_the_hinted_patch_alone(tiny_folder, fresh_engine,
                                                               monkeypatch):
    """The other side of the test above: without hints, the patch is not filled and the
    kept part of the mark is."""
    _, image, mask, hints = scene()
    seen = []
    monkeypatch.setattr(flux_engine.FluxEngine, "_fill", fill_with((128, 128, 128), seen))
    fresh_engine.decompose(tiny_request(image, mask, tiny_folder))
    box = working_crop(mask)
    s = seen[0].shape[0]
    assert not seen[0][extract(hints == MARK, box, s)].any()
    assert seen[0][extract(hints == NOT_MARK, box, s)].all()


def test_zero_shot_with_all_of_the_mark_hinted_not_mark_fills_nothing(tiny_folder,
                                                                      fresh_engine,
                                                                      monkeypatch):
    """The user said the only thing found is not mark: the model must not repaint the loose
    mask's surface instead."""
    _, image, mask, _ = scene()
    hints = np.zeros(mask.shape, np.uint8)
    hints[46:74, 36:74] = NOT_MARK
    seen = []
    monkeypatch.setattr(flux_engine.FluxEngine, "_fill", fill_with((128, 128, 128), seen))
    layers = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, hints=hints))
    assert not any(region.any() for region in seen)
    assert np.array_equal(layers.object, image)
    assert not layers.logo.any()


def test_with_a_lora_not_mark_hints_stay_the_input(tiny_folder, lora_file, fresh_engine):
    _, image, mask, hints = scene()
    layers = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, hints=hints,
                                                 lora=str(lora_file)))
    kept = hints == NOT_MARK
    assert layers.meta["mode"] == "lora"
    assert np.array_equal(layers.object[kept], image[kept])
    assert not layers.logo[..., 3][kept].any()
    # in the logo's support: opaque where the model saw nothing, its own alpha elsewhere
    assert (layers.logo[..., 3][hints == MARK] > 0).all()
    check_contract(image, mask, layers)
