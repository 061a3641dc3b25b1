"""The rest of an opaque print: its parts apart from what was found, in the print's own inks.

The departure score and the colour cut find most of a print, but on a busy surface a part
standing apart (the head of a pictogram, the dot of an i) can hide among the texture for
both. A print has a few inks and its parts are solid areas of them: once part of the print
is found, the mask's other solid areas of the same inks join it when they lie wholly inside
the mask (surface of an ink's colour runs on past the mask's edge) and are as flat inside as
the ink is.
Measured on the real-marks benchmark (mask prompt, 96 cases of fixed and fresh seeds): on
fresh seeds cases leaving more than 5 % of the mark behind 8 -> 7 and median gain over TELEA
+2.93 -> +3.11 dB; the fixed seeds' medians do not move; one watermark taken for a print
loses 0.6 dB (left-behind 11 -> 6 %).
"""

from __future__ import annotations

import cv2
import numpy as np

from layerlift.inference.engines.classical.support import colour_clusters, to_lab
from layerlift.inference.morphology import disk

# Up to this many inks are read off the print's core pixels (k-means in Lab) ...
MAX_INKS = 3
# ... and a pixel is of an ink within this many times the ink's own spread (Lab units, the
# spread at least INK_FLOOR).
INK_SPREAD = 1.5
INK_FLOOR = 3.0
# A part joins with at least this many pixels and this share of the print found so far ...
MIN_PART_PX = 20
MIN_PART_SHARE = 0.01
# ... and with a mean detail inside at most this multiple of the ink's (plus a noise floor):
# a print is flat; the crevices of gravel that share a dark ink are not.
FLAT_FACTOR = 2.0
DETAIL_NOISE = 2.0 / 255
# Candidates are opened by a disc of this share of the print's median stroke half-width: a
# part as solid as the print stays, thin runs of surface go.
OPEN_SHARE = 0.6


def square(radius: int) -> np.ndarray:
    return np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)


def ink_distance(lab: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Each pixel's distance to the nearest ink, in units of INK_SPREAD times its spread."""
    samples = lab[core].astype(np.float32)
    centres, spreads = colour_clusters(samples, int(min(MAX_INKS, max(1, len(samples) // 50))))
    best = np.full(lab.shape[:2], np.inf, np.float32)
    for centre, spread in zip(centres, spreads, strict=True):
        if np.isnan(spread):
            continue
        best = np.minimum(best, np.sqrt(((lab - centre) ** 2).sum(axis=2)) /
                          (INK_SPREAD * max(float(spread), INK_FLOOR)))
    return best


def solid_candidates(lab: np.ndarray, mask: np.ndarray, mark: np.ndarray,
                     core: np.ndarray) -> np.ndarray:
    """The mask's pixels of the print's inks, away from the print found, opened to solid
    areas as wide as the print's strokes."""
    near = cv2.dilate(mark.astype(np.uint8), square(2)) > 0
    candidates = (ink_distance(lab, core) < 1.0) & mask & ~near
    width = cv2.distanceTransform(mark.astype(np.uint8), cv2.DIST_L2, 3)
    radius = int(max(1, round(OPEN_SHARE * float(np.median(width[mark])))))
    return cv2.morphologyEx(candidates.astype(np.uint8), cv2.MORPH_OPEN, disk(radius)) > 0


def ink_completion(img: np.ndarray, mask: np.ndarray, mark: np.ndarray,
                   core: np.ndarray) -> np.ndarray:
    """`mark` grown by the mask's solid areas of the print's inks that lie inside the mask.

    img: float RGB crop in [0, 1]; core: the print's full-strength pixels (matting.core_of).
    """
    core = cv2.erode(core.astype(np.uint8), square(2)) > 0
    if core.sum() < MIN_PART_PX:
        return mark
    candidates = solid_candidates(to_lab(img), mask, mark, core)
    count, labels = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mark
    rim = mask & ~(cv2.erode(mask.astype(np.uint8), square(1), borderType=cv2.BORDER_CONSTANT,
                             borderValue=0) > 0)
    detail = np.abs(cv2.Laplacian(img.mean(axis=2).astype(np.float32), cv2.CV_32F))
    # (a part's detail is judged off its edge, as the ink's core is; a part too thin to have
    # pixels off its edge is judged over all of it)
    inside = cv2.erode(candidates.astype(np.uint8), square(2)) > 0
    interior = np.bincount(labels[inside], minlength=count)
    judged = (inside | (interior[labels] == 0)).ravel()
    judged_labels = labels.ravel()[judged]
    part_detail = np.bincount(judged_labels, detail.ravel()[judged], count) / \
        np.maximum(np.bincount(judged_labels, minlength=count), 1)
    size = np.bincount(labels.ravel(), minlength=count)
    keep = (size >= max(MIN_PART_PX, MIN_PART_SHARE * mark.sum())) & \
        (part_detail <= FLAT_FACTOR * float(detail[core].mean()) + DETAIL_NOISE)
    keep[np.unique(labels[rim])] = False
    keep[0] = False
    # each part with its antialiased rim
    grown = (cv2.dilate(keep[labels].astype(np.uint8), square(1)) > 0) & mask
    return mark | grown
