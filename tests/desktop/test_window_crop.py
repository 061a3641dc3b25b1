"""The app decomposes a window around the mask; the layers must equal the core's on the
full photo (the engine only ever looks at its own, smaller, working crop)."""

from __future__ import annotations

import numpy as np
import pytest

from layerlift.desktop.document import Layer, rgb_to_rgba
from layerlift.desktop.jobs import compose_job, decompose_job, engine_window, private_request
from layerlift.inference import mapped
from layerlift.inference.api import compose, decompose
from layerlift.inference.contract import ComposeRequest, DecomposeRequest
from layerlift.inference.shading import deshade_logo
from layerlift.inference.warp import placed_box
from tests.desktop.conftest import make_photo


def big_photo():
    photo = np.tile(make_photo(), (3, 3, 1))                  # 540 x 720
    photo[20:45, 600:700] = (200, 20, 20)                      # a mark near the top edge
    photo[480:530, 5:50] = (30, 200, 40)                       # one in the corner
    return photo


@pytest.mark.parametrize("box", [(240, 260, 330, 300), (590, 14, 705, 50), (0, 470, 60, 540)])
def test_window_decomposition_equals_full_photo(box):
    photo = big_photo()
    x0, y0, x1, y1 = box
    mask = np.zeros(photo.shape[:2], bool)
    mask[y0:y1, x0:x1] = True
    full = decompose(DecomposeRequest(photo, mask))
    before = photo.copy()
    request, finish = decompose_job(photo, mask)
    assert request.image.shape[0] * request.image.shape[1] < photo.shape[0] * photo.shape[1]
    result = finish(decompose(private_request(request)))     # as the worker runs it
    assert (photo == before).all()
    # The object comes back as the window where it differs from the photo.
    obj = Layer("Object", "object", base=rgb_to_rgba(photo), patch=result.object_patch,
                offset=result.object_offset).render(photo.shape[:2])
    assert (obj[..., :3] == full.object).all()
    assert (obj[..., 3] == 255).all()
    x, y = result.object_offset
    ph, pw = result.object_patch.shape[:2]
    differs = np.argwhere((full.object != photo).any(axis=2))
    assert (differs.min(axis=0) == (y, x)).all() and (differs.max(axis=0) + 1 == (y + ph,
                                                                                  x + pw)).all()
    assert result.meta["cycle_error"] == pytest.approx(full.meta["cycle_error"], abs=1e-9)
    ys, xs = np.nonzero(full.logo[..., 3])
    np.testing.assert_array_equal(result.quad[0], [xs.min(), ys.min()])
    h, w = result.asset.shape[:2]
    crop = (slice(ys.min(), ys.min() + h), slice(xs.min(), xs.min() + w))
    assert (result.asset == full.logo[crop]).all()
    # The ink (shading divided out) measured on the window is the full photo's, same box.
    ink = deshade_logo(full.logo, full.object)[crop]
    assert result.ink.shape == result.asset.shape
    assert (result.ink[..., 3] == result.asset[..., 3]).all()
    assert np.abs(result.ink.astype(int) - ink).max() <= 1


def test_window_compose_equals_full_photo():
    photo = big_photo()
    asset = np.zeros((30, 60, 4), np.uint8)
    asset[..., 1] = 220
    asset[5:25, 5:55, 3] = 255
    quad = np.array([[300, 250], [380, 255], [378, 300], [302, 296]], float)
    full = compose(ComposeRequest(photo, logo_asset=asset, quad=quad))
    object_rgba = rgb_to_rgba(photo)
    layer = Layer("Object", "object", rgba=object_rgba)
    request, finish = compose_job(layer, asset, quad, photo.shape[:2])
    assert np.shares_memory(request.object, object_rgba)  # a view: no copy on the GUI thread
    private = private_request(request)
    assert private.object.flags.c_contiguous and not np.shares_memory(private.object,
                                                                      object_rgba)
    done = finish(compose(private))
    assert done.base is object_rgba and done.patch.size < object_rgba.size // 20
    out = Layer("R", "recomposed", base=done.base, patch=done.patch,
                offset=done.offset).render(photo.shape[:2])
    assert np.abs(out[..., :3].astype(int) - full).max() <= 1
    assert not np.shares_memory(out, object_rgba)


def object_window_and_logo(offset: tuple[int, int]):
    """(photo, its RGBA base, a 30x20 patch, an Object window with that patch at `offset`,
    a green logo asset, a quad to place it on)."""
    photo = big_photo()
    base = rgb_to_rgba(photo)
    patch = np.full((20, 30, 4), (1, 2, 3, 255), np.uint8)
    obj = Layer("Object", "object", base=base, patch=patch, offset=offset)
    asset = np.zeros((30, 60, 4), np.uint8)
    asset[5:25, 5:55] = (0, 220, 0, 255)
    quad = np.array([[300, 250], [380, 255], [378, 300], [302, 296]], float)
    return photo, base, patch, obj, asset, quad


def test_window_compose_over_a_window_object_keeps_its_patch():
    """Recompose of an Object that is a window: the result holds the object's own patch and
    the recomposed logo, over the same base."""
    photo, base, patch, obj, asset, quad = object_window_and_logo((600, 20))
    request, finish = compose_job(obj, asset, quad, photo.shape[:2])
    done = finish(compose(private_request(request)))
    out = Layer("R", "recomposed", base=done.base, patch=done.patch,
                offset=done.offset).render(photo.shape[:2])
    assert done.base is base
    assert (out[20:40, 600:630] == patch).all()
    direct = compose(ComposeRequest(obj.render(photo.shape[:2])[..., :3], logo_asset=asset,
                                    quad=quad))
    assert np.abs(out[..., :3].astype(int) - direct).max() <= 1


def test_engine_window_is_clipped_and_has_context():
    assert engine_window((10, 10, 20, 20), (100, 200)) == (0, 0, 116, 100)
    assert engine_window((500, 500, 800, 600), (4000, 6000)) == (0, 0, 1400, 1200)


def test_window_follows_the_cores_mask_box_and_an_empty_mask_is_an_input_error():
    from layerlift.inference.errors import InputError
    photo = big_photo()
    coverage = np.zeros(photo.shape[:2], np.uint8)
    coverage[300:310, 400:420] = 200
    coverage[309, 430] = 127                       # below half coverage: not logo
    request, _finish = decompose_job(photo, coverage)
    x0, y0, x1, y1 = engine_window((400, 300, 420, 310), photo.shape[:2])  # exclusive ends
    assert request.image.shape[:2] == (y1 - y0, x1 - x0)
    assert request.mask.sum() == 200 and request.mask[300 - y0, 400 - x0]
    with pytest.raises(InputError, match="mask is empty"):
        decompose_job(photo, np.where(coverage == 127, 127, 0).astype(np.uint8))


def test_an_object_window_is_pasted_for_compose_on_the_worker_not_by_the_gui_thread(
        monkeypatch):
    """Ctrl+R over an Object window: the compose window with the object's patch pasted in is
    a copy (~10 ms at 24 MP); `compose_job` leaves it to the worker (`private_request`)."""
    photo, base, patch, obj, asset, quad = object_window_and_logo((320, 262))
    copies = []
    real_copy = mapped.copy
    monkeypatch.setattr(mapped, "copy", lambda a: copies.append(a.shape) or real_copy(a))
    request, _finish = compose_job(obj, asset, quad, photo.shape[:2])
    assert copies == []                                  # nothing copied as it is submitted
    private = private_request(request)                   # (what the worker does first)
    assert copies and private.object.flags.c_contiguous
    window = engine_window(placed_box(quad, 0.0, (photo.shape[1], photo.shape[0])),
                           photo.shape[:2])
    x0, y0, _x1, _y1 = window
    assert (private.object == obj.window(window)[..., :3]).all()
    assert (private.object[262 - y0:282 - y0, 320 - x0:350 - x0] == (1, 2, 3)).all()


def test_the_photo_window_is_copied_on_the_worker_not_by_the_gui_thread():
    photo = big_photo()
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[240:300, 300:360] = 255
    request, _finish = decompose_job(photo, mask)
    assert np.shares_memory(request.image, photo)        # a view: no copy on the GUI thread
    assert not np.shares_memory(request.mask, mask)      # the brush writes the mask in place
    private = private_request(request)
    assert private.image.flags.c_contiguous and not np.shares_memory(private.image, photo)
    assert (private.image == request.image).all() and private.mask is request.mask
    assert private_request(private) is private
