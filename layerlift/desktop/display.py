"""Display copies of full-size layers, in the byte order Qt's raster engine paints fastest
(BGRA, premultiplied), with halved copies for zoomed-out views. Qt-free: the worker thread
prepares them for its results, so the GUI thread only wraps finished arrays in QImages.

A small cache keyed by the layer's array (identity, held weakly) lets the canvas find what
the worker prepared, and reuse the display of a layer that did not change.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

# Halved copies are made ahead down to this long side; smaller ones on demand.
PREPARED_DOWN_TO = 700
# A 24 MP display copy is ~130 MB. The document shows at most Original, Object and
# Recomposed, plus the result a running job prepared: 4 copies. More would only keep copies of
# layers that live in the undo history, ~130 MB each.
CACHE_SIZE = 4


@dataclass
class DisplayPixels:
    levels: dict[int, np.ndarray]     # factor -> HxWx4 BGRA premultiplied (factor 1 = full)
    opaque: bool
    height: int
    width: int

    def level(self, factor: int) -> np.ndarray:
        """The copy shrunk by `factor` (a power of two), made from the nearest larger one."""
        if factor not in self.levels:
            source = max(f for f in self.levels if f < factor)
            pixels = self.levels[source]
            while source < factor:
                h, w = pixels.shape[:2]
                pixels = cv2.resize(pixels, (max(1, w // 2), max(1, h // 2)),
                                    interpolation=cv2.INTER_AREA)
                source *= 2
            self.levels[factor] = pixels
        return self.levels[factor]


def prepare(rgba: np.ndarray) -> DisplayPixels:
    """BGRA (premultiplied unless opaque) plus halved copies; OpenCV, so without the GIL."""
    h, w = rgba.shape[:2]
    opaque = bool(rgba[..., 3].min() == 255)
    source = rgba if opaque else cv2.cvtColor(rgba, cv2.COLOR_RGBA2mRGBA)
    display = DisplayPixels({1: cv2.cvtColor(source, cv2.COLOR_RGBA2BGRA)}, opaque, h, w)
    factor = 1
    while max(h, w) // (factor * 2) >= PREPARED_DOWN_TO:
        factor *= 2
        display.level(factor)
    return display


_cache: OrderedDict[int, tuple[weakref.ref, DisplayPixels]] = OrderedDict()
_lock = threading.Lock()


def remember(rgba: np.ndarray, display: DisplayPixels) -> None:
    with _lock:
        _cache[id(rgba)] = (weakref.ref(rgba), display)
        _cache.move_to_end(id(rgba))
        # Entries of freed layers go first: they must not push out a live layer's copy
        # (a miss means a full-size prepare on the GUI thread, ~40 ms at 24 MP).
        for key in [key for key, (ref, _) in _cache.items() if ref() is None]:
            del _cache[key]
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def display_for(rgba: np.ndarray) -> DisplayPixels:
    """The display copy of `rgba`: from the cache when prepared before, else made now."""
    with _lock:
        entry = _cache.get(id(rgba))
        if entry is not None and entry[0]() is rgba:
            # Least recently used goes first: the photo's layer, shown after every run,
            # stays while each run adds its own result.
            _cache.move_to_end(id(rgba))
            return entry[1]
    display = prepare(rgba)
    remember(rgba, display)
    return display
