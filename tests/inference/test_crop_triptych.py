import numpy as np
import pytest

from layerlift.inference.crop import extract, paste_back, working_crop
from layerlift.inference.triptych import (
    compose_triptych,
    decompose_triptych,
    logo_on_white,
    split_panels,
)


def _mask(h, w, box):
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


def test_working_crop_is_square_contains_mask_and_stays_inside_photo():
    mask = _mask(400, 600, (100, 150, 180, 190))
    box = working_crop(mask)
    assert box.x1 - box.x0 == box.y1 - box.y0 == box.side
    assert box.x0 <= 100 and box.x1 >= 180 and box.y0 <= 150 and box.y1 >= 190
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= 600 and box.y1 <= 400


def test_crop_past_the_edge_is_edge_padded_and_pastes_back_exactly_outside_mask():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    mask = _mask(50, 60, (0, 0, 30, 40))
    box = working_crop(mask)
    patch = extract(image, box)
    assert patch.shape == (box.side, box.side, 3)
    grey = np.full_like(patch, 128)
    out = paste_back(image, grey, box, mask, feather=3)
    assert np.array_equal(out[~mask], image[~mask])
    assert (out[mask] != image[mask]).any()
    # Deep inside the mask the patch wins fully.
    assert np.all(out[20, 15] == 128)


def test_resized_patch_round_trip_changes_only_the_mask():
    image = np.zeros((300, 300, 3), np.uint8)
    mask = _mask(300, 300, (120, 120, 180, 170))
    box = working_crop(mask)
    small = extract(image, box, size=64)
    assert small.shape == (64, 64, 3)
    out = paste_back(image, np.full_like(small, 200), box, mask)
    assert np.array_equal(out[~mask], image[~mask])
    assert np.all(out[mask] == 200)


def test_decompose_triptych_layout_and_fill_mask():
    s = 32
    comp = np.full((s, s, 3), 90, np.uint8)
    mask = _mask(s, s, (10, 10, 20, 20))
    image, fill = decompose_triptych(comp, mask, dilation=2)
    assert image.shape == (s, 3 * s, 3) and fill.shape == (s, 3 * s)
    left, middle, right = split_panels(image)
    assert np.array_equal(left, comp) and np.all(middle == 255) and np.array_equal(right, comp)
    assert fill[:, :s].max() == 0 and fill[:, s:2 * s].min() == 1
    obj_fill = fill[:, 2 * s:].astype(bool)
    assert obj_fill[mask].all() and obj_fill.sum() > mask.sum() and not obj_fill[0, 0]


def test_compose_triptych_generates_only_in_composite_panel_support():
    s = 32
    logo = np.zeros((s, s, 4), np.uint8)
    logo[8:12, 8:20] = (255, 0, 0, 255)
    support = logo[..., 3] > 0
    obj = np.full((s, s, 3), 40, np.uint8)
    image, fill = compose_triptych(logo_on_white(logo), obj, support, dilation=1)
    assert fill[:, :2 * s].max() == 0
    assert fill[:, 2 * s:].astype(bool)[support].all()
    assert np.array_equal(split_panels(image)[2], obj)


def test_triptych_rejects_panels_not_multiple_of_16():
    with pytest.raises(ValueError):
        decompose_triptych(np.zeros((30, 30, 3), np.uint8), np.zeros((30, 30), bool))
