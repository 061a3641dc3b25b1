import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from layerlift.inference.layers import alpha_over
from layerlift.inference.metrics import (
    alpha_mae,
    cycle_psnr,
    evaluate,
    max_change_outside,
    psnr,
    ssim,
    ssim_map,
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_psnr_known_value_and_mask(rng):
    truth = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    pred = truth.copy()
    mask = np.zeros((32, 32), bool)
    mask[8:16, 8:16] = True
    assert psnr(pred, truth, mask) == math.inf
    pred[~mask] = 0  # changes outside the mask do not count
    assert psnr(pred, truth, mask) == math.inf
    pred[mask] = np.clip(truth[mask].astype(int) + 10, 0, 255).astype(np.uint8)
    err = (pred[mask].astype(float) - truth[mask]) ** 2
    assert psnr(pred, truth, mask) == pytest.approx(10 * math.log10(255 ** 2 / err.mean()))


def test_ssim_map_matches_scikit_image(rng):
    a = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 31, a.shape), 0, 255).astype(np.uint8)
    _, ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, data_range=255,
                                   use_sample_covariance=False, channel_axis=2, full=True)
    np.testing.assert_allclose(ssim_map(a, b), ref.mean(axis=2), atol=1e-6)


def test_ssim_inside_mask(rng):
    truth = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[20:40, 20:40] = True
    assert ssim(truth, truth, mask) == pytest.approx(1.0)
    noisy = truth.copy()
    noisy[mask] = 128
    assert ssim(noisy, truth, mask) < 0.2
    elsewhere = truth.copy()
    elsewhere[:5] = 0  # far from the mask: no effect
    assert ssim(elsewhere, truth, mask) == pytest.approx(1.0)


def test_alpha_mae_cycle_and_outside():
    h, w = 16, 16
    mask = np.zeros((h, w), bool)
    mask[4:12, 4:12] = True
    truth = np.zeros((h, w, 4), np.uint8)
    truth[4:12, 4:12] = (200, 10, 10, 255)
    pred = truth.copy()
    pred[4:12, 4:8, 3] = 0  # half the mask wrong by 1.0
    assert alpha_mae(pred, truth, mask) == pytest.approx(0.5)
    obj = np.full((h, w, 3), 90, np.uint8)
    image = alpha_over(truth, obj)
    assert cycle_psnr(image, obj, truth, mask) == math.inf
    assert cycle_psnr(image, obj, pred, mask) < 20
    assert max_change_outside(image, image, mask) == 0
    moved = image.copy()
    moved[0, 0] = image[0, 0] + 7
    assert max_change_outside(image, moved, mask) == 7
    moved[5, 5] = 0  # inside the mask: not counted
    assert max_change_outside(image, moved, mask) == 7
    result = evaluate(image, mask, obj, truth, obj, truth)
    assert result["psnr"] == math.inf and result["alpha_mae"] == 0
    assert result["cycle_psnr"] == math.inf and result["outside_max_diff"] == 0
    assert result["ssim"] == pytest.approx(1.0)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8), np.ones((4, 4), bool))


def test_benchmark_baseline_unblending_explains_the_input(rng):
    from tests.benchmarks.decomposition import run_baseline, unblend_least_alpha

    obj = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    logo = np.zeros((24, 24, 4), np.uint8)
    logo[6:18, 6:18] = (250, 30, 30, 120)
    image = alpha_over(logo, obj)
    mask = logo[..., 3] > 0
    solved = unblend_least_alpha(image, obj, mask)
    assert cycle_psnr(image, obj, solved, mask) > 45
    # least alpha never exceeds the true alpha when the object is exact
    assert (solved[..., 3].astype(int) <= logo[..., 3].astype(int) + 1).all()
    assert (solved[~mask] == 0).all()
    filled, solved = run_baseline(image, mask, 1)
    assert max_change_outside(image, filled, mask) == 0
    assert cycle_psnr(image, filled, solved, mask) > 45


def test_benchmark_cases_are_balanced():
    from layerlift.inference.synth import KINDS
    from tests.benchmarks.decomposition import case_list

    cases = case_list(48)
    assert len({seed for seed, _, _ in cases}) == 48
    for kind in KINDS:
        mine = [opaque for _, k, opaque in cases if k == kind]
        assert len(mine) == 6 and sum(mine) == 3
