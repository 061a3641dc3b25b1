"""Splitting a mask into separate working crops when it holds marks far apart.

One crop around two small logos in opposite corners of a 24 MP photo would be the whole
photo; a crop per group of nearby mask parts keeps the cost following the logos' size.
"""

from __future__ import annotations

import cv2
import numpy as np

from layerlift.inference.crop import CropBox, crop_around, extract, mask_bbox, working_crop

# With more separate parts than this (a speckled mask) one crop is simpler and no slower.
MAX_PARTS = 64


def overlaps(a: CropBox, b: CropBox) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def mask_regions(mask: np.ndarray) -> list[tuple[CropBox, np.ndarray]]:
    """Working crops covering the mask, each with its own part of the mask (window coords).

    Parts whose crops overlap share a crop, so no crop holds another crop's mark as if it
    were plain surface.
    """
    whole = working_crop(mask)
    bx0, by0, bx1, by1 = mask_bbox(mask)
    local = np.ascontiguousarray(mask[by0:by1, bx0:bx1]).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(local, connectivity=8)
    if n - 1 <= 1 or n - 1 > MAX_PARTS:
        return [(whole, extract(mask, whole))]
    # Each part: its bbox in photo coordinates; groups merge while their crops overlap.
    groups = []
    for label in range(1, n):
        x, y, w, h = stats[label, :4]
        groups.append(([label], (bx0 + x, by0 + y, bx0 + x + w, by0 + y + h)))
    merged = True
    while merged and len(groups) > 1:
        merged = False
        boxes = [crop_around(bbox, mask.shape) for _, bbox in groups]
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if overlaps(boxes[i], boxes[j]):
                    (la, a), (lb, b) = groups[i], groups[j]
                    union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    groups[i] = (la + lb, union)
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    if len(groups) == 1:
        return [(whole, extract(mask, whole))]
    regions = []
    for members, bbox in groups:
        box = crop_around(bbox, mask.shape)
        window = extract_labels(labels, (bx0, by0), box)
        regions.append((box, np.isin(window, members)))
    return regions


def extract_labels(labels: np.ndarray, origin: tuple[int, int], box: CropBox) -> np.ndarray:
    """The window `box` (photo coordinates) of a label image that starts at `origin`;
    0 (no part) outside it."""
    ox, oy = origin
    h, w = labels.shape
    out = np.zeros((box.side, box.side), labels.dtype)
    x0, y0 = max(box.x0, ox), max(box.y0, oy)
    x1, y1 = min(box.x1, ox + w), min(box.y1, oy + h)
    if x1 > x0 and y1 > y0:
        out[y0 - box.y0:y1 - box.y0, x0 - box.x0:x1 - box.x0] = labels[y0 - oy:y1 - oy,
                                                                      x0 - ox:x1 - ox]
    return out
