"""decompose() and compose(): the one entry point the CLI, the app and the trainer use."""

from __future__ import annotations

import time

import numpy as np

from inference.contract import (
    CancelToken,
    ComposeRequest,
    DecomposeRequest,
    Layers,
    ProgressCallback,
)
from inference.engines import get_engine
from inference.layers import cycle_error


def decompose(request: DecomposeRequest, on_progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None) -> Layers:
    """Split the photo into the clean object and the logo (RGBA, in place).

    Raises InputError on bad input, Cancelled when `cancel` is set during the run.
    """
    request.validate()
    start = time.perf_counter()
    layers = get_engine(request.engine).decompose(request, on_progress, cancel)
    # The contract, enforced here for every engine: outside the mask, the object is the input.
    outside = ~request.mask
    layers.object[outside] = request.image[outside]
    layers.logo[outside] = 0
    mae, psnr = cycle_error(request.image, layers.object, layers.logo, request.mask)
    layers.meta.update(engine=request.engine, seed=request.seed, cycle_error=mae,
                       cycle_psnr=psnr)
    layers.meta.setdefault("timings", {})["total_s"] = time.perf_counter() - start
    return layers


def compose(request: ComposeRequest, on_progress: ProgressCallback | None = None,
            cancel: CancelToken | None = None) -> np.ndarray:
    """Put a logo (in place, or an asset warped to a quad) onto the object; returns HxWx3."""
    request.validate()
    return get_engine(request.engine).compose(request, on_progress, cancel)
