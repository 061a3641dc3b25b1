"""Classical compose: an in-place logo is alpha-overed as printed; an asset + quad is warped,
shaded by the surface at its place, softened to the photo's sharpness; deshade_logo undoes
the shading. (Round trips through decompose: test_recompose_roundtrip.py.)"""

import threading

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerlift.inference import ComposeRequest, compose
from layerlift.inference.engines.classical.compose import compose_classical, edge_blur_sigma
from layerlift.inference.errors import Cancelled, InputError
from layerlift.inference.layers import alpha_over, logo_asset, logo_bbox
from layerlift.inference.shading import deshade_logo, shade_logo


def square_logo(h, w, box, colour=(255, 255, 255), alpha=255):
    x0, y0, x1, y1 = box
    logo = np.zeros((h, w, 4), np.uint8)
    logo[y0:y1, x0:x1] = (*colour, alpha)
    return logo


def as_asset(obj, logo, **kw):
    """Compose `logo` as an asset on its own bounding box (the asset path: shading, softening)."""
    asset, quad = logo_asset(logo)
    return compose(ComposeRequest(object=obj, logo_asset=asset, quad=quad, **kw))


def textured(h, w, seed=0, level=150, blur=0.0):
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 20, (h, w, 3)).astype(np.float32)
    if blur:
        noise = cv2.GaussianBlur(noise, (0, 0), blur)
    return np.clip(level + noise, 0, 255).astype(np.uint8)


def test_logo_on_a_darker_part_comes_out_darker():
    # A surface lit from the left: bright on the left, falling off to the right. The shading
    # is relative to the surface's light within about two logo widths around the logo.
    h, w = 200, 400
    ramp = np.linspace(235, 60, w, dtype=np.float32)
    obj = np.repeat(np.repeat(ramp[None, :, None], h, 0), 3, 2).astype(np.uint8)
    grey = (160, 160, 160)
    lit = as_asset(obj, square_logo(h, w, (20, 80, 100, 120), colour=grey))
    dark = as_asset(obj, square_logo(h, w, (300, 80, 380, 120), colour=grey))
    lit_level = lit[85:115, 25:95].mean()
    dark_level = dark[85:115, 305:375].mean()
    assert lit_level >= 160          # ink on the lit part keeps (or gains) its lightness
    assert dark_level < 0.8 * lit_level
    lit_gradient = lit[100, 30].mean() - lit[100, 90].mean()
    assert lit_gradient > 10          # and the fall-off shows across the logo itself


def test_shadow_across_the_logo_darkens_only_its_shadowed_part():
    h, w = 240, 240
    obj = np.full((h, w, 3), 210, np.uint8)
    obj[:, 120:] = 80              # a shadow falls on the right half
    out = as_asset(obj, square_logo(h, w, (60, 90, 180, 150), colour=(240, 40, 40)))
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


def test_logo_in_place_is_alpha_overed_as_printed():
    # No re-shading, no softening: exactly alpha-over, even on a shaded, blurry surface.
    h, w = 160, 200
    ramp = np.linspace(230, 70, w, dtype=np.float32)
    obj = np.repeat(np.repeat(ramp[None, :, None], h, 0), 3, 2).astype(np.uint8)
    obj = cv2.GaussianBlur(obj, (0, 0), 2.0)
    logo = text_logo(h, w)
    out = compose(ComposeRequest(object=obj, logo=logo))
    np.testing.assert_array_equal(out, alpha_over(logo, obj))
    assert obj is not out


def test_outside_the_support_the_object_is_unchanged_bit_for_bit():
    h, w = 160, 200
    obj = textured(h, w)                          # as sharp as the logo: no softening
    logo = text_logo(h, w)
    out = as_asset(obj, logo)
    support = logo[..., 3] > 0
    np.testing.assert_array_equal(out[~support], obj[~support])
    assert np.abs(out[support].astype(int) - obj[support]).mean() > 20


def test_softening_spreads_only_within_its_reach():
    h, w = 160, 200
    stripes = np.where((np.arange(w) // 16) % 2 == 0, 80, 200).astype(np.uint8)
    obj = np.repeat(np.repeat(stripes[None, :, None], h, 0), 3, 2)
    obj = cv2.GaussianBlur(obj, (0, 0), 2.0)      # softer than the logo: the logo is blurred
    logo = text_logo(h, w)
    out = as_asset(obj, logo)
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


def shaded_surface(h, w):
    """A lit-from-the-left surface with a soft shadow blob: shading varies under a logo."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.95 - 0.5 * xs / w - 0.3 * np.exp(-((xs - 0.6 * w) ** 2 + (ys - 0.5 * h) ** 2)
                                                 / (0.05 * w * w))
    albedo = np.array([200, 170, 120], np.float32)
    return np.clip(light[..., None] * albedo, 0, 255).astype(np.uint8)


def test_deshaded_asset_on_its_own_box_matches_the_printed_logo_in_place():
    h, w = 120, 160
    obj = shaded_surface(h, w)
    logo = np.zeros((h, w, 4), np.uint8)
    cv2.circle(logo, (80, 60), 30, (20, 120, 90, 255), -1, cv2.LINE_AA)
    in_place = compose(ComposeRequest(object=obj, logo=logo))
    printed_again = as_asset(obj, logo)          # the old double shading: visibly darker
    assert (in_place.astype(int) - printed_again)[60, 80].max() > 10
    ink = deshade_logo(logo, obj)
    assert ink[60, 80, 1] > logo[60, 80, 1]     # the ink is lighter than its shaded print
    np.testing.assert_array_equal(ink[..., 3], logo[..., 3])
    assert np.abs(in_place.astype(int) - as_asset(obj, ink)).max() <= 2


def test_shade_logo_undoes_deshade_logo_within_rounding():
    h, w = 120, 160
    obj = shaded_surface(h, w)
    rng = np.random.default_rng(7)
    logo = np.zeros((h, w, 4), np.uint8)
    logo[30:90, 40:130, :3] = rng.integers(0, 200, (60, 90, 3))
    logo[30:90, 40:130, 3] = rng.integers(1, 256, (60, 90))
    ink = deshade_logo(logo, obj)
    unclipped = (ink[..., :3] < 255).all(axis=2)
    assert unclipped[30:90, 40:130].mean() > 0.5 and not np.array_equal(ink, logo)
    again = shade_logo(ink, obj)
    np.testing.assert_array_equal(again[..., 3], logo[..., 3])
    diff = np.abs(again[..., :3].astype(int) - logo[..., :3])
    assert diff[unclipped].max() <= 1


def window_around(box, shape):
    """The desktop app's window: the box grown by twice its long side, clipped."""
    x0, y0, x1, y1 = box
    grow = 2 * max(x1 - x0, y1 - y0)
    h, w = shape
    return max(x0 - grow, 0), max(y0 - grow, 0), min(x1 + grow, w), min(y1 + grow, h)


def test_a_window_twice_the_logo_size_around_it_gives_the_same_pixels():
    # The desktop app decomposes and composes on a window grown by twice the logo's long
    # side: the shading context is inside it, so the pixels equal the full photo's.
    h, w = 300, 420
    obj = cv2.add(shaded_surface(h, w), textured(h, w, seed=5, level=0))
    logo = np.zeros((h, w, 4), np.uint8)
    cv2.ellipse(logo, (210, 150), (30, 18), 10, 0, 360, (40, 90, 200, 255), -1, cv2.LINE_AA)
    wx0, wy0, wx1, wy1 = window_around(logo_bbox(logo), (h, w))
    window = (slice(wy0, wy1), slice(wx0, wx1))
    ink = deshade_logo(logo, obj)
    np.testing.assert_array_equal(deshade_logo(logo[window], obj[window]), ink[window])

    asset, quad = logo_asset(ink)
    moved = quad + [25, -10]
    full = compose(ComposeRequest(object=obj, logo_asset=asset, quad=moved))
    mx0, my0, mx1, my1 = moved[:, 0].min(), moved[:, 1].min(), moved[:, 0].max(), moved[:, 1].max()
    wx0, wy0, wx1, wy1 = window_around((int(mx0), int(my0), int(mx1), int(my1)), (h, w))
    window = (slice(wy0, wy1), slice(wx0, wx1))
    part = compose(ComposeRequest(object=np.ascontiguousarray(obj[window]), logo_asset=asset,
                                  quad=moved - [wx0, wy0]))
    np.testing.assert_array_equal(part, full[window])


def test_deshade_logo_rejects_bad_input_and_keeps_an_empty_logo():
    obj = textured(40, 50)
    empty = np.zeros((40, 50, 4), np.uint8)
    np.testing.assert_array_equal(deshade_logo(empty, obj), empty)
    with pytest.raises(InputError):
        deshade_logo(np.zeros((40, 60, 4), np.uint8), obj)
    with pytest.raises(InputError):
        deshade_logo(np.zeros((40, 50, 3), np.uint8), obj)
    with pytest.raises(InputError):
        deshade_logo(empty, obj.astype(np.float32))


def test_logo_is_softened_to_the_photo_sharpness():
    h, w = 200, 200
    sharp = np.full((h, w, 3), 60, np.uint8)
    sharp[:, 100:] = 220
    sharp[40:60, 20:180] = 140                      # edges around the logo's area
    blurry = cv2.GaussianBlur(sharp, (0, 0), 2.5)
    logo = square_logo(h, w, (70, 90, 130, 150), colour=(0, 0, 255))
    on_sharp = as_asset(sharp, logo)
    on_blurry = as_asset(blurry, logo)
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


@pytest.mark.parametrize("form", ["in place", "asset"])
def test_progress_and_cancel(form):
    obj = textured(80, 80)
    logo = square_logo(80, 80, (20, 20, 60, 60))
    asset, quad = logo_asset(logo)
    request = (ComposeRequest(object=obj, logo=logo) if form == "in place"
               else ComposeRequest(object=obj, logo_asset=asset, quad=quad))
    steps = []
    compose_classical(request, on_progress=lambda s, t, p=None: steps.append((s, t)))
    assert steps[0] == (0, 4) and steps[-1] == (4, 4)
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        compose_classical(request, cancel=cancel)


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
    out = as_asset(obj, logo)
    support = logo[..., 3] > 0
    # the softening blur (sigma <= 2.5) reaches at most 8 px past the logo's support
    reach = cv2.dilate(support.astype(np.uint8), np.ones((17, 17), np.uint8)).astype(bool)
    np.testing.assert_array_equal(out[~reach], obj[~reach])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_deshade_then_shade_round_trips_on_random_surfaces(seed):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(16, 90)), int(rng.integers(16, 90))
    obj = textured(h, w, seed=seed, level=int(rng.integers(30, 220)), blur=2.0)
    logo = np.zeros((h, w, 4), np.uint8)
    x0, y0 = int(rng.integers(0, w - 4)), int(rng.integers(0, h - 4))
    x1, y1 = int(rng.integers(x0 + 2, w + 1)), int(rng.integers(y0 + 2, h + 1))
    logo[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 4))
    logo[logo[..., 3] == 0] = 0                  # as layers are: no colour where transparent
    ink = deshade_logo(logo, obj)
    np.testing.assert_array_equal(ink[..., 3], logo[..., 3])
    transparent = logo[..., 3] == 0
    np.testing.assert_array_equal(ink[transparent], logo[transparent])
    again = shade_logo(ink, obj)
    unclipped = (ink[..., :3] < 255).all(axis=2)
    assert np.abs(again[..., :3].astype(int) - logo[..., :3])[unclipped].max(initial=0) <= 1
