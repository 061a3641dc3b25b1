"""The classical engine: CPU only, no weights, fast. The embedded default."""

from __future__ import annotations

import numpy as np

from layerlift.inference.contract import (
    CancelToken,
    ComposeRequest,
    DecomposeRequest,
    Layers,
    ProgressCallback,
)


class ClassicalEngine:
    name = "classical"

    def decompose(self, request: DecomposeRequest, on_progress: ProgressCallback | None,
                  cancel: CancelToken | None) -> Layers:
        from layerlift.inference.engines.classical.decompose import decompose_classical

        return decompose_classical(request, on_progress, cancel)

    def compose(self, request: ComposeRequest, on_progress: ProgressCallback | None,
                cancel: CancelToken | None) -> np.ndarray:
        # compose.py is written separately; imported here so decompose works without it.
        from layerlift.inference.engines.classical.compose import compose_classical

        return compose_classical(request, on_progress, cancel)
