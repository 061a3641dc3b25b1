"""The surface's shading at a logo's place, and a logo's colour with it divided out or in.

Shading is the surface's low-frequency luminance over a reference level: the median of that
luminance over the same surface around the logo. Ink shows its own colour where the surface
has its typical light, darker on darker parts, lighter (up to 1.3x) on brighter ones. It
depends only on the object and the logo's box, so compose's asset path (which multiplies it
in), `shade_logo` and `deshade_logo` use the very same numbers and undo each other up to
clipping and rounding. Export, the desktop's Recompose and the classical compose use it.
"""

from __future__ import annotations

import cv2
import numpy as np

from layerlift.inference.contract import validate_image
from layerlift.inference.errors import InputError
from layerlift.inference.layers import logo_bbox

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# Shading context: the logo's box grown by this share of its long side. The desktop app's
# compose window (desktop/jobs.py) grows by twice the long side too, so it holds the context.
CONTEXT_MARGIN = 2.0
LOWPASS_SHARE = 0.08      # low-frequency scale: this share of the logo's long side
REFERENCE_PERCENTILE = 50  # shading 1 = the surface's median light around the logo
SHADING_RANGE = (0.15, 1.3)
# Context pixels count as the same surface as the one under the logo when their chromaticity
# is this close to it and they are at most this many times brighter than it.
CHROMA_TOLERANCE = 0.04
SURFACE_CONTRAST = 2.0

Box = tuple[int, int, int, int]   # x0, y0, x1, y1 (exclusive ends), photo pixels


def deshade_logo(logo_rgba: np.ndarray, object_rgb: np.ndarray) -> np.ndarray:
    """The logo's ink: an in-place logo (as printed) with the surface's shading divided out.

    `logo_rgba` is HxWx4 uint8 in place (e.g. decompose's logo layer), `object_rgb` the HxWx3
    object it sits on. Returns a new HxWx4 uint8 array, same place, same alpha, colour divided
    by the shading that compose multiplies in at this place; take `inference.layers.logo_asset`
    of it for the tight asset and its quad. Compose of that asset on that quad gives the logo
    back up to rounding, except where the ink would be brighter than white (clipped).
    """
    return _rescale_by_shading(logo_rgba, object_rgb, inverse=True)


def shade_logo(logo_rgba: np.ndarray, object_rgb: np.ndarray) -> np.ndarray:
    """The inverse of `deshade_logo`: an in-place ink logo multiplied by the surface's shading
    at its place (what compose does to an asset, without the warp and the softening)."""
    return _rescale_by_shading(logo_rgba, object_rgb, inverse=False)


def _rescale_by_shading(logo: np.ndarray, obj: np.ndarray, inverse: bool) -> np.ndarray:
    validate_image(obj, "object")
    if not isinstance(logo, np.ndarray) or logo.dtype != np.uint8 or logo.ndim != 3 \
            or logo.shape[2] != 4:
        raise InputError("logo must be an HxWx4 uint8 RGBA array")
    if logo.shape[:2] != obj.shape[:2]:
        raise InputError(f"logo is {logo.shape[1]}x{logo.shape[0]} but the object is "
                         f"{obj.shape[1]}x{obj.shape[0]}")
    out = logo.copy()
    box = logo_bbox(logo)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    shading = surface_shading(obj, box)
    factor = 1.0 / shading if inverse else shading
    region = out[y0:y1, x0:x1]
    colour = region[..., :3].astype(np.float32) * factor[..., None]
    region[..., :3] = np.clip(np.rint(colour), 0, 255).astype(np.uint8)
    return out


def context_box(box: Box, shape: tuple[int, int], margin: float) -> Box:
    """The logo's box grown by `margin` times its long side, clipped to the photo."""
    x0, y0, x1, y1 = box
    h, w = shape
    grow = max(8, int(round(max(x1 - x0, y1 - y0) * margin)))
    return max(x0 - grow, 0), max(y0 - grow, 0), min(x1 + grow, w), min(y1 + grow, h)


def surface_shading(obj: np.ndarray, box: Box) -> np.ndarray:
    """Shading over `box` (float32; 1 = the surface's typical light): the surface's
    low-frequency luminance over a reference level.

    Only the same surface as the one under the box counts, both for the low-pass and for the
    reference: context pixels whose colour, lightness aside, matches it (shading scales a
    colour but keeps its hue, so a shadow counts as surface while a wall of another colour
    behind the product does not) and that are at most SURFACE_CONTRAST times brighter. The
    low-pass is a normalised convolution over those pixels, so a bright backdrop does not
    bleed into the product's edge. The reference is the median of that luminance: ink keeps
    its colour where the surface has its typical light, and a logo moved to a darker part (or
    across a shadow) comes out darker there. The numbers depend only on the object and the box
    (the logo's placed box, before any softening), so shading and de-shading at one place use
    the same ones.
    Computed at a resolution reduced with the low-pass scale: cost follows the logo's size.
    """
    x0, y0, x1, y1 = box
    cx0, cy0, cx1, cy1 = context_box(box, obj.shape[:2], CONTEXT_MARGIN)
    sigma = max(1.5, LOWPASS_SHARE * max(x1 - x0, y1 - y0))
    factor = max(1.0, sigma / 2.0)
    context = obj[cy0:cy1, cx0:cx1]
    ch, cw = context.shape[:2]
    if factor > 1.0:  # shrink the uint8 pixels first: the float copy is then small
        context = cv2.resize(context, (max(1, round(cw / factor)), max(1, round(ch / factor))),
                             interpolation=cv2.INTER_AREA)
    context = context.astype(np.float32)
    sh, sw = context.shape[:2]
    inner = (_scaled_span(y0 - cy0, y1 - cy0, sh / ch), _scaled_span(x0 - cx0, x1 - cx0, sw / cw))
    luma = context @ LUMA
    same = same_surface(context, luma, inner).astype(np.float32)
    blur_sigma = sigma / factor
    weight = cv2.GaussianBlur(same, (0, 0), blur_sigma, borderType=cv2.BORDER_REFLECT)
    low = cv2.GaussianBlur(luma * same, (0, 0), blur_sigma, borderType=cv2.BORDER_REFLECT)
    plain = cv2.GaussianBlur(luma, (0, 0), blur_sigma, borderType=cv2.BORDER_REFLECT)
    low = np.where(weight > 1e-3, low / np.maximum(weight, 1e-3), plain)
    reference = max(float(np.percentile(low[same > 0], REFERENCE_PERCENTILE)), 1.0)
    if factor > 1.0:
        low = cv2.resize(low, (cw, ch), interpolation=cv2.INTER_LINEAR)
    shading = low[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] / reference
    return np.clip(shading, *SHADING_RANGE).astype(np.float32)


def _scaled_span(start: int, stop: int, scale: float) -> slice:
    """The pixels that [start, stop) covers on a grid scaled by `scale` (at least one)."""
    first = int(start * scale)
    return slice(first, max(first + 1, int(np.ceil(stop * scale))))


def same_surface(rgb: np.ndarray, luma: np.ndarray, inner: tuple[slice, slice]) -> np.ndarray:
    """Pixels of `rgb` that look like the same surface as the one in `inner`: the same
    chromaticity and at most SURFACE_CONTRAST times brighter. `inner` itself always counts."""
    chroma = (rgb + 1.0) / (rgb.sum(axis=2, keepdims=True) + 3.0)
    under = np.median(chroma[inner].reshape(-1, 3), axis=0)
    same = np.abs(chroma - under).max(axis=2) <= CHROMA_TOLERANCE
    same &= luma <= SURFACE_CONTRAST * float(np.percentile(luma[inner], 99))
    same[inner] = True
    return same
