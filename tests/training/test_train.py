"""The trainer on a tiny random FLUX Fill (CPU): loss, gradients, resume, LoRA file, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from layerlift.inference.engines.flux.lora import check_lora_file
from layerlift.inference.engines.flux.tiny import build_tiny_fill_pipeline
from layerlift.training.cli import main
from layerlift.training.config import TrainConfig
from layerlift.training.data import DataSource, find_sample_folders
from layerlift.training.losses import (
    cycled_condition,
    cycled_condition_pixels,
    cycled_target,
    noised,
    region_mse,
    training_loss,
)
from layerlift.training.model import FillModel, add_lora, encode_task_prompts
from layerlift.training.trainer import train
from tests.training.conftest import make_sample

TINY = {"resolution": 64, "rank": 4, "batch": 1, "max_sequence_length": 64,
        "gradient_checkpointing": False, "fixed_set_samples": 2}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLIFT_CACHE_DIR", str(tmp_path / "cache"))


def config(data_dir: Path, out: Path, **kw) -> TrainConfig:
    return TrainConfig(data=[str(data_dir)], out=str(out), **{**TINY, **kw})


def test_loss_falls_and_outputs_are_written(tmp_path, data_dir):
    out = tmp_path / "lora.safetensors"
    cfg = config(data_dir, out, steps=50, lr=5e-3, cycle_start=25, cycle_weight=1.0,
                 checkpoint_every=20, log_every=10)
    result = train(cfg, pipe=build_tiny_fill_pipeline(seed=0))
    first, last = result.first_fixed_set_loss, result.last_fixed_set_loss
    assert last < 0.9 * first, (first, last)
    rows = [r for r in result.rows if r["step"] > 0]
    assert len(rows) == 50
    assert all(r["cycle"] == 0 for r in rows[:25]) and all(r["cycle"] > 0 for r in rows[25:])
    # the LoRA file is what the flux engine accepts: diffusers keys, rank/alpha metadata
    meta = check_lora_file(out)
    assert meta["r"] == 4 and meta["lora_alpha"] == 4
    run = result.run_dir
    for name in ("train_log.csv", "train_log.json", "loss.png"):
        assert (run / name).is_file()
    assert Image.open(run / "loss.png").size == (800, 450)
    assert len(json.loads((run / "train_log.json").read_text())["rows"]) == 51
    assert [p.name for p in sorted((run / "checkpoints").iterdir())] == [
        "step-0000020", "step-0000040", "step-0000050"]


def lora_model(seed: int = 1) -> FillModel:
    pipe = build_tiny_fill_pipeline(seed=seed)
    model = FillModel(pipe, encode_task_prompts(pipe, torch.device("cpu"), 64),
                      torch.device("cpu"))
    add_lora(model.transformer, 4, 4.0, init_seed=0)
    with torch.no_grad():  # lora_B starts at zero, which would hide lora_A's gradient
        for name, p in model.transformer.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    return model


@pytest.mark.parametrize("direction", ["decompose", "compose", "cycle-latent", "cycle-pixel"])
def test_gradients_reach_only_lora_parameters(direction, data_dir):
    model = lora_model()
    source = DataSource(find_sample_folders([str(data_dir)]), 64, seed=0)
    gen = torch.Generator().manual_seed(0)
    inputs = model.inputs(source.batch(0, 0, 1, 1), gen)
    if direction.startswith("cycle"):
        # only the cycle term
        parts = training_loss(model, inputs, gen, 1.0, direction.removeprefix("cycle-"))
        loss = parts.total - (parts.flow_decompose + parts.flow_compose) / 2
    else:
        item = 0 if direction == "decompose" else 1  # items: [decompose, compose]
        noisy = inputs.x0[item:item + 1] * 0.5 + 0.5
        one = replace(inputs, prompt=inputs.prompt[item:item + 1],
                      pooled=inputs.pooled[item:item + 1])
        v = model.velocity(noisy, inputs.cond[item:item + 1], torch.tensor([0.5]), one)
        loss = (v ** 2).mean()
    loss.backward()
    with_grad = {n for n, p in model.transformer.named_parameters()
                 if p.grad is not None and p.grad.abs().sum() > 0}
    lora = {n for n, _ in model.transformer.named_parameters() if "lora_" in n}
    assert with_grad and with_grad <= lora
    assert with_grad == lora   # every LoRA tensor learns
    assert all(not p.requires_grad for n, p in model.transformer.named_parameters()
               if "lora_" not in n)
    assert all(not p.requires_grad for p in model.pipe.vae.parameters())


@pytest.mark.parametrize("space", ["latent", "pixel"])
def test_cycle_gradient_flows_back_through_the_first_pass(space, data_dir):
    """The cycle term reaches the first pass's prediction through the one-step estimate
    swapped into the other direction's condition (the cycled pass's clean latents hold it
    fixed, so the condition is the only way back)."""
    model = lora_model()
    source = DataSource(find_sample_folders([str(data_dir)]), 64, seed=0)
    gen = torch.Generator().manual_seed(0)
    inputs = model.inputs(source.batch(0, 0, 1, 1), gen)
    sigma = torch.tensor([0.3, 0.6])
    s = sigma.view(-1, 1, 1)
    noisy = (1 - s) * inputs.x0 + s * torch.randn(inputs.x0.shape, generator=gen)
    v = model.velocity(noisy, inputs.cond, sigma, inputs)
    estimate = noisy - s * v
    if space == "pixel":
        cond = cycled_condition_pixels(model, estimate, inputs, gen)
    else:
        cond = cycled_condition(inputs.cond, estimate, inputs)
    x0_cyc = cycled_target(inputs.x0, cond, inputs)
    noise = torch.randn(inputs.x0.shape, generator=gen)
    v_cyc = model.velocity(noised(x0_cyc, noise, sigma), cond, sigma, inputs)
    cycle = region_mse(v_cyc, noise - x0_cyc, inputs.region).mean()
    (grad_v,) = torch.autograd.grad(cycle, v)
    half = inputs.half
    # decompose's prediction feeds compose's condition and back: both halves get gradient
    assert grad_v[:half].abs().sum() > 0 and grad_v[half:].abs().sum() > 0


def test_resume_reproduces_the_uninterrupted_run(tmp_path, data_dir):
    common = dict(steps=6, lr=5e-3, cycle_start=2, cycle_weight=1.0, grad_accum=2,
                  checkpoint_every=3, log_every=2, keep_checkpoints=0)
    full = train(config(data_dir, tmp_path / "full.safetensors", **common),
                 pipe=build_tiny_fill_pipeline(seed=0))
    half = full.run_dir / "checkpoints" / "step-0000003"
    assert half.is_dir()
    resumed = train(config(data_dir, tmp_path / "resumed.safetensors", **common),
                    pipe=build_tiny_fill_pipeline(seed=0), resume=half)
    a = load_file(str(tmp_path / "full.safetensors"))
    b = load_file(str(tmp_path / "resumed.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed LoRA differs"

    def numbers(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert numbers(resumed.rows) == numbers(full.rows)
    # a changed setting would change the numbers: refused
    with pytest.raises(Exception, match="differs from the checkpoint"):
        train(config(data_dir, tmp_path / "x.safetensors", **{**common, "lr": 1e-3}),
              pipe=build_tiny_fill_pipeline(seed=0), resume=half)


def test_written_lora_changes_the_pipeline_output(tmp_path, data_dir):
    out = tmp_path / "lora.safetensors"
    train(config(data_dir, out, steps=8, lr=5e-3, cycle_start=0),
          pipe=build_tiny_fill_pipeline(seed=0))
    pipe = build_tiny_fill_pipeline(seed=0)
    image = Image.fromarray(np.full((64, 192, 3), 128, np.uint8))
    mask = Image.fromarray(np.pad(np.full((64, 64), 255, np.uint8), ((0, 0), (64, 64))))

    def run() -> np.ndarray:
        return pipe(prompt="logo", image=image, mask_image=mask, height=64, width=192,
                    num_inference_steps=2, generator=torch.Generator().manual_seed(0),
                    max_sequence_length=64, output_type="np").images[0]

    before = run()
    pipe.load_lora_weights(str(out), adapter_name="trained")
    after = run()
    assert np.abs(after - before).max() > 1e-3
    pipe.set_adapters(["trained"], adapter_weights=[0.0])
    assert np.allclose(run(), before, atol=1e-5)


def hand_built_folder(folder: Path) -> Path:
    """A FLUX Fill diffusers folder in the standard layout, written component by component
    (not by save_pretrained of a pipeline, not by the trainer)."""
    from layerlift.inference.engines.flux import tiny

    torch.manual_seed(5)
    clip, clip_tok = tiny.tiny_clip()
    t5, t5_tok = tiny.tiny_t5()
    parts = {"transformer": tiny.tiny_transformer(), "vae": tiny.tiny_vae(),
             "scheduler": tiny.tiny_scheduler(), "text_encoder": clip, "tokenizer": clip_tok,
             "text_encoder_2": t5, "tokenizer_2": t5_tok}
    for name, part in parts.items():
        part.save_pretrained(folder / name)
    index = {"_class_name": "FluxFillPipeline", "_diffusers_version": "0.32.0",
             "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
             "text_encoder": ["transformers", "CLIPTextModel"],
             "text_encoder_2": ["transformers", "T5EncoderModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"],
             "tokenizer_2": ["transformers", "T5Tokenizer"],
             "transformer": ["diffusers", "FluxTransformer2DModel"],
             "vae": ["diffusers", "AutoencoderKL"]}
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def test_cli_trains_from_a_foreign_diffusers_folder(tmp_path, data_dir, capsys):
    model = hand_built_folder(tmp_path / "flux-fill")
    out = tmp_path / "lora.safetensors"
    cfg = tmp_path / "train.toml"
    cfg.write_text('resolution = 64\nrank = 4\nsteps = 3\ncycle_start = 1\nlr = 1e-3\n'
                   'gradient_checkpointing = true\nlog_every = 1\n')
    code = main(["--config", str(cfg), "--model", str(model), "--data", str(data_dir),
                 "--out", str(out), "--steps", "2", "--checkpoint-every", "1"])
    assert code == 0, capsys.readouterr().err
    assert check_lora_file(out)["r"] == 4
    log = json.loads((tmp_path / "lora-run" / "train_log.json").read_text())
    assert log["config"]["steps"] == 2 and log["config"]["resolution"] == 64
    # resume from the run folder and go two steps further
    code = main(["--resume", str(tmp_path / "lora-run"), "--steps", "4"])
    assert code == 0, capsys.readouterr().err
    log = json.loads((tmp_path / "lora-run" / "train_log.json").read_text())
    assert [r["step"] for r in log["rows"]] == [0, 1, 2, 3, 4]
    # a fresh run over an earlier one's checkpoints would mix them up: refused
    assert main(["--config", str(cfg), "--model", str(model), "--data", str(data_dir),
                 "--out", str(out)]) == 2
    assert "holds checkpoints of an earlier run" in capsys.readouterr().err
    # nothing left to do: refused with one line
    assert main(["--resume", str(tmp_path / "lora-run"), "--steps", "4"]) == 2
    assert "checkpoint is at step 4" in capsys.readouterr().err.strip().splitlines()[-1]


def test_written_lora_loads_in_the_flux_engine_and_changes_its_output(tmp_path, data_dir,
                                                                      tiny_model_dir):
    from layerlift.inference import DecomposeRequest, decompose
    from layerlift.inference.engines import get_engine

    out = tmp_path / "lora.safetensors"
    train(TrainConfig(model=str(tiny_model_dir), data=[str(data_dir)], out=str(out), steps=6,
                      lr=5e-3, cycle_start=0, resolution=64, rank=4,
                      gradient_checkpointing=False, fixed_set_samples=1))
    sample = make_sample(11)

    def run(scale: float):
        return decompose(DecomposeRequest(
            image=sample["composite"], mask=sample["mask"], engine="flux", steps=2, size=64,
            model=str(tiny_model_dir), lora=str(out), lora_scale=scale, device="cpu"))

    try:
        off, on = run(0.0), run(1.0)
    finally:
        get_engine("flux").unload()
    assert on.meta["mode"] == "lora" and on.meta["lora"]["file"] == str(out)
    inside = sample["mask"]
    assert np.abs(on.object.astype(int) - off.object)[inside].max() > 0
    assert np.array_equal(on.object[~inside], sample["composite"][~inside])


def test_trains_on_streamed_samples_only(tmp_path):
    out = tmp_path / "lora.safetensors"
    cfg = TrainConfig(out=str(out), stream=1.0, steps=2, cycle_start=1, cycle_space="pixel",
                      **{**TINY, "batch": 2})
    result = train(cfg, pipe=build_tiny_fill_pipeline(seed=0))
    assert [r["step"] for r in result.rows] == [0, 1, 2] and out.is_file()
    assert result.rows[1]["cycle"] == 0 and result.rows[2]["cycle"] > 0


def test_lora_grads_are_restored_after_an_adapter_switch():
    """STACK-NOTES pitfall: adding or switching adapters resets requires_grad; the trainer
    re-enables it on every lora_ parameter by name, which is also how it builds its optimizer."""
    from peft import LoraConfig

    from layerlift.training.model import enable_lora_grads

    pipe = build_tiny_fill_pipeline(seed=0)
    _, params = add_lora(pipe.transformer, 4, 4.0, init_seed=0)
    pipe.transformer.add_adapter(LoraConfig(r=2, lora_alpha=2, target_modules=["to_q"]),
                                 adapter_name="other")
    assert not any(p.requires_grad for p in params)      # the pitfall
    again = enable_lora_grads(pipe.transformer)
    assert all(p.requires_grad for p in params)
    names = {n for n, p in pipe.transformer.named_parameters() if p.requires_grad}
    assert names == {n for n, _ in pipe.transformer.named_parameters() if "lora_" in n}
    assert len(again) == len(names)


def test_resample_moves_a_panel_from_one_crop_onto_another():
    """crop_maps + resample: a panel cut to one box, moved onto another box's grid, matches
    the panel cut to that box directly (where the boxes overlap); elsewhere the fallback."""
    from layerlift.inference.crop import CropBox, extract
    from layerlift.training.losses import resample
    from layerlift.training.model import crop_maps

    yy, xx = np.mgrid[0:200, 0:200].astype(np.float32)
    photo = np.stack([xx, yy, 0.5 * (xx + yy)], axis=2)      # smooth: bilinear is exact-ish
    big, small = CropBox(20, 30, 160), CropBox(60, 70, 64)
    size = 32

    def as_tensor(img):
        return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]

    cut_big, cut_small = (as_tensor(extract(photo, b, size)) for b in (big, small))
    moved = resample(cut_big, crop_maps([big], [small]), torch.zeros_like(cut_small))
    assert (moved - cut_small).abs().max() < 1.0     # photo units (0-200)
    # the other way: the small crop covers only part of the big one; the rest is fallback
    fallback = torch.full_like(cut_big, -1.0)
    back = resample(cut_small, crop_maps([small], [big]), fallback)
    inside = back[0, 0] != -1.0
    assert 0 < inside.float().mean() < 0.5
    assert (back - cut_big)[0, :, inside].abs().max() < 3.0
    # the same box: nothing moves
    same = resample(cut_big, crop_maps([big], [big]), fallback)
    assert torch.allclose(same, cut_big, atol=1e-3)


def test_latent_cycle_swap_lands_on_the_receiving_crop(data_dir):
    """With equal crops the cycled condition is the plain panel swap; with the engine's
    (different) crops, the swapped-in panel is resampled, so it differs from the plain swap."""
    from layerlift.training.losses import panels

    model = lora_model()
    source = DataSource(find_sample_folders([str(data_dir)]), 64, seed=0, augment=False)
    inputs = model.inputs(source.batch(0, 0, 1, 1), torch.Generator().manual_seed(0))
    estimate = torch.randn(inputs.x0.shape, generator=torch.Generator().manual_seed(1))
    identity = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    plain = replace(inputs, to_compose=identity, to_decompose=identity)
    dim, half = inputs.latent_dim, inputs.half
    swapped = panels(cycled_condition(inputs.cond, estimate, plain)[..., :dim], inputs)
    est = panels(estimate, inputs)
    assert torch.allclose(swapped[:half, :, 0], est[half:, :, 2], atol=1e-5)
    assert torch.allclose(swapped[half:, :, 0:2], est[:half, :, 1:3], atol=1e-5)
    moved = panels(cycled_condition(inputs.cond, estimate, inputs)[..., :dim], inputs)
    assert not torch.allclose(moved[half:, :, 0:2], est[:half, :, 1:3], atol=1e-3)
    # the fill-mask channels are never touched
    full = cycled_condition(inputs.cond, estimate, inputs)
    assert torch.equal(full[..., dim:], inputs.cond[..., dim:])


def test_training_position_ids_are_exact_in_bf16(data_dir):
    """The trainer's image ids are float32 even when the model runs in bfloat16 (which would
    merge token columns above 256 at S > 1360), and are the engine pipeline's ids."""
    from layerlift.inference.engines.flux.pipeline import image_ids

    pipe = build_tiny_fill_pipeline(seed=0).to(torch.bfloat16)
    model = FillModel(pipe, encode_task_prompts(pipe, torch.device("cpu"), 64),
                      torch.device("cpu"), mixed_precision="bf16")
    source = DataSource(find_sample_folders([str(data_dir)]), 64, seed=0, augment=False)
    inputs = model.inputs(source.batch(0, 0, 1, 1), torch.Generator().manual_seed(0))
    assert inputs.img_ids.dtype == torch.float32
    assert torch.equal(inputs.img_ids, image_ids(inputs.rows, 3 * inputs.panel_cols, "cpu"))
