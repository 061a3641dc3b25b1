"""Placing a logo asset: the 4-corner quad warp, with an optional cylinder bend.

The asset's own square (u, v in 0..1, pixel edges) is first bent as print on a cylinder is,
then taken onto the quad by the quad's perspective transform. With bend 0 the first step is
the identity and the warp is the plain perspective warp (the very same OpenCV call as before
bends existed, so the pixels are the same bit for bit).

The bend (percent, -100..100) is one number, like the "Arc" bend of an image editor's warp:

- the logo covers an arc of the cylinder of half-angle `phi = |bend| / 100 * MAX_WRAP`, seen
  from the front: a point at angle theta from the middle lands at sin(theta) / sin(phi) of
  the half-width, so the logo is foreshortened towards its sides;
- the cylinder is seen from VIEW_ELEVATION above (bend < 0: the middle sags, as a mug seen
  from above) or below (bend > 0: the middle rises, an arch): every horizontal line of the
  logo becomes the same ellipse arc, top and bottom edges alike, whose sag is
  R * sin(VIEW_ELEVATION) * (1 - cos(phi)) with R = half-width / sin(phi).

Tying the view to the wrap leaves one control that goes continuously from flat (0) to half
the cylinder's round (100 %), which is what a designer needs to match a mug, can or bottle.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from layerlift.inference.contract import BEND_LIMIT

MAX_WRAP = math.pi / 2              # half the wrap angle at 100 %: half the cylinder's round
VIEW_ELEVATION = math.radians(30)   # the view's height over the cylinder's axis, as an angle
OUTLINE_SAMPLES = 64                # points per side when tracing the bent outline
MAP_STEP = 4                        # px between the bent map's exact points (see _bent)
UNIT_CORNERS = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)

Box = tuple[int, int, int, int]   # x0, y0, x1, y1 (exclusive ends), photo pixels


def wrap_angle(bend: float) -> float:
    """Half the arc of the cylinder the logo covers (radians) for a bend in percent."""
    return abs(bend) / BEND_LIMIT * MAX_WRAP


def sag_share(bend: float) -> float:
    """How far the middle of each edge moves, as a share of the logo's width (signed:
    positive when the middle rises). 0 at bend 0, sin(VIEW_ELEVATION) / 2 at +-100 %."""
    phi = wrap_angle(bend)
    return math.copysign(math.tan(phi / 2) * math.sin(VIEW_ELEVATION) / 2, bend) if phi else 0.0


def bend_for_sag(share: float) -> float:
    """The inverse of `sag_share`: the bend (percent) whose edges' middles move by `share` of
    the logo's width (positive: up), clamped to +-BEND_LIMIT where no bend moves them so far."""
    if not share:
        return 0.0
    phi = 2 * math.atan(2 * abs(share) / math.sin(VIEW_ELEVATION))
    return math.copysign(min(phi / MAX_WRAP * BEND_LIMIT, BEND_LIMIT), share)


def _aspect(quad: np.ndarray) -> float:
    """The quad's width over its height (mean of opposite sides)."""
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    return float((sides[0] + sides[2]) / max(sides[1] + sides[3], 1e-9))


def bend_square(u: np.ndarray, v: np.ndarray, bend: float, aspect: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """The bent position (s, t) in the unit square's frame of the asset point (u, v).

    `aspect` is the placed logo's width over its height: the sag is a share of the width."""
    phi = wrap_angle(bend)
    if phi == 0:
        return u, v
    theta = (2 * u - 1) * phi
    s = 0.5 + 0.5 * np.sin(theta) / math.sin(phi)
    rise = math.copysign(aspect * math.sin(VIEW_ELEVATION) / (2 * math.sin(phi)), bend)
    return s, v - rise * (np.cos(theta) - math.cos(phi))


def unbend_square(s: np.ndarray, t: np.ndarray, bend: float, aspect: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `bend_square`. Points beyond the arc's reach (far to the sides, where
    no asset point lands) keep u = s: outside 0..1 there too, so they sample nothing."""
    phi = wrap_angle(bend)
    if phi == 0:
        return s, t
    sin_theta = (2 * s - 1) * math.sin(phi)
    outside = np.abs(sin_theta) > 1
    sin_theta = np.clip(sin_theta, -1, 1)
    theta = np.arcsin(sin_theta)
    u = np.where(outside, s, 0.5 + theta / (2 * phi))
    rise = math.copysign(aspect * math.sin(VIEW_ELEVATION) / (2 * math.sin(phi)), bend)
    return u, t + rise * (np.sqrt(1 - sin_theta ** 2) - math.cos(phi))


def bent_outline(quad: np.ndarray, bend: float, samples: int = OUTLINE_SAMPLES) -> np.ndarray:
    """The placed logo's outline in photo coordinates (pixel edges): (4 * samples) x 2 points
    from TL clockwise. With bend 0 its corners are the quad's and its sides straight."""
    f = np.linspace(0, 1, samples, endpoint=False)
    u = np.concatenate([f, np.ones_like(f), 1 - f, np.zeros_like(f)])
    v = np.concatenate([np.zeros_like(f), f, np.ones_like(f), 1 - f])
    return bent_points(quad, bend, u, v)


def bent_points(quad: np.ndarray, bend: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where the asset points (u, v) (0..1 of its width and height, pixel edges) land on the
    photo when the logo is placed on `quad` and bent by `bend`: N x 2 photo coordinates."""
    quad = np.asarray(quad, np.float64)
    s, t = bend_square(np.asarray(u, np.float64), np.asarray(v, np.float64), bend,
                       _aspect(quad))
    matrix = cv2.getPerspectiveTransform(UNIT_CORNERS.astype(np.float32),
                                         quad.astype(np.float32)).astype(np.float64)
    points = np.stack([s, t, np.ones_like(s)], axis=1) @ matrix.T
    return points[:, :2] / points[:, 2:3]


def top_middle(quad: np.ndarray, bend: float) -> np.ndarray:
    """The middle of the placed logo's top edge (photo x, y): on the quad's top edge when
    flat, on the arc beyond it (in the quad's own frame: away from the logo) when bend > 0,
    inside it when bend < 0 (the app's bend handle)."""
    return bent_points(quad, bend, np.array([0.5]), np.array([0.0]))[0]


def bend_for_top_middle(quad: np.ndarray, point: tuple[float, float]) -> float | None:
    """The bend that moves the top edge's middle to the height of `point` in the quad's own
    frame (the inverse of `top_middle`; how far `point` lies to a side does not count),
    clamped to +-BEND_LIMIT. None where `point` lies beyond the quad's horizon (a strong
    perspective), where no height in its frame matches it."""
    quad = np.asarray(quad, np.float64)
    to_unit = cv2.getPerspectiveTransform(quad.astype(np.float32),
                                          UNIT_CORNERS.astype(np.float32)).astype(np.float64)
    _sw, tw, w = to_unit @ np.array([point[0], point[1], 1.0])
    inside_w = (to_unit @ np.append(quad.mean(axis=0), 1.0))[2]
    aspect = _aspect(quad)
    if not w * inside_w > 0 or not np.isfinite(tw / w) or not aspect > 0:
        return None                   # (the sign of w flips across the horizon)
    # The top edge's middle sits at t = -sag_share(bend) * aspect in the unit square's frame.
    return bend_for_sag(-(tw / w) / aspect)


def placed_box(quad: np.ndarray, bend: float, photo_size: tuple[int, int]) -> Box | None:
    """The pixel box the placed logo covers, clipped to the photo (w, h); None outside it."""
    outline = np.asarray(quad, np.float64) if bend == 0 else bent_outline(quad, bend)
    w, h = photo_size
    x0 = max(int(np.floor(outline[:, 0].min())), 0)
    y0 = max(int(np.floor(outline[:, 1].min())), 0)
    x1 = min(int(np.ceil(outline[:, 0].max())), w)
    y1 = min(int(np.ceil(outline[:, 1].max())), h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def warp_asset(asset: np.ndarray, quad: np.ndarray, photo_size: tuple[int, int],
               bend: float = 0.0) -> tuple[np.ndarray, Box] | None:
    """Warp an RGBA uint8 asset so its outer corners land on `quad` (TL, TR, BR, BL, pixel
    edges), bent round a cylinder by `bend` percent. Returns the premultiplied float32 RGBA
    (0..1) over its box and the box, or None when nothing of it lands in the photo (w, h).

    Only the placed logo's box (inside the photo) is computed, never the whole photo.
    """
    quad = np.asarray(quad, np.float64)
    box = placed_box(quad, bend, photo_size)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    src = asset.astype(np.float32) / 255.0
    src[..., :3] *= src[..., 3:4]
    # Shrink a much larger asset first (area averaging), so the warp does not alias.
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    scale = max(sides[0], sides[2]) / src.shape[1], max(sides[1], sides[3]) / src.shape[0]
    if max(scale) < 0.5:
        nw = max(1, int(round(src.shape[1] * scale[0] * 1.5)))
        nh = max(1, int(round(src.shape[0] * scale[1] * 1.5)))
        src = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
    if bend == 0:
        warped = _perspective(src, quad, box)
    else:
        warped = _bent(src, quad, box, bend)
    if not (warped[..., 3] >= 0.5 / 255.0).any():
        return None
    return warped, box


def _perspective(src: np.ndarray, quad: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    sh, sw = src.shape[:2]
    # Pixel-edge corners to OpenCV's pixel-centre coordinates: subtract half a pixel.
    corners = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32) - 0.5
    dst = (quad - np.array([x0, y0]) - 0.5).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, dst)
    return cv2.warpPerspective(src, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _bent(src: np.ndarray, quad: np.ndarray, box: Box, bend: float) -> np.ndarray:
    """The bent warp as an inverse map: each box pixel's centre goes back through the quad's
    perspective and the bend to the asset pixel it samples.

    The map is smooth, so it is computed on a grid every MAP_STEP pixels (one cell beyond
    the box on each side) and interpolated bilinearly to every pixel (itself a remap): 16x
    fewer evaluations, which keeps a live step of the Bend slider quick on a large logo."""
    x0, y0, x1, y1 = box
    sh, sw = src.shape[:2]
    cols = (x1 - x0 - 1) // MAP_STEP + 3
    rows = (y1 - y0 - 1) // MAP_STEP + 3
    gx, gy = np.meshgrid(x0 + 0.5 + MAP_STEP * (np.arange(cols, dtype=np.float64) - 1),
                         y0 + 0.5 + MAP_STEP * (np.arange(rows, dtype=np.float64) - 1))
    to_unit = cv2.getPerspectiveTransform(quad.astype(np.float32),
                                          UNIT_CORNERS.astype(np.float32)).astype(np.float64)
    d = to_unit[2, 0] * gx + to_unit[2, 1] * gy + to_unit[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (to_unit[0, 0] * gx + to_unit[0, 1] * gy + to_unit[0, 2]) / d
        t = (to_unit[1, 0] * gx + to_unit[1, 1] * gy + to_unit[1, 2]) / d
    u, v = unbend_square(s, t, bend, _aspect(quad))
    behind = ~(d > 0) | ~np.isfinite(u) | ~np.isfinite(v)
    # Far outside the asset (sampled as transparent border) where nothing maps.
    coarse = np.stack([np.where(behind, -2.0, np.clip(u * sw - 0.5, -2.0, sw + 1.0)),
                       np.where(behind, -2.0, np.clip(v * sh - 0.5, -2.0, sh + 1.0))],
                      axis=2).astype(np.float32)
    fine_x = (np.arange(x1 - x0, dtype=np.float32) / MAP_STEP + 1)[None, :]
    fine_y = (np.arange(y1 - y0, dtype=np.float32) / MAP_STEP + 1)[:, None]
    fine = cv2.remap(coarse, np.broadcast_to(fine_x, (y1 - y0, x1 - x0)).copy(),
                     np.broadcast_to(fine_y, (y1 - y0, x1 - x0)).copy(),
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.remap(src, fine[..., 0], fine[..., 1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def quad_inside_arc(quad: np.ndarray, bend: float) -> np.ndarray:
    """The quad whose outline, bent by `bend`, spans the height of `quad`.

    A mark printed round a cylinder fills a box taller than its own flat quad by the arc's
    sag (the middle of its top edge rises above the corners, or its bottom edge's middle sags
    below them). Given that box as a quad and the mark's bend, this is the flat quad to place
    a logo on with that bend so that it covers the same ground: the top corners come down
    the sides by the sag (bend > 0), or the bottom corners go up (bend < 0), at most half-way.
    """
    quad = np.asarray(quad, np.float64).copy()
    share = min(abs(sag_share(bend)) * _aspect(quad), 0.5)
    if bend > 0:
        quad[[0, 1]] += share * (quad[[3, 2]] - quad[[0, 1]])
    elif bend < 0:
        quad[[3, 2]] -= share * (quad[[3, 2]] - quad[[0, 1]])
    return quad


def bend_for_width(bend: float, fraction: float) -> float:
    """The bend of a logo `fraction` as wide as one bent by `bend`, on the same cylinder:
    it covers a smaller arc of it (the same radius, sin(phi') = fraction * sin(phi))."""
    phi = wrap_angle(bend)
    if phi == 0 or fraction <= 0:
        return 0.0
    narrower = math.asin(min(fraction * math.sin(phi), 1.0))
    return math.copysign(narrower / MAX_WRAP * BEND_LIMIT, bend)
