"""The deterministic triplet generator: one seed -> (composite, logo, object, mask).

How a case is made, with the couplings real prints have:
1. a surface (procedural product render or real photo) and its shading;
2. a flat procedural logo, warped onto the surface (perspective, cylindrical or wavy);
3. slight ink blur; printed colour = ink colour x surface shading; alpha = coverage x opacity
   (1 for opaque prints, 0.2-0.7 for watermarks);
4. composite = alpha-over(logo, object), exactly, from the uint8 layers;
5. often JPEG re-encoding, applied to the composite only (recorded in meta) so the truth
   layers stay exact;
6. a loose, user-like mask: the logo's support dilated, a brushed blob, or a box.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from layerlift.inference.layers import alpha_over
from layerlift.inference.synth.logos import STYLES, make_logo
from layerlift.inference.synth.surfaces import BUILDERS, KINDS, random_colour

OPAQUE_SHARE = 0.55


@dataclass
class Triplet:
    composite: np.ndarray   # HxWx3 uint8: what the user photographs (JPEG'd when meta says so)
    logo: np.ndarray        # HxWx4 uint8 straight alpha, in place, as printed
    object: np.ndarray      # HxWx3 uint8, the clean surface
    mask: np.ndarray        # HxW bool, a loose user-like mask around the logo
    meta: dict[str, Any] = field(default_factory=dict)


def _luma(rgb: np.ndarray) -> float:
    return float(np.dot(rgb, [0.299, 0.587, 0.114]))


def ink_colours(rng: np.random.Generator, n: int, behind: np.ndarray,
                watermark: bool) -> list[np.ndarray]:
    """n ink colours that stand out from the surface colour `behind` (mean RGB, 0..1)."""
    colours = []
    for _ in range(n):
        if watermark and rng.random() < 0.7:  # watermarks are mostly white or black
            c = np.full(3, 1.0 if _luma(behind) < 0.55 else 0.0, np.float32)
        else:
            c = random_colour(rng)
        if abs(_luma(c) - _luma(behind)) < 0.2 and np.abs(c - behind).max() < 0.3:
            c = np.clip(1.0 - c * 0.8, 0, 1).astype(np.float32)  # push away from the surface
        colours.append(c.astype(np.float32))
    return colours


def ensure_contrast(colour: np.ndarray, alpha: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """Push the ink towards white or black when it barely differs from the surface under it.

    Invisible marks make meaningless cases; real brands pick inks that read on the product.
    """
    under = alpha > 0.5
    if not under.any():
        return colour
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    ink_l = float(np.median(colour[under] @ weights))
    surf_l = float(np.median(surface[under] @ weights))
    if abs(ink_l - surf_l) >= 0.2:
        return colour
    target = 1.0 if surf_l < 0.5 else 0.0
    return (0.35 * colour + 0.65 * target).astype(np.float32)


def warp_logo(ink: np.ndarray, coverage: np.ndarray,
              maps: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Remap the flat logo into the photo (premultiplied, so edges keep their colour)."""
    premult = np.dstack([ink * coverage[..., None], coverage]).astype(np.float32)
    warped = cv2.remap(premult, maps[0], maps[1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = np.clip(warped[..., 3], 0, 1)
    colour = warped[..., :3] / np.maximum(alpha, 1e-6)[..., None]
    return np.clip(colour, 0, 1), alpha


def blur_ink(colour: np.ndarray, alpha: np.ndarray,
             sigma: float) -> tuple[np.ndarray, np.ndarray]:
    premult = np.dstack([colour * alpha[..., None], alpha])
    premult = cv2.GaussianBlur(premult, (0, 0), sigma)
    alpha = np.clip(premult[..., 3], 0, 1)
    colour = premult[..., :3] / np.maximum(alpha, 1e-6)[..., None]
    return np.clip(colour, 0, 1), alpha


def loose_mask(rng: np.random.Generator, support: np.ndarray, scale: float) -> tuple[np.ndarray,
                                                                                        str]:
    """A mask like a user's: the support grown, a brushed blob round it, or a box."""
    pick = rng.random()
    u8 = support.astype(np.uint8)
    if pick < 0.45:
        r = int(round(rng.uniform(4, 16) * scale))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        return cv2.dilate(u8, k).astype(bool), "dilated"
    if pick < 0.8:
        pts = cv2.findNonZero(u8)
        hull = cv2.convexHull(pts)
        blob = np.zeros_like(u8)
        cv2.fillConvexPoly(blob, hull, 1)
        r = int(round(rng.uniform(5, 14) * scale))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        blob = cv2.dilate(blob, k)
        # brush dabs along the edge make the outline wobble like a hand-drawn stroke
        contour = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0][0][:, 0]
        for i in rng.integers(0, len(contour), 14):
            cv2.circle(blob, tuple(int(v) for v in contour[i]),
                       int(round(rng.uniform(3, 10) * scale)), 1, -1)
        return blob.astype(bool), "blob"
    ys, xs = np.nonzero(support)
    m = int(round(rng.uniform(5, 15) * scale))
    box = np.zeros_like(u8)
    h, w = support.shape
    cv2.rectangle(box, (max(xs.min() - m, 0), max(ys.min() - m, 0)),
                  (min(xs.max() + m, w - 1), min(ys.max() + m, h - 1)), 1, -1)
    return box.astype(bool), "box"


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB")).copy()


def to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def generate_triplet(seed: int, size: int = 512, kind: str | None = None,
                     opaque: bool | None = None) -> Triplet:
    """One case, fully determined by (seed, size, kind, opaque).

    kind picks the surface family (one of KINDS; None = drawn from the seed); opaque forces an
    opaque print (True) or a semi-transparent mark (False); None = drawn from the seed.
    """
    if kind is not None and kind not in BUILDERS:
        raise ValueError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if size < 64:
        raise ValueError(f"size must be at least 64, got {size}")
    rng = np.random.default_rng([int(seed), size])
    # Both draws always happen, so forcing one keeps the rest of the case the same.
    drawn_kind = KINDS[int(rng.integers(len(KINDS)))]
    drawn_opaque = bool(rng.random() < OPAQUE_SHARE)
    kind = kind or drawn_kind
    opaque = drawn_opaque if opaque is None else bool(opaque)
    scale = size / 512.0

    surface = BUILDERS[kind](rng, size)
    if kind != "photo":
        # Sensor noise, multiplied into the light: it lands on the print as on the surface.
        grain = 1 + rng.normal(0, rng.uniform(0.004, 0.015), (size, size)).astype(np.float32)
        surface.object = surface.object * grain[..., None]
        surface.shading = surface.shading * grain
    style = STYLES[int(rng.integers(len(STYLES)))]
    behind = np.median(surface.object.reshape(-1, 3), axis=0)
    n_colours = 1 if style in ("text", "thin") else int(rng.integers(1, 4))
    colours = ink_colours(rng, n_colours, behind, watermark=not opaque)
    flat = make_logo(rng, style, max(24, surface.logo_width), colours)
    h, w = flat.coverage.shape
    if surface.max_logo_height and h > surface.max_logo_height:  # keep it on the surface
        f = surface.max_logo_height / h
        w, h = max(8, int(w * f)), max(4, int(h * f))
        flat.ink = cv2.resize(flat.ink, (w, h), interpolation=cv2.INTER_AREA)
        flat.coverage = cv2.resize(flat.coverage, (w, h), interpolation=cv2.INTER_AREA)
    maps = surface.place(w, h)
    colour, alpha = warp_logo(flat.ink, flat.coverage, maps)
    sigma = float(rng.uniform(0.3, 1.0) * scale)
    colour, alpha = blur_ink(colour, alpha, sigma)
    colour = ensure_contrast(colour, alpha, surface.object)
    opacity = 1.0 if opaque else float(rng.uniform(0.2, 0.7))

    printed = colour * surface.shading[..., None]
    logo = np.dstack([to_u8(printed), to_u8(alpha * opacity)])
    logo[logo[..., 3] == 0] = 0
    obj = to_u8(surface.object)
    composite = alpha_over(logo, obj)
    support = logo[..., 3] > 0
    mask, mask_kind = loose_mask(rng, support, scale)
    quality = int(rng.integers(72, 96)) if rng.random() < 0.7 else None
    if quality is not None:
        composite = jpeg_roundtrip(composite, quality)
    meta = {
        "seed": int(seed), "size": size, "kind": kind, "style": style, "opaque": opaque,
        "opacity": opacity, "ink_blur_sigma": sigma, "jpeg_quality": quality,
        "mask_kind": mask_kind, "support_px": int(support.sum()), **surface.meta,
    }
    return Triplet(composite, logo, obj, mask, meta)
