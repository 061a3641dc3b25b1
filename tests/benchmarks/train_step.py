"""Training-step benchmark: measured on this CPU with a mid-size random FLUX Fill, and the
paper estimate for the real FLUX.1-Fill-dev on a GPU.

    .venv/bin/python -m tests.benchmarks.train_step [--size 128] [--steps 6] [--threads 1]

Measured: seconds per optimizer step (batch 1 = one decompose + one compose triptych) with
flow matching only and with the cycle term, with and without gradient checkpointing, beside
the time of one transformer forward on the same 2-item batch, so the overhead is visible.
Estimated: FLOPs, time and memory per step of the real model (11.9 B parameters).
"""

from __future__ import annotations

import argparse
import time

import torch

from layerlift.inference.engines.flux.tiny import build_tiny_fill_pipeline
from layerlift.training.data import Example, make_example
from layerlift.training.losses import training_loss
from layerlift.training.model import FillModel, add_lora, encode_task_prompts

# FLUX.1-Fill-dev
REAL_PARAMS = 11.9e9
REAL_BLOCKS = 19 + 38          # double + single blocks
REAL_HIDDEN = 3072
REAL_TEXT_TOKENS = 512
REAL_LORA_R32 = 52.3e6         # LoRA parameters at rank 32 on the attention projections
H100_BF16 = 989e12             # dense peak, FLOP/s


def synthetic_examples(size: int) -> list[Example]:
    from layerlift.training.data import Sample
    from tests.training.conftest import make_sample

    return [make_example(Sample(**make_sample(0, size=size * 2)), size)]


def time_steps(model: FillModel, params, examples, steps: int, cycle: float) -> float:
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    times = []
    for i in range(steps + 1):
        start = time.perf_counter()
        gen = torch.Generator().manual_seed(i)
        inputs = model.inputs(examples, gen)
        training_loss(model, inputs, gen, cycle).total.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i:  # the first step warms up
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def time_forward(model: FillModel, examples, repeats: int) -> float:
    inputs = model.inputs(examples, torch.Generator().manual_seed(0))
    sigma = torch.full((inputs.x0.shape[0],), 0.5)
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            start = time.perf_counter()
            model.velocity(inputs.x0, inputs.cond, sigma, inputs)
            times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def measured(size: int, steps: int) -> None:
    pipe = build_tiny_fill_pipeline(seed=0, hidden=256, heads=4, layers=2, single_layers=4)
    model = FillModel(pipe, encode_task_prompts(pipe, torch.device("cpu"), 128),
                      torch.device("cpu"))
    _, params = add_lora(model.transformer, 16, 16.0, init_seed=0)
    n_params = sum(p.numel() for p in model.transformer.parameters())
    examples = synthetic_examples(size)
    fwd = time_forward(model, examples, steps)
    print(f"mid-size random FLUX Fill: {n_params / 1e6:.1f} M parameters, LoRA rank 16, "
          f"S={size} (triptych {3 * size}x{size}), 128 text tokens, "
          f"{torch.get_num_threads()} thread(s)")
    print(f"  one transformer forward, 2 triptychs (no grad): {fwd:.3f} s")
    for checkpointing in (False, True):
        if checkpointing:
            model.transformer.enable_gradient_checkpointing()
        for cycle in (0.0, 1.0):
            t = time_steps(model, params, examples, steps, cycle)
            label = ("flow + cycle" if cycle else "flow only   ") + \
                    (", grad checkpointing" if checkpointing else ", no checkpointing  ")
            print(f"  step ({label}): {t:.3f} s = {t / fwd:.1f} x forward")


def estimate(size: int) -> None:
    image_tokens = 3 * (size // 16) ** 2
    tokens = image_tokens + REAL_TEXT_TOKENS
    linear = 2 * REAL_PARAMS * tokens
    attention = REAL_BLOCKS * 4 * tokens ** 2 * REAL_HIDDEN
    forward = linear + attention
    # LoRA training: the frozen weights need activation gradients only (~1x forward), so
    # forward+backward ~ 2x forward; gradient checkpointing recomputes the forward: ~3x.
    print(f"FLUX.1-Fill-dev, S={size}: {tokens} tokens per triptych, forward "
          f"{forward / 1e12:.0f} TFLOP, forward+backward {2 * forward / 1e12:.0f} TFLOP "
          f"({2 * forward / H100_BF16:.2f} s on an H100 at 100 % of bf16 peak)")
    for ckpt in (False, True):
        per_pass = forward * (3 if ckpt else 2)
        for passes, label in ((2, "flow only   "), (4, "flow + cycle")):
            total = passes * per_pass
            lo, hi = total / (0.6 * H100_BF16), total / (0.35 * H100_BF16)
            print(f"  step, {label}, {'with' if ckpt else 'no  '} checkpointing: "
                  f"{total / 1e12:5.0f} TFLOP -> {lo:.1f}-{hi:.1f} s at 60-35 % of peak")
    weights = REAL_PARAMS * 2
    lora_state = REAL_LORA_R32 * 16   # fp32 weight, grad, two Adam moments
    saved = REAL_BLOCKS * tokens * REAL_HIDDEN * 2   # block inputs kept, bf16, per triptych
    print(f"  memory: weights {weights / 2**30:.1f} GiB + LoRA rank 32 with Adam "
          f"{lora_state / 2**30:.2f} GiB + checkpointed block inputs {saved / 2**30:.2f} GiB "
          f"per triptych in the graph (2 flow only, 4 with the cycle) + one block's recompute")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    measured(args.size, args.steps)
    print()
    for size in (512, 768):
        estimate(size)


if __name__ == "__main__":
    main()
