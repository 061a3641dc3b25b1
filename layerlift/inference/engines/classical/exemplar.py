"""Filling the surface under a mark with the surface's own texture (PatchMatch).

A smooth fill (fill.py) is the best guess of a random texture's *mean*, but on fabric, wood,
crema or gravel it reads as a smear. An exemplar fill copies real patches of the surrounding
surface into the hole (PatchMatch, through the `pypatchmatch` library), so the filled region
carries the texture. Which of the two suits a surface is measured, not guessed (probe.py).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

# Patch radius (5x5 patches): small enough to be fast, large enough to carry a weave.
PATCH_RADIUS = 2
# The exemplar fill looks this far round the hole for sources (at least MIN_MARGIN px).
MARGIN_FRACTION = 0.25
MIN_MARGIN = 16
# Holes smaller than this many pixels gain nothing from exemplars.
MIN_HOLE = 16
# Larger windows are filled at this many pixels and scaled back (time is bounded; see
# exemplar_fill).
MAX_WINDOW_AREA = 160 * 160

_seed_lock = threading.Lock()


def _library():
    """pypatchmatch's inpaint module, or None where its native library cannot load."""
    try:
        from patchmatch import patch_match
    except ImportError:
        return None
    return patch_match if patch_match.patchmatch_available else None


def hole_window(hole: np.ndarray) -> tuple[slice, slice]:
    """The hole's bounding box grown by a margin of known surface to copy from."""
    ys, xs = np.nonzero(hole)
    h, w = hole.shape
    side = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
    m = max(MIN_MARGIN, int(MARGIN_FRACTION * side))
    return (slice(max(ys.min() - m, 0), min(ys.max() + m + 1, h)),
            slice(max(xs.min() - m, 0), min(xs.max() + m + 1, w)))


def exemplar_fill(surface: np.ndarray, hole: np.ndarray, source: np.ndarray,
                  seed: int = 0) -> np.ndarray | None:
    """`surface` (float RGB [0, 1]) with `hole` filled by PatchMatch from `source` pixels.

    Pixels that are neither hole nor source (other parts of the mark) are not copied from.
    A window larger than MAX_WINDOW_AREA is filled at that size and scaled back: PatchMatch's
    time grows with the window's area, and the engine's must follow the logo's size only
    within bounds. Returns None when the library is not available or nothing can be copied.
    """
    lib = _library()
    if lib is None or hole.sum() < MIN_HOLE:
        return None
    win = hole_window(hole)
    sub_hole, sub_source = hole[win], source[win]
    if (sub_source & ~sub_hole).sum() < 4 * sub_hole.sum() ** 0.5:
        return None
    patch = surface[win]
    h, w = sub_hole.shape
    scale = min(1.0, (MAX_WINDOW_AREA / (h * w)) ** 0.5)
    if scale < 1.0:
        size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
        patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        sub_hole = cv2.resize(sub_hole.astype(np.uint8), size, interpolation=cv2.INTER_AREA) > 0
        sub_source = cv2.resize(sub_source.astype(np.uint8), size,
                                interpolation=cv2.INTER_NEAREST) > 0
    excluded = ~sub_source & ~sub_hole
    u8 = np.clip(np.rint(patch * 255.0), 0, 255).astype(np.uint8)
    with _seed_lock:  # the library's seed is global; equal inputs must give equal results
        lib.set_random_seed(seed)
        filled = lib.inpaint(np.ascontiguousarray(u8), sub_hole,
                             global_mask=excluded if excluded.any() else None,
                             patch_size=PATCH_RADIUS)
    filled = filled.astype(np.float32) / 255.0
    if scale < 1.0:
        filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
    out = surface.copy()
    out[win] = np.where(hole[win][..., None], np.clip(filled, 0.0, 1.0), surface[win])
    return out
