"""On-disk cache of the fixed prompts' embeddings, so a normal run never loads CLIP or T5.

The task prompts never change, so their embeddings are computed once per base model (T5-XXL
alone is ~9.5 GB) and stored as .safetensors under the user cache dir
(platformdirs; $LAYERLIFT_CACHE_DIR overrides). The key is a fingerprint of the base model's
text encoders and tokenizers (names, sizes and first MiB of their files) plus the prompt.
"""

from __future__ import annotations

import gc
import hashlib
import os
from pathlib import Path

from layerlift.inference.engines.flux.loading import (
    TEXT_COMPONENTS,
    ModelSource,
    load_text_components,
)

CACHE_ENV = "LAYERLIFT_CACHE_DIR"
MAX_SEQUENCE_LENGTH = 512   # FLUX.1's T5 length; the embeddings' shape depends on it
_HEAD_BYTES = 1 << 20


def cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("layerlift"))


def text_fingerprint(base: Path) -> str:
    """Identifies the text encoders and tokenizers of a diffusers folder."""
    digest = hashlib.sha256()
    for name in TEXT_COMPONENTS:
        folder = base / name
        files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        for path in files:
            digest.update(str(path.relative_to(base)).encode())
            digest.update(str(path.stat().st_size).encode())
            with open(path, "rb") as fh:
                digest.update(fh.read(_HEAD_BYTES))
    return digest.hexdigest()[:24]


def _entry_path(fingerprint: str, prompt: str) -> Path:
    key = hashlib.sha256(f"{MAX_SEQUENCE_LENGTH}\n{prompt}".encode()).hexdigest()[:24]
    return cache_root() / "flux-prompt-embeds" / fingerprint / f"{key}.safetensors"


def load_cached(source: ModelSource, prompts: list[str]) -> dict:
    """{prompt: (prompt_embeds, pooled_prompt_embeds)} for the prompts already cached."""
    from safetensors.torch import load_file

    found = {}
    fingerprint = text_fingerprint(source.base)
    for prompt in prompts:
        path = _entry_path(fingerprint, prompt)
        if path.is_file():
            try:
                tensors = load_file(str(path))
                found[prompt] = (tensors["prompt_embeds"], tensors["pooled_prompt_embeds"])
            except Exception:  # a damaged entry is recomputed, not trusted  # noqa: BLE001
                path.unlink(missing_ok=True)
    return found


def _store(fingerprint: str, prompt: str, embeds, pooled) -> None:
    from safetensors.torch import save

    from layerlift.inference.imageio import atomic_write_bytes

    path = _entry_path(fingerprint, prompt)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = save({"prompt_embeds": embeds.float().contiguous().cpu(),
                 "pooled_prompt_embeds": pooled.float().contiguous().cpu()},
                metadata={"prompt": prompt})
    atomic_write_bytes(path, data)


def encode_prompts(source: ModelSource, prompts: list[str], device, dtype) -> dict:
    """Load CLIP and T5, encode the prompts with the pipeline's own encode_prompt, free them."""
    import torch
    from diffusers import FluxFillPipeline

    parts = load_text_components(source, dtype)
    for name in ("text_encoder", "text_encoder_2"):
        parts[name].to(device)
    encoder = FluxFillPipeline(scheduler=None, vae=None, transformer=None, **parts)
    out = {}
    with torch.no_grad():
        for prompt in prompts:
            embeds, pooled, _ = encoder.encode_prompt(
                prompt=prompt, prompt_2=None, device=torch.device(device),
                max_sequence_length=MAX_SEQUENCE_LENGTH)
            out[prompt] = (embeds.cpu(), pooled.cpu())
    del encoder, parts
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return out


def prompt_embeddings(source: ModelSource, prompts: list[str], device, dtype) -> dict:
    """{prompt: (prompt_embeds, pooled_prompt_embeds)} on CPU, float32; encodes and stores
    only the prompts missing from the cache."""
    found = load_cached(source, prompts)
    missing = [p for p in prompts if p not in found]
    if missing:
        fingerprint = text_fingerprint(source.base)
        fresh = encode_prompts(source, missing, device, dtype)
        for prompt, (embeds, pooled) in fresh.items():
            _store(fingerprint, prompt, embeds, pooled)
            found[prompt] = (embeds.float(), pooled.float())
    return found
