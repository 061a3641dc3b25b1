"""The GPU benchmark (tests/benchmarks/flux_gpu.py --random-weights) run on CPU with a reduced
model of two blocks: every row it would measure on a GPU comes out, none with an error."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch

from tests.benchmarks import flux_gpu

REDUCED = ["--random-weights", "--device", "cpu", "--layers", "1", "--single-layers", "1",
           "--heads", "1", "--vae-width", "32", "--sizes", "64", "--steps", "2",
           "--compile", "off", "--train-steps", "1", "--peak-tflops", "1"]


def test_random_weight_benchmark_on_two_blocks(tmp_path):
    out = tmp_path / "rows.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert flux_gpu.main(REDUCED + ["--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["kind"], r["tier"]) for r in rows] == [
        ("sample", "gpu"), ("sample", "fp8"), ("sample", "group"), ("train", "gpu")]
    assert not [r["error"] for r in rows if "error" in r]
    step_tflop = flux_gpu.step_flops({"num_layers": 1, "num_single_layers": 1,
                                      "num_attention_heads": 1}, 64) / 1e12
    for row in rows:
        assert row["size"] == 64 and row["s_step"] > 0 and math.isfinite(row["x_bound"])
        assert row["peak_gib"] is None                    # no CUDA memory on the CPU
    for row in rows[:3]:
        assert row["tflop_step"] == step_tflop and row["s_image"] > row["s_step"]
        assert row["bound_s_step"] == step_tflop         # at 1 TFLOP/s
    # two triptychs, two passes (flow, cycle), each forward + recompute + backward
    assert rows[3]["tflop_step"] > 8 * step_tflop


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_says_so(capsys):
    assert flux_gpu.main(["--random-weights"]) == 2     # the default device is cuda
    assert "no CUDA GPU" in capsys.readouterr().err


def test_the_bound_uses_the_peak_the_device_name_says():
    assert flux_gpu.gpu_named("NVIDIA H200") == "h200"
    assert flux_gpu.gpu_named("NVIDIA A100-SXM4-80GB") == "a100"
    assert flux_gpu.gpu_named("NVIDIA GeForce RTX 4090") == "4090"
    assert flux_gpu.gpu_named("NVIDIA L40S") is None       # not an L40: a different peak
