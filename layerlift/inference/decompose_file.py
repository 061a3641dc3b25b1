"""One photo on disk decomposed into a layers folder: what `layerlift decompose` writes, and
what `layerlift batch` writes for each photo.

The folder is built in a temp folder beside its target and renamed into place at the end, so
it is either the earlier result or the new one, never half of each; the input files are never
touched.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerlift.inference.errors import InputError

if TYPE_CHECKING:  # the contract imports numpy; `layerlift --help` should not
    from layerlift.inference.contract import ProgressCallback

REPORT = "report.json"

Box = tuple[int, int, int, int]
Point = tuple[float, float]


def json_safe(value: Any) -> Any:
    """Meta from engines to plain JSON: numpy scalars to numbers, inf/nan to null."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "shape"):
        return f"<array {tuple(value.shape)}>"
    return str(value)


def reported_settings(settings: dict[str, Any], candidates: int) -> dict[str, Any]:
    """The settings the engine used: the classical engine uses only the seed and exact mask."""
    if settings["engine"] != "flux":
        return {"seed": settings["seed"], "exact_mask": settings.get("exact_mask", False)}
    return {k: v for k, v in settings.items() if k != "engine"} | {"candidates": candidates}


def replaceable() -> tuple[str, ...]:
    """The files an earlier result holds; a folder of only these may be replaced."""
    from layerlift.inference.export import EXPORT_FILES

    return (*EXPORT_FILES, REPORT)


def _within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_out_dir(out: Path, inputs: Sequence[Path]) -> None:
    """The output folder must not be an input, nor contain one (replacing it would delete it)."""
    from layerlift.inference.imageio import check_output_dir

    out_real = Path(os.path.realpath(out))
    for p in inputs:
        p_real = Path(os.path.realpath(p))
        if out_real == p_real:
            raise InputError(f"--out {out} is the input file {p}; give a folder for the layers")
        if _within(p_real, out_real):
            raise InputError(f"--out {out} contains the input {p}; replacing it would delete it")
    check_output_dir(out, replaceable())


def hints_report(path: Path | None, hints: Any, mask: Any) -> dict[str, Any] | None:
    """The hints file and how many of its pixels counted (inside the mask), for report.json."""
    if path is None:
        return None
    from layerlift.inference.hints import MARK, NOT_MARK

    inside = hints[mask]
    return {"file": str(path.resolve()), "mark_pixels": int((inside == MARK).sum()),
            "not_mark_pixels": int((inside == NOT_MARK).sum())}


def decompose_file(image_path: Path, out: Path, settings: dict[str, Any], *,
                   mask_path: Path | None = None, boxes: Sequence[Box] = (),
                   points: Sequence[Point] = (), tolerance: float | None = None,
                   hints_path: Path | None = None, grabcut: bool = False, candidates: int = 1,
                   on_progress: ProgressCallback | None = None,
                   on_writing: Callable[[], None] | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decompose the photo at `image_path` into the folder `out` (replaced atomically).

    The mask is the file `mask_path`, or the union of `boxes` (each refined by GrabCut when
    `grabcut`), or the mark selected under the clicks `points` (select.select_mark, with
    `tolerance`; default 0.5). `hints_path`: the user's hints image (inference/hints.py:
    green mark, red not mark). `settings` are DecomposeRequest keyword arguments (engine,
    seed, ...).
    `extra` is added to report.json as it is (batch puts its resume key there).
    Returns the report. Raises InputError on bad input, nothing written.
    """
    import numpy as np

    from layerlift.inference import imageio
    from layerlift.inference.api import decompose
    from layerlift.inference.contract import DecomposeRequest
    from layerlift.inference.export import export_layers

    if sum((mask_path is not None, bool(boxes), bool(points))) != 1:
        raise InputError("give one of a mask file, a box or points")
    inputs = [image_path] + [p for p in (mask_path, hints_path) if p is not None]
    check_out_dir(out, inputs)

    t0 = time.perf_counter()
    image = imageio.load_image(image_path)
    if mask_path is not None:
        mask = imageio.load_mask(mask_path, image.shape)
    elif points:
        from layerlift.inference.select import select_mark

        mask = select_mark(image, list(points), tolerance=0.5 if tolerance is None else tolerance)
    else:
        mask = np.zeros(image.shape[:2], bool)
        for box in boxes:
            mask |= imageio.box_to_mask(box, image.shape, image, refine=grabcut)
    hints = None
    if hints_path is not None:
        from layerlift.inference.hints import load_hints

        hints = load_hints(hints_path, image.shape)
    request = DecomposeRequest(image=image, mask=mask, candidates=candidates, hints=hints,
                               **settings)
    request.validate()
    t_load = time.perf_counter() - t0

    layers = decompose(request, on_progress=on_progress)
    t_decompose = time.perf_counter() - t0 - t_load

    meta = dict(layers.meta)
    h, w = image.shape[:2]
    report: dict[str, Any] = {
        "engine": request.engine,
        "input": {"image": str(image_path.resolve()), "width": w, "height": h,
                  "mask": str(mask_path.resolve()) if mask_path else None,
                  "box": list(boxes[0]) if len(boxes) == 1 else None, "grabcut": bool(grabcut),
                  "points": [list(p) for p in points] or None,
                  "mask_pixels": int(mask.sum()), "hints": hints_report(hints_path, hints, mask)},
        "settings": reported_settings(settings, candidates),
        "cycle_error": meta.pop("cycle_error", None),
        "cycle_psnr": meta.pop("cycle_psnr", None),  # null when the cycle is exact
        "confidence": meta.pop("confidence", None),  # null when the engine gives none
        "timings": {"load_s": t_load, "decompose_s": t_decompose},
    }
    if len(boxes) > 1:
        report["input"]["boxes"] = [list(b) for b in boxes]
    report["timings"].update(meta.pop("timings", {}) or {})
    report["meta"] = meta
    report.update(extra or {})
    if on_writing is not None:  # PSD/ORA/PNG encoding takes seconds on a large photo
        on_writing()
    with imageio.atomic_dir(out, replace_ok=replaceable()) as tmp:
        t1 = time.perf_counter()
        files = export_layers(tmp, image, layers)
        report["timings"]["export_s"] = time.perf_counter() - t1
        report["files"] = sorted([*files, REPORT])
        text = json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n"
        imageio.atomic_write_bytes(tmp / REPORT, text.encode())
    return report
