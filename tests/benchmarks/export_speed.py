"""How long writing layers takes against one PNG encode of the photo (issue 11's targets).

Prints, for a synthetic 24 MP photo (cli_export's: shaded, noisy, a ~300 px logo):
- one PNG encode of the photo: Pillow at level 1 (the way every layer was written before)
  and Layerlift's band encoder (layerlift/inference/png.py) on one thread and on all;
- PNG size and time by zlib level 1-3, for both encoders;
- `layerlift decompose`'s export (report.json's timings.export_s: object.png, logo.png,
  logo_asset.png, layers.psd, layers.ora) and its ratio to the Pillow encode (target <= 2);
- the save of that decomposition as a project (.ora) the way the app writes it
  (desktop.project.save_project on the document a decomposition leaves; target <= 3 s).

Run: .venv/bin/python -m tests.benchmarks.export_speed [megapixels]   (default 24)
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from layerlift.inference import cli, png
from tests.benchmarks.cli_export import make_photo


def _timed(fn) -> tuple[float, int]:
    buf = io.BytesIO()
    start = time.perf_counter()
    fn(buf)
    return time.perf_counter() - start, len(buf.getvalue())


def cpu_and_wall(fn) -> tuple[float, float]:
    """(CPU seconds of the whole process, all threads; wall seconds) of fn(). CPU time is
    what a loaded machine hides least: other processes' load stretches wall time only."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def pillow_png(photo: np.ndarray, level: int) -> tuple[float, int]:
    return _timed(lambda buf: Image.fromarray(photo).save(buf, "PNG", compress_level=level))


def band_png(photo: np.ndarray, level: int, threads: int) -> tuple[float, int]:
    return _timed(lambda buf: png.write_png(buf, photo, level, threads))


def project_save_seconds(photo_path: Path, mask_path: Path, folder: Path) -> float:
    """Decompose the way the app does (desktop.jobs), then time save_project."""
    from layerlift.desktop.document import Document, layers_from_decomposition
    from layerlift.desktop.jobs import decompose_job
    from layerlift.desktop.project import save_project, snapshot
    from layerlift.inference.api import decompose
    from layerlift.inference.imageio import load_image, load_mask

    image = load_image(photo_path)
    doc = Document(image, path=str(photo_path))
    doc.set_mask(load_mask(mask_path, image.shape))
    request, finish = decompose_job(doc.image, doc.mask)
    result = finish(decompose(request))
    doc.set_layers(layers_from_decomposition(doc.layers[0], result.object_patch,
                                             result.object_offset, result.asset, result.quad,
                                             result.ink))
    doc.meta = dict(result.meta)
    start = time.perf_counter()
    save_project(snapshot(doc), folder / "project.ora", {"engine": "classical"})
    return time.perf_counter() - start


def _layers_of(out: Path, photo: np.ndarray):
    """The decomposition `decompose` wrote, read back (object.png, logo.png)."""
    from layerlift.inference.contract import Layers

    obj = np.asarray(Image.open(out / "object.png").convert("RGB"))
    logo = np.asarray(Image.open(out / "logo.png").convert("RGBA"))
    assert obj.shape == photo.shape
    return Layers(object=obj, logo=logo)


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def main(argv: list[str]) -> None:
    mp = float(argv[0]) if argv else 24.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo_path, mask_path = make_photo(folder, mp)
        photo = np.asarray(Image.open(photo_path).convert("RGB"))
        h, w = photo.shape[:2]
        print(f"photo {w}x{h} ({mp:g} MP); {load()}")
        print(f"{'PNG encode of the photo':34} {'level':>5} {'s':>6} {'MB':>6}")
        pillow = {}
        for level in (1, 2, 3):
            pillow[level] = pillow_png(photo, level)
            ours1 = band_png(photo, level, 1)
            ours = band_png(photo, level, os.cpu_count() or 1)
            for name, (s, size) in (("Pillow", pillow[level]), ("band encoder, 1 thread", ours1),
                                    (f"band encoder, {os.cpu_count()} threads", ours)):
                print(f"{name:34} {level:5} {s:6.2f} {size / 1e6:6.1f}")
        out = folder / "out"
        rc = cli.main(["decompose", str(photo_path), "--mask", str(mask_path), "--out", str(out)])
        if rc != 0:
            raise SystemExit(f"decompose failed (exit {rc})")
        export_s = json.loads((out / "report.json").read_text())["timings"]["export_s"]
        one_png = pillow[1][0]
        print(f"one PNG encode of the photo (Pillow, level 1): {one_png:.2f} s")
        print(f"decompose's export (timings.export_s): {export_s:.2f} s; "
              f"ratio {export_s / one_png:.2f} (target <= 2)")
        png_cpu, png_wall = cpu_and_wall(
            lambda: Image.fromarray(photo).save(io.BytesIO(), "PNG", compress_level=1))
        layers = _layers_of(out, photo)
        again = folder / "again"
        again.mkdir()
        from layerlift.inference.export import export_layers
        ex_cpu, ex_wall = cpu_and_wall(lambda: export_layers(again, photo, layers))
        print(f"the same again in-process: Pillow PNG encode {png_wall:.2f} s wall, "
              f"{png_cpu:.2f} s CPU; export {ex_wall:.2f} s wall, {ex_cpu:.2f} s CPU "
              f"(all threads); ratio {ex_wall / png_wall:.2f} wall, {ex_cpu / png_cpu:.2f} CPU")
        save_s = project_save_seconds(photo_path, mask_path, folder)
        print(f"project save of the decomposed photo: {save_s:.2f} s (target <= 3)")
        print(load())


if __name__ == "__main__":
    main(sys.argv[1:])
