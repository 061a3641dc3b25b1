"""The user's hints: "this is mark" / "this is not mark" pixels that a decomposition honours.

Hints are an HxW uint8 array, the photo's size: NO_HINT (0) where the engine decides, MARK
(1) where the pixel is mark and must leave the object, NOT_MARK (2) where it is surface and
must stay as it is. One array, so that no pixel can be both. Hints act only inside the mask:
the mask bounds what a decomposition may change, and a hint outside it changes nothing.

On disk (`layerlift decompose --hints HINTS.png`) hints are a colour image the photo's size:
green pixels (G >= 128, R and B < 128) are MARK, red pixels (R >= 128, G and B < 128) are
NOT_MARK, anything else (black, white, grey, transparent) is no hint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from layerlift.inference.errors import InputError

NO_HINT = 0
MARK = 1
NOT_MARK = 2


def validate_hints(hints: object, shape: tuple[int, int]) -> None:
    """InputError unless `hints` is an HxW uint8 array of the photo's `shape` holding only
    NO_HINT, MARK and NOT_MARK."""
    if not isinstance(hints, np.ndarray) or hints.dtype != np.uint8 or hints.ndim != 2:
        raise InputError("hints must be an HxW uint8 array (0 no hint, 1 mark, 2 not mark)")
    if hints.shape != tuple(shape):
        raise InputError(f"hints are {hints.shape[1]}x{hints.shape[0]} but the photo is "
                         f"{shape[1]}x{shape[0]}")
    if hints.size and int(hints.max()) > NOT_MARK:
        raise InputError(f"hints hold the value {int(hints.max())}; use 0 (no hint), "
                         "1 (mark) or 2 (not mark)")


def force_alpha(alpha: np.ndarray, hints: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The engine's alpha (float, [0, 1]) with the hints forced in, all three arrays the same
    window: NOT_MARK pixels get 0 (untouched surface, kept exactly), MARK pixels inside the
    `mask` that the engine left at 0 get 1 (opaque mark, so the surface under them is
    filled). A MARK pixel the engine found keeps its own alpha: a semi-transparent mark it
    unblends stays unblended."""
    out = alpha.copy()
    out[(hints == MARK) & (alpha <= 0) & mask] = 1.0
    out[hints == NOT_MARK] = 0.0
    return out


def load_hints(path: str | Path, shape: tuple[int, ...]) -> np.ndarray:
    """The hints image at `path` (see the module's colour code) as an HxW uint8 array;
    InputError when it cannot be read, is not the photo's size or holds no hint."""
    from layerlift.inference.imageio import load_rgba

    rgba = load_rgba(path, "hints")
    h, w = shape[:2]
    if rgba.shape[:2] != (h, w):
        raise InputError(f"hints are {rgba.shape[1]}x{rgba.shape[0]} but the photo is {w}x{h}")
    high = rgba[..., :3] >= 128
    opaque = rgba[..., 3] >= 128
    hints = np.zeros((h, w), np.uint8)
    hints[opaque & high[..., 1] & ~high[..., 0] & ~high[..., 2]] = MARK
    hints[opaque & high[..., 0] & ~high[..., 1] & ~high[..., 2]] = NOT_MARK
    if not hints.any():
        raise InputError(f"hints {path} hold no hint: paint green where the logo is, red "
                         "where it is not")
    return hints
