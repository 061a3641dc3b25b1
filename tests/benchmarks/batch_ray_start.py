"""Where `--ray` spends its time and CPU when it starts its own local Ray instance.

Each run is `run_batch(..., ray=True, workers=2)` as the CLI runs `layerlift batch --ray`,
in a fresh process (Ray not imported before the call): import Ray, start a local instance,
Ray Data's job, the photos, shut the instance down. The run is cut into phases by timestamps
(`import_ray` returning, `ray.init` and `ray.shutdown` returning, the first and last photo's
record arriving), and every process of the instance is sampled for its CPU seconds at those
moments (psutil), grouped as: the driver (this process), the two actors doing the photos,
Ray Data's own helper actors (started by the first job on an instance), and Ray's daemons
(GCS, raylet, dashboard API server, autoscaler monitor, log monitor, the two agents, idle
workers). An actor's CPU is its last sample, taken as a photo finished (Ray Data ends an
actor when no photo is left for it), so it misses at most its last photo's tail. CPU seconds
are less hurt than wall times by other users' load on the machine.

Run: .venv/bin/python -m tests.benchmarks.batch_ray_start [--photos 40] [--repeats 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tests.benchmarks.batch_scale import make_photos

KINDS = ("driver", "actors", "Ray Data helpers", "Ray daemons")
PHASES = ("import Ray", "start instance", "to first photo", "photos", "shut down", "total")
HELPERS = ("ActorLocationTracker", "AutoscalingCoordinator", "StatsActor")


def _kind(proc, driver: int) -> str:
    if proc.pid == driver:
        return "driver"
    name = proc.name()
    if name.startswith("ray::MapWorker"):
        return "actors"
    if any(h in name for h in HELPERS):
        return "Ray Data helpers"
    return "Ray daemons"


class Sampler:
    """The CPU seconds of this process and of every process under it, kept per process (the
    latest sample wins, so a process that ends keeps its last figure)."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self._error = psutil.Error
        self.cpu: dict[int, tuple[str, float]] = {}

    def sample(self) -> None:
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                self.cpu[proc.pid] = (_kind(proc, self._me.pid), times.user + times.system)
            except self._error:
                continue

    def by_kind(self) -> dict[str, float]:
        totals = dict.fromkeys(KINDS, 0.0)
        for kind, seconds in self.cpu.values():
            totals[kind] += seconds
        return totals


def one_run(photos: str, out: str) -> tuple[dict[str, float], dict[str, float]]:
    """One `--ray` batch in this fresh process: (seconds per phase, CPU seconds per kind)."""
    import sys

    from layerlift.inference.batch import on_ray, run_batch

    assert "ray" not in sys.modules, "Ray must be imported inside the timed call"
    sampler, marks = Sampler(), {}
    real_import = on_ray.import_ray

    def mark(name: str) -> None:
        marks[name] = time.perf_counter()
        sampler.sample()

    def import_ray():  # the first call (run_batch's check) imports Ray; hook its start/stop
        ray = real_import()
        if "imported" not in marks:
            mark("imported")
            init, shutdown = ray.init, ray.shutdown

            def timed_init(*args, **kwargs):
                result = init(*args, **kwargs)
                mark("started")
                return result

            def timed_shutdown(*args, **kwargs):
                mark("stopping")
                shutdown(*args, **kwargs)
                marks["stopped"] = time.perf_counter()

            ray.init, ray.shutdown = timed_init, timed_shutdown
        return ray

    def on_record(record, counts) -> None:
        # sampled at every photo: Ray Data ends an actor as soon as no photo is left for it
        sampler.sample()
        if counts.done == 1:
            mark("first")
        if counts.done == counts.total:
            mark("last")

    on_ray.import_ray = import_ray
    shutil.rmtree(out, ignore_errors=True)
    marks["call"] = time.perf_counter()
    result = run_batch([photos], out, ray=True, workers=2, on_record=on_record)
    marks["returned"] = time.perf_counter()
    if result.counts.ok != result.counts.total:
        raise SystemExit(f"a photo failed: {result.failures[:1]}")
    spans = dict(zip(PHASES, [("call", "imported"), ("imported", "started"),
                              ("started", "first"), ("first", "last"),
                              ("stopping", "stopped"), ("call", "returned")], strict=True))
    return {p: marks[b] - marks[a] for p, (a, b) in spans.items()}, sampler.by_kind()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="layerlift-ray-start-"))
    runs = []
    try:
        make_photos(root / "photos", args.photos)
        for r in range(args.repeats):
            load = os.getloadavg()[0]
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                runs.append(pool.submit(one_run, str(root / "photos"),
                                        str(root / "out")).result())
            print(f"run {r + 1}: {runs[-1][0]['total']:.1f} s "
                  f"(load average before it: {load:.1f})", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{args.photos} photos, 1 MP, classical, --ray (new local instance), 2 actors, "
          f"{os.cpu_count()} cores; load average now {os.getloadavg()[0]:.1f}")
    print("| phase | " + " | ".join(f"run {i + 1} s" for i in range(len(runs))) + " |")
    print("|---|" + "---|" * len(runs))
    for p in PHASES:
        print(f"| {p} | " + " | ".join(f"{phases[p]:.1f}" for phases, _ in runs) + " |")
    print("\n| CPU s | " + " | ".join(f"run {i + 1}" for i in range(len(runs))) + " |")
    print("|---|" + "---|" * len(runs))
    for k in (*KINDS, "all"):
        print(f"| {k} | " + " | ".join(
            f"{sum(cpu.values()) if k == 'all' else cpu[k]:.1f}" for _, cpu in runs) + " |")


if __name__ == "__main__":
    main()
