"""Peak resident memory and wall time of `layerlift` commands on big inputs (issue 12).

Each case runs the real command in a fresh child process; its peak RSS comes from the
kernel (getrusage of the waited child), and with --timeline the child's RSS is also sampled
every 0.1 s (psutil) to show when the peak happens. Inputs are synthetic, made once per run
in a temp folder (or --work DIR to keep them):

  100mp-small-mark   a 12247x8165 JPEG (100 MP) with a ~300 px mark, its mask around it
                     (target: peak <= 2.5 GB)
  24mp-full-mask     a 6000x4000 JPEG whose mask covers the whole photo (target <= 4 GB,
                     or refused up front with exit 2 and one line)
  24mp-project       a decomposed 24 MP photo saved as a project, then `layerlift export
                     PROJECT.ora --out x.psd` (the way the app opens projects)
  near-limit-ora     an ORA of one blank 6100x6100 layer (the largest a tiny file may
                     claim under the reader's default memory allowance) exported to PSD

Run: .venv/bin/python -m tests.benchmarks.peak_memory [CASE ...] [--timeline] [--work DIR]
The figures depend on the machine's load (other processes share its 2 cores). (A child
forked from a large process reports that process's ru_maxrss; the wrapper is a fresh, small
interpreter, so the figure is the command's own.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).parents[2]
TARGETS = {"100mp-small-mark": 2.5, "24mp-full-mask": 4.0}

# Runs argv as a child, prints {"rc", "peak_rss", "wall_s"}: the child's own peak from the
# kernel, which a parent polling would miss between samples.
WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"rc": run.returncode, "peak_rss": peak, "wall_s": wall,
                  "stderr": run.stderr[-2000:]}))
"""


def surface(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A shaded surface with fine grain, built in uint8 (a float copy of 100 MP is 1.2 GB)."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(60, 200, (9, 13, 3)).astype(np.float32)
    photo = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.uint8)
    tile = rng.integers(0, 9, (509, 509, 1), np.uint8)
    for y in range(0, height, 509):
        for x in range(0, width, 509):
            block = photo[y:y + 509, x:x + 509]
            cv2.add(block, tile[:block.shape[0], :block.shape[1]].repeat(3, 2), dst=block)
    return photo


def small_mark_case(folder: Path) -> list[str]:
    image, mask = folder / "p100.jpg", folder / "p100.mask.png"
    if not image.exists():
        w, h = 12247, 8165
        photo = surface(w, h)
        cx, cy = w // 2, h // 2
        cv2.putText(photo, "LOGO", (cx - 150, cy + 35), cv2.FONT_HERSHEY_DUPLEX, 3.3,
                    (200, 30, 30), 14, cv2.LINE_AA)
        Image.fromarray(photo).save(image, quality=90)
        m = np.zeros((h, w), np.uint8)
        m[cy - 60:cy + 70, cx - 170:cx + 170] = 255
        Image.fromarray(m).save(mask)
    return ["decompose", str(image), "--mask", str(mask), "--out", str(folder / "out100")]


def full_mask_case(folder: Path) -> list[str]:
    image, mask = folder / "p24.jpg", folder / "p24.mask.png"
    if not image.exists():
        photo = surface(6000, 4000, seed=1)
        cv2.putText(photo, "LOGO", (2800, 2050), cv2.FONT_HERSHEY_DUPLEX, 3.3,
                    (200, 30, 30), 14, cv2.LINE_AA)
        Image.fromarray(photo).save(image, quality=90)
        Image.fromarray(np.full((4000, 6000), 255, np.uint8)).save(mask)
    return ["decompose", str(image), "--mask", str(mask), "--out", str(folder / "out24full")]


def project_case(folder: Path) -> list[str]:
    project = folder / "p24.ora"
    if not project.exists():
        sys.path.insert(0, str(ROOT))
        from layerlift.desktop.document import LOGO, OBJECT, Document, Layer
        from layerlift.desktop.project import save_project
        photo = surface(6000, 4000, seed=2)
        doc = Document(photo, path=str(folder / "p24-photo.jpg"))
        doc.mask[1900:2100, 2800:3200] = 255
        obj = doc.layers[0].rgba.copy()
        obj[1950:2050, 2850:3150, :3] //= 2
        asset = np.zeros((100, 300, 4), np.uint8)
        asset[..., 3] = 255
        quad = np.array([[2850, 1950], [3150, 1950], [3150, 2050], [2850, 2050]], float)
        doc.layers = [Layer("Logo", LOGO, asset=asset, ink=asset.copy(), quad=quad),
                      Layer("Object", OBJECT, rgba=obj), doc.layers[0]]
        save_project(doc, project)
    return ["export", str(project), "--out", str(folder / "p24-export.psd")]


def near_limit_case(folder: Path) -> list[str]:
    path = folder / "near-limit.ora"
    if not path.exists():
        from tests.hostile.make_ora import layer, ora, png, stack_xml
        path.write_bytes(ora({"stack.xml": stack_xml(6100, 6100, layer("data/a.png")),
                              "data/a.png": png(mode="1", size=(6100, 6100))}))
    return ["export", str(path), "--out", str(folder / "near-limit.psd")]


CASES = {"100mp-small-mark": small_mark_case, "24mp-full-mask": full_mask_case,
         "24mp-project": project_case, "near-limit-ora": near_limit_case}


def sample(stop: threading.Event, started: float, out: list[tuple[float, int]]) -> None:
    """RSS of the wrapper's children every 0.1 s (the command's process tree)."""
    import psutil

    me = psutil.Process()
    while not stop.wait(0.1):
        total = 0
        for child in me.children(recursive=True):
            try:
                total = max(total, child.memory_info().rss)
            except psutil.Error:
                pass
        out.append((time.perf_counter() - started, total))


def run_case(name: str, folder: Path, timeline: bool) -> dict:
    args = CASES[name](folder)
    cmd = [sys.executable, "-c", WRAPPER, sys.executable, "-m", "layerlift.cli", *args]
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    started = time.perf_counter()
    sampler = threading.Thread(target=sample, args=(stop, started, samples), daemon=True)
    if timeline:
        sampler.start()
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    stop.set()
    result = json.loads(run.stdout.splitlines()[-1])
    result["timeline"] = _per_second(samples)
    return result


def _per_second(samples: list[tuple[float, int]]) -> list[tuple[int, float]]:
    peaks: dict[int, int] = {}
    for t, rss in samples:
        peaks[int(t)] = max(peaks.get(int(t), 0), rss)
    return [(s, round(v / 2**30, 2)) for s, v in sorted(peaks.items())]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help=", ".join(CASES))
    parser.add_argument("--timeline", action="store_true")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args(argv)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case {sorted(unknown)[0]}; choose from {', '.join(CASES)}")
    args.cases = args.cases or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.work or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'case':<18} {'exit':>4} {'peak RSS GB':>11} {'target':>6} {'wall s':>7}")
        for name in args.cases:
            r = run_case(name, folder, args.timeline)
            target = TARGETS.get(name)
            print(f"{name:<18} {r['rc']:>4} {r['peak_rss'] / 2**30:>11.2f} "
                  f"{target if target else '':>6} {r['wall_s']:>7.1f}")
            if r["rc"] != 0:
                print("   ", r["stderr"].strip().splitlines()[-1] if r["stderr"] else "")
            if args.timeline:
                print("    RSS GB by second:", " ".join(f"{s}:{v}" for s, v in r["timeline"]))


if __name__ == "__main__":
    main()
