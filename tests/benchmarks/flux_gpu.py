"""Flux engine on a GPU: s/step, s/image and peak VRAM per memory tier, against the FLOP bound.

--random-weights: the full-size FLUX.1-Fill-dev transformer and VAE, built from the published
configuration (layerlift/inference/engines/flux/configs.py) with random weights directly on
the device: the real model's speed and memory, no weights needed. For each S, memory tier
(gpu, fp8, group) and torch.compile off/on (regional: the repeated blocks), the engine's own
Fill call on the decompose triptych (3S x S): s/step (median, from the step callback),
s/decomposition (the whole Fill pass, VAE included) and peak VRAM; then one training step
(flow + cycle, gradient checkpointing, LoRA rank 32, one decompose + one compose triptych):
s/step and peak memory. The bound: FLOPs counted with torch.utils.flop_counter (the sampling
step on the meta device, as `layerlift models plan` does; the training step on its warm-up
run) over the GPU's peak bf16 rate. Goal: a sampling step within 2 x the bound at S = 512 in
the gpu tier.

    python -m tests.benchmarks.flux_gpu --random-weights [--sizes 512 768]
        [--tiers gpu fp8 group] [--compile off on] [--steps 28] [--train-steps 3]
        [--gpu h100|h200|a100|l40|4090 | --peak-tflops X] [--json FILE]

A reduced model runs anywhere (the CPU test): --device cpu --layers 1 --single-layers 1
--heads 1 --vae-width 32 --sizes 64 --steps 2.

Without --random-weights, the real weights through the engine's loading (--model, --lora),
tiers as memory.TIERS; exits 2 when there is no CUDA GPU.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from layerlift.inference.engines.flux.plan import GPUS, TEXT_TOKENS

RANDOM_TIERS = ("gpu", "fp8", "group")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random-weights", action="store_true",
                        help="full-size random transformer and VAE built on the device")
    parser.add_argument("--model", default=None, help="real weights: DIR, FILE or REPO")
    parser.add_argument("--lora", default=None, help="real weights: a LoRA file")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 768])
    parser.add_argument("--tiers", nargs="+", default=None,
                        help=f"memory tiers (random weights: default {' '.join(RANDOM_TIERS)})")
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--compile", nargs="+", choices=("off", "on"), default=["off", "on"])
    parser.add_argument("--train-steps", type=int, default=3,
                        help="measured training steps per S after one warm-up (0: none)")
    parser.add_argument("--device", default="cuda")
    peak = parser.add_mutually_exclusive_group()
    peak.add_argument("--gpu", choices=sorted(GPUS), default=None,
                      help="the GPU whose published bf16 peak is the bound (default: by name)")
    peak.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the rows here (rewritten after each row)")
    reduced = parser.add_argument_group("a reduced model (random weights)")
    reduced.add_argument("--layers", type=int, default=None, help="double-stream blocks (19)")
    reduced.add_argument("--single-layers", type=int, default=None,
                         help="single-stream blocks (38)")
    reduced.add_argument("--heads", type=int, default=None, help="attention heads of 128 (24)")
    reduced.add_argument("--vae-width", type=int, default=None,
                         help="the VAE's first block width, a multiple of 32 (128)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("flux_gpu: no CUDA GPU here; pass --device cpu with a reduced model, or run "
              "tests.benchmarks.flux_cpu", file=sys.stderr)
        return 2
    report = Report(args.json)
    report.note(device_line(args))
    if args.random_weights:
        random_weights(args, report)
    else:
        real_weights(args, report)
    return 0


# ---- what is printed and saved -------------------------------------------------------------

class Report:
    """Rows printed as they come and saved to a JSON file after each one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict = {"notes": [], "rows": []}

    def note(self, text: str) -> None:
        print(text, flush=True)
        self.data["notes"].append(text)
        self._save()

    def row(self, row: dict) -> None:
        print(format_row(row), flush=True)
        self.data["rows"].append(row)
        self._save()

    def _save(self) -> None:
        if self.path is not None:
            self.path.write_text(json.dumps(self.data, indent=2) + "\n")


def format_row(row: dict) -> str:
    head = f"{row['kind']:<6} {row.get('tier', '-'):<6} {row['size']:>5} " \
           f"{'compiled' if row.get('compile') else 'eager':<8}"
    if "error" in row:
        return f"{head}  {row['error']}"
    image = f"{row['s_image']:8.2f} s/image" if "s_image" in row else " " * 16
    peak = "-" if row["peak_gib"] is None else f"{row['peak_gib']:.2f}"
    return (f"{head} {row['s_step']:8.3f} s/step {image}  peak {peak} GiB  "
            f"{row['tflop_step']:8.4g} TFLOP/step  bound {row['bound_s_step']:.4f} s  "
            f"x{row['x_bound']:.2f}")


def device_line(args: argparse.Namespace) -> str:
    import torch

    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else args.device
    peak = peak_tflops(args)
    return (f"device: {name}; torch {torch.__version__}; peak "
            f"{'unknown (pass --gpu or --peak-tflops)' if peak is None else f'{peak:g}'} "
            f"TFLOP/s bf16; {args.steps} steps; "
            f"{'random weights' if args.random_weights else 'real weights'}")


def peak_tflops(args: argparse.Namespace) -> float | None:
    """--peak-tflops, else the --gpu's published peak, else the one the device name says."""
    import torch

    if args.peak_tflops:
        return args.peak_tflops
    name = args.gpu
    if name is None and args.device.startswith("cuda"):
        name = gpu_named(torch.cuda.get_device_name(0))
    return GPUS[name].peak_tflops if name else None


def gpu_named(device_name: str) -> str | None:
    """The GPUS key a device name holds as a word ("NVIDIA H200" -> h200; an L40S is not an
    L40), or None."""
    words = re.findall(r"[a-z0-9]+", device_name.lower())
    return next((key for key in GPUS if key in words), None)


def measured(row: dict, s_step: float, flops: float, peak: float | None) -> dict:
    bound = flops / (peak * 1e12) if peak else float("nan")
    return {**row, "s_step": s_step, "tflop_step": flops / 1e12, "bound_s_step": bound,
            "x_bound": s_step / bound if peak else float("nan")}


# ---- devices -------------------------------------------------------------------------------

def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def reset_peak(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None


def release() -> None:
    """Give back what a configuration held, compiled graphs included."""
    import torch

    torch._dynamo.reset()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ---- random weights ------------------------------------------------------------------------

def model_changes(args: argparse.Namespace) -> tuple[dict, dict]:
    """(transformer, VAE) configuration changes of a reduced model; empty for the real one."""
    transformer = {key: value for key, value in (
        ("num_layers", args.layers), ("num_single_layers", args.single_layers),
        ("num_attention_heads", args.heads)) if value is not None}
    vae = {}
    if args.vae_width is not None:
        w = args.vae_width
        vae = {"block_out_channels": (w, 2 * w, 4 * w, 4 * w)}
    return transformer, vae


def step_flops(changes: dict, size: int) -> int:
    """One sampling step's FLOPs, counted on the meta device (as `layerlift models plan`)."""
    import torch

    from layerlift.inference.engines.flux import configs, plan

    transformer = configs.build_transformer("meta", torch.bfloat16, **changes)
    return plan.count_step(transformer, size, TEXT_TOKENS).flops


def build_pipeline(args: argparse.Namespace, device: str):
    """FluxFillPipeline of random full-size (or reduced) components, built on `device` in its
    compute dtype (bf16 on a GPU)."""
    import torch
    from diffusers import FluxFillPipeline

    from layerlift.inference.engines.flux import configs, memory
    from layerlift.inference.engines.flux.tiny import tiny_scheduler

    dtype = memory.compute_dtype(device)
    changes, vae_changes = model_changes(args)
    torch.manual_seed(0)
    transformer = configs.build_transformer(device, dtype, **changes)
    vae = configs.build_vae(device, dtype, **vae_changes)
    # tiny_scheduler is FLUX.1-Fill-dev's own scheduler configuration
    pipe = FluxFillPipeline(scheduler=tiny_scheduler(), vae=vae, text_encoder=None,
                            tokenizer=None, text_encoder_2=None, tokenizer_2=None,
                            transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def random_embeddings(pipe, device: str) -> tuple:
    import torch

    config = pipe.transformer.config
    generator = torch.Generator(device).manual_seed(1)
    dtype = pipe.vae.dtype
    embeds = torch.randn(1, TEXT_TOKENS, config.joint_attention_dim, generator=generator,
                         device=device, dtype=dtype)
    pooled = torch.randn(1, config.pooled_projection_dim, generator=generator, device=device,
                         dtype=dtype)
    return embeds, pooled


def random_weights(args: argparse.Namespace, report: Report) -> None:
    changes, _ = model_changes(args)
    flops = {s: step_flops(changes, s) for s in args.sizes}
    peak = peak_tflops(args)
    for tier in args.tiers or RANDOM_TIERS:
        try:
            sample_tier(tier, args, report, flops, peak)
        except Exception as exc:  # noqa: BLE001 (building or placing failed: next tier)
            report.note(f"tier {tier}: {first_line(exc)}")
        release()
    for s in args.sizes if args.train_steps > 0 else []:
        row = {"kind": "train", "tier": "gpu", "size": s, "compile": False}
        report.row(guarded(train_row, row, args, peak))
        release()


def sample_tier(tier: str, args: argparse.Namespace, report: Report, flops: dict,
                peak: float | None) -> None:
    """Build and place one tier's pipeline, then its rows: eager, then compiled, per S."""
    from layerlift.inference.engines.flux import memory
    from layerlift.inference.engines.flux.engine import Loaded
    from layerlift.inference.triptych import DECOMPOSE_PROMPT

    pipe = build_pipeline(args, args.device)
    if tier == "group":
        pipe.transformer.to("cpu")   # it streams from CPU RAM; placing pins it there
    memory.place(pipe, tier, args.device)
    report.note(f"tier {tier}: {resident_gib(args.device)} after placing")
    loaded = Loaded(key=(), pipe=pipe, source=None, device=args.device, tier=tier,
                    embeds={DECOMPOSE_PROMPT: random_embeddings(pipe, args.device)})
    for compiled in (mode == "on" for mode in args.compile):
        if compiled:
            pipe.transformer.compile_repeated_blocks()
        for s in args.sizes:
            row = {"kind": "sample", "tier": tier, "size": s, "compile": compiled}
            report.row(guarded(sample_row, row, loaded, args, flops[s], peak))


def resident_gib(device: str) -> str:
    import torch

    if not device.startswith("cuda"):
        return "-"
    return f"{torch.cuda.memory_allocated() / 2**30:.2f} GiB allocated on the GPU"


def first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text[:200]}"


def guarded(measure, row: dict, *args) -> dict:
    """measure(row, *args), or the row with the error's first line: one configuration
    failing (out of memory, a compile error) must not lose the rest of a GPU run."""
    try:
        return measure(row, *args)
    except Exception as exc:  # noqa: BLE001 (reported in the row, the run goes on)
        return {**row, "error": first_line(exc)}


def sample_row(row: dict, loaded, args: argparse.Namespace, flops: int,
               peak: float | None) -> dict:
    """The engine's Fill call on a decompose triptych with `loaded` (the engine's Loaded): a
    2-step warm-up (kernels, compile), then `args.steps` steps timed."""
    from layerlift.inference.engines.flux.engine import FluxEngine, RunState
    from layerlift.inference.triptych import DECOMPOSE_PROMPT, decompose_triptych

    s, device = row["size"], args.device
    rng = np.random.default_rng(0)
    composite = rng.integers(0, 255, (s, s, 3), dtype=np.uint8)
    mask = np.zeros((s, s), bool)
    mask[s // 3: 2 * s // 3, s // 4: 3 * s // 4] = True
    image, fill = decompose_triptych(composite, mask)
    engine = FluxEngine()
    stamps: list[float] = []

    def on_progress(step, total, preview=None):
        sync(device)
        stamps.append(time.perf_counter())

    start = time.perf_counter()
    engine._fill(loaded, image, fill, DECOMPOSE_PROMPT, 2, 0, RunState(None, None, 1))
    sync(device)
    warmup = time.perf_counter() - start
    reset_peak(device)
    start = time.perf_counter()
    engine._fill(loaded, image, fill, DECOMPOSE_PROMPT, args.steps, 0,
                 RunState(on_progress, None, 1))
    sync(device)
    s_image = time.perf_counter() - start
    s_step = statistics.median(np.diff(stamps)) if len(stamps) > 1 else s_image / args.steps
    return {**measured(row, float(s_step), flops, peak), "s_image": s_image,
            "warmup_s": warmup, "peak_gib": peak_gib(device)}


def train_row(row: dict, args: argparse.Namespace, peak: float | None) -> dict:
    """One training step as the trainer runs it (flow + cycle, weight 1, latent cycle space,
    gradient checkpointing, AdamW over the LoRA); its FLOPs counted on the warm-up step."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from layerlift.training.data import generated_sample, make_example, stream_size
    from layerlift.training.losses import training_loss
    from layerlift.training.model import COMPOSE, DECOMPOSE, FillModel, add_lora

    device = args.device
    pipe = build_pipeline(args, device)
    embeds = random_embeddings(pipe, device)
    model = FillModel(pipe, {DECOMPOSE: embeds, COMPOSE: embeds}, torch.device(device))
    _, params = add_lora(model.transformer, 32, 32.0, init_seed=0)
    model.transformer.enable_gradient_checkpointing()
    model.transformer.train()
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    examples = [make_example(generated_sample(0, stream_size(row["size"])), row["size"])]

    def step(i: int) -> None:
        generator = torch.Generator().manual_seed(i)
        inputs = model.inputs(examples, generator)
        training_loss(model, inputs, generator, 1.0).total.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    counter = FlopCounterMode(display=False)
    with counter:
        step(0)
    reset_peak(device)
    times = []
    for i in range(1, args.train_steps + 1):
        sync(device)
        start = time.perf_counter()
        step(i)
        sync(device)
        times.append(time.perf_counter() - start)
    return {**measured(row, statistics.median(times), counter.get_total_flops(), peak),
            "peak_gib": peak_gib(device), "lora_rank": 32, "triptychs": 2}


# ---- real weights --------------------------------------------------------------------------

def real_weights(args: argparse.Namespace, report: Report) -> None:
    """The engine with the user's FLUX weights (and LoRA) and its cached prompt embeddings."""
    from layerlift.inference.engines.flux import memory
    from layerlift.inference.engines.flux.engine import FluxEngine

    peak = peak_tflops(args)
    flops = {s: step_flops({}, s) for s in args.sizes}
    tiers = args.tiers or [t for t in memory.TIERS if t != "nf4" or memory.has_bitsandbytes()]
    report.note(f"model: {args.model or 'default'}; lora: {args.lora or 'none (zero-shot)'}")
    for tier in tiers:
        engine = FluxEngine()
        try:
            loaded = engine._load(args.model, args.device, tier)
            engine._use_lora(loaded, args.lora, 1.0)
        except Exception as exc:  # noqa: BLE001 (reported, the next tier is tried)
            report.note(f"tier {tier}: unavailable: {first_line(exc)}")
            engine.unload()
            continue
        for s in args.sizes:
            row = {"kind": "sample", "tier": tier, "size": s, "compile": False}
            report.row(guarded(sample_row, row, loaded, args, flops[s], peak))
        engine.unload()
        del engine, loaded
        release()


if __name__ == "__main__":
    raise SystemExit(main())
