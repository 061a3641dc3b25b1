"""The feathered seam's weight (flux pastes its result with it): 0 outside the mask, a ramp of
`feather` pixels inside its edge, 1 deeper in."""

from __future__ import annotations

import numpy as np

from layerlift.inference.crop import feathered_weight


def _square() -> np.ndarray:
    mask = np.zeros((30, 30), bool)
    mask[5:25, 5:25] = True
    return mask


def test_the_weight_ramps_over_feather_pixels_inside_the_mask():
    weight = feathered_weight(_square(), 4)
    assert weight.dtype == np.float32 and weight.shape == (30, 30)
    assert not weight[~_square()].any()                        # 0 outside, never below
    assert weight.min() == 0.0 and weight.max() == 1.0
    # The edge pixel is 1 px from outside: ~1/4; then ~2/4, ~3/4, and 1 from 4-5 px in
    # (OpenCV's fast 3x3 distance is within 5 % of the true one).
    np.testing.assert_allclose(weight[15, 5:10], [0.25, 0.5, 0.75, 1.0, 1.0], atol=0.05)
    assert (np.diff(weight[15, 5:10]) >= 0).all()
    assert (weight[9:21, 9:21] == 1.0).all()


def test_no_feather_is_the_mask_itself():
    for feather in (0, -3):
        weight = feathered_weight(_square(), feather)
        assert weight.dtype == np.float32
        np.testing.assert_array_equal(weight, _square().astype(np.float32))
    two = feathered_weight(_square(), 2)
    assert abs(two[15, 5] - 0.5) < 0.05                        # 2 px: a real ramp


def test_paste_back_at_the_photo_corner_lands_pixel_for_pixel():
    """A window reaching past the top-left corner (as the crop does near an edge): each patch
    pixel lands where it belongs, inside the mask only, the photo copied elsewhere."""
    from layerlift.inference.crop import CropBox, paste_back

    rng = np.random.default_rng(2)
    full = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    box = CropBox(-4, -6, 16)                       # covers photo rows 0..9, columns 0..11
    patch = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    mask = np.zeros((24, 32), bool)
    mask[0:8, 0:10] = True
    out = paste_back(full, patch, box, mask)
    np.testing.assert_array_equal(out[0:8, 0:10], patch[6:14, 4:14])
    np.testing.assert_array_equal(out[~mask], full[~mask])
    assert out is not full and not np.shares_memory(out, full)
    white = np.full((16, 16, 3), 255, np.uint8)
    soft = paste_back(full, white, box, mask, feather=3)
    assert (soft[0:4, 0:6] == 255).all()       # deep inside, and along the photo's own edge
    seam = soft[7, 2:8].astype(int)            # the mask's last row, next to the photo
    assert (seam < 255).all() and (seam > full[7, 2:8].astype(int) - 1).all()
