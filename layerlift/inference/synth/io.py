"""Triplets on disk: a folder of composite.png, mask.png, object.png, logo.png and meta.json.

Writes are atomic: the folder is built under a temporary name beside the target and renamed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from layerlift.inference.errors import InputError
from layerlift.inference.imageio import atomic_dir
from layerlift.inference.synth.generate import Triplet, generate_triplet

FILES = ("composite.png", "mask.png", "object.png", "logo.png")


def write_triplet(triplet: Triplet, folder: str | os.PathLike) -> Path:
    """Write the triplet into `folder` (created; an existing one is replaced whole)."""
    folder = Path(folder)
    with atomic_dir(folder, replace_ok=FILES + ("meta.json",)) as tmp:
        Image.fromarray(triplet.composite).save(tmp / "composite.png")
        Image.fromarray(triplet.mask.astype(np.uint8) * 255).save(tmp / "mask.png")
        Image.fromarray(triplet.object).save(tmp / "object.png")
        Image.fromarray(triplet.logo, mode="RGBA").save(tmp / "logo.png")
        (tmp / "meta.json").write_text(json.dumps(triplet.meta, indent=1, sort_keys=True))
    return folder


def read_triplet(folder: str | os.PathLike) -> Triplet:
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"{folder} is not a triplet folder: missing {', '.join(missing)}")
    try:
        composite = np.asarray(Image.open(folder / "composite.png").convert("RGB"))
        mask = np.asarray(Image.open(folder / "mask.png").convert("L")) > 127
        obj = np.asarray(Image.open(folder / "object.png").convert("RGB"))
        logo = np.asarray(Image.open(folder / "logo.png").convert("RGBA"))
    except OSError as exc:
        raise InputError(f"cannot read triplet in {folder}: {exc}") from exc
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return Triplet(composite.copy(), logo.copy(), obj.copy(), mask.copy(), meta)


def generate_dataset(out_dir: str | os.PathLike, count: int, seed: int = 0,
                     size: int = 512) -> list[Path]:
    """Write `count` triplets as out_dir/00000, 00001, ...; case i uses seed `seed + i`."""
    if count < 0:
        raise InputError(f"count must be >= 0, got {count}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_triplet(generate_triplet(seed + i, size), out / f"{i:05d}")
            for i in range(count)]
