"""Batch throughput, classical engine: `--workers 1` vs `--workers 2`, and Ray vs `--workers 2`.

40 photos (1 MP, a ~300 px two-colour logo, each with its own seed, a loose mask beside
it) through run_batch, the API `layerlift batch` calls: load, decompose, write the layers
(PNG, PSD, ORA) and the manifest. Each repeat runs the three set-ups one after the other
into fresh folders, so load from other processes falls on all of them alike; medians and
every run are printed. Ray is a local instance (num_cpus = the machine's cores, no
dashboard) started once before the repeats, as a cluster is already up when a job comes;
its start is printed apart. The Ray job's time includes starting its 2 actors. CPU seconds
per photo (driver and workers together, local runs) show what the workers add in work,
which the machine's load does not change much: if workers 2 cost no more CPU than workers 1,
the speed-up on idle cores is near 2.

Each local run also prints the cores it used and the cores everything else on the machine
used meanwhile (/proc/stat's busy time less ours). On a shared Linux machine the scheduler
shares the CPU between sessions (autogroups), not processes: while other sessions keep
the cores busy, all of a batch's workers together get about one session's share, which
one worker already takes, so a second worker cannot show its speed-up. A figure is the
targets' measure only where "others" is near 0.

Targets (on 2 cores): workers 2 / workers 1 speed-up >= 1.5; Ray over workers 2 <= 20 %.
Run: .venv/bin/python -m tests.benchmarks.batch_scale [--photos 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from layerlift.inference.batch import run_batch
from tests.benchmarks.classical_speed import big_photo


def make_photos(folder: Path, count: int) -> None:
    import cv2
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(count):
        photo = big_photo(1000, 1000, seed=i)
        drawn = np.zeros(photo.shape[:2], np.uint8)
        cv2.putText(drawn, "LOGO", (350, 535), cv2.FONT_HERSHEY_DUPLEX, 3.3, 1, 14,
                    cv2.LINE_AA)
        cv2.circle(drawn, (500, 410), 40, 1, -1, cv2.LINE_AA)
        mask = cv2.dilate(drawn, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (25, 25)))
        Image.fromarray(photo).save(folder / f"shot{i:03d}.jpg", quality=92)
        Image.fromarray(mask * 255).save(folder / f"shot{i:03d}.mask.png")


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the local workers)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                 resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def machine_busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(photos: Path, out: Path, cpu: list[float] | None = None,
          others: list[float] | None = None, **kwargs) -> float:
    """Wall seconds of one batch; its CPU seconds appended to `cpu`, and the cores the rest
    of the machine used meanwhile to `others` (local runs only: Ray's actors are not this
    process's children)."""
    shutil.rmtree(out, ignore_errors=True)
    start, cpu_start, busy_start = time.perf_counter(), cpu_seconds(), machine_busy_seconds()
    result = run_batch([photos], out, **kwargs)
    seconds = time.perf_counter() - start
    if cpu is not None:
        cpu.append(cpu_seconds() - cpu_start)
        busy_end = machine_busy_seconds()
        if others is not None and busy_start is not None and busy_end is not None:
            others.append(max(0.0, busy_end - busy_start - cpu[-1]) / seconds)
    if result.counts.ok != result.counts.total:
        raise SystemExit(f"a photo failed: {result.failures[:1]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="only the local workers")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="layerlift-batch-bench-"))
    try:
        make_photos(root / "photos", args.photos)
        ray_start = None
        if not args.no_ray:
            import ray

            t0 = time.perf_counter()
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False,
                     logging_level=logging.WARNING, log_to_driver=False)
            ray_start = time.perf_counter() - t0
        runs: dict[str, list[float]] = {"workers 1": [], "workers 2": [], "ray, 2 actors": []}
        cpu: dict[str, list[float]] = {"workers 1": [], "workers 2": []}
        others: dict[str, list[float]] = {"workers 1": [], "workers 2": []}
        for r in range(args.repeats):
            load = os.getloadavg()[0]
            for n in (1, 2):
                k = f"workers {n}"
                runs[k].append(timed(root / "photos", root / "out", cpu[k], others[k],
                                     workers=n))
            if not args.no_ray:
                runs["ray, 2 actors"].append(timed(root / "photos", root / "out", ray=True,
                                                   workers=2))
            print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s{_cores(k, runs, cpu, others)}"
                                                   for k, v in runs.items() if v)
                  + f" (load average before it: {load:.1f})", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in runs.items() if v}
    print(f"\n{args.photos} photos, 1 MP, classical, {os.cpu_count()} cores; "
          f"load average now {os.getloadavg()[0]:.1f}")
    print("| set-up | median s | photos/s | runs s | CPU s per photo (median) "
          "| cores used by others (runs) |")
    print("|---|---|---|---|---|---|")
    for k, v in runs.items():
        if v:
            per_photo = (f"{statistics.median(cpu[k]) / args.photos:.2f}" if cpu.get(k)
                         else "–")
            busy = ", ".join(f"{x:.1f}" for x in others.get(k, [])) or "–"
            print(f"| {k} | {med[k]:.1f} | {args.photos / med[k]:.2f} | "
                  f"{', '.join(f'{x:.1f}' for x in v)} | {per_photo} | {busy} |")
    print(f"speed-up workers 2 / workers 1: {med['workers 1'] / med['workers 2']:.2f} "
          "(target >= 1.5)")
    if ray_start is not None:
        overhead = med["ray, 2 actors"] / med["workers 2"] - 1
        print(f"Ray over workers 2: {overhead * 100:+.0f} % (target <= 20 %); starting the "
              f"local Ray instance took {ray_start:.1f} s more, once")


def _cores(k: str, runs: dict, cpu: dict, others: dict) -> str:
    """ " (ours 1.0 cores, others 0.3)" for the last local run of set-up k."""
    if not cpu.get(k) or not others.get(k):
        return ""
    return f" (ours {cpu[k][-1] / runs[k][-1]:.1f} cores, others {others[k][-1]:.1f})"


if __name__ == "__main__":
    main()
