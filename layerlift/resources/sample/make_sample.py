"""Make the bundled sample: a procedural mug with a printed logo, and a loosely brushed mask.

    .venv/bin/python -m layerlift.resources.sample.make_sample

The photo is rendered by inference.synth (no outside image), so it is ours to ship. The same
seed always gives the same files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from layerlift.inference.layers import alpha_over
from layerlift.inference.synth import generate_triplet

SEED = 4
SIZE = 1600
KIND = "mug"
QUALITY = 88
HERE = Path(__file__).resolve().parent


def save_atomic(image: Image.Image, path: Path, **options) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        image.save(tmp, format=options.pop("format"), **options)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def brushed_mask(support: np.ndarray) -> np.ndarray:
    """What a user paints: two broad brush strokes across the logo, covering it loosely."""
    ys, xs = np.nonzero(support)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    radius = int((y1 - y0) * 0.32) + 14
    canvas = np.zeros(support.shape, np.uint8)
    for frac, wobble in ((0.3, -6), (0.72, 9)):
        y = int(y0 + (y1 - y0) * frac)
        pts = np.array([[x0 - 10, y + wobble], [(x0 + x1) // 2, y - wobble], [x1 + 12, y]])
        cv2.polylines(canvas, [pts.astype(np.int32)], False, 1, 2 * radius, cv2.LINE_AA)
    grown = cv2.dilate(support.astype(np.uint8), np.ones((25, 25), np.uint8))
    return (canvas | grown).astype(bool)


def main() -> None:
    t = generate_triplet(SEED, SIZE, KIND, opaque=True)
    # Start from the exact composite (not the generator's own JPEG) and encode once.
    photo = alpha_over(t.logo, t.object)
    save_atomic(Image.fromarray(photo), HERE / "photo.jpg", format="JPEG", quality=QUALITY,
                optimize=True)
    mask = Image.fromarray(brushed_mask(t.logo[..., 3] > 0).astype(np.uint8) * 255).convert("1")
    save_atomic(mask, HERE / "mask.png", format="PNG", optimize=True)
    print(f"wrote {HERE / 'photo.jpg'} and {HERE / 'mask.png'} ({t.meta['style']} logo)")


if __name__ == "__main__":
    main()
