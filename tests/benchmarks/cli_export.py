"""How long `layerlift decompose` spends loading, decomposing and exporting, by photo size.

A synthetic JPEG photo (shaded, noisy surface) with a ~300 px logo and its mask is written to a
temp folder at each size; the CLI runs in-process; the figures come from its report.json.
Run: .venv/bin/python -m tests.benchmarks.cli_export [megapixels ...]   (default: 1 6 24)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from layerlift.inference import cli


def make_photo(folder: Path, megapixels: float) -> tuple[Path, Path]:
    w = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    h = int(round(w / 1.5))
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    base = 120 + 50 * (xx / w) + 20 * np.sin(yy / 90.0)
    photo = np.stack([base, base * 0.9 + 10, base * 0.7 + 30], -1)
    photo += np.random.default_rng(0).normal(0, 3, photo.shape).astype(np.float32)
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    y0, x0 = h // 2 - 50, w // 2 - 150
    photo[y0:y0 + 100, x0:x0 + 300] = (200, 30, 30)
    photo[y0 + 30:y0 + 70, x0 + 40:x0 + 260] = (250, 250, 250)
    mask = np.zeros((h, w), np.uint8)
    mask[y0 - 8:y0 + 108, x0 - 8:x0 + 308] = 255
    image_path = folder / f"photo{megapixels:g}.jpg"
    mask_path = folder / f"photo{megapixels:g}.mask.png"
    Image.fromarray(photo).save(image_path, quality=92)
    Image.fromarray(mask).save(mask_path)
    return image_path, mask_path


def main(argv: list[str]) -> None:
    sizes = [float(a) for a in argv] or [1.0, 6.0, 24.0]
    print(f"{'MP':>5} {'load s':>7} {'decompose s':>12} {'export s':>9} {'wall s':>7} "
          f"{'MB out':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for mp in sizes:
            image, mask = make_photo(folder, mp)
            out = folder / f"out{mp:g}"
            start = time.perf_counter()
            rc = cli.main(["decompose", str(image), "--mask", str(mask), "--out", str(out)])
            wall = time.perf_counter() - start
            if rc != 0:
                raise SystemExit(f"decompose failed at {mp} MP (exit {rc})")
            t = json.loads((out / "report.json").read_text())["timings"]
            size_mb = sum(f.stat().st_size for f in out.iterdir()) / 1e6
            print(f"{mp:5g} {t['load_s']:7.2f} {t['decompose_s']:12.2f} {t['export_s']:9.2f} "
                  f"{wall:7.2f} {size_mb:7.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
