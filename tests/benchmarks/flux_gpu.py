"""Flux engine on a real GPU with the real weights: s/step, s/image, peak VRAM per memory tier.

For whoever has a CUDA GPU and FLUX.1-Fill-dev (`layerlift models download`). For each memory
tier and each S (default 512 and 768) it times the decompose triptych (3S x S): seconds per
denoising step (from the step callback), seconds per image (the whole Fill pass: VAE encode,
steps, VAE decode) and the peak VRAM, beside the physical bound: the transformer's FLOPs per
step (counted from its config and the token count) over the GPU's peak bf16 rate.

    .venv/bin/python -m tests.benchmarks.flux_gpu [--model DIR|FILE|REPO] [--lora FILE]
        [--sizes 512 768] [--tiers gpu offload fp8 nf4 group] [--steps 28]
        [--peak-tflops 989]

Without --lora the triptych pass is timed zero-shot (same shapes and cost as with a LoRA,
minus the adapter's small overhead). Exits 2 with a message when there is no CUDA GPU.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

H100_BF16_DENSE_TFLOPS = 989.0


def transformer_tflop_per_step(config, image_tokens: int, text_tokens: int) -> float:
    """FLOPs of one FLUX transformer forward (2 per multiply-add), in TFLOP.

    Double-stream blocks: each token goes through its own stream's qkv (3D^2), out (D^2),
    MLP (2 x 4D^2) and modulation (6D^2); single-stream blocks: linear1 (7D^2), linear2
    (5D^2), modulation (3D^2). Attention: QK^T and AV, 4 N^2 D per block.
    """
    d = config.num_attention_heads * config.attention_head_dim
    n = image_tokens + text_tokens
    per_token_macs = config.num_layers * 18 * d * d + config.num_single_layers * 15 * d * d
    linear = 2 * per_token_macs * n
    attention = (config.num_layers + config.num_single_layers) * 4 * n * n * d
    return (linear + attention) / 1e12


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--lora", default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 768])
    parser.add_argument("--tiers", nargs="+", default=None,
                        help="memory tiers to measure (default: all available)")
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE_TFLOPS,
                        help="the GPU's peak dense bf16 rate (H100 SXM: 989)")
    args = parser.parse_args()

    import numpy as np
    import torch

    if not torch.cuda.is_available():
        print("flux_gpu: no CUDA GPU here; this benchmark needs one (and the FLUX weights). "
              "On this machine run tests.benchmarks.flux_cpu instead.", file=sys.stderr)
        return 2

    from layerlift.inference.engines.flux import memory
    from layerlift.inference.engines.flux.engine import DECOMPOSE_PROMPT, FluxEngine, RunState
    from layerlift.inference.errors import LayerliftError
    from layerlift.inference.triptych import decompose_triptych

    tiers = args.tiers or [t for t in memory.TIERS if t != "nf4" or memory.has_bitsandbytes()]
    print(f"GPU: {torch.cuda.get_device_name(0)}; model: {args.model or 'default'}; "
          f"lora: {args.lora or 'none (zero-shot triptych pass)'}; {args.steps} steps")
    print(f"{'tier':<8} {'S':>5} {'s/step':>8} {'s/image':>8} {'peak GiB':>9} "
          f"{'TFLOP/step':>11} {'bound s/step':>13} {'x bound':>8}")
    rng = np.random.default_rng(0)
    for tier in tiers:
        engine = FluxEngine()
        for s in args.sizes:
            comp = rng.integers(0, 255, (s, s, 3), dtype=np.uint8)
            mask = np.zeros((s, s), bool)
            mask[s // 3: 2 * s // 3, s // 4: 3 * s // 4] = True
            tri, fill = decompose_triptych(comp, mask)
            try:
                loaded = engine._load(args.model, "cuda", tier)
                engine._use_lora(loaded, args.lora, 1.0)
                stamps: list[float] = []

                def on_progress(step, total, preview=None, stamps=stamps):
                    torch.cuda.synchronize()
                    stamps.append(time.perf_counter())

                # One warm-up run (kernels, allocator), then the measured run.
                engine._fill(loaded, tri, fill, DECOMPOSE_PROMPT, 2, 0,
                             RunState(None, None, 1))
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                start = time.perf_counter()
                engine._fill(loaded, tri, fill, DECOMPOSE_PROMPT, args.steps, 0,
                             RunState(on_progress, None, 1))
                torch.cuda.synchronize()
                per_image = time.perf_counter() - start
            except torch.cuda.OutOfMemoryError:
                print(f"{tier:<8} {s:>5}  out of memory")
                engine.unload()
                continue
            except LayerliftError as exc:
                print(f"{tier:<8} {s:>5}  unavailable: {exc}")
                break
            per_step = float(np.median(np.diff(stamps))) if len(stamps) > 2 else float("nan")
            peak = torch.cuda.max_memory_allocated() / 2**30
            config = loaded.pipe.transformer.config
            tflop = transformer_tflop_per_step(config, 3 * (s // 16) ** 2, 512)
            bound = tflop / args.peak_tflops
            print(f"{tier:<8} {s:>5} {per_step:>8.3f} {per_image:>8.2f} {peak:>9.1f} "
                  f"{tflop:>11.1f} {bound:>13.3f} {per_step / bound:>8.1f}")
        engine.unload()
        del engine
        gc.collect()
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
