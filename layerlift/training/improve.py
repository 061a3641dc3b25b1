"""`layerlift train improve`: the self-improving data loop.

Each round:
  1. decompose every unlabeled composite (photo + mask) with the current LoRA through the flux
     engine (inference.decompose, engine "flux"), with several seeds; the seed with the lowest
     candidate_score (the engine's own ranking: its rebuild error with a LoRA, the fill error
     on known surface zero-shot) is the candidate;
  2. compose the candidate's layers back through the engine (inference.compose): the cycle
     error is that recomposition against the input, inside the mask;
  3. score it with every filter; a candidate is kept when it passes all of them;
  4. the kept ones become training samples (composite, mask, object, logo) beside the given
     data, and the LoRA is trained further on them (starting from the current LoRA);
  5. the selection rate (kept / candidates) and the filters' scores are logged per round.

Filters are plain classes with `name`, `threshold` and `score(candidate) -> float` (lower is
better, kept when score <= threshold). Add your own (a vision-language judge, say) with
`--filter package.module:ClassName` or the `filters=` argument of `improve`.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from layerlift.inference.contract import ComposeRequest, DecomposeRequest, Layers
from layerlift.inference.errors import InputError
from layerlift.inference.imageio import atomic_write_bytes
from layerlift.inference.synth import Triplet, write_triplet
from layerlift.training.config import TrainConfig
from layerlift.training.data import data_root, folders_holding, stream_size

MASK_SUFFIX = ".mask.png"    # IMAGE.png + IMAGE.mask.png, as `layerlift batch` reads them
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


# --- candidates and filters -------------------------------------------------------------

@dataclass
class Candidate:
    """One unlabeled composite and what the current LoRA made of it."""

    name: str
    image: np.ndarray                 # HxWx3 uint8
    mask: np.ndarray                  # HxW bool
    layers: Layers                    # the chosen seed's layers
    others: list[Layers] = field(default_factory=list)   # the other seeds' layers
    recomposed: np.ndarray | None = None                 # compose(layers) through the model


class CandidateFilter(Protocol):
    name: str
    threshold: float

    def score(self, candidate: Candidate) -> float: ...


def _inside(diff: np.ndarray, mask: np.ndarray) -> float:
    values = diff[mask]
    return float(values.mean()) if values.size else 0.0


class CycleError:
    """Mean |compose(decompose(I)) - I| inside the mask, in [0, 1]: the layers composed back
    through the model against the input. Needs the recomposition (no --no-recompose)."""

    name = "cycle_error"

    def __init__(self, threshold: float = 0.06) -> None:
        self.threshold = threshold

    def score(self, c: Candidate) -> float:
        if c.recomposed is None:
            raise InputError("the cycle_error filter needs the layers composed back "
                             "(drop --no-recompose)")
        diff = np.abs(c.recomposed.astype(np.float32) - c.image).mean(axis=2) / 255.0
        return _inside(diff, c.mask)


class AlphaSanity:
    """1 when the logo covers almost none or almost all of the mask (nothing found, or the
    whole masked area called 'logo'); else how speckled its alpha is: the mean distance of
    alpha from its 3x3 median inside the mask. A print's alpha is smooth with sharp edges
    (opaque ink, or an even watermark), which a median keeps; speckle it does not."""

    name = "alpha_sanity"

    def __init__(self, threshold: float = 0.05, coverage: tuple[float, float] = (0.01, 0.97)):
        self.threshold = threshold
        self.coverage = coverage

    def score(self, c: Candidate) -> float:
        alpha = c.layers.logo[..., 3]
        a = alpha[c.mask].astype(np.float32) / 255.0
        if a.size == 0:
            return 1.0
        covered = float((a > 0.1).mean())
        if not self.coverage[0] <= covered <= self.coverage[1]:
            return 1.0
        speckle = np.abs(alpha.astype(np.float32) - cv2.medianBlur(alpha, 3)) / 255.0
        return _inside(speckle, c.mask)


class OutsideChange:
    """Largest change of the object outside the mask, in [0, 1]. The core API forces this to
    0; the filter guards other decomposers plugged into the loop."""

    name = "outside_change"

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold

    def score(self, c: Candidate) -> float:
        outside = ~c.mask
        if not outside.any():
            return 0.0
        diff = np.abs(c.layers.object.astype(np.int16) - c.image)[outside]
        return float(diff.max()) / 255.0


def _gradient(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude; over all channels of a colour image (a mark of another hue but
    the surface's lightness has edges in colour only)."""
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    squared = gx * gx + gy * gy
    return np.sqrt(squared.sum(axis=2) if squared.ndim == 3 else squared)


class LogoResidue:
    """How much of the logo's outline is still in the object: edge energy of the object
    along the logo's edges (where alpha changes), relative to the input's there, over the
    colour channels (a mark as light as its surface has its edges in colour only). 0 =
    clean, 1 = the logo's edges are all still there."""

    name = "logo_residue"

    def __init__(self, threshold: float = 0.35) -> None:
        self.threshold = threshold

    def score(self, c: Candidate) -> float:
        alpha = c.layers.logo[..., 3].astype(np.float32) / 255.0
        edges = _gradient(alpha) * c.mask
        if edges.sum() <= 1e-6:
            return 0.0
        before = float((_gradient(c.image.astype(np.float32)) * edges).sum())
        after = float((_gradient(c.layers.object.astype(np.float32)) * edges).sum())
        return min(1.0, after / before) if before > 1e-6 else 0.0


class SeedAgreement:
    """Mean |object(seed a) - object(seed b)| inside the mask over the seeds tried, in [0, 1]:
    a model that knows the answer gives the same one for every seed."""

    name = "seed_agreement"

    def __init__(self, threshold: float = 0.08) -> None:
        self.threshold = threshold

    def score(self, c: Candidate) -> float:
        if not c.others:
            return 0.0
        diffs = [np.abs(o.object.astype(np.float32) - c.layers.object).mean(axis=2) / 255.0
                 for o in c.others]
        return float(np.mean([_inside(d, c.mask) for d in diffs]))


def default_filters(recompose: bool = True) -> list[CandidateFilter]:
    """The built-in filters; without a recomposition there is no cycle to measure."""
    cycle: list[CandidateFilter] = [CycleError()] if recompose else []
    return cycle + [AlphaSanity(), OutsideChange(), LogoResidue(), SeedAgreement()]


def load_filter(spec: str) -> CandidateFilter:
    """`package.module:ClassName` -> an instance (constructed without arguments)."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise InputError(f"--filter must be package.module:ClassName, got {spec!r}")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot load filter {spec}: {exc}") from None
    made = cls()
    for attr in ("name", "threshold", "score"):
        if not hasattr(made, attr):
            raise InputError(f"filter {spec} has no {attr!r}")
    return made


# --- unlabeled input --------------------------------------------------------------------

@dataclass
class Unlabeled:
    name: str
    image: np.ndarray
    mask: np.ndarray


def find_unlabeled(roots: list[str]) -> list[Path]:
    """Sample folders (composite.png + mask.png) and IMAGE + IMAGE.mask.png pairs."""
    items: list[Path] = []
    for root in roots:
        path = data_root(root, "unlabeled")
        found = folders_holding(path, ("composite.png", "mask.png"))
        found += sorted(p for p in path.rglob("*")
                        if p.suffix.lower() in IMAGE_SUFFIXES
                        and not p.name.lower().endswith(MASK_SUFFIX)
                        and p.name not in ("composite.png", "mask.png", "object.png",
                                           "logo.png")
                        and p.with_name(p.stem + MASK_SUFFIX).is_file())
        if not found:
            raise InputError(f"no composites with masks under {root} (folders with "
                             f"composite.png + mask.png, or IMAGE + IMAGE{MASK_SUFFIX})")
        items.extend(found)
    return items


def read_unlabeled(path: Path) -> Unlabeled:
    from layerlift.inference.imageio import load_image, load_mask

    if path.is_dir():
        image = load_image(path / "composite.png")
        mask = load_mask(path / "mask.png", image.shape)
        return Unlabeled(path.name, image, mask)
    image = load_image(path)
    mask = load_mask(path.with_name(path.stem + MASK_SUFFIX), image.shape)
    return Unlabeled(path.stem, image, mask)


def generated_unlabeled(count: int, seed: int, size: int) -> list[Unlabeled]:
    """Composites + masks from the synthetic generator (their ground truth is not used)."""
    from layerlift.training.data import generated_sample

    out = []
    for i in range(count):
        sample = generated_sample(seed + i, size=size)
        out.append(Unlabeled(f"generated-{seed + i:06d}", sample.composite, sample.mask))
    return out


# --- the loop -----------------------------------------------------------------------------

@dataclass
class ImproveSettings:
    unlabeled: list[str] = field(default_factory=list)
    generate: int = 0               # extra generated composites per round pool
    rounds: int = 3
    steps_per_round: int = 500
    seeds: int = 2                  # seeds per composite (agreement needs at least 2)
    sample_steps: int = 28          # sampling steps of each decomposition / composition
    recompose: bool = True          # measure the cycle by composing back through the model
    lora: str | None = None         # LoRA to start from (None: zero-shot first round)
    work_dir: str | None = None     # default: <out stem>-improve/ beside --out


Decomposer = Callable[[np.ndarray, np.ndarray, int, str | None], Layers]
Composer = Callable[[np.ndarray, np.ndarray, int, str | None], np.ndarray]


def engine_decomposer(config: TrainConfig, steps: int) -> tuple[Decomposer, Composer]:
    """Decompose / compose through the core API with the flux engine and the given LoRA."""
    from layerlift.inference.api import compose, decompose

    def run_decompose(image, mask, seed, lora):
        return decompose(DecomposeRequest(
            image=image, mask=mask, engine="flux", seed=seed, steps=steps,
            size=config.resolution, model=config.model, lora=lora, device=config.device))

    def run_compose(obj, logo, seed, lora):
        return compose(ComposeRequest(
            object=obj, logo=logo, engine="flux", seed=seed, steps=steps,
            size=config.resolution, model=config.model, lora=lora, device=config.device))

    return run_decompose, run_compose


def release_engine() -> None:
    """Free the flux engine's pipeline before training loads its own copy (GPU memory)."""
    from layerlift.inference.engines import get_engine

    get_engine("flux").unload()


@dataclass
class RoundLog:
    round: int
    candidates: int
    kept: int
    selection_rate: float
    lora_used: str | None
    lora_out: str | None
    passed: dict[str, int]
    mean_scores: dict[str, float]
    fixed_set_loss: float | None


def improve(settings: ImproveSettings, config: TrainConfig, pipe_factory=None,
            filters: list[CandidateFilter] | None = None,
            decomposer: tuple[Decomposer, Composer] | None = None,
            on_round: Callable[[RoundLog], None] | None = None) -> list[RoundLog]:
    """Run the rounds; returns one log entry per round and writes config.out at the end.

    pipe_factory: builds a FluxFillPipeline for each round's training (tests); by default the
    trainer loads config.model itself.
    """
    from layerlift.training.trainer import train

    if settings.rounds < 1 or settings.steps_per_round < 1 or settings.seeds < 1:
        raise InputError("rounds, steps-per-round and seeds must be at least 1")
    if not settings.unlabeled and settings.generate < 1:
        raise InputError("nothing to improve on: give --unlabeled DIR or --generate N")
    out = Path(config.out).expanduser()
    if not out.parent.is_dir():
        raise InputError(f"output folder does not exist: {out.parent}")
    if settings.lora and not Path(settings.lora).is_file():
        raise InputError(f"no such LoRA file: {settings.lora}")
    work = Path(settings.work_dir) if settings.work_dir else out.with_name(out.stem + "-improve")
    paths = find_unlabeled(settings.unlabeled) if settings.unlabeled else []
    pool = [read_unlabeled(p) for p in paths]
    pool += generated_unlabeled(settings.generate, config.seed + 500_000,
                                stream_size(config.resolution)) if settings.generate else []
    filters = default_filters(settings.recompose) if filters is None else filters
    if not settings.recompose and any(isinstance(f, CycleError) for f in filters):
        raise InputError("the cycle_error filter needs the layers composed back, which "
                         "--no-recompose skips")
    run_decompose, run_compose = decomposer or engine_decomposer(config, settings.sample_steps)
    work.mkdir(parents=True, exist_ok=True)
    accepted_dir = work / "accepted"
    accepted_dir.mkdir(exist_ok=True)

    current = settings.lora
    logs: list[RoundLog] = []
    for r in range(1, settings.rounds + 1):
        round_dir = work / f"round-{r:02d}"
        round_dir.mkdir(exist_ok=True)
        scores_rows = []
        kept = 0
        used = current
        for index, item in enumerate(pool):
            candidate = make_candidate(item, run_decompose, run_compose, current, settings,
                                       seed=config.seed + 1000 * r)
            scores = {f.name: float(f.score(candidate)) for f in filters}
            ok = all(scores[f.name] <= f.threshold for f in filters)
            scores_rows.append({"name": item.name, "kept": ok, **scores})
            if ok:
                kept += 1
                # the pool index keeps names from different folders apart
                write_sample(accepted_dir / f"{index:05d}-{item.name}", candidate)
        write_rows(round_dir / "scores.csv", scores_rows)
        release_engine()
        data = list(config.data) + ([str(accepted_dir)] if any(accepted_dir.iterdir()) else [])
        lora_out, val = None, None
        if data:
            round_lora = round_dir / "lora.safetensors"
            round_config = replace(config, data=data, out=str(round_lora),
                                   steps=settings.steps_per_round, seed=config.seed + r,
                                   init_lora=current,
                                   # a LoRA that already learned the task needs no warm-up
                                   cycle_start=0 if current else config.cycle_start)
            pipe = pipe_factory() if pipe_factory else None
            result = train(round_config, pipe=pipe)
            current, lora_out = str(round_lora), str(round_lora)
            val = result.last_fixed_set_loss
        log = RoundLog(
            round=r, candidates=len(pool), kept=kept,
            selection_rate=kept / len(pool) if pool else 0.0,
            lora_used=used, lora_out=lora_out,
            passed={f.name: sum(row[f.name] <= f.threshold for row in scores_rows)
                    for f in filters},
            mean_scores={f.name: float(np.mean([row[f.name] for row in scores_rows]))
                         for f in filters},
            fixed_set_loss=val)
        logs.append(log)
        write_improve_log(work, logs)
        if on_round is not None:
            on_round(log)
    if current is None:
        raise InputError("no round had training data (nothing kept and no --data), so no "
                         "LoRA was trained")
    atomic_write_bytes(out, Path(current).read_bytes())
    return logs


def make_candidate(item: Unlabeled, run_decompose: Decomposer, run_compose: Composer,
                   lora: str | None, settings: ImproveSettings, seed: int) -> Candidate:
    """Decompose with every seed; the one with the lowest candidate_score (the engine's own
    ranking) is the candidate, composed back when settings.recompose."""
    runs = [run_decompose(item.image, item.mask, seed + k, lora) for k in range(settings.seeds)]
    runs.sort(key=lambda layers: float(layers.meta["candidate_score"]))
    best, others = runs[0], runs[1:]
    recomposed = None
    if settings.recompose:
        recomposed = run_compose(best.object, best.logo, seed, lora)
    return Candidate(item.name, item.image, item.mask, best, others, recomposed)


def write_sample(folder: Path, c: Candidate) -> None:
    """The candidate as a training sample folder (the generator's layout), written atomically."""
    write_triplet(Triplet(composite=c.image, logo=c.layers.logo, object=c.layers.object,
                          mask=c.mask, meta={"source": c.name}), folder)


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    """The rows as CSV (header from the first row's keys); empty for no rows."""
    if not rows:
        return b""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the rows as a CSV file atomically (the old file stays whole if this fails)."""
    atomic_write_bytes(path, csv_bytes(rows))


def write_improve_log(work: Path, logs: list[RoundLog]) -> None:
    rows = [vars(log) for log in logs]
    atomic_write_bytes(work / "improve_log.json", json.dumps(rows, indent=1).encode())
    flat = [{k: v for k, v in row.items() if not isinstance(v, dict)} for row in rows]
    write_rows(work / "improve_log.csv", flat)


# --- CLI ----------------------------------------------------------------------------------

def improve_parser(parser_class, add_training_flags) -> argparse.ArgumentParser:
    parser = parser_class(
        prog="layerlift train improve",
        description="Self-improving loop: decompose unlabeled composites with the current "
                    "LoRA, keep the candidates every filter accepts, train on them, repeat.")
    add_training_flags(parser)
    a = parser.add_argument
    a("--unlabeled", action="append", metavar="DIR",
      help="composites with masks (composite.png + mask.png folders, or IMAGE + "
           "IMAGE.mask.png); repeatable")
    a("--generate", type=int, default=0, metavar="N",
      help="also use N generated composites (synthetic generator)")
    a("--lora", help="LoRA to start from (default: zero-shot in the first round)")
    a("--rounds", type=int, default=3)
    a("--steps-per-round", type=int, default=500)
    a("--seeds", type=int, default=2, help="seeds per composite (for agreement)")
    a("--sample-steps", type=int, default=28, help="sampling steps per generation")
    a("--no-recompose", dest="recompose", action="store_false",
      help="skip composing back (faster; drops the cycle_error filter)")
    a("--filter", action="append", default=[], metavar="MODULE:CLASS",
      help="an extra filter class (name, threshold, score(candidate)); repeatable")
    a("--threshold", action="append", default=[], metavar="NAME=VALUE",
      help="change a filter's threshold, e.g. cycle_error=0.05; repeatable")
    a("--work-dir", help="rounds, scores and accepted samples (default <out>-improve/)")
    return parser


def run_from_args(args: argparse.Namespace, config: TrainConfig) -> int:
    settings = ImproveSettings(
        unlabeled=args.unlabeled or [], generate=args.generate, rounds=args.rounds,
        steps_per_round=args.steps_per_round, seeds=args.seeds,
        sample_steps=args.sample_steps, recompose=args.recompose, lora=args.lora,
        work_dir=args.work_dir)
    filters = default_filters(args.recompose) + [load_filter(spec) for spec in args.filter]
    by_name = {f.name: f for f in filters}
    for item in args.threshold:
        name, _, value = item.partition("=")
        if name not in by_name:
            raise InputError(f"--threshold: no filter named {name!r} "
                             f"(filters: {', '.join(by_name)})")
        try:
            by_name[name].threshold = float(value)
        except ValueError:
            raise InputError(f"--threshold {item}: not a number") from None
    # The data may come only from the loop itself, so the training checks run per round.
    check = replace(config, data=config.data or ["-"])
    check.validate()

    def show(log: RoundLog) -> None:
        print(f"round {log.round}: kept {log.kept}/{log.candidates} "
              f"({100 * log.selection_rate:.0f} %)"
              + (f", fixed-set loss {log.fixed_set_loss:.4f}"
                 if log.fixed_set_loss is not None else ""),
              flush=True)

    improve(settings, config, filters=filters, on_round=show)
    print(f"LoRA written to {config.out}")
    return 0
