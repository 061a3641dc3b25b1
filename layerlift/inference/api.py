"""decompose() and compose(): the one entry point the CLI, the app and the trainer use."""

from __future__ import annotations

import time

import numpy as np

from layerlift.inference.contract import (
    CancelToken,
    ComposeRequest,
    DecomposeRequest,
    Layers,
    ProgressCallback,
)
from layerlift.inference.crop import mask_bbox
from layerlift.inference.engines import get_engine
from layerlift.inference.layers import cycle_error


def decompose(request: DecomposeRequest, on_progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None) -> Layers:
    """Split the photo into the clean object and the logo (RGBA, in place).

    `request.hints` (optional, HxW uint8; inference/hints.py) are the user's corrections
    inside the mask: 1 "this is mark" (forced into the found support, so it leaves the
    object), 2 "this is not mark" (forced out: the object keeps the input there and the logo
    is transparent), 0 the engine decides.
    Raises InputError on bad input, Cancelled when `cancel` is set during the run.
    """
    request.validate()
    start = time.perf_counter()
    layers = get_engine(request.engine).decompose(request, on_progress, cancel)
    # The contract, enforced here for every engine: outside the mask, the object is the input
    # and the logo is empty (within the mask's bbox; see enforce_outside).
    window = enforce_outside(request.image, request.mask, layers)
    mae, psnr = cycle_error(request.image[window], layers.object[window], layers.logo[window],
                            request.mask[window])
    layers.meta.update(engine=request.engine, seed=request.seed, cycle_error=mae,
                       cycle_psnr=psnr)
    layers.meta.setdefault("timings", {})["total_s"] = time.perf_counter() - start
    return layers


def enforce_outside(image: np.ndarray, mask: np.ndarray,
                    layers: Layers) -> tuple[slice, slice]:
    """Make object == image and logo == 0 outside `mask`; returns the mask's bbox window.

    Only the bbox is touched: engines start from a copy of the input and an empty logo, so
    beyond the bbox there is nothing to fix, and a 24 MP photo is not scanned again.
    """
    x0, y0, x1, y1 = mask_bbox(mask)
    window = (slice(y0, y1), slice(x0, x1))
    outside = ~mask[window]
    layers.object[window][outside] = image[window][outside]
    layers.logo[window][outside] = 0
    return window


def compose(request: ComposeRequest, on_progress: ProgressCallback | None = None,
            cancel: CancelToken | None = None) -> np.ndarray:
    """Put a logo (in place, or an asset warped to a quad) onto the object; returns HxWx3."""
    request.validate()
    return get_engine(request.engine).compose(request, on_progress, cancel)
