"""Batch throughput, classical engine: `--workers 1` vs `--workers 2`, and Ray vs `--workers 2`.

40 photos (1 MP, a ~300 px two-colour logo, each with its own seed, a loose mask beside
it) through run_batch, the API `layerlift batch` calls: load, decompose, write the layers
(PNG, PSD, ORA) and the manifest. Each repeat runs the set-ups one after the other into
fresh folders, so load from other processes falls on all of them alike; medians and every
run are printed. Each time is what a user waits for, from the call to its return:
- `workers 1`, `workers 2`: `--workers N`, starting the workers included;
- `ray, new instance`: `--ray` with no address, as the CLI runs it: starting a local Ray
  instance (`import ray` and ray.init), Ray Data's own helper actors, the 2 actors, the
  photos and shutting the instance down (run in a fresh process, as each CLI run is);
- `ray, running instance`: `--ray=ADDRESS` on an instance that is already up (here: started
  in this process before the repeats, as `ray start --head` would be; its start is printed
  apart): the job's own actors are started in each run; Ray Data's helper actors are
  started by the first job on an instance and kept by it, so only repeat 1 pays them.
CPU seconds per photo (local runs: driver and workers together) show what the workers add
in work, which the machine's load does not change much.

Each run also prints the cores it used and the cores everything else on the machine used
meanwhile (/proc/stat's busy time less ours; for the running Ray instance "ours" is every
process of the instance). On a shared Linux machine the scheduler shares the CPU between
sessions (autogroups), not processes: while other sessions keep the cores busy, all of a
batch's workers together get about one session's share, which one worker already takes, so
a second worker cannot show its speed-up. A figure is the targets' measure only where
"others" is near 0.

Targets (on 2 cores): workers 2 / workers 1 speed-up >= 1.5; Ray over workers 2 <= 20 %.
Run: .venv/bin/python -m tests.benchmarks.batch_scale [--photos 40] [--repeats 3] [--no-ray]
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


def instance_cpu() -> dict[int, float]:
    """CPU seconds so far of this process and of every process under it (the Ray instance
    it started: its daemons, helper actors and the job's actors), by process id."""
    import psutil

    me = psutil.Process()
    seconds = {}
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        seconds[proc.pid] = times.user + times.system
    return seconds


def machine_busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Run:
    """One timed batch: wall seconds, our CPU seconds, the cores others used meanwhile."""

    def __init__(self, on_ray_instance: bool = False) -> None:
        self.on_ray_instance = on_ray_instance
        self.seconds = self.cpu = self.others = None

    def __enter__(self) -> Run:
        self._busy = machine_busy_seconds()
        self._cpu = instance_cpu() if self.on_ray_instance else cpu_seconds()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
        if self.on_ray_instance:  # processes that ended meanwhile are missed: a floor
            after = instance_cpu()
            self.cpu = sum(c - self._cpu.get(pid, 0.0) for pid, c in after.items())
        else:
            self.cpu = cpu_seconds() - self._cpu
        busy = machine_busy_seconds()
        if busy is not None and self._busy is not None:
            self.others = max(0.0, busy - self._busy - self.cpu) / self.seconds


def batch(photos: Path, out: Path, **kwargs) -> None:
    shutil.rmtree(out, ignore_errors=True)
    result = run_batch([photos], out, **kwargs)
    if result.counts.ok != result.counts.total:
        raise SystemExit(f"a photo failed: {result.failures[:1]}")


def timed_on_new_instance(photos: str, out: str) -> float:
    """`--ray` as a CLI run does it, in this fresh process: Ray imported, a local instance
    started, the batch, the instance shut down; returns the wall seconds of all of it."""
    import sys

    assert "ray" not in sys.modules, "Ray must start inside the timed call"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = run_batch([photos], out, ray=True, workers=2)
    seconds = time.perf_counter() - start
    if result.counts.ok != result.counts.total:
        raise SystemExit(f"a photo failed: {result.failures[:1]}")
    return seconds


def on_new_instance(photos: Path, out: Path) -> Run:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    run = Run()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        run.seconds = pool.submit(timed_on_new_instance, str(photos), str(out)).result()
    return run


NEW, RUNNING = "ray, new instance", "ray, running instance"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="only the local workers")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="layerlift-batch-bench-"))
    setups = ["workers 1", "workers 2"] + ([] if args.no_ray else [NEW, RUNNING])
    runs: dict[str, list[Run]] = {k: [] for k in setups}
    try:
        make_photos(root / "photos", args.photos)
        photos, out = root / "photos", root / "out"
        ray_start = None
        for r in range(args.repeats):
            load = os.getloadavg()[0]
            for n in (1, 2):
                with Run() as run:
                    batch(photos, out, workers=n)
                runs[f"workers {n}"].append(run)
            if not args.no_ray:
                runs[NEW].append(on_new_instance(photos, out))
                if ray_start is None:
                    ray_start = start_instance()
                with Run(on_ray_instance=True) as run:
                    batch(photos, out, ray=True, workers=2)
                runs[RUNNING].append(run)
            print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1].seconds:.1f} s{_cores(v[-1])}"
                                                   for k, v in runs.items())
                  + f" (load average before it: {load:.1f})", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(runs, args.photos, ray_start)


def start_instance() -> float:
    """Start the "running" local Ray instance in this process; returns its start seconds."""
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False,
             logging_level=logging.WARNING, log_to_driver=False)
    return time.perf_counter() - start


def report(runs: dict[str, list[Run]], photos: int, ray_start: float | None) -> None:
    med = {k: statistics.median(r.seconds for r in v) for k, v in runs.items()}
    print(f"\n{photos} photos, 1 MP, classical, {os.cpu_count()} cores; "
          f"load average now {os.getloadavg()[0]:.1f}")
    print("| set-up | median s | photos/s | runs s | CPU s per photo (median) "
          "| cores used by others (runs) |")
    print("|---|---|---|---|---|---|")
    for k, v in runs.items():
        cpu = [r.cpu for r in v if r.cpu is not None]
        per_photo = f"{statistics.median(cpu) / photos:.2f}" if cpu else "–"
        busy = ", ".join(f"{r.others:.1f}" for r in v if r.others is not None) or "–"
        print(f"| {k} | {med[k]:.1f} | {photos / med[k]:.2f} | "
              f"{', '.join(f'{r.seconds:.1f}' for r in v)} | {per_photo} | {busy} |")
    print(f"speed-up workers 2 / workers 1: {med['workers 1'] / med['workers 2']:.2f} "
          "(target >= 1.5)")
    for k in (NEW, RUNNING):
        if k in med:
            print(f"{k} over workers 2: {(med[k] / med['workers 2'] - 1) * 100:+.0f} % "
                  "(target <= 20 %)")
    if ray_start is not None:
        print(f"starting the running instance (not in its runs) took {ray_start:.1f} s")


def _cores(run: Run) -> str:
    """ " (ours 1.0 cores, others 0.3)" where the run measured them."""
    if run.cpu is None or run.others is None:
        return ""
    return f" (ours {run.cpu / run.seconds:.1f} cores, others {run.others:.1f})"


if __name__ == "__main__":
    main()
