import threading

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference import ComposeRequest, compose
from inference.engines.classical.compose import compose_classical, edge_blur_sigma
from inference.errors import Cancelled
from inference.layers import logo_asset


def square_logo(h, w, box, colour=(255, 255, 255), alpha=255):
    x0, y0, x1, y1 = box
    logo = np.zeros((h, w, 4), np.uint8)
    logo[y0:y1, x0:x1] = (*colour, alpha)
    return logo


def textured(h, w, seed=0, level=150, blur=0.0):
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 20, (h, w, 3)).astype(np.float32)
    if blur:
        noise = cv2.GaussianBlur(noise, (0, 0), blur)
    return np.clip(level + noise, 0, 255).astype(np.uint8)


def test_logo_on_a_darker_part_comes_out_darker():
    # A surface lit from the left: bright on the left, falling off to the right.
    h, w = 200, 400
    ramp = np.linspace(235, 60, w, dtype=np.float32)
    obj = np.repeat(np.repeat(ramp[None, :, None], h, 0), 3, 2).astype(np.uint8)
    lit = compose(ComposeRequest(object=obj, logo=square_logo(h, w, (40, 80, 80, 120))))
    dark = compose(ComposeRequest(object=obj, logo=square_logo(h, w, (300, 80, 340, 120))))
    lit_level = lit[85:115, 45:75].mean()
    dark_level = dark[85:115, 305:335].mean()
    assert lit_level > 200          # a white logo on the lit part stays near white
    assert dark_level < lit_level - 15


def test_shadow_across_the_logo_darkens_only_its_shadowed_part():
    h, w = 240, 240
    obj = np.full((h, w, 3), 210, np.uint8)
    obj[:, 120:] = 80              # a shadow falls on the right half
    out = compose(ComposeRequest(object=obj, logo=square_logo(h, w, (60, 90, 180, 150),
                                                              colour=(240, 40, 40))))
    left = out[100:140, 65:90].astype(float).mean(axis=(0, 1))
    right = out[100:140, 150:175].astype(float).mean(axis=(0, 1))
    assert left[0] > 200 and right[0] < 0.7 * left[0]
    assert left[0] > left[1] * 3 and right[0] > right[1] * 3   # still red, only darker


def text_logo(h, w):
    logo = np.zeros((h, w, 4), np.uint8)
    cv2.putText(logo, "Logo", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (30, 60, 200, 255), 5,
                cv2.LINE_AA)
    logo[60:70, 150:190] = (250, 250, 0, 90)     # a semi-transparent bar too
    return logo


def test_outside_the_support_the_object_is_unchanged_bit_for_bit():
    h, w = 160, 200
    obj = textured(h, w)                          # as sharp as the logo: no softening
    logo = text_logo(h, w)
    out = compose(ComposeRequest(object=obj, logo=logo))
    support = logo[..., 3] > 0
    np.testing.assert_array_equal(out[~support], obj[~support])
    assert np.abs(out[support].astype(int) - obj[support]).mean() > 20
    assert obj is not out


def test_softening_spreads_only_within_its_reach():
    h, w = 160, 200
    stripes = np.where((np.arange(w) // 16) % 2 == 0, 80, 200).astype(np.uint8)
    obj = np.repeat(np.repeat(stripes[None, :, None], h, 0), 3, 2)
    obj = cv2.GaussianBlur(obj, (0, 0), 2.0)      # softer than the logo: the logo is blurred
    logo = text_logo(h, w)
    out = compose(ComposeRequest(object=obj, logo=logo))
    support = logo[..., 3] > 0
    changed = np.any(out != obj, axis=2)
    assert (changed & ~support).any(), "the softened edge reaches past the sharp support"
    reach = cv2.dilate(support.astype(np.uint8), np.ones((17, 17), np.uint8)).astype(bool)
    np.testing.assert_array_equal(out[~reach], obj[~reach])


def test_quad_warp_lands_in_the_quad():
    h, w = 300, 400
    obj = np.full((h, w, 3), 200, np.uint8)
    asset = np.zeros((50, 80, 4), np.uint8)
    asset[..., 0] = 220
    asset[..., 3] = 255
    quad = np.array([[120.0, 60.0], [300.0, 90.0], [290.0, 210.0], [110.0, 240.0]])
    out = compose(ComposeRequest(object=obj, logo_asset=asset, quad=quad))
    changed = np.any(out != obj, axis=2)
    inside = np.zeros((h, w), np.uint8)
    # quad corners are pixel edges; the polygon is drawn through pixel centres (-0.5)
    cv2.fillConvexPoly(inside, np.round((quad - 0.5) * 16).astype(np.int32), 1, shift=4)
    # the anti-aliased edge of an upscaled asset reaches about half an asset pixel out
    grown = cv2.dilate(inside, np.ones((5, 5), np.uint8)).astype(bool)
    assert not (changed & ~grown).any(), "nothing changes outside the quad"
    coverage = 1.0 - out[..., 1].astype(float) / 200.0    # green: 200 * (1 - alpha)
    area = cv2.contourArea(quad.astype(np.float32))
    assert abs(coverage.sum() - area) < 0.01 * area
    cy, cx = np.round(quad.mean(axis=0)[::-1]).astype(int)
    r, g, b = out[cy, cx].astype(int)
    assert r > 150 and g < 60 and b < 60


def test_asset_on_its_own_box_matches_the_logo_in_place():
    h, w = 120, 160
    obj = textured(h, w, seed=3)
    logo = np.zeros((h, w, 4), np.uint8)
    cv2.circle(logo, (80, 60), 30, (20, 180, 90, 255), -1, cv2.LINE_AA)
    asset, quad = logo_asset(logo)
    in_place = compose(ComposeRequest(object=obj, logo=logo))
    warped = compose(ComposeRequest(object=obj, logo_asset=asset, quad=quad))
    assert np.abs(in_place.astype(int) - warped).max() <= 2


def test_logo_is_softened_to_the_photo_sharpness():
    h, w = 200, 200
    sharp = np.full((h, w, 3), 60, np.uint8)
    sharp[:, 100:] = 220
    sharp[40:60, 20:180] = 140                      # edges around the logo's area
    blurry = cv2.GaussianBlur(sharp, (0, 0), 2.5)
    logo = square_logo(h, w, (70, 90, 130, 150), colour=(0, 0, 255))
    on_sharp = compose(ComposeRequest(object=sharp, logo=logo))
    on_blurry = compose(ComposeRequest(object=blurry, logo=logo))
    blue = (on_sharp[..., 2].astype(np.float32) - on_sharp[..., 0]) / 255.0
    blue_blurry = (on_blurry[..., 2].astype(np.float32) - on_blurry[..., 0]) / 255.0
    s_sharp = edge_blur_sigma(blue[80:160, 60:140])
    s_blurry = edge_blur_sigma(blue_blurry[80:160, 60:140])
    assert s_blurry > s_sharp + 0.5


def test_empty_logo_or_quad_outside_returns_the_object():
    obj = textured(50, 60)
    out = compose(ComposeRequest(object=obj, logo=np.zeros((50, 60, 4), np.uint8)))
    np.testing.assert_array_equal(out, obj)
    asset = np.full((10, 10, 4), 255, np.uint8)
    far = np.array([[100.0, 100], [120, 100], [120, 120], [100, 120]])
    np.testing.assert_array_equal(
        compose(ComposeRequest(object=obj, logo_asset=asset, quad=far)), obj)


def test_progress_and_cancel():
    obj = textured(80, 80)
    logo = square_logo(80, 80, (20, 20, 60, 60))
    steps = []
    compose_classical(ComposeRequest(object=obj, logo=logo),
                      on_progress=lambda s, t, p=None: steps.append((s, t)))
    assert steps[0] == (0, 4) and steps[-1] == (4, 4)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        compose_classical(ComposeRequest(object=obj, logo=logo), cancel=cancel)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), blur=st.floats(0.0, 3.0))
def test_nothing_changes_beyond_the_softening_reach(seed, blur):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(20, 90)), int(rng.integers(20, 90))
    obj = textured(h, w, seed=seed, blur=blur)
    logo = np.zeros((h, w, 4), np.uint8)
    x0, y0 = int(rng.integers(0, w - 4)), int(rng.integers(0, h - 4))
    x1, y1 = int(rng.integers(x0 + 2, w + 1)), int(rng.integers(y0 + 2, h + 1))
    logo[y0:y1, x0:x1] = rng.integers(0, 256, 4)
    logo[y0:y1, x0:x1, 3] = max(1, int(logo[y0, x0, 3]))
    out = compose(ComposeRequest(object=obj, logo=logo))
    support = logo[..., 3] > 0
    # the softening blur (sigma <= 2.5) reaches at most 8 px past the logo's support
    reach = cv2.dilate(support.astype(np.uint8), np.ones((17, 17), np.uint8)).astype(bool)
    np.testing.assert_array_equal(out[~reach], obj[~reach])
