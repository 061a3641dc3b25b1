import numpy as np
import pytest

from layerlift.inference import ComposeRequest, DecomposeRequest, InputError
from layerlift.inference.engines import get_engine
from layerlift.inference.errors import EngineUnavailable
from layerlift.inference.layers import alpha_over, cycle_error, logo_asset


def test_decompose_request_rejects_bad_arrays():
    image = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(InputError, match="mask is empty"):
        DecomposeRequest(image, np.zeros((10, 10), bool)).validate()
    with pytest.raises(InputError, match="but the photo is"):
        DecomposeRequest(image, np.ones((9, 10), bool)).validate()
    with pytest.raises(InputError, match="uint8"):
        DecomposeRequest(image.astype(np.float32), np.ones((10, 10), bool)).validate()
    with pytest.raises(InputError, match="size must be"):
        DecomposeRequest(image, np.ones((10, 10), bool), size=100).validate()


def test_compose_request_needs_exactly_one_logo_form_and_a_convex_quad():
    obj = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(InputError, match="either"):
        ComposeRequest(obj).validate()
    asset = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(InputError, match="convex"):
        ComposeRequest(obj, logo_asset=asset, quad=[[0, 0], [5, 5], [5, 0], [0, 5]]).validate()
    ComposeRequest(obj, logo_asset=asset, quad=[[0, 0], [5, 0], [5, 5], [0, 5]]).validate()


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(EngineUnavailable, match="unknown engine"):
        get_engine("nope")


def test_alpha_over_and_cycle_error():
    base = np.full((4, 4, 3), 100, np.uint8)
    logo = np.zeros((4, 4, 4), np.uint8)
    logo[1:3, 1:3] = (200, 0, 0, 128)
    out = alpha_over(logo, base)
    assert tuple(out[1, 1]) == (150, 50, 50) and tuple(out[0, 0]) == (100, 100, 100)
    mask = np.ones((4, 4), bool)
    mae, psnr = cycle_error(out, base, logo, mask)
    assert mae == 0 and psnr == float("inf")
    asset, quad = logo_asset(logo)
    assert asset.shape == (2, 2, 4) and quad.tolist() == [[1, 1], [3, 1], [3, 3], [1, 3]]
