"""Fixtures for the trainer's tests: tiny sample folders written with numpy + Pillow, and a
tiny random FLUX Fill pipeline (the flux engine's builder) saved as a diffusers folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerlift.inference.layers import alpha_over


def make_sample(seed: int, size: int = 96) -> dict[str, np.ndarray]:
    """A smooth shaded surface with a semi-opaque rectangular mark and a disc on it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(60, 200, 3)
    tilt = rng.uniform(-60, 60, (2, 3))
    obj = base + xx[..., None] * tilt[0] + yy[..., None] * tilt[1]
    obj = np.clip(obj + rng.normal(0, 3, obj.shape), 0, 255).astype(np.uint8)
    logo = np.zeros((size, size, 4), np.uint8)
    x0, y0 = rng.integers(size // 6, size // 2, 2)
    w, h = rng.integers(size // 6, size // 3, 2)
    logo[y0:y0 + h, x0:x0 + w, :3] = rng.integers(0, 255, 3)
    logo[y0:y0 + h, x0:x0 + w, 3] = rng.integers(150, 256)
    cy, cx, r = y0 + h // 2, x0 + w // 2, max(2, min(w, h) // 4)
    disc = (yy * size - cy) ** 2 + (xx * size - cx) ** 2 <= r * r
    logo[disc, :3] = 255 - logo[cy, cx, :3]
    logo[disc, 3] = 255
    composite = alpha_over(logo, obj)
    mask = np.zeros((size, size), bool)
    mask[max(0, y0 - 2):y0 + h + 2, max(0, x0 - 2):x0 + w + 2] = True
    return {"composite": composite, "object": obj, "logo": logo, "mask": mask}


def write_sample(folder: Path, sample: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sample["composite"]).save(folder / "composite.png")
    Image.fromarray(sample["object"]).save(folder / "object.png")
    Image.fromarray(sample["logo"], "RGBA").save(folder / "logo.png")
    Image.fromarray(sample["mask"].astype(np.uint8) * 255).save(folder / "mask.png")
    return folder


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train-data")
    for i in range(4):
        write_sample(root / f"s{i:02d}", make_sample(i))
    return root


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from layerlift.inference.engines.flux.tiny import save_tiny_pipeline

    folder = tmp_path_factory.mktemp("tiny-flux-fill")
    save_tiny_pipeline(folder, seed=0)
    return folder


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared 2-core machine two
    threads contend badly (a 50-step run: ~2 s with one thread, ~27 s with two under load)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
