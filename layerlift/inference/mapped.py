"""Large arrays in memory maps of their own, so that dropping one does not stall other threads.

numpy takes a large array from malloc, which maps it apart from the heap; the free() that
unmaps it runs inside numpy's deallocation, with the GIL held, and handing back every page of
a 24 MP RGBA layer takes ~10 ms (more on a loaded machine). No other Python thread runs
meanwhile: the desktop's file writes make several such temporaries on a background thread, and
the window froze for 20-30 ms each time a write let go of them. An array over an anonymous
`mmap` is unmapped by CPython's mmap object, which lets go of the GIL to do it.

Use `empty` for photo-sized temporaries made off the GUI thread; small ones stay numpy's.
"""

from __future__ import annotations

import math
import mmap

import numpy as np
from numpy.typing import DTypeLike

MIN_BYTES = 1 << 22      # 4 MB; below this numpy's own allocation is as good


def empty(shape: tuple[int, ...], dtype: DTypeLike = np.uint8) -> np.ndarray:
    """A writable array of `shape`, zero-filled (fresh pages, as np.zeros gives), over a memory
    map of its own when it is large."""
    dtype = np.dtype(dtype)
    size = math.prod(shape) * dtype.itemsize
    if size < MIN_BYTES:
        return np.zeros(shape, dtype)
    return np.frombuffer(_anonymous_map(size), dtype).reshape(shape)


def _anonymous_map(size: int) -> mmap.mmap:
    """Private memory (mmap's default for no file is shared memory: slower page faults)."""
    if hasattr(mmap, "MAP_PRIVATE"):
        return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
    return mmap.mmap(-1, size)                        # Windows: private already


def copy(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `array` (see `empty`)."""
    out = empty(array.shape, array.dtype)
    np.copyto(out, array)
    return out
