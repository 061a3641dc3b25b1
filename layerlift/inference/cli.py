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
import json
import logging
import math
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from layerlift.inference.errors import Cancelled, InputError, LayerliftError

PROG = "layerlift"
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
REPORT = "report.json"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
MASK_SUFFIX = ".mask.png"
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
    d.add_argument("--out", metavar="DIR", help="output folder (default: IMAGE_STEM.layers "
                   "beside the image; an earlier output there is replaced)")

    c = sub.add_parser("compose", parents=[common], help="put a logo onto an object",
                       description="Without --quad the logo is in place (the object's size); "
                       "with --quad it is an asset warped onto those 4 corners.")
    c.add_argument("--object", required=True, metavar="O", help="object image (clean surface)")
    c.add_argument("--logo", required=True, metavar="L", help="logo RGBA image")
    c.add_argument("--quad", metavar="x0,y0,x1,y1,x2,y2,x3,y3",
                   help="corners TL, TR, BR, BL in the object's pixels")
    c.add_argument("--out", required=True, metavar="OUT", help="output .png or .jpg")
    c.add_argument("--strength", type=_fraction, default=None,
                   help="flux: how much the model may repaint the logo's area (0..1)")

    b = sub.add_parser("batch", parents=[common, masks], help="decompose many photos",
                       description="Each IMAGE needs a mask beside it named STEM.mask.png "
                       "unless --box is given. A .txt argument lists one image per line.")
    b.add_argument("inputs", nargs="+", metavar="DIR_OR_LIST")
    b.add_argument("--box", metavar="X0,Y0,X1,Y1", help="the same box for every photo")
    b.add_argument("--out", metavar="DIR",
                   help="put each STEM.layers folder here (default: beside each photo)")

    for name, (_run, help_text) in (delegates or DELEGATES).items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


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


def _say_error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {' '.join(str(message).split())}\n")


def _json_safe(value: Any) -> Any:
    """Meta from engines to plain JSON: numpy scalars to numbers, inf/nan to null."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "shape"):
        return f"<array {tuple(value.shape)}>"
    return str(value)


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


def _within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def _check_out_dir(out: Path, inputs: Sequence[Path]) -> None:
    """The output folder must not be an input, nor contain one (replacing it would delete it)."""
    from layerlift.inference.export import EXPORT_FILES
    from layerlift.inference.imageio import check_output_dir

    out_real = Path(os.path.realpath(out))
    for p in inputs:
        p_real = Path(os.path.realpath(p))
        if out_real == p_real:
            raise InputError(f"--out {out} is the input file {p}; give a folder for the layers")
        if _within(p_real, out_real):
            raise InputError(f"--out {out} contains the input {p}; replacing it would delete it")
    check_output_dir(out, (*EXPORT_FILES, REPORT))


def _decompose_settings(args: argparse.Namespace) -> dict[str, Any]:
    """`_engine_settings` plus what only a decomposition takes (--exact-mask)."""
    return _engine_settings(args) | {"exact_mask": bool(args.exact_mask)}


def _reported_settings(settings: dict[str, Any], candidates: int) -> dict[str, Any]:
    """The settings the engine used: the classical engine uses only the seed and exact mask."""
    if settings["engine"] != "flux":
        return {"seed": settings["seed"], "exact_mask": settings.get("exact_mask", False)}
    return {k: v for k, v in settings.items() if k != "engine"} | {"candidates": candidates}


def _default_out(image: Path) -> Path:
    return image.with_name(image.stem + ".layers")


# ---------------------------------------------------------------- decompose


def _decompose_one(image_path: Path, out: Path, settings: dict[str, Any], *,
                   mask_path: Path | None = None, box: tuple[int, int, int, int] | None = None,
                   grabcut: bool = False, candidates: int = 1) -> dict[str, Any]:
    """Decompose one photo into `out` (replaced atomically); returns the report."""
    from layerlift.inference import imageio
    from layerlift.inference.api import decompose
    from layerlift.inference.contract import DecomposeRequest
    from layerlift.inference.export import export_layers

    inputs = [image_path] + ([mask_path] if mask_path else [])
    _check_out_dir(out, inputs)

    t0 = time.perf_counter()
    image = imageio.load_image(image_path)
    if mask_path is not None:
        mask = imageio.load_mask(mask_path, image.shape)
    else:
        assert box is not None
        mask = imageio.box_to_mask(box, image.shape, image, refine=grabcut)
    request = DecomposeRequest(image=image, mask=mask, candidates=candidates, **settings)
    request.validate()
    t_load = time.perf_counter() - t0

    progress = Progress(f"decomposing {image_path.name}")
    try:
        layers = decompose(request, on_progress=progress)
    finally:
        progress.done()
    t_decompose = time.perf_counter() - t0 - t_load

    meta = dict(layers.meta)
    h, w = image.shape[:2]
    report = {
        "engine": request.engine,
        "input": {"image": str(image_path.resolve()), "width": w, "height": h,
                  "mask": str(mask_path.resolve()) if mask_path else None,
                  "box": list(box) if box else None, "grabcut": bool(grabcut),
                  "mask_pixels": int(mask.sum())},
        "settings": _reported_settings(settings, candidates),
        "cycle_error": meta.pop("cycle_error", None),
        "cycle_psnr": meta.pop("cycle_psnr", None),  # null when the cycle is exact
        "confidence": meta.pop("confidence", None),  # null when the engine gives none
        "timings": {"load_s": t_load, "decompose_s": t_decompose},
    }
    report["timings"].update(meta.pop("timings", {}) or {})
    report["meta"] = meta
    if sys.stderr.isatty():  # PSD/ORA/PNG encoding takes seconds on a large photo
        sys.stderr.write(f"{PROG}: writing layers to {out}\n")
    with imageio.atomic_dir(out, replace_ok=_replaceable()) as tmp:
        t1 = time.perf_counter()
        files = export_layers(tmp, image, layers)
        report["timings"]["export_s"] = time.perf_counter() - t1
        report["files"] = sorted([*files, REPORT])
        text = json.dumps(_json_safe(report), indent=2, allow_nan=False) + "\n"
        imageio.atomic_write_bytes(tmp / REPORT, text.encode())
    return report


def _replaceable() -> tuple[str, ...]:
    from layerlift.inference.export import EXPORT_FILES

    return (*EXPORT_FILES, REPORT)


def cmd_decompose(args: argparse.Namespace) -> int:
    from layerlift.inference.imageio import parse_box

    settings = _decompose_settings(args)
    box = parse_box(args.box) if args.box else None
    if args.grabcut and box is None:
        raise InputError("--grabcut refines a --box; give --box X0,Y0,X1,Y1")
    image_path = Path(args.image)
    out = Path(args.out) if args.out else _default_out(image_path)
    report = _decompose_one(image_path, out, settings,
                            mask_path=Path(args.mask) if args.mask else None, box=box,
                            grabcut=args.grabcut, candidates=args.candidates or 1)
    print(f"{out}  (engine {report['engine']}, {_quality_text(report)}, "
          f"{report['timings']['decompose_s']:.2f} s)")
    return EXIT_OK


def _quality_text(report: dict[str, Any]) -> str:
    """The confidence in words where the engine gives one, else the cycle's PSNR."""
    from layerlift.inference.confidence import CLEAN, confidence_text, confidence_words

    confidence, box = report["confidence"], report["meta"].get("filled_box")
    if confidence is not None:
        where = "" if confidence_words(confidence) == CLEAN or not box else \
            f" (box {','.join(map(str, box))})"
        return confidence_text(confidence) + where
    psnr = report["cycle_psnr"]
    return "cycle " + ("exact" if psnr is None or not math.isfinite(psnr) else f"{psnr:.1f} dB")


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
                             **settings)
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


def _batch_images(inputs: Sequence[str]) -> list[Path]:
    """Photos named by the arguments: folders (their photos, masks skipped), .txt lists, files."""
    images: list[Path] = []
    for text in inputs:
        p = Path(text)
        if p.is_dir():
            images += sorted(f for f in p.iterdir()
                             if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                             and not f.name.lower().endswith(MASK_SUFFIX)
                             and not f.name.startswith("."))
        elif p.suffix.lower() == ".txt":
            try:
                lines = p.read_text().splitlines()
            except (OSError, UnicodeDecodeError) as e:
                raise InputError(f"cannot read the list {p}: {e}") from None
            for line in lines:
                line = line.strip()
                if line and not line.startswith("#"):
                    q = Path(line)
                    images.append(q if q.is_absolute() else p.parent / q)
        else:
            images.append(p)  # a missing file is reported as that item's failure
    return images


def cmd_batch(args: argparse.Namespace) -> int:
    from layerlift.inference import imageio

    settings = _decompose_settings(args)
    box = imageio.parse_box(args.box) if args.box else None
    if args.grabcut and box is None:
        raise InputError("--grabcut refines a --box; give --box X0,Y0,X1,Y1")
    images = _batch_images(args.inputs)
    if not images:
        raise InputError("no photos found in " + ", ".join(args.inputs))
    out_root = Path(args.out) if args.out else None
    if out_root is not None:
        if out_root.exists() and not out_root.is_dir():
            raise InputError(f"--out {out_root} is a file, not a folder")
        imageio.check_writable_target(out_root / "x")

    results: list[dict[str, Any]] = []
    used: set[Path] = set()
    for i, image in enumerate(images, 1):
        # Two photos with one stem (a.jpg and a.png, or one name in two folders sent to one
        # --out) must not write into the same folder.
        folder = out_root if out_root is not None else image.parent
        out, n = folder / (image.stem + ".layers"), 2
        while out in used:
            out, n = folder / f"{image.stem}-{n}.layers", n + 1
        used.add(out)
        mask = None if box else image.with_name(image.stem + MASK_SUFFIX)
        if sys.stderr.isatty():
            sys.stderr.write(f"{PROG}: [{i}/{len(images)}] {image}\n")
        item: dict[str, Any] = {"image": str(image), "out": str(out)}
        try:
            if out_root is not None:
                out_root.mkdir(parents=True, exist_ok=True)
            if mask is not None and not mask.exists():
                raise InputError(f"no mask for {image.name}: expected {mask.name} beside it "
                                 "(or give --box)")
            report = _decompose_one(image, out, settings, mask_path=mask, box=box,
                                    grabcut=args.grabcut, candidates=args.candidates or 1)
            item.update(ok=True, cycle_psnr=report["cycle_psnr"],
                        confidence=report["confidence"],
                        seconds=report["timings"]["decompose_s"])
        except (InputError, Cancelled) as e:
            item.update(ok=False, error=str(e))
        except KeyboardInterrupt:
            raise
        except Exception as e:  # one broken photo must not stop the batch
            log_path = _write_traceback()
            item.update(ok=False, error=f"internal error: {type(e).__name__}: {e} "
                        f"(traceback: {log_path})")
        results.append(item)

    failed = [r for r in results if not r["ok"]]
    print(f"batch: {len(results) - len(failed)} done, {len(failed)} failed")
    for r in failed:
        print(f"  FAILED {r['image']}: {' '.join(r['error'].split())}")
    if out_root is not None:
        summary = {"done": len(results) - len(failed), "failed": len(failed), "items": results}
        imageio.atomic_write_bytes(out_root / "batch-summary.json",
                                   (json.dumps(_json_safe(summary), indent=2) + "\n").encode())
    return EXIT_INTERNAL if failed else EXIT_OK


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


COMMANDS = {"decompose": cmd_decompose, "compose": cmd_compose, "batch": cmd_batch}


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
