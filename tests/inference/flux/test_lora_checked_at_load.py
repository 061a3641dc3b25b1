"""The engine's own LoRA load checks the file's header before diffusers (and torch) read it.

The CLI checks `--lora` early too, but the app and the trainer reach the engine without the
CLI, so `lora.load_lora` must refuse on its own: a pickle must never reach `torch.load`.
"""

from __future__ import annotations

import pytest
import torch

from layerlift.inference.engines.flux import lora
from layerlift.inference.errors import EngineUnavailable

pytestmark = pytest.mark.filterwarnings("ignore:the flux engine is running on the CPU")


@pytest.fixture
def pipe(tiny_folder):
    from diffusers import FluxFillPipeline

    return FluxFillPipeline.from_pretrained(str(tiny_folder), local_files_only=True)


def _never_read(monkeypatch) -> list[str]:
    """Record every attempt to read LoRA weights: diffusers' loader and torch.load."""
    reads: list[str] = []
    real_torch_load = torch.load

    def spy_torch_load(*args, **kwargs):
        reads.append("torch.load")
        return real_torch_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy_torch_load)
    return reads


def test_a_pickle_lora_is_refused_before_torch_reads_it(pipe, tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    torch.save({"transformer.x.lora_A.weight": torch.zeros(2, 2)}, path)
    reads = _never_read(monkeypatch)
    loader_calls = []
    monkeypatch.setattr(pipe, "load_lora_weights",
                        lambda *a, **k: loader_calls.append(a))
    with pytest.raises(EngineUnavailable, match="not a .safetensors LoRA"):
        lora.load_lora(pipe, path)
    assert loader_calls == [] and reads == []
    assert not getattr(pipe.transformer, "peft_config", None)


def test_a_lora_for_other_modules_is_refused_not_silently_ignored(pipe, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "foreign.safetensors"
    save_file({"transformer.nowhere.lora_A.weight": torch.zeros(2, 2),
               "transformer.nowhere.lora_B.weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(EngineUnavailable, match="does not fit this FLUX transformer"):
        lora.load_lora(pipe, path)
    assert not getattr(pipe.transformer, "peft_config", None)


def test_a_good_lora_loads_once(pipe, lora_file):
    name = lora.load_lora(pipe, lora_file)
    assert name in pipe.transformer.peft_config
    assert lora.load_lora(pipe, lora_file) == name
    assert list(pipe.transformer.peft_config) == [name]


def test_a_lora_is_saved_as_safetensors_only(tmp_path):
    from layerlift.inference.errors import InputError

    with pytest.raises(InputError, match=r"^a LoRA is saved as \.safetensors, not x\.bin$"):
        lora.save_lora(None, tmp_path / "x.bin", None)
    assert list(tmp_path.iterdir()) == []
