"""Training settings: one dataclass with defaults, a config file (JSON or TOML), CLI overrides.

Precedence: defaults < config file < command-line flags. Every value is checked once, in
`TrainConfig.validate`, and bad values raise InputError with a one-line message.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from layerlift.inference.errors import InputError

DEFAULT_MODEL = "black-forest-labs/FLUX.1-Fill-dev"

# Settings that may differ between a checkpoint and the run that resumes it without
# changing the numbers the resumed run produces.
RESUMABLE_OVERRIDES = ("steps", "out", "checkpoint_every", "log_every", "keep_checkpoints")


@dataclass
class TrainConfig:
    model: str = DEFAULT_MODEL      # diffusers folder or Hugging Face cache id (offline)
    data: list[str] = field(default_factory=list)   # folders of samples
    out: str = "layerlift-lora.safetensors"
    steps: int = 2000               # optimizer steps
    resolution: int = 512           # panel side S (the triptych is S x 3S)
    rank: int = 32
    alpha: float | None = None      # LoRA alpha; None = rank (scale 1)
    lr: float = 1e-4
    batch: int = 1
    grad_accum: int = 1
    cycle_weight: float = 0.5
    cycle_start: int = 500          # optimizer step at which the cycle term starts
    cycle_space: str = "latent"     # latent: swap latent panels; pixel: VAE round trip
    loss_region: str = "fill"       # fill: average the loss over generated tokens; all: every
    timestep_shift: bool = True     # shift training sigmas as inference shifts its schedule
    seed: int = 0
    checkpoint_every: int = 250     # optimizer steps between checkpoints (0 = only at the end)
    keep_checkpoints: int = 3       # newest checkpoints kept on disk (0 = keep all)
    log_every: int = 10             # steps between log rows that also hold the fixed-set loss
    stream: float = 0.0             # fraction of samples drawn fresh from the generator
    augment: bool = True
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    guidance: float = 30.0          # FLUX.1-Fill-dev's default guidance
    max_sequence_length: int = 512  # T5 tokens, for a pipeline passed in (a loaded model
    #                                 uses the engine's prompt cache, always 512 like FLUX)
    gradient_checkpointing: bool = True
    mixed_precision: str = "auto"   # auto (bf16 on CUDA, fp32 elsewhere) | bf16 | fp32
    device: str | None = None       # cuda / mps / cpu; None = the best one here
    fixed_set_samples: int = 4      # samples in the fixed set (training samples, not held out)
    init_lora: str | None = None    # start from this LoRA file (same rank) instead of fresh

    def validate(self) -> None:
        if not self.data and self.stream <= 0:
            raise InputError("no training data: give --data DIR or --stream FRACTION")
        if not 0.0 <= self.stream <= 1.0:
            raise InputError(f"stream must be between 0 and 1, got {self.stream}")
        if self.steps < 1:
            raise InputError(f"steps must be at least 1, got {self.steps}")
        if self.resolution < 32 or self.resolution % 16 or self.resolution > 2048:
            raise InputError(
                f"resolution must be a multiple of 16 between 32 and 2048, got {self.resolution}")
        if not 1 <= self.rank <= 1024:
            raise InputError(f"rank must be between 1 and 1024, got {self.rank}")
        if self.alpha is not None and self.alpha <= 0:
            raise InputError(f"alpha must be positive, got {self.alpha}")
        if not 0 < self.lr < 1:
            raise InputError(f"lr must be between 0 and 1, got {self.lr}")
        for name in ("batch", "grad_accum", "log_every", "fixed_set_samples"):
            if getattr(self, name) < 1:
                raise InputError(f"{name.replace('_', '-')} must be at least 1")
        for name in ("cycle_start", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 0:
                raise InputError(f"{name.replace('_', '-')} must not be negative")
        if self.cycle_weight < 0:
            raise InputError(f"cycle-weight must not be negative, got {self.cycle_weight}")
        if self.cycle_space not in ("latent", "pixel"):
            raise InputError("cycle-space must be latent or pixel")
        if self.loss_region not in ("fill", "all"):
            raise InputError("loss-region must be fill or all")
        if self.mixed_precision not in ("auto", "bf16", "fp32"):
            raise InputError("mixed-precision must be auto, bf16 or fp32")
        if not str(self.out).endswith(".safetensors"):
            raise InputError(f"--out must name a .safetensors file, got {self.out}")

    @property
    def lora_alpha(self) -> float:
        return float(self.rank if self.alpha is None else self.alpha)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def field_names() -> set[str]:
    return {f.name for f in fields(TrainConfig)}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings in a JSON or TOML file (keys as the CLI flags, '-' or '_')."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".toml":
            raw = tomllib.loads(text)
        elif path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            raise InputError(f"config file must be .json or .toml: {path}")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"config file {path} does not parse: {exc}") from None
    if not isinstance(raw, dict):
        raise InputError(f"config file {path} must hold a table of settings")
    # A [train] table is accepted too, so the file can hold other sections later.
    raw = raw.get("train", raw)
    settings = {str(k).replace("-", "_"): v for k, v in raw.items()}
    unknown = sorted(set(settings) - field_names())
    if unknown:
        raise InputError(f"config file {path}: unknown setting {unknown[0]!r}")
    if isinstance(settings.get("data"), str):
        settings["data"] = [settings["data"]]
    return settings


def build_config(file_settings: dict[str, Any], overrides: dict[str, Any]) -> TrainConfig:
    """Defaults < file < overrides (None in overrides means 'not given')."""
    merged = dict(file_settings)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    defaults = TrainConfig()
    for name, value in merged.items():
        expected = type(getattr(defaults, name))
        if value is None or expected is type(None):
            continue
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            merged[name] = float(value)
        elif expected is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"setting {name!r} must be a list of folder names")
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise InputError(f"setting {name!r} must be {expected.__name__}, got {value!r}")
    config = TrainConfig(**merged)
    config.validate()
    return config
