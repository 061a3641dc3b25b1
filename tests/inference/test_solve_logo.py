"""The logo solver: the layers rebuild the input; a known blend comes back."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from layerlift.inference.layers import alpha_over, minimum_alpha, solve_logo

pixels = arrays(np.uint8, (6, 7, 3), elements=st.integers(0, 255))
alphas = arrays(np.float32, (6, 7), elements=st.floats(0, 1, width=32))


@settings(max_examples=60, deadline=None)
@given(image=pixels, obj=pixels, prior=alphas)
def test_layers_rebuild_the_input(image, obj, prior):
    logo = solve_logo(image, obj, prior)
    rebuilt = alpha_over(logo, obj)
    np.testing.assert_array_equal(rebuilt, image)           # exact, not within rounding
    assert (logo[..., 3] >= np.floor(prior * 255)).all()


def test_a_known_watermark_comes_back():
    obj = np.full((4, 4, 3), 100, np.uint8)
    colour, alpha = np.array([255.0, 255.0, 255.0]), 0.3
    image = np.rint(alpha * colour + (1 - alpha) * obj).astype(np.uint8)
    logo = solve_logo(image, obj, np.zeros((4, 4), np.float32))
    assert np.allclose(logo[..., 3] / 255.0, alpha, atol=0.01)
    assert (logo[..., :3] >= 252).all()
    assert minimum_alpha(obj, obj).max() == 0.0
    assert not solve_logo(obj, obj, np.zeros((4, 4), np.float32)).any()


def test_nothing_is_solved_outside_where():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    obj = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    where = np.zeros((8, 8), bool)
    where[2:5, 3:7] = True
    logo = solve_logo(image, obj, np.full((8, 8), 0.5, np.float32), where)
    assert not logo[~where].any()
    rebuilt = alpha_over(logo, obj)
    np.testing.assert_array_equal(rebuilt[where], image[where])


def test_an_empty_logo_is_one_transparent_pixel_on_the_unit_square():
    """What a decomposition that found no mark hands on: still a valid placement (a unit
    square at the origin, corners TL, TR, BR, BL) of an asset that shows nothing."""
    from layerlift.inference.layers import logo_asset

    asset, quad = logo_asset(np.zeros((30, 40, 4), np.uint8))
    assert asset.shape == (1, 1, 4) and asset.dtype == np.uint8 and not asset.any()
    np.testing.assert_array_equal(quad, [[0, 0], [1, 0], [1, 1], [0, 1]])
    assert quad.dtype == np.float64


def test_a_hairline_logo_one_pixel_high_or_wide_has_its_box():
    from layerlift.inference.layers import logo_asset, logo_bbox

    line = np.zeros((30, 40, 4), np.uint8)
    line[12, 5:25] = (10, 20, 30, 200)
    assert logo_bbox(line) == (5, 12, 25, 13)
    asset, quad = logo_asset(line)
    np.testing.assert_array_equal(asset, line[12:13, 5:25])
    np.testing.assert_array_equal(quad, [[5, 12], [25, 12], [25, 13], [5, 13]])
    assert logo_bbox(line.transpose(1, 0, 2)) == (12, 5, 13, 25)
    dot = np.zeros((30, 40, 4), np.uint8)
    dot[0, 39, 3] = 1                     # the faintest pixel, in a corner
    assert logo_bbox(dot) == (39, 0, 40, 1)
    assert logo_bbox(np.zeros((30, 40, 4), np.uint8)) is None


def test_solving_outside_where_prints_no_numpy_warning():
    """Where `where` forbids a logo but the photo differs from the surface, the colour is
    divided by alpha 0 and thrown away: no RuntimeWarning may reach the user's terminal."""
    import warnings

    image = np.full((8, 8, 3), 200, np.uint8)
    surface = np.full((8, 8, 3), 100, np.uint8)
    where = np.zeros((8, 8), bool)
    where[2:4, 2:4] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logo = solve_logo(image, surface, np.zeros((8, 8)), where)
    assert logo[..., 3][~where].max() == 0 and logo[..., 3][where].min() > 0
