"""Test engines for the worker: one that takes many small cancellable steps, one that fails,
one that warns like the flux engine falling back to a smaller memory tier."""

from __future__ import annotations

import time
import warnings
from dataclasses import replace

import numpy as np

from layerlift.inference.contract import Layers, check_cancel, report


class SlowEngine:
    """Decomposes like a trivial engine, but over `steps` steps of 10 ms each."""

    name = "slow-test"

    def decompose(self, request, on_progress, cancel) -> Layers:
        total = request.steps or 300
        for step in range(total):
            check_cancel(cancel)
            time.sleep(0.01)
            report(on_progress, step + 1, total)
        logo = np.zeros(request.image.shape[:2] + (4,), np.uint8)
        logo[request.mask] = np.concatenate(
            [request.image[request.mask], np.full((int(request.mask.sum()), 1), 255,
                                                  np.uint8)], axis=1)
        return Layers(object=request.image.copy(), logo=logo, meta={})

    def compose(self, request, on_progress, cancel) -> np.ndarray:
        raise NotImplementedError


class BrokenEngine:
    name = "broken-test"

    def decompose(self, request, on_progress, cancel) -> Layers:
        raise RuntimeError("engine exploded")

    def compose(self, request, on_progress, cancel) -> np.ndarray:
        raise RuntimeError("engine exploded")


class OutOfMemoryFallbackEngine(SlowEngine):
    """Decomposes like SlowEngine, after the flux engine's out-of-memory retry: a
    RuntimeWarning and the tiers it tried in meta."""

    name = "oom-fallback-test"

    def decompose(self, request, on_progress, cancel) -> Layers:
        warnings.warn("out of GPU memory with memory tier bf16; retrying with nf4",
                      RuntimeWarning, stacklevel=2)
        layers = super().decompose(request, on_progress, cancel)
        layers.meta.update(memory_tier="nf4", memory_tiers_tried=["bf16", "nf4"])
        return layers


class DoubtfulFillEngine(SlowEngine):
    """Decomposes at once, as a classical run that doubts its fill: a low confidence and the
    box the fill invented (in the request's pixels, which for the app is a window)."""

    name = "doubtful-test"
    confidence = 0.2
    filled = (5, 6, 25, 16)     # offsets into the mask's box: x0, y0, x1, y1

    def decompose(self, request, on_progress, cancel) -> Layers:
        layers = super().decompose(replace(request, steps=1), on_progress, cancel)
        ys, xs = np.nonzero(request.mask)
        x0, y0, x1, y1 = self.filled
        box = [int(xs.min()) + x0, int(ys.min()) + y0, int(xs.min()) + x1, int(ys.min()) + y1]
        layers.meta.update(confidence=self.confidence, filled_box=box)
        return layers
