"""FLUX.1-Fill-dev's component configurations, written from the published values (no weights).

`layerlift models plan` builds these on PyTorch's meta device to count parameters, bytes and
FLOPs; the GPU benchmark builds them with random weights on the device to time them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from diffusers import AutoencoderKL, FluxTransformer2DModel

# transformer/config.json (FluxTransformer2DModel): 384 in = 64 noisy + 64 masked-image
# latent channels + 256 mask channels; 64 out.
TRANSFORMER = {
    "patch_size": 1,
    "in_channels": 384,
    "out_channels": 64,
    "num_layers": 19,
    "num_single_layers": 38,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "pooled_projection_dim": 768,
    "guidance_embeds": True,
    "axes_dims_rope": (16, 56, 56),
}

# vae/config.json (AutoencoderKL): the FLUX VAE, 16 latent channels, 8x downscale.
VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "act_fn": "silu",
    "latent_channels": 16,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": 0.3611,
    "shift_factor": 0.1159,
    "force_upcast": True,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
    "mid_block_add_attention": True,
}

# text_encoder/config.json: CLIP ViT-L/14's text tower (gives the pooled embedding).
CLIP_TEXT = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "projection_dim": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "pad_token_id": 1,
}

# text_encoder_2/config.json: the T5 v1.1 XXL encoder (gives the 512 x 4096 sequence).
T5_ENCODER = {
    "vocab_size": 32128,
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_heads": 64,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "feed_forward_proj": "gated-gelu",
    "dense_act_fn": "gelu_new",
    "is_gated_act": True,
    "layer_norm_epsilon": 1e-6,
    "tie_word_embeddings": False,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "decoder_start_token_id": 0,
}


@contextmanager
def _creating(device: str | torch.device, dtype: torch.dtype) -> Iterator[None]:
    """New tensors are created on `device` in `dtype` (parameters included)."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


def build_transformer(device: str | torch.device, dtype: torch.dtype,
                      **changes: object) -> FluxTransformer2DModel:
    """FluxTransformer2DModel of the real configuration (with `changes`), randomly initialised
    directly on `device` in `dtype` (on "meta": shapes only, no memory)."""
    from diffusers import FluxTransformer2DModel

    with _creating(device, dtype):
        return FluxTransformer2DModel(**{**TRANSFORMER, **changes}).eval()


def build_vae(device: str | torch.device, dtype: torch.dtype,
              **changes: object) -> AutoencoderKL:
    from diffusers import AutoencoderKL

    with _creating(device, dtype):
        return AutoencoderKL(**{**VAE, **changes}).eval()


def build_text_encoders(device: str | torch.device, dtype: torch.dtype) -> dict:
    """CLIP and T5 encoders of the real configurations (random), by component name."""
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    with _creating(device, dtype):
        return {"text_encoder": CLIPTextModel(CLIPTextConfig(**CLIP_TEXT)).eval(),
                "text_encoder_2": T5EncoderModel(T5Config(**T5_ENCODER)).eval()}
