"""Make the bundled sample: a real photograph with a real sewn mark, and a loose mask over it.

    .venv/bin/python -m layerlift.resources.sample.make_sample

The photo is scikit-image's `astronaut` (Eileen Collins, NASA; public domain, see README.md),
written as a JPEG. The mask is a disc over her mission patch, a few pixels wider than the
patch all round, as a user would brush it; the patch's circle was read off the photo with a
Hough transform (centre 172, 384; radius about 38 px). The same inputs always give the same
files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

QUALITY = 95
HERE = Path(__file__).resolve().parent
PATCH_CENTRE = (172, 384)     # x, y in the photo's pixels
PATCH_RADIUS = 38
MARGIN = 8                    # px of suit round the patch inside the mask


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


def photo() -> np.ndarray:
    from skimage import data
    return data.astronaut()


def patch_mask(shape: tuple[int, int]) -> np.ndarray:
    """The loose mask over the mission patch (HxW bool)."""
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, PATCH_CENTRE, PATCH_RADIUS + MARGIN, 1, thickness=-1)
    return mask.astype(bool)


def main() -> None:
    image = photo()
    save_atomic(Image.fromarray(image), HERE / "photo.jpg", format="JPEG", quality=QUALITY,
                optimize=True)
    mask = Image.fromarray(patch_mask(image.shape[:2]).astype(np.uint8) * 255).convert("1")
    save_atomic(mask, HERE / "mask.png", format="PNG", optimize=True)
    print(f"wrote {HERE / 'photo.jpg'} and {HERE / 'mask.png'}")


if __name__ == "__main__":
    main()
