"""The FLUX Fill pipeline under training: loading, the shared LoRA, and the model inputs.

Inputs are built with the pipeline's own helpers (image/mask processors, _encode_vae_image,
prepare_mask_latents, _pack_latents, _prepare_latent_image_ids), so a training triptych reaches
the transformer exactly as FluxFillPipeline.__call__ feeds it at inference:
    hidden_states = cat(noisy packed latents, packed masked-image latents, packed mask)
    timestep = sigma (the pipeline passes t / 1000 with t = 1000 * sigma)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from layerlift.inference.crop import CropBox
from layerlift.inference.engines.flux.engine import FILL_DILATION
from layerlift.inference.engines.flux.pipeline import image_ids
from layerlift.inference.errors import EngineUnavailable
from layerlift.inference.triptych import (
    COMPOSE_PROMPT,
    DECOMPOSE_PROMPT,
    compose_triptych,
    decompose_triptych,
)
from layerlift.training.data import Example

# The attention projections of FLUX's double and single blocks (the usual FLUX LoRA targets).
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0",
                "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out")
ADAPTER = "layerlift"
DECOMPOSE, COMPOSE = 0, 1


def load_for_training(model: str, device: torch.device, dtype: torch.dtype):
    """(pipeline without text encoders, task prompt embeddings) for a model spec.

    Uses the flux engine's loading (a diffusers folder, a single-file transformer beside one,
    or a Hugging Face cache id; never downloads) and its on-disk prompt-embedding cache, so a
    warm cache never loads CLIP or T5; otherwise they are loaded once, used and freed.
    """
    from layerlift.inference.engines.flux.embeddings import prompt_embeddings
    from layerlift.inference.engines.flux.loading import load_fill_pipeline, resolve_model

    source = resolve_model(model)
    # Embeddings first: a cold cache loads (then frees) T5 before the transformer takes memory.
    found = prompt_embeddings(source, [DECOMPOSE_PROMPT, COMPOSE_PROMPT], device, dtype)
    pipe = load_fill_pipeline(source, dtype)
    prompts = {DECOMPOSE: found[DECOMPOSE_PROMPT], COMPOSE: found[COMPOSE_PROMPT]}
    return pipe, prompts


@torch.no_grad()
def encode_task_prompts(pipe, device: torch.device, max_sequence_length: int = 512) -> dict:
    """Both task prompts through the pipeline's own encode_prompt; then frees the encoders."""
    if pipe.text_encoder is None or pipe.text_encoder_2 is None:
        raise EngineUnavailable("the model has no text encoders to encode the task prompts")
    pipe.text_encoder.to(device)
    pipe.text_encoder_2.to(device)
    out = {}
    for task, text in ((DECOMPOSE, DECOMPOSE_PROMPT), (COMPOSE, COMPOSE_PROMPT)):
        embeds, pooled, _ = pipe.encode_prompt(
            prompt=text, prompt_2=None, device=device, max_sequence_length=max_sequence_length)
        out[task] = (embeds, pooled)
    pipe.text_encoder = pipe.text_encoder_2 = pipe.tokenizer = pipe.tokenizer_2 = None
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def add_lora(transformer, rank: int, alpha: float, init_seed: int):
    """Add the shared LoRA to the attention projections; freeze everything else.

    Returns (LoraConfig, list of trainable parameters). The LoRA weights are kept in fp32.
    """
    from peft import LoraConfig

    config = LoraConfig(r=rank, lora_alpha=alpha, init_lora_weights="gaussian",
                        target_modules=list(LORA_TARGETS), lora_dropout=0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        transformer.add_adapter(config, adapter_name=ADAPTER)
    return config, enable_lora_grads(transformer)


def enable_lora_grads(transformer) -> list[torch.nn.Parameter]:
    """requires_grad on exactly the `lora_` parameters.

    add_adapter / set_adapters reset requires_grad (STACK-NOTES), so this runs after every
    adapter switch; the optimizer is built from this same name filter.
    """
    params = []
    for name, p in transformer.named_parameters():
        is_lora = "lora_" in name
        p.requires_grad_(is_lora)
        if is_lora:
            if p.dtype != torch.float32:
                p.data = p.data.float()
            params.append(p)
    if not params:
        raise RuntimeError("no LoRA parameters found after adding the adapter")
    return params


def lora_state_dict(transformer) -> dict[str, torch.Tensor]:
    from peft.utils import get_peft_model_state_dict

    return get_peft_model_state_dict(transformer, adapter_name=ADAPTER)


def load_lora_state(transformer, state: dict[str, torch.Tensor]) -> None:
    from peft.utils import set_peft_model_state_dict

    result = set_peft_model_state_dict(transformer, state, adapter_name=ADAPTER)
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise ValueError(f"checkpoint LoRA keys do not fit this model: {unexpected[:3]}")


def crop_maps(sources: list[CropBox], targets: list[CropBox]) -> torch.Tensor:
    """(B, 2, 3) affine maps (F.affine_grid, align_corners=False) taking a panel cut to
    sources[i] onto the grid of one cut to targets[i]: target normalized coordinate g maps to
    source coordinate g * t.side / s.side + (2 (t.x0 - s.x0) + t.side) / s.side - 1."""
    maps = []
    for src, dst in zip(sources, targets, strict=True):
        scale = dst.side / src.side
        bx = (2 * (dst.x0 - src.x0) + dst.side) / src.side - 1
        by = (2 * (dst.y0 - src.y0) + dst.side) / src.side - 1
        maps.append([[scale, 0.0, bx], [0.0, scale, by]])
    return torch.tensor(maps, dtype=torch.float32)


def token_region(fill: torch.Tensor, token_px: int) -> torch.Tensor:
    """(B, N) 1 where a packed token's token_px x token_px pixels hold any fill, in the
    order of FluxFillPipeline._pack_latents (row by row)."""
    return F.max_pool2d(fill, token_px).flatten(1)


def training_triptychs(examples: list[Example]
                       ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(shown, targets, fills): what inference shows the model (the engine's triptychs, built
    by the same calls), what it should produce, and the fill masks; decompose items first."""
    shown, targets, fills = [], [], []
    for ex in examples:
        d = ex.decompose
        image, fill = decompose_triptych(d.composite, ex.mask, FILL_DILATION)
        shown.append(image)
        fills.append(fill)
        targets.append(np.concatenate([d.composite, d.logo_panel, d.object], axis=1))
    for ex in examples:
        c = ex.compose
        image, fill = compose_triptych(c.logo_panel, c.object, ex.support, FILL_DILATION)
        shown.append(image)
        fills.append(fill)
        targets.append(np.concatenate([c.logo_panel, c.object, c.composite], axis=1))
    return shown, targets, fills


@dataclass
class Inputs:
    """One batch, both directions stacked: items [decompose 0..B-1, compose 0..B-1]."""

    x0: torch.Tensor          # (2B, N, 4C) packed clean latents of the triptychs
    cond: torch.Tensor        # (2B, N, 4C + 4*s*s) packed masked-image latents + mask
    img_ids: torch.Tensor     # (N, 3)
    prompt: torch.Tensor      # (2B, T, D) task prompt embeddings
    pooled: torch.Tensor      # (2B, P)
    text_ids: torch.Tensor    # (T, 3)
    rows: int                 # token rows (S / 16)
    panel_cols: int           # token columns per panel (S / 16)
    latent_dim: int           # 4C: the masked-image part of `cond`
    fill: torch.Tensor        # (2B, 1, S, 3S) the processed fill masks (1 = generate)
    region: torch.Tensor      # (2B, N) 1 on the tokens the fill mask generates (any pixel)
    # (B, 2, 3) affine maps for grid_sample: a panel of the decompose crop resampled onto the
    # compose crop's grid, and back (the two crops differ; see crop_maps)
    to_compose: torch.Tensor
    to_decompose: torch.Tensor

    @property
    def half(self) -> int:
        return self.x0.shape[0] // 2


class FillModel:
    """The pipeline, its LoRA'd transformer and the precomputed task prompt embeddings."""

    def __init__(self, pipe, prompts: dict, device: torch.device,
                 mixed_precision: str = "auto", guidance: float = 30.0) -> None:
        self.pipe = pipe
        self.device = device
        self.transformer = pipe.transformer
        self.guidance = guidance
        use_bf16 = mixed_precision == "bf16" or (mixed_precision == "auto"
                                                 and device.type == "cuda")
        self.autocast_dtype = torch.bfloat16 if use_bf16 else None
        for module in (pipe.vae, pipe.transformer):
            module.to(device)
            module.requires_grad_(False)
        self.prompts = {task: (e.to(device, self.param_dtype), p.to(device, self.param_dtype))
                        for task, (e, p) in prompts.items()}

    @property
    def param_dtype(self) -> torch.dtype:
        return self.transformer.dtype

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    @torch.no_grad()
    def inputs(self, examples: list[Example], generator: torch.Generator) -> Inputs:
        """Decompose and compose triptychs of `examples`, encoded as the pipeline does."""
        pipe = self.pipe
        shown, targets, fills = training_triptychs(examples)
        height, width = shown[0].shape[:2]
        count = len(shown)
        dtype = self.param_dtype
        init = self._preprocess(shown, height, width)
        target = self._preprocess(targets, height, width)
        mask = pipe.mask_processor.preprocess(
            [Image.fromarray((f * 255).astype(np.uint8)) for f in fills],
            height=height, width=width).to(self.device)
        channels = pipe.vae.config.latent_channels
        with self.autocast():
            masked = (init * (1 - mask)).to(dtype=dtype)
            mask_tokens, masked_tokens = pipe.prepare_mask_latents(
                mask, masked, count, channels, 1, height, width, dtype, self.device, generator)
            latents = pipe._encode_vae_image(target.to(dtype), generator)
        h, w = latents.shape[-2:]
        x0 = pipe._pack_latents(latents, count, channels, h, w).to(dtype)
        cond = torch.cat((masked_tokens, mask_tokens), dim=-1).to(dtype)
        ids = image_ids(h // 2, w // 2, self.device)   # float32: exact at any S
        tasks = [DECOMPOSE] * len(examples) + [COMPOSE] * len(examples)
        prompt = torch.cat([self.prompts[t][0] for t in tasks])
        pooled = torch.cat([self.prompts[t][1] for t in tasks])
        text_ids = torch.zeros(prompt.shape[1], 3, device=self.device, dtype=dtype)
        to_compose = crop_maps([ex.decompose.box for ex in examples],
                               [ex.compose.box for ex in examples]).to(self.device)
        to_decompose = crop_maps([ex.compose.box for ex in examples],
                                 [ex.decompose.box for ex in examples]).to(self.device)
        return Inputs(x0=x0, cond=cond, img_ids=ids, prompt=prompt, pooled=pooled,
                      text_ids=text_ids, rows=h // 2, panel_cols=w // 6,
                      latent_dim=masked_tokens.shape[-1], fill=mask,
                      region=token_region(mask, 2 * pipe.vae_scale_factor),
                      to_compose=to_compose, to_decompose=to_decompose)

    def decode(self, tokens: torch.Tensor, inputs: Inputs) -> torch.Tensor:
        """Packed latents -> images in [-1, 1] (2B, 3, S, 3S), as the pipeline decodes them.
        Differentiable (the VAE is frozen, but gradients flow through it to `tokens`)."""
        pipe = self.pipe
        height, width = inputs.fill.shape[-2:]
        latents = pipe._unpack_latents(tokens, height, width, pipe.vae_scale_factor)
        latents = latents / pipe.vae.config.scaling_factor + pipe.vae.config.shift_factor
        with self.autocast():
            images = pipe.vae.decode(latents.to(pipe.vae.dtype), return_dict=False)[0]
        return images.float().clamp(-1, 1)

    def condition(self, images: torch.Tensor, inputs: Inputs,
                  generator: torch.Generator) -> torch.Tensor:
        """The Fill condition (packed masked-image latents + packed mask) of triptych images
        in [-1, 1] with the inputs' fill masks, built by prepare_mask_latents. Differentiable."""
        pipe = self.pipe
        count = images.shape[0]
        height, width = images.shape[-2:]
        dtype = self.param_dtype
        masked = (images * (1 - inputs.fill)).to(dtype)
        with self.autocast():
            mask_tokens, masked_tokens = pipe.prepare_mask_latents(
                inputs.fill, masked, count, pipe.vae.config.latent_channels, 1, height, width,
                dtype, self.device, generator)
        return torch.cat((masked_tokens, mask_tokens), dim=-1).to(dtype)

    def _preprocess(self, images: list[np.ndarray], height: int, width: int) -> torch.Tensor:
        tensor = self.pipe.image_processor.preprocess(
            [Image.fromarray(im) for im in images], height=height, width=width)
        return tensor.to(device=self.device, dtype=torch.float32)

    def velocity(self, noisy: torch.Tensor, cond: torch.Tensor, sigma: torch.Tensor,
                 inputs: Inputs) -> torch.Tensor:
        """The transformer's velocity prediction, called as FluxFillPipeline calls it."""
        count = noisy.shape[0]
        guidance = None
        if self.transformer.config.guidance_embeds:
            guidance = torch.full((count,), self.guidance, device=self.device,
                                  dtype=torch.float32)
        with self.autocast():
            out = self.transformer(
                hidden_states=torch.cat((noisy, cond), dim=2),
                timestep=sigma.to(noisy.dtype),
                guidance=guidance,
                pooled_projections=inputs.pooled,
                encoder_hidden_states=inputs.prompt,
                txt_ids=inputs.text_ids,
                img_ids=inputs.img_ids,
                return_dict=False,
            )[0]
        return out.float()
