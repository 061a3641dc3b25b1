"""The user's hints applied to the classical matte, once its support is final.

"Mark" pixels the matte left out join its support as opaque mark (their surface is then
filled); "not mark" pixels leave it (they stay the input, bit for bit). See inference/hints.py.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from layerlift.inference.crop import CropBox, extract
from layerlift.inference.engines.classical.matting import Matte
from layerlift.inference.hints import force_alpha


def honour_hints(matte: Matte, hints: np.ndarray | None, box: CropBox,
                 mask: np.ndarray) -> Matte:
    """The matte of window `box` with the request's hints (photo-sized, or None) forced in,
    inside the window's `mask` only."""
    if hints is None:
        return matte
    alpha = force_alpha(matte.alpha, extract(hints, box), mask)
    return replace(matte, alpha=alpha, support=alpha > 0)
