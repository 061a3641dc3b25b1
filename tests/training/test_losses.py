"""The objective as inference uses the model: fill region, shifted timesteps, cycle
reconstruction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from layerlift.inference.engines.flux.tiny import build_tiny_fill_pipeline, tiny_scheduler
from layerlift.training.config import TrainConfig
from layerlift.training.data import DataSource, Sample, find_sample_folders, make_example
from layerlift.training.losses import (
    fixed_set_cycle_loss,
    sample_sigmas,
    schedule_shift,
    training_loss,
)
from layerlift.training.model import FillModel, encode_task_prompts
from layerlift.training.trainer import train
from tests.training.conftest import make_sample


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLIFT_CACHE_DIR", str(tmp_path / "cache"))


def tiny_model(pipe=None) -> FillModel:
    prompts = encode_task_prompts(build_tiny_fill_pipeline(seed=0), torch.device("cpu"), 64)
    return FillModel(pipe or build_tiny_fill_pipeline(seed=0), prompts, torch.device("cpu"))


def one_batch(model: FillModel, data_dir: Path):
    source = DataSource(find_sample_folders([str(data_dir)]), 64, seed=0, augment=False)
    return model.inputs(source.batch(0, 0, 2, 1), torch.Generator().manual_seed(0))


def off_region_error(model: FillModel, seen: list):
    """A stand-in velocity: the exact flow target, plus 1 on every token outside the fill
    region. Records the sigmas it is called with."""
    def velocity(noisy, cond, sigma, inputs):
        seen.append(sigma.clone())
        s = sigma.view(-1, 1, 1)
        x0 = inputs.x0.float()
        noise = (noisy.float() - (1 - s) * x0) / s
        return noise - x0 + (1 - inputs.region)[..., None]
    model.velocity = velocity


def test_the_flow_loss_counts_only_the_tokens_inference_generates(data_dir):
    model = tiny_model()
    inputs = one_batch(model, data_dir)
    half = inputs.half
    compose_share = float(inputs.region[half:].mean())
    assert 0 < compose_share < 0.5      # compose generates a small part of its triptych
    off_region_error(model, [])
    gen = torch.Generator().manual_seed(0)
    fill = training_loss(model, inputs, gen, 0.0, loss_region="fill")
    assert fill.flow_decompose < 1e-6 and fill.flow_compose < 1e-6
    every = training_loss(model, inputs, gen, 0.0, loss_region="all")
    assert every.flow_compose == pytest.approx(1 - compose_share, rel=1e-4)


def test_training_timesteps_follow_the_inference_shift(data_dir):
    # the real FLUX.1-Fill-dev schedule at S = 512 and 768 (3072 and 6912 image tokens)
    config = tiny_scheduler().config
    gen = torch.Generator().manual_seed(0)
    for tokens, median in ((3072, 0.73), (6912, 0.84)):
        drawn = sample_sigmas(20_000, gen, schedule_shift(config, tokens))
        assert float(drawn.median()) == pytest.approx(median, abs=0.01)
    # the shift is the one the scheduler applies to the pipeline's inference steps
    scheduler = tiny_scheduler()
    mu = schedule_shift(config, 3072)
    plain = np.linspace(1.0, 1 / 28, 28)          # FluxFillPipeline's sigmas before the shift
    scheduler.set_timesteps(sigmas=plain, mu=mu)
    shifted = torch.sigmoid(torch.logit(torch.from_numpy(plain)) + mu).float()
    assert torch.allclose(scheduler.sigmas[:-1], shifted, atol=1e-5)
    # and training_loss draws its sigmas with it, by default
    model = tiny_model()
    inputs = one_batch(model, data_dir)
    for shift, expected in ((True, schedule_shift(config, inputs.x0.shape[1])), (False, 0.0)):
        seen: list = []
        off_region_error(model, seen)
        for _ in range(100):
            training_loss(model, inputs, gen, 0.0, timestep_shift=shift)
        median = float(torch.cat(seen).median())
        assert median == pytest.approx(float(torch.sigmoid(torch.tensor(expected))), abs=0.04)


def test_the_cycle_term_lowers_the_held_back_cycle_loss(tmp_path, data_dir):
    """Two LoRAs, trained alike but one with the cycle reconstruction, on the held-back
    cycle loss (samples never trained on, fixed noise and sigmas)."""
    held = [make_example(Sample(**make_sample(100 + i)), 32) for i in range(3)]

    def held_back_cycle_loss(cycle_weight: float) -> float:
        pipe = build_tiny_fill_pipeline(seed=0)
        out = tmp_path / f"w{cycle_weight}.safetensors"
        train(TrainConfig(data=[str(data_dir)], out=str(out), resolution=32, rank=4,
                          max_sequence_length=64, fixed_set_samples=1,
                          gradient_checkpointing=False, steps=60, lr=5e-3, cycle_start=0,
                          cycle_weight=cycle_weight, checkpoint_every=0, log_every=60),
              pipe=pipe)
        model = tiny_model(pipe)   # the trained transformer, its LoRA in place
        inputs = model.inputs(held, torch.Generator().manual_seed(0))
        return fixed_set_cycle_loss(model, inputs, seed=7)

    without, with_cycle = held_back_cycle_loss(0.0), held_back_cycle_loss(1.0)
    assert np.isfinite(without) and with_cycle < without, (without, with_cycle)
