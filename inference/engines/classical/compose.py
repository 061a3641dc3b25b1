"""Classical compose: put a logo onto the object so it sits in the surface's light.

Steps, all on the region around the logo (time follows the logo's size, not the photo's):
1. the logo in place, or the asset warped onto its quad (perspective, premultiplied alpha);
2. shading from the surface: its low-frequency luminance relative to a local reference level
   (the bright end of the luminance around the logo), multiplied into the logo's colour;
3. a little blur so the logo is no sharper than the photo around it;
4. alpha-over onto the object. Outside the logo's support (grown by that blur's reach, when
   the logo was sharper than the photo) the object is returned bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

from inference.contract import CancelToken, ComposeRequest, ProgressCallback, check_cancel, report

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
CONTEXT_MARGIN = 0.5      # shading context: the logo's box grown by this share of its long side
LOWPASS_SHARE = 0.08      # low-frequency scale: this share of the logo's long side
REFERENCE_PERCENTILE = 90  # the "fully lit" level of the surface around the logo
SHADING_RANGE = (0.15, 1.3)
REBLUR_SIGMA = 1.0        # for the sharpness estimate (re-blur ratio at strong edges)
MAX_BLUR = 2.5


def compose_classical(request: ComposeRequest, on_progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> np.ndarray:
    """The object with the logo printed on it (HxWx3 uint8). The request is validated."""
    obj = request.object
    out = obj.copy()
    total = 4
    report(on_progress, 0, total)
    placed = place_logo(request)
    if placed is None:  # the logo is empty or lands outside the photo
        report(on_progress, total, total)
        return out
    premult, box = placed
    check_cancel(cancel)
    report(on_progress, 1, total)

    context = context_box(box, obj.shape[:2])
    cx0, cy0, cx1, cy1 = context
    premult, box = match_sharpness(premult, box, obj[cy0:cy1, cx0:cx1], obj.shape[:2])
    check_cancel(cancel)
    report(on_progress, 2, total)

    shading = surface_shading(obj, box, context_box(box, obj.shape[:2]))
    check_cancel(cancel)
    report(on_progress, 3, total)

    x0, y0, x1, y1 = box
    region = obj[y0:y1, x0:x1]
    alpha = np.clip(premult[..., 3], 0.0, 1.0)
    support = alpha >= 0.5 / 255.0
    colour = premult[..., :3] / np.maximum(alpha, 1e-6)[..., None]
    printed = np.clip(colour * shading[..., None], 0.0, 1.0) * 255.0
    blended = printed * alpha[..., None] + region.astype(np.float32) * (1.0 - alpha[..., None])
    blended = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    target = out[y0:y1, x0:x1]
    target[support] = blended[support]
    report(on_progress, total, total)
    return out


def place_logo(request: ComposeRequest) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Premultiplied float RGBA of the logo on its region, and the region (x0, y0, x1, y1)."""
    h, w = request.object.shape[:2]
    if request.logo is not None:
        alpha = np.ascontiguousarray(request.logo[..., 3])
        bx, by, bw, bh = cv2.boundingRect(alpha)
        if bw == 0 or bh == 0:
            return None
        rgba = request.logo[by:by + bh, bx:bx + bw].astype(np.float32) / 255.0
        rgba[..., :3] *= rgba[..., 3:4]
        return rgba, (bx, by, bx + bw, by + bh)
    return warp_asset(request.logo_asset, np.asarray(request.quad, np.float64), (w, h))


def warp_asset(asset: np.ndarray, quad: np.ndarray, photo_size: tuple[int, int]
               ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Warp an RGBA asset so its outer corners land on `quad` (TL, TR, BR, BL, pixel edges).

    Only the quad's bounding box (inside the photo) is computed, never the whole photo.
    """
    w, h = photo_size
    x0 = max(int(np.floor(quad[:, 0].min())), 0)
    y0 = max(int(np.floor(quad[:, 1].min())), 0)
    x1 = min(int(np.ceil(quad[:, 0].max())), w)
    y1 = min(int(np.ceil(quad[:, 1].max())), h)
    if x1 <= x0 or y1 <= y0:
        return None
    src = asset.astype(np.float32) / 255.0
    src[..., :3] *= src[..., 3:4]
    # Shrink a much larger asset first (area averaging), so the warp does not alias.
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    scale = max(sides[0], sides[2]) / src.shape[1], max(sides[1], sides[3]) / src.shape[0]
    if max(scale) < 0.5:
        nw = max(1, int(round(src.shape[1] * scale[0] * 1.5)))
        nh = max(1, int(round(src.shape[0] * scale[1] * 1.5)))
        src = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
    sh, sw = src.shape[:2]
    # Pixel-edge corners to OpenCV's pixel-centre coordinates: subtract half a pixel.
    corners = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32) - 0.5
    dst = (quad - np.array([x0, y0]) - 0.5).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, dst)
    warped = cv2.warpPerspective(src, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if not (warped[..., 3] >= 0.5 / 255.0).any():
        return None
    return warped, (x0, y0, x1, y1)


def lowpass(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian low-pass computed at reduced resolution (cost independent of sigma)."""
    factor = max(1.0, sigma / 2.0)
    h, w = image.shape[:2]
    if factor > 1.0:
        small = cv2.resize(image, (max(1, int(w / factor)), max(1, int(h / factor))),
                           interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_REFLECT)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def context_box(box: tuple[int, int, int, int], shape: tuple[int, int]
                ) -> tuple[int, int, int, int]:
    """The logo's box grown by CONTEXT_MARGIN of its long side, clipped to the photo."""
    x0, y0, x1, y1 = box
    h, w = shape
    grow = max(8, int(round(max(x1 - x0, y1 - y0) * CONTEXT_MARGIN)))
    return max(x0 - grow, 0), max(y0 - grow, 0), min(x1 + grow, w), min(y1 + grow, h)


def surface_shading(obj: np.ndarray, box: tuple[int, int, int, int],
                    context: tuple[int, int, int, int]) -> np.ndarray:
    """Shading over `box`: the surface's low-frequency luminance over a reference level.

    The reference is a high percentile of that luminance over a context around the logo: a
    logo on the lit part keeps its colour, one on a darker part (or across a shadow) comes out
    darker there.
    """
    x0, y0, x1, y1 = box
    cx0, cy0, cx1, cy1 = context
    long_side = max(x1 - x0, y1 - y0)
    luma = obj[cy0:cy1, cx0:cx1].astype(np.float32) @ LUMA
    low = lowpass(luma, max(1.5, LOWPASS_SHARE * long_side))
    reference = max(float(np.percentile(low, REFERENCE_PERCENTILE)), 1.0)
    shading = low[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] / reference
    return np.clip(shading, *SHADING_RANGE).astype(np.float32)


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


def match_sharpness(premult: np.ndarray, box: tuple[int, int, int, int], around: np.ndarray,
                    shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Blur the logo so its edges are as soft as the photo's `around` it (never sharpen).

    A blur spreads the logo: its box grows by the blur's reach (inside the photo). A logo as
    soft as the photo already (e.g. one taken from it) is left as it is.
    """
    photo_sigma = edge_blur_sigma(around.astype(np.float32) @ LUMA / 255.0)
    logo_sigma = edge_blur_sigma(np.pad(premult[..., 3], 3))
    if photo_sigma is None or logo_sigma is None:
        return premult, box
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
