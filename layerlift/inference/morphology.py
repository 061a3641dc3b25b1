"""Growing and shrinking bool masks by a disc: one definition for every engine."""

from __future__ import annotations

import cv2
import numpy as np


def disk(radius: int) -> np.ndarray:
    """The elliptic structuring element of that radius (a (2r+1)-px square kernel)."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """The bool mask grown by `radius` px (a copy when radius <= 0)."""
    if radius <= 0:
        return mask.copy()
    return cv2.dilate(mask.astype(np.uint8), disk(radius)).astype(bool)


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """The bool mask shrunk by `radius` px; the array's border counts as continuing the mask."""
    if radius <= 0:
        return mask.copy()
    return cv2.erode(mask.astype(np.uint8), disk(radius), borderType=cv2.BORDER_REPLICATE,
                     borderValue=0).astype(bool)
