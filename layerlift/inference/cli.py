"""The `layerlift` command line: decompose, compose, batch, and the models / train / gui hand-offs.

Exit codes: 0 success, 2 bad input or usage (one line on stderr), 1 internal error (a short
line saying where the traceback went; --debug prints it), 130 interrupted (Ctrl+C),
143 terminated (SIGTERM, handled like Ctrl+C: nothing half-written is left).
Nothing half-written: outputs are built in a temp folder (or temp file) beside the target and
renamed into place at the end; the input files are never touched.

The heavy modules (numpy, Pillow, OpenCV, psd-tools) are imported inside the commands, so
`layerlift --help` stays fast; torch is only ever imported by the flux engine.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from layerlift.inference.decompose_file import check_out_dir, decompose_file, json_safe
from layerlift.inference.errors import Cancelled, InputError, LayerliftError

PROG = "layerlift"
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
# Options only a model engine uses; the classical engine refuses them rather than ignore them.
FLUX_ONLY = ("model", "lora", "memory", "device", "steps", "size", "candidates")
DEFAULT_SIZE = 512

# A sub-command handled elsewhere: called with the rest of argv, returns an exit code.
Delegate = Callable[[list[str]], "int | None"]


def _run_models(argv: list[str]) -> int | None:
    # torch-heavy: imported only when the sub-command runs, so `layerlift --help` stays light
    from layerlift.inference.engines.flux.models import main as models_main

    return models_main(argv)


# The core's own delegated sub-commands; the `layerlift` command (layerlift/cli.py) adds the
# trainer and the app, which the core must not import (the import-linter contract).
DELEGATES: dict[str, tuple[Delegate, str]] = {
    "models": (_run_models, "list, fetch and check flux base models"),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds like Ctrl+C: temp files and
    folders are removed on the way out and nothing is left half-written."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While the CLI runs, SIGTERM unwinds like SIGINT (only the main thread can catch it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class UsageError(Exception):
    """A command-line usage error; exit 2 with a one-line message."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit; we raise
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ---------------------------------------------------------------- argument types


def _int_in(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {value}")
        return value
    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}") \
            from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _parse_lora(text: str) -> tuple[str, float]:
    """FILE[:SCALE] -> (path, scale), the file checked as a diffusers-format LoRA from its
    header (no torch), so a bad file exits 2 before any model loads."""
    # The flux engine's own parser and check (a light module), so both agree.
    from layerlift.inference.engines.flux.lora import check_lora_file, parse_lora_spec

    path, scale = parse_lora_spec(text)
    check_lora_file(path)
    return str(path), scale


def _parse_point(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        x, y = (float(t) for t in parts)
    except ValueError:
        raise InputError(f"--point must be X,Y (two numbers), got {text!r}") from None
    if not (x >= 0 and y >= 0):  # also refuses nan
        raise InputError(f"--point {text} lies outside the photo")
    return x, y


def _parse_quad(text: str):
    from layerlift.inference.contract import validate_quad

    parts = [t for t in text.replace(";", ",").split(",") if t.strip()]
    try:
        values = [float(t) for t in parts]
    except ValueError:
        raise InputError(f"--quad must be 8 numbers x0,y0,...,x3,y3, got {text!r}") from None
    if len(values) != 8:
        raise InputError(f"--quad needs 8 numbers (4 corners), got {len(values)}")
    return validate_quad([values[0:2], values[2:4], values[4:6], values[6:8]])


def _parse_bend(text: str | None, has_quad: bool) -> float:
    from layerlift.inference.contract import validate_bend

    if text is None:
        return 0.0
    if not has_quad:
        raise InputError("--bend bends a logo asset placed with --quad; give --quad too")
    return validate_bend(text.strip().removesuffix("%"))


# ---------------------------------------------------------------- parser


def build_parser(delegates: dict[str, tuple[Delegate, str]] | None = None) -> Parser:
    parser = Parser(prog=PROG, description="Split a product photo into a clean object layer and "
                    "a logo layer; put a logo back; export PSD / OpenRaster / PNG layers.")
    parser.add_argument("--debug", action="store_true", help="print tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    common = Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    eng = common.add_argument_group("engine")
    eng.add_argument("--engine", default="classical",
                     help="classical (CPU, no weights; default) or flux")
    eng.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=0,
                     help="random seed (default 0)")
    eng.add_argument("--steps", type=_int_in(1, 1000), default=None,
                     help="flux: sampling steps (engine default if omitted)")
    eng.add_argument("--size", type=_int_in(64, 2048), default=None,
                     help=f"flux: working crop side in pixels, a multiple of 16 "
                     f"(default {DEFAULT_SIZE})")
    eng.add_argument("--model", help="flux: base model folder, single file or id")
    eng.add_argument("--lora", metavar="FILE[:SCALE]", help="flux: LoRA .safetensors")
    eng.add_argument("--memory", metavar="TIER",
                     help="flux: force a memory tier (gpu, fp8, nf4, group)")
    eng.add_argument("--device", metavar="D", help="flux: cuda, mps or cpu")

    masks = Parser(add_help=False)
    masks.add_argument("--grabcut", action="store_true",
                       help="refine --box with GrabCut instead of using the whole box")
    masks.add_argument("--candidates", type=_int_in(1, 64), default=None,
                       help="flux: seeds tried; the one the model rebuilds best wins")
    masks.add_argument("--exact-mask", action="store_true",
                       help="trust the mask as it is: every masked pixel is mark and is "
                       "filled (classical; flux always fills the whole dilated mask anyway)")

    d = sub.add_parser("decompose", parents=[common, masks],
                       help="split IMAGE into object and logo layers",
                       description="Writes DIR/object.png, logo.png, logo_asset.png, "
                       "layers.psd, layers.ora, manifest.json and report.json.")
    d.add_argument("image", metavar="IMAGE", help="photo: JPEG, PNG, WebP, TIFF or BMP")
    which = d.add_mutually_exclusive_group(required=True)
    which.add_argument("--mask", metavar="MASK", help="mask image, white = logo, photo's size")
    which.add_argument("--box", metavar="X0,Y0,X1,Y1",
                       help="box around the logo in pixels (X1, Y1 exclusive)")
    which.add_argument("--point", metavar="X,Y", action="append",
                       help="a click on the logo (repeatable): the mask is selected from it "
                       "as `layerlift select` does")
    d.add_argument("--tolerance", type=_fraction, default=None,
                   help="with --point: how far a colour may be from the clicked one "
                   "(0..1, default 0.5)")
    d.add_argument("--hints", metavar="HINTS.png",
                   help="your corrections, the photo's size: green = this is mark (it "
                   "leaves the object), red = this is not mark (kept as it is), anything "
                   "else = the engine decides; only inside the mask")
    d.add_argument("--out", metavar="DIR", help="output folder (default: IMAGE_STEM.layers "
                   "beside the image; an earlier output there is replaced)")

    c = sub.add_parser("compose", parents=[common], help="put a logo onto an object",
                       description="Without --quad the logo is in place (the object's size); "
                       "with --quad it is an asset warped onto those 4 corners.")
    c.add_argument("--object", required=True, metavar="O", help="object image (clean surface)")
    c.add_argument("--logo", required=True, metavar="L", help="logo RGBA image")
    c.add_argument("--quad", metavar="x0,y0,x1,y1,x2,y2,x3,y3",
                   help="corners TL, TR, BR, BL in the object's pixels")
    c.add_argument("--bend", metavar="PERCENT", default=None,
                   help="with --quad: wrap the logo round a cylinder (mug, can, bottle), "
                   "-100..100; > 0 arches the middle up, < 0 sags it; 0 = flat (default)")
    c.add_argument("--out", required=True, metavar="OUT", help="output .png or .jpg")
    c.add_argument("--strength", type=_fraction, default=None,
                   help="flux: how much the model may repaint the logo's area (0..1)")

    s = sub.add_parser("select", help="write the mask of the logo under one or more clicks",
                       description="Selects the whole mark under the click(s): every part "
                       "and colour of it, with a small margin; writes it as a black and "
                       "white PNG for decompose --mask.")
    s.add_argument("image", metavar="IMAGE", help="photo: JPEG, PNG, WebP, TIFF or BMP")
    s.add_argument("--point", metavar="X,Y", action="append", required=True,
                   help="a click on the logo in pixels (repeatable: clicks on one mark)")
    s.add_argument("--box", metavar="X0,Y0,X1,Y1",
                   help="search only inside this box (X1, Y1 exclusive)")
    s.add_argument("--tolerance", type=_fraction, default=0.5,
                   help="how far a colour may be from the clicked one (0..1, default 0.5)")
    s.add_argument("--out", metavar="MASK.png", required=True, help="the mask to write (.png)")

    _add_batch_parser(sub, [common, masks])

    for name, (_run, help_text) in (delegates or DELEGATES).items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _add_batch_parser(sub, parents: list[Parser]) -> None:
    b = sub.add_parser("batch", parents=parents, help="decompose many photos, resumably",
                       description="Decomposes every photo into OUT/<stem>/ (as decompose "
                       "writes a folder) and logs each in OUT/manifest.jsonl; a rerun skips "
                       "what is done. Each photo's mark: STEM.mask.png beside it, unless one "
                       "of --masks, --mask, --box, --boxes is given.")
    # "*", not "+": in `batch --ray shots/ --out o` argparse gives shots/ to --ray, and
    # cmd_batch takes it back as an input; cmd_batch asks for at least one.
    b.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="a folder (its photos), a glob ('shots/**/*.jpg'), a .txt list (one "
                   "photo per line) or a photo")
    which = b.add_mutually_exclusive_group()
    which.add_argument("--masks", metavar="DIR",
                       help="masks matched by stem: DIR/STEM.mask.png or DIR/STEM.png")
    which.add_argument("--mask", metavar="MASK", help="the same mask for every photo")
    which.add_argument("--box", metavar="X0,Y0,X1,Y1", help="the same box for every photo")
    which.add_argument("--boxes", metavar="CSV",
                       help="a box per photo: rows file,x0,y0,x1,y1 (several rows: union)")
    which.add_argument("--points", metavar="CSV",
                       help="clicks per photo: rows file,x,y (several rows: several clicks "
                       "on one mark); each photo's mask is selected from its clicks")
    b.add_argument("--out", metavar="DIR", required=True,
                   help="where OUT/<stem>/ folders and manifest.jsonl go")
    b.add_argument("--workers", type=_int_in(1, 256), default=None, metavar="N",
                   help="local worker processes, each with its own engine (default 1); "
                   "with --ray, at most N actors (default: one per CPU, per GPU for flux)")
    b.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray: the cluster at ADDRESS (e.g. auto, HOST:6379, "
                   "ray://HOST:10001), or a local instance when none is given")


# ---------------------------------------------------------------- output


class Progress:
    """A single self-rewriting line on stderr, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, step: int, total: int, preview: Any = None) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{PROG}: {self.label} {step}/{total}\x1b[K")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            self.shown = False


_json_safe, _check_out_dir = json_safe, check_out_dir  # the names the tests know


def _say_error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {' '.join(str(message).split())}\n")


# ---------------------------------------------------------------- checks shared by commands


def _engine_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Validate engine options before anything is loaded; returns request keyword args."""
    from layerlift.inference.engines import engine_names

    if args.engine not in engine_names():
        raise InputError(f"unknown engine {args.engine!r}; choose one of: "
                         f"{', '.join(engine_names())}")
    if args.engine != "flux":
        given = [f"--{name}" for name in FLUX_ONLY if getattr(args, name, None) is not None]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise InputError(f"{', '.join(given)} {verb} only to --engine flux")
    lora, lora_scale = _parse_lora(args.lora) if args.lora else (None, 1.0)
    size = DEFAULT_SIZE if args.size is None else args.size
    if size % 16:
        raise InputError(f"--size must be a multiple of 16, got {size}")
    return dict(engine=args.engine, seed=args.seed, steps=args.steps, size=size,
                model=args.model, lora=lora, lora_scale=lora_scale, memory=args.memory,
                device=args.device)


def _decompose_settings(args: argparse.Namespace) -> dict[str, Any]:
    """`_engine_settings` plus what only a decomposition takes (--exact-mask)."""
    return _engine_settings(args) | {"exact_mask": bool(args.exact_mask)}


def _default_out(image: Path) -> Path:
    return image.with_name(image.stem + ".layers")


# ---------------------------------------------------------------- decompose


def _decompose_one(image_path: Path, out: Path, settings: dict[str, Any], *,
                   mask_path: Path | None = None, box: tuple[int, int, int, int] | None = None,
                   points: list[tuple[float, float]] | None = None,
                   tolerance: float | None = None, hints_path: Path | None = None,
                   grabcut: bool = False, candidates: int = 1) -> dict[str, Any]:
    """Decompose one photo into `out` (replaced atomically) with a progress line; the report."""
    def writing() -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"{PROG}: writing layers to {out}\n")

    progress = Progress(f"decomposing {image_path.name}")
    try:
        return decompose_file(image_path, out, settings, mask_path=mask_path,
                              boxes=[box] if box else [], points=points or (),
                              tolerance=tolerance, hints_path=hints_path, grabcut=grabcut,
                              candidates=candidates, on_progress=progress,
                              on_writing=writing)
    finally:
        progress.done()


def cmd_decompose(args: argparse.Namespace) -> int:
    from layerlift.inference.imageio import parse_box

    settings = _decompose_settings(args)
    box = parse_box(args.box) if args.box else None
    if args.grabcut and box is None:
        raise InputError("--grabcut refines a --box; give --box X0,Y0,X1,Y1")
    points = [_parse_point(p) for p in args.point] if args.point else None
    if args.tolerance is not None and points is None:
        raise InputError("--tolerance applies to --point; give --point X,Y")
    image_path = Path(args.image)
    out = Path(args.out) if args.out else _default_out(image_path)
    report = _decompose_one(image_path, out, settings,
                            mask_path=Path(args.mask) if args.mask else None, box=box,
                            points=points, tolerance=args.tolerance,
                            hints_path=Path(args.hints) if args.hints else None,
                            grabcut=args.grabcut, candidates=args.candidates or 1)
    print(f"{out}  (engine {report['engine']}, {_quality_text(report)}, "
          f"{report['timings']['decompose_s']:.2f} s)")
    return EXIT_OK


def _quality_text(report: dict[str, Any]) -> str:
    """The confidence in words where the engine gives one, else the cycle's PSNR."""
    from layerlift.inference.confidence import (
        CLEAN,
        NOTHING_FOUND,
        confidence_text,
        confidence_words,
        found_nothing,
    )

    confidence, box = report["confidence"], report["meta"].get("filled_box")
    if found_nothing(report["meta"]):
        return NOTHING_FOUND + " (brush tighter round the logo, or use --exact-mask)"
    if confidence is not None:
        where = "" if confidence_words(confidence) == CLEAN or not box else \
            f" (box {','.join(map(str, box))})"
        return confidence_text(confidence) + where
    psnr = report["cycle_psnr"]
    return "cycle " + ("exact" if psnr is None or not math.isfinite(psnr) else f"{psnr:.1f} dB")


# ---------------------------------------------------------------- select


def cmd_select(args: argparse.Namespace) -> int:
    from layerlift.inference import imageio
    from layerlift.inference.select import select_mark

    points = [_parse_point(p) for p in args.point]
    box = imageio.parse_box(args.box) if args.box else None
    image_path, out = Path(args.image), Path(args.out)
    if out.suffix.lower() != ".png":
        raise InputError(f"--out {out} must end in .png")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a .png file name")
    imageio.check_not_protected(out, [image_path])
    imageio.check_writable_target(out)
    image = imageio.load_image(image_path)
    mask = select_mark(image, points, box=box, tolerance=args.tolerance)
    out.parent.mkdir(parents=True, exist_ok=True)
    imageio.save_png(out, mask, protect=[image_path])
    print(f"{out}  ({int(mask.sum())} pixels selected)")
    return EXIT_OK


# ---------------------------------------------------------------- compose


def cmd_compose(args: argparse.Namespace) -> int:
    from layerlift.inference import imageio
    from layerlift.inference.api import compose
    from layerlift.inference.contract import ComposeRequest

    settings = _engine_settings(args)
    if args.strength is not None:
        if args.engine != "flux":
            raise InputError("--strength applies only to --engine flux")
        settings["strength"] = args.strength
    quad = _parse_quad(args.quad) if args.quad else None
    bend = _parse_bend(args.bend, quad is not None)
    out = Path(args.out)
    object_path, logo_path = Path(args.object), Path(args.logo)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise InputError(f"--out {out} must end in .png or .jpg")
    imageio.check_not_protected(out, [object_path, logo_path])
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a .png or .jpg file name")
    imageio.check_writable_target(out)

    obj = imageio.load_image(object_path)
    logo = imageio.load_rgba(logo_path)
    if quad is None and logo.shape[:2] != obj.shape[:2]:
        raise InputError(f"logo is {logo.shape[1]}x{logo.shape[0]} but the object is "
                         f"{obj.shape[1]}x{obj.shape[0]}; give --quad to place a logo asset")
    request = ComposeRequest(object=obj, logo=None if quad is not None else logo,
                             logo_asset=logo if quad is not None else None, quad=quad,
                             bend=bend, **settings)
    request.validate()
    progress = Progress(f"composing {object_path.name}")
    try:
        rgb = compose(request, on_progress=progress)
    finally:
        progress.done()
    out.parent.mkdir(parents=True, exist_ok=True)
    imageio.save_image(out, rgb, protect=[object_path, logo_path])
    print(out)
    return EXIT_OK


# ---------------------------------------------------------------- batch


def _batch_prompts(args: argparse.Namespace):
    from layerlift.inference import batch, imageio

    if args.grabcut and not (args.box or args.boxes):
        raise InputError("--grabcut refines boxes; give --box or --boxes")
    if args.masks:
        return batch.MaskFolder(args.masks)
    if args.mask:
        return batch.OneMask(args.mask)
    if args.box:
        return batch.OneBox(imageio.parse_box(args.box))
    if args.boxes:
        return batch.BoxTable(args.boxes)
    if args.points:
        return batch.PointTable(args.points)
    return batch.MasksBeside()


class BatchProgress:
    """The batch's line on a terminal: photos done, rate, time left; failures above it."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, record: dict[str, Any], counts: Any) -> None:
        if not self.enabled:
            return
        if record.get("status") == "failed":
            sys.stderr.write(f"\r\x1b[K{PROG}: FAILED {record['input']}: {record['error']}\n")
        width = 24
        filled = width * counts.done // max(1, counts.total)
        rate, left = counts.rate(), counts.seconds_left()
        speed = f"{rate:.2f} photos/s" if rate else "–"
        eta = f"{int(left) // 60}:{int(left) % 60:02d} left" if left is not None else ""
        failed = f", {counts.failed} failed" if counts.failed else ""
        sys.stderr.write(f"\r{PROG}: batch {counts.done}/{counts.total} "
                         f"[{'#' * filled}{'.' * (width - filled)}] {speed} {eta}{failed}\x1b[K")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _batch_summary(counts: Any, failures: list[dict[str, Any]], manifest: Path,
                   seconds: float) -> None:
    print(f"batch: {counts.ok} done, {counts.failed} failed, {counts.skipped} skipped "
          f"(of {counts.total}) in {seconds:.1f} s; manifest {manifest}")
    for r in failures:
        where = " (traceback in the manifest)" if r.get("traceback") else ""
        print(f"  FAILED {r['input']}: {r['error']}{where}")


def cmd_batch(args: argparse.Namespace) -> int:
    """Exit 0 when every photo is done or skipped; 1 when any failed on an internal error;
    else 2 when any failed on bad input; 130 when interrupted (a rerun resumes)."""
    import time

    from layerlift.inference.batch import BatchCounts, run_batch
    from layerlift.inference.batch.inputs import MANIFEST

    settings = _decompose_settings(args)
    candidates = args.candidates or 1
    inputs, address = list(args.inputs), args.ray
    if address and os.path.exists(address):  # `--ray shots/ ...`: a photo folder, no address
        inputs.insert(0, address)
        address = ""
    if not inputs:
        raise UsageError("batch needs at least one INPUT (a folder, glob, .txt list or photo) "
                         "(see 'layerlift batch --help')")
    progress = BatchProgress()
    last: dict[str, Any] = {"counts": None, "failures": []}

    def on_record(record: dict[str, Any], counts: BatchCounts) -> None:
        last["counts"] = counts
        if record.get("status") == "failed":
            last["failures"].append(record)
        progress(record, counts)

    t0 = time.monotonic()
    try:
        result = run_batch(inputs, args.out, prompts=_batch_prompts(args), settings=settings,
                           candidates=candidates, grabcut=args.grabcut, workers=args.workers,
                           ray=address is not None, ray_address=address or None,
                           on_record=on_record)
    except KeyboardInterrupt:
        progress.done()
        counts = last["counts"]
        if counts is not None:
            _batch_summary(counts, last["failures"], Path(args.out) / MANIFEST,
                           time.monotonic() - t0)
        _say_error("interrupted; the photos done are kept: run the same command again to "
                   "finish the rest")
        return EXIT_INTERRUPTED
    except BaseException:
        progress.done()  # the error's line goes below the progress line, not over it
        raise
    progress.done()
    counts = result.counts
    _batch_summary(counts, result.failures, result.manifest, time.monotonic() - t0)
    if counts.failed_internal:
        return EXIT_INTERNAL
    return EXIT_INPUT if counts.failed_input else EXIT_OK


# ---------------------------------------------------------------- hand-offs and main


def _delegate(command: str, run: Delegate, rest: list[str]) -> int:
    try:
        result = run(rest)
    except ModuleNotFoundError as e:
        _say_error(f"'{command}' cannot start: the package {e.name or '?'!r} is not installed")
        return EXIT_INTERNAL
    return int(result or 0)


def _write_traceback() -> str:
    fd, path = tempfile.mkstemp(prefix=f"{PROG}-error-", suffix=".log")
    with os.fdopen(fd, "w") as f:
        f.write(traceback.format_exc())
    return path


COMMANDS = {"decompose": cmd_decompose, "select": cmd_select, "compose": cmd_compose,
            "batch": cmd_batch}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings from the engines as one line each, like our other messages."""
    sys.stderr.write(f"{PROG}: warning: {' '.join(str(message).split())}\n")


def main(argv: Sequence[str] | None = None,
         delegates: dict[str, tuple[Delegate, str]] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it).

    `delegates` adds sub-commands handled elsewhere (name -> (function, help)).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    delegates = {**DELEGATES, **(delegates or {})}
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format=f"{PROG}: warning: %(message)s")
    warnings.showwarning = _show_warning
    leading = 0
    while leading < len(argv) and argv[leading] == "--debug":
        leading += 1
    debug = "--debug" in argv
    with _sigterm_as_interrupt():
        return _run(argv, leading, delegates, debug)


def _run(argv: list[str], leading: int, delegates: dict[str, tuple[Delegate, str]],
         debug: bool) -> int:
    try:
        if leading < len(argv) and argv[leading] in delegates:
            command = argv[leading]
            return _delegate(command, delegates[command][0], argv[leading + 1:])
        try:
            args = build_parser(delegates).parse_args(argv)
        except SystemExit as e:  # --help
            return int(e.code or 0) if not isinstance(e.code, str) else EXIT_INPUT
        return COMMANDS[args.command](args)
    except (UsageError, InputError) as e:
        _say_error(str(e))
        return EXIT_INPUT
    except Terminated:
        _say_error("terminated; nothing was written")
        return EXIT_TERMINATED
    except (Cancelled, KeyboardInterrupt):
        _say_error("interrupted; nothing was written")
        return EXIT_INTERRUPTED
    except LayerliftError as e:
        _say_error(str(e))
        return EXIT_INTERNAL
    except Exception as e:
        if debug:
            traceback.print_exc()
            _say_error(f"internal error: {type(e).__name__}: {e}")
        else:
            path = _write_traceback()
            _say_error(f"internal error: {type(e).__name__}: {e} (traceback in {path}; "
                       "--debug prints it)")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
