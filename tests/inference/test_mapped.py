"""Photo-sized temporaries of the writers live in memory maps of their own (inference/mapped.py),
so that letting go of them does not hold the GIL (the window's stall while a file is written
is measured by tests/benchmarks/desktop_save)."""

from __future__ import annotations

import mmap
import sys

import numpy as np
import pytest

from layerlift.inference import export, mapped
from layerlift.inference.contract import Layers

H, W = 1500, 1000          # 4.5 MB as RGB: over mapped.MIN_BYTES


def over_a_map(array: np.ndarray) -> bool:
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


def test_empty_is_zero_and_writable_over_a_map_of_its_own_when_large():
    big = mapped.empty((H, W, 4))
    assert big.shape == (H, W, 4) and big.dtype == np.uint8 and over_a_map(big)
    assert big.flags.c_contiguous and big.flags.writeable and not big.any()
    big[...] = 7
    other = mapped.empty((H, W, 4))
    assert not np.shares_memory(big, other) and not other.any()
    small = mapped.empty((10, 10, 3), np.float32)
    assert small.dtype == np.float32 and not over_a_map(small) and not small.any()
    source = np.arange(H * W * 4, dtype=np.uint8).reshape(H, W, 4)[:, ::-1]
    copied = mapped.copy(source)
    assert over_a_map(copied) and copied.flags.c_contiguous and np.array_equal(copied, source)


def _shared_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssShmem:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_the_map_is_private_memory_not_shared():
    """mmap's default without a file is shared memory, whose page faults are slower."""
    before = _shared_kb()
    big = mapped.empty((4000, 1000, 4))
    big[...] = 1
    assert _shared_kb() - before < 1000          # KB; 16 MB were touched


def test_the_writers_full_size_temporaries_are_mapped():
    rng = np.random.default_rng(0)
    obj = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    logo = np.zeros((H, W, 4), np.uint8)
    logo[10:20, 10:30] = 255
    layers = export.layers_from(Layers(object=obj, logo=logo))
    assert over_a_map(layers[1].rgba)                            # the Object as RGBA
    assert over_a_map(export.flatten(layers))                    # from the opaque Object
    see_through = [export.ExportLayer("Logo", logo)]
    assert over_a_map(export.flatten(see_through))               # from white
    assert over_a_map(export._rgb(layers[1].rgba))               # an opaque layer's RGB
    assert over_a_map(export._rgb(layers[1].rgba[:, ::-1]))      # ... from a strided view
    window = export.ExportLayer("Logo", logo[10:20, 10:30], offset=(10, 10))
    assert over_a_map(export.full_size(window, (H, W)))
