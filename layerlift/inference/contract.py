"""The core contract: plain requests in, plain arrays out (see shared DESIGN.md).

Images are HxWx3 uint8 sRGB, masks HxW bool, logos HxWx4 uint8 with straight alpha.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from layerlift.inference.errors import Cancelled, InputError
from layerlift.inference.hints import validate_hints

# on_progress(step, total, preview) is called from the worker's thread.
ProgressCallback = Callable[[int, int, "np.ndarray | None"], None]


class CancelToken(Protocol):
    """Anything with is_set(); threading.Event is the usual one."""

    def is_set(self) -> bool: ...


def check_cancel(cancel: CancelToken | None) -> None:
    """Raise Cancelled if the token is set. Engines call this between steps."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")


def report(on_progress: ProgressCallback | None, step: int, total: int,
           preview: np.ndarray | None = None) -> None:
    if on_progress is not None:
        on_progress(step, total, preview)


@dataclass
class DecomposeRequest:
    image: np.ndarray            # HxWx3 uint8
    mask: np.ndarray             # HxW bool, True where the logo is
    engine: str = "classical"
    seed: int = 0
    steps: int | None = None     # engine default when None
    size: int = 512              # working crop side S for model engines (multiple of 16)
    candidates: int = 1          # seeds tried; the lowest cycle error wins
    model: str | None = None     # flux: diffusers folder, single file or hub id
    lora: str | None = None      # flux: LoRA .safetensors
    lora_scale: float = 1.0
    memory: str | None = None    # flux: force a memory tier
    device: str | None = None    # flux: cuda / mps / cpu
    # Trust the mask as it is: every masked pixel is mark and is filled (the classical engine
    # otherwise keeps the untouched surface inside a loose mask).
    exact_mask: bool = False
    # The user's hints (inference/hints.py): HxW uint8, 0 no hint, 1 mark (forced into the
    # found support), 2 not mark (forced out: kept as the input). Only inside the mask.
    hints: np.ndarray | None = None

    def validate(self) -> None:
        validate_image(self.image, "image")
        validate_mask(self.mask, self.image.shape[:2])
        if self.hints is not None:
            validate_hints(self.hints, self.image.shape[:2])
        validate_common(self.steps, self.size, self.candidates)


@dataclass
class Layers:
    object: np.ndarray           # HxWx3 uint8, equals the input outside the mask
    logo: np.ndarray             # HxWx4 uint8 straight alpha, in place
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ComposeRequest:
    object: np.ndarray                      # HxWx3 uint8
    logo: np.ndarray | None = None          # HxWx4 in place, or ...
    logo_asset: np.ndarray | None = None    # hxwx4 asset, warped onto ...
    quad: np.ndarray | None = None          # 4x2 float corners (TL, TR, BR, BL), photo coords
    bend: float = 0.0                       # cylinder bend of the asset, percent -100..100
    engine: str = "classical"
    seed: int = 0
    steps: int | None = None
    size: int = 512
    strength: float = 0.35       # flux zero-shot refinement strength
    model: str | None = None
    lora: str | None = None
    lora_scale: float = 1.0
    memory: str | None = None
    device: str | None = None

    def validate(self) -> None:
        validate_image(self.object, "object")
        if (self.logo is None) == (self.logo_asset is None):
            raise InputError("give either a logo in place or a logo asset with a quad")
        self.bend = validate_bend(self.bend)
        if self.logo is not None:
            if self.bend != 0:
                raise InputError("a bend applies to a logo asset placed on a quad, "
                                 "not to a logo in place")
            if self.logo.dtype != np.uint8 or self.logo.ndim != 3 or self.logo.shape[2] != 4:
                raise InputError("logo must be an HxWx4 uint8 RGBA array")
            if self.logo.shape[:2] != self.object.shape[:2]:
                raise InputError(
                    f"logo is {self.logo.shape[1]}x{self.logo.shape[0]} but the object is "
                    f"{self.object.shape[1]}x{self.object.shape[0]}")
        else:
            asset = self.logo_asset
            if asset.dtype != np.uint8 or asset.ndim != 3 or asset.shape[2] != 4:
                raise InputError("logo asset must be an hxwx4 uint8 RGBA array")
            if self.quad is None:
                raise InputError("a logo asset needs a quad of 4 corners")
            self.quad = validate_quad(self.quad)
        validate_common(self.steps, self.size, 1)


def validate_image(image: Any, name: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3:
        raise InputError(f"{name} must be an HxWx3 uint8 RGB array")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise InputError(f"{name} is too small ({image.shape[1]}x{image.shape[0]})")


def validate_mask(mask: Any, shape: tuple[int, int]) -> None:
    if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.ndim != 2:
        raise InputError("mask must be an HxW bool array")
    if mask.shape != tuple(shape):
        raise InputError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the photo is "
                         f"{shape[1]}x{shape[0]}")
    if not mask.any():
        raise InputError("mask is empty: mark the logo first")


def validate_quad(quad: Any) -> np.ndarray:
    q = np.asarray(quad, dtype=np.float64)
    if q.shape != (4, 2) or not np.all(np.isfinite(q)):
        raise InputError("quad must be 4 corners x,y (8 numbers)")
    # A usable quad is convex and not degenerate; the sign of the cross products is constant.
    cross = []
    for i in range(4):
        a, b, c = q[i], q[(i + 1) % 4], q[(i + 2) % 4]
        cross.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    cross = np.array(cross)
    if not (np.all(cross > 1e-6) or np.all(cross < -1e-6)):
        raise InputError("quad must be convex with corners in order (TL, TR, BR, BL)")
    return q


BEND_LIMIT = 100.0   # percent; see inference/warp.py for what a bend does


def validate_bend(bend: Any) -> float:
    """The bend as a float in -100..100 (percent); InputError otherwise."""
    try:
        value = float(bend)
    except (TypeError, ValueError):
        raise InputError(f"bend must be a number of percent, got {bend!r}") from None
    if not np.isfinite(value) or abs(value) > BEND_LIMIT:
        raise InputError(f"bend must be between -100 and 100 (percent), got {bend!r}")
    return value


def validate_common(steps: int | None, size: int, candidates: int) -> None:
    if steps is not None and not 1 <= steps <= 1000:
        raise InputError(f"steps must be between 1 and 1000, got {steps}")
    if size < 64 or size % 16 != 0 or size > 2048:
        raise InputError(f"size must be a multiple of 16 between 64 and 2048, got {size}")
    if not 1 <= candidates <= 64:
        raise InputError(f"candidates must be between 1 and 64, got {candidates}")
