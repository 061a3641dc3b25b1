"""The document a designer edits: photo, mask, layers. Qt-free (numpy only).

Widgets bind to it through `Document.listeners`: plain callables called with an event name
and a payload ("mask", (x0, y0, x1, y1)) / ("layers", None) / ("layer", index) / ("image", None).
Undo lives outside (desktop/history.py builds QUndoCommands on top of these methods).

Layers are kept top first, as in the export module. A layer holds full-size pixels (`rgba`:
the Original), or, for the logo, a small `asset` plus the `quad` (4 corners TL, TR, BR, BL in
photo coordinates) it is warped onto, so moving, scaling, rotating and perspective are just
corner edits; or it is a window (the Object and Recomposed layers): a full-size `base` it
shares with the Original (never copied) and the `patch` of pixels where it differs, at
`offset`. A decomposition changes the photo only around the logo, so what it adds to the
document, the undo history and the display is the size of that window, not of the photo.
`render()` produces the full-size RGBA where one is really needed (exports, project files).

A decomposed logo has two versions of its pixels. `asset` is the logo as printed: its colour
carries the surface's light, so Logo over Object rebuilds the photo, and it is what the canvas
shows and exports write. `ink` is the same crop with that light divided out: what Recompose
hands to compose(), which shades an asset at its place (giving it the printed asset would
shade it twice). A logo file loaded by the user is ink already: its layer has `ink` None.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from layerlift.inference import mapped

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 with exclusive ends

ORIGINAL, OBJECT, LOGO, RECOMPOSED = "original", "object", "logo", "recomposed"


@dataclass
class Layer:
    name: str
    kind: str                           # original / object / logo / recomposed
    rgba: np.ndarray | None = None      # HxWx4 uint8, photo size (None for a quad logo)
    asset: np.ndarray | None = None     # hxwx4 uint8, the logo's own pixels (as printed)
    ink: np.ndarray | None = None       # logo only: asset's shading-free twin; None: asset is ink
    quad: np.ndarray | None = None      # 4x2 float, where the asset goes in the photo
    bend: float = 0.0                   # logo only: cylinder bend of the asset, percent
    visible: bool = True
    opacity: float = 1.0
    tint: tuple[int, int, int] | None = None   # logo only: recolour keeping alpha and shading
    tint_strength: float = 0.0
    base: np.ndarray | None = None      # a window layer: the photo-size RGBA it lies over
    patch: np.ndarray | None = None     # ... its own pixels, hxwx4, where it differs from base
    offset: tuple[int, int] = (0, 0)    # ... where the patch's top-left corner sits (x, y)

    @property
    def patch_rect(self) -> Rect:
        assert self.patch is not None
        x, y = self.offset
        return x, y, x + self.patch.shape[1], y + self.patch.shape[0]

    def window(self, rect: Rect) -> np.ndarray:
        """This layer's RGBA inside `rect` (clipped to the photo): a view of the full-size
        pixels where they hold it all, else a copy with the patch pasted in."""
        full = self.rgba if self.rgba is not None else self.base
        if full is None:
            raise ValueError("a logo layer has no window of full-size pixels")
        x0, y0, x1, y1 = rect
        view = full[y0:y1, x0:x1]
        if self.patch is None:
            return view
        px0, py0, px1, py1 = self.patch_rect
        ix0, iy0, ix1, iy1 = max(x0, px0), max(y0, py0), min(x1, px1), min(y1, py1)
        if ix0 >= ix1 or iy0 >= iy1:
            return view
        out = mapped.copy(view)         # let go of without the GIL (inference/mapped.py)
        out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = self.patch[iy0 - py0:iy1 - py0,
                                                               ix0 - px0:ix1 - px0]
        return out

    def shown_asset(self) -> np.ndarray:
        """The logo asset with its tint applied (the pixels the canvas and compose use)."""
        assert self.asset is not None
        return tint_rgba(self.asset, self.tint, self.tint_strength)

    def shown_ink(self) -> np.ndarray:
        """The logo's ink with its tint applied: what Recompose warps and shades."""
        assert self.asset is not None
        ink = self.asset if self.ink is None else self.ink
        return tint_rgba(ink, self.tint, self.tint_strength)

    def render(self, shape: tuple[int, int]) -> np.ndarray:
        """Full-size straight-alpha RGBA of this layer (a window layer's is a new array)."""
        if self.rgba is not None:
            return self.rgba
        if self.patch is not None:
            return self.window((0, 0, shape[1], shape[0]))
        return asset_on_canvas(self.shown_asset(), self.quad, shape, self.bend)


def window_over(base: np.ndarray, pixels: np.ndarray, offset: tuple[int, int]
                ) -> tuple[np.ndarray, tuple[int, int]]:
    """(patch, offset) of `pixels` (placed at `offset` over `base`) cut to the box where they
    differ from `base`; a 1x1 patch when they do not differ at all."""
    x, y = offset
    h, w = pixels.shape[:2]
    differs = np.any(pixels != base[y:y + h, x:x + w], axis=2)
    rows = np.flatnonzero(differs.any(axis=1))
    if rows.size == 0:
        return pixels[:1, :1].copy(), (x, y)
    cols = np.flatnonzero(differs.any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return pixels[top:bottom, left:right].copy(), (x + left, y + top)


def rgb_to_rgba(rgb: np.ndarray) -> np.ndarray:
    """Opaque RGBA copy (OpenCV: multi-threaded and without the GIL, ~10x numpy at 24 MP)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2RGBA)


def tint_rgba(asset: np.ndarray, colour: tuple[int, int, int] | None,
              strength: float) -> np.ndarray:
    """Blend the asset's colour towards `colour`, keeping its light/dark structure and alpha."""
    if colour is None or strength <= 0:
        return asset
    rgb = asset[..., :3].astype(np.float32)
    luma = (rgb @ np.array([0.299, 0.587, 0.114], np.float32))[..., None] / 255.0
    # The new colour, darkened where the mark was dark (down to 35 %): details drawn in
    # lighter and darker tones of the mark stay visible after the recolour.
    tinted = np.asarray(colour, np.float32) * (0.35 + 0.65 * luma)
    out = rgb * (1.0 - strength) + tinted * strength
    result = asset.copy()
    result[..., :3] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return result


# A decomposed mark's bend is offered to its replacement from this size on: flat word marks
# read up to about 13 % from their uneven outline alone (inference/bend_estimate.py).
OFFER_MIN_BEND = 15.0


def replacement_placement(asset: np.ndarray, quad: np.ndarray, old: Layer
                          ) -> tuple[np.ndarray, float]:
    """The quad and bend a new logo file takes in place of the logo layer `old` (whose place
    is `quad`): fitted into it ("contain"), and bent as `old` is. A decomposed mark (its
    printed pixels, unbent as a layer) offers its own bend back, read from its alpha's shape,
    so the new logo lands with the same wrap over the ground the mark covered."""
    from layerlift.inference.bend_estimate import estimate_bend
    from layerlift.inference.warp import bend_for_width, quad_inside_arc

    bend = old.bend
    if old.ink is not None and bend == 0 and old.asset is not None and old.asset[..., 3].any():
        estimate = estimate_bend(old.asset[..., 3])
        if abs(estimate) >= OFFER_MIN_BEND:
            bend, quad = estimate, quad_inside_arc(quad, estimate)
    fitted = fit_asset_in_quad(asset, quad)
    if bend:   # a narrower logo covers a smaller arc of the same cylinder
        width = np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])
        bend = bend_for_width(bend, (np.linalg.norm(fitted[1] - fitted[0])
                                     + np.linalg.norm(fitted[2] - fitted[3])) / width)
        bend = round(bend, 1)
    return fitted, bend


def asset_corners(asset: np.ndarray) -> np.ndarray:
    h, w = asset.shape[:2]
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)


def asset_on_canvas(asset: np.ndarray, quad: np.ndarray, shape: tuple[int, int],
                    bend: float = 0.0) -> np.ndarray:
    """Warp the asset onto `quad` (bent by `bend` percent) in an HxW transparent canvas
    (straight alpha kept)."""
    out = np.zeros(shape + (4,), np.uint8)
    placed = placed_asset(asset, quad, shape, bend)
    if placed is not None:
        pixels, (x0, y0, x1, y1) = placed
        out[y0:y1, x0:x1] = pixels
    return out


def placed_asset(asset: np.ndarray, quad: np.ndarray, shape: tuple[int, int],
                 bend: float = 0.0) -> tuple[np.ndarray, Rect] | None:
    """The asset as placed on the photo (the core's warp, so the canvas, exports and compose
    place it alike): straight-alpha RGBA over its box, and the box; None outside the photo."""
    from layerlift.inference.warp import warp_asset as place

    h, w = shape
    placed = place(asset, np.asarray(quad, np.float64), (w, h), bend)
    if placed is None:
        return None
    premult, box = placed
    alpha = premult[..., 3:4]
    rgb = np.where(alpha > 0, premult[..., :3] / np.maximum(alpha, 1e-6), 0)
    pixels = np.concatenate([rgb, alpha], axis=2) * 255.0
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8), box


def quad_bbox(quad: np.ndarray, shape: tuple[int, int]) -> Rect | None:
    """The quad's pixel bounding box clipped to the photo; None when it lies outside."""
    h, w = shape
    x0 = max(0, int(math.floor(quad[:, 0].min())))
    y0 = max(0, int(math.floor(quad[:, 1].min())))
    x1 = min(w, int(math.ceil(quad[:, 0].max())))
    y1 = min(h, int(math.ceil(quad[:, 1].max())))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


# ---- quad edits (pure functions; the canvas's logo handles call these) ----

def quad_centre(quad: np.ndarray) -> np.ndarray:
    return quad.mean(axis=0)


def moved_quad(quad: np.ndarray, dx: float, dy: float) -> np.ndarray:
    return quad + [dx, dy]


def scaled_quad(quad: np.ndarray, factor: float, centre: np.ndarray | None = None) -> np.ndarray:
    c = quad_centre(quad) if centre is None else centre
    return c + (quad - c) * factor


def rotated_quad(quad: np.ndarray, degrees: float,
                 centre: np.ndarray | None = None) -> np.ndarray:
    c = quad_centre(quad) if centre is None else centre
    t = math.radians(degrees)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return c + (quad - c) @ rot.T


def fit_asset_in_quad(asset: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad a new asset takes inside an old quad: same centre, orientation and
    perspective, the new asset's aspect ratio, as large as fits ("contain")."""
    h, w = asset.shape[:2]
    old_w = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    old_h = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    scale = min(old_w / w, old_h / h)
    fx, fy = w * scale / old_w, h * scale / old_h     # fraction of the old sides used
    # Corners in the old quad's unit square, mapped through its perspective.
    u0, u1 = (1 - fx) / 2, (1 + fx) / 2
    v0, v1 = (1 - fy) / 2, (1 + fy) / 2
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(unit, quad.astype(np.float32))
    pts = np.array([[[u0, v0], [u1, v0], [u1, v1], [u0, v1]]], np.float32)
    return cv2.perspectiveTransform(pts, matrix)[0].astype(np.float64)


# ---- brush maths ----

def stroke_coverage(x0: float, y0: float, x1: float, y1: float, radius: float,
                    hardness: float, shape: tuple[int, int]) -> tuple[Rect, np.ndarray] | None:
    """Coverage (uint8) of a round brush swept from (x0, y0) to (x1, y1), in its bounding box.

    Full coverage within radius*hardness of the segment, falling linearly to 0 at radius.
    """
    h, w = shape
    r = max(radius, 0.5)
    bx0 = max(0, int(math.floor(min(x0, x1) - r)))
    by0 = max(0, int(math.floor(min(y0, y1) - r)))
    bx1 = min(w, int(math.ceil(max(x0, x1) + r)) + 1)
    by1 = min(h, int(math.ceil(max(y0, y1) + r)) + 1)
    if bx1 <= bx0 or by1 <= by0:
        return None
    ys = np.arange(by0, by1, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(bx0, bx1, dtype=np.float32)[None, :] + 0.5
    dx, dy = x1 - x0, y1 - y0
    seg2 = dx * dx + dy * dy
    if seg2 < 1e-9:
        dist = np.sqrt((xs - x0) ** 2 + (ys - y0) ** 2)
    else:
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / seg2, 0.0, 1.0)
        dist = np.sqrt((xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2)
    inner = r * min(max(hardness, 0.0), 1.0)
    soft = max(r - inner, 1e-3)
    cov = np.clip((r - dist) / soft, 0.0, 1.0)
    return (bx0, by0, bx1, by1), (cov * 255.0 + 0.5).astype(np.uint8)


def union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


class StrokeBackup:
    """The mask's pixels from before a stroke, kept lazily: each TILE x TILE tile is copied
    the first time the stroke is about to paint into it, so a press costs a few small copies
    instead of a copy of the whole (24 MB at 6000x4000) mask."""

    TILE = 256

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask
        self.tiles: dict[tuple[int, int], np.ndarray] = {}    # (row, col) -> tile pixels

    def keep(self, rect: Rect) -> None:
        """Remember the tiles under `rect` that the stroke has not touched yet."""
        t = self.TILE
        x0, y0, x1, y1 = rect
        for row in range(y0 // t, (y1 - 1) // t + 1):
            for col in range(x0 // t, (x1 - 1) // t + 1):
                if (row, col) not in self.tiles:
                    self.tiles[row, col] = self.mask[row * t:(row + 1) * t,
                                                     col * t:(col + 1) * t].copy()

    def before(self, rect: Rect) -> np.ndarray:
        """The pixels of `rect` as they were before the stroke."""
        t = self.TILE
        x0, y0, x1, y1 = rect
        # Pixels outside every kept tile were never painted: they are still as they were.
        out = self.mask[y0:y1, x0:x1].copy()
        for (row, col), tile in self.tiles.items():
            tx0, ty0 = col * t, row * t
            ix0, iy0 = max(x0, tx0), max(y0, ty0)
            ix1, iy1 = min(x1, tx0 + tile.shape[1]), min(y1, ty0 + tile.shape[0])
            if ix0 < ix1 and iy0 < iy1:
                out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = \
                    tile[iy0 - ty0:iy1 - ty0, ix0 - tx0:ix1 - tx0]
        return out


# ---- the document ----

@dataclass
class Document:
    image: np.ndarray                       # HxWx3 uint8, the photo (never modified)
    path: str | None = None                 # where the photo came from (never overwritten)
    mask: np.ndarray = field(default=None)  # HxW uint8 coverage; >= 128 counts as the logo
    layers: list[Layer] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)   # last decomposition's meta
    listeners: list[Callable[[str, Any], None]] = field(default_factory=list, repr=False)
    # The user's hints for the next decomposition (inference/hints.py: HxW uint8, 0 none,
    # 1 mark, 2 not mark), painted with the hint brushes.
    hints: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        if self.mask is None:
            self.mask = np.zeros(self.image.shape[:2], np.uint8)
        if self.hints is None:
            self.hints = np.zeros(self.image.shape[:2], np.uint8)   # calloc: no pages yet
        self.hints_extent: Rect | None = nonzero_box(self.hints)
        # A rectangle that holds every marked pixel (it grows with edits, erasing does not
        # shrink it), so finding the mask's box never scans a whole 24 MP mask.
        self.mask_extent: Rect | None = nonzero_box(self.mask)
        if not self.layers:
            self.layers = [Layer("Original", ORIGINAL, rgba=rgb_to_rgba(self.image))]

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[:2]

    def emit(self, event: str, payload: Any = None) -> None:
        for listener in list(self.listeners):
            listener(event, payload)

    # -- mask --
    def mask_bool(self) -> np.ndarray:
        return self.mask >= 128

    def _grow_extent(self, rect: Rect, pixels: np.ndarray) -> None:
        if pixels.any():
            self.mask_extent = union(self.mask_extent, rect)

    def mask_box(self) -> Rect | None:
        """The tight box of the pixels that count as logo (>= 128); None when there are none."""
        if self.mask_extent is None:
            return None
        x0, y0, x1, y1 = self.mask_extent
        marked = self.mask[y0:y1, x0:x1] >= 128
        rows = np.flatnonzero(marked.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(marked.any(axis=0))
        return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, \
            y0 + int(rows[-1]) + 1

    def paint(self, x0: float, y0: float, x1: float, y1: float, radius: float,
              hardness: float, erase: bool = False,
              backup: StrokeBackup | None = None) -> Rect | None:
        """Sweep the brush (or eraser) along a segment; returns the changed rectangle.
        `backup` is given the rectangle before its pixels change."""
        stamp = stroke_coverage(x0, y0, x1, y1, radius, hardness, self.shape)
        if stamp is None:
            return None
        (bx0, by0, bx1, by1), cov = stamp
        region = self.mask[by0:by1, bx0:bx1]
        rect = (bx0, by0, bx1, by1)
        if backup is not None:
            backup.keep(rect)
        if erase:
            np.minimum(region, 255 - cov, out=region)
        else:
            np.maximum(region, cov, out=region)
            self.mask_extent = union(self.mask_extent, rect)
        self.emit("mask", rect)
        return rect

    def fill_rect(self, rect: Rect, value: int = 255) -> Rect | None:
        rect = clip_rect(rect, self.shape)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        self.mask[y0:y1, x0:x1] = value
        if value:
            self.mask_extent = union(self.mask_extent, rect)
        self.emit("mask", rect)
        return rect

    def put_mask(self, rect: Rect, pixels: np.ndarray) -> None:
        """Write a block of mask pixels (used by undo/redo of strokes)."""
        x0, y0, x1, y1 = rect
        self.mask[y0:y1, x0:x1] = pixels
        self._grow_extent(rect, pixels)
        self.emit("mask", rect)

    def set_mask(self, mask: np.ndarray) -> None:
        if mask.shape != self.shape:
            raise ValueError("mask size differs from the photo")
        self.mask = mask.astype(np.uint8) if mask.dtype == np.uint8 else \
            np.where(mask, 255, 0).astype(np.uint8)
        h, w = self.shape
        self.mask_extent = nonzero_box(self.mask)
        self.emit("mask", (0, 0, w, h))

    # -- hints --
    def paint_hints(self, x0: float, y0: float, x1: float, y1: float, radius: float,
                    value: int, backup: StrokeBackup | None = None) -> Rect | None:
        """Sweep a hard round brush of hint `value` (0 erases hints) along a segment;
        returns the changed rectangle (`backup` is given it before its pixels change)."""
        stamp = stroke_coverage(x0, y0, x1, y1, radius, 1.0, self.shape)
        if stamp is None:
            return None
        (bx0, by0, bx1, by1), cov = stamp
        rect = (bx0, by0, bx1, by1)
        if backup is not None:
            backup.keep(rect)
        self.hints[by0:by1, bx0:bx1][cov >= 128] = value
        if value:
            self.hints_extent = union(self.hints_extent, rect)
        self.emit("hints", rect)
        return rect

    def put_hints(self, rect: Rect, pixels: np.ndarray) -> None:
        """Write a block of hint pixels (undo/redo of hint strokes)."""
        x0, y0, x1, y1 = rect
        self.hints[y0:y1, x0:x1] = pixels
        if pixels.any():
            self.hints_extent = union(self.hints_extent, rect)
        self.emit("hints", rect)

    def hints_in(self, rect: Rect) -> np.ndarray | None:
        """A copy of the hints inside `rect`; None when there are none there."""
        if self.hints_extent is None or clip_rect(rect, self.shape) is None:
            return None
        x0, y0, x1, y1 = rect
        window = self.hints[y0:y1, x0:x1]
        return window.copy() if window.any() else None

    # -- layers --
    def index_of(self, kind: str) -> int | None:
        for i, layer in enumerate(self.layers):
            if layer.kind == kind:
                return i
        return None

    def layer(self, kind: str) -> Layer | None:
        i = self.index_of(kind)
        return None if i is None else self.layers[i]

    def set_layers(self, layers: list[Layer]) -> None:
        self.layers = list(layers)
        self.emit("layers")

    def update_layer(self, index: int, **changes: Any) -> None:
        self.put_layer(index, replace(self.layers[index], **changes))

    def put_layer(self, index: int, layer: Layer) -> None:
        self.layers[index] = layer
        self.emit("layer", index)

    def composite(self) -> np.ndarray:
        """The visible layers flattened over white (what the canvas shows)."""
        out = np.full(self.shape + (3,), 255, np.float32)
        for layer in reversed(self.layers):
            if not layer.visible or layer.opacity <= 0:
                continue
            rgba = layer.render(self.shape)
            a = rgba[..., 3:4].astype(np.float32) / 255.0 * layer.opacity
            out = rgba[..., :3].astype(np.float32) * a + out * (1 - a)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def nonzero_box(mask: np.ndarray) -> Rect | None:
    """The tight box of a mask's nonzero pixels; None when there are none."""
    rows = np.flatnonzero(mask.max(axis=1))        # max: a fast reduction along rows
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(mask[top:bottom].max(axis=0))
    return int(cols[0]), top, int(cols[-1]) + 1, bottom


def clip_rect(rect: Rect, shape: tuple[int, int]) -> Rect | None:
    h, w = shape
    x0, y0, x1, y1 = rect
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def layers_from_decomposition(original: Layer, object_patch: np.ndarray,
                              object_offset: tuple[int, int], asset: np.ndarray,
                              quad: np.ndarray, ink: np.ndarray | None = None) -> list[Layer]:
    """The layer stack after a decomposition: Logo over Object (a window over the Original's
    pixels) over the (hidden) Original."""
    return [
        Layer("Logo", LOGO, asset=asset, ink=ink, quad=np.asarray(quad, np.float64)),
        Layer("Object", OBJECT, base=original.rgba, patch=object_patch, offset=object_offset),
        replace(original, visible=False),
    ]
