"""Surfaces a logo is printed on: procedural product renders and real photographs.

Each builder returns a Surface: the clean object (float RGB in [0, 1]), the shading that the
surface multiplies into printed ink (float, 1 = fully lit), the on-screen width a logo should
have, and `place(logo_w, logo_h)` which returns cv2.remap maps from photo pixels to flat-logo
pixels (perspective, cylindrical or wavy, depending on the surface).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

KINDS = ("mug", "bottle", "box", "fabric", "metal", "wood", "paper", "photo")
# Photographs shipped inside scikit-image's wheel (no download), all CC0 or public domain:
# coffee (Rachel Michetti, CC0), chelsea (Stefan van der Walt, CC0), astronaut (NASA, public
# domain), rocket (SpaceX, public domain), camera (Lav Varshney, CC0), brick / grass / gravel
# (CC0Textures, CC0).
PHOTOS = {"coffee": "coffee.png", "chelsea": "chelsea.png", "astronaut": "astronaut.png",
          "rocket": "rocket.jpg", "camera": "camera.png", "brick": "brick.png",
          "grass": "grass.png", "gravel": "gravel.png"}

Maps = tuple[np.ndarray, np.ndarray]


@dataclass
class Surface:
    object: np.ndarray                         # SxSx3 float32 in [0, 1]
    shading: np.ndarray                        # SxS float32, multiplied into the ink
    logo_width: int                            # suggested on-screen logo width, px
    place: Callable[[int, int], Maps]          # (logo_w, logo_h) -> remap maps
    meta: dict = field(default_factory=dict)
    max_logo_height: float | None = None       # a taller logo is scaled down to fit


# ---------------------------------------------------------------------------- helpers

def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth random field with about `cells` blobs across, zero mean, unit std."""
    low = rng.standard_normal((cells + 3, cells + 3)).astype(np.float32)
    big = cv2.resize(low, (size + 2 * size // cells, size + 2 * size // cells),
                     interpolation=cv2.INTER_CUBIC)
    o = size // cells
    out = big[o:o + size, o:o + size]
    return (out - out.mean()) / (out.std() + 1e-6)


def random_colour(rng: np.random.Generator) -> np.ndarray:
    """An albedo: saturated, pastel, white-ish or dark, like real products."""
    pick = rng.random()
    hue = rng.uniform(0, 1)
    if pick < 0.15:
        return np.full(3, rng.uniform(0.82, 0.95), np.float32)
    if pick < 0.25:
        return np.full(3, rng.uniform(0.08, 0.2), np.float32)
    sat = rng.uniform(0.2, 0.45) if pick < 0.6 else rng.uniform(0.5, 0.85)
    val = rng.uniform(0.55, 0.92)
    hsv = np.array([[[hue * 180, sat * 255, val * 255]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255.0


def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs, ys


def backdrop(rng: np.random.Generator, size: int) -> tuple[np.ndarray, float]:
    """Studio wall and table with soft light; returns (rgb, horizon y)."""
    xs, ys = grid(size)
    horizon = size * rng.uniform(0.62, 0.78)
    wall = random_colour(rng) * 0.35 + 0.6 * rng.uniform(0.7, 1.0)
    table = random_colour(rng) * 0.5 + 0.4 * rng.uniform(0.5, 1.0)
    v = ys / size
    light = 0.85 + 0.15 * np.cos((xs / size - rng.uniform(0.3, 0.7)) * np.pi)
    rgb = np.where((ys < horizon)[..., None], wall * (1.05 - 0.25 * v)[..., None],
                   table * (0.75 + 0.3 * v)[..., None])
    rgb = rgb * light[..., None]
    return np.clip(rgb, 0, 1).astype(np.float32), float(horizon)


def perspective_maps(size: int, flat_w: int, flat_h: int, quad: np.ndarray,
                     wobble: np.ndarray | None = None) -> Maps:
    """Maps sending each photo pixel to the flat logo, for a logo whose corners land on quad."""
    src = np.array([[0, 0], [flat_w, 0], [flat_w, flat_h], [0, flat_h]], np.float32)
    inv = cv2.getPerspectiveTransform(quad.astype(np.float32), src)
    xs, ys = grid(size)
    if wobble is not None:
        xs = xs + wobble[0]
        ys = ys + wobble[1]
    den = inv[2, 0] * xs + inv[2, 1] * ys + inv[2, 2]
    mx = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]) / den
    my = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]) / den
    return mx.astype(np.float32), my.astype(np.float32)


def tilted_quad(rng: np.random.Generator, size: int, w: float, h: float,
                strength: float = 0.12) -> np.ndarray:
    """A w x h rectangle somewhere in the frame, rotated a little and seen in perspective."""
    cx = size * 0.5 + rng.uniform(-1, 1) * max(0.0, size / 2 - w * 0.7)
    cy = size * 0.5 + rng.uniform(-1, 1) * max(0.0, size / 2 - h * 0.7 - w * 0.2)
    ang = rng.uniform(-0.25, 0.25)
    c, s = np.cos(ang), np.sin(ang)
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], np.float64) / 2
    # Perspective: one side shrinks as if the plane were tilted away.
    tilt_x, tilt_y = rng.uniform(-strength, strength, 2)
    corners[:, 1] *= 1 + tilt_x * np.sign(corners[:, 0])
    corners[:, 0] *= 1 + tilt_y * np.sign(corners[:, 1])
    rot = corners @ np.array([[c, s], [-s, c]])
    return rot + np.array([cx, cy])


def flat_placer(rng: np.random.Generator, size: int, strength: float = 0.12,
                wobble: np.ndarray | None = None) -> Callable[[int, int], Maps]:
    def place(w: int, h: int) -> Maps:
        quad = tilted_quad(rng, size, w, h, strength)
        return perspective_maps(size, w, h, quad, wobble)
    return place


def lit(rng: np.random.Generator, size: int, amount: float = 0.25) -> np.ndarray:
    """Soft directional light over a flat surface: a gradient plus a broad hot spot."""
    xs, ys = grid(size)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(ang) * (xs / size - 0.5) + np.sin(ang) * (ys / size - 0.5))
    spot = np.exp(-(((xs / size - rng.uniform(0.2, 0.8)) ** 2 +
                     (ys / size - rng.uniform(0.2, 0.8)) ** 2) / 0.15))
    return (1.0 - amount + amount * (0.5 + ramp) * 0.6 + amount * 0.6 * spot).astype(np.float32)


# ------------------------------------------------------------------ cylinder products

def _cylinder_shading(rng: np.random.Generator, t: np.ndarray, gloss: float) -> np.ndarray:
    light = np.array([rng.uniform(-0.7, 0.7), 0.0, 1.0])
    light /= np.linalg.norm(light)
    nz = np.sqrt(np.clip(1 - t * t, 0, 1))
    diffuse = np.clip(light[0] * t + light[2] * nz, 0, 1)
    half = light + np.array([0.0, 0.0, 1.0])
    half /= np.linalg.norm(half)
    spec = np.clip(half[0] * t + half[2] * nz, 0, 1) ** 60 * gloss
    ambient = rng.uniform(0.25, 0.45)
    return (ambient + (1 - ambient) * diffuse + spec).astype(np.float32)


def cylinder_maps(size: int, flat_w: int, flat_h: int, cx: float, radius: float,
                  ellipse: float, phi0: float, level: float,
                  printable: np.ndarray | None = None) -> Maps:
    """Maps for a logo wrapped round a vertical cylinder seen slightly from above.

    Arc length on the cylinder maps to the logo's x; a horizontal line at `level` on the
    cylinder shows on screen as y = level + ellipse * cos(phi).
    """
    xs, ys = grid(size)
    t = (xs - cx) / radius
    inside = np.abs(t) < 0.985
    phi = np.arcsin(np.clip(t, -1, 1))
    mx = radius * (phi - phi0) + flat_w / 2
    my = ys - ellipse * np.cos(phi) - level + flat_h / 2
    if printable is not None:  # e.g. the mug's body without its opening, a bottle's label
        inside &= printable
    mx[~inside] = -1e4
    return mx.astype(np.float32), my.astype(np.float32)


def mug(rng: np.random.Generator, size: int) -> Surface:
    rgb, horizon = backdrop(rng, size)
    xs, ys = grid(size)
    cx = size * rng.uniform(0.42, 0.58)
    radius = size * rng.uniform(0.2, 0.27)
    ell = radius * rng.uniform(0.1, 0.22)
    y_bot = max(horizon + size * 0.02, size * rng.uniform(0.76, 0.84))
    y_top = y_bot - size * rng.uniform(0.48, 0.58)
    albedo = random_colour(rng)
    t = (xs - cx) / radius
    shade = _cylinder_shading(rng, t, gloss=rng.uniform(0.0, 0.5))
    # Darker near the table (occlusion), lighter near the rim.
    shade *= 1 - 0.18 * np.clip((ys - y_bot + 0.2 * size) / (0.2 * size), 0, 1)
    front = ell * np.sqrt(np.clip(1 - t * t, 0, 1))
    body = (np.abs(t) < 1) & (ys >= y_top) & (ys <= y_bot + front)
    opening = ((xs - cx) / radius) ** 2 + ((ys - y_top) / ell) ** 2 <= 1
    # Soft shadow on the table.
    shadow = np.exp(-(((xs - cx) / (radius * 1.4)) ** 2 + ((ys - y_bot - ell) / (ell * 2)) ** 2))
    rgb = rgb * (1 - 0.35 * shadow)[..., None]
    side = 1 if rng.random() < 0.5 else -1
    handle = np.zeros((size, size), np.uint8)
    hc = (int(cx + side * radius * 1.0), int((y_top + y_bot) / 2))
    axes = (int(radius * 0.45), int((y_bot - y_top) * 0.3))
    cv2.ellipse(handle, hc, axes, 0, 0, 360, 1, max(2, int(radius * 0.16)))
    handle_on = handle.astype(bool) & (np.abs(t) >= 0.98)
    rgb[handle_on] = albedo * 0.6 * (0.8 + 0.2 * np.cos(ys[handle_on] / size * 6))[..., None]
    rgb[body] = albedo * shade[body][..., None]
    inner = 0.35 + 0.35 * ((xs - cx) / radius)
    rgb[opening] = albedo * np.clip(inner[opening], 0.1, 0.8)[..., None]
    rim = opening ^ (((xs - cx) / (radius * 0.95)) ** 2 + ((ys - y_top) / (ell * 0.9)) ** 2 <= 1)
    rgb[rim] = albedo * 0.95
    shading = np.where(body, shade, 1.0).astype(np.float32)

    top_free = y_top + 2 * ell + 0.03 * size
    room = (y_bot - 0.03 * size) - top_free
    printable = body & ~opening

    def place(w: int, h: int) -> Maps:
        level = top_free + room / 2 - ell + rng.uniform(-0.3, 0.3) * max(room - h, 0)
        return cylinder_maps(size, w, h, cx, radius, ell, rng.uniform(-0.2, 0.2), level,
                             printable)

    width = int(radius * rng.uniform(1.0, 1.5))
    width = min(width, int((y_bot - y_top - 2.5 * ell) * 1.6))
    return Surface(np.clip(rgb, 0, 1), shading, width, place, {"surface": "mug"},
                   max_logo_height=room * 0.9)


def bottle(rng: np.random.Generator, size: int) -> Surface:
    rgb, horizon = backdrop(rng, size)
    xs, ys = grid(size)
    cx = size * rng.uniform(0.42, 0.58)
    radius = size * rng.uniform(0.15, 0.2)
    y_bot = max(horizon + size * 0.02, size * rng.uniform(0.84, 0.92))
    y_sh = size * rng.uniform(0.3, 0.38)
    y_neck = y_sh - radius * 0.9
    y_cap = max(size * 0.03, y_neck - size * 0.1)
    neck_r = radius * 0.38
    # Radius along the height: neck, a smooth shoulder, then the body.
    s = np.clip((ys - y_neck) / (y_sh - y_neck), 0, 1)
    prof = neck_r + (radius - neck_r) * (s * s * (3 - 2 * s))
    prof = np.where(ys < y_cap, 0, prof)
    t = (xs - cx) / np.maximum(prof, 1)
    inside = (np.abs(t) < 1) & (ys <= y_bot) & (ys >= y_cap)
    glass = random_colour(rng) * rng.uniform(0.4, 0.9)
    shade = _cylinder_shading(rng, t, gloss=rng.uniform(0.4, 1.0))
    label_top = y_sh + (y_bot - y_sh) * rng.uniform(0.08, 0.2)
    label_bot = y_bot - (y_bot - y_sh) * rng.uniform(0.08, 0.2)
    label = inside & (ys >= label_top) & (ys <= label_bot)
    paper = random_colour(rng)
    label_shade = _cylinder_shading(rng, t, gloss=rng.uniform(0.0, 0.15))
    shadow = np.exp(-(((xs - cx) / (radius * 1.5)) ** 2 + ((ys - y_bot) / (size * 0.025)) ** 2))
    rgb = rgb * (1 - 0.3 * shadow)[..., None]
    rgb[inside] = glass * shade[inside][..., None]
    cap = (np.abs(xs - cx) < neck_r * 1.1) & (ys >= y_cap) & (ys < y_cap + size * 0.05)
    rgb[cap] = random_colour(rng) * shade[cap][..., None] * 0.8
    rgb[label] = paper * label_shade[label][..., None]
    shading = np.where(label, label_shade, 1.0).astype(np.float32)

    def place(w: int, h: int) -> Maps:
        room = label_bot - label_top
        level = (label_top + label_bot) / 2 + rng.uniform(-0.2, 0.2) * max(room - h, 0)
        return cylinder_maps(size, w, h, cx, radius, radius * 0.05, rng.uniform(-0.2, 0.2),
                             level - radius * 0.05, label)

    width = int(radius * rng.uniform(0.9, 1.4))
    width = min(width, int((label_bot - label_top) * 2.0))
    return Surface(np.clip(rgb, 0, 1), shading, width, place, {"surface": "bottle"},
                   max_logo_height=(label_bot - label_top) * 0.85)


# ------------------------------------------------------------------------------- box

def _rotation(yaw: float, pitch: float) -> np.ndarray:
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return rx @ ry


def box(rng: np.random.Generator, size: int) -> Surface:
    """A carton seen from above and to one side: three faces in perspective."""
    rgb, _ = backdrop(rng, size)
    dims = np.array([rng.uniform(0.8, 1.2), rng.uniform(0.7, 1.1), rng.uniform(0.4, 0.8)])
    yaw = rng.choice([-1, 1]) * rng.uniform(0.35, 0.8)
    pitch = rng.uniform(0.25, 0.5)
    rot = _rotation(yaw, pitch)
    hx, hy, hz = dims / 2
    verts = np.array([[x, y, z] for z in (-hz, hz) for y in (-hy, hy) for x in (-hx, hx)])
    cam = verts @ rot.T + np.array([0, 0, 4.0])
    f = 4.0
    proj = cam[:, :2] * f / cam[:, 2:3]
    lo, hi = proj.min(0), proj.max(0)
    scale = size * rng.uniform(0.7, 0.82) / (hi - lo).max()
    offset = size / 2 - (lo + hi) / 2 * scale

    def to_px(p: np.ndarray) -> np.ndarray:
        return p * scale + offset

    pts = to_px(proj)
    # faces: vertex indices (TL, TR, BR, BL seen from outside) and outward normal;
    # vertex index = 4 * z + 2 * y + x with 0 = negative side
    faces = [
        ([0, 1, 3, 2], np.array([0, 0, -1.0])),
        ([5, 4, 6, 7], np.array([0, 0, 1.0])),
        ([1, 5, 7, 3], np.array([1.0, 0, 0])),
        ([4, 0, 2, 6], np.array([-1.0, 0, 0])),
        ([4, 5, 1, 0], np.array([0, -1.0, 0])),
        ([2, 3, 7, 6], np.array([0, 1.0, 0])),
    ]
    light = np.array([rng.uniform(-0.6, 0.6), -rng.uniform(0.4, 0.9), -1.0])
    light /= np.linalg.norm(light)
    albedo = random_colour(rng)
    grain = 1 + 0.03 * smooth_noise(rng, size, 60)
    shading = np.ones((size, size), np.float32)
    xs, ys = grid(size)
    shadow = np.exp(-(((xs - size / 2) / (size * 0.45)) ** 2 +
                      ((ys - pts[:, 1].max()) / (size * 0.04)) ** 2))
    rgb = rgb * (1 - 0.35 * shadow)[..., None]
    for idx, normal in faces:
        n_cam = rot @ normal
        if n_cam @ cam[idx].mean(0) >= 0:  # faces away from the camera
            continue
        level = 0.3 + 0.7 * max(0.0, float(n_cam @ light))
        poly = np.zeros((size, size), np.uint8)
        cv2.fillConvexPoly(poly, np.round(pts[idx] * 16).astype(np.int32), 1,
                           lineType=cv2.LINE_8, shift=4)
        on = poly.astype(bool)
        # a gentle gradient across each face, as real light falls off
        grad = 1 + 0.08 * ((xs - pts[idx][:, 0].mean()) / size)
        face_shade = (level * grad * grain).astype(np.float32)
        rgb[on] = albedo * face_shade[on][..., None]
        shading[on] = face_shade[on]
    front_idx = faces[0][0]
    fw, fh = dims[0], dims[1]

    def place(w: int, h: int) -> Maps:
        # logo rectangle in face units, kept inside the face with a margin
        lw = fw * rng.uniform(0.5, 0.75)
        lh = lw * h / w
        if lh > fh * 0.75:
            lh = fh * 0.75
            lw = lh * w / h
        u0 = rng.uniform(-hx + 0.1 * fw, hx - 0.1 * fw - lw)
        v0 = rng.uniform(-hy + 0.1 * fh, hy - 0.1 * fh - lh)
        corners = np.array([[u0, v0, -hz], [u0 + lw, v0, -hz], [u0 + lw, v0 + lh, -hz],
                            [u0, v0 + lh, -hz]])
        c = corners @ rot.T + np.array([0, 0, 4.0])
        quad = to_px(c[:, :2] * f / c[:, 2:3])
        return perspective_maps(size, w, h, quad)

    face_px = np.linalg.norm(pts[front_idx[1]] - pts[front_idx[0]])
    return Surface(np.clip(rgb, 0, 1), shading, int(face_px * 0.6), place, {"surface": "box"})


# ------------------------------------------------------------------ flat materials

def _flat(rgb: np.ndarray, shading: np.ndarray, rng: np.random.Generator, size: int,
          place: Callable[[int, int], Maps], meta: dict) -> Surface:
    """A flat material: logos a third to a half of the frame wide."""
    return Surface(np.clip(rgb, 0, 1).astype(np.float32), shading,
                   int(size * rng.uniform(0.3, 0.5)), place, meta)


def fabric(rng: np.random.Generator, size: int) -> Surface:
    """Knit fabric with folds: the print follows the stitches and the folds."""
    xs, ys = grid(size)
    period = max(4.0, size * rng.uniform(0.012, 0.025))
    ang = rng.uniform(-0.2, 0.2)
    u = np.cos(ang) * xs + np.sin(ang) * ys
    v = -np.sin(ang) * xs + np.cos(ang) * ys
    chevron = np.abs((u / period) % 1.0 - 0.5)
    stitches = 0.5 + 0.5 * np.cos(2 * np.pi * (v / (period * 1.4) + chevron * 1.2))
    texture = 0.82 + 0.18 * stitches
    folds = smooth_noise(rng, size, 4)
    fold_shade = np.clip(0.85 + 0.13 * folds, 0.5, 1.1)
    albedo = random_colour(rng)
    depth = rng.uniform(0.3, 0.8)
    shading = (fold_shade * texture ** depth).astype(np.float32)
    rgb = albedo * (fold_shade * texture)[..., None]
    amp = size * rng.uniform(0.003, 0.01)
    gy, gx = np.gradient(folds)
    wobble = (gx * amp * size / 4, gy * amp * size / 4)
    place = flat_placer(rng, size, 0.06, np.array(wobble))
    return _flat(rgb, shading, rng, size, place, {"surface": "fabric"})


def metal(rng: np.random.Generator, size: int) -> Surface:
    """Brushed metal: streaks along one direction and a broad anisotropic highlight."""
    noise = rng.standard_normal((size, size)).astype(np.float32)
    k = max(3, int(size * 0.12)) | 1
    streaks = cv2.GaussianBlur(noise, (k, 1), 0)
    streaks /= streaks.std() + 1e-6
    if rng.random() < 0.5:
        streaks = streaks.T.copy()
    base = np.full(3, rng.uniform(0.45, 0.75), np.float32)
    if rng.random() < 0.35:  # anodised tint
        base = base * 0.6 + random_colour(rng) * 0.4
    light = lit(rng, size, 0.45)
    xs, _ = grid(size)
    sheen = 0.25 * np.exp(-((xs / size - rng.uniform(0.2, 0.8)) / 0.12) ** 2)
    shading = (light * (1 + 0.03 * streaks) + sheen).astype(np.float32)
    rgb = base * (light * (1 + 0.07 * streaks) + sheen)[..., None]
    return _flat(rgb, shading, rng, size, flat_placer(rng, size), {"surface": "metal"})


def wood(rng: np.random.Generator, size: int) -> Surface:
    xs, ys = grid(size)
    cx, cy = size * rng.uniform(-1.5, 2.5), size * rng.uniform(-3, -1)
    turb = smooth_noise(rng, size, 6) * size * 0.01
    r = np.hypot(xs - cx, (ys - cy) * 0.3) + turb
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * r / (size * rng.uniform(0.02, 0.05)))
    fine = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (1, 31), 0)
    fine /= fine.std() + 1e-6
    light_c = np.array([0.78, 0.6, 0.42]) * rng.uniform(0.8, 1.1)
    dark_c = np.array([0.5, 0.32, 0.18]) * rng.uniform(0.6, 1.0)
    grain = (rings ** 2)[..., None]
    albedo = light_c * (1 - grain) + dark_c * grain
    albedo = albedo * (1 + 0.04 * fine)[..., None]
    light = lit(rng, size, 0.3)
    shading = (light * (1 + 0.02 * fine)).astype(np.float32)
    rgb = albedo * light[..., None]
    return _flat(rgb, shading, rng, size, flat_placer(rng, size), {"surface": "wood"})


def paper(rng: np.random.Generator, size: int) -> Surface:
    xs, ys = grid(size)
    fibres = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), 1.2)
    fibres /= fibres.std() + 1e-6
    base = np.array([0.93, 0.91, 0.86]) * rng.uniform(0.85, 1.02)
    if rng.random() < 0.3:
        base = base * 0.7 + random_colour(rng) * 0.3
    light = lit(rng, size, 0.3)
    # a fold crease across the sheet: one side a little darker, a bright edge along it
    ang = rng.uniform(0, np.pi)
    d = np.cos(ang) * (xs - size * rng.uniform(0.3, 0.7)) + np.sin(ang) * (ys - size / 2)
    crease = np.where(d > 0, 0.93, 1.0) + 0.05 * np.exp(-(d / 2.0) ** 2)
    shading = (light * crease).astype(np.float32)
    rgb = base * (shading * (1 + 0.02 * fibres))[..., None]
    return _flat(rgb, shading, rng, size, flat_placer(rng, size, 0.15), {"surface": "paper"})


@lru_cache(maxsize=len(PHOTOS))
def _load_photo(name: str) -> np.ndarray:
    """A photograph from scikit-image's package folder, read directly: never a download."""
    from importlib.resources import files

    path = files("skimage.data") / PHOTOS[name]
    with path.open("rb") as f:
        img = np.asarray(Image.open(f).convert("RGB"))
    img.setflags(write=False)
    return img


def photo(rng: np.random.Generator, size: int) -> Surface:
    """A real photograph; the logo is printed on it (shaded) or overlaid digitally (flat)."""
    name = list(PHOTOS)[int(rng.integers(len(PHOTOS)))]
    img = _load_photo(name).astype(np.float32) / 255.0
    if name in ("brick", "grass", "gravel", "camera"):  # grey textures: give them a tint
        img = img * (0.6 + 0.4 * random_colour(rng))
    h, w = img.shape[:2]
    side = int(min(h, w) * rng.uniform(0.65, 1.0))
    y0 = int(rng.integers(0, h - side + 1))
    x0 = int(rng.integers(0, w - side + 1))
    crop = img[y0:y0 + side, x0:x0 + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    rgb = np.clip(cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp), 0, 1)
    printed = rng.random() < 0.5
    if printed:
        lum = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        low = cv2.GaussianBlur(lum, (0, 0), size * 0.03)
        shading = np.clip(low / (np.percentile(low, 70) + 1e-6), 0.35, 1.3).astype(np.float32)
    else:
        shading = np.ones((size, size), np.float32)
    return Surface(rgb.astype(np.float32), shading, int(size * rng.uniform(0.3, 0.5)),
                   flat_placer(rng, size, 0.08),
                   {"surface": "photo", "photo": name, "printed": printed})


BUILDERS: dict[str, Callable[[np.random.Generator, int], Surface]] = {
    "mug": mug, "bottle": bottle, "box": box, "fabric": fabric,
    "metal": metal, "wood": wood, "paper": paper, "photo": photo,
}
