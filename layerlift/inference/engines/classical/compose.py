"""Classical compose: put a logo onto the object so it sits in the surface's light.

A logo comes in one of two forms, and they mean different things (see `compose_classical`):

- **in place** (`request.logo`, photo-sized RGBA): the logo *as printed* at that place, like the
  logo layer `decompose` returns. Its colour already carries the surface's light there, so it
  is only alpha-overed: decompose -> compose(in place) rebuilds the photo (the cycle).
- **asset + quad**: the logo's *ink* (its colour in the surface's typical light: a designer's
  file, or a decomposed logo passed through `deshade_logo`). It is warped onto the quad
  (bent round a cylinder by `request.bend`, see inference/warp.py),
  shaded by the surface at that place, softened to the photo's sharpness and alpha-overed.

Shading is the surface's low-frequency luminance over a reference level: the median of that
luminance over the same surface around the logo. Ink shows its own colour where the surface
has its typical light, darker on darker parts, lighter (up to 1.3x) on brighter ones. It
depends only on the object and the logo's box, so `shade_logo` / the asset path and
`deshade_logo` use the very same numbers and undo each other up to clipping and rounding. All
work is on the region around the logo: time follows the logo's size, not the photo's.
"""

from __future__ import annotations

import cv2
import numpy as np

from layerlift.inference.contract import (
    CancelToken,
    ComposeRequest,
    ProgressCallback,
    check_cancel,
    report,
    validate_image,
)
from layerlift.inference.errors import InputError
from layerlift.inference.layers import alpha_over
from layerlift.inference.warp import warp_asset

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
SHARPNESS_MARGIN = 0.5    # the photo's sharpness is read on the logo's box grown by this share
REBLUR_SIGMA = 1.0        # for the sharpness estimate (re-blur ratio at strong edges)
MAX_BLUR = 2.5
SHARP_SIGMA = 1.2         # edge_blur_sigma's reading for edges as crisp as the pixel grid

Box = tuple[int, int, int, int]   # x0, y0, x1, y1 (exclusive ends), photo pixels


def compose_classical(request: ComposeRequest, on_progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> np.ndarray:
    """The object with the logo printed on it (HxWx3 uint8). The request is validated.

    - Logo in place (`request.logo`): taken as already printed at that place (its colour
      carries the surface's shading, as decompose's logo layer does). The result is exactly
      alpha-over(logo, object): no re-shading, no blur, so decompose -> compose(in place)
      rebuilds the photo inside the mask.
    - Logo asset + quad: taken as ink. Warped onto the quad (perspective), multiplied by the
      surface's shading at the target place (the inverse of `deshade_logo`), softened to the
      photo's sharpness there, and alpha-overed.

    Outside the logo's support (grown by the softening blur's reach, for an asset sharper
    than the photo) the object is returned bit for bit.
    """
    obj = request.object
    total = 4
    report(on_progress, 0, total)
    check_cancel(cancel)
    if request.logo is not None:
        out = compose_in_place(obj, request.logo)
        report(on_progress, total, total)
        return out

    out = obj.copy()
    placed = place_logo(request)
    if placed is None:  # the logo is empty or lands outside the photo
        report(on_progress, total, total)
        return out
    premult, box = placed
    check_cancel(cancel)
    report(on_progress, 1, total)

    shading = surface_shading(obj, box)
    premult[..., :3] = np.minimum(premult[..., :3] * shading[..., None], premult[..., 3:4])
    check_cancel(cancel)
    report(on_progress, 2, total)

    cx0, cy0, cx1, cy1 = context_box(box, obj.shape[:2], SHARPNESS_MARGIN)
    premult, box = match_sharpness(premult, box, obj[cy0:cy1, cx0:cx1], obj.shape[:2])
    check_cancel(cancel)
    report(on_progress, 3, total)

    x0, y0, x1, y1 = box
    region = obj[y0:y1, x0:x1].astype(np.float32)
    alpha = np.clip(premult[..., 3:4], 0.0, 1.0)
    blended = np.clip(premult[..., :3], 0.0, 1.0) * 255.0 + region * (1.0 - alpha)
    blended = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    support = alpha[..., 0] >= 0.5 / 255.0
    target = out[y0:y1, x0:x1]
    target[support] = blended[support]
    report(on_progress, total, total)
    return out


def compose_in_place(obj: np.ndarray, logo: np.ndarray) -> np.ndarray:
    """alpha-over(logo, obj), computed on the logo's bounding box only."""
    out = obj.copy()
    box = alpha_box(logo)
    if box is not None:
        x0, y0, x1, y1 = box
        out[y0:y1, x0:x1] = alpha_over(logo[y0:y1, x0:x1], obj[y0:y1, x0:x1])
    return out


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
    box = alpha_box(logo)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    shading = surface_shading(obj, box)
    factor = 1.0 / shading if inverse else shading
    region = out[y0:y1, x0:x1]
    colour = region[..., :3].astype(np.float32) * factor[..., None]
    region[..., :3] = np.clip(np.rint(colour), 0, 255).astype(np.uint8)
    return out


def alpha_box(logo: np.ndarray) -> Box | None:
    """The box of the logo's non-transparent pixels; None when it is empty.

    cv2.boundingRect scans a 24 MP alpha in a few ms (numpy's nonzero takes ~10x longer)."""
    bx, by, bw, bh = cv2.boundingRect(np.ascontiguousarray(logo[..., 3]))
    if bw == 0 or bh == 0:
        return None
    return bx, by, bx + bw, by + bh


def place_logo(request: ComposeRequest) -> tuple[np.ndarray, Box] | None:
    """Premultiplied float RGBA of the logo on its region, and the region (x0, y0, x1, y1)."""
    h, w = request.object.shape[:2]
    if request.logo is not None:
        box = alpha_box(request.logo)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        rgba = request.logo[y0:y1, x0:x1].astype(np.float32) / 255.0
        rgba[..., :3] *= rgba[..., 3:4]
        return rgba, box
    return warp_asset(request.logo_asset, np.asarray(request.quad, np.float64), (w, h),
                      request.bend)


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


def edge_blur_sigma(gray: np.ndarray, where: np.ndarray | None = None) -> float | None:
    """Blur (Gaussian sigma, px) of the strongest edges, by the re-blur gradient ratio.

    A step blurred by s has its largest gradient fall by sqrt(s^2 + r^2) / s when re-blurred
    by r; inverting that at the strongest edges gives s. None when there are no clear edges.
    Only relative use is sound (the derivative filter adds its own small blur).
    """
    g0 = _gradient(gray)
    g1 = _gradient(cv2.GaussianBlur(gray, (0, 0), REBLUR_SIGMA))
    strong = g0 >= max(0.06, float(np.percentile(g0, 97)))
    if where is not None:
        strong &= where
    if strong.sum() < 8:
        return None
    ratio = g0[strong] / np.maximum(g1[strong], 1e-6)
    ratio = ratio[ratio > 1.01]
    if ratio.size < 8:
        return MAX_BLUR
    return float(np.median(REBLUR_SIGMA / np.sqrt(ratio ** 2 - 1)))


def _gradient(gray: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return np.sqrt(gx * gx + gy * gy)


def match_sharpness(premult: np.ndarray, box: Box, around: np.ndarray,
                    shape: tuple[int, int]) -> tuple[np.ndarray, Box]:
    """Blur the logo so its edges are as soft as the photo's `around` it (never sharpen).

    A blur spreads the logo: its box grows by the blur's reach (inside the photo). A logo as
    soft as the photo already (e.g. one taken from it) is left as it is.
    """
    photo_sigma = edge_blur_sigma(around.astype(np.float32) @ LUMA / 255.0)
    logo_sigma = edge_blur_sigma(np.pad(premult[..., 3], 3))
    if photo_sigma is None or logo_sigma is None:
        return premult, box
    # Edges reading under SHARP_SIGMA are as crisp as the estimate can tell (sampling, the
    # derivative filter, aliased steps): a logo counts as at least that soft, so a logo taken
    # from a sharp photo, or a crisp asset on one, is not blurred on a misreading.
    logo_sigma = max(logo_sigma, SHARP_SIGMA)
    extra = float(np.sqrt(max(min(photo_sigma, MAX_BLUR) ** 2 - logo_sigma ** 2, 0.0)))
    if extra < 0.3:
        return premult, box
    reach = int(np.ceil(3 * extra))
    x0, y0, x1, y1 = box
    h, w = shape
    # Pad with transparent pixels so the edges soften outwards, then keep the part in the photo.
    padded = np.pad(premult, ((reach, reach), (reach, reach), (0, 0)))
    blurred = cv2.GaussianBlur(padded, (0, 0), extra, borderType=cv2.BORDER_CONSTANT)
    nx0, ny0 = max(x0 - reach, 0), max(y0 - reach, 0)
    nx1, ny1 = min(x1 + reach, w), min(y1 + reach, h)
    crop = blurred[ny0 - (y0 - reach):ny1 - (y0 - reach), nx0 - (x0 - reach):nx1 - (x0 - reach)]
    return np.ascontiguousarray(crop), (nx0, ny0, nx1, ny1)
