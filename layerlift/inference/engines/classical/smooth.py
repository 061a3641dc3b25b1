"""Smooth interpolation from scattered known pixels: normalised convolution and push-pull.

Both work on float32 images (HxW or HxWxC) with a float weight map (1 = known, 0 = unknown).
"""

from __future__ import annotations

import cv2
import numpy as np

EPS = 1e-6


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; wide ones run on a reduced grid (the result is smooth anyway)."""
    h, w = x.shape[:2]
    factor = int(sigma // 3)
    if x.ndim == 3 and x.shape[2] > 4:     # cv2.resize takes at most 4 channels
        return np.dstack([blur(np.ascontiguousarray(x[..., c:c + 4]), sigma)
                          for c in range(0, x.shape[2], 4)])
    if factor >= 2 and min(h, w) >= 4 * factor:
        small = cv2.resize(x, (max(1, w // factor), max(1, h // factor)),
                           interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_REFLECT)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _expand(w: np.ndarray, like: np.ndarray) -> np.ndarray:
    return w[..., None] if like.ndim == 3 else w


def normalized_blur(values: np.ndarray, weight: np.ndarray,
                    sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian average of the known values only; returns (average, blurred weight)."""
    w = blur(weight, sigma)
    vw = blur(values * _expand(weight, values), sigma)
    return vw / _expand(np.maximum(w, EPS), values), w


def push_pull(values: np.ndarray, weight: np.ndarray, keep_known: bool = True) -> np.ndarray:
    """Fill where weight is 0 with a smooth membrane-like interpolation of the known values.

    Pull: a weighted Gaussian pyramid down to the level where every pixel has support.
    Push: upsample coarse estimates into pixels whose fine-level weight is low.
    Known pixels (weight 1) keep their value when keep_known.
    """
    values = values.astype(np.float32)
    weight = np.clip(weight.astype(np.float32), 0.0, 1.0)
    levels = [(values * _expand(weight, values), weight)]
    while min(levels[-1][1].shape[:2]) > 2 and levels[-1][1].min() < 0.05:
        vw, w = levels[-1]
        levels.append((cv2.pyrDown(vw), cv2.pyrDown(w)))
    vw, w = levels[-1]
    est = vw / _expand(np.maximum(w, EPS), vw)
    if w.max() <= EPS:
        est = np.zeros_like(vw)
    for vw, w in reversed(levels[:-1]):
        h, wd = w.shape[:2]
        up = cv2.pyrUp(est, dstsize=(wd, h))
        # Confidence: a pixel with (normalised) weight >= 0.5 trusts its own average.
        conf = _expand(np.clip(2.0 * w, 0.0, 1.0), vw)
        own = vw / _expand(np.maximum(w, EPS), vw)
        est = conf * own + (1.0 - conf) * up
    if keep_known:
        known = _expand(weight >= 1.0, values)
        est = np.where(known, values, est)
    return est.astype(np.float32)


def smooth_fill(values: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """A low-frequency field: Gaussian average of known pixels, push-pull where too sparse."""
    avg, w = normalized_blur(values, weight, sigma)
    # Where the Gaussian saw enough known pixels, trust it; elsewhere push-pull fills in.
    return push_pull(avg, np.clip(w * 2.0, 0.0, 1.0), keep_known=False)


def linear_fill(values: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Locally linear surface fitted to the known pixels (first-order normalised convolution).

    Unlike a plain weighted average this keeps a shading gradient straight across a hole and
    at the edge of the known region. Large scales are fitted on a reduced grid.
    """
    h, w = weight.shape
    factor = max(1.0, sigma / 2.0)
    if factor > 1.0:
        sh, sw = max(2, int(round(h / factor))), max(2, int(round(w / factor)))
        small_v = cv2.resize(values * _expand(weight, values), (sw, sh),
                             interpolation=cv2.INTER_AREA)
        small_w = cv2.resize(weight, (sw, sh), interpolation=cv2.INTER_AREA)
        small_v = small_v / _expand(np.maximum(small_w, EPS), small_v)
        fitted = _linear_fit(small_v, small_w, sigma / factor)
        return cv2.resize(fitted, (w, h), interpolation=cv2.INTER_LINEAR)
    return _linear_fit(values, weight, sigma)


def _linear_fit(values: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    h, w = weight.shape
    v = values if values.ndim == 3 else values[..., None]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Coordinates in units of sigma around the centre keep float32 moments well conditioned.
    xx = (xx - w / 2.0) / sigma
    yy = (yy - h / 2.0) / sigma
    basis = [np.ones_like(xx), xx, yy]
    wb = np.stack([weight * b for b in basis], axis=2)
    gram = np.empty((h, w, 3, 3), np.float32)
    for i in range(3):
        gram[..., i, :] = blur(np.ascontiguousarray(wb * basis[i][..., None]), sigma)
    rhs = blur(np.ascontiguousarray((wb[..., :, None] * v[..., None, :]).reshape(h, w, -1)),
               sigma).reshape(h, w, 3, v.shape[2])
    # Ridge on the slopes: where few known pixels are near, fall back to a plain average.
    total = gram[..., 0, 0]
    ridge = 0.05 * np.maximum(total, EPS)
    gram[..., 1, 1] += ridge
    gram[..., 2, 2] += ridge
    gram[..., 0, 0] += EPS
    coef = np.linalg.solve(gram, rhs)                           # h, w, 3, C
    fitted = coef[..., 0, :] + coef[..., 1, :] * xx[..., None] + coef[..., 2, :] * yy[..., None]
    # Pixels with no known pixel in reach get the push-pull membrane instead.
    far = total < 1e-3
    if far.any():
        membrane = push_pull(v, weight, keep_known=False)
        fitted[far] = membrane[far]
    fitted = fitted.astype(np.float32)
    return fitted if values.ndim == 3 else fitted[..., 0]
