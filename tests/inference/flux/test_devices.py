"""Every tensor the engine hands the pipeline reaches the transformer on the execution device.

No GPU here, so the accelerator is the `meta` device: each memory tier places the tiny
pipeline on it as it would on CUDA, and the transformer's forward records the device of
every input instead of computing. An input left on the CPU (the prompt-embedding cache is
read there) is what crashes a real GPU with "Expected all tensors to be on the same device".
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from layerlift.inference.engines.flux import memory
from layerlift.inference.engines.flux.engine import FluxEngine, Loaded, RunState
from layerlift.inference.engines.flux.tiny import POOLED_DIM, TEXT_DIM, build_tiny_fill_pipeline

PROMPT = "a prompt"


class Checked(Exception):
    """Raised by the recording forward: the first call is all the check needs."""


def placed_pipeline(tier: str, monkeypatch):
    pipe = build_tiny_fill_pipeline(seed=0)
    # as loading.load_fill_pipeline builds it: no text encoders, cached embeddings instead
    pipe.text_encoder = pipe.text_encoder_2 = pipe.tokenizer = pipe.tokenizer_2 = None
    pipe.set_progress_bar_config(disable=True)
    if tier == "group":
        # group offload looks up torch.<device> for its streams; meta has no such module,
        # and no stream is used off CUDA, so the CPU's stands in
        real = torch.get_device_module
        monkeypatch.setattr(torch, "get_device_module",
                            lambda device=None: torch.cpu if str(device) == "meta"
                            else real(device))
    memory.place(pipe, tier, "meta")
    return pipe


def recording_forward(seen: dict):
    def forward(*args, **kwargs):
        for name, value in kwargs.items():
            if isinstance(value, torch.Tensor):
                seen[name] = value.device
        raise Checked
    return forward


@pytest.mark.parametrize("tier", memory.TIERS)
def test_every_transformer_input_is_on_the_execution_device(tier, monkeypatch):
    pipe = placed_pipeline(tier, monkeypatch)
    device = pipe._execution_device
    assert device.type == "meta"
    if tier != "group":   # weights resident: the inputs must meet them there
        assert next(pipe.transformer.parameters()).device == device
    cached = (torch.randn(1, 16, TEXT_DIM), torch.randn(1, POOLED_DIM))   # read on the CPU
    loaded = Loaded(key=(), pipe=pipe, source=None, device="meta", tier=tier,
                    embeds={PROMPT: cached})
    seen: dict[str, torch.device] = {}
    pipe.transformer.forward = recording_forward(seen)
    image = np.full((64, 192, 3), 128, np.uint8)
    fill = np.zeros((64, 192), np.float32)
    fill[:, 64:] = 1.0
    with pytest.raises(Checked):
        FluxEngine()._fill(loaded, image, fill, PROMPT, steps=2, seed=0,
                           state=RunState(None, None, runs=1))
    assert {"hidden_states", "encoder_hidden_states", "pooled_projections"} <= set(seen)
    assert {name: d for name, d in seen.items() if d != device} == {}
