"""Quality metrics of a decomposition against the truth of a synthetic case.

All functions take uint8 arrays of one size and a bool mask (the user's mask). PSNR uses a
peak of 255; an exact match gives inf.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from layerlift.inference.layers import cycle_error

SSIM_SIGMA = 1.5
SSIM_C1 = (0.01 * 255) ** 2
SSIM_C2 = (0.03 * 255) ** 2


def _check(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if mask.shape != a.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {a.shape[:2]}")


def psnr(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB of `pred` vs `truth` over the pixels in `mask` (all channels)."""
    _check(pred, truth, mask)
    diff = pred.astype(np.float64)[mask] - truth.astype(np.float64)[mask]
    if diff.size == 0:
        return float("nan")
    mse = float(np.mean(diff ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def ssim_map(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004, Gaussian window sigma 1.5), averaged over channels."""
    x = pred.astype(np.float64)
    y = truth.astype(np.float64)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (11, 11), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    maps = []
    for c in range(x.shape[2]):
        a, b = x[..., c], y[..., c]
        mu_a, mu_b = blur(a), blur(b)
        var_a = blur(a * a) - mu_a ** 2
        var_b = blur(b * b) - mu_b ** 2
        cov = blur(a * b) - mu_a * mu_b
        num = (2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)
        den = (mu_a ** 2 + mu_b ** 2 + SSIM_C1) * (var_a + var_b + SSIM_C2)
        maps.append(num / den)
    return np.mean(maps, axis=0)


def ssim(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM over the pixels in `mask`.

    The map is computed on the mask's bounding box plus the window's reach, so the cost
    follows the mask, and pixels just outside the mask still inform the windows at its edge.
    """
    _check(pred, truth, mask)
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return float("nan")
    pad = 6
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, mask.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, mask.shape[1])
    local = ssim_map(pred[y0:y1, x0:x1], truth[y0:y1, x0:x1])
    return float(local[mask[y0:y1, x0:x1]].mean())


def alpha_mae(pred_logo: np.ndarray, truth_logo: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference of the alpha channels in [0, 1], over the mask."""
    _check(pred_logo, truth_logo, mask)
    a = pred_logo[..., 3].astype(np.float64)[mask] / 255.0
    b = truth_logo[..., 3].astype(np.float64)[mask] / 255.0
    return float(np.abs(a - b).mean()) if a.size else float("nan")


def cycle_psnr(image: np.ndarray, layers_object: np.ndarray, logo: np.ndarray,
               mask: np.ndarray) -> float:
    """PSNR of alpha-over(logo, object) vs the input image, inside the mask."""
    return cycle_error(image, layers_object, logo, mask)[1]


def max_change_outside(image: np.ndarray, layers_object: np.ndarray, mask: np.ndarray) -> int:
    """Largest absolute channel change of the object vs the input outside the mask (0 = exact)."""
    _check(image, layers_object, mask)
    outside = ~mask
    if not outside.any():
        return 0
    diff = np.abs(image.astype(np.int16)[outside] - layers_object.astype(np.int16)[outside])
    return int(diff.max())


def evaluate(image: np.ndarray, mask: np.ndarray, truth_object: np.ndarray,
             truth_logo: np.ndarray, layers_object: np.ndarray,
             logo: np.ndarray) -> dict[str, Any]:
    """Every metric for one decomposition of one case."""
    return {
        "psnr": psnr(layers_object, truth_object, mask),
        "ssim": ssim(layers_object, truth_object, mask),
        "alpha_mae": alpha_mae(logo, truth_logo, mask),
        "cycle_psnr": cycle_psnr(image, layers_object, logo, mask),
        "outside_max_diff": max_change_outside(image, layers_object, mask),
    }
