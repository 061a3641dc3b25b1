"""CLI pieces: option parsing, the hand-off sub-commands, progress, exit codes."""

from __future__ import annotations

import json
import struct
import sys
import types

import numpy as np
import pytest

from layerlift import cli as layerlift_cli
from layerlift.inference import cli
from layerlift.inference.errors import InputError


def _safetensors(path, header: dict) -> str:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 16)
    return str(path)


def test_help_exits_0_and_lists_commands(capsys):
    assert layerlift_cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("decompose", "compose", "batch", "models", "train", "gui"):
        assert command in out
    assert cli.main(["decompose", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--mask" in out and "--box" in out and "--grabcut" in out and "--lora" in out


def _lora(path) -> str:
    """A minimal diffusers-format LoRA: one A/B pair on one attention projection."""
    from safetensors.numpy import save_file

    module = "transformer.transformer_blocks.0.attn.to_q"
    save_file({f"{module}.lora_A.weight": np.zeros((4, 8), np.float32),
               f"{module}.lora_B.weight": np.zeros((8, 4), np.float32)}, str(path))
    return str(path)


def test_lora_file_and_scale(tmp_path):
    path = _lora(tmp_path / "a.safetensors")
    assert cli._parse_lora(path) == (path, 1.0)
    assert cli._parse_lora(path + ":0.6") == (path, 0.6)
    with pytest.raises(InputError, match="between -4 and 4"):
        cli._parse_lora(path + ":50")
    with pytest.raises(InputError, match="not found"):
        cli._parse_lora(str(tmp_path / "b.safetensors") + ":0.5")


@pytest.mark.parametrize("content", [b"", b"short", struct.pack("<Q", 10**12) + b"{}",
                                     struct.pack("<Q", 4) + b"[1] " + b"\0" * 8,
                                     struct.pack("<Q", 6) + b"\xff\xfe{}{}"])
def test_not_a_safetensors(tmp_path, content):
    (tmp_path / "x.safetensors").write_bytes(content)
    with pytest.raises(InputError, match="not a .safetensors"):
        cli._parse_lora(str(tmp_path / "x.safetensors"))


def test_a_safetensors_that_is_not_a_lora_is_refused(tmp_path):
    path = _safetensors(tmp_path / "model.safetensors", {"__metadata__": {"rank": "4"}})
    with pytest.raises(InputError):
        cli._parse_lora(path)


def test_quad_parsing():
    quad = cli._parse_quad("0,0, 10,0, 10,5, 0,5")
    np.testing.assert_array_equal(quad, [[0, 0], [10, 0], [10, 5], [0, 5]])
    with pytest.raises(InputError, match="8 numbers"):
        cli._parse_quad("0,0,10,0")
    with pytest.raises(InputError, match="convex"):
        cli._parse_quad("0,0,10,0,0,5,10,5")  # a bow tie


def test_delegated_command_gets_the_rest_of_argv(monkeypatch):
    seen = []
    fake = types.ModuleType("layerlift.training.cli")
    fake.main = lambda argv: seen.append(argv) or 3
    monkeypatch.setitem(sys.modules, "layerlift.training.cli", fake)
    assert layerlift_cli.main(["train", "--steps", "5", "data/"]) == 3
    assert seen == [["--steps", "5", "data/"]]
    fake_app = types.ModuleType("layerlift.desktop.app")
    fake_app.main = lambda argv: seen.append(argv)
    monkeypatch.setitem(sys.modules, "layerlift.desktop.app", fake_app)
    assert layerlift_cli.main(["--debug", "gui", "photo.jpg"]) == 0
    assert seen[-1] == ["photo.jpg"]


def test_core_cli_knows_neither_app_nor_trainer(capsys):
    """The core's CLI alone has no `gui` or `train`: only the `layerlift` command adds them."""
    assert cli.main(["gui"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_delegated_command_missing_package(monkeypatch, capsys):
    def needs_missing_package(argv):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setitem(cli.DELEGATES, "models", (needs_missing_package, "x"))
    assert cli.main(["models", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'models' cannot start: the package 'torch'" in err


def test_delegated_command_input_error_exits_2(monkeypatch, capsys):
    fake = types.ModuleType("layerlift.training.cli")

    def main(argv):
        raise InputError("dataset folder not found: x")

    fake.main = main
    monkeypatch.setitem(sys.modules, "layerlift.training.cli", fake)
    assert layerlift_cli.main(["train", "x"]) == 2
    assert capsys.readouterr().err == "layerlift: error: dataset folder not found: x\n"


def test_progress_only_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    progress = cli.Progress("decomposing a.png")
    progress(1, 4)
    progress(4, 4)
    progress.done()
    err = capsys.readouterr().err
    assert "\rlayerlift: decomposing a.png 4/4" in err and err.endswith("\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    quiet = cli.Progress("x")
    quiet(1, 2)
    quiet.done()
    assert capsys.readouterr().err == ""


def test_json_safe_meta():
    meta = {"a": np.float32(0.5), "b": float("inf"), "c": np.arange(3), "d": (1, np.int64(2)),
            "e": None, "f": np.zeros((4, 4))}
    assert cli._json_safe(meta) == {"a": 0.5, "b": None, "c": "<array (3,)>", "d": [1, 2],
                                    "e": None, "f": "<array (4, 4)>"}
    json.dumps(cli._json_safe(meta), allow_nan=False)


def test_out_dir_rules(tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"x")
    with pytest.raises(InputError, match="is the input"):
        cli._check_out_dir(photo, [photo])
    with pytest.raises(InputError, match="would delete it"):
        cli._check_out_dir(tmp_path, [photo])
    with pytest.raises(InputError, match="would delete it"):
        cli._check_out_dir(tmp_path / "sub" / "..", [photo])
    cli._check_out_dir(tmp_path / "photo.layers", [photo])  # fine: a new sibling folder
    assert cli._default_out(photo) == tmp_path / "photo.layers"


def test_exact_mask_is_passed_for_both_engines_and_compose_has_none():
    for engine in ("classical", "flux"):
        args = cli.build_parser().parse_args(["decompose", "p.png", "--mask", "m.png",
                                              "--engine", engine, "--exact-mask"])
        assert cli._decompose_settings(args)["exact_mask"] is True
    args = cli.build_parser().parse_args(["batch", "shots", "--out", "o"])
    assert cli._decompose_settings(args)["exact_mask"] is False
    with pytest.raises(cli.UsageError):
        cli.build_parser().parse_args(["compose", "--object", "o.png", "--logo", "l.png",
                                       "--out", "x.png", "--exact-mask"])


def test_summary_line_says_the_confidence_or_the_cycle():
    doubtful = {"confidence": 0.2, "cycle_psnr": None, "meta": {"filled_box": [1, 2, 30, 40]}}
    assert cli._quality_text(doubtful) == \
        "confidence 20 %, the fill is a guess here, check it (box 1,2,30,40)"
    clean = {"confidence": 0.9, "cycle_psnr": None, "meta": {"filled_box": [1, 2, 30, 40]}}
    assert cli._quality_text(clean) == "confidence 90 %, likely clean"
    assert cli._quality_text({"confidence": None, "cycle_psnr": 41.26, "meta": {}}) == \
        "cycle 41.3 dB"
    assert cli._quality_text({"confidence": None, "cycle_psnr": None, "meta": {}}) == \
        "cycle exact"
    # Nothing found is not a fill to check: the summary says what happened and what to do.
    nothing = {"confidence": 0.0, "cycle_psnr": None,
               "meta": {"mark_fraction": 0.0, "filled_box": None}}
    assert cli._quality_text(nothing) == ("no mark found inside the mask: the object is the "
                                          "photo as it was (brush tighter round the logo, or "
                                          "use --exact-mask)")
    found = {"confidence": 0.0, "cycle_psnr": None, "meta": {"mark_fraction": 0.01}}
    assert cli._quality_text(found).startswith("confidence 0 %")
