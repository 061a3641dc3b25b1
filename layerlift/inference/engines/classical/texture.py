"""Carrying a repeating texture (knit, weave, brick, stripes) into a filled region.

The smooth fill (fill.py) is the best guess of a random texture's detail: none. A repeating
texture, though, predicts itself: one period away it is the same. We find the period from
the known surface's autocorrelation and, where it predicts the known surface well, copy the
detail from one (or more) periods away into the hole, scaled by how well it predicts.
"""

from __future__ import annotations

import numpy as np

from layerlift.inference.engines.classical.smooth import normalized_blur

DETAIL_SIGMA = 3.0       # px; detail is what a blur of this size removes
MIN_SHIFT = 3            # px; shorter shifts only find the texture's own smoothness
MIN_CORRELATION = 0.7    # below this the surface does not repeat well enough to copy
MIN_DETAIL = 2.0 / 255   # RMS of the detail; below it there is nothing worth copying
SEARCH_SIDE = 320        # px; the period is searched in this window round the hole
MAX_STEPS = 6            # how many periods away a source may be


def detail(surface: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The known pixels' fine detail (RGB), zero elsewhere."""
    smooth, _ = normalized_blur(surface, known.astype(np.float32), DETAIL_SIGMA)
    return np.where(known[..., None], surface - smooth, 0.0).astype(np.float32)


def principal(hf: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The detail along its main colour direction (stripes may keep their brightness and
    change only their hue), as one channel."""
    samples = hf[known]
    _, vectors = np.linalg.eigh(samples.T @ samples)
    return (hf @ vectors[:, -1]).astype(np.float32)


def best_period(hf: np.ndarray, known: np.ndarray) -> tuple[tuple[int, int], float]:
    """The shift (dy, dx) under which the known detail best matches itself, and that match
    as a correlation in [-1, 1] (masked, via FFT)."""
    h, w = hf.shape
    shape = (2 * h, 2 * w)
    k = known.astype(np.float32)
    fk = np.fft.rfft2(k, shape)
    fh = np.fft.rfft2(hf, shape)
    fh2 = np.fft.rfft2(hf * hf, shape)
    # sum over x of a(x) b(x + d), for every shift d
    cross = np.fft.irfft2(np.conj(fh) * fh, shape)
    count = np.fft.irfft2(np.conj(fk) * fk, shape)
    energy_a = np.fft.irfft2(np.conj(fh2) * fk, shape)   # sum hf(x)^2 k(x + d)
    energy_b = np.fft.irfft2(np.conj(fk) * fh2, shape)   # sum k(x) hf(x + d)^2
    corr = cross / np.sqrt(np.maximum(energy_a * energy_b, 1e-12))
    dy = np.arange(shape[0])[:, None]
    dy = np.where(dy >= h, dy - shape[0], dy)
    dx = np.arange(shape[1])[None, :]
    dx = np.where(dx >= w, dx - shape[1], dx)
    dist = np.hypot(dy, dx)
    # Enough overlap to trust the figure, a real shift, not beyond a third of the crop.
    valid = (count > 0.25 * k.sum()) & (dist >= MIN_SHIFT) & (dist <= max(h, w) / 3)
    if not valid.any():
        return (0, 0), 0.0
    corr = np.where(valid, corr, -1.0)
    i = int(np.argmax(corr))
    y, x = np.unravel_index(i, corr.shape)
    return (int(dy[y, 0]), int(dx[0, x])), float(corr[y, x])


def search_window(hole: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner of a side x side window centred on the hole, inside the image."""
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    y0 = int(np.clip(cy - side // 2, 0, max(h - side, 0)))
    x0 = int(np.clip(cx - side // 2, 0, max(w - side, 0)))
    return y0, x0


def add_repeating_texture(filled: np.ndarray, surface: np.ndarray, hole: np.ndarray,
                          known: np.ndarray) -> np.ndarray | None:
    """`filled` (smooth fill of `hole`) with the detail of a repeating texture copied in;
    None where the surface does not repeat."""
    if not hole.any() or known.sum() < 64:
        return None
    hf = detail(surface, known)
    main = principal(hf, known)
    if np.sqrt(np.mean(main[known] ** 2)) < MIN_DETAIL:
        return None             # nothing worth copying; JPEG blocks would be all it found
    # The period is searched in a window round the hole: its cost must not grow with the logo.
    y0, x0 = search_window(hole, SEARCH_SIDE)
    win = (slice(y0, y0 + SEARCH_SIDE), slice(x0, x0 + SEARCH_SIDE))
    (dy, dx), corr = best_period(main[win], known[win])
    if corr < MIN_CORRELATION:
        return None
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    copied = np.zeros(ys.shape + (3,), np.float32)
    weight = np.zeros(ys.shape, np.float32)
    todo = np.ones(ys.shape, bool)
    # Nearest sources first, alternating sides; the match weakens with every period.
    for step in range(1, MAX_STEPS + 1):
        for sign in (1, -1):
            sy, sx = ys + sign * step * dy, xs + sign * step * dx
            inside = todo & (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
            ok = np.zeros_like(todo)
            ok[inside] = known[sy[inside], sx[inside]]
            copied[ok] = hf[sy[ok], sx[ok]]
            weight[ok] = corr ** step
            todo &= ~ok
        if not todo.any():
            break
    out = filled.copy()
    out[ys, xs] += copied * weight[:, None]
    return np.clip(out, 0.0, 1.0)
