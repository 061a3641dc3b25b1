"""Reading a mark's cylinder bend back from its alpha, so a swapped logo gets the same wrap.

A logo printed round a cylinder (inference/warp.py) has every horizontal line, its top and
bottom edges among them, on one ellipse arc whose shape the bend fixes: with the mark's width
W and the wrap half-angle phi, R = W / 2 / sin(phi) and a column at x from the middle sits
R * sin(VIEW_ELEVATION) * (cos(theta) - cos(phi)) above the ends, sin(theta) = x / R.

A mark whose outline thins towards its ends (a round patch, an oval) reads as flat: its curve
is its own shape, not a wrap (`band_like`). Otherwise the estimate fits that arc to the mark's
top and bottom outline, read as an envelope (the highest top and lowest bottom in each of a
few column bins), so the gaps between letters weigh little; each edge also gets its own offset
and tilt (a quad in perspective tilts the edges but never curves them). The bend whose arc
leaves the smallest squared residual wins: a coarse scan of -100..100, then a fine one round
the best. It assumes the mark is upright in the photo (its edges run left to right), as a
label on an upright bottle or mug is; a mark turned on its side reads as flat or nearly so.

What it cannot tell apart: a mark's own uneven outline from a wrap. A word whose capitals
stand at its ends and lower-case letters in its middle reads as sagging (measured on flat word
marks: up to 13 % off; see tests/inference/test_warp_bend.py and the README).
"""

from __future__ import annotations

import math

import numpy as np

from layerlift.inference.contract import BEND_LIMIT
from layerlift.inference.errors import InputError
from layerlift.inference.warp import VIEW_ELEVATION, wrap_angle

MIN_WIDTH = 16        # px: narrower marks read as flat
MIN_POINTS = 6        # envelope points per edge needed to fit a curve
BINS = (8, 48)        # envelope bins: about one per 6 columns, within these bounds
COARSE_STEP = 1.0     # percent
FINE_STEP = 0.1
BAND_SPAN = (0.03, 0.08)  # the columns (shares of the width in from each end) read as "end"
BAND_ENDS = 0.6       # a band's ends are at least this share of its middle's height


def estimate_bend(alpha: np.ndarray, threshold: int = 128) -> float:
    """The cylinder bend (percent, -100..100, 0.1 steps) whose arcs best fit the top and
    bottom edges of the mark in `alpha` (HxW uint8, the logo layer's alpha in place or
    cropped). 0.0 when the mark is too small to tell. InputError when it is empty."""
    alpha = np.asarray(alpha)
    if alpha.ndim != 2:
        raise InputError("alpha must be an HxW array")
    support = alpha >= threshold
    columns = np.flatnonzero(support.any(axis=0))
    if columns.size == 0:
        raise InputError("the mark's alpha is empty: nothing to read a bend from")
    left, right = int(columns[0]), int(columns[-1]) + 1
    if right - left < MIN_WIDTH:
        return 0.0
    tops, bottoms = edge_envelopes(support[:, left:right])
    if len(tops[0]) < MIN_POINTS or not band_like(support[:, left:right]):
        return 0.0
    centre = (right - left) / 2.0
    tops = (tops[0] - centre, tops[1])
    bottoms = (bottoms[0] - centre, bottoms[1])
    width = float(right - left)

    def cost(bend: float) -> float:
        return _residual(tops, width, bend) + _residual(bottoms, width, bend)

    coarse = np.arange(-BEND_LIMIT, BEND_LIMIT + COARSE_STEP / 2, COARSE_STEP)
    best = float(coarse[int(np.argmin([cost(b) for b in coarse]))])
    fine = np.arange(max(best - COARSE_STEP, -BEND_LIMIT),
                     min(best + COARSE_STEP, BEND_LIMIT) + FINE_STEP / 2, FINE_STEP)
    best = float(fine[int(np.argmin([cost(b) for b in fine]))])
    return round(best, 1) + 0.0  # + 0.0: no "-0.0"


def band_like(support: np.ndarray) -> bool:
    """Whether the outline is a band's: a wrapped label keeps its full height out to its
    ends, while a round or pointed mark (a disc, an oval, a diamond) thins towards them, and
    its edges' curve is its own shape, not a wrap. The height near each end is read over a
    few columns a little way in (BAND_SPAN), past a side slanted by perspective."""
    h, w = support.shape
    rows = np.arange(h)[:, None]

    def height(columns: slice) -> float:
        part = support[:, columns]
        if not part.any():
            return 0.0
        filled = rows[part.any(axis=1)]
        return float(filled.max() - filled.min() + 1)

    a, b = (int(round(w * f)) for f in BAND_SPAN)
    ends = min(height(slice(a, max(b, a + 1))), height(slice(w - max(b, a + 1), w - a)))
    middle = height(slice(w // 2 - max(1, w // 20), w // 2 + max(1, w // 20)))
    return ends >= BAND_ENDS * middle


def edge_envelopes(support: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray],
                                                  tuple[np.ndarray, np.ndarray]]:
    """(x, y) points of the top and bottom outline: in each column bin, the highest top
    (pixel edge above the first support pixel) and the lowest bottom (edge below the last)."""
    h, w = support.shape
    filled = support.any(axis=0)
    first = np.where(filled, support.argmax(axis=0), h).astype(np.float64)
    last = np.where(filled, h - support[::-1].argmax(axis=0), -1).astype(np.float64)
    bins = int(np.clip(w // 6, *BINS))
    edges = np.linspace(0, w, bins + 1).round().astype(int)
    top_x, top_y, bottom_x, bottom_y = [], [], [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a or not filled[a:b].any():
            continue
        i = a + int(np.argmin(first[a:b]))
        j = a + int(np.argmax(last[a:b]))
        top_x.append(i + 0.5)
        top_y.append(first[i])
        bottom_x.append(j + 0.5)
        bottom_y.append(last[j])
    return ((np.array(top_x), np.array(top_y)), (np.array(bottom_x), np.array(bottom_y)))


def arc_rise(x: np.ndarray, width: float, bend: float) -> np.ndarray:
    """How far above the ends (px, negative: below) a bent line is at x px from the middle
    of a mark `width` px wide."""
    phi = wrap_angle(bend)
    if phi == 0:
        return np.zeros_like(x)
    radius = width / 2.0 / math.sin(phi)
    sin_theta = np.clip(x / radius, -1.0, 1.0)
    rise = radius * math.sin(VIEW_ELEVATION) * (np.sqrt(1 - sin_theta ** 2) - math.cos(phi))
    return math.copysign(1.0, bend) * rise


def _residual(points: tuple[np.ndarray, np.ndarray], width: float, bend: float) -> float:
    """Squared residual of y + rise(x) against the best offset + tilt line."""
    x, y = points
    flat = y + arc_rise(x, width, bend)  # image rows grow downwards: a rise lowers y
    design = np.stack([np.ones_like(x), x], axis=1)
    coef = np.linalg.lstsq(design, flat, rcond=None)[0]
    return float(np.sum((design @ coef - flat) ** 2))
