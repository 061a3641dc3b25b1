"""Memory tiers: placement on any device, OOM fallback one tier down, forced tiers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from layerlift.inference.engines.flux import memory
from layerlift.inference.errors import EngineUnavailable, InputError
from tests.inference.flux.helpers import tiny_request

pytestmark = pytest.mark.filterwarnings("ignore:the flux engine is running on the CPU")


def fail_first_pipeline_call(monkeypatch, message: str) -> list[int]:
    """The pipeline's first call raises a CUDA out-of-memory error; later calls run.
    Returns the list that records one entry per call."""
    from diffusers import FluxFillPipeline

    original = FluxFillPipeline.__call__
    calls = []

    def first_call_runs_out(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError(message)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FluxFillPipeline, "__call__", first_call_runs_out)
    return calls


def test_oom_falls_back_one_tier_and_says_so(tiny_folder, photo, fresh_engine, monkeypatch):
    image, mask = photo
    calls = fail_first_pipeline_call(monkeypatch, "CUDA out of memory. Tried to allocate 2 GiB")
    with pytest.warns(RuntimeWarning, match="out of GPU memory with memory tier gpu; "
                                            "retrying with fp8"):
        layers = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, memory="gpu"))
    assert layers.meta["memory_tiers_tried"] == ["gpu", "fp8"]
    assert layers.meta["memory_tier"] == "fp8" and len(calls) == 2
    assert np.array_equal(layers.object[~mask], image[~mask])


def test_oom_at_the_last_tier_is_a_clear_error(tiny_folder, photo, fresh_engine, monkeypatch):
    from diffusers import FluxFillPipeline

    def always_out(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(FluxFillPipeline, "__call__", always_out)
    image, mask = photo
    with pytest.raises(EngineUnavailable, match="even with memory tier group"), \
            pytest.warns(RuntimeWarning):
        fresh_engine.decompose(tiny_request(image, mask, tiny_folder, memory="fp8"))


@pytest.mark.parametrize("tier", ["fp8", "group"])
def test_tiers_that_apply_on_cpu_run_and_stay_close(tier, tiny_folder, photo, fresh_engine):
    image, mask = photo
    plain = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, memory="gpu"))
    placed = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, memory=tier))
    assert placed.meta["memory_tier"] == tier
    pipe = fresh_engine._loaded.pipe
    if tier == "fp8":
        assert any(p.dtype == torch.float8_e4m3fn for p in pipe.transformer.parameters())
    if tier == "group":                   # the same weights, streamed: the same result
        np.testing.assert_array_equal(placed.object, plain.object)
        return
    # fp8 rounds the stored weights: the fill moves a little, far less than another seed
    # moves it (measured: 0.7 levels on average where the fill changed the photo, max 3;
    # another seed, 25).
    filled = np.abs(plain.object.astype(int) - image).max(axis=2) > 0
    assert filled.sum() > 50
    diff = np.abs(placed.object.astype(int) - plain.object)[filled]
    assert diff.mean() <= 2.5 and diff.max() <= 24, (diff.mean(), diff.max())


def test_nf4_without_bitsandbytes_is_a_clear_error(tiny_folder, photo, fresh_engine,
                                                    monkeypatch):
    monkeypatch.setattr(memory, "has_bitsandbytes", lambda: False)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    image, mask = photo
    with pytest.raises(EngineUnavailable, match="bitsandbytes"):
        fresh_engine.decompose(tiny_request(image, mask, tiny_folder, memory="nf4"))


def test_tier_order_and_picking(monkeypatch):
    monkeypatch.setattr(memory, "has_bitsandbytes", lambda: False)
    assert memory.next_tier("gpu") == "fp8"
    assert memory.next_tier("fp8") == "group"            # nf4 skipped without bitsandbytes
    assert memory.next_tier("group") is None
    for free, tier in [(40.0, "gpu"), (24.5, "fp8"), (16.0, "fp8"), (10.0, "group"),
                       (1.0, "group")]:
        monkeypatch.setattr(memory, "free_vram_gib", lambda device, f=free: f)
        assert memory.pick_tier("cuda") == tier
    monkeypatch.setattr(memory, "has_bitsandbytes", lambda: True)
    monkeypatch.setattr(memory, "free_vram_gib", lambda device: 10.0)
    assert memory.pick_tier("cuda") == "nf4"
    assert memory.pick_tier("cpu", "fp8") == "fp8"
    with pytest.raises(InputError):
        memory.pick_tier("cpu", "huge")


def test_devices():
    with pytest.warns(RuntimeWarning, match="CPU"):
        assert memory.pick_device("cpu") == "cpu"
    with pytest.raises(InputError):
        memory.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA"):
            memory.pick_device("cuda")


def test_later_runs_start_from_the_tier_that_worked(tiny_folder, photo, fresh_engine,
                                                    monkeypatch):
    image, mask = photo
    fail_first_pipeline_call(monkeypatch, "CUDA out of memory")
    with pytest.warns(RuntimeWarning, match="retrying"):
        fresh_engine.decompose(tiny_request(image, mask, tiny_folder))
    again = fresh_engine.decompose(tiny_request(image, mask, tiny_folder))
    assert again.meta["memory_tiers_tried"] == ["fp8"]


def test_fp8_tier_keeps_the_lora_in_full_precision(tiny_folder, lora_file, photo,
                                                   fresh_engine):
    image, mask = photo
    layers = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, memory="fp8",
                                                 lora=str(lora_file)))
    assert layers.meta["mode"] == "lora" and layers.meta["memory_tier"] == "fp8"
    params = dict(fresh_engine._loaded.pipe.transformer.named_parameters())
    lora_params = [p for n, p in params.items() if "lora_" in n]
    assert lora_params and all(p.dtype == torch.float32 for p in lora_params)
    assert params["transformer_blocks.0.attn.to_q.base_layer.weight"].dtype == \
        torch.float8_e4m3fn


def test_each_tier_down_needs_clearly_less_memory():
    """A tier that falls back to the next must save real memory. Model CPU offload did not:
    with the text encoders never loaded, the 22.2 GiB transformer stays resident anyway."""
    needs = [memory.TIER_NEEDS_GIB[t] for t in memory.TIERS]
    assert all(lower <= 0.75 * higher for higher, lower in zip(needs, needs[1:], strict=False))


class FakeCuda:
    """torch.cuda as seen by free_vram_gib: an 80 GiB card, 30 GiB of it held in PyTorch's
    cache (freed by the trainer, not yet given back) until empty_cache() is called."""

    def __init__(self) -> None:
        self.cached = 30 * 2**30

    def is_available(self) -> bool:
        return True

    def empty_cache(self) -> None:
        self.cached = 0

    def mem_get_info(self, device=None) -> tuple[int, int]:
        total = 80 * 2**30
        return total - self.cached, total


def test_memory_cached_by_pytorch_counts_as_free(monkeypatch):
    """`train improve`: after a round of training, the engine must not pick a lower tier
    because the trainer's freed memory still sits in PyTorch's cache."""
    fake = FakeCuda()
    for name in ("is_available", "empty_cache", "mem_get_info"):
        monkeypatch.setattr(torch.cuda, name, getattr(fake, name))
    assert memory.free_vram_gib("cuda") == 80.0
    assert memory.pick_tier("cuda") == "gpu"


def test_a_loaded_pipeline_keeps_its_tier(tiny_folder, photo, fresh_engine, monkeypatch):
    """Free VRAM measured with the pipeline loaded leaves out its own weights: the next run
    must not take that for a smaller card and reload one tier down."""
    image, mask = photo
    monkeypatch.setattr(memory, "free_vram_gib", lambda device: 40.0)
    first = fresh_engine.decompose(tiny_request(image, mask, tiny_folder))
    pipe = fresh_engine._loaded.pipe
    monkeypatch.setattr(memory, "free_vram_gib", lambda device: 40.0 - 22.2)
    again = fresh_engine.decompose(tiny_request(image, mask, tiny_folder))
    assert first.meta["memory_tier"] == again.meta["memory_tier"] == "gpu"
    assert fresh_engine._loaded.pipe is pipe
