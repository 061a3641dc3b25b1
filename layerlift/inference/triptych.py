"""The in-context triptych shared by the flux engine and the trainer (shared DESIGN.md).

All panels are S x S. Images are uint8 RGB; fill masks are float32 in {0, 1}, 1 = generate.

- decompose: [composite | logo | object]; fill 0 on the composite, 1 on the whole logo panel,
  on the object panel 1 inside the dilated user mask (elsewhere copied from the composite).
- compose: [logo | object | composite]; fill 0 on the first two panels, 1 on the composite
  panel inside the dilated logo support (elsewhere copied from the object).
The logo panel shows the logo in place on flat white.
"""

from __future__ import annotations

import numpy as np

from layerlift.inference.crop import CropBox, extract
from layerlift.inference.morphology import dilate

DECOMPOSE_PROMPT = (
    "A triptych of the same product photo. Left: the photo with a printed logo. "
    "Middle: only the logo, in place, on a plain white background. "
    "Right: the same product with the logo removed, clean surface."
)
COMPOSE_PROMPT = (
    "A triptych. Left: a logo on a plain white background. Middle: a clean product photo. "
    "Right: the same product with the logo printed on its surface, following its shape, "
    "lighting and texture."
)

WHITE = 255


def logo_on_white(logo_rgba: np.ndarray) -> np.ndarray:
    """The RGBA logo flattened over flat white: the logo panel."""
    a = logo_rgba[..., 3:4].astype(np.float32) / 255.0
    out = logo_rgba[..., :3].astype(np.float32) * a + WHITE * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def logo_panel(logo_rgba: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """The logo panel of the crop `box` at S = size, for the engine and the trainer alike.

    The window is flattened over white at photo scale, then resized like the other panels.
    Resizing the straight-alpha RGBA first would blend the colour under alpha 0 (often black)
    into the logo's edges: a dark fringe that flattening first never shows.
    """
    window = extract(logo_rgba, box)
    return extract(logo_on_white(window), CropBox(0, 0, box.side), size)


def decompose_triptych(composite: np.ndarray, mask: np.ndarray,
                       dilation: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Input image (S x 3S x 3) and fill mask (S x 3S) for decomposition.

    The logo panel starts white and the object panel starts as the composite; the model
    generates wherever the fill mask is 1.
    """
    s = composite.shape[0]
    _check_panel(composite, mask)
    region = dilate(mask, dilation)
    white = np.full_like(composite, WHITE)
    image = np.concatenate([composite, white, composite], axis=1)
    fill = np.zeros((s, 3 * s), np.float32)
    fill[:, s:2 * s] = 1.0
    fill[:, 2 * s:][region] = 1.0
    return image, fill


def compose_triptych(logo_panel: np.ndarray, object_panel: np.ndarray, support: np.ndarray,
                     dilation: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Input image (S x 3S x 3) and fill mask (S x 3S) for composition."""
    s = object_panel.shape[0]
    _check_panel(object_panel, support)
    if logo_panel.shape != object_panel.shape:
        raise ValueError("logo and object panels must have the same shape")
    region = dilate(support, dilation)
    image = np.concatenate([logo_panel, object_panel, object_panel], axis=1)
    fill = np.zeros((s, 3 * s), np.float32)
    fill[:, 2 * s:][region] = 1.0
    return image, fill


def split_panels(triptych: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three S x S panels of an S x 3S image, left to right."""
    s = triptych.shape[0]
    if triptych.shape[1] != 3 * s:
        raise ValueError(f"not a triptych: {triptych.shape[1]}x{triptych.shape[0]}")
    return triptych[:, :s], triptych[:, s:2 * s], triptych[:, 2 * s:]


def _check_panel(panel: np.ndarray, mask: np.ndarray) -> None:
    s = panel.shape[0]
    if panel.shape[:2] != (s, s) or s % 16 != 0:
        raise ValueError(f"panel must be S x S with S a multiple of 16, got {panel.shape[:2]}")
    if mask.shape != (s, s):
        raise ValueError("mask must match the panel")
