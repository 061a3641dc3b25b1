"""The working crop: the mask's bounding box, grown by a context margin, made square.

Engines work on this crop (resized to S x S for model engines) and paste results back into the
full photo only inside the mask, so the cost follows the logo's size, not the photo's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropBox:
    """A square window in photo coordinates; it may reach past the photo's edges."""

    x0: int
    y0: int
    side: int

    @property
    def x1(self) -> int:
        return self.x0 + self.side

    @property
    def y1(self) -> int:
        return self.y0 + self.side


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the True pixels, exclusive ends. The mask must not be empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def working_crop(mask: np.ndarray, margin: float = 0.25, min_margin: int = 16) -> CropBox:
    """Square window around the mask: its bbox grown by `margin` of its long side."""
    return crop_around(mask_bbox(mask), mask.shape[:2], margin, min_margin)


def crop_around(bbox: tuple[int, int, int, int], shape: tuple[int, int], margin: float = 0.25,
                min_margin: int = 16) -> CropBox:
    """Square window around a bbox (x0, y0, x1, y1) in a photo of `shape` (h, w)."""
    x0, y0, x1, y1 = bbox
    long_side = max(x1 - x0, y1 - y0)
    grow = max(min_margin, int(round(long_side * margin)))
    side = long_side + 2 * grow
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    h, w = shape
    bx = int(round(cx - side / 2.0))
    by = int(round(cy - side / 2.0))
    # Slide the window inside the photo where it fits, so padding is only used when needed.
    if side <= w:
        bx = min(max(bx, 0), w - side)
    if side <= h:
        by = min(max(by, 0), h - side)
    return CropBox(bx, by, side)


def extract(image: np.ndarray, box: CropBox, size: int | None = None,
            nearest: bool = False) -> np.ndarray:
    """The window's pixels (edge-replicated past the photo), resized to size x size if given."""
    h, w = image.shape[:2]
    sx0, sy0 = max(box.x0, 0), max(box.y0, 0)
    sx1, sy1 = min(box.x1, w), min(box.y1, h)
    patch = image[sy0:sy1, sx0:sx1]
    pad = ((sy0 - box.y0, box.y1 - sy1), (sx0 - box.x0, box.x1 - sx1))
    if any(p for pair in pad for p in pair):
        pad = pad + ((0, 0),) * (image.ndim - 2)
        patch = np.pad(patch, pad, mode="edge")
    if size is not None and size != box.side:
        if patch.dtype == bool:
            patch = cv2.resize(patch.astype(np.uint8), (size, size),
                               interpolation=cv2.INTER_NEAREST).astype(bool)
        else:
            interp = cv2.INTER_NEAREST if nearest else (
                cv2.INTER_AREA if size < box.side else cv2.INTER_CUBIC)
            patch = cv2.resize(patch, (size, size), interpolation=interp)
    return np.ascontiguousarray(patch)


def to_photo_scale(patch: np.ndarray, box: CropBox) -> np.ndarray:
    """Resize an S x S result back to the window's side in photo pixels."""
    if patch.shape[0] == box.side:
        return patch
    interp = cv2.INTER_CUBIC if box.side > patch.shape[0] else cv2.INTER_AREA
    return cv2.resize(patch, (box.side, box.side), interpolation=interp)


def feathered_weight(mask: np.ndarray, feather: int) -> np.ndarray:
    """Float weight in [0, 1]: 1 deep inside the mask, ramping to 0 at its edge, 0 outside.

    The ramp runs inside the mask only, so pixels outside the mask keep weight 0.
    """
    if feather <= 0:
        return mask.astype(np.float32)
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    return np.clip(dist / float(feather), 0.0, 1.0).astype(np.float32) * mask


def paste_back(full: np.ndarray, patch: np.ndarray, box: CropBox, mask: np.ndarray,
               feather: int = 0) -> np.ndarray:
    """Blend `patch` (the window at photo scale, or S x S) into a copy of `full` inside `mask`.

    Outside the mask the result equals `full` bit for bit.
    """
    patch = to_photo_scale(patch, box)
    out = full.copy()
    h, w = full.shape[:2]
    sx0, sy0 = max(box.x0, 0), max(box.y0, 0)
    sx1, sy1 = min(box.x1, w), min(box.y1, h)
    region_mask = mask[sy0:sy1, sx0:sx1]
    sub = patch[sy0 - box.y0:sy1 - box.y0, sx0 - box.x0:sx1 - box.x0]
    weight = feathered_weight(region_mask, feather)
    if full.ndim == 3:
        weight = weight[..., None]
    target = out[sy0:sy1, sx0:sx1]
    blended = sub.astype(np.float32) * weight + target.astype(np.float32) * (1 - weight)
    blended = np.clip(np.rint(blended), 0, 255).astype(full.dtype)
    target[region_mask] = blended[region_mask]
    return out


def write_window(full: np.ndarray, patch: np.ndarray, box: CropBox,
                 window_mask: np.ndarray) -> None:
    """Write the window-sized (photo scale) `patch` into `full` in place, only inside
    `window_mask` (window coordinates, side x side). No copy of the full photo and no
    blending: for engines that already start from a copy."""
    h, w = full.shape[:2]
    sx0, sy0 = max(box.x0, 0), max(box.y0, 0)
    sx1, sy1 = min(box.x1, w), min(box.y1, h)
    inner = (slice(sy0 - box.y0, sy1 - box.y0), slice(sx0 - box.x0, sx1 - box.x0))
    region = window_mask[inner]
    full[sy0:sy1, sx0:sx1][region] = patch[inner][region]
