"""Prompt-embedding cache: encoded once per base model; a warm run never builds CLIP or T5."""

from __future__ import annotations

import pytest
import torch
import transformers

from layerlift.inference.engines.flux import embeddings, loading
from layerlift.inference.engines.flux.engine import FIXED_PROMPTS
from tests.inference.flux.helpers import tiny_request

pytestmark = pytest.mark.filterwarnings("ignore:the flux engine is running on the CPU")


def _refuse(*args, **kwargs):
    raise AssertionError("a text encoder was constructed on a warm cache")


def test_cold_then_warm_cache(tiny_folder, tmp_path, monkeypatch):
    monkeypatch.setenv(embeddings.CACHE_ENV, str(tmp_path / "cache"))
    source = loading.resolve_model(str(tiny_folder))
    assert embeddings.load_cached(source, FIXED_PROMPTS) == {}
    cold = embeddings.prompt_embeddings(source, FIXED_PROMPTS, "cpu", torch.float32)
    files = list((tmp_path / "cache").rglob("*.safetensors"))
    assert len(files) == len(FIXED_PROMPTS)
    warm = embeddings.load_cached(source, FIXED_PROMPTS)
    for prompt in FIXED_PROMPTS:
        assert torch.equal(cold[prompt][0], warm[prompt][0])
        assert warm[prompt][0].shape == (1, embeddings.MAX_SEQUENCE_LENGTH, 32)
        assert warm[prompt][1].shape == (1, 32)
    # Embeddings match what the full pipeline's own encode_prompt produces.
    from diffusers import FluxFillPipeline

    pipe = FluxFillPipeline.from_pretrained(str(tiny_folder), local_files_only=True)
    ref, pooled, _ = pipe.encode_prompt(FIXED_PROMPTS[0], None, device=torch.device("cpu"),
                                        max_sequence_length=embeddings.MAX_SEQUENCE_LENGTH)
    assert torch.allclose(ref, warm[FIXED_PROMPTS[0]][0], atol=1e-3)
    assert torch.allclose(pooled, warm[FIXED_PROMPTS[0]][1], atol=1e-3)


def test_warm_run_never_constructs_text_encoders(tiny_folder, photo, tmp_path, monkeypatch):
    from layerlift.inference.engines.flux.engine import FluxEngine

    monkeypatch.setenv(embeddings.CACHE_ENV, str(tmp_path / "cache"))
    image, mask = photo
    FluxEngine().decompose(tiny_request(image, mask, tiny_folder))     # fills the cache
    for cls in (transformers.CLIPTextModel, transformers.T5EncoderModel):
        monkeypatch.setattr(cls, "from_pretrained", classmethod(_refuse))
        monkeypatch.setattr(cls, "__init__", _refuse)
    for cls in (transformers.CLIPTokenizer, transformers.T5TokenizerFast):
        monkeypatch.setattr(cls, "from_pretrained", classmethod(_refuse))
    layers = FluxEngine().decompose(tiny_request(image, mask, tiny_folder))
    assert layers.object.shape == image.shape


def test_other_text_encoders_get_their_own_entries(tiny_folder, hand_built_folder):
    assert embeddings.text_fingerprint(tiny_folder) != \
        embeddings.text_fingerprint(hand_built_folder)
    assert embeddings.text_fingerprint(tiny_folder) == embeddings.text_fingerprint(tiny_folder)


def test_damaged_entry_is_recomputed(tiny_folder, tmp_path, monkeypatch):
    monkeypatch.setenv(embeddings.CACHE_ENV, str(tmp_path / "cache"))
    source = loading.resolve_model(str(tiny_folder))
    embeddings.prompt_embeddings(source, FIXED_PROMPTS[:1], "cpu", torch.float32)
    (entry,) = (tmp_path / "cache").rglob("*.safetensors")
    entry.write_bytes(b"broken")
    assert embeddings.load_cached(source, FIXED_PROMPTS[:1]) == {}
    again = embeddings.prompt_embeddings(source, FIXED_PROMPTS[:1], "cpu", torch.float32)
    assert FIXED_PROMPTS[0] in again and entry.stat().st_size > 100
