"""Devices and memory tiers: how the FLUX transformer is placed, picked from free VRAM.

Tiers, from the most VRAM to the least (the order an out-of-memory error falls back along):

- gpu:     every component resident on the device in bf16 (float32 on CPU)
- fp8:     the transformer's weights stored in float8 (layerwise casting), computed in bf16
- nf4:     the transformer quantized to 4-bit NF4 by bitsandbytes (if installed); a .gguf
           transformer file is always loaded quantized, whatever the tier
- group:   group offload: the transformer streams leaf by leaf from CPU RAM

On mps and cpu there is no offloading: gpu/nf4 keep everything on the device; fp8 and group
still apply (they work on any device).

There is no model-CPU-offload tier: the text encoders are never loaded (cached prompt
embeddings), so it would hold the 22.2 GiB transformer on the GPU all the same and save only
the VAE (0.16 GiB).
"""

from __future__ import annotations

import gc
import logging
import warnings
from importlib.util import find_spec

from layerlift.inference.errors import InputError

log = logging.getLogger(__name__)

TIERS = ("gpu", "fp8", "nf4", "group")
# Free VRAM (GiB) each tier needs for FLUX.1-Fill-dev at S = 512 (3 x 512 x 512) with cached
# prompt embeddings: bf16 weights 22.2 GiB, fp8 ~11.5 GiB, nf4 ~6.5 GiB, plus activations, VAE.
TIER_NEEDS_GIB = {"gpu": 25.0, "fp8": 14.0, "nf4": 9.0, "group": 3.0}
DEVICES = ("cuda", "mps", "cpu")


def has_bitsandbytes() -> bool:
    return find_spec("bitsandbytes") is not None


def pick_device(requested: str | None = None, *, warn: bool = True) -> str:
    """cuda, then mps, then cpu (with a warning that it is slow, unless `warn` is False: the
    caller warns later with warn_if_cpu); a requested one is checked."""
    import torch

    if requested is not None:
        name = requested.split(":")[0]
        if name not in DEVICES:
            raise InputError(f"unknown device {requested!r}; choose one of: {', '.join(DEVICES)}")
        if name == "cuda" and not torch.cuda.is_available():
            raise InputError("device cuda requested but no CUDA GPU is available")
        if name == "mps" and not torch.backends.mps.is_available():
            raise InputError("device mps requested but MPS is not available")
        device = requested
    elif torch.cuda.is_available():
        device = "cuda"
    elif torch.backends.mps.is_available():
        device = "mps"
    else:
        device = "cpu"
    if warn:
        warn_if_cpu(device)
    return device


def warn_if_cpu(device: str) -> None:
    if device == "cpu":
        warnings.warn("the flux engine is running on the CPU: expect minutes per image with the "
                      "real model", RuntimeWarning, stacklevel=3)


def compute_dtype(device: str):
    import torch

    return torch.float32 if device == "cpu" else torch.bfloat16


def free_vram_gib(device: str) -> float | None:
    import torch

    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    # Memory PyTorch has freed but keeps cached (the trainer's, between `train improve`
    # rounds) counts as used for mem_get_info: give it back before measuring.
    gc.collect()
    torch.cuda.empty_cache()
    free, _total = torch.cuda.mem_get_info(torch.device(device))
    return free / 2**30


def pick_tier(device: str, forced: str | None = None) -> str:
    """The forced tier (checked), else the largest tier the free VRAM allows."""
    if forced is not None:
        if forced not in TIERS:
            raise InputError(f"unknown memory tier {forced!r}; choose one of: {', '.join(TIERS)}")
        return forced
    free = free_vram_gib(device)
    if free is None:
        return "gpu"   # mps / cpu: everything resident on the device
    for tier in TIERS:
        if tier == "nf4" and not has_bitsandbytes():
            continue
        if free >= TIER_NEEDS_GIB[tier]:
            return tier
    return "group"


def next_tier(tier: str) -> str | None:
    """The tier after `tier` in fallback order (nf4 skipped without bitsandbytes), or None."""
    later = TIERS[TIERS.index(tier) + 1:]
    for candidate in later:
        if candidate == "nf4" and not has_bitsandbytes():
            continue
        return candidate
    return None


def quantization_for(tier: str) -> str | None:
    return "nf4" if tier == "nf4" else None


def place(pipe, tier: str, device: str) -> None:
    """Put the loaded pipeline's components where `tier` says."""
    import torch

    cuda = device.startswith("cuda")
    if tier == "fp8":
        pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn,
                                                  compute_dtype=pipe.transformer.dtype)
    if tier == "group":
        pipe.transformer.enable_group_offload(
            onload_device=torch.device(device), offload_device=torch.device("cpu"),
            offload_type="leaf_level", use_stream=cuda)
        pipe.vae.to(device)
    else:
        pipe.to(device)
    log.info("flux pipeline placed on %s with memory tier %s", device, tier)
