"""Speed of the classical decomposition: a ~300 px logo on a 24 MP photo and on a 1 MP one.

The 1 MP photo is the centre of the 24 MP one, so both hold the same logo on the same surface;
only the photo's size differs. Targets: 24 MP <= 1 s, time(24 MP) / time(1 MP) <= 1.5.
Run: .venv/bin/python -m tests.benchmarks.classical_speed
"""

from __future__ import annotations

import statistics
import time

import cv2
import numpy as np

from layerlift.inference.api import decompose
from layerlift.inference.contract import DecomposeRequest

RUNS = 5


def big_photo(width: int = 6000, height: int = 4000, seed: int = 0) -> np.ndarray:
    """A shaded, lightly textured surface with a two-colour ~300 px logo at its centre."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(0.3, 0.8, (8, 12, 3)).astype(np.float32)
    base = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = cv2.resize(rng.normal(0, 0.02, (height // 4, width // 4, 3)).astype(np.float32),
                       (width, height), interpolation=cv2.INTER_NEAREST)
    photo = np.clip((base + grain) * 255, 0, 255).astype(np.uint8)
    cx, cy = width // 2, height // 2
    cv2.putText(photo, "LOGO", (cx - 150, cy + 35), cv2.FONT_HERSHEY_DUPLEX, 3.3,
                (200, 30, 30), 14, cv2.LINE_AA)
    cv2.circle(photo, (cx, cy - 90), 40, (20, 20, 120), -1, cv2.LINE_AA)
    return photo


def time_decompose(image: np.ndarray, mask: np.ndarray) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        decompose(DecomposeRequest(image=image, mask=mask))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    photo = big_photo()
    h, w = photo.shape[:2]
    cx, cy = w // 2, h // 2
    # The mask: the logo's pixels grown like a loose brush stroke.
    drawn = np.zeros((h, w), np.uint8)
    cv2.putText(drawn, "LOGO", (cx - 150, cy + 35), cv2.FONT_HERSHEY_DUPLEX, 3.3, 1, 14,
                cv2.LINE_AA)
    cv2.circle(drawn, (cx, cy - 90), 40, 1, -1, cv2.LINE_AA)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (25, 25))
    mask = cv2.dilate(drawn, k).astype(bool)
    ys, xs = np.nonzero(mask)
    logo_px = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1

    small = (slice(cy - 500, cy + 500), slice(cx - 500, cx + 500))
    photo_1mp = np.ascontiguousarray(photo[small])
    mask_1mp = np.ascontiguousarray(mask[small])
    decompose(DecomposeRequest(image=photo_1mp, mask=mask_1mp))     # warm-up (imports)

    t1 = time_decompose(photo_1mp, mask_1mp)
    t24 = time_decompose(photo, mask)
    print(f"logo (mask bbox) {logo_px} px; median of {RUNS} runs")
    print(f"1 MP  ({photo_1mp.shape[1]}x{photo_1mp.shape[0]}): {t1:.3f} s")
    print(f"24 MP ({w}x{h}): {t24:.3f} s   target <= 1 s")
    print(f"ratio 24 MP / 1 MP: {t24 / t1:.2f}   target <= 1.5")


if __name__ == "__main__":
    main()
