"""One click selects the logo: the loose mask a user would have brushed round the clicked mark.

No weights: colour and connectivity, on a window round the click(s) shrunk to at most
WORK_SIDE px.
1. The clicked part: the connected pixels near the clicked colour. When that floods (the
   surface has the ink's colour too: it reaches the window's edge or takes too much of it),
   the colour's reach is narrowed; when it still floods, a small disc round the click
   stands for the part.
2. The mark's other parts join in rounds: within a gap of the group (the letters of a word,
   an icon and its word), pixels near the clicked colour, or of a colour the surface in a
   ring round the group lacks (the second ink of an emblem). A part that reaches the
   window's edge, or is far larger than the group, is surface and never joins.
3. The mask is the group's box grown by a small margin: the classical engine finds the mark
   inside a box well, and a compact box costs far less than a flood (measured in
   tests/benchmarks/select_marks.py).
When the group reaches the window's edge the window doubles, up to the photo (or the box).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from layerlift.inference.errors import InputError

Point = tuple[float, float]
Box = tuple[int, int, int, int]

WORK_SIDE = 320
# The first window's side: this share of the photo's shorter side, at least MIN_WINDOW px.
FIRST_WINDOW = 0.5
MIN_WINDOW = 384
# Lab distance from the clicked colour that still counts as that colour, tolerance 0 -> 1.
CLICK_REACH = (6.0, 26.0)
# While the clicked part floods, the reach is narrowed by these factors in turn.
NARROWING = (1.0, 0.6, 0.35)
# The clicked part floods when it takes more than this share of the window.
FLOOD_SHARE = 0.2
# Parts join within this share of the clicked part's shorter side (at least MIN_GAP px).
GAP_SHARE = 0.8
MIN_GAP = 3
# The surface's colours: k-means of a ring this many gaps wide just outside the search zone.
RING_GAPS = 2
SURFACE_CLUSTERS = 6
# A colour this far (Lab) beyond a surface cluster's own spread is foreign to the surface.
FOREIGN_MARGIN = 14.0
# A joining part may be at most this many times the group's area (larger is surface).
MAX_PART_GROWTH = 3.0
# The group reaches at most this many times the clicked part's larger side.
EXTENT_CAP = 6.0
ROUNDS = 6
# Specks smaller than this share of the clicked part do not join.
MIN_PART_SHARE = 0.01
# The mask's margin round the group's box: this share of its shorter side + MARGIN_PX.
MARGIN_SHARE = 0.04
MARGIN_PX = 4


def select_mark(image: np.ndarray, points: Sequence[Point], box: Box | None = None,
                tolerance: float = 0.5) -> np.ndarray:
    """HxW bool mask covering the mark under `points` ((x, y) photo pixels), with a margin.

    `box` (x0, y0, x1, y1, exclusive ends) bounds the search; `tolerance` in [0, 1] widens
    what counts as the clicked colour. Raises InputError for bad points, box or tolerance.
    """
    h, w = _check(image, points, box, tolerance)
    bounds = box if box is not None else (0, 0, w, h)
    side = max(MIN_WINDOW, int(FIRST_WINDOW * min(h, w)))
    while True:
        window = _window_round(points, side, bounds)
        # Inside the user's own box the mark may fill most of the window.
        boxed = box is not None and window == bounds
        found, fits = _select_in_window(image, points, window, tolerance, boxed)
        if fits or window == bounds:
            return _to_mask(found, window, (h, w), bounds)
        side *= 2


def _check(image: np.ndarray, points: Sequence[Point], box: Box | None,
           tolerance: float) -> tuple[int, int]:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError("select needs an HxWx3 uint8 photo")
    h, w = image.shape[:2]
    if not points:
        raise InputError("select needs at least one point on the logo")
    for x, y in points:
        if not (0 <= x < w and 0 <= y < h):  # also refuses nan
            raise InputError(f"point {x:g},{y:g} lies outside the {w}x{h} photo")
    if not 0.0 <= tolerance <= 1.0:
        raise InputError(f"tolerance must lie in [0, 1], got {tolerance}")
    if box is not None:
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            raise InputError(f"box {x0},{y0},{x1},{y1} has no area: need X1 > X0 and Y1 > Y0")
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            raise InputError(f"box {x0},{y0},{x1},{y1} reaches outside the {w}x{h} photo")
        for x, y in points:
            if not (x0 <= x < x1 and y0 <= y < y1):
                raise InputError(f"point {x:g},{y:g} lies outside the box {x0},{y0},{x1},{y1}")
    return h, w


def _window_round(points: Sequence[Point], side: int, bounds: Box) -> Box:
    """A window of about `side` px holding all the points, inside `bounds`."""
    xs, ys = [int(p[0]) for p in points], [int(p[1]) for p in points]
    bx0, by0, bx1, by1 = bounds
    half_w = (max(xs) - min(xs) + side) // 2
    half_h = (max(ys) - min(ys) + side) // 2
    cx, cy = (min(xs) + max(xs)) // 2, (min(ys) + max(ys)) // 2
    return (max(bx0, cx - half_w), max(by0, cy - half_h),
            min(bx1, cx + half_w + 1), min(by1, cy + half_h + 1))


def _select_in_window(image: np.ndarray, points: Sequence[Point], window: Box,
                      tolerance: float, boxed: bool) -> tuple[tuple[float, float, float, float],
                                                              bool]:
    """The mark's box in photo pixels (x0, y0, x1, y1) and whether it fits in the window
    (it does not reach the window's edge)."""
    x0, y0, x1, y1 = window
    crop = image[y0:y1, x0:x1]
    scale = min(1.0, WORK_SIDE / max(crop.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(crop, (3, 3), 0).astype(np.float32) / 255.0,
                       cv2.COLOR_RGB2Lab)
    hh, ww = lab.shape[:2]
    seeds = [(min(ww - 1, int((x - x0) * scale)), min(hh - 1, int((y - y0) * scale)))
             for x, y in points]
    near_click, clicked = _clicked_part(lab, seeds, tolerance, 1.0 if boxed else FLOOD_SHARE)
    group = _grow_group(lab, near_click, clicked)
    ys, xs = np.nonzero(group)
    gx0, gy0, gx1, gy1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    edge = 1
    fits = gx0 >= edge and gy0 >= edge and gx1 <= ww - edge and gy1 <= hh - edge
    return ((x0 + gx0 / scale, y0 + gy0 / scale, x0 + gx1 / scale, y0 + gy1 / scale), fits)


def _clicked_part(lab: np.ndarray, seeds: list[tuple[int, int]], tolerance: float,
                  flood_share: float) -> tuple[np.ndarray, np.ndarray]:
    """(pixels near a clicked colour, the connected part of them under the clicks)."""
    reach = CLICK_REACH[0] + tolerance * (CLICK_REACH[1] - CLICK_REACH[0])
    colours = [np.median(lab[max(0, y - 1):y + 2, max(0, x - 1):x + 2].reshape(-1, 3), axis=0)
               for x, y in seeds]
    dist = np.min([np.linalg.norm(lab - c, axis=2) for c in colours], axis=0)
    for narrowing in NARROWING:
        near = dist <= reach * narrowing
        part = _parts_under(near, seeds)
        if part.any() and not _floods(part, flood_share):
            return near, part
    # The clicked colour is everywhere: a disc round each click stands for the part.
    part = np.zeros(lab.shape[:2], bool)
    radius = max(2, int(0.02 * max(lab.shape[:2])))
    for x, y in seeds:
        cv2.circle(part.view(np.uint8), (x, y), radius, 1, -1)
    return dist <= reach * NARROWING[-1], part


def _parts_under(near: np.ndarray, seeds: list[tuple[int, int]]) -> np.ndarray:
    _, labels = cv2.connectedComponents(near.astype(np.uint8), connectivity=8)
    ids = {int(labels[y, x]) for x, y in seeds} - {0}
    return np.isin(labels, list(ids)) if ids else np.zeros(near.shape, bool)


def _floods(part: np.ndarray, share: float) -> bool:
    return bool(part.mean() > share or _touches_edge(part))


def _touches_edge(part: np.ndarray) -> bool:
    return bool(part[0].any() or part[-1].any() or part[:, 0].any() or part[:, -1].any())


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _grow_group(lab: np.ndarray, near_click: np.ndarray, clicked: np.ndarray) -> np.ndarray:
    """The clicked part and every part joined to it in rounds (see the module's step 2)."""
    hh, ww = lab.shape[:2]
    cx0, cy0, cx1, cy1 = _bbox(clicked)
    gap = max(MIN_GAP, int(GAP_SHARE * min(cx1 - cx0, cy1 - cy0)))
    cap = EXTENT_CAP * max(cx1 - cx0, cy1 - cy0)
    min_part = max(2, int(MIN_PART_SHARE * clicked.sum()))
    group = clicked.copy()
    for _ in range(ROUNDS):
        gx0, gy0, gx1, gy1 = _bbox(group)
        zone = _grown_box((gx0, gy0, gx1, gy1), gap, (hh, ww))
        ring = _grown_box((gx0, gy0, gx1, gy1), gap * (1 + RING_GAPS), (hh, ww)) & ~zone
        candidates = near_click | _foreign(lab, ring)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            candidates.astype(np.uint8), connectivity=8)
        touching = np.unique(labels[zone & candidates & ~group])
        area = int(group.sum())
        added = False
        for i in touching[touching > 0]:
            x, y, bw, bh, n = stats[i]
            if n < min_part or n > MAX_PART_GROWTH * area:
                continue
            if x == 0 or y == 0 or x + bw >= ww or y + bh >= hh:
                continue  # reaches the window's edge: surface, or a window too small
            ux0, uy0 = min(gx0, x), min(gy0, y)
            ux1, uy1 = max(gx1, x + bw), max(gy1, y + bh)
            if max(ux1 - ux0, uy1 - uy0) > cap:
                continue
            group |= labels == i
            added = True
        if not added:
            break
    return group


def _grown_box(box: tuple[int, int, int, int], by: int, shape: tuple[int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    out = np.zeros(shape, bool)
    out[max(0, y0 - by):y1 + by, max(0, x0 - by):x1 + by] = True
    return out


def _foreign(lab: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Pixels whose colour lies beyond every surface colour found in the ring."""
    samples = lab[ring]
    if len(samples) < SURFACE_CLUSTERS * 4:
        return np.zeros(lab.shape[:2], bool)
    rng = np.random.default_rng(0)
    if len(samples) > 1500:
        samples = samples[rng.choice(len(samples), 1500, replace=False)]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(samples.astype(np.float32), SURFACE_CLUSTERS, None,
                                    criteria, 1, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    spread = np.array([np.percentile(np.linalg.norm(samples[labels == k] - centres[k], axis=1),
                                     95) if (labels == k).any() else 0.0
                       for k in range(SURFACE_CLUSTERS)])
    flat = lab.reshape(-1, 3)
    far = np.ones(len(flat), bool)
    for k in range(SURFACE_CLUSTERS):
        far &= np.linalg.norm(flat - centres[k], axis=1) > spread[k] + FOREIGN_MARGIN
    return far.reshape(lab.shape[:2])


def _to_mask(found: tuple[float, float, float, float], window: Box, shape: tuple[int, int],
             bounds: Box) -> np.ndarray:
    """The found box grown by the margin, as a photo-sized mask inside `bounds`."""
    x0, y0, x1, y1 = found
    margin = MARGIN_SHARE * min(x1 - x0, y1 - y0) + MARGIN_PX
    bx0, by0, bx1, by1 = bounds
    mask = np.zeros(shape, bool)
    mask[max(by0, int(y0 - margin)):min(by1, int(np.ceil(y1 + margin))),
         max(bx0, int(x0 - margin)):min(bx1, int(np.ceil(x1 + margin)))] = True
    return mask
