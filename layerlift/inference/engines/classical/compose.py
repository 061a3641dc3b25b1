"""Classical compose: put a logo onto the object so it sits in the surface's light.

A logo comes in one of two forms, and they mean different things (see `compose_classical`):

- **in place** (`request.logo`, photo-sized RGBA): the logo *as printed* at that place, like the
  logo layer `decompose` returns. Its colour already carries the surface's light there, so it
  is only alpha-overed: decompose -> compose(in place) rebuilds the photo (the cycle).
- **asset + quad**: the logo's *ink* (its colour in the surface's typical light: a designer's
  file, or a decomposed logo passed through `deshade_logo`). It is warped onto the quad
  (bent round a cylinder by `request.bend`, see inference/warp.py),
  shaded by the surface at that place, softened to the photo's sharpness and alpha-overed.

The shading (inference/shading.py) depends only on the object and the logo's box, so the asset
path and `deshade_logo` use the very same numbers. All work is on the region around the logo:
time follows the logo's size, not the photo's.
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
)
from layerlift.inference.layers import alpha_over, logo_bbox
from layerlift.inference.shading import LUMA, Box, context_box, surface_shading
from layerlift.inference.warp import warp_asset

SHARPNESS_MARGIN = 0.5    # the photo's sharpness is read on the logo's box grown by this share
REBLUR_SIGMA = 1.0        # for the sharpness estimate (re-blur ratio at strong edges)
MAX_BLUR = 2.5
SHARP_SIGMA = 1.2         # edge_blur_sigma's reading for edges as crisp as the pixel grid

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
    box = logo_bbox(logo)
    if box is not None:
        x0, y0, x1, y1 = box
        out[y0:y1, x0:x1] = alpha_over(logo[y0:y1, x0:x1], obj[y0:y1, x0:x1])
    return out


def place_logo(request: ComposeRequest) -> tuple[np.ndarray, Box] | None:
    """Premultiplied float RGBA of the logo on its region, and the region (x0, y0, x1, y1)."""
    h, w = request.object.shape[:2]
    if request.logo is not None:
        box = logo_bbox(request.logo)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        rgba = request.logo[y0:y1, x0:x1].astype(np.float32) / 255.0
        rgba[..., :3] *= rgba[..., 3:4]
        return rgba, box
    return warp_asset(request.logo_asset, np.asarray(request.quad, np.float64), (w, h),
                      request.bend)


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
