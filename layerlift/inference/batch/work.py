"""One photo of a batch, as a worker does it (in the driver, a local process or a Ray actor).

A photo is done when OUT/<folder>/report.json holds its resume key and every file the report
lists is there. The key is a SHA-256 over the photo's bytes, the mask file's bytes (or the
boxes), and the settings that change the result, so a changed photo, mask or setting runs
again and nothing else does. The worker reads the photo anyway, so hashing costs the driver
nothing and spreads over the workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from layerlift.inference.batch.manifest import Record
from layerlift.inference.batch.prompts import Prompt
from layerlift.inference.decompose_file import REPORT, decompose_file, reported_settings
from layerlift.inference.errors import EngineUnavailable, InputError

KEY_VERSION = "layerlift-batch-1"


@dataclass(frozen=True)
class Job:
    """What every photo of one run shares."""

    out: str                   # OUT, absolute
    settings: dict[str, Any]   # DecomposeRequest keyword arguments (engine, seed, ...)
    candidates: int
    grabcut: bool
    run: str                   # this run's id, in every manifest line and report
    settings_key: str          # digest of the settings that change the result
    engine_entry: str          # the engine's registry entry "module:factory"


@dataclass(frozen=True)
class Item:
    """One photo: where it is, its folder under OUT, its mark."""

    index: int
    photo: str
    name: str
    prompt: Prompt

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Item:
        d = json.loads(text)
        p = d["prompt"]
        prompt = Prompt(mask=p["mask"], boxes=tuple(tuple(b) for b in p["boxes"]),
                        missing=p["missing"])
        return cls(index=d["index"], photo=d["photo"], name=d["name"], prompt=prompt)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def settings_digest(settings: dict[str, Any], candidates: int, grabcut: bool) -> str:
    """The digest of what changes a result: the engine's settings as report.json records
    them, the GrabCut refinement, and the LoRA file's content (not only its path)."""
    used = {"engine": settings["engine"], "grabcut": bool(grabcut),
            **reported_settings(settings, candidates)}
    if settings.get("lora"):
        used["lora_sha256"] = file_digest(Path(settings["lora"]))
    text = json.dumps(used, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def item_key(photo: Path, prompt: Prompt, settings_key: str) -> str:
    h = hashlib.sha256(KEY_VERSION.encode())
    h.update(file_digest(photo).encode())
    if prompt.mask is not None:
        h.update(b"mask " + file_digest(Path(prompt.mask)).encode())
    else:
        h.update(b"boxes " + json.dumps([list(b) for b in prompt.boxes]).encode())
    h.update(settings_key.encode())
    return h.hexdigest()


def finished_report(folder: Path, key: str) -> dict[str, Any] | None:
    """The report of a result made with `key` whose files are all there; else None."""
    try:
        report = json.loads((folder / REPORT).read_text())
    except (OSError, ValueError):
        return None
    batch = report.get("batch") if isinstance(report, dict) else None
    if not isinstance(batch, dict) or batch.get("key") != key:
        return None
    files = report.get("files")
    if not isinstance(files, list) or not all((folder / str(f)).is_file() for f in files):
        return None
    return report


def _check_photo(photo: Path) -> None:
    if photo.is_dir():
        raise InputError(f"{photo} is a folder, not a photo")
    if not photo.is_file():
        raise InputError(f"photo not found: {photo}")


def _scores(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report.get(k) for k in ("confidence", "cycle_error", "cycle_psnr")}


def process(item: Item, job: Job) -> Record:
    """Decompose one photo into OUT/<folder>, or skip it when done; returns its record.

    Never raises for a photo's own trouble: bad input and internal errors become a `failed`
    record (error_kind "input" or "internal"); an engine that cannot run here at all is
    error_kind "engine", on which the driver stops the batch.
    """
    t0 = time.perf_counter()
    record: Record = {"run": job.run, "input": item.photo, "out": item.name,
                      "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        photo = Path(item.photo)
        _check_photo(photo)
        if item.prompt.missing:
            raise InputError(item.prompt.missing)
        key = item_key(photo, item.prompt, job.settings_key)
        record["key"] = key
        folder = Path(job.out) / item.name
        report = finished_report(folder, key)
        if report is not None and report["batch"].get("run") == job.run:
            # Done by this run in a worker that died (or was ended when the pool broke)
            # before it could say so: it is this run's result, not a skip.
            record.update(status="ok", **_scores(report),
                          timings=dict(report.get("timings") or {}))
        elif report is not None:
            record.update(status="skipped", **_scores(report), timings={})
        else:
            report = decompose_file(
                photo, folder, job.settings,
                mask_path=Path(item.prompt.mask) if item.prompt.mask else None,
                boxes=item.prompt.boxes, grabcut=job.grabcut, candidates=job.candidates,
                extra={"batch": {"key": key, "run": job.run}})
            record.update(status="ok", **_scores(report), timings=dict(report["timings"]))
    except EngineUnavailable as e:
        record.update(status="failed", error_kind="engine", error=_one_line(e))
    except InputError as e:
        record.update(status="failed", error_kind="input", error=_one_line(e))
    except Exception as e:  # one broken photo must not stop the batch
        record.update(status="failed", error_kind="internal",
                      error=_one_line(f"internal error: {type(e).__name__}: {e}"),
                      traceback=traceback.format_exc())
    record.setdefault("timings", {})["total_s"] = time.perf_counter() - t0
    record["time"] = datetime.now(UTC).isoformat(timespec="seconds")
    return record


def process_in_worker(item: Item, job: Job) -> Record:
    """`process` in a local worker process: on SIGTERM (the driver died, or ended the batch)
    the photo's half-built folder is removed as the exception unwinds, then the process
    ends. (The pool's worker loop would catch the exit and wait for work forever.)"""
    global _busy
    _busy = True
    try:
        return process(item, job)
    except SystemExit:
        os._exit(128 + signal.SIGTERM)
    finally:
        _busy = False


_busy = False  # a local worker is inside process_in_worker


def _on_sigterm(*_args) -> None:
    if _busy:
        raise SystemExit(128 + signal.SIGTERM)  # unwinds through the photo's cleanup
    # Idle: leave at once; Python's own exit would wait on the pool's queues for ever.
    os._exit(128 + signal.SIGTERM)


def died_record(item: Item, job: Job, why: str) -> Record:
    """The record of a photo whose worker process died while decomposing it."""
    return {"run": job.run, "input": item.photo, "out": item.name, "status": "failed",
            "error_kind": "internal", "error": why, "timings": {},
            "time": datetime.now(UTC).isoformat(timespec="seconds")}


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


# ---------------------------------------------------------------- worker processes


def start_worker(engine: str, entry: str, threads: int | None,
                 parent: int | None = None) -> None:
    """Set up a worker process: its engine built once (a model engine keeps its weights
    between photos), its threads, and how it stops.

    `entry` is the engine's registry entry in the driver, so an engine registered at run
    time there is known here too. A `local` worker (a child of the driver) ignores Ctrl+C,
    which the driver handles, exits cleanly on SIGTERM (a half-built folder is removed), and
    on Linux is killed when the driver dies, so a killed batch leaves no photo being done
    behind its back.
    """
    from layerlift.inference import engines

    engines.ENGINES.setdefault(engine, entry)
    if threads:
        import cv2

        cv2.setNumThreads(threads)
    if parent is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _on_sigterm)
        _die_with_parent(parent)
    engines.get_engine(engine)


def _die_with_parent(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        # SIGTERM, not SIGKILL: the handler above lets the photo's temp folder be removed
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the driver died before prctl took effect
        os._exit(1)
