"""Where is the logo inside the brushed mask, how opaque is it, and what is its alpha?

A brushed mask is loose: most of it is untouched surface, and the engine's accuracy lives in
telling the two apart. In a few rounds we
1. predict the surface B0 inside the unknown region (isophote continuation of the lightly
   smoothed surroundings), and score each pixel by its departure from B0 against the local
   colour covariance of the surface's texture (Mahalanobis distance);
2. call the mark the pixels scoring high (hysteresis), and let the rest of the mask count
   as known surface for the next round.
Then the mark's opacity (how much surface texture shows through it, bounded below by the
gamut), its colour L, and each pixel's alpha from the blend equation I = a*L + (1 - a)*B.
All images here are float32 RGB in [0, 1] on the working crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from layerlift.inference.engines.classical.ink import ink_completion
from layerlift.inference.engines.classical.smooth import (
    blur,
    linear_fill,
    normalized_blur,
    smooth_fill,
)
from layerlift.inference.engines.classical.support import whole_mark
from layerlift.inference.engines.classical.watermark import (
    WATERMARK_MIN_OPACITY,
    watermark_completion,
)
from layerlift.inference.morphology import dilate, disk, erode

# Detection thresholds, in units of the local texture level s (hysteresis: a mark pixel
# departs by more than T_LOW and is connected to one that departs by more than T_HIGH).
T_LOW = 3.0
T_HIGH = 6.0
# Texture level floor (sensor/JPEG noise on a flat surface), in [0, 1] units.
NOISE_FLOOR = 2.0 / 255
# Surface texture must exceed this (RMS of its fine detail) to tell how much shows through.
TEXTURE_INFORMATIVE = 2.5 / 255
# Opacity above this is treated as fully opaque.
OPAQUE = 0.85
# Pixels well inside the mark needed before its inner texture is believed.
MIN_DEEP = 100
# How far the gamut bound may exceed the texture's opacity reading before the reading is
# put down to the mark's own detail.
OPACITY_SLACK = 0.2
# A white, black or grey mark on an untextured surface is called a watermark below this
# opacity.
ACHROMATIC_MAX_OPACITY = 0.7
# A mark's colour is grey when its channels lie within this of each other, and a grey mark is
# called a watermark below GREY_MAX_OPACITY. Measured on the real-marks benchmark (96
# cases): grey watermarks on busy photographs (a spacesuit, a helmet) read a spread of
# 0.02-0.13 at gamut bounds of 0.44-0.49 and were taken for opaque prints; a grey word
# printed on the spacesuit reads 0.05 at 0.65.
GREY_SPREAD = 0.15
GREY_MAX_OPACITY = 0.6
# A coloured mark whose gamut bound is below this departs from its surface by less than
# 40 % of the way to the gamut's edge: too faint for a print made to be seen, so it is
# taken for a watermark of unknown opacity (see estimate_opacity). Measured on the
# real-marks benchmark (96 cases, fixed and fresh seeds): 0.4 instead of 0.25 halves the
# alpha error of seven watermarks that were called opaque (0.28-0.42 -> 0.03-0.22), and
# moves the median gain by less than 0.01 dB.
FAINT_MARK = 0.4
# The typical error of an opacity read from the texture or from a white/black mark's gamut
# bound: the median |read - true| of those readings on the real-marks benchmark (96 cases,
# fixed and fresh seeds) is 0.05; twice that, to stay on the safe side.
OPACITY_ERROR = 0.1
# Smallest smoothing scale of the surface fit, px.
BACKGROUND_SIGMA = 4.0
# The local texture size is capped at this multiple of the crop's median.
SCALE_CAP = 3.0
# A core pixel departs from the surface by at least this fraction of the local maximum.
CORE_FRACTION = 0.8
# Neighbourhood over which departures from the surface are averaged before detection.
DETECT_SIGMA = 1.0


@dataclass
class Matte:
    alpha: np.ndarray        # HxW float32 in [0, 1]; 0 where the surface is untouched
    colour: np.ndarray       # HxWx3 float32 logo colour estimate L (meaningful where alpha > 0)
    background: np.ndarray   # HxWx3 float32 smooth surface estimate B0
    support: np.ndarray      # HxW bool, pixels the mark touches
    opacity: float           # the mark's estimated opacity (1 = opaque print)
    texture_informative: bool
    # How far the opacity reading may be off (in opacity units): OPACITY_ERROR for a reading
    # from the surface's texture or a white, black or grey mark's gamut bound, half the
    # range left open for a faint mark's guess; 0 for an opaque print (nothing to unblend).
    opacity_error: float


def background_model(img: np.ndarray, known: np.ndarray, sigma: float = BACKGROUND_SIGMA,
                     coarse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Smooth surface B0 from the known pixels and the mark score d of every pixel.

    d is the departure from B0, averaged over a small neighbourhood (a mark is coherent
    over a few pixels, texture much less), measured against the local colour covariance of
    the same quantity over known surface (Mahalanobis): a surface's texture varies along a
    few colour directions (mostly brightness), a mark usually departs along another.
    """
    w = known.astype(np.float32)
    b0 = isophote_fill(img, known, coarse)
    resid = blur(img - b0, DETECT_SIGMA)
    # The texture level is measured against a smooth fit at the scale of the unknown region:
    # the part of the surface's texture finer than that cannot be predicted inside.
    spread = blur(img - linear_fill(img, w, sigma), DETECT_SIGMA)
    i, j = np.triu_indices(3)
    products = spread[..., i] * spread[..., j]               # rr, rg, rb, gg, gb, bb
    cov_flat = smooth_fill(products, w, 2.0 * sigma)
    # The covariance gives the texture's colour directions; its size comes from the mean
    # absolute departure, which a few strong edges in the surface do not inflate as much.
    size = np.sqrt((spread ** 2).sum(axis=2))
    mean_abs = smooth_fill(size, w, 2.0 * sigma)
    # A strong edge in part of the surroundings (a box's corner, a shadow) must not hide the
    # mark everywhere: the local size is capped at a multiple of the crop's typical size.
    if known.any():
        mean_abs = np.minimum(mean_abs, SCALE_CAP * float(np.median(size[known])))
    trace = cov_flat[..., 0] + cov_flat[..., 3] + cov_flat[..., 5]
    cov_flat *= (1.18 * mean_abs ** 2 / np.maximum(trace, 1e-12))[..., None]
    # Only pixels of the mask need a score.
    inside = ~known if (~known).any() else np.ones_like(known)
    cov = np.empty((int(inside.sum()), 3, 3), np.float32)
    cov[:, i, j] = cov_flat[inside]
    cov[:, j, i] = cov_flat[inside]
    cov += np.eye(3, dtype=np.float32) * NOISE_FLOOR ** 2
    r = resid[inside]
    x = np.linalg.solve(cov, r[..., None])[..., 0]
    d = np.zeros(known.shape, np.float32)
    d[inside] = np.sqrt(np.maximum((r * x).sum(axis=1), 0.0))
    return b0, d


def isophote_fill(img: np.ndarray, known: np.ndarray, coarse: bool = False) -> np.ndarray:
    """Smooth surface B0: known pixels lightly smoothed; unknown ones continued along the
    isophotes (OpenCV TELEA), so bands and highlights that cross the mask carry on.

    TELEA's cost follows the hole's area; `coarse` runs it at half size (a first guess).
    """
    smooth, _ = normalized_blur(img, known.astype(np.float32), 2.0)
    hole = (~known).astype(np.uint8)
    if not hole.any():
        return smooth
    h, w = known.shape
    size = (max(1, w // 2), max(1, h // 2)) if coarse else (w, h)
    u8 = np.clip(np.rint(cv2.resize(smooth, size, interpolation=cv2.INTER_AREA) * 255.0),
                 0, 255).astype(np.uint8)
    small_hole = cv2.resize(hole, size, interpolation=cv2.INTER_AREA)
    if coarse:
        small_hole = cv2.dilate(small_hole, disk(1))
    filled = cv2.inpaint(u8, small_hole, 3 if coarse else 5, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled.astype(np.float32) / 255.0, (w, h),
                        interpolation=cv2.INTER_LINEAR)
    return np.where(known[..., None], smooth, filled)


def hysteresis(score: np.ndarray, low: float, high: float, region: np.ndarray) -> np.ndarray:
    """Pixels of `region` with score > low that are connected to one with score > high."""
    weak = (score > low) & region
    n, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(weak)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[(score > high) & weak])] = True
    keep[0] = False
    return keep[labels]


def prediction_scale(known: np.ndarray) -> float:
    """Smoothing scale matching how far the unknown pixels are from known surface.

    Inside the mask B0 is an interpolation across the unknown region, as smooth as the
    region is wide; the texture level s must be measured at the same smoothness, or the
    surface's own texture inside the mask would look like a mark.
    """
    dist = cv2.distanceTransform((~known).astype(np.uint8), cv2.DIST_L2, 3)
    return float(np.clip(0.5 * dist.max(), BACKGROUND_SIGMA, 24.0))


def detect_mark(img: np.ndarray, mask: np.ndarray,
                rounds: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The mark's pixels inside the mask; returns (mark, B0, known surface, the first
    round's score: every pixel's departure from the surface predicted from outside the
    mask alone, which a large mark's inside still shows)."""
    known = ~mask
    if known.sum() < 16:
        # The mask covers the whole crop: learn the surface from the whole crop, robustly.
        known = np.ones_like(mask)
    mark = np.zeros_like(mask)
    b0, first = img, np.zeros(mask.shape, np.float32)
    for round_ in range(rounds):
        b0, d = background_model(img, known, prediction_scale(known), coarse=round_ == 0)
        if round_ == 0:
            first = d
        mark = hysteresis(d, T_LOW, T_HIGH, mask)
        # Untouched surface inside the mask becomes known for the next round.
        known = ~dilate(mark, 3)
        if known.sum() < 16:
            break
    return mark, b0, known, first


def robust_var(x: np.ndarray) -> float:
    """Sum over channels of the squared MAD-based standard deviation."""
    if x.shape[0] == 0:
        return 0.0
    med = np.median(x, axis=0)
    mad = np.median(np.abs(x - med), axis=0) * 1.4826
    return float((mad ** 2).sum())


def fine_detail(img: np.ndarray) -> np.ndarray:
    """Each pixel minus the mean of its 8 neighbours: the finest texture, edges aside."""
    kernel = np.full((3, 3), -1.0 / 8.0, np.float32)
    kernel[1, 1] = 1.0
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT)


def mark_core(img: np.ndarray, b0: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """The mark's full-strength pixels: off its anti-aliased or blurred edges.

    A pixel is core where its departure from the surface is close to the strongest
    departure nearby (the stroke's plateau).
    """
    strength = np.sqrt(((img - b0) ** 2).sum(axis=2)) * mark
    plateau = strength >= CORE_FRACTION * cv2.dilate(strength, disk(1))
    # ... and not a faint pixel of the mark's rim next to a much stronger stroke.
    strong = strength >= 0.5 * cv2.dilate(strength, disk(4))
    return erode(mark, 1) & plateau & strong


def gamut_bounds(img: np.ndarray, b0: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Per pixel of `pixels`, the least alpha that keeps the mark's colour
    L = B0 + (I - B0) / a inside [0, 1]."""
    diff = img[pixels] - b0[pixels]
    room = np.where(diff > 0, 1.0 - b0[pixels], b0[pixels])
    return np.max(np.abs(diff) / np.maximum(room, 1e-3), axis=1)


def opacity_spread(img: np.ndarray, matte: Matte) -> float:
    """How far the gamut bounds of the mark's full-opacity pixels spread below their median.
    Where the predicted surface is right, every pixel of a white or black mark bounds its
    opacity alike; a print read as a watermark spreads wide (0.32 for a shaded white word on
    coins, against 0.04-0.16 for the watermarks whose choice it changed on the real-marks
    benchmark). Infinite when too few such pixels tell. A hint's pixels (alpha 1 on a
    semi-transparent mark) are not the mark's own reading and are left out."""
    inner = (matte.alpha >= matte.opacity) & (matte.alpha > 0) & (matte.alpha < 1.0)
    if inner.sum() < 10:
        return float("inf")
    bounds = gamut_bounds(img, matte.background, inner)
    return float(np.median(bounds) - np.percentile(bounds, 10))


def estimate_opacity(img: np.ndarray, b0: np.ndarray, mark: np.ndarray, core: np.ndarray,
                     known: np.ndarray) -> tuple[float, bool, float]:
    """How opaque the mark is, from how much of the surface's fine texture shows through it.

    Over a semi-transparent mark I = o*L + (1 - o)*B, so the fine detail inside the mark is
    (1 - o) times the surface's. Where the surface has no texture this says nothing; we then
    fall back on the gamut: L must lie in [0, 1], which bounds o from below.
    Returns (opacity, texture informative, how far the reading may be off).
    """
    inner = core
    if inner.sum() < 10:
        return 1.0, False, 0.0     # too little of the mark to judge
    hf = fine_detail(img)
    deep = erode(core, 1) & erode(mark, 3)
    hf_in = hf[deep]
    ring = erode(known, 1)
    hf_bg = hf[ring]
    var_bg = robust_var(hf_bg)
    var_in = robust_var(hf_in)
    a_min = gamut_bounds(img, b0, inner)
    o_min = float(np.clip(np.median(a_min), 0.05, 1.0))
    diff = img[inner] - b0[inner]
    # At that alpha, is the logo colour white, black or grey (every channel at the gamut's
    # edge, or all alike)? Watermarks mostly are; then the gamut bound is the opacity itself.
    colour = np.median(np.clip(b0[inner] + diff / o_min, 0.0, 1.0), axis=0)
    white_or_black = bool(np.all(colour >= 0.8) or np.all(colour <= 0.2))
    # Thin strokes have no pixels away from their edges, whose own detail would swamp
    # the surface's: then the texture says nothing.
    informative = var_bg > TEXTURE_INFORMATIVE ** 2 and ring.sum() > 30 and deep.sum() >= MIN_DEEP
    ratio = float(np.sqrt(var_in / max(var_bg, 1e-12)))
    # More detail inside than outside: the mark has texture of its own; nothing to learn.
    informative = informative and ratio < 0.95
    # (a grey mark through which the surface's texture plainly does not show is a print)
    grey = bool(np.ptp(colour) <= GREY_SPREAD) and o_min < GREY_MAX_OPACITY and \
        not (informative and ratio < 0.3)
    error = OPACITY_ERROR
    if (white_or_black and o_min < ACHROMATIC_MAX_OPACITY) or grey:
        opacity = o_min
    elif informative and ratio < 0.3:
        opacity = 1.0                  # the surface's texture does not show through
    elif informative and ratio > 0.5 and o_min <= 1.0 - ratio + OPACITY_SLACK:
        # (o_min is a lower bound of the opacity: far above 1 - ratio, the inner detail is
        # the mark's own, not the surface's.)
        opacity = max(1.0 - ratio, o_min)
    elif not informative and o_min < FAINT_MARK:
        # A faint coloured mark on a surface that cannot tell: its opacity lies somewhere in
        # [o_min, 1]; the middle of that range bounds the alpha error by half of it.
        opacity = 0.5 * (1.0 + o_min)
        error = 0.5 * (1.0 - o_min)
    else:
        opacity = 1.0
    opacity = float(np.clip(opacity, 0.05, 1.0))
    if opacity >= OPAQUE:
        return 1.0, bool(informative), 0.0
    return opacity, bool(informative), float(error)


def refit_surface(img: np.ndarray, mark: np.ndarray, known: np.ndarray,
                  b0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(known, B0) once the mark has grown: the surface estimate must not lean on it."""
    grown_known = ~dilate(mark, 3)
    if grown_known.sum() < 16:
        return known, b0
    b0, _ = background_model(img, grown_known, prediction_scale(grown_known))
    return grown_known, b0


def core_of(img: np.ndarray, b0: np.ndarray, mark: np.ndarray) -> np.ndarray:
    inner = mark_core(img, b0, mark)
    return inner if inner.sum() >= 10 else mark


def blend_colour(img: np.ndarray, b0: np.ndarray, inner: np.ndarray,
                 opacity: float) -> np.ndarray:
    """The mark's one colour (RGB): its inner pixels extrapolated along the blend line."""
    return np.median(np.clip(b0[inner] + (img[inner] - b0[inner]) / opacity, 0.0, 1.0), axis=0)


def estimate_matte(img: np.ndarray, mask: np.ndarray) -> Matte:
    found, b0, known, departure = detect_mark(img, mask)
    mark = whole_mark(img, mask, found, departure)
    if (mark & ~found).sum() > 0.02 * max(found.sum(), 1):
        known, b0 = refit_surface(img, mark, known, b0)
    h, w = mask.shape
    if not mark.any():
        zeros = np.zeros((h, w), np.float32)
        return Matte(zeros, np.zeros_like(img), b0, mark, 1.0, False, 0.0)
    inner = core_of(img, b0, mark)
    opacity, informative, opacity_error = estimate_opacity(img, b0, mark, inner, known)
    if opacity >= 1.0:
        grown = ink_completion(img, mask, mark, inner)
        if grown.sum() > mark.sum():
            mark = grown
            known, b0 = refit_surface(img, mark, known, b0)
            inner = core_of(img, b0, mark)
    elif WATERMARK_MIN_OPACITY <= opacity < 1.0:
        grown = watermark_completion(img, mask, mark, isophote_fill(img, ~mask),
                                     blend_colour(img, b0, inner, opacity), opacity)
        if grown.sum() > mark.sum():
            mark = grown
            known, b0 = refit_surface(img, mark, known, b0)
            inner = core_of(img, b0, mark)
    # The logo's colour: read off the mark's inner pixels (extrapolated along the blend line
    # when semi-transparent), spread smoothly over the support.
    if opacity >= 1.0:
        samples, sigma = img, 2.0
    else:
        samples, sigma = np.clip(b0 + (img - b0) / opacity, 0.0, 1.0), 3.0
    colour = smooth_fill(samples, inner.astype(np.float32), sigma)
    support = dilate(mark, 1) & mask
    d = colour - b0
    proj = ((img - b0) * d).sum(axis=2) / np.maximum((d ** 2).sum(axis=2), 0.05 ** 2)
    alpha = np.clip(proj, 0.0, opacity)
    alpha[inner] = opacity
    alpha[~support] = 0.0
    alpha[alpha < 0.03] = 0.0
    return Matte(alpha.astype(np.float32), colour, b0, support, opacity, informative,
                 opacity_error)
