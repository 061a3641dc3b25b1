"""Running a batch's photos here: in this process (one worker) or in N worker processes.

Each worker process builds its engine once and does photo after photo. At most one photo per
worker is handed out at a time, so when a worker process dies (killed for memory, a crash in
native code) the photos it may have held are known: they are tried again one at a time, and
the one that kills a worker a second time is recorded as failed. The batch goes on.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from layerlift.inference.batch.manifest import Record
from layerlift.inference.batch.work import (
    Item,
    Job,
    died_record,
    process,
    process_in_worker,
    start_worker,
)

OnRecord = Callable[[Record], None]
WORKER_DIED = ("internal error: the worker process died while decomposing this photo "
               "(out of memory?)")


def run_here(items: Sequence[Item], job: Job, on_record: OnRecord) -> None:
    """Every photo in this process, one after the other."""
    start_worker(job.settings["engine"], job.engine_entry, threads=None)
    for item in items:
        on_record(process(item, job))


def run_in_processes(items: Sequence[Item], job: Job, workers: int,
                     on_record: OnRecord) -> None:
    """The photos over `workers` local processes; `on_record` is called here, in the driver,
    as each photo finishes. An exception from `on_record` (or Ctrl+C) stops the batch: photos
    not started are dropped and the workers are ended."""
    pending: deque[Item] = deque(items)
    suspects: set[int] = set()      # photos a dead worker may have held: tried alone
    threads = max(1, (os.cpu_count() or 1) // workers)
    while pending:
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=start_worker,
            initargs=(job.settings["engine"], job.engine_entry, threads, os.getpid()))
        try:
            _feed(pool, pending, suspects, job, workers, on_record)
        except BaseException:
            _end(pool)
            raise
        pool.shutdown(wait=True)


def _feed(pool: ProcessPoolExecutor, pending: deque[Item], suspects: set[int], job: Job,
          workers: int, on_record: OnRecord) -> None:
    """Hand photos to the pool until all are done or a worker dies (then back to the caller
    with the photos it may have held put back in `pending`)."""
    running: dict[Future, Item] = {}
    while pending or running:
        while pending and len(running) < workers:
            alone = pending[0].index in suspects
            if alone and running:
                break
            item = pending.popleft()
            try:
                future = pool.submit(process_in_worker, item, job)
            except BrokenProcessPool:
                # A worker died since the last wait: this photo never ran; the photos the
                # dead worker may have held report it below.
                pending.appendleft(item)
                if not running:
                    return
                break
            running[future] = item
            if alone:
                break
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        # Photos that finished in the same wait as a worker's death are recorded first:
        # put back with the dead worker's photos, they would be done again.
        finished = [f for f in done if not isinstance(f.exception(), BrokenProcessPool)]
        for future in finished:
            running.pop(future)
            on_record(future.result())
        if len(finished) < len(done):
            _worker_died(list(running.values()), pending, suspects, job, on_record)
            return


def _worker_died(held: list[Item], pending: deque[Item], suspects: set[int], job: Job,
                 on_record: OnRecord) -> None:
    """A worker died holding one of `held` (the photos in the pool when it broke): a photo
    that was alone and already a suspect is recorded as failed; the others go back to the
    front of the queue, each to be tried alone."""
    if len(held) == 1 and held[0].index in suspects:
        on_record(died_record(held[0], job, WORKER_DIED))  # alone, and it died again
        return
    for held_item in sorted(held, key=lambda i: i.index, reverse=True):
        suspects.add(held_item.index)
        pending.appendleft(held_item)


def _end(pool: ProcessPoolExecutor) -> None:
    """Stop the pool now: queued photos dropped, workers asked to stop (SIGTERM: a worker
    removes its half-built folder and exits)."""
    # The executor has no public way to end busy workers; its process table (private, but
    # there since 3.3) is read before shutdown clears it.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=10)
