"""The training run: data -> shared LoRA -> checkpoints, logs, and the LoRA file.

Everything random in a step (which samples, their augmentation, VAE sampling, noise, sigmas)
is drawn from generators seeded by (seed, step, micro-batch), so a run resumed from a
checkpoint (LoRA weights, optimizer state, step, logs; the global RNG states are saved and
restored too) repeats the uninterrupted run's numbers exactly on the CPU. On CUDA it repeats the
data, noise and timesteps, but not the last bits: attention's backward pass (and some other
kernels) add up in a nondeterministic order there, so two runs, resumed or not, drift apart
by rounding.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from layerlift.inference.engines.flux import memory
from layerlift.inference.errors import InputError, LayerliftError
from layerlift.inference.imageio import atomic_dir, atomic_write_bytes
from layerlift.training.config import RESUMABLE_OVERRIDES, TrainConfig
from layerlift.training.data import DataSource, find_sample_folders
from layerlift.training.losses import fixed_set_flow_loss, training_loss
from layerlift.training.model import (
    ADAPTER,
    FillModel,
    add_lora,
    enable_lora_grads,
    encode_task_prompts,
    load_for_training,
    load_lora_state,
)
from layerlift.training.plot import plot_losses

LOG_FIELDS = ("step", "loss", "flow_decompose", "flow_compose", "cycle", "cycle_weight",
              "fixed_set_loss", "lr", "seconds")
CHECKPOINT_PREFIX = "step-"
CHECKPOINT_FILES = ("lora.safetensors", "optimizer.pt", "rng.pt", "state.json")


@dataclass
class TrainResult:
    lora_path: Path
    run_dir: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[Path] = field(default_factory=list)

    @property
    def first_fixed_set_loss(self) -> float:
        return next(r["fixed_set_loss"] for r in self.rows if r["fixed_set_loss"] != "")

    @property
    def last_fixed_set_loss(self) -> float:
        return [r["fixed_set_loss"] for r in self.rows if r["fixed_set_loss"] != ""][-1]


def run_dir_for(out: str | Path) -> Path:
    """Logs, plot and checkpoints go beside the LoRA file, in `<stem>-run/`."""
    out = Path(out)
    return out.with_name(out.stem + "-run")


def step_seed(seed: int, *parts: int) -> int:
    return int(np.random.default_rng([seed, *parts]).integers(0, 2**62))


def train(config: TrainConfig, pipe=None, resume: str | Path | None = None,
          on_step: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Train the shared LoRA as `config` says; returns where things were written.

    `pipe`: an already-built FluxFillPipeline with its text encoders (tests, notebooks);
    otherwise config.model is loaded through the flux engine's loader.
    """
    state = None
    if resume is not None:
        ckpt = find_checkpoint(resume)
        state = json.loads((ckpt / "state.json").read_text())
        config = merge_resumed_config(state["config"], config)
        if state["step"] >= config.steps:
            raise InputError(f"the checkpoint is at step {state['step']}: give --steps above "
                             "that to train further")
    config.validate()
    out = Path(config.out).expanduser()
    if not out.parent.is_dir():
        raise InputError(f"output folder does not exist: {out.parent}")
    old_checkpoints = list((run_dir_for(out) / "checkpoints").glob(CHECKPOINT_PREFIX + "*"))
    if state is None and old_checkpoints:
        raise InputError(f"{run_dir_for(out)} holds checkpoints of an earlier run: continue it "
                         "with --resume, or choose another --out")
    folders = find_sample_folders(config.data) if config.data else []
    source = DataSource(folders, config.resolution, config.seed, config.stream, config.augment)

    if pipe is None:   # a bad --model is the one error line, before any device warning
        from layerlift.inference.engines.flux.loading import resolve_model
        resolve_model(config.model)
    # the engine's device choice (checked, cuda > mps > cpu), so both agree
    device = torch.device(memory.pick_device(config.device))
    use_bf16 = config.mixed_precision == "bf16" or (
        config.mixed_precision == "auto" and device.type == "cuda")
    if pipe is None:
        pipe, prompts = load_for_training(config.model, device,
                                          torch.bfloat16 if use_bf16 else torch.float32)
    else:
        prompts = encode_task_prompts(pipe, device, config.max_sequence_length)
    model = FillModel(pipe, prompts, device, config.mixed_precision, config.guidance)
    lora_config, params = add_lora(model.transformer, config.rank, config.lora_alpha,
                                   config.seed)
    if config.init_lora and state is None:
        load_lora_file(model.transformer, config.init_lora)
        params = enable_lora_grads(model.transformer)
    if config.gradient_checkpointing:
        model.transformer.enable_gradient_checkpointing()
    model.transformer.train()
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)

    run_dir = run_dir_for(out)
    run_dir.mkdir(exist_ok=True)
    rows: list[dict[str, Any]] = []
    start = 0
    if state is not None:
        load_checkpoint(ckpt, model.transformer, optimizer)
        rows = [r for r in state["rows"] if r["step"] <= state["step"]]
        start = state["step"]

    fixed_examples = source.fixed_set(config.fixed_set_samples)
    fixed_inputs = model.inputs(fixed_examples, torch.Generator().manual_seed(
        step_seed(config.seed, 4)))
    fixed_seed = step_seed(config.seed, 5)

    def fixed_set_loss() -> float:
        return fixed_set_flow_loss(model, fixed_inputs, fixed_seed,
                                   loss_region=config.loss_region)

    result = TrainResult(lora_path=out, run_dir=run_dir, rows=rows)
    if start == 0:
        row = {k: "" for k in LOG_FIELDS}
        row.update(step=0, fixed_set_loss=fixed_set_loss())
        rows.append(row)

    for step in range(start, config.steps):
        began = time.perf_counter()
        weight = config.cycle_weight if step >= config.cycle_start else 0.0
        sums = {"loss": 0.0, "flow_decompose": 0.0, "flow_compose": 0.0, "cycle": 0.0}
        for micro in range(config.grad_accum):
            examples = source.batch(step, micro, config.batch, config.grad_accum)
            generator = torch.Generator().manual_seed(step_seed(config.seed, 3, step, micro))
            inputs = model.inputs(examples, generator)
            parts = training_loss(model, inputs, generator, weight, config.cycle_space,
                                  config.loss_region, config.timestep_shift)
            if not torch.isfinite(parts.total):
                raise LayerliftError(f"the loss is {float(parts.total)} at step {step + 1}; "
                                     "lower --lr (the last checkpoint is untouched)")
            (parts.total / config.grad_accum).backward()
            sums["loss"] += float(parts.total.detach()) / config.grad_accum
            sums["flow_decompose"] += parts.flow_decompose / config.grad_accum
            sums["flow_compose"] += parts.flow_compose / config.grad_accum
            sums["cycle"] += parts.cycle / config.grad_accum
        if config.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        row = {"step": done, **sums, "cycle_weight": weight, "fixed_set_loss": "",
               "lr": optimizer.param_groups[0]["lr"],
               "seconds": round(time.perf_counter() - began, 4)}
        if done % config.log_every == 0 or done == config.steps:
            row["fixed_set_loss"] = fixed_set_loss()
        rows.append(row)
        if on_step is not None:
            on_step(row)
        if config.checkpoint_every and done % config.checkpoint_every == 0 \
                and done < config.steps:
            result.checkpoints.append(save_checkpoint(
                run_dir, done, config, model.transformer, lora_config, optimizer, rows))
            write_logs(run_dir, config, rows)

    result.checkpoints.append(save_checkpoint(
        run_dir, config.steps, config, model.transformer, lora_config, optimizer, rows))
    save_lora_file(model.transformer, lora_config, out)
    write_logs(run_dir, config, rows)
    return result


def merge_resumed_config(saved: dict[str, Any], given: TrainConfig) -> TrainConfig:
    """The checkpoint's settings, except those a resume may change (steps, out, ...).

    Any other setting given differently is refused: it would change the numbers.
    """
    merged = TrainConfig(**saved)
    defaults = TrainConfig()
    for name, value in given.to_dict().items():
        if name in RESUMABLE_OVERRIDES:
            if value != getattr(defaults, name):
                setattr(merged, name, value)
        elif value != getattr(defaults, name) and value != saved.get(name):
            raise InputError(f"--{name.replace('_', '-')} differs from the checkpoint's "
                             f"({saved.get(name)!r}); a resumed run keeps its settings")
    return merged


# --- checkpoints -------------------------------------------------------------------------

def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, or the newest one inside a run folder or its checkpoints/."""
    path = Path(path).expanduser()
    if (path / "state.json").is_file():
        return path
    for folder in (path / "checkpoints", path):
        if folder.is_dir():
            found = sorted(p for p in folder.glob(CHECKPOINT_PREFIX + "*")
                           if (p / "state.json").is_file())
            if found:
                return found[-1]
    raise InputError(f"no checkpoint found at {path}")


def save_checkpoint(run_dir: Path, step: int, config: TrainConfig, transformer, lora_config,
                    optimizer, rows: list[dict[str, Any]]) -> Path:
    """Write checkpoints/step-NNNNNNN/ atomically (temp folder, then rename)."""
    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{CHECKPOINT_PREFIX}{step:07d}"
    with atomic_dir(final, replace_ok=CHECKPOINT_FILES) as tmp:
        save_lora_file(transformer, lora_config, tmp / "lora.safetensors")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(rng_states(), tmp / "rng.pt")
        state = {"step": step, "config": config.to_dict(), "rows": rows}
        (tmp / "state.json").write_text(json.dumps(state, indent=1))
    prune_checkpoints(root, config.keep_checkpoints)
    return final


def prune_checkpoints(root: Path, keep: int) -> None:
    if keep <= 0:
        return
    found = sorted(root.glob(CHECKPOINT_PREFIX + "*"))
    for old in found[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def load_lora_file(transformer, path: str | Path) -> None:
    """Weights of a LoRA file written by this trainer into the (same-rank) adapter."""
    from safetensors.torch import load_file

    try:
        weights = load_file(str(path))
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot read LoRA {path}: {exc}") from None
    device = next(transformer.parameters()).device
    # The file holds diffusers names ("transformer." prefix); peft wants the bare module names.
    state = {k.removeprefix("transformer."): v.to(device) for k, v in weights.items()}
    try:
        load_lora_state(transformer, state)
    except (ValueError, RuntimeError) as exc:
        raise InputError(f"LoRA {path} does not fit this model and rank: "
                         f"{str(exc).splitlines()[0][:200]}") from None


def load_checkpoint(ckpt: Path, transformer, optimizer) -> None:
    try:
        opt_state = torch.load(ckpt / "optimizer.pt", weights_only=True)
        rng = torch.load(ckpt / "rng.pt", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise InputError(f"damaged checkpoint {ckpt}: {exc}") from None
    load_lora_file(transformer, ckpt / "lora.safetensors")
    enable_lora_grads(transformer)
    optimizer.load_state_dict(opt_state)
    restore_rng_states(rng)


def rng_states() -> dict[str, Any]:
    """Global RNG states (python, numpy, torch): the trainer does not draw from them, but code
    it calls might, so a resume restores them too."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "python": torch.tensor(internal, dtype=torch.int64), "python_version": version,
        "python_gauss": gauss,
        "numpy": torch.from_numpy(keys.astype(np.int64)), "numpy_pos": int(pos),
        "numpy_has_gauss": int(has_gauss), "numpy_cached": float(cached),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    random.setstate((states["python_version"], tuple(int(x) for x in states["python"]),
                     states["python_gauss"]))
    np.random.set_state(("MT19937", states["numpy"].numpy().astype(np.uint32),
                         states["numpy_pos"], states["numpy_has_gauss"],
                         states["numpy_cached"]))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


# --- outputs -----------------------------------------------------------------------------

def save_lora_file(transformer, lora_config, path: str | Path) -> None:
    """A diffusers-format LoRA .safetensors with adapter metadata (rank, alpha), atomically,
    written by the flux engine's own save_lora so the engine reads exactly this format."""
    from layerlift.inference.engines.flux.lora import save_lora

    save_lora(transformer, path, lora_config, adapter_name=ADAPTER)


def write_logs(run_dir: Path, config: TrainConfig, rows: list[dict[str, Any]]) -> None:
    """train_log.csv, train_log.json and loss.png in the run folder (each written atomically)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=LOG_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(run_dir / "train_log.csv", text.getvalue().encode())
    atomic_write_bytes(run_dir / "train_log.json", json.dumps(
        {"config": config.to_dict(), "rows": rows}, indent=1).encode())
    png = io.BytesIO()
    plot_losses(rows, png)
    atomic_write_bytes(run_dir / "loss.png", png.getvalue())
