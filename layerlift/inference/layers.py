"""Pixel helpers shared by every engine: alpha-over, cycle error, the tight logo asset."""

from __future__ import annotations

import cv2
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


def minimum_alpha(image: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """Per pixel, the least alpha with which some colour in [0, 255] turns surface into image."""
    i = image.astype(np.float32)
    o = surface.astype(np.float32)
    up = np.where(i > o, (i - o) / np.maximum(255.0 - o, 1e-3), 0.0)    # towards white
    down = np.where(i < o, (o - i) / np.maximum(o, 1e-3), 0.0)         # towards black
    return np.clip(np.maximum(up, down).max(axis=2), 0.0, 1.0)


def solve_logo(image: np.ndarray, surface: np.ndarray, alpha: np.ndarray,
               where: np.ndarray | None = None) -> np.ndarray:
    """The layer model's inverse: an RGBA logo with alpha-over(logo, surface) == image.

    Every engine solves its logo layer here, from its own alpha estimate (float [0, 1]) and
    its recovered surface. The result's alpha is never below the estimate, nor below what the
    blend needs to reach the input with a colour in [0, 255]; the colour is then solved
    exactly, so the two layers rebuild the input up to 8-bit rounding. Transparent outside
    `where` (everywhere allowed when None).
    """
    a = np.maximum(np.clip(alpha, 0.0, 1.0), minimum_alpha(image, surface))
    if where is not None:
        a = np.where(where, a, 0.0)
    # Round alpha up to the 8-bit step, never down: a smaller alpha could not reach the input.
    a8 = np.ceil(np.round(a * 255.0, 3))
    a = (a8 / 255.0)[..., None]
    o = surface.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = np.where(a > 0, o + (image.astype(np.float32) - o) / a, 0.0)
    logo = np.empty(image.shape[:2] + (4,), np.uint8)
    logo[..., :3] = np.clip(np.rint(colour), 0, 255)
    logo[..., 3] = a8.astype(np.uint8)
    return logo


def logo_bbox(logo: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), exclusive ends, of the logo's non-transparent pixels; None if empty.

    cv2.boundingRect scans a 24 MP alpha in a few ms, without the GIL (numpy's nonzero takes
    about ten times longer)."""
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(logo[..., 3]))
    if w == 0 or h == 0:
        return None
    return x, y, x + w, y + h


def logo_asset(logo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tight RGBA crop of an in-place logo and its quad (TL, TR, BR, BL) in photo coords."""
    box = logo_bbox(logo)
    if box is None:
        return np.zeros((1, 1, 4), np.uint8), np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    x0, y0, x1, y1 = box
    quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    return logo[y0:y1, x0:x1].copy(), quad
