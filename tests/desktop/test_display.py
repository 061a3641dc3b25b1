"""The display-copy cache: a live layer's copy must survive other runs' results, or the
canvas re-prepares a full-size photo on the GUI thread (a ~40 ms stall at 24 MP)."""

from __future__ import annotations

import numpy as np
import pytest

from layerlift.desktop import display


@pytest.fixture(autouse=True)
def empty_cache():
    display._cache.clear()
    yield
    display._cache.clear()


def rgba(value: int) -> np.ndarray:
    return np.full((4, 6, 4), value, np.uint8)


def test_a_layer_shown_after_every_run_stays_cached():
    photo = rgba(10)
    shown = display.display_for(photo)
    results = []
    for run in range(display.CACHE_SIZE + 2):
        result = rgba(20 + run)
        results.append(result)                     # kept alive, as the undo stack does
        display.remember(result, display.prepare(result))
        assert display.display_for(photo) is shown, f"evicted after run {run + 1}"


def test_freed_layers_make_room_before_live_ones():
    photo = rgba(10)
    shown = display.display_for(photo)
    for run in range(display.CACHE_SIZE + 2):
        result = rgba(20 + run)                    # freed when the next run replaces it
        display.remember(result, display.prepare(result))
    assert display.display_for(photo) is shown
    assert len(display._cache) <= 2


def test_the_cache_stays_bounded():
    kept = [rgba(i) for i in range(display.CACHE_SIZE + 3)]
    for array in kept:
        display.display_for(array)
    assert len(display._cache) == display.CACHE_SIZE
    assert display.display_for(kept[-1]) is display._cache[id(kept[-1])][1]


@pytest.mark.parametrize("alpha", [255, 128])
def test_a_layer_thumbnail_comes_from_its_display_copy_in_rgba(alpha):
    from layerlift.desktop.document import Layer
    from layerlift.desktop.layers_model import THUMB, thumbnail

    h, w = 1600, 2400                     # big enough to have halved display copies
    pixels = np.zeros((h, w, 4), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 200, 100, 30     # orange
    pixels[:, w // 2:, :3] = (20, 40, 220)                             # right half blue
    pixels[..., 3] = alpha
    thumb = thumbnail(Layer("Object", "object", rgba=pixels), (h, w))
    assert thumb.shape == (THUMB * h // w, THUMB, 4)
    # Colours in RGBA order and not premultiplied, whatever the display copy's format.
    assert np.abs(thumb[10, 5].astype(int) - (200, 100, 30, alpha)).max() <= 2
    assert np.abs(thumb[10, -5].astype(int) - (20, 40, 220, alpha)).max() <= 2
    assert len(display.display_for(pixels).levels) > 1


def test_window_layers_over_one_base_shrink_it_for_their_thumbnails_once(monkeypatch):
    """The Original, then each Object or Recomposed window over it: the base is shrunk once
    (~1.7 ms at 24 MP on the GUI thread as each result becomes layers), each window's
    thumbnail still shows its own patch, and the Original's is left as it was."""
    from layerlift.desktop import layers_model
    from layerlift.desktop.document import Layer

    h, w = 1600, 2400
    base = np.zeros((h, w, 4), np.uint8)
    base[..., :3], base[..., 3] = (200, 100, 30), 255
    patch = np.full((400, 600, 4), (20, 40, 220, 255), np.uint8)
    shrunk = []
    real = layers_model.display_for
    monkeypatch.setattr(layers_model, "display_for", lambda a: shrunk.append(a) or real(a))
    original = layers_model.thumbnail(Layer("Original", "original", rgba=base), (h, w))
    window = layers_model.thumbnail(
        Layer("Object", "object", base=base, patch=patch, offset=(1200, 800)), (h, w))
    again = layers_model.thumbnail(Layer("Original", "original", rgba=base), (h, w))
    assert len(shrunk) == 1
    assert np.abs(window[20, 30].astype(int) - (20, 40, 220, 255)).max() <= 2     # the patch
    assert np.abs(window[5, 5].astype(int) - (200, 100, 30, 255)).max() <= 2       # the base
    assert np.array_equal(again, original)
    assert np.abs(again[20, 30].astype(int) - (200, 100, 30, 255)).max() <= 2
