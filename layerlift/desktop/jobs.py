"""What the worker runs for the app: decompose/compose on a window around the logo. Qt-free.

The engines already work on a crop around the mask, but the whole photo still crosses the
API (validation, the outside-the-mask copy, the cycle error), which on a 24 MP photo costs
seconds and, holding the GIL in numpy calls, stalls the UI. So the app hands the engine a
window generously larger than the engine's own working crop (see `engine_window`) and pastes
the result back. Outside the mask the object is the photo, bit for bit, either way.

`finish_*` run in the worker thread too: they cut the result to the window where it differs
from the photo (the Object and Recomposed layers are windows over the photo's pixels, see
desktop/document.py), so nothing photo-sized is made for a result.

The decomposed logo comes back as printed (it carries the surface's light); `finish` also
divides that light out (`deshade_logo`) for the ink that Recompose hands to compose, which
shades an asset at its place. The window holds the area the shading is measured over (the
logo's box grown by CONTEXT_MARGIN times its long side, less than the window's growth), so the
ink is the one the full photo would give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from layerlift.desktop.document import Layer, Rect, rgb_to_rgba, union, window_over
from layerlift.inference.crop import mask_bbox
from layerlift.inference.warp import placed_box

# The window reaches this far past the mask's (or quad's) box on each side: twice the box's
# long side, and at least MIN_CONTEXT pixels. The engines' working crop is a square of 1.5x
# the long side (inference/crop.py) slid inside the photo at its edges; with this much room
# it sits at the same place in the window as in the photo, so results are identical.
MIN_CONTEXT = 96


def engine_window(box: Rect, shape: tuple[int, int]) -> Rect:
    x0, y0, x1, y1 = box
    grow = max(MIN_CONTEXT, 2 * (x1 - x0), 2 * (y1 - y0))
    h, w = shape
    return max(0, x0 - grow), max(0, y0 - grow), min(w, x1 + grow), min(h, y1 + grow)


@dataclass
class Decomposition:
    object_patch: np.ndarray     # hxwx4, opaque: the object where it differs from the photo
    object_offset: tuple[int, int]   # where that patch sits (x, y)
    asset: np.ndarray            # the logo's tight RGBA crop, as printed
    ink: np.ndarray              # the same crop with the surface's shading divided out
    quad: np.ndarray             # where both sit in the photo
    meta: dict[str, Any] = field(default_factory=dict)


def decompose_job(image: np.ndarray, mask: np.ndarray, box: Rect | None = None,
                  hints: Callable[[Rect], np.ndarray | None] | None = None,
                  **options: Any) -> tuple[Any, Callable[[Any], Decomposition]]:
    """The request for the window around the mask, and the function that pastes its result.

    `mask` is HxW bool, or uint8 coverage (>= 128 is logo); `box`, the mask's box when the
    caller knows it, saves a scan of the whole mask. `hints` gives the user's hints inside
    a window (a copy, or None without any: Document.hints_in), sent as the request's hints.
    """
    from layerlift.inference.contract import DecomposeRequest, validate_mask
    from layerlift.inference.layers import logo_asset
    from layerlift.inference.shading import deshade_logo

    if box is None:
        marked = mask if mask.dtype == bool else mask >= 128
        validate_mask(marked, image.shape[:2])      # an empty mask: the core's InputError
        box = mask_bbox(marked)                     # exclusive ends
    x0, y0, x1, y1 = window = engine_window(box, image.shape[:2])
    sub = mask[y0:y1, x0:x1]
    sub = sub if sub.dtype == bool else sub >= 128
    # The photo's window goes as a view: the worker copies it (`private_request`), so the
    # GUI thread does not (on a first run, ~20 ms of page faults). The photo is never
    # written in place (`finish` reads it on the worker too); the mask is, by the brush,
    # so its window is copied here.
    request = DecomposeRequest(image=image[y0:y1, x0:x1], mask=np.ascontiguousarray(sub),
                               hints=hints(window) if hints is not None else None, **options)

    def finish(layers: Any) -> Decomposition:
        patch, offset = window_over(image, layers.object, (x0, y0))
        patch = rgb_to_rgba(patch)
        asset, quad = logo_asset(layers.logo)
        # De-shading keeps the alpha, so the ink's crop is the asset's box: cut the same box.
        (ax0, ay0), (ax1, ay1) = quad[0].astype(int), quad[2].astype(int)
        ink = deshade_logo(layers.logo, layers.object)[ay0:ay1, ax0:ax1].copy()
        meta = dict(layers.meta, window=list(window))
        if meta.get("filled_box"):     # the engine saw the window: back to photo pixels
            meta["filled_box"] = shift_box(meta["filled_box"], x0, y0)
        return Decomposition(patch, offset, asset, ink, quad + [x0, y0], meta)

    return request, finish


def shift_box(box: list[int], dx: int, dy: int) -> list[int]:
    """[x0, y0, x1, y1] moved by (dx, dy)."""
    x0, y0, x1, y1 = box
    return [x0 + dx, y0 + dy, x1 + dx, y1 + dy]


@dataclass
class OnWorker:
    """A request the worker makes itself (`private_request` calls `make`): where building it
    means copying pixels, which the GUI thread must not do (see `compose_job`)."""
    make: Callable[[], Any]


def private_request(request: Any) -> Any:
    """The request with its own contiguous copy of a photo or object window handed over as a
    view (see `decompose_job`, `compose_job`), made first where it is an OnWorker; run on the
    worker thread, before the engine."""
    if isinstance(request, OnWorker):
        request = request.make()
    for name in ("image", "object"):
        pixels = getattr(request, name, None)
        if isinstance(pixels, np.ndarray) and not pixels.flags.c_contiguous:
            return replace(request, **{name: np.ascontiguousarray(pixels)})
    return request


@dataclass
class Recomposition:
    base: np.ndarray             # HxWx4: the photo-size pixels the layer lies over
    patch: np.ndarray            # the recomposed pixels where they differ from `base`
    offset: tuple[int, int]


def compose_job(object_layer: Layer, asset: np.ndarray, quad: np.ndarray,
                shape: tuple[int, int], bend: float = 0.0, **options: Any
                ) -> tuple[Any, Callable[[np.ndarray], Recomposition]]:
    """The request for the window around the placed logo (its quad, bent by `bend` percent),
    and the paste-back function (returns the Recomposed layer's window over the object's
    base). The object's window goes as a view where the layer's full-size pixels hold it
    (layer pixels are never written in place; the worker copies it, `private_request`);
    nothing photo-sized is copied. Over an Object window the request is an OnWorker: the
    window with the object's patch pasted in is a copy (~10 ms of page faults at 24 MP, on
    every Ctrl+R), so the worker makes it."""
    from layerlift.inference.contract import ComposeRequest

    h, w = shape
    box = placed_box(np.asarray(quad, np.float64), bend, (w, h))
    if box is None:       # the logo was moved off the photo: compose the whole photo
        box = (0, 0, w, h)
    window = engine_window(box, (h, w))
    x0, y0, x1, y1 = window

    def make() -> Any:
        return ComposeRequest(object=object_layer.window(window)[..., :3],
                              logo_asset=asset, quad=np.asarray(quad, np.float64) - [x0, y0],
                              bend=bend, **options)

    request = make() if object_layer.patch is None else OnWorker(make)
    base = object_layer.rgba if object_layer.rgba is not None else object_layer.base

    def finish(rgb: np.ndarray) -> Recomposition:
        # The new layer differs from the base where the object did and where compose drew.
        area = window if object_layer.patch is None else union(window,
                                                               object_layer.patch_rect)
        ax0, ay0, _ax1, _ay1 = area
        pixels = object_layer.window(area).copy()
        pixels[..., 3] = 255
        pixels[y0 - ay0:y1 - ay0, x0 - ax0:x1 - ax0, :3] = rgb
        patch, offset = window_over(base, pixels, (ax0, ay0))
        return Recomposition(base, patch, offset)

    return request, finish


@dataclass
class SelectRequest:
    """One Select click for the worker (inference/select.py)."""
    image: np.ndarray                     # the whole photo (select_mark picks its window)
    points: list[tuple[float, float]]     # photo pixels
    tolerance: float


@dataclass
class Selection:
    box: Rect | None                      # where the selection lies (None: nothing selected)
    mask: np.ndarray                      # bool, the box's size: the mark round the click
    mode: str                             # "replace", "add" or "subtract"


def select_job(image: np.ndarray, point: tuple[float, float], tolerance: float, mode: str
               ) -> tuple[SelectRequest, Callable[[np.ndarray], Selection]]:
    """The request for one click and the function (run on the worker too) that cuts its mask
    to the selection's box: the GUI thread then touches only that box, never the whole photo
    (a 24 MP mask combined, copied and recoloured whole stalls it for ~0.4 s). The mask is
    combined with the document's when it comes back, not here: the user may have brushed
    meanwhile."""
    request = SelectRequest(image, [point], tolerance)

    def finish(mask: np.ndarray) -> Selection:
        x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
        if not w or not h:
            return Selection(None, np.zeros((0, 0), bool), mode)
        return Selection((x, y, x + w, y + h), mask[y:y + h, x:x + w].copy(), mode)

    return request, finish


def run_select(request: SelectRequest) -> np.ndarray:
    """What the worker runs for a Select click."""
    from layerlift.inference.select import select_mark
    return select_mark(request.image, request.points, tolerance=request.tolerance)


def combined_mask(current: np.ndarray, rect: Rect, selection: Selection) -> np.ndarray:
    """The mask's pixels (uint8 coverage) inside `rect` after a Select click: the selection
    alone, or added to / taken from `current` (the mask there now; Shift / Alt). `rect`
    holds the selection's box."""
    x0, y0, _x1, _y1 = rect
    selected = np.zeros(current.shape, bool)
    if selection.box is not None:
        sx0, sy0, sx1, sy1 = selection.box
        selected[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = selection.mask
    if selection.mode == "add":
        return np.where(selected, np.uint8(255), current)
    if selection.mode == "subtract":
        return np.where(selected, np.uint8(0), current)
    return selected.astype(np.uint8) * np.uint8(255)


def job_notes(result: Any, warnings: list[str]) -> list[str]:
    """What the user should hear about a finished run besides the result: the warnings the
    engine raised, and a flux out-of-memory fallback (meta "memory_tiers_tried")."""
    notes = list(warnings)
    tried = getattr(result, "meta", {}).get("memory_tiers_tried") or []
    if len(tried) > 1:
        notes.append(f"Ran with memory tier {tried[-1]} after running out of GPU memory with "
                     f"{', '.join(map(str, tried[:-1]))}.")
    return notes
