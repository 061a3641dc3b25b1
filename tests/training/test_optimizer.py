"""The trainer optimizes the LoRA and nothing else: its optimizer holds exactly the LoRA
tensors (the checkpoint's optimizer state says so), and the base model's weights come out of a
run bit for bit as they went in."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from layerlift.inference.engines.flux.tiny import build_tiny_fill_pipeline
from layerlift.training.config import TrainConfig
from layerlift.training.trainer import train

TINY = {"resolution": 64, "rank": 4, "batch": 1, "max_sequence_length": 64,
        "gradient_checkpointing": False, "fixed_set_samples": 1}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLIFT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("start", ["fresh", "init-lora"])
def test_the_optimizer_holds_only_the_lora(tmp_path, data_dir, start):
    extra = {}
    if start == "init-lora":          # the path `improve` takes from its second round on
        first = tmp_path / "first.safetensors"
        train(TrainConfig(data=[str(data_dir)], out=str(first), steps=1, **TINY),
              pipe=build_tiny_fill_pipeline(seed=0))
        extra["init_lora"] = str(first)
    pipe = build_tiny_fill_pipeline(seed=0)
    base_before = {n: p.detach().clone() for n, p in pipe.transformer.named_parameters()}
    out = tmp_path / "lora.safetensors"
    result = train(TrainConfig(data=[str(data_dir)], out=str(out), steps=2, lr=5e-2,
                               weight_decay=0.5, **TINY, **extra), pipe=pipe)

    state = torch.load(result.run_dir / "checkpoints" / "step-0000002" / "optimizer.pt",
                       weights_only=True)
    in_optimizer = sum(len(group["params"]) for group in state["param_groups"])
    lora_tensors = len(load_file(str(out)))
    assert lora_tensors > 0 and in_optimizer == lora_tensors
    if start == "init-lora":          # and they are the tensors the run uses: the LoRA moved
        before, after = load_file(extra["init_lora"]), load_file(str(out))
        assert before.keys() == after.keys()
        assert any(not torch.equal(before[k], after[k]) for k in before)
    # The base weights (everything but the adapter) are untouched, weight decay included.
    for name, param in pipe.transformer.named_parameters():
        if "lora_" in name:
            continue
        key = name.replace(".base_layer", "")
        assert key in base_before, name
        assert torch.equal(param.detach(), base_before[key]), name
