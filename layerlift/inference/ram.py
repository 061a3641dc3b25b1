"""How much memory a job may take, and the one-line refusal when its estimate is more.

Jobs estimate their peak before they allocate anything big (the classical engine from its
working crops, see engines/classical/decompose.py) and call `check`. The limit is
LAYERLIFT_MEMORY_GB where set, else 60 % of the machine's memory, at most 8 GB: a job that
would take more is refused up front (InputError, exit 2) rather than run the machine out of
memory halfway.
"""

from __future__ import annotations

import math
import os

from layerlift.inference.errors import InputError

GIB = 1 << 30
MEMORY_ENV = "LAYERLIFT_MEMORY_GB"
DEFAULT_CAP = 8 * GIB
SHARE_OF_MACHINE = 0.6


def machine_memory() -> int | None:
    """Physical memory in bytes where the system tells (Linux, macOS), else None."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def limit() -> int:
    text = os.environ.get(MEMORY_ENV, "").strip()
    if text:
        try:
            gb = float(text)
        except ValueError:
            gb = math.nan
        if not math.isfinite(gb) or gb <= 0:
            raise InputError(f"{MEMORY_ENV} must be a positive number of GB, got {text!r}")
        return int(gb * GIB)
    total = machine_memory()
    return DEFAULT_CAP if total is None else min(DEFAULT_CAP, int(total * SHARE_OF_MACHINE))


def check(estimate: int, what: str, advice: str) -> None:
    """InputError when `estimate` bytes exceed the limit: what, how much, what would work."""
    allowed = limit()
    if estimate > allowed:
        raise InputError(f"{what} would take about {size_text(estimate)} of memory, more "
                         f"than the {size_text(allowed)} allowed; {advice} (or set "
                         f"{MEMORY_ENV})")


def size_text(n: int) -> str:
    return f"{n / GIB:.1f} GB" if n >= GIB // 10 else f"{n / (1 << 20):.0f} MB"
