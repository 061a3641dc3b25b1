"""Batch: many photos decomposed into OUT/<stem>/, with a manifest, resume by content hash,
local worker processes or Ray. `run_batch` is the API; `layerlift batch` calls it.

    inputs.py    which photos, and each one's folder under OUT
    prompts.py   where each photo's mark is (masks beside, a masks folder, boxes, points)
    manifest.py  OUT/manifest.jsonl and the lock on OUT
    work.py      one photo, as a worker does it; the resume key
    local.py     here, or in local worker processes
    on_ray.py    on Ray (Ray Data and an actor pool); Ray is imported only there
    run.py       run_batch
"""

from layerlift.inference.batch.prompts import (
    BoxTable,
    MaskFolder,
    MasksBeside,
    OneBox,
    OneMask,
    PointTable,
    Prompt,
)
from layerlift.inference.batch.run import BatchCounts, BatchResult, run_batch

__all__ = [
    "BatchCounts",
    "BatchResult",
    "BoxTable",
    "MaskFolder",
    "MasksBeside",
    "OneBox",
    "OneMask",
    "PointTable",
    "Prompt",
    "run_batch",
]
