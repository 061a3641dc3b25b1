"""Procedural logos, drawn flat: text in several fonts, geometric marks, multi-colour, thin strokes.

A flat logo is an ink colour per pixel (float RGB in [0, 1]) and a coverage (float in [0, 1]).
Shapes are drawn at 4x and reduced by area averaging, so edges are anti-aliased like real art.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONT_FILES = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerifCondensed-Bold.ttf",
)
THIN_FONT_FILES = ("DejaVuSans-ExtraLight.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf")
STYLES = ("text", "mark", "multicolour", "thin")
SUPERSAMPLE = 4

# Syllables for made-up brand names (no real trademarks).
SYLLABLES = ("ka", "lo", "ve", "ri", "to", "na", "mi", "zu", "ar", "el", "on", "qu", "ex", "ly",
             "so", "fi", "da", "gr", "pe", "no", "va", "ter", "bel", "cor", "lux", "max", "ra")


@dataclass
class FlatLogo:
    ink: np.ndarray        # hxwx3 float32 in [0, 1]: the ink colour (meaningful where coverage > 0)
    coverage: np.ndarray   # hxw float32 in [0, 1]
    style: str


@lru_cache(maxsize=64)
def _font(name: str, px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = os.path.join(FONT_DIR, name)
    try:
        return ImageFont.truetype(path, px)
    except OSError:
        # A machine without DejaVu still gets text: Pillow's built-in font (scalable from
        # Pillow 10.1 on, a fixed bitmap font before). The seeded cases then differ from a
        # machine with the fonts (the Makefile installs them), so say so.
        warnings.warn(f"font {path} not found: using Pillow's default font", stacklevel=2)
        try:
            return ImageFont.load_default(size=px)
        except TypeError:
            return ImageFont.load_default()


def brand_name(rng: np.random.Generator) -> str:
    n = int(rng.integers(2, 4))
    word = "".join(SYLLABLES[int(i)] for i in rng.integers(0, len(SYLLABLES), n))
    case = int(rng.integers(0, 3))
    return word.upper() if case == 0 else word.capitalize() if case == 1 else word


class _Canvas:
    """Coverage layers painted over one another at SUPERSAMPLE x resolution."""

    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.premult = np.zeros((h, w, 3), np.float32)
        self.alpha = np.zeros((h, w), np.float32)

    def layer(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        img = Image.new("L", (self.w * SUPERSAMPLE, self.h * SUPERSAMPLE), 0)
        return img, ImageDraw.Draw(img)

    def paint(self, img: Image.Image, colour: np.ndarray, knockout: bool = False) -> None:
        big = np.asarray(img, dtype=np.float32) / 255.0
        cov = cv2.resize(big, (self.w, self.h), interpolation=cv2.INTER_AREA)
        if knockout:  # cut a hole through everything painted so far
            self.premult *= (1 - cov)[..., None]
            self.alpha *= 1 - cov
            return
        self.premult = self.premult * (1 - cov)[..., None] + colour * cov[..., None]
        self.alpha = self.alpha * (1 - cov) + cov

    def gradient(self, rng: np.random.Generator, colour: np.ndarray) -> None:
        """Fade the painted ink towards `colour` along a random direction (gradient fills)."""
        ys, xs = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        ang = rng.uniform(0, 2 * np.pi)
        ramp = np.cos(ang) * xs / self.w + np.sin(ang) * ys / self.h
        t = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6) * rng.uniform(0.4, 0.8)
        self.premult = self.premult * (1 - t[..., None]) + colour * (self.alpha * t)[..., None]

    def drop_shadow(self, rng: np.random.Generator) -> None:
        """A soft dark shadow under everything painted: opaque ink over a see-through halo."""
        dx, dy = (rng.uniform(0.01, 0.03, 2) * min(self.w, self.h) * 3).astype(int) + 1
        shadow = np.zeros_like(self.alpha)
        shadow[dy:, dx:] = self.alpha[:-dy, :-dx]
        shadow = cv2.GaussianBlur(shadow, (0, 0), max(1.0, min(self.w, self.h) * 0.03))
        shadow *= rng.uniform(0.35, 0.6)
        # painted under the ink; a black shadow adds coverage but no colour
        self.alpha = self.alpha + shadow * (1 - self.alpha)

    def result(self, style: str) -> FlatLogo:
        a = np.clip(self.alpha, 0.0, 1.0)
        ink = self.premult / np.maximum(a, 1e-6)[..., None]
        return FlatLogo(np.clip(ink, 0, 1).astype(np.float32), a.astype(np.float32), style)


def _text_fit(draw: ImageDraw.ImageDraw, text: str, font_name: str, box_w: int,
              box_h: int) -> tuple[ImageFont.ImageFont, tuple[int, int, int, int]]:
    """The largest font size whose rendering of `text` fits box_w x box_h (supersampled px)."""
    px = max(8, box_h)
    for _ in range(12):
        font = _font(font_name, px)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        if x1 - x0 <= box_w and y1 - y0 <= box_h:
            return font, (x0, y0, x1, y1)
        px = max(6, int(px * min(box_w / max(x1 - x0, 1), box_h / max(y1 - y0, 1)) * 0.97))
    font = _font(font_name, px)
    return font, draw.textbbox((0, 0), text, font=font)


def _draw_text(canvas: _Canvas, text: str, font_name: str, colour: np.ndarray,
               box: tuple[float, float, float, float]) -> None:
    """Text centred in `box` (fractions of the canvas: x0, y0, x1, y1)."""
    img, draw = canvas.layer()
    W, H = img.size
    bx0, by0, bx1, by1 = box[0] * W, box[1] * H, box[2] * W, box[3] * H
    font, (x0, y0, x1, y1) = _text_fit(draw, text, font_name, int(bx1 - bx0), int(by1 - by0))
    ox = (bx0 + bx1) / 2 - (x0 + x1) / 2
    oy = (by0 + by1) / 2 - (y0 + y1) / 2
    draw.text((ox, oy), text, font=font, fill=255)
    canvas.paint(img, colour)


def _shape_points(kind: str, cx: float, cy: float, r: float, rot: float) -> list[tuple]:
    if kind == "triangle":
        n, radii = 3, [r]
    elif kind == "diamond":
        n, radii = 4, [r]
    elif kind == "hexagon":
        n, radii = 6, [r]
    else:  # star
        n, radii = 10, [r, r * 0.45]
    pts = []
    for i in range(n):
        ang = rot + 2 * np.pi * i / n
        rad = radii[i % len(radii)]
        pts.append((cx + rad * np.cos(ang), cy + rad * np.sin(ang)))
    return pts


def _draw_shape(canvas: _Canvas, kind: str, colour: np.ndarray, cx: float, cy: float,
                r: float, rot: float, width: int = 0, knockout: bool = False) -> None:
    """A shape centred at (cx, cy) with radius r, all in canvas pixels; width > 0 = outline."""
    img, draw = canvas.layer()
    s = SUPERSAMPLE
    cx, cy, r = cx * s, cy * s, r * s
    w = int(round(width * s))
    if kind in ("circle", "ring"):
        box = (cx - r, cy - r, cx + r, cy + r)
        if kind == "ring" and not w:
            w = max(s, int(r * 0.25))
        draw.ellipse(box, fill=None if w else 255, outline=255 if w else None, width=w)
    elif kind == "square":
        box = (cx - r, cy - r, cx + r, cy + r)
        draw.rounded_rectangle(box, radius=r * 0.25, fill=None if w else 255,
                               outline=255 if w else None, width=w)
    else:
        pts = _shape_points(kind, cx, cy, r, rot)
        if w:
            draw.line(pts + [pts[0]], fill=255, width=w, joint="curve")
        else:
            draw.polygon(pts, fill=255)
    canvas.paint(img, colour, knockout=knockout)


SHAPES = ("circle", "ring", "square", "triangle", "diamond", "hexagon", "star")


def _text_logo(rng: np.random.Generator, w: int, h: int, colours: list[np.ndarray]) -> _Canvas:
    canvas = _Canvas(w, h)
    font = FONT_FILES[int(rng.integers(len(FONT_FILES)))]
    name = brand_name(rng)
    if rng.random() < 0.4:  # a tagline under the name
        _draw_text(canvas, name, font, colours[0], (0.02, 0.02, 0.98, 0.68))
        tag = " ".join(brand_name(rng).lower() for _ in range(2))
        _draw_text(canvas, tag, FONT_FILES[1], colours[0], (0.15, 0.74, 0.85, 0.98))
    else:
        _draw_text(canvas, name, font, colours[0], (0.02, 0.05, 0.98, 0.95))
    return canvas


def _mark_logo(rng: np.random.Generator, w: int, h: int, colours: list[np.ndarray]) -> _Canvas:
    canvas = _Canvas(w, h)
    r = min(w, h) * 0.46
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    _draw_shape(canvas, shape, colours[0], w / 2, h / 2, r, rng.uniform(0, np.pi))
    if rng.random() < 0.6:  # a letter knocked out of (or drawn on) the mark
        letter = brand_name(rng)[0].upper()
        img, draw = canvas.layer()
        font, (x0, y0, x1, y1) = _text_fit(draw, letter, FONT_FILES[0],
                                           int(r * SUPERSAMPLE), int(r * SUPERSAMPLE))
        draw.text((w * SUPERSAMPLE / 2 - (x0 + x1) / 2, h * SUPERSAMPLE / 2 - (y0 + y1) / 2),
                  letter, font=font, fill=255)
        canvas.paint(img, colours[-1], knockout=len(colours) == 1)
    return canvas


def _multicolour_logo(rng: np.random.Generator, w: int, h: int,
                      colours: list[np.ndarray]) -> _Canvas:
    canvas = _Canvas(w, h)
    r = h * 0.42
    for i in range(int(rng.integers(2, 4))):  # overlapping marks in different colours
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        _draw_shape(canvas, shape, colours[i % len(colours)], r * (1.05 + 0.35 * i),
                    h / 2 + rng.uniform(-0.05, 0.05) * h, r * rng.uniform(0.6, 0.95),
                    rng.uniform(0, np.pi))
    text_x0 = (r * (1.0 + 0.35 * 2) + r) / w
    font = FONT_FILES[int(rng.integers(len(FONT_FILES)))]
    _draw_text(canvas, brand_name(rng), font, colours[-1], (min(text_x0, 0.6), 0.15, 0.98, 0.85))
    return canvas


def _thin_logo(rng: np.random.Generator, w: int, h: int, colours: list[np.ndarray]) -> _Canvas:
    canvas = _Canvas(w, h)
    stroke = float(rng.uniform(1.0, 2.2))
    r = h * 0.44
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    _draw_shape(canvas, shape, colours[0], r + 2, h / 2, r, rng.uniform(0, np.pi), width=stroke)
    img, draw = canvas.layer()
    y = h * 0.5 * SUPERSAMPLE
    x0 = (2 * r + 8) * SUPERSAMPLE
    draw.line([(x0, y), (w * SUPERSAMPLE - 4, y)], fill=255, width=int(stroke * SUPERSAMPLE))
    canvas.paint(img, colours[0])
    font = THIN_FONT_FILES[int(rng.integers(len(THIN_FONT_FILES)))]
    left = (2 * r + 10) / w
    _draw_text(canvas, brand_name(rng), font, colours[-1], (left, 0.06, 0.98, 0.46))
    _draw_text(canvas, brand_name(rng).lower(), font, colours[-1], (left, 0.56, 0.9, 0.9))
    return canvas


def make_logo(rng: np.random.Generator, style: str, width: int,
              colours: list[np.ndarray]) -> FlatLogo:
    """A flat logo about `width` px wide in one of STYLES, painted in `colours` (RGB 0..1)."""
    if style == "text":
        h = int(width * rng.uniform(0.28, 0.45))
        canvas = _text_logo(rng, width, h, colours)
    elif style == "mark":
        h = int(width * rng.uniform(0.75, 1.0))
        canvas = _mark_logo(rng, width, h, colours)
    elif style == "multicolour":
        h = int(width * rng.uniform(0.35, 0.5))
        canvas = _multicolour_logo(rng, width, h, colours)
    elif style == "thin":
        h = int(width * rng.uniform(0.3, 0.42))
        canvas = _thin_logo(rng, width, h, colours)
    else:
        raise ValueError(f"unknown logo style {style!r}")
    if style != "thin" and rng.random() < 0.2:
        canvas.gradient(rng, np.clip(colours[0] * rng.uniform(0.3, 1.6), 0, 1))
    if rng.random() < 0.12:
        canvas.drop_shadow(rng)
    return canvas.result(style)
