"""Bad input to the CLI: exit 2, one line on stderr, no traceback, nothing written."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerlift.inference import cli
from tests.inference.test_imageio import bomb_png

H, W = 80, 120


def _tree(root: Path) -> dict[str, str]:
    """Every path under root with a hash of its content (folders marked as such)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "<dir>"
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha1(Path(p).read_bytes()).hexdigest()
    return out


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(90, 160, (H, W, 3), dtype=np.uint8)
    photo[30:50, 40:80] = (200, 30, 30)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "PNG")
    (tmp_path / "trunc.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG")
    (tmp_path / "trunc.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    mask = np.zeros((H, W), np.uint8)
    mask[28:52, 38:82] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    Image.fromarray(mask[:60]).save(tmp_path / "small_mask.png")
    Image.fromarray(np.zeros((H, W), np.uint8)).save(tmp_path / "empty_mask.png")
    Image.fromarray(photo).save(tmp_path / "photo.ppm")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not an image\n")
    (tmp_path / "bomb.png").write_bytes(bomb_png())
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("a regular file\n")
    (tmp_path / "fake.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    logo = np.zeros((40, 30, 4), np.uint8)
    logo[5:20, 5:20] = (255, 255, 255, 255)
    Image.fromarray(logo, "RGBA").save(tmp_path / "logo_small.png")
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "thesis.docx").write_text("precious")
    return tmp_path


# (case id, argv template, words expected in the message). {d} is the test folder; {out} the
# output folder each case must not create.
CASES = [
    ("missing image", "decompose {d}/nope.png --mask {d}/mask.png --out {out}", "not found"),
    ("directory as image", "decompose {d}/adir --mask {d}/mask.png --out {out}", "folder"),
    ("empty file", "decompose {d}/empty.png --mask {d}/mask.png --out {out}", "empty"),
    ("not an image", "decompose {d}/notes.txt --mask {d}/mask.png --out {out}", "not an image"),
    ("truncated png", "decompose {d}/trunc.png --mask {d}/mask.png --out {out}", "truncated"),
    ("truncated jpeg", "decompose {d}/trunc.jpg --mask {d}/mask.png --out {out}", "truncated"),
    ("decompression bomb", "decompose {d}/bomb.png --box 1,1,5,5 --out {out}", "too large"),
    ("unsupported format", "decompose {d}/photo.ppm --box 1,1,5,5 --out {out}", "PPM"),
    ("mask missing", "decompose {d}/photo.png --mask {d}/nomask.png --out {out}", "not found"),
    ("mask size mismatch", "decompose {d}/photo.png --mask {d}/small_mask.png --out {out}",
     "mask is 120x60 but the photo is 120x80"),
    ("empty mask", "decompose {d}/photo.png --mask {d}/empty_mask.png --out {out}", "empty"),
    ("mask not an image", "decompose {d}/photo.png --mask {d}/notes.txt --out {out}",
     "not an image"),
    ("bad box syntax", "decompose {d}/photo.png --box 1,2,3 --out {out}", "4 whole numbers"),
    ("box not numbers", "decompose {d}/photo.png --box a,b,c,d --out {out}", "4 whole numbers"),
    ("box outside", "decompose {d}/photo.png --box 10,10,500,50 --out {out}", "outside"),
    ("zero-area box", "decompose {d}/photo.png --box 10,10,10,50 --out {out}", "no area"),
    ("out under a file", "decompose {d}/photo.png --mask {d}/mask.png --out {d}/afile/out",
     "is a file"),
    ("out is the input", "decompose {d}/photo.png --mask {d}/mask.png --out {d}/photo.png",
     "is the input"),
    ("out contains the input", "decompose {d}/photo.png --mask {d}/mask.png --out {d}",
     "would delete it"),
    ("out holds other files", "decompose {d}/photo.png --mask {d}/mask.png --out {d}/kept",
     "did not write"),
    ("unknown engine", "decompose {d}/photo.png --mask {d}/mask.png --engine magic --out {out}",
     "unknown engine"),
    ("seed not a number", "decompose {d}/photo.png --mask {d}/mask.png --seed abc --out {out}",
     "--seed"),
    ("negative seed", "decompose {d}/photo.png --mask {d}/mask.png --seed -1 --out {out}",
     "--seed"),
    ("zero steps", "decompose {d}/photo.png --mask {d}/mask.png --steps 0 --out {out}",
     "--steps"),
    ("steps not a number", "decompose {d}/photo.png --mask {d}/mask.png --steps x --out {out}",
     "--steps"),
    ("size not multiple of 16", "decompose {d}/photo.png --mask {d}/mask.png --engine flux "
     "--size 100 --out {out}", "multiple of 16"),
    ("steps with classical", "decompose {d}/photo.png --mask {d}/mask.png --steps 8 "
     "--out {out}", "--steps applies only to --engine flux"),
    ("candidates with classical", "decompose {d}/photo.png --mask {d}/mask.png --candidates 3 "
     "--out {out}", "--candidates applies only to --engine flux"),
    ("lora not safetensors", "decompose {d}/photo.png --mask {d}/mask.png --engine flux "
     "--lora {d}/fake.safetensors --out {out}", "not a .safetensors"),
    ("lora missing", "decompose {d}/photo.png --mask {d}/mask.png --engine flux "
     "--lora {d}/none.safetensors:0.8 --out {out}", "not found"),
    ("lora with classical", "decompose {d}/photo.png --mask {d}/mask.png "
     "--lora {d}/fake.safetensors --out {out}", "applies only to --engine flux"),
    ("mask and box", "decompose {d}/photo.png --mask {d}/mask.png --box 1,1,5,5 --out {out}",
     "not allowed with"),
    ("grabcut without box", "decompose {d}/photo.png --mask {d}/mask.png --grabcut "
     "--out {out}", "--grabcut"),
    ("neither mask nor box", "decompose {d}/photo.png --out {out}", "required"),
    ("unknown subcommand", "explode {d}/photo.png", "invalid choice"),
    ("no subcommand", "", "required"),
    ("unknown option", "decompose {d}/photo.png --mask {d}/mask.png --frobnicate",
     "unrecognized"),
    ("quad wrong count", "compose --object {d}/photo.png --logo {d}/logo_small.png "
     "--quad 1,2,3,4,5,6 --out {out}.png", "8 numbers"),
    ("quad not convex", "compose --object {d}/photo.png --logo {d}/logo_small.png "
     "--quad 10,10,50,10,10,50,50,50 --out {out}.png", "convex"),
    ("quad not numbers", "compose --object {d}/photo.png --logo {d}/logo_small.png "
     "--quad a,b,c,d,e,f,g,h --out {out}.png", "8 numbers"),
    ("compose logo size mismatch", "compose --object {d}/photo.png --logo {d}/logo_small.png "
     "--out {out}.png", "logo is 30x40 but the object is 120x80"),
    ("compose out is an input", "compose --object {d}/photo.png --logo {d}/photo.png "
     "--out {d}/photo.png", "overwrite the input"),
    ("compose out suffix", "compose --object {d}/photo.png --logo {d}/photo.png "
     "--out {out}.gif", ".png or .jpg"),
    ("strength with classical", "compose --object {d}/photo.png --logo {d}/photo.png "
     "--strength 0.5 --out {out}.png", "applies only to --engine flux"),
    ("strength out of range", "compose --object {d}/photo.png --logo {d}/photo.png "
     "--engine flux --strength 2 --out {out}.png", "between 0 and 1"),
    ("compose missing --out", "compose --object {d}/photo.png --logo {d}/photo.png",
     "required"),
    ("batch nothing found", "batch {d}/adir --out {out}", "no photos"),
    ("batch without --out", "batch {d}/photo.png", "--out"),
]


@pytest.mark.parametrize("argv, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_and_writes_nothing(files, capsys, argv, words):
    out = files / "out"
    args = argv.format(d=files, out=out).split()
    before = _tree(files)
    rc = cli.main(args)
    captured = capsys.readouterr()
    assert rc == 2, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("layerlift: error: ")
    assert words in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert _tree(files) == before  # nothing written: no out dir, no temp dirs, inputs intact


# The README's list of the bad input these tests check, item by item, and the cases above
# that check each item.
README_KINDS = {
    "missing image": ["missing image"],
    "folder as image": ["directory as image"],
    "empty file": ["empty file"],
    "not an image": ["not an image"],
    "truncated PNG": ["truncated png"],
    "truncated JPEG": ["truncated jpeg"],
    "decompression bomb (PNG claiming 100000×100000)": ["decompression bomb"],
    "unsupported format (PPM)": ["unsupported format"],
    "mask missing": ["mask missing"],
    "mask of another size": ["mask size mismatch"],
    "empty mask": ["empty mask"],
    "mask not an image": ["mask not an image"],
    "bad box syntax": ["bad box syntax"],
    "box not numbers": ["box not numbers"],
    "box outside the photo": ["box outside"],
    "zero-area box": ["zero-area box"],
    "`--out` under a regular file": ["out under a file"],
    "`--out` equal to the input": ["out is the input"],
    "`--out` containing the input": ["out contains the input"],
    "`--out` holding other files": ["out holds other files"],
    "unknown engine": ["unknown engine"],
    "`--seed` not a number": ["seed not a number"],
    "negative `--seed`": ["negative seed"],
    "`--steps 0`": ["zero steps"],
    "`--steps` not a number": ["steps not a number"],
    "`--size` not a multiple of 16": ["size not multiple of 16"],
    "`--lora` not a .safetensors file": ["lora not safetensors"],
    "`--lora` missing": ["lora missing"],
    "`--lora` with the classical engine": ["lora with classical"],
    "`--steps` or `--candidates` with the classical engine (it would ignore them)": [
        "steps with classical", "candidates with classical"],
    "`--mask` together with `--box`": ["mask and box"],
    "`--grabcut` without `--box`": ["grabcut without box"],
    "neither `--mask` nor `--box`": ["neither mask nor box"],
    "unknown subcommand": ["unknown subcommand"],
    "no subcommand": ["no subcommand"],
    "unknown option": ["unknown option"],
    "`--quad` with 6 numbers": ["quad wrong count"],
    "non-convex `--quad`": ["quad not convex"],
    "`--quad` not numbers": ["quad not numbers"],
    "compose logo of another size (without `--quad`)": ["compose logo size mismatch"],
    "compose `--out` equal to an input": ["compose out is an input"],
    "compose `--out` not .png/.jpg": ["compose out suffix"],
    "`--strength` with the classical engine": ["strength with classical"],
    "`--strength` out of range": ["strength out of range"],
    "compose without `--out`": ["compose missing --out"],
    "batch finding no photos": ["batch nothing found"],
    "batch without `--out`": ["batch without --out"],
}


def _readme_kinds() -> list[str]:
    import re

    text = (Path(__file__).parents[2] / "README.md").read_text()
    start = text.index("Bad input the tests check")
    paragraph = " ".join(text[start:text.index("\n\n", start)].split())
    listed = paragraph.split("writing nothing:", 1)[1].strip().rstrip(".")
    return [item.strip() for item in re.split(r",\s+(?![^()]*\))", listed)]


def test_the_readme_lists_exactly_the_bad_input_tested_here():
    """What the README promises is what runs: every kind it names is a case above (each a
    real run of the CLI), and no case goes unnamed there."""
    assert _readme_kinds() == list(README_KINDS)
    covered = [case for cases in README_KINDS.values() for case in cases]
    assert sorted(covered) == sorted(c[0] for c in CASES)
    assert len(covered) == len(set(covered)) >= 20


def test_bad_lora_is_refused_before_the_flux_engine_loads(files, capsys, monkeypatch):
    import layerlift.inference.api
    from layerlift.inference import engines

    def explode(name):
        raise AssertionError("engine built before the --lora check")

    monkeypatch.setattr(engines, "get_engine", explode)
    monkeypatch.setattr(layerlift.inference.api, "get_engine", explode)
    rc = cli.main(["decompose", str(files / "photo.png"), "--mask", str(files / "mask.png"),
                   "--engine", "flux", "--lora", str(files / "notes.txt")])
    assert rc == 2 and "not a .safetensors" in capsys.readouterr().err


def test_bad_input_in_a_real_process(files):
    """The console entry point: exit code 2, one line, no traceback, nothing written."""
    before = _tree(files)
    proc = subprocess.run(
        [sys.executable, "-m", "layerlift.inference.cli", "decompose", str(files / "trunc.png"),
         "--mask", str(files / "mask.png")],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "truncated" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _tree(files) == before
    proc = subprocess.run([sys.executable, "-m", "layerlift.inference.cli", "decompose"],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2])
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


def test_internal_error_exits_1_with_a_short_message(files, capsys, monkeypatch):
    import layerlift.inference.api

    def broken(*args, **kwargs):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(layerlift.inference.api, "decompose", broken)
    before = _tree(files)
    rc = cli.main(["decompose", str(files / "photo.png"), "--mask", str(files / "mask.png")])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and "internal error: RuntimeError: engine bug" in err
    log_path = err.split("traceback in ")[1].split(";")[0]
    assert "Traceback" in Path(log_path).read_text()
    os.unlink(log_path)
    assert _tree(files) == before
    rc = cli.main(["decompose", str(files / "photo.png"), "--mask", str(files / "mask.png"),
                   "--debug"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" in err and "engine bug" in err


def test_batch_reports_each_failure_and_goes_on(files, capsys):
    """A batch with a broken photo and one without a mask: the good one is done; exit 2
    (the failures are bad input, not internal errors)."""
    folder = files / "batch"
    folder.mkdir()
    Image.open(files / "photo.png").save(folder / "good.png")
    Image.open(files / "mask.png").save(folder / "good.mask.png")
    (folder / "broken.png").write_bytes((files / "trunc.png").read_bytes())
    Image.open(files / "mask.png").save(folder / "broken.mask.png")
    Image.open(files / "photo.png").save(folder / "nomask.png")
    out = files / "results"
    rc = cli.main(["batch", str(folder), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 2
    assert "1 done, 2 failed" in captured.out
    assert "broken.png" in captured.out and "truncated" in captured.out
    assert "no mask for nomask.png" in captured.out
    assert sorted(n for n in os.listdir(out) if not n.startswith(".")) == ["good",
                                                                          "manifest.jsonl"]
    lines = [json.loads(t) for t in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in lines) == ["failed", "failed", "ok"]
    assert {r["error_kind"] for r in lines if r["status"] == "failed"} == {"input"}
    assert (out / "good" / "layers.psd").is_file()
