"""Masks with parts far apart get a working crop each; nearby parts share one."""

from __future__ import annotations

import cv2
import numpy as np

from layerlift.inference.api import decompose
from layerlift.inference.contract import DecomposeRequest
from layerlift.inference.crop import mask_bbox
from layerlift.inference.engines.classical.regions import mask_regions
from tests.benchmarks.classical_cases import make_case, psnr_inside


def two_logos_far_apart() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 1200 x 1600 photo with one case's content at the top left and another's at the
    bottom right: (composite, mask, object, logo alpha)."""
    a = make_case(41, "noise", "text", 1.0)
    b = make_case(42, "weave", "mark", 1.0)
    composite = np.full((1200, 1600, 3), 128, np.uint8)
    obj = composite.copy()
    mask = np.zeros((1200, 1600), bool)
    alpha = np.zeros((1200, 1600), np.uint8)
    for case, (y, x) in ((a, (0, 0)), (b, (1000, 1340))):
        h, w = case.mask.shape
        composite[y:y + h, x:x + w] = case.composite
        obj[y:y + h, x:x + w] = case.object
        mask[y:y + h, x:x + w] = case.mask
        alpha[y:y + h, x:x + w] = case.logo[..., 3]
    return composite, mask, obj, alpha


def test_far_apart_parts_get_their_own_small_crops():
    composite, mask, _, _ = two_logos_far_apart()
    regions = mask_regions(mask)
    assert len(regions) == 2
    for box, window_mask in regions:
        assert box.side < 400
        assert window_mask.shape == (box.side, box.side)
    assert sum(int(m.sum()) for _, m in regions) == int(mask.sum())


def test_nearby_parts_share_one_crop():
    mask = np.zeros((300, 300), bool)
    mask[100:120, 100:130] = True
    mask[100:120, 140:170] = True          # a letter gap away: one region
    regions = mask_regions(mask)
    assert len(regions) == 1
    box, window_mask = regions[0]
    assert int(window_mask.sum()) == int(mask.sum())


def test_two_far_logos_decompose_like_one_each():
    composite, mask, obj, alpha = two_logos_far_apart()
    layers = decompose(DecomposeRequest(composite, mask))
    assert layers.meta["regions"] == 2
    assert np.array_equal(layers.object[~mask], composite[~mask])
    assert not layers.logo[~mask].any()
    assert layers.meta["cycle_psnr"] == float("inf")
    x0, y0, x1, y1 = mask_bbox(mask)
    assert (x1 - x0) > 1400                # a single crop would have been the whole photo
    baseline = cv2.inpaint(composite, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    assert psnr_inside(layers.object, obj, mask) >= psnr_inside(baseline, obj, mask) + 2.0
    found = layers.logo[..., 3] > 0
    assert found[alpha > 128].mean() > 0.9
