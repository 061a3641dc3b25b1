"""`layerlift batch --ray` on a local Ray instance (2 CPUs, no dashboard) this module starts
and shuts down. Few tests: starting Ray and its actors costs seconds."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerlift.inference import cli, engines
from layerlift.inference.batch import on_ray, run_batch
from layerlift.inference.batch.work import Job
from tests.inference.batch_engines import LOG_ENV
from tests.inference.test_batch import (
    by_run,
    make_killer_photo,
    make_photos,
    photo_and_mask,
    statuses,
    visible,
)

# Skipped where Ray is not installed, but never in CI (.ci/run installs the ray extra).
ray = pytest.importorskip("ray") if not os.environ.get("CI") else __import__("ray")
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    log = tmp_path_factory.mktemp("ray") / "engine.log"
    # The actors import this checkout's layerlift and tests, and log like the local tests.
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")])),
           LOG_ENV: str(log)}
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False, runtime_env={"env_vars": env})
    yield log
    ray.shutdown()


def test_ray_ten_photos_and_a_corrupt_one_then_a_rerun_skips_all_ten(local_ray, tmp_path,
                                                                      capsys):
    folder = tmp_path / "shots"
    make_photos(folder, 10)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    Image.fromarray(photo_and_mask(0)[1].astype(np.uint8) * 255).save(folder / "broken.mask.png")
    out = tmp_path / "out"
    rc = cli.main(["batch", str(folder), "--out", str(out), "--ray"])
    captured = capsys.readouterr()
    assert rc == 2, captured
    assert "10 done, 1 failed, 0 skipped (of 11)" in captured.out
    (first,) = by_run(out)
    assert statuses(first) == {"ok": 10, "failed": 1}
    assert all(r["worker"].split(":")[1] != str(os.getpid()) for r in first)  # actors did it
    assert len(visible(out)) == 11

    rc = cli.main(["batch", str(folder), "--out", str(out), "--ray"])
    assert rc == 2
    assert "0 done, 1 failed, 10 skipped (of 11)" in capsys.readouterr().out

    # The same job as a local run: the same layers, byte for byte.
    local = tmp_path / "local"
    run_batch([folder / "p03.png"], local)
    for name in ("object.png", "logo.png"):
        assert (local / "p03" / name).read_bytes() == (out / "p03" / name).read_bytes()


def test_ray_photo_that_kills_its_actor_fails_once_retried(local_ray, tmp_path, monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "crashing",
                        "tests.inference.batch_engines:CrashingEngine")
    make_photos(tmp_path / "in", 3)
    make_killer_photo(tmp_path / "in")
    result = run_batch([tmp_path / "in"], tmp_path / "out", settings={"engine": "crashing"},
                       ray=True)
    assert (result.counts.ok, result.counts.failed_internal) == (3, 1)
    (failure,) = result.failures
    assert failure["input"].endswith("killer.png") and "Ray worker died" in failure["error"]
    crashes = [line for line in local_ray.read_text().splitlines() if line.startswith("crash")]
    # tried a few times, not forever: twice with a photo queued behind it, twice alone (Ray
    # may count an actor lost before the call reached it as a try, so fewer runs are fine)
    assert 1 <= len(crashes) <= 4


def test_an_actor_runs_opencv_on_as_many_threads_as_it_holds_cpus(tmp_path, monkeypatch):
    # (OpenCV would take every core of the node, so two one-CPU actors on two cores would
    # run four threads)
    started = []
    monkeypatch.setattr(on_ray, "start_worker",
                        lambda engine, entry, threads: started.append((engine, threads)))
    job = Job(out=str(tmp_path), settings={"engine": "classical"}, candidates=1,
              grabcut=False, run="r", settings_key="k", engine_entry=engines.ENGINES["classical"])
    actor = type("OneCpuDecomposer", (on_ray.Decomposer,),
                 {"job_json": json.dumps(job.__dict__), "threads": 1})
    actor()
    assert started == [("classical", 1)]
