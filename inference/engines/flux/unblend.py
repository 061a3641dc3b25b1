"""Solve the logo layer from the input and the recovered object (the layer model's inverse).

The layer model is alpha-over: I = a F + (1 - a) O with I the input, O the object, F the logo
colour and a its alpha. Given I, O and an alpha estimate, the smallest alpha that keeps F
inside [0, 255] is raised to where needed, and F is then solved exactly, so the two layers
rebuild the input (up to 8-bit rounding). Kept here, not shared with the classical engine,
so the two engines can change their estimators independently.
"""

from __future__ import annotations

import numpy as np


def minimum_alpha(image: np.ndarray, obj: np.ndarray) -> np.ndarray:
    """Per pixel, the least alpha with which some colour in [0, 255] turns obj into image."""
    i = image.astype(np.float32)
    o = obj.astype(np.float32)
    up = np.where(i > o, (i - o) / np.maximum(255.0 - o, 1e-3), 0.0)    # towards white
    down = np.where(i < o, (o - i) / np.maximum(o, 1e-3), 0.0)         # towards black
    return np.clip(np.maximum(up, down).max(axis=2), 0.0, 1.0)


def solve_logo(image: np.ndarray, obj: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGBA uint8 logo (straight alpha) with alpha-over(logo, obj) == image.

    alpha: float [0, 1] estimate; the result's alpha is never below it, nor below what the
    blend needs. Where the final alpha is 0 the logo is fully transparent.
    """
    a = np.maximum(np.clip(alpha, 0.0, 1.0), minimum_alpha(image, obj))
    # Round alpha up to the 8-bit step, never down: a smaller alpha could not reach the input.
    a8 = np.ceil(np.round(a * 255.0, 3))
    a = (a8 / 255.0)[..., None]
    o = obj.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = np.where(a > 0, o + (image.astype(np.float32) - o) / a, 0.0)
    logo = np.empty(image.shape[:2] + (4,), np.uint8)
    logo[..., :3] = np.clip(np.rint(colour), 0, 255)
    logo[..., 3] = a8.astype(np.uint8)
    return logo
