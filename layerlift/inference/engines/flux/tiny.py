"""Tiny random FLUX.1-Fill components, built offline from configs (tests, benchmarks, trainer).

The transformer keeps the real Fill channel layout: in = 4*16 noisy latents + 4*16 masked-image
latents + 4*8*8 mask = 384, out = 64; the VAE has 16 latent channels and 4 blocks, so the
8x downscale (and the pipeline's packing) matches the real model. Only the widths are small.
Weights are random: outputs are noise, but every code path a real model takes is exercised.
"""

from __future__ import annotations

import os
import string
import tempfile
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxFillPipeline,
    FluxTransformer2DModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)

LATENT_CHANNELS = 16
VAE_SCALE = 8
FILL_IN_CHANNELS = 4 * LATENT_CHANNELS * 2 + 4 * VAE_SCALE * VAE_SCALE  # 384
FILL_OUT_CHANNELS = 4 * LATENT_CHANNELS  # 64
TEXT_DIM = 32          # T5 d_model = transformer joint_attention_dim
POOLED_DIM = 32        # CLIP hidden = transformer pooled_projection_dim
T5_MAX_LENGTH = 512
CLIP_MAX_LENGTH = 77


def tiny_transformer(hidden: int = 32, heads: int = 2, layers: int = 1,
                     single_layers: int = 1) -> FluxTransformer2DModel:
    """A random Fill transformer: `hidden` = heads * head_dim; rope axes sum to head_dim."""
    head_dim = hidden // heads
    if head_dim * heads != hidden or head_dim % 4 != 0 or head_dim < 8:
        raise ValueError("hidden must be heads x head_dim with head_dim a multiple of 4, >= 8")
    # FLUX splits the head dim over (index, y, x) rope axes; each axis needs an even size.
    side = (head_dim * 3 // 8) // 2 * 2
    axes = (head_dim - 2 * side, side, side)
    return FluxTransformer2DModel(
        patch_size=1,
        in_channels=FILL_IN_CHANNELS,
        out_channels=FILL_OUT_CHANNELS,
        num_layers=layers,
        num_single_layers=single_layers,
        attention_head_dim=head_dim,
        num_attention_heads=heads,
        joint_attention_dim=TEXT_DIM,
        pooled_projection_dim=POOLED_DIM,
        guidance_embeds=True,   # FLUX.1-Fill-dev is guidance-distilled
        axes_dims_rope=axes,
    ).eval()


def tiny_vae() -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        latent_channels=LATENT_CHANNELS,
        norm_num_groups=4,
        sample_size=64,
        scaling_factor=0.3611,   # the real FLUX VAE's factors
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False,
    ).eval()


def tiny_scheduler() -> FlowMatchEulerDiscreteScheduler:
    # The real FLUX.1-Fill-dev scheduler config (dynamic shifting on the sequence length).
    return FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=True, base_shift=0.5,
        max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096)


def _characters() -> list[str]:
    return [c for c in string.printable if not c.isspace()]


def tiny_clip() -> tuple[CLIPTextModel, CLIPTokenizer]:
    chars = _characters()
    # CLIP's BPE marks a word's last symbol with "</w>": every character, both forms.
    tokens = ["<|startoftext|>", "<|endoftext|>"] + chars + [c + "</w>" for c in chars]
    tokens += ["th", "the</w>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [("t", "h"), ("th", "e</w>")]   # every merge's parts and result are in the vocab
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=CLIP_MAX_LENGTH)
    config = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=POOLED_DIM, intermediate_size=37,
        num_hidden_layers=1, num_attention_heads=4, max_position_embeddings=CLIP_MAX_LENGTH,
        projection_dim=POOLED_DIM, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    return CLIPTextModel(config).eval(), tokenizer


def tiny_t5() -> tuple[T5EncoderModel, T5Tokenizer]:
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [(c, -3.0) for c in _characters()]
    pieces += [("\u2581" + c, -2.5) for c in _characters()]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=T5_MAX_LENGTH)
    config = T5Config(
        vocab_size=len(tokenizer), d_model=TEXT_DIM, d_kv=8, d_ff=37, num_layers=1,
        num_heads=4, relative_attention_num_buckets=8, dropout_rate=0.0, pad_token_id=0,
        eos_token_id=1, decoder_start_token_id=0)
    return T5EncoderModel(config).eval(), tokenizer


def build_tiny_fill_pipeline(seed: int = 0, hidden: int = 32, heads: int = 2, layers: int = 1,
                             single_layers: int = 1) -> FluxFillPipeline:
    """A FluxFillPipeline of tiny random components with the real Fill layout, all in eval()."""
    torch.manual_seed(seed)
    transformer = tiny_transformer(hidden, heads, layers, single_layers)
    torch.manual_seed(seed + 1)
    vae = tiny_vae()
    torch.manual_seed(seed + 2)
    text_encoder, tokenizer = tiny_clip()
    torch.manual_seed(seed + 3)
    text_encoder_2, tokenizer_2 = tiny_t5()
    return FluxFillPipeline(
        scheduler=tiny_scheduler(), vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer)


def save_tiny_pipeline(folder: str | Path, seed: int = 0,
                       single_file_transformer: str | Path | None = None,
                       **sizes: int) -> FluxFillPipeline:
    """Write a tiny pipeline as a standard diffusers folder (save_pretrained).

    With `single_file_transformer`, the transformer is also written as one .safetensors file
    that FluxTransformer2DModel.from_single_file reads.
    Returns the pipeline that was saved.
    """
    pipe = build_tiny_fill_pipeline(seed, **sizes)
    pipe.save_pretrained(str(folder))
    if single_file_transformer is not None:
        save_single_file_transformer(pipe.transformer, single_file_transformer)
    return pipe


def save_single_file_transformer(transformer: FluxTransformer2DModel, path: str | Path) -> None:
    """The transformer's weights as one .safetensors file (diffusers key names).

    FluxTransformer2DModel.from_single_file loads this layout as is, and converts the original
    BFL layout (the published flux1-fill-dev.safetensors); its BFL converter assumes the real
    model's width (3072), so a tiny model can only be written in the diffusers layout.
    """
    from safetensors.torch import save_file

    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=".safetensors", dir=path.parent)
    os.close(fd)
    try:
        state = {k: v.detach().contiguous() for k, v in transformer.state_dict().items()}
        save_file(state, tmp, metadata={"format": "pt"})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
