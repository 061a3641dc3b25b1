"""`layerlift models plan`: FLUX.1-Fill-dev sized and timed from its configuration, counted.

The real components are built on PyTorch's meta device (shapes, no memory, no weights, no
download) from the published configurations (configs.py). For the decompose triptych at S
(3S x S pixels, 3 (S/16)^2 image tokens, 512 text tokens):

- parameters and bytes per component, and the weight bytes of each memory tier (fp8 is
  counted by applying diffusers' own layerwise casting; nf4 from the bitsandbytes format);
- the FLOPs of one sampling step (one transformer forward: FLUX.1-Fill-dev is guidance
  distilled) and of the VAE encode and decode, counted by torch.utils.flop_counter;
- the peak bytes of the tensors each pass creates, counted by tracking them as they are made
  and freed; attention runs as the fused kernel a CUDA GPU uses, which keeps no N x N scores;
- the ideal (FLOP-bound) step and image time at a GPU's peak, and which tiers fit its memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from layerlift.inference.engines.flux import memory
from layerlift.inference.engines.flux.embeddings import MAX_SEQUENCE_LENGTH as TEXT_TOKENS

MIB = 2**20
GIB = 2**30
DEFAULT_STEPS = 28              # the flux engine's default (engine.DEFAULT_STEPS)
FLASH_MAX_HEAD_DIM = 256        # above it CUDA runs memory-efficient attention, not flash
NF4_BLOCK = 64                  # bitsandbytes 4-bit: one float32 absmax per 64 weights
# The one figure not counted: the CUDA context and the caching allocator's slack.
CUDA_RESERVE_BYTES = 1 * GIB


@dataclass(frozen=True)
class Gpu:
    label: str
    peak_tflops: float      # published dense bf16 tensor rate (fp32 accumulate), no sparsity
    memory_bytes: int       # total memory as the driver reports it


GPUS = {
    "h100": Gpu("H100 SXM 80GB", 989.0, 81559 * MIB),
    "h200": Gpu("H200 SXM 141GB", 989.0, 143771 * MIB),
    "a100": Gpu("A100 SXM 80GB", 312.0, 81920 * MIB),
    "l40": Gpu("L40 48GB", 181.0, 46068 * MIB),
    "4090": Gpu("RTX 4090 24GB", 165.2, 24564 * MIB),
}

TIER_NOTES = {
    "gpu": "all resident, bf16",
    "fp8": "float8 storage, cast to bf16 per layer (norm/modulation layers stay bf16)",
    "nf4": "Linear layers in 4-bit NF4 (bitsandbytes), dequantized per layer",
    "group": "streamed leaf by leaf from pinned CPU RAM (current + prefetched leaf)",
}


# ---- counting ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Count:
    flops: int
    by_op: dict[str, int]
    peak_bytes: int     # most bytes of new tensors alive at once (weights, inputs excluded)


def _live_bytes_mode():
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class LiveBytes(TorchDispatchMode):
        """Bytes of the storages ops create, summed while they are alive; the peak kept."""

        def __init__(self) -> None:
            super().__init__()
            self.alive: dict[int, weakref.ref] = {}
            self.now = 0
            self.peak = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            given = {t.untyped_storage()._cdata for t in tree_leaves((args, kwargs))
                     if _is_tensor(t)}
            for t in tree_leaves(out):
                if _is_tensor(t):
                    self._track(t.untyped_storage(), given)
            return out

        def _track(self, storage, given: set[int]) -> None:
            key = storage._cdata
            if key in given or key in self.alive:
                return          # a view or an in-place result: nothing new
            size = storage.nbytes()
            self.alive[key] = weakref.ref(storage, lambda _ref: self._free(key, size))
            self.now += size
            self.peak = max(self.peak, self.now)

        def _free(self, key: int, size: int) -> None:
            self.alive.pop(key, None)
            self.now -= size

    return LiveBytes()


def _is_tensor(value) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _fused_attention_mode():
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
             "enable_gqa")

    class FusedAttention(TorchFunctionMode):
        """scaled_dot_product_attention as the fused kernel CUDA picks (on meta it would run
        the math path, which keeps the N x N scores): same FLOPs, the memory of the GPU run."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is not F.scaled_dot_product_attention:
                return func(*args, **kwargs)
            given = {**dict(zip(names, args, strict=False)), **kwargs}
            if given.get("attn_mask") is not None or given.get("is_causal") \
                    or given.get("dropout_p") or given.get("enable_gqa"):
                return func(*args, **kwargs)     # not what the FLUX models call
            q, k, v = given["query"], given["key"], given["value"]
            scale = given.get("scale")
            if q.shape[-1] <= FLASH_MAX_HEAD_DIM:
                return torch.ops.aten._scaled_dot_product_flash_attention(q, k, v, scale=scale)[0]
            return torch.ops.aten._scaled_dot_product_efficient_attention(
                q, k, v, None, False, scale=scale)[0]

    return FusedAttention()


def count(run: Callable[[], object]) -> Count:
    """FLOPs and peak new-tensor bytes of `run()` (no grad), e.g. a forward on meta tensors."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    flops = FlopCounterMode(display=False)
    live = _live_bytes_mode()
    with _fused_attention_mode(), flops, live, torch.no_grad():
        run()
    counted = flops.get_flop_counts().get("Global", {})   # absent when nothing was counted
    by_op = {str(op): int(n) for op, n in counted.items()}
    return Count(int(flops.get_total_flops()), by_op, live.peak)


def image_tokens(size: int) -> int:
    """Tokens of the 3S x S triptych: 2x2 patches of the 8x-downscaled latents."""
    return 3 * (size // 16) ** 2


def transformer_inputs(transformer, size: int, text_tokens: int = TEXT_TOKENS) -> dict:
    """Meta inputs of one sampling step, shaped as FluxFillPipeline passes them."""
    import torch

    config = transformer.config
    dtype = transformer.dtype
    n = image_tokens(size)

    def empty(*shape, kind=dtype):
        return torch.empty(*shape, dtype=kind, device="meta")

    return {"hidden_states": empty(1, n, config.in_channels),
            "timestep": empty(1), "guidance": empty(1, kind=torch.float32),
            "pooled_projections": empty(1, config.pooled_projection_dim),
            "encoder_hidden_states": empty(1, text_tokens, config.joint_attention_dim),
            "txt_ids": empty(text_tokens, 3), "img_ids": empty(n, 3), "return_dict": False}


def count_step(transformer, size: int, text_tokens: int = TEXT_TOKENS) -> Count:
    """One sampling step at S: one forward of a meta-device transformer."""
    inputs = transformer_inputs(transformer, size, text_tokens)
    return count(lambda: transformer(**inputs))


def count_vae(vae, size: int) -> tuple[Count, Count]:
    """(encode of the masked triptych, decode of the result) of a meta-device VAE."""
    import torch

    image = torch.empty(1, 3, size, 3 * size, dtype=vae.dtype, device="meta")
    latents = torch.empty(1, vae.config.latent_channels, size // 8, 3 * size // 8,
                          dtype=vae.dtype, device="meta")
    return count(lambda: vae.encode(image)), count(lambda: vae.decode(latents))


# ---- bytes per tier ------------------------------------------------------------------------

def parameter_count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def tensor_bytes(module, recurse: bool = True) -> int:
    tensors = list(module.parameters(recurse=recurse)) + list(module.buffers(recurse=recurse))
    return sum(t.numel() * t.element_size() for t in tensors)


def _linears(module) -> list:
    import torch

    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


def fp8_bytes() -> tuple[int, int]:
    """(bytes, the largest cast layer's bf16 bytes) of the transformer under diffusers' own
    layerwise casting to float8: its skip list keeps every module named like a norm or an
    embedding in bf16, the modulation linears (norm1.linear, ...) included."""
    import torch

    from layerlift.inference.engines.flux import configs

    transformer = configs.build_transformer("meta", torch.bfloat16)
    transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn,
                                         compute_dtype=torch.bfloat16)
    cast = [m.weight.numel() * 2 for m in _linears(transformer)
            if m.weight.dtype == torch.float8_e4m3fn]
    return tensor_bytes(transformer), max(cast)


def nf4_bytes(transformer) -> int:
    """bitsandbytes NF4 (no double quantization): every Linear weight packed, the rest bf16."""
    linear_weights = [m.weight for m in _linears(transformer)]
    packed = sum(w.numel() // 2 + 4 * -(-w.numel() // NF4_BLOCK) for w in linear_weights)
    return tensor_bytes(transformer) - sum(w.numel() * w.element_size()
                                           for w in linear_weights) + packed


def tier_table(transformer, vae, step: Count, vae_peak: int) -> dict[str, dict]:
    """Per tier: the transformer's stored bytes, the weight bytes resident on the device during
    the steps, host RAM, and the device peak (weights + the largest pass's new tensors)."""
    t = tensor_bytes(transformer)
    v = tensor_bytes(vae)
    largest_layer = max(m.weight.numel() * m.weight.element_size() for m in _linears(transformer))
    largest_leaf = max(tensor_bytes(m, recurse=False) for m in transformer.modules())
    (fp8, fp8_layer), nf4 = fp8_bytes(), nf4_bytes(transformer)
    act = step.peak_bytes
    rows = {  # stored, resident during the steps, host RAM, device peak; a cast or
        # dequantized layer's bf16 copy lives while it runs
        "gpu": (t, t + v, 0, t + v + max(act, vae_peak)),
        "fp8": (fp8, fp8 + v, 0, fp8 + v + max(act + fp8_layer, vae_peak)),
        "nf4": (nf4, nf4 + v, 0, nf4 + v + max(act + largest_layer, vae_peak)),
        "group": (t, v + 2 * largest_leaf, t, v + 2 * largest_leaf + max(act, vae_peak)),
    }
    keys = ("transformer_bytes", "weight_bytes", "host_bytes", "peak_bytes")
    return {name: {**dict(zip(keys, rows[name], strict=True)), "note": TIER_NOTES[name]}
            for name in memory.TIERS}


def fits(tier: dict, gpu: Gpu) -> bool:
    return tier["peak_bytes"] + CUDA_RESERVE_BYTES <= gpu.memory_bytes


# ---- the plan ------------------------------------------------------------------------------

def components(transformer, vae) -> dict[str, dict]:
    import torch

    from layerlift.inference.engines.flux import configs

    parts = {"transformer": transformer, "vae": vae,
             **configs.build_text_encoders("meta", torch.bfloat16)}
    return {name: {"parameters": parameter_count(m), "bf16_bytes": tensor_bytes(m)}
            for name, m in parts.items()}


def make_plan(size: int, steps: int = DEFAULT_STEPS, gpu: str | None = "h100",
              peak_tflops: float | None = None, tiers: tuple[str, ...] = memory.TIERS) -> dict:
    """Everything `layerlift models plan` prints, as plain data (byte and FLOP counts)."""
    import torch

    from layerlift.inference.engines.flux import configs

    transformer = configs.build_transformer("meta", torch.bfloat16)
    vae = configs.build_vae("meta", torch.bfloat16)
    step = count_step(transformer, size)
    encode, decode = count_vae(vae, size)
    image_flops = steps * step.flops + encode.flops + decode.flops
    table = tier_table(transformer, vae, step, max(encode.peak_bytes, decode.peak_bytes))
    chosen = GPUS[gpu] if gpu else None
    peak = peak_tflops or chosen.peak_tflops
    plan = {
        "model": "FLUX.1-Fill-dev (built from its configuration on the meta device)",
        "size": size, "triptych": {"width": 3 * size, "height": size}, "steps": steps,
        "image_tokens": image_tokens(size), "text_tokens": TEXT_TOKENS,
        "parameters": parameter_count(transformer),
        "components": components(transformer, vae),
        "tflop_per_step": step.flops / 1e12,
        "flops": {"step": step.flops, "step_by_op": step.by_op, "vae_encode": encode.flops,
                  "vae_decode": decode.flops, "image": image_flops},
        "activation_bytes": {"step": step.peak_bytes, "vae_encode": encode.peak_bytes,
                             "vae_decode": decode.peak_bytes},
        "gpu": gpu, "peak_tflops": peak,
        "ideal_step_s": step.flops / (peak * 1e12),
        "ideal_image_s": image_flops / (peak * 1e12),
        "cuda_reserve_bytes": CUDA_RESERVE_BYTES,
        "tiers": {name: {**row, "fits": fits(row, chosen) if chosen else None}
                  for name, row in table.items() if name in tiers},
        "gpus": {name: gpu_row(card, step.flops, image_flops, table)
                 for name, card in GPUS.items()},
    }
    if chosen:
        plan["memory_bytes"] = chosen.memory_bytes
    return plan


def gpu_row(card: Gpu, step_flops: int, image_flops: int, table: dict) -> dict:
    return {"label": card.label, "peak_tflops": card.peak_tflops,
            "memory_bytes": card.memory_bytes,
            "ideal_step_s": step_flops / (card.peak_tflops * 1e12),
            "ideal_image_s": image_flops / (card.peak_tflops * 1e12),
            "fits": {name: fits(row, card) for name, row in table.items()}}


# ---- text ----------------------------------------------------------------------------------

def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def format_plan(plan: dict) -> str:
    lines = [f"{plan['model']}; decompose triptych at S={plan['size']}: "
             f"{plan['triptych']['width']} x {plan['triptych']['height']} px, "
             f"{plan['image_tokens']} image + {plan['text_tokens']} text tokens, "
             f"{plan['steps']} steps", "", "Components:"]
    for name, part in plan["components"].items():
        extra = " (only to fill the prompt-embedding cache)" if name.startswith("text") else ""
        lines.append(f"  {name:<15} {part['parameters'] / 1e9:7.3f} B parameters  "
                     f"{_gib(part['bf16_bytes']):>10} bf16{extra}")
    lines += [""] + _flop_lines(plan) + [""] + _tier_lines(plan) + [""] + _gpu_lines(plan)
    return "\n".join(lines) + "\n"


def _flop_lines(plan: dict) -> list[str]:
    flops, act = plan["flops"], plan["activation_bytes"]
    ops = ", ".join(f"{op.removeprefix('aten.')} {n / 1e12:.2f}"
                    for op, n in sorted(flops["step_by_op"].items(), key=lambda kv: -kv[1]))
    return [f"FLOPs (torch.utils.flop_counter): {plan['tflop_per_step']:.2f} TFLOP per step "
            f"({ops}); VAE encode {flops['vae_encode'] / 1e12:.2f}, decode "
            f"{flops['vae_decode'] / 1e12:.2f}; {flops['image'] / 1e12:.1f} TFLOP per image",
            f"New tensors at their peak (fused attention): step {_gib(act['step'])}, "
            f"VAE encode {_gib(act['vae_encode'])}, decode {_gib(act['vae_decode'])}",
            f"Ideal at {plan['peak_tflops']:g} TFLOP/s: {plan['ideal_step_s'] * 1e3:.1f} ms per "
            f"step, {plan['ideal_image_s']:.2f} s per image"]


def _tier_lines(plan: dict) -> list[str]:
    card = GPUS[plan["gpu"]] if plan["gpu"] else None
    where = f"fits {card.label} ({_gib(card.memory_bytes)})" if card else "fits"
    lines = [f"{'tier':<8} {'transformer':>12} {'on GPU':>10} {'host RAM':>10} "
             f"{'peak GPU':>10}  {where}"]
    for name, tier in plan["tiers"].items():
        verdict = "-" if tier["fits"] is None else ("yes" if tier["fits"] else "no")
        lines.append(f"{name:<8} {_gib(tier['transformer_bytes']):>12} "
                     f"{_gib(tier['weight_bytes']):>10} {_gib(tier['host_bytes']):>10} "
                     f"{_gib(tier['peak_bytes']):>10}  {verdict:<4} {tier['note']}")
    lines.append(f"  peak GPU = weights + the largest pass's new tensors; fits = peak + "
                 f"{_gib(plan['cuda_reserve_bytes'])} (CUDA context, allocator: not counted) "
                 "<= the card's memory")
    return lines


def _gpu_lines(plan: dict) -> list[str]:
    lines = [f"{'GPU':<16} {'TFLOP/s':>8} {'memory':>10} {'ms/step':>8} {'s/image':>8}  "
             "tiers that fit"]
    for row in plan["gpus"].values():
        fitting = " ".join(name for name, ok in row["fits"].items() if ok) or "none"
        lines.append(f"{row['label']:<16} {row['peak_tflops']:>8g} "
                     f"{_gib(row['memory_bytes']):>10} {row['ideal_step_s'] * 1e3:>8.1f} "
                     f"{row['ideal_image_s']:>8.2f}  {fitting}")
    lines.append("  ms/step, s/image: the FLOP bound at the published dense bf16 peak")
    return lines


# ---- command line --------------------------------------------------------------------------

def _size(text: str) -> int:
    value = int(text)
    if value < 16 or value % 16:
        raise argparse.ArgumentTypeError(f"--size must be a positive multiple of 16, got {text}")
    return value


def _steps(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"--steps must be at least 1, got {text}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--peak-tflops must be positive, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=_size, default=512, help="working crop side S (512)")
    parser.add_argument("--steps", type=_steps, default=DEFAULT_STEPS,
                        help=f"sampling steps per image ({DEFAULT_STEPS})")
    parser.add_argument("--memory", choices=memory.TIERS, default=None,
                        help="show one memory tier (default: all)")
    peak = parser.add_mutually_exclusive_group()
    peak.add_argument("--peak-tflops", type=_rate, default=None,
                      help="a peak bf16 rate in TFLOP/s (no memory check)")
    peak.add_argument("--gpu", choices=sorted(GPUS), default=None,
                      help="a GPU's published bf16 peak and memory (default h100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    gpu = None if args.peak_tflops else (args.gpu or "h100")
    tiers = (args.memory,) if args.memory else memory.TIERS
    plan = make_plan(args.size, args.steps, gpu, args.peak_tflops, tiers)
    sys.stdout.write(json.dumps(plan, indent=2) + "\n" if args.json else format_plan(plan))
    return 0
