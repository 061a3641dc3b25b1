"""Running a batch's photos on Ray: Ray Data over the photos, a pool of actors doing them.

Each actor builds its engine once and keeps it: one actor per GPU (`num_gpus=1`) holding the
loaded flux pipeline, or one per CPU for the classical engine. Every photo is its own block,
so the actors share the work evenly and results stream back as photos finish; the actors
write the layers to OUT themselves (OUT and the photos must be on storage every node sees at
the same path), and only the driver writes the manifest, as in a local run.

Ray is an optional extra (`pip install 'layerlift[ray]'`); it is imported only here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from layerlift.inference.batch.manifest import Record
from layerlift.inference.batch.work import Item, Job, died_record, process, start_worker
from layerlift.inference.decompose_file import json_safe
from layerlift.inference.errors import InputError

RAY_MISSING = ("--ray needs Ray, which is not installed here: pip install 'layerlift[ray]' "
               "(on every node of the cluster)")
ACTOR_DIED = ("internal error: the Ray worker died while decomposing this photo "
              "(out of memory?), and again on a retry")


def import_ray():
    """The ray module with Ray Data, or InputError saying how to get it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is the `data` extra of ray)
    except ImportError:
        raise InputError(RAY_MISSING) from None
    return ray


def actor_plan(job: Job, resources: Mapping[str, float],
               actors: int | None) -> tuple[int, dict[str, float]]:
    """(number of actors, resources of each) for the job on a cluster with `resources`.

    flux takes a whole GPU per actor (on `--device cpu`, one CPU actor); classical one CPU
    per actor. `actors` (--workers) caps the count; by default the cluster is filled.
    """
    settings = job.settings
    if settings["engine"] == "flux" and settings.get("device") != "cpu":
        gpus = int(resources.get("GPU", 0))
        if gpus < 1:
            raise InputError("the Ray cluster has no GPU for the flux engine (start its "
                             "nodes with GPUs, or give --device cpu)")
        return min(actors or gpus, gpus), {"num_cpus": 1, "num_gpus": 1}
    if settings["engine"] == "flux":
        return 1, {"num_cpus": max(1, int(resources.get("CPU", 1)))}
    cpus = max(1, int(resources.get("CPU", 1)))
    return min(actors or cpus, cpus), {"num_cpus": 1}


class Decomposer:
    """A Ray Data actor: the engine built once; one photo per call. `job_json` and `threads`
    are set on a subclass per run (constructor arguments would go through the object store,
    which Ray warns about for actors that may restart)."""

    job_json = ""
    threads = 1  # OpenCV's threads: the CPUs the actor holds, as a local worker does

    def __init__(self) -> None:
        self.job = Job(**json.loads(self.job_json))
        start_worker(self.job.settings["engine"], self.job.engine_entry, threads=self.threads)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        # A record goes back as one JSON string: Arrow need not agree on a schema for
        # records that differ (an error here, a confidence there).
        return {"record": [json.dumps(json_safe(process(Item.from_json(str(text)), self.job)))
                           for text in batch["item"]]}


def run_on_ray(items: Sequence[Item], job: Job, address: str | None, actors: int | None,
               on_record: Callable[[Record], None]) -> None:
    """The photos on the Ray cluster at `address` (None: the instance this process has
    already started, else a new local one for this batch), `on_record` called here as each
    finishes.

    Each actor holds two photos: the one it is doing and the next, so it starts the next as
    soon as it finishes one instead of idling until Ray Data's next scheduling round (0.1 to
    0.2 s a photo). A photo that kills its actor can take the photo queued behind it down
    too, so the photos lost that way are done again with one photo per actor, where only
    the photo that kills its actor is lost.
    """
    ray = import_ray()
    with _connected(ray, address):
        count, each = actor_plan(job, ray.cluster_resources(), actors)
        with _data_context(ray):
            lost = _one_pass(ray, items, job, count, each, 2, on_record)
            if lost:
                lost = _one_pass(ray, lost, job, count, each, 1, on_record)
        for item in lost:
            on_record(died_record(item, job, ACTOR_DIED))


def _one_pass(ray, items: Sequence[Item], job: Job, actors: int, each: dict[str, float],
              in_flight: int, on_record: Callable[[Record], None]) -> list[Item]:
    """`items` through a pool of `actors` actors holding `in_flight` photos each; returns the
    photos that came back from no actor (lost with an actor that died twice)."""
    count = min(actors, len(items))  # no idle actors holding a GPU each
    # every photo its own block, so the actors share the photos evenly
    rows = ray.data.from_items([{"item": i.to_json()} for i in items],
                               override_num_blocks=len(items))
    actor = type("RunDecomposer", (Decomposer,),
                 {"job_json": json.dumps(job.__dict__), "threads": int(each["num_cpus"])})
    with warnings.catch_warnings():
        # Ray 2.60 has no named parameter for the task retries (see pyproject's pin)
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ray.data.ActorPoolStrategy(size=count, max_tasks_in_flight_per_actor=in_flight)
        results = rows.map_batches(
            actor, batch_size=1, compute=pool,
            # a photo whose actor dies is tried once more on a new actor, then dropped
            # (max_errored_blocks in _data_context) and returned as lost, not retried
            # forever as Ray Data's default would
            max_restarts=-1, max_task_retries=1, **each)
    seen: set[str] = set()
    for row in results.iter_rows():
        record = json.loads(row["record"])
        seen.add(record["input"])
        on_record(record)
    return [item for item in items if item.photo not in seen]


@contextlib.contextmanager
def _connected(ray, address: str | None) -> Iterator[None]:
    """Ray as the caller has it, or connected for this batch (and disconnected after)."""
    if ray.is_initialized():
        yield
        return
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:  # "local": a new instance, even where a cluster runs here (that is "auto")
            ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING,
                     log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise InputError(f"cannot connect to the Ray cluster at {address or 'local'}: "
                         f"{' '.join(str(e).split())[:300]}") from None
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _data_context(ray) -> Iterator[None]:
    """Ray Data quiet (our own progress line instead of its bars) and tolerant of photos
    whose actor died (see run_on_ray); the caller's settings back afterwards."""
    ctx = ray.data.DataContext.get_current()
    saved = ctx.enable_progress_bars, ctx.max_errored_blocks
    ctx.enable_progress_bars, ctx.max_errored_blocks = False, -1
    # "ray.data._internal.progress" only says that its bars are off, which we asked for
    quiet = {"ray.data": logging.WARNING, "ray.data._internal.progress": logging.ERROR}
    loggers = [logging.getLogger(n) for n in quiet]
    levels = [lg.level for lg in loggers]
    for lg, level in zip(loggers, quiet.values(), strict=True):
        lg.setLevel(level)
    try:
        yield
    finally:
        ctx.enable_progress_bars, ctx.max_errored_blocks = saved
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
