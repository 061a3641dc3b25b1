"""Pixel helpers shared by every engine: alpha-over, cycle error, the tight logo asset."""

from __future__ import annotations

import numpy as np


def alpha_over(logo: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA `logo` over RGB `base`, both uint8, same size; returns uint8 RGB."""
    a = logo[..., 3:4].astype(np.float32) / 255.0
    out = logo[..., :3].astype(np.float32) * a + base.astype(np.float32) * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def cycle_error(image: np.ndarray, layers_object: np.ndarray, logo: np.ndarray,
                mask: np.ndarray) -> tuple[float, float]:
    """How far alpha-over(logo, object) is from the input inside the mask.

    Returns (mean absolute error in [0, 1], PSNR in dB; inf when exact).
    """
    rebuilt = alpha_over(logo, layers_object).astype(np.float64)
    diff = (rebuilt - image.astype(np.float64))[mask] / 255.0
    if diff.size == 0:
        return 0.0, float("inf")
    mae = float(np.abs(diff).mean())
    mse = float((diff ** 2).mean())
    psnr = float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))
    return mae, psnr


def logo_bbox(logo: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), exclusive ends, of the logo's non-transparent pixels; None if empty."""
    ys, xs = np.nonzero(logo[..., 3])
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def logo_asset(logo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tight RGBA crop of an in-place logo and its quad (TL, TR, BR, BL) in photo coords."""
    box = logo_bbox(logo)
    if box is None:
        return np.zeros((1, 1, 4), np.uint8), np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    x0, y0, x1, y1 = box
    quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    return logo[y0:y1, x0:x1].copy(), quad
