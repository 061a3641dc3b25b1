"""LoRA: diffusers .safetensors with metadata round-trips; everything else is refused."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from layerlift.inference.engines.flux import lora
from layerlift.inference.errors import EngineUnavailable, InputError
from tests.inference.flux.helpers import tiny_request

pytestmark = pytest.mark.filterwarnings("ignore:the flux engine is running on the CPU")


def test_saved_lora_carries_rank_and_alpha(lora_file):
    meta = lora.check_lora_file(lora_file)
    assert meta["r"] == 4 and meta["lora_alpha"] == 8
    assert not list(lora_file.parent.glob(".lora-*"))      # no temp dir left behind


def test_lora_decompose_uses_the_triptych_and_scale_matters(tiny_folder, lora_file, photo,
                                                             fresh_engine):
    image, mask = photo
    full = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, lora=str(lora_file)))
    assert full.meta["mode"] == "lora" and full.meta["lora"]["scale"] == 1.0
    pipe = fresh_engine._loaded.pipe
    adapters = list(pipe.transformer.peft_config)
    half = fresh_engine.decompose(tiny_request(image, mask, tiny_folder,
                                               lora=f"{lora_file}:0.5"))
    assert half.meta["lora"]["scale"] == 0.5
    assert list(pipe.transformer.peft_config) == adapters        # loaded once, reused
    assert not np.array_equal(full.object, half.object)
    assert np.array_equal(full.object[~mask], image[~mask])
    # Zero-shot after a LoRA run: the adapter is switched off, not left active.
    plain = fresh_engine.decompose(tiny_request(image, mask, tiny_folder))
    fresh = type(fresh_engine)().decompose(tiny_request(image, mask, tiny_folder))
    assert np.array_equal(plain.object, fresh.object)


def _forward(transformer) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    n, t = 16, 8
    with torch.no_grad():
        return transformer(
            hidden_states=torch.randn(1, n, 384, generator=g),
            encoder_hidden_states=torch.randn(1, t, 32, generator=g),
            pooled_projections=torch.randn(1, 32, generator=g),
            timestep=torch.tensor([0.5]), guidance=torch.tensor([30.0]),
            img_ids=torch.zeros(n, 3), txt_ids=torch.zeros(t, 3), return_dict=False)[0]


def test_lora_round_trip_keeps_outputs(tiny_folder, tmp_path):
    """Saved then loaded (rank and alpha from the metadata) = the adapter that was saved."""
    from diffusers import FluxFillPipeline
    from peft import LoraConfig

    pipe = FluxFillPipeline.from_pretrained(str(tiny_folder), local_files_only=True)
    base = _forward(pipe.transformer)
    config = LoraConfig(r=2, lora_alpha=16, target_modules=["to_q", "to_v", "proj_out"])
    pipe.transformer.add_adapter(config, adapter_name="default")
    torch.manual_seed(1)
    for name, param in pipe.transformer.named_parameters():
        if "lora_B" in name:
            param.data.normal_(0, 0.2)
    adapted = _forward(pipe.transformer)
    path = tmp_path / "round.safetensors"
    lora.save_lora(pipe.transformer, path, config)

    fresh = FluxFillPipeline.from_pretrained(str(tiny_folder), local_files_only=True)
    name = lora.load_lora(fresh, path)
    assert fresh.transformer.peft_config[name].lora_alpha == 16
    lora.activate(fresh, name, 1.0)
    assert torch.allclose(_forward(fresh.transformer), adapted, atol=1e-5)
    assert not torch.allclose(adapted, base, atol=1e-3)
    lora.activate(fresh, None)
    assert torch.allclose(_forward(fresh.transformer), base, atol=1e-5)


@pytest.mark.parametrize("kind", ["pickle", "garbage", "empty", "wrong-keys", "foreign-module",
                                  "missing-b", "missing"])
def test_bad_lora_files_are_refused(kind, tmp_path, tiny_folder, lora_file):
    from safetensors.torch import save_file

    path = tmp_path / "bad.safetensors"
    if kind == "pickle":
        torch.save({"transformer.x.lora_A.weight": torch.zeros(2, 2)}, path)
    elif kind == "garbage":
        path.write_bytes(b"not a tensor file at all" * 10)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "wrong-keys":
        save_file({"lora_unet_down.alpha": torch.zeros(1)}, str(path))
    elif kind == "foreign-module":
        save_file({"transformer.nowhere.lora_A.weight": torch.zeros(2, 2),
                   "transformer.nowhere.lora_B.weight": torch.zeros(2, 2)}, str(path))
    elif kind == "missing-b":
        save_file({"transformer.proj_out.lora_A.weight": torch.zeros(2, 2)}, str(path))
    else:
        path = tmp_path / "absent.safetensors"
    from diffusers import FluxTransformer2DModel

    names = {n for n, _ in FluxTransformer2DModel.from_pretrained(
        str(tiny_folder), subfolder="transformer", local_files_only=True).named_modules()}
    with pytest.raises(EngineUnavailable) as err:
        lora.check_lora_file(path, names)
    assert isinstance(err.value, InputError) and "\n" not in str(err.value)


def test_header_lying_about_its_length_is_refused(tmp_path):
    path = tmp_path / "liar.safetensors"
    header = json.dumps({"a": 1}).encode()
    path.write_bytes(struct.pack("<Q", 10**9) + header)
    with pytest.raises(EngineUnavailable):
        lora.read_header(path)


def test_refused_lora_stops_the_run(tiny_folder, photo, tmp_path, fresh_engine):
    image, mask = photo
    bad = tmp_path / "model.ckpt"
    torch.save({"state_dict": {}}, bad)
    with pytest.raises(EngineUnavailable):
        fresh_engine.decompose(tiny_request(image, mask, tiny_folder, lora=str(bad)))


@pytest.mark.parametrize("spec,path,scale", [
    ("a.safetensors", "a.safetensors", 1.0),
    ("a.safetensors:0.7", "a.safetensors", 0.7),
    ("/x/y:z.safetensors", "/x/y:z.safetensors", 1.0),
    ("a.safetensors:-1", "a.safetensors", -1.0),
])
def test_parse_lora_spec(spec, path, scale):
    p, s = lora.parse_lora_spec(spec)
    assert str(p) == path and s == scale


def test_absurd_scale_is_an_input_error():
    with pytest.raises(InputError):
        lora.parse_lora_spec("a.safetensors:50")


def test_lora_compose_runs_the_compose_triptych(tiny_folder, lora_file, photo, monkeypatch):
    from layerlift.inference.api import compose
    from layerlift.inference.contract import ComposeRequest
    from layerlift.inference.engines.flux import engine as flux_engine

    image, _ = photo
    logo = np.zeros(image.shape[:2] + (4,), np.uint8)
    logo[40:52, 44:64] = (250, 20, 20, 200)
    shapes = []
    original = flux_engine.FluxEngine._fill

    def spy(self, loaded, img, fill, prompt, *args, **kwargs):
        shapes.append((img.shape, prompt, float(fill[:, :128].max())))
        return original(self, loaded, img, fill, prompt, *args, **kwargs)

    monkeypatch.setattr(flux_engine.FluxEngine, "_fill", spy)
    out = compose(ComposeRequest(object=image, logo=logo, engine="flux", steps=2, size=64,
                                 model=str(tiny_folder), lora=str(lora_file)))
    assert shapes == [((64, 192, 3), flux_engine.COMPOSE_PROMPT, 0.0)]
    near = np.zeros(image.shape[:2], bool)
    near[30:62, 34:74] = True
    assert np.array_equal(out[~near], image[~near])


def test_rewritten_lora_file_replaces_its_adapter(tiny_folder, lora_file, photo, tmp_path,
                                                  fresh_engine):
    import os
    import shutil

    image, mask = photo
    path = tmp_path / "changing.safetensors"
    shutil.copy(lora_file, path)
    fresh_engine.decompose(tiny_request(image, mask, tiny_folder, lora=str(path)))
    pipe = fresh_engine._loaded.pipe
    first = set(pipe.transformer.peft_config)
    shutil.copy(lora_file, path)
    os.utime(path, ns=(1, 1))                 # a new modification time: a new file
    fresh_engine.decompose(tiny_request(image, mask, tiny_folder, lora=str(path)))
    second = set(pipe.transformer.peft_config)
    assert len(first) == len(second) == 1 and first != second


def test_perfect_model_output_gives_the_true_layers(tiny_folder, lora_file, fresh_engine,
                                                    monkeypatch):
    """With a stand-in for a perfectly trained model, the layers are the truth: a 50 %
    transparent mark comes out as a 50 % alpha logo of its own colour, over a clean object."""
    from layerlift.inference.engines.flux import engine as flux_engine

    surface, colour, alpha = np.array([60.0, 140.0, 90.0]), np.array([240.0, 230.0, 20.0]), 0.5
    image = np.empty((96, 96, 3), np.uint8)
    image[:] = surface
    image[40:56, 36:60] = np.rint(alpha * colour + (1 - alpha) * surface)
    mask = np.zeros((96, 96), bool)
    mask[34:62, 30:66] = True

    def perfect_fill(self, loaded, tri, fill, prompt, *args, **kwargs):
        s = tri.shape[0]
        comp = tri[:, :s].astype(np.float32)
        a = np.clip(((comp - surface) / (colour - surface)).mean(axis=2), 0, 1)[..., None]
        logo_panel = a * colour + (1 - a) * 255.0
        obj = np.broadcast_to(surface, comp.shape)
        out = np.concatenate([comp, logo_panel, obj], axis=1)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    monkeypatch.setattr(flux_engine.FluxEngine, "_fill", perfect_fill)
    layers = fresh_engine.decompose(tiny_request(image, mask, tiny_folder, size=64,
                                                 lora=str(lora_file)))
    inner = np.zeros_like(mask)
    inner[42:54, 38:58] = True
    a = layers.logo[..., 3].astype(float) / 255
    assert np.abs(a[inner] - alpha).max() < 0.03
    assert np.abs(layers.logo[inner][:, :3].astype(float) - colour).max() < 8
    assert np.abs(layers.object[mask].astype(float) - surface).max() <= 2
    assert layers.meta["candidate_score"] < 0.01
    assert layers.meta["candidate_score_kind"] == "model rebuild error"


# ---- each way a LoRA file can be wrong gets its own one-line reason, from the header alone:
# a user handed "refused" with no reason cannot tell a pickle from a LoRA for another model.
# These files are written byte by byte (no torch), so the checks run in milliseconds.

A, B = "transformer.proj_out.lora_A.weight", "transformer.proj_out.lora_B.weight"
TENSOR = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
MODULES = {"", "proj_out", "norm_out"}


def _file(tmp_path, header, name="l.safetensors"):
    """A .safetensors file with this JSON header (and room for its tensors' bytes)."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(64))
    return path


CASES = [
    ({"__metadata__": ["r", 4], A: TENSOR, B: TENSOR},
     "l.safetensors: its __metadata__ is not an object"),
    ({"__metadata__": {"format": "pt"}}, "l.safetensors holds no tensors"),
    ({A: TENSOR, B: TENSOR, "lora_unet_down.alpha": TENSOR},
     "l.safetensors is not a diffusers-format FLUX LoRA (unexpected key "
     "'lora_unet_down.alpha'; expected transformer.<module>.lora_A.weight / "
     "lora_B.weight)"),
    ({A: TENSOR}, "l.safetensors: proj_out lacks its lora_A or lora_B weight"),
    ({B: TENSOR}, "l.safetensors: proj_out lacks its lora_A or lora_B weight"),
    ({A: TENSOR, B: TENSOR, "transformer.nowhere.lora_A.weight": TENSOR,
      "transformer.nowhere.lora_B.weight": TENSOR},
     "l.safetensors does not fit this FLUX transformer (no module 'nowhere')"),
    ({"__metadata__": {lora.METADATA_KEY: "{not json"}, A: TENSOR, B: TENSOR},
     "l.safetensors: unreadable adapter metadata (not a JSON object)"),
    ({"__metadata__": {lora.METADATA_KEY: "[16]"}, A: TENSOR, B: TENSOR},
     "l.safetensors: unreadable adapter metadata (not a JSON object)"),
    ([A, B], "l.safetensors is not a .safetensors LoRA"),
    (b"{" * 30 + b"}" * 30, "l.safetensors is not a .safetensors LoRA (its header is not "
                            "valid)"),
    (b"\xff\xfe{}", "l.safetensors is not a .safetensors LoRA (its header is not valid)"),
]


@pytest.mark.parametrize("header, reason", CASES, ids=range(len(CASES)))
def test_a_wrong_lora_is_refused_with_its_reason(tmp_path, header, reason):
    with pytest.raises(EngineUnavailable) as refused:
        lora.check_lora_file(_file(tmp_path, header), MODULES)
    assert isinstance(refused.value, InputError) and str(refused.value) == reason


def test_a_file_that_is_no_safetensors_is_refused_with_its_reason(tmp_path):
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\x05\x00\x00")
    pickle = tmp_path / "p.safetensors"
    pickle.write_bytes(b"\x80\x04\x95" + bytes(200))     # a pickle's first bytes
    one = tmp_path / "one.safetensors"
    one.write_bytes(struct.pack("<Q", 1) + b"{" + bytes(8))
    cases = {
        short: "short.safetensors is not a .safetensors LoRA (too short)",
        pickle: "p.safetensors is not a .safetensors LoRA (pickle checkpoints and other "
                "formats are refused; convert it to diffusers .safetensors)",
        one: "one.safetensors is not a .safetensors LoRA (pickle checkpoints and other "
             "formats are refused; convert it to diffusers .safetensors)",
        tmp_path / "absent.safetensors": f"LoRA file not found: {tmp_path}/absent.safetensors",
        tmp_path: f"LoRA file not found: {tmp_path}",
    }
    for path, reason in cases.items():
        with pytest.raises(EngineUnavailable) as refused:
            lora.read_header(path)
        assert str(refused.value) == reason


def test_a_header_as_long_as_the_file_allows_is_read(tmp_path):
    """The length may reach the file's end exactly (a file of tensors with no data)."""
    raw = json.dumps({"__metadata__": {"format": "pt"}}).encode()
    path = tmp_path / "exact.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    assert lora.read_header(path) == {"__metadata__": {"format": "pt"}}


def test_the_adapter_metadata_comes_back_without_its_prefix(tmp_path):
    config = {"transformer.r": 4, "transformer.lora_alpha": 8, "transformer.target_modules":
              ["proj_out"]}
    header = {"__metadata__": {lora.METADATA_KEY: json.dumps(config)}, A: TENSOR, B: TENSOR}
    assert lora.check_lora_file(_file(tmp_path, header), MODULES) == {
        "r": 4, "lora_alpha": 8, "target_modules": ["proj_out"]}
    assert lora.check_lora_file(_file(tmp_path, {A: TENSOR, B: TENSOR}), MODULES) == {}
    # Without the transformer's module names only the file itself is checked.
    odd = {"transformer.nowhere.lora_A.weight": TENSOR, "transformer.nowhere.lora_B.weight":
           TENSOR}
    assert lora.check_lora_file(_file(tmp_path, odd)) == {}
