"""Small deterministic logo-on-surface cases for the classical engine's tests and benchmarks.

Each case is (composite, mask, object, logo RGBA): a logo (text or marks, anti-aliased, opaque
or semi-transparent, shaded by the surface) over a procedural surface, and a loose mask.
The benchmark generator in inference/synth is the reference; these cases only need to be
varied enough that a test can tell a real gain from noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from layerlift.inference.layers import alpha_over


@dataclass
class Case:
    name: str
    composite: np.ndarray   # HxWx3 uint8
    mask: np.ndarray        # HxW bool, loose
    object: np.ndarray      # HxWx3 uint8, the truth under the logo
    logo: np.ndarray        # HxWx4 uint8, straight alpha


def surface(kind: str, h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A procedural surface (float RGB in [0, 1]) and its shading (float HxW)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(0.25, 0.85, 3).astype(np.float32)
    shading = 0.75 + 0.25 * np.cos((xx / w - rng.uniform(0.3, 0.7)) * np.pi * 1.2)
    shading *= 1.0 - 0.15 * (yy / h)
    if kind == "flat":
        albedo = np.ones((h, w, 1), np.float32) * base
    elif kind == "noise":
        n = rng.normal(0, 1, (h, w, 3)).astype(np.float32)
        n = cv2.GaussianBlur(n, (0, 0), 1.2)
        albedo = base + 0.05 * n / n.std()
    elif kind == "stripes":
        period = rng.uniform(7, 14)
        ang = rng.uniform(0, np.pi)
        t = (xx * np.cos(ang) + yy * np.sin(ang)) / period * 2 * np.pi
        wave = 0.5 + 0.5 * np.sin(t)
        other = rng.uniform(0.2, 0.9, 3).astype(np.float32)
        albedo = base + (other - base) * 0.35 * wave[..., None]
    elif kind == "weave":
        p = int(rng.integers(6, 10))
        checker = ((xx // p + yy // p) % 2).astype(np.float32)
        thread = 0.5 + 0.5 * np.sin(xx * np.pi / p) * np.sin(yy * np.pi / p)
        albedo = base * (0.85 + 0.1 * checker + 0.08 * thread)[..., None]
    elif kind == "wood":
        grain = np.sin(yy / rng.uniform(4, 8) + 3 * np.sin(xx / 60.0)
                       + rng.normal(0, 1, (h, w)).astype(np.float32) * 0.3)
        albedo = base * (0.85 + 0.12 * grain)[..., None]
    else:
        raise ValueError(kind)
    return np.clip(albedo, 0, 1).astype(np.float32), shading.astype(np.float32)


def draw_logo(kind: str, h: int, w: int, rng: np.random.Generator,
              scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Anti-aliased logo: colour (float HxWx3) and coverage (float HxW) at the centre."""
    big = np.zeros((h * scale, w * scale), np.uint8)
    colours = np.zeros((h * scale, w * scale, 3), np.float32)
    palette = [np.array(c, np.float32) for c in
               ([0.9, 0.1, 0.1], [0.05, 0.05, 0.08], [0.97, 0.97, 0.95], [0.1, 0.2, 0.7],
                [0.95, 0.75, 0.1], [0.1, 0.55, 0.25])]
    order = rng.permutation(len(palette))
    cx, cy = w * scale // 2, h * scale // 2
    if kind == "text":
        word = "".join(rng.choice(list("ABEHKMNRSTWXZ"), 4))
        font = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX,
                cv2.FONT_HERSHEY_TRIPLEX][int(rng.integers(3))]
        fs = w * scale / 150.0
        thick = int(w * scale / 50)
        (tw, th), _ = cv2.getTextSize(word, font, fs, thick)
        cv2.putText(big, word, (cx - tw // 2, cy + th // 2), font, fs, 255, thick, cv2.LINE_AA)
        colours[:] = palette[order[0]]
    elif kind == "mark":
        r = int(min(h, w) * scale * 0.28)
        cv2.circle(big, (cx, cy), r, 255, int(r * 0.22), cv2.LINE_AA)
        cv2.rectangle(big, (cx - r // 3, cy - r // 3), (cx + r // 3, cy + r // 3), 255, -1)
        colours[:] = palette[order[0]]
        colours[cy - r // 2:cy + r // 2, cx - r // 2:cx + r // 2] = palette[order[1]]
    elif kind == "thin":
        for i in range(5):
            y = cy - 2 * scale * 12 + i * scale * 12
            cv2.line(big, (cx - w * scale // 3, y), (cx + w * scale // 3, y + i * scale * 4),
                     255, scale * 2, cv2.LINE_AA)
        colours[:] = palette[order[0]]
    else:
        raise ValueError(kind)
    cover = cv2.resize(big.astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_AREA)
    col = cv2.resize(colours, (w, h), interpolation=cv2.INTER_AREA)
    return col, cover


def make_case(seed: int, surface_kind: str, logo_kind: str, opacity: float,
              h: int = 200, w: int = 260, mask_grow: int = 9) -> Case:
    rng = np.random.default_rng(seed)
    albedo, shading = surface(surface_kind, h, w, rng)
    obj = np.clip(albedo * shading[..., None], 0, 1)
    lh, lw = h // 2, w // 2
    col, cover = draw_logo(logo_kind, lh, lw, rng)
    y0, x0 = (h - lh) // 2, (w - lw) // 2
    colour = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    colour[y0:y0 + lh, x0:x0 + lw] = col
    alpha[y0:y0 + lh, x0:x0 + lw] = cover * opacity
    colour = np.clip(colour * shading[..., None], 0, 1)      # the print is lit like the surface
    obj_u8 = np.rint(obj * 255).astype(np.uint8)
    logo = np.dstack([np.rint(colour * 255), np.rint(alpha * 255)]).astype(np.uint8)
    composite = alpha_over(logo, obj_u8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * mask_grow + 1, 2 * mask_grow + 1))
    mask = cv2.dilate((logo[..., 3] > 0).astype(np.uint8), k).astype(bool)
    return Case(f"{surface_kind}-{logo_kind}-{opacity:g}-s{seed}", composite, mask, obj_u8, logo)


def standard_cases() -> list[Case]:
    """A fixed spread: every surface, opaque and semi-transparent, text and marks."""
    cases = []
    specs = [("flat", "text", 1.0), ("noise", "text", 1.0), ("stripes", "mark", 1.0),
             ("weave", "text", 1.0), ("wood", "thin", 1.0), ("noise", "mark", 0.45),
             ("stripes", "text", 0.35), ("wood", "text", 0.55), ("weave", "mark", 0.4),
             ("flat", "thin", 1.0)]
    for i, (s, k, o) in enumerate(specs):
        cases.append(make_case(100 + i, s, k, o))
    return cases


def psnr_inside(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64))[mask] / 255.0
    mse = float((d ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def telea(case: Case) -> np.ndarray:
    return cv2.inpaint(case.composite, case.mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
