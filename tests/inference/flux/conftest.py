"""Tiny random FLUX Fill models written to disk once per session, and an isolated cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """One prompt-embedding cache per session (in tmp), never the user's; no hub access."""
    root = tmp_path_factory.getbasetemp() / "flux-cache"
    monkeypatch.setenv("LAYERLIFT_CACHE_DIR", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("LAYERLIFT_FLUX_MODEL", raising=False)
    monkeypatch.delenv("LAYERLIFT_FLUX_BASE", raising=False)
    return root


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    """A diffusers folder written by FluxFillPipeline.save_pretrained, plus a single-file
    transformer beside it (transformer.safetensors)."""
    from layerlift.inference.engines.flux.tiny import save_tiny_pipeline

    folder = tmp_path_factory.mktemp("tiny-flux")
    save_tiny_pipeline(folder, seed=0, single_file_transformer=folder / "transformer.safetensors")
    return folder


@pytest.fixture(scope="session")
def hand_built_folder(tmp_path_factory) -> Path:
    """A diffusers folder assembled by hand: each component's own save_pretrained and a
    model_index.json, as another tool would write it (not FluxFillPipeline.save_pretrained)."""
    from layerlift.inference.engines.flux import tiny

    folder = tmp_path_factory.mktemp("hand-flux")
    torch.manual_seed(5)
    parts = {
        "transformer": tiny.tiny_transformer(hidden=32, heads=2),
        "vae": tiny.tiny_vae(),
        "scheduler": tiny.tiny_scheduler(),
    }
    te, tok = tiny.tiny_clip()
    te2, tok2 = tiny.tiny_t5()
    parts.update(text_encoder=te, tokenizer=tok, text_encoder_2=te2, tokenizer_2=tok2)
    index = {"_class_name": "FluxFillPipeline", "_diffusers_version": "0.32.0"}
    for name, part in parts.items():
        part.save_pretrained(str(folder / name))
        library = "diffusers" if name in ("transformer", "vae", "scheduler") else "transformers"
        index[name] = [library, type(part).__name__]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


@pytest.fixture
def photo() -> tuple[np.ndarray, np.ndarray]:
    """A small textured photo with a dark square mark and a loose mask around it."""
    rng = np.random.default_rng(1)
    h, w = 96, 112
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([120 + 60 * np.sin(xx / 9.0), 140 + 40 * np.cos(yy / 7.0),
                     np.full((h, w), 180.0)], axis=2)
    image = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
    image[40:56, 44:68] = (20, 30, 200)
    mask = np.zeros((h, w), bool)
    mask[36:60, 40:72] = True
    return image, mask


@pytest.fixture
def fresh_engine():
    from layerlift.inference.engines.flux.engine import FluxEngine

    return FluxEngine()


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def lora_file(tiny_folder, tmp_path_factory):
    """A random LoRA (rank 4, alpha 8) for the tiny folder's transformer."""
    from diffusers import FluxTransformer2DModel
    from peft import LoraConfig

    from layerlift.inference.engines.flux.lora import save_lora

    transformer = FluxTransformer2DModel.from_pretrained(
        str(tiny_folder), subfolder="transformer", local_files_only=True)
    config = LoraConfig(r=4, lora_alpha=8, init_lora_weights="gaussian",
                        target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    transformer.add_adapter(config, adapter_name="default")
    torch.manual_seed(0)
    for name, param in transformer.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0, 0.5)
    path = tmp_path_factory.mktemp("lora") / "tiny-lora.safetensors"
    save_lora(transformer, path, config)
    return path
