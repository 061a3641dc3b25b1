"""Loading goes through the same code for a folder, a single file and the HF cache."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from layerlift.inference.engines.flux import loading
from layerlift.inference.errors import EngineUnavailable
from tests.inference.flux.helpers import tiny_request

pytestmark = pytest.mark.filterwarnings("ignore:the flux engine is running on the CPU")


def test_saved_folder_loads_without_text_encoders(tiny_folder):
    source = loading.resolve_model(str(tiny_folder))
    assert source.base == tiny_folder and source.transformer_file is None
    pipe = loading.load_fill_pipeline(source, dtype=None)
    assert pipe.text_encoder is None and pipe.text_encoder_2 is None
    assert pipe.transformer.config.in_channels == 384


def test_hand_built_folder_runs_end_to_end(hand_built_folder, photo, fresh_engine):
    image, mask = photo
    layers = fresh_engine.decompose(tiny_request(image, mask, hand_built_folder))
    assert layers.object.shape == image.shape and layers.logo.shape == image.shape[:2] + (4,)
    assert layers.meta["model"] == str(hand_built_folder)


def test_single_file_next_to_folder_matches_the_folder(tiny_folder, photo, fresh_engine):
    image, mask = photo
    single = tiny_folder / "transformer.safetensors"
    source = loading.resolve_model(str(single))
    assert source.transformer_file == single and source.base == tiny_folder
    a = fresh_engine.decompose(tiny_request(image, mask, single, seed=7))
    b = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, seed=7))
    assert np.array_equal(a.object, b.object) and np.array_equal(a.logo, b.logo)


def test_single_file_elsewhere_takes_the_base_from_env(tiny_folder, tmp_path, monkeypatch):
    single = tmp_path / "my-fill.safetensors"
    shutil.copy(tiny_folder / "transformer.safetensors", single)
    monkeypatch.setenv(loading.BASE_ENV, str(tiny_folder))
    source = loading.resolve_model(str(single))
    assert source.base == tiny_folder
    transformer = loading.load_transformer(source, dtype=None)
    assert transformer.config.in_channels == 384


def test_repo_id_in_a_hub_cache_layout(tiny_folder, tmp_path, monkeypatch):
    """A repo id resolves to its snapshot in the Hugging Face cache, offline."""
    import huggingface_hub.constants as hub_constants

    repo = tmp_path / "hub" / "models--someone--tiny-fill"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_folder, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    source = loading.resolve_model("someone/tiny-fill")
    assert source.base == snapshot
    assert loading.load_fill_pipeline(source, dtype=None).vae is not None


def test_missing_repo_names_what_was_searched_and_the_fix(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(EngineUnavailable) as err:
        loading.resolve_model(None)
    message = str(err.value)
    assert "black-forest-labs/FLUX.1-Fill-dev" in message
    assert str(tmp_path / "empty-hub") in message
    assert "layerlift models download" in message and "\n" not in message


@pytest.mark.parametrize("case", ["no-such-dir", "not-diffusers", "missing-vae", "bad-file",
                                  "pickle-file"])
def test_bad_model_paths_are_refused(case, tiny_folder, tmp_path):
    if case == "no-such-dir":
        spec = str(tmp_path / "nothing-here")
    elif case == "not-diffusers":
        (tmp_path / "plain").mkdir()
        spec = str(tmp_path / "plain")
    elif case == "missing-vae":
        spec = str(tmp_path / "partial")
        shutil.copytree(tiny_folder, spec, ignore=shutil.ignore_patterns("vae"))
    elif case == "pickle-file":
        spec = str(tmp_path / "flux.ckpt")
        (tmp_path / "flux.ckpt").write_bytes(b"\x80\x04garbage")
    else:
        spec = str(tmp_path / "broken.safetensors")
        (tmp_path / "broken.safetensors").write_bytes(b"\x00garbage" * 10)
        shutil.copy(tiny_folder / "model_index.json", tmp_path / "model_index.json")
        for part in ("vae", "scheduler", "transformer"):
            shutil.copytree(tiny_folder / part, tmp_path / part)
    with pytest.raises(EngineUnavailable) as err:
        source = loading.resolve_model(spec)
        loading.load_fill_pipeline(source, dtype=None)
    assert "\n" not in str(err.value)
    if case == "missing-vae":
        assert "missing vae" in str(err.value)


def test_position_ids_stay_exact_at_the_largest_panel(tiny_folder):
    """bfloat16 holds integers exactly only up to 256; a 3 x 2048 triptych has 384 token
    columns. The ids the loaded pipeline builds (in the embeddings' dtype) stay distinct."""
    import torch

    pipe = loading.load_fill_pipeline(loading.resolve_model(str(tiny_folder)), torch.bfloat16)
    rows, cols = 2048 // 16, 3 * 2048 // 16
    ids = pipe._prepare_latent_image_ids(1, rows, cols, "cpu", torch.bfloat16)
    assert ids[:, 1].unique().numel() == rows and ids[:, 2].unique().numel() == cols
    assert int(ids[:, 2].max()) == cols - 1
