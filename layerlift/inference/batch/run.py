"""run_batch: decompose many photos into OUT/<folder>/, resumable, here, in local worker
processes, or on Ray. The CLI's `layerlift batch` is a thin layer over it."""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layerlift.inference.batch.inputs import LOCK, MANIFEST, collect_photos, folder_names
from layerlift.inference.batch.manifest import Manifest, Record, earlier_folders, exclusive
from layerlift.inference.batch.prompts import (
    MasksBeside,
    PointTable,
    PromptSource,
)
from layerlift.inference.batch.work import Item, Job, settings_digest
from layerlift.inference.errors import InputError

# DecomposeRequest's settings (all but the image and the mask) and their defaults.
DEFAULT_SETTINGS: dict[str, Any] = dict(
    engine="classical", seed=0, steps=None, size=512, model=None, lora=None, lora_scale=1.0,
    memory=None, device=None, exact_mask=False)


@dataclass
class BatchCounts:
    """Where a run stands; passed to `on_record` after every photo."""

    total: int
    ok: int = 0
    skipped: int = 0
    failed_input: int = 0
    failed_internal: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.ok + self.skipped + self.failed_input + self.failed_internal

    @property
    def failed(self) -> int:
        return self.failed_input + self.failed_internal

    def rate(self) -> float | None:
        """Photos decomposed (or failed) per second so far; skipped ones cost nothing."""
        worked, elapsed = self.done - self.skipped, time.monotonic() - self.started
        return worked / elapsed if worked and elapsed > 0 else None

    def seconds_left(self) -> float | None:
        rate = self.rate()
        return (self.total - self.done) / rate if rate else None

    def add(self, record: Record) -> None:
        status = record.get("status")
        if status == "ok":
            self.ok += 1
        elif status == "skipped":
            self.skipped += 1
        elif record.get("error_kind") == "input":
            self.failed_input += 1
        else:
            self.failed_internal += 1


@dataclass
class BatchResult:
    counts: BatchCounts
    failures: list[Record]   # the failed photos' records, in the order they finished
    manifest: Path
    run: str


OnRecord = Callable[[Record, BatchCounts], None]


def run_batch(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, *,
              prompts: PromptSource | None = None, settings: Mapping[str, Any] | None = None,
              candidates: int = 1, grabcut: bool = False, workers: int | None = None,
              ray: bool = False, ray_address: str | None = None,
              on_record: OnRecord | None = None) -> BatchResult:
    """Decompose every photo the `inputs` name (folders, globs, .txt lists, files) into
    OUT/<stem>/, exactly as `decompose` writes a folder, and log each in OUT/manifest.jsonl.

    `prompts` says where each photo's mark is (default: STEM.mask.png beside it).
    `settings` are DecomposeRequest settings (engine, seed, exact_mask, ...). A photo already
    done with the same photo, mask and settings is skipped. A photo's failure is recorded
    and the batch goes on. `workers` > 1 runs local worker processes (default: one, this
    process); `ray` runs on Ray (`ray_address`, or a new local instance), with `workers`
    actors at most (default: one per CPU, or per GPU for flux).
    `on_record(record, counts)` is called in this process as each photo finishes.

    Raises InputError before any work for bad arguments, and when the engine cannot run
    here (after recording the photo that found it out). Ctrl+C (KeyboardInterrupt) stops it;
    what finished is kept and a rerun resumes.
    """
    from layerlift.inference.contract import validate_common
    from layerlift.inference.engines import ENGINES, get_engine

    full = _settings(settings)
    validate_common(full["steps"], full["size"], candidates)
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    selecting = isinstance(prompts, PointTable)
    if selecting:  # each photo's mask selected from its clicks
        from layerlift.inference.selected_masks import SelectedMasks

        prompts = SelectedMasks(prompts, out)
    if ray:
        from layerlift.inference.batch.on_ray import import_ray

        import_ray()  # says how to get it, before anything is written
    get_engine(full["engine"])  # an unknown engine, or flux without its packages: one line

    out = Path(os.path.abspath(out))
    photos = collect_photos(inputs, out)
    source = prompts or MasksBeside()
    # (selected masks are written into OUT: only under its lock, so that a second run on the
    # same folder cannot rewrite the masks this one's workers read)
    found = None if selecting else [source.for_photo(p) for p in photos]
    _make_out(out)
    with exclusive(out / LOCK):
        if found is None:
            found = [source.for_photo(p) for p in photos]
        _remove_leftovers(out)
        names = folder_names(photos, earlier_folders(out / MANIFEST))
        run = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        job = Job(out=str(out), settings=full, candidates=candidates, grabcut=grabcut, run=run,
                  settings_key=settings_digest(full, candidates, grabcut),
                  engine_entry=ENGINES[full["engine"]])
        items = [Item(index=i, photo=str(p), name=n, prompt=pr)
                 for i, (p, n, pr) in enumerate(zip(photos, names, found, strict=True))]
        return _run(items, job, out, workers, ray, ray_address, on_record)


def _settings(given: Mapping[str, Any] | None) -> dict[str, Any]:
    unknown = set(given or {}) - set(DEFAULT_SETTINGS)
    if unknown:
        raise InputError(f"unknown batch setting(s): {', '.join(sorted(unknown))}")
    full = {**DEFAULT_SETTINGS, **(given or {})}
    # Workers elsewhere (Ray nodes) start in other folders: files by absolute path.
    if full["lora"]:
        full["lora"] = os.path.abspath(full["lora"])
    if full["model"] and os.path.exists(full["model"]):
        full["model"] = os.path.abspath(full["model"])
    return full


def _make_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot make the folder {out}: {e.strerror or e}") from None


# What imageio.atomic_dir builds beside OUT/<name> and renames away: .NAME.tmp-X, .NAME.old-X
_LEFTOVER = re.compile(r"^\..+\.(tmp|old)-[A-Za-z0-9_]+$")


def _remove_leftovers(out: Path) -> None:
    """Remove the half-built folders a killed batch left in OUT. Safe while we hold OUT's
    lock: no other batch is writing there."""
    for entry in os.scandir(out):
        if _LEFTOVER.match(entry.name) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def _run(items: list[Item], job: Job, out: Path, workers: int | None, ray: bool,
         ray_address: str | None, on_record: OnRecord | None) -> BatchResult:
    manifest = Manifest(out / MANIFEST)
    counts = BatchCounts(total=len(items))
    result = BatchResult(counts=counts, failures=[], manifest=manifest.path, run=job.run)

    def record_one(record: Record) -> None:
        manifest.append(record)
        counts.add(record)
        if record.get("status") == "failed":
            result.failures.append(record)
        if on_record is not None:
            on_record(record, counts)
        if record.get("error_kind") == "engine":  # no photo can work: stop here
            raise InputError(record["error"])

    try:
        if ray:
            from layerlift.inference.batch.on_ray import run_on_ray

            run_on_ray(items, job, ray_address, workers, record_one)
        elif (workers or 1) == 1:
            from layerlift.inference.batch.local import run_here

            run_here(items, job, record_one)
        else:
            from layerlift.inference.batch.local import run_in_processes

            run_in_processes(items, job, workers, record_one)
    finally:
        manifest.close()
    return result
