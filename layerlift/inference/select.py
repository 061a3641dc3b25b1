"""One click selects the logo: the loose mask a user would have brushed round the clicked mark.

No weights: colour and connectivity, on a window round the click(s) shrunk to at most
WORK_SIDE px.
1. The clicked part: the connected pixels near the clicked colour, at the widest reach
   that is stable (narrowing the reach one step keeps most of the part: a part bounded by
   an edge), or whose narrower reach leaves fragments all over it (a watermark, whose colour
   follows the surface under it). A part that floods (reaches the window's edge or takes
   too much of it) is refused; when every reach floods, a small disc round the click stands
   for the part.
2. The mark's other parts join in rounds: within a gap of the group (the letters of a word,
   an icon and its word), parts near the clicked colour (at the strictly stable reach) that
   depart from the surface round them as the clicked part does, and parts of a colour that
   the surface lacks (the second ink of an emblem; a large one must depart alike too).
   The surface's colours come from a ring round the group, a few gaps out so that the rest
   of a word is not taken for surface; a minor ring colour the window's border lacks is
   taken for more of the mark. A part is
   surface, never joined, when it reaches the window's edge, surrounds the group (the
   product or label the mark is on), is far larger than the group, spreads the group thin
   (a mark fills its box; specks of texture do not), or stretches the group beyond a word's
   length one way or an emblem's breadth the other.
3. Along the row: the rest of a word, or the word of an icon + word lockup, is often neither
   the clicked colour nor foreign to a busy surface round the whole group. Beside the group,
   chunk by chunk along its rows, a chunk is more of the mark while it holds colours that
   the rows just above and below it lack (or that depart from them as the clicked part
   does), and the rows further out do not; the band follows a tilted word. The row must
   end within a word's length (a surface structure that runs on is not taken).
4. The mask is the convex hull of the group (and of the row it runs along), grown by a
   small margin: it hugs the mark as a brushed mask does, and the classical engine leaves
   less of the mark, and fills less surface, than in the group's box (measured in
   tests/benchmarks/select_marks.py).
When a part near the group was refused only for reaching the window's edge, or the group
or the clicked part touches it, the window grows (WINDOW_GROWTH), up to the photo (or the box).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from layerlift.inference.errors import InputError

Point = tuple[float, float]
Box = tuple[int, int, int, int]

WORK_SIDE = 320
# A large window is sampled down to this many source pixels per working pixel (each way)
# before it is area-averaged to the working size.
AREA_SAMPLES = 2
# The first window's side: this share of the photo's shorter side, at least MIN_WINDOW px.
FIRST_WINDOW = 0.5
MIN_WINDOW = 768
# While the found mark reaches the window's open side, the window's side grows this many times.
WINDOW_GROWTH = 4
# Lab distance from the clicked colour that still counts as that colour, tolerance 0 -> 1.
CLICK_REACH = (6.0, 30.0)
# The reaches tried, widest first: a fixed ladder, each 0.6 times the one before, of which
# a tolerance allows those up to its own reach (0.5 allows 16 and down; 0.86 and up, 26.7).
# A higher tolerance only adds wider reaches, so the clicked part it finds is the same or
# wider. (When the reaches were the tolerance's own reach narrowed in steps, a higher one
# could settle on a narrower part: on the sample's patch 0.5 took all of it, 0.9 a quarter.)
REACHES = tuple(16.0 * 0.6 ** k for k in range(-1, 6))
# A clicked part is stable when narrowing the reach one step keeps 1 / STABLE_GROWTH of it,
# or keeps 1 / FRAGMENT_GROWTH of it spread evenly over it: FRAGMENT_SHARE of the part lies
# within FRAGMENT_PX of the narrower reach's pixels. A watermark's colour follows the surface
# under it, so a narrower reach breaks it into fragments all over; a leak into the surface
# through a soft boundary loses its new pixels at once.
STABLE_GROWTH = 3.0
FRAGMENT_GROWTH = 12.0
FRAGMENT_SHARE = 0.75
FRAGMENT_PX = 2
# The clicked part floods when it takes more than this share of the window.
FLOOD_SHARE = 0.2
# Parts join within this share of the clicked part's shorter side (at least MIN_GAP px).
GAP_SHARE = 1.5
MIN_GAP = 3
# The surface's colours: k-means of a ring RING_WIDTH gaps wide, RING_START gaps out from
# the group's box (clear of the mark's parts that the next rounds join).
RING_START = 3
RING_WIDTH = 2
SURFACE_CLUSTERS = 6
# A colour this far (Lab) beyond a surface cluster's own spread is foreign to the surface.
FOREIGN_MARGIN = 14.0
SURFACE_SAMPLES = 1500
# A ring colour with less than this share of the ring, which the window's border lacks, is
# taken for more of the mark, not surface.
MINOR_COLOUR = 0.12
# The window's border (this many working px) shows the surface far from the mark.
BORDER = 8
# A joining part may be at most this many times the group's area (larger is surface).
MAX_PART_GROWTH = 12.0
# ... and span at most this many times the group's box in either direction.
MAX_PART_SPAN = 3.0
# The group reaches at most EXTENT_CAP times the clicked part's larger side one way (a word
# runs along its line) and BREADTH_CAP times the other way (an emblem round its centre).
EXTENT_CAP = 10.0
BREADTH_CAP = 3.0
ROUNDS = 6
# The group with a joining part fills at least this share of its box (marks: 0.14-0.9).
MIN_DENSITY = 0.12
# A part of the clicked colour joins only when it departs from the surface round it as the
# clicked part does: its colour less that of the ring round it (half a gap wide) is at least
# SAME_WAY_SIZE of the clicked part's and points the same way (cosine >= SAME_WAY_COS). A
# patch of the ink's colour on a darker product is lighter than what is round it, the ink
# on the mug darker. A colour the surface lacks passes the same test when the part is more
# than BIG_FOREIGN times the group (large parts are what floods); a small second ink need
# not depart as the first does.
SAME_WAY_SIZE = 0.35
SAME_WAY_COS = 0.5
BIG_FOREIGN = 2.0
# Specks smaller than this share of the clicked part do not join.
MIN_PART_SHARE = 0.04
# Along the row (step 3): chunks ROW_CHUNK of the band's height wide; a chunk's pixel is
# more of the mark when it lies more than ROW_FAR (Lab) from every one of ROW_SAMPLES
# pixels of the rows just above and below (half the band's height each), or when it lies
# further along the clicked part's departure than ROW_PERCENTILE of those rows, plus
# ROW_DEPARTURE of the departure's size. A chunk is marked when ROW_SHARE of its pixels
# are, and the rows one more half-height out hold less than ROW_OUTER of that share (a
# colour confined to the row). One unmarked chunk may lie between marked ones (the gap
# between an icon and its word); the row must end within ROW_CAP band heights, and a band
# taller than ROW_TALL of the window is not followed (a flood).
ROW_CHUNK = 0.5
ROW_FAR = 12.0
ROW_SAMPLES = 48
ROW_PERCENTILE = 95
ROW_DEPARTURE = 0.1
ROW_SHARE = 0.12
ROW_OUTER = 0.5
ROW_SKIP = 1
ROW_CAP = 10.0
ROW_TALL = 0.33
# The mask's margin round the group's hull: this share of the group's shorter side +
# MARGIN_PX photo px, or MARGIN_WORK_PX working px where that is more (the hull is found
# at the working size: on a 24 MP photo a working pixel is 6 photo px).
MARGIN_SHARE = 0.04
MARGIN_PX = 6
MARGIN_WORK_PX = 3.75


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
        outline, fits = _select_in_window(image, points, window, tolerance, boxed,
                                          _open_sides(window, bounds))
        if fits or window == bounds:
            return _to_mask(outline, (h, w), bounds)
        # Each window costs about the same (the working size): growing 4x instead of 2x
        # skips a window. On 24 MP copies of 24 real-mark cases: CPU per click median 75 ->
        # 59 ms, max 154 -> 113 ms; coverage median 0.92 -> 0.94.
        side *= WINDOW_GROWTH


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


Sides = tuple[bool, bool, bool, bool]  # top, bottom, left, right


def _open_sides(window: Box, bounds: Box) -> Sides:
    """The window's sides it can still grow past: not the photo's (or the box's) own edge,
    where a part that reaches it is cut by the frame, not a flood."""
    return (window[1] > bounds[1], window[3] < bounds[3], window[0] > bounds[0],
            window[2] < bounds[2])


def _select_in_window(image: np.ndarray, points: Sequence[Point], window: Box,
                      tolerance: float, boxed: bool, sides: Sides) -> tuple[np.ndarray, bool]:
    """The mask's outline (a convex polygon, n x 2 photo pixels x, y) and whether the mark
    fits in the window (it does not reach one of the window's open sides)."""
    x0, y0, x1, y1 = window
    crop, scale = _work_crop(image[y0:y1, x0:x1])
    lab = cv2.cvtColor(cv2.GaussianBlur(crop, (3, 3), 0).astype(np.float32) / 255.0,
                       cv2.COLOR_RGB2Lab)
    hh, ww = lab.shape[:2]
    seeds = [(min(ww - 1, int((x - x0) * scale)), min(hh - 1, int((y - y0) * scale)))
             for x, y in points]
    near_click, clicked, cut = _clicked_part(lab, seeds, tolerance,
                                             1.0 if boxed else FLOOD_SHARE, sides)
    group, blocked, departure = _grow_group(lab, near_click, clicked, sides)
    fits = not cut and not blocked and not _touches_edge(group, sides)
    row = _along_the_row(lab, _bbox(group), departure)
    return _outline(group, row, scale, (x0, y0)), fits


def _outline(group: np.ndarray, row: tuple[int, int, int, int], scale: float,
             origin: tuple[int, int]) -> np.ndarray:
    """The convex hull of the group and of the row it runs along (working pixels), grown by
    the margin, in photo pixels."""
    points = [np.argwhere(group)[:, ::-1]]  # x, y
    rx0, ry0, rx1, ry1 = row
    if row != _bbox(group):  # (the row's box: its letters lie all along it)
        points.append(np.array([[rx0, ry0], [rx1 - 1, ry0], [rx0, ry1 - 1],
                                [rx1 - 1, ry1 - 1]]))
    hull = cv2.convexHull(np.concatenate(points).astype(np.float32)).reshape(-1, 2)
    # (pixel centres: the hull of a part's pixels runs half a pixel inside its edge)
    hull = (hull + 0.5) / scale + np.array(origin, np.float32)
    side = min(np.ptp(hull[:, 0]), np.ptp(hull[:, 1])) + 1 / scale
    margin = MARGIN_SHARE * side + max(MARGIN_PX, MARGIN_WORK_PX / scale) + 0.5 / scale
    # Grown by the margin: the hull of a disc of points round each corner.
    turn = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    disc = np.stack([np.cos(turn), np.sin(turn)], 1) * margin
    grown = (hull[:, None] + disc[None]).reshape(-1, 2).astype(np.float32)
    return cv2.convexHull(grown).reshape(-1, 2)


def _along_the_row(lab: np.ndarray, box: tuple[int, int, int, int],
                   departure: np.ndarray | None) -> tuple[int, int, int, int]:
    """The group's box run on along its rows to the rest of the mark (module step 3)."""
    x0, y0, x1, y1 = box
    hh, ww = lab.shape[:2]
    h = y1 - y0
    if h > ROW_TALL * hh:
        return box
    unit = None
    if departure is not None and np.linalg.norm(departure) > 1:
        unit = (departure / np.linalg.norm(departure)).astype(np.float32)
        departure_size = float(np.linalg.norm(departure))
    half = max(2, h // 2)
    step = max(2, int(ROW_CHUNK * h))
    ends = [x0, x1]
    rows = [y0, y1]
    rng = np.random.default_rng(0)
    for way in (1, -1):
        edge, end = (x1, x1) if way == 1 else (x0, x0)
        band, spanned = (y0, y1), [y0, y1]
        misses = 0
        while True:
            a, b = (edge, edge + step) if way == 1 else (edge - step, edge)
            a, b = max(0, a), min(ww, b)
            by, ey = band
            if b <= a or by < 0 or ey > hh or max(ends[1], b) - min(ends[0], a) > ROW_CAP * h:
                break  # the row ends here only after an unmarked chunk
            near = np.concatenate([lab[max(0, by - half):by, a:b].reshape(-1, 3),
                                   lab[ey:ey + half, a:b].reshape(-1, 3)])
            if len(near) < 8:
                break
            along = None
            if unit is not None:
                along = (unit, float(np.percentile(near @ unit, ROW_PERCENTILE))
                         + ROW_DEPARTURE * departure_size)
            if len(near) > ROW_SAMPLES:
                near = near[rng.choice(len(near), ROW_SAMPLES, replace=False)]
            marked = _unlike(lab[by:ey, a:b], near, along)
            if marked.mean() >= ROW_SHARE and _outer_share(
                    lab, (by, ey), (a, b), half, near, along) < ROW_OUTER * marked.mean():
                cols = np.nonzero(marked.any(axis=0))[0]
                end = a + int(cols.max()) + 1 if way == 1 else a + int(cols.min())
                spanned = [min(spanned[0], by), max(spanned[1], ey)]
                misses = 0
                # The band follows the marked pixels (a tilted word), a quarter height a step.
                centre = float(np.nonzero(marked)[0].mean())
                limit = max(1, h // 4)
                shift = int(np.clip(round(centre - (h - 1) / 2), -limit, limit))
                band = (by + shift, ey + shift)
            else:
                misses += 1
                if misses > ROW_SKIP:
                    break
            edge = b if way == 1 else a
        if misses:  # the row ended: it is more of the mark
            ends[0 if way == -1 else 1] = end
            rows = [min(rows[0], spanned[0]), max(rows[1], spanned[1])]
    return ends[0], rows[0], ends[1], rows[1]


def _unlike(pixels: np.ndarray, near: np.ndarray,
            along: tuple[np.ndarray, float] | None) -> np.ndarray:
    """Which of `pixels` (h x w x 3 Lab) lie more than ROW_FAR from every `near` colour, or
    further than the limit along the clicked part's departure (`along`: unit, limit)."""
    flat = np.ascontiguousarray(pixels.reshape(-1, 3), np.float32)
    closest, _ = cv2.batchDistance(flat, np.ascontiguousarray(near, np.float32), cv2.CV_32F,
                                   normType=cv2.NORM_L2SQR, K=1)
    unlike = closest[:, 0] > ROW_FAR ** 2
    if along is not None:
        unlike |= flat @ along[0] > along[1]
    return unlike.reshape(pixels.shape[:2])


def _outer_share(lab: np.ndarray, band: tuple[int, int], cols: tuple[int, int], half: int,
                 near: np.ndarray, along: tuple[np.ndarray, float] | None) -> float:
    """The share of the rows one more half-height out, above and below the band, that are
    unlike the rows next to it (a colour that is not confined to the row)."""
    (by, ey), (a, b) = band, cols
    outer = [lab[max(0, by - 2 * half):max(0, by - half), a:b], lab[ey + half:ey + 2 * half, a:b]]
    outer = [o for o in outer if o.size]
    if not outer:
        return 0.0
    return float(np.concatenate([_unlike(o, near, along).ravel() for o in outer]).mean())


def _work_crop(crop: np.ndarray) -> tuple[np.ndarray, float]:
    """The window's pixels shrunk to at most WORK_SIDE px, and the scale used.

    A large window is first sampled every few pixels, keeping AREA_SAMPLES source pixels
    per working pixel each way, then area-averaged: the cost follows the working size, not
    the window's (a whole 24 MP photo took 300 ms to area-average, its sample takes 5 ms).
    """
    scale = min(1.0, WORK_SIDE / max(crop.shape[:2]))
    if scale == 1.0:
        return crop, scale
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    step = int(1.0 / (scale * AREA_SAMPLES))
    # (each way at most as often as keeps one sample per working pixel: a window a few
    # pixels thin keeps its rows)
    sy = max(1, min(step, crop.shape[0] // size[1]))
    sx = max(1, min(step, crop.shape[1] // size[0]))
    if sy > 1 or sx > 1:
        crop = np.ascontiguousarray(crop[sy // 2::sy, sx // 2::sx])
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA), scale


def _clicked_part(lab: np.ndarray, seeds: list[tuple[int, int]], tolerance: float,
                  flood_share: float, sides: Sides) -> tuple[np.ndarray, np.ndarray, bool]:
    """(pixels near a clicked colour, the connected part of them under the clicks, whether
    a wider reach was refused only for reaching the window's open side: the clicked part may
    be larger than the window, as a large mark on a large photo is)."""
    reach = CLICK_REACH[0] + tolerance * (CLICK_REACH[1] - CLICK_REACH[0])
    colours = [np.median(lab[max(0, y - 1):y + 2, max(0, x - 1):x + 2].reshape(-1, 3), axis=0)
               for x, y in seeds]
    dist = np.min([np.linalg.norm(lab - c, axis=2) for c in colours], axis=0)
    # A part bounded by an edge keeps its size when the reach narrows; one that leaks into
    # the surface through a soft boundary shrinks: take the widest reach that is stable.
    nears = [dist <= r for r in REACHES if r <= reach + 1e-6]
    parts = [_parts_under(near, seeds) for near in nears]
    cut = any(_touches_edge(part, sides) for part in parts
              if part.any() and _floods(part, flood_share, sides))
    stable = _stable_reach(parts, nears, flood_share, sides, fragments=False)
    if stable is not None:
        # The part may take a reach its fragments pass; the colours that join it stay those
        # of the strictly stable reach (a wider reach takes in more of the surface).
        widest = _stable_reach(parts, nears, flood_share, sides, fragments=True)
        # (index 0 is the widest reach; the fragments' pass never narrows the part)
        pick = widest if widest is not None and widest <= stable else stable
        return nears[stable], parts[pick], cut
    # The clicked colour is everywhere: a disc round each click stands for the part.
    part = np.zeros(lab.shape[:2], bool)
    radius = max(2, int(0.02 * max(lab.shape[:2])))
    for x, y in seeds:
        cv2.circle(part.view(np.uint8), (x, y), radius, 1, -1)
    return nears[-1], part, cut


def _stable_reach(parts: list[np.ndarray], nears: list[np.ndarray], flood_share: float,
                  sides: Sides, fragments: bool) -> int | None:
    """The index of the widest reach whose part does not flood and is stable (with
    `fragments`, also when the narrower reach breaks it into even fragments), else of the
    widest that does not flood, else None."""
    fallback = None
    areas = [int(part.sum()) for part in parts]
    for i, part in enumerate(parts):
        if not areas[i] or _floods(part, flood_share, sides):
            continue
        if i + 1 == len(parts) or areas[i] <= STABLE_GROWTH * areas[i + 1]:
            return i
        if fragments and areas[i] <= FRAGMENT_GROWTH * areas[i + 1] and \
                _evenly_fragmented(part, nears[i + 1]):
            return i
        fallback = fallback if fallback is not None else i
    return fallback


def _evenly_fragmented(part: np.ndarray, narrower: np.ndarray) -> bool:
    """Whether the narrower reach's pixels lie all over `part` (FRAGMENT_SHARE of it is
    within FRAGMENT_PX of one)."""
    side = 2 * FRAGMENT_PX + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    close = cv2.dilate((narrower & part).view(np.uint8), kernel).view(bool)
    return bool((close & part).sum() >= FRAGMENT_SHARE * part.sum())


def _parts_under(near: np.ndarray, seeds: list[tuple[int, int]]) -> np.ndarray:
    _, labels = cv2.connectedComponents(near.astype(np.uint8), connectivity=8)
    ids = {int(labels[y, x]) for x, y in seeds} - {0}
    return np.isin(labels, list(ids)) if ids else np.zeros(near.shape, bool)


def _floods(part: np.ndarray, share: float, sides: Sides) -> bool:
    return bool(part.mean() > share or _touches_edge(part, sides))


def _touches_edge(part: np.ndarray, sides: Sides) -> bool:
    """Whether `part` reaches one of the window's open sides."""
    top, bottom, left, right = sides
    return bool((top and part[0].any()) or (bottom and part[-1].any())
                or (left and part[:, 0].any()) or (right and part[:, -1].any()))


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _grow_group(lab: np.ndarray, near_click: np.ndarray, clicked: np.ndarray,
                sides: Sides) -> tuple[np.ndarray, bool, np.ndarray | None]:
    """The clicked part and every part joined to it in rounds (see the module's step 2),
    whether a part near the group was refused for reaching the window's edge (the mark may
    run on beyond the window), and the clicked part's departure from the surface round it."""
    hh, ww = lab.shape[:2]
    cx0, cy0, cx1, cy1 = _bbox(clicked)
    gap = max(MIN_GAP, int(GAP_SHARE * min(cx1 - cx0, cy1 - cy0)))
    clicked_side = max(cx1 - cx0, cy1 - cy0)
    cap = (EXTENT_CAP * clicked_side, BREADTH_CAP * clicked_side)
    min_part = max(2, int(MIN_PART_SHARE * clicked.sum()))
    near_parts = cv2.connectedComponentsWithStats(near_click.astype(np.uint8), connectivity=8)
    border = _clusters(lab[~_grown_box((BORDER, BORDER, ww - BORDER, hh - BORDER), 0,
                                       (hh, ww))])
    group = clicked.copy()
    blocked = False
    click_departure = _departure(lab, clicked, near_click, gap)
    departs_otherwise: set[int] = set()
    for _ in range(ROUNDS):
        box = _bbox(group)
        zone = _grown_box(box, gap, (hh, ww))
        # The surface's colours from a ring beyond the zone, clear of the mark's nearby parts.
        ring = (_grown_box(box, gap * (RING_START + RING_WIDTH), (hh, ww))
                & ~_grown_box(box, gap * RING_START, (hh, ww)))
        foreign = _foreign(lab, ring, border)
        foreign_parts = cv2.connectedComponentsWithStats(foreign.astype(np.uint8),
                                                         connectivity=8)
        added = False
        # The two kinds are labelled apart, so that a foreign speck of surface touching an
        # ink part does not chain it to the surface.
        for count, labels, stats, _ in (near_parts, foreign_parts):
            area = int(group.sum())
            shared = np.bincount(labels[group], minlength=count)  # of each part, in the group
            for i in np.unique(labels[zone & ~group]):
                verdict = (_joins(stats[i], box, area, int(shared[i]), cap, min_part, (hh, ww),
                                  sides) if i else NO)
                blocked |= verdict == EDGE
                if verdict != YES:
                    continue
                near = labels is near_parts[1]
                if near and i in departs_otherwise:
                    continue
                part = labels == i
                if (near or stats[i][4] > BIG_FOREIGN * area) and \
                        not _departs_alike(lab, part, group | near_click, click_departure, gap):
                    if near:  # its labels stay from round to round: test it once
                        departs_otherwise.add(int(i))
                    continue
                if (part & ~group).any():
                    group |= part
                    added = True
        if not added:
            break
    return group, blocked, click_departure


YES, NO, EDGE = "yes", "no", "edge"


def _departure(lab: np.ndarray, part: np.ndarray, exclude: np.ndarray,
               gap: int) -> np.ndarray | None:
    """The median Lab colour of `part` less that of the ring round it (half a gap wide, not
    in `exclude`); None when the ring is too small to say."""
    r = max(2, gap // 2)
    hh, ww = part.shape
    x0, y0, x1, y1 = _bbox(part)
    x0, y0 = max(0, x0 - r - 1), max(0, y0 - r - 1)
    x1, y1 = min(ww, x1 + r + 1), min(hh, y1 + r + 1)
    inside = part[y0:y1, x0:x1]
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * r + 1, 2 * r + 1))
    ring = cv2.dilate(inside.view(np.uint8), kernel).view(bool) & ~inside & \
        ~exclude[y0:y1, x0:x1]
    if ring.sum() < 4:
        return None
    crop = lab[y0:y1, x0:x1]
    return np.median(crop[inside], axis=0) - np.median(crop[ring], axis=0)


def _departs_alike(lab: np.ndarray, part: np.ndarray, exclude: np.ndarray,
                   click: np.ndarray | None, gap: int) -> bool:
    """Whether `part` departs from the surface round it as the clicked part does (see
    SAME_WAY_SIZE); True when either cannot be told."""
    own = _departure(lab, part, exclude, gap) if click is not None else None
    if own is None or click is None:
        return True
    size, click_size = float(np.linalg.norm(own)), float(np.linalg.norm(click))
    return bool(size >= SAME_WAY_SIZE * click_size
                and float(own @ click) >= SAME_WAY_COS * size * click_size)


def _joins(stat: np.ndarray, box: tuple[int, int, int, int], area: int, shared: int,
           cap: tuple[float, float], min_part: int, shape: tuple[int, int],
           sides: Sides) -> str:
    """Whether a candidate part near the group is more of the mark (YES), surface or a
    speck (NO), or reaches the window's edge (EDGE: surface, or a window too small)."""
    x, y, bw, bh, n = (int(v) for v in stat)
    hh, ww = shape
    gx0, gy0, gx1, gy1 = box
    if n < min_part or n > MAX_PART_GROWTH * area:
        return NO
    if max(bw / (gx1 - gx0), bh / (gy1 - gy0)) > MAX_PART_SPAN:
        return NO
    span_x, span_y = max(gx1, x + bw) - min(gx0, x), max(gy1, y + bh) - min(gy0, y)
    if max(span_x, span_y) > cap[0] or min(span_x, span_y) > cap[1]:
        return NO
    if (area + n) / (span_x * span_y) < MIN_DENSITY:
        return NO  # a mark fills its box; scattered specks of texture do not
    reaches = (y == 0, y + bh >= hh, x == 0, x + bw >= ww)   # top, bottom, left, right
    if any(r and side for r, side in zip(reaches, sides, strict=True)):
        return EDGE
    if any(reaches):
        return NO  # runs off the photo itself: surface (a mark the user clicked may, not this)
    if x < gx0 and y < gy0 and x + bw > gx1 and y + bh > gy1 and shared < area / 2:
        return NO  # surrounds the group: the product or label the mark sits on
    return YES


def _grown_box(box: tuple[int, int, int, int], by: int, shape: tuple[int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    out = np.zeros(shape, bool)
    out[max(0, y0 - by):y1 + by, max(0, x0 - by):x1 + by] = True
    return out


Clusters = tuple[np.ndarray, np.ndarray, np.ndarray]  # Lab centres, spreads, weights


def _clusters(samples: np.ndarray) -> Clusters | None:
    """The surface's colours: k-means centres of Lab samples, each one's spread and weight."""
    if len(samples) < SURFACE_CLUSTERS * 4:
        return None
    if len(samples) > SURFACE_SAMPLES:
        pick = np.random.default_rng(0).choice(len(samples), SURFACE_SAMPLES, replace=False)
        samples = samples[pick]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(samples.astype(np.float32), SURFACE_CLUSTERS, None,
                                    criteria, 1, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    spread = np.array([np.percentile(np.linalg.norm(samples[labels == k] - centres[k], axis=1),
                                     95) if (labels == k).any() else 0.0
                       for k in range(SURFACE_CLUSTERS)])
    weight = np.bincount(labels, minlength=SURFACE_CLUSTERS) / len(labels)
    return centres, spread, weight


def _far_from(colours: np.ndarray, clusters: Clusters | None) -> np.ndarray:
    """Whether each Lab colour (n x 3) lies beyond every cluster's spread + FOREIGN_MARGIN."""
    far = np.ones(len(colours), bool)
    if clusters is None:
        return far
    # One colour channel at a time, squared distances against squared limits: a whole
    # window's norms per cluster cost 30 ms a round, this a few.
    channels = [np.ascontiguousarray(colours[:, i], np.float32) for i in range(3)]
    for centre, spread in zip(clusters[0], clusters[1], strict=True):
        d2 = np.square(channels[0] - np.float32(centre[0]))
        d2 += np.square(channels[1] - np.float32(centre[1]))
        d2 += np.square(channels[2] - np.float32(centre[2]))
        far &= d2 > np.float32((spread + FOREIGN_MARGIN) ** 2)
    return far


def _foreign(lab: np.ndarray, ring: np.ndarray, border: Clusters | None) -> np.ndarray:
    """Pixels whose colour the surface in the ring lacks (over the whole window, so that a
    part running on to the window's edge is seen to). A minor colour of the ring that the
    window's border lacks is left out of the ring's surface: it is likely more of the mark
    (the rest of a long word reaches into any ring round its first letters), while the
    product's own surface, which the border may lack too, fills most of the ring."""
    flat = lab.reshape(-1, 3)
    local = _clusters(lab[ring])
    if local is None:  # the ring lies beyond the window: the border is the nearest surface
        far = _far_from(flat, border) if border is not None else np.zeros(len(flat), bool)
        return far.reshape(lab.shape[:2])
    centres, spread, weight = local
    keep = (weight >= MINOR_COLOUR) | ~_far_from(centres, border)
    return _far_from(flat, (centres[keep], spread[keep], weight[keep])).reshape(lab.shape[:2])


def _to_mask(outline: np.ndarray, shape: tuple[int, int], bounds: Box) -> np.ndarray:
    """The outline filled, as a photo-sized mask inside `bounds`."""
    bx0, by0, bx1, by1 = bounds
    corners = np.round(outline).astype(np.int32)
    # Filled in its own box only: on a 24 MP photo a whole-photo fill costs tens of ms.
    x0, y0 = np.maximum(corners.min(axis=0), (bx0, by0))
    x1, y1 = np.minimum(corners.max(axis=0) + 1, (bx1, by1))
    mask = np.zeros(shape, bool)
    if x1 > x0 and y1 > y0:
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(inside, corners - (x0, y0), 1)
        mask[y0:y1, x0:x1] = inside.view(bool)
    return mask
