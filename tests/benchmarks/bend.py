"""The cylinder bend: what a bent placement costs, and how well a mark's bend is read back.

    .venv/bin/python -m tests.benchmarks.bend

1. Time of `inference.warp.warp_asset` flat (bend 0) and bent (30 %) for logos placed at
   three sizes: the cost of one live step of the app's Bend slider (the canvas re-places the
   logo on each step) and of the placement inside a recompose.
2. `estimate_bend` on marks wrapped with known bends (-80..80 %), on an upright quad and on a
   quad in perspective: a red label with a word on it (straight edges), a word mark with
   capitals at its ends and lower-case letters between, and the synthetic generator's logo
   styles. Prints the error (estimate - truth) per case; 0 read for a true bend means the
   mark read as round (not offered).
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from layerlift.inference.bend_estimate import estimate_bend
from layerlift.inference.synth.logos import STYLES, make_logo
from layerlift.inference.warp import warp_asset

BENDS = (-80, -50, -30, -15, 0, 15, 30, 50, 80)
UPRIGHT = np.array([[60, 100], [300, 100], [300, 190], [60, 190]], np.float64)
PERSPECTIVE = np.array([[70, 95], [310, 110], [300, 200], [60, 185]], np.float64)
SIZE = (400, 300)


def timing() -> None:
    print("| placed logo (px) | flat warp ms | bent 30 % warp ms |")
    print("|---|---|---|")
    rng = np.random.default_rng(0)
    for width in (200, 600, 1500):
        height = width // 3
        asset = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
        quad = np.array([[50, 50 + height // 3], [50 + width, 50 + height // 3],
                         [50 + width, 50 + height + height // 3], [50, 50 + height + height // 3]],
                        np.float64)
        photo = (width + 100, 2 * height + 100)
        row = []
        for bend in (0.0, 30.0):
            warp_asset(asset, quad, photo, bend)
            times = []
            for _ in range(7):
                t = time.perf_counter()
                warp_asset(asset, quad, photo, bend)
                times.append(time.perf_counter() - t)
            row.append(f"{1000 * float(np.median(times)):.1f}")
        print(f"| {width} x {height} | {row[0]} | {row[1]} |")


def marks() -> dict[str, np.ndarray]:
    label = np.zeros((60, 160, 4), np.uint8)
    label[...] = (200, 30, 30, 255)
    cv2.putText(label, "LOGO", (10, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.8, (255, 255, 255, 255), 4)
    word = np.zeros((60, 200, 4), np.uint8)
    cv2.putText(word, "Brand", (5, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.9, (20, 20, 20, 255), 5)
    out = {"label": label, "word 'Brand'": word}
    rng = np.random.default_rng(0)
    colours = [np.array([0.8, 0.1, 0.1]), np.array([0.1, 0.1, 0.7])]
    for style in STYLES:
        logo = make_logo(rng, style, 180, colours)
        out[f"synthetic {style}"] = np.dstack([(logo.ink * 255).astype(np.uint8),
                                               (logo.coverage * 255).astype(np.uint8)])
    return out


def placed_alpha(asset: np.ndarray, quad: np.ndarray, bend: float) -> np.ndarray:
    premult, (x0, y0, x1, y1) = warp_asset(asset, quad, SIZE, bend)
    alpha = np.zeros(SIZE[::-1], np.uint8)
    alpha[y0:y1, x0:x1] = np.clip(np.rint(premult[..., 3] * 255), 0, 255).astype(np.uint8)
    return alpha


def accuracy() -> None:
    print()
    print("| mark | quad | " + " | ".join(f"{b:+d}" for b in BENDS) + " | worst |")
    print("|---|---|" + "---|" * (len(BENDS) + 1))
    for name, asset in marks().items():
        for quad_name, quad in (("upright", UPRIGHT), ("perspective", PERSPECTIVE)):
            errors = [estimate_bend(placed_alpha(asset, quad, b)) - b for b in BENDS]
            cells = " | ".join(f"{e:+.1f}" for e in errors)
            print(f"| {name} | {quad_name} | {cells} | {max(abs(e) for e in errors):.1f} |")


if __name__ == "__main__":
    timing()
    accuracy()
