"""Every message the CLI prints is one line, even when what it quotes is not: a file name
with a line break in it, an engine error or warning written over several lines."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from layerlift.inference import cli


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(
        tmp_path / "photo.png")
    mask = np.zeros((40, 60), np.uint8)
    mask[10:30, 20:40] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return tmp_path


def _one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    return err


@pytest.mark.parametrize("name, words", [
    ("two\nlines.png", "not found"),              # missing, its name holds a line break
    ("notes\n.png", "not an image"),              # present, not an image
])
def test_a_file_name_with_a_line_break_is_quoted_on_one_line(photo, capsys, name, words):
    if "notes" in name:
        (photo / name).write_text("not an image\n")
    rc = cli.main(["decompose", str(photo / name), "--mask", str(photo / "mask.png"),
                   "--out", str(photo / "out")])
    err = _one_line(capsys.readouterr().err)
    assert rc == 2 and err.startswith("layerlift: error: ") and words in err
    assert "two lines.png" in err or "notes .png" in err      # the break became a space
    assert not (photo / "out").exists()


def test_a_multi_line_engine_error_is_one_line(photo, capsys, monkeypatch):
    import layerlift.inference.api
    from layerlift.inference.errors import InputError

    def refuse(*_args, **_kwargs):
        raise InputError("the mask\n  is not\tusable")

    monkeypatch.setattr(layerlift.inference.api, "decompose", refuse)
    rc = cli.main(["decompose", str(photo / "photo.png"), "--mask", str(photo / "mask.png"),
                   "--out", str(photo / "out")])
    err = _one_line(capsys.readouterr().err)
    assert rc == 2 and err == "layerlift: error: the mask is not usable\n"


def test_a_multi_line_internal_error_is_one_line(photo, capsys, monkeypatch):
    import layerlift.inference.api

    def crash(*_args, **_kwargs):
        raise RuntimeError("first line\nsecond line")

    monkeypatch.setattr(layerlift.inference.api, "decompose", crash)
    rc = cli.main(["--debug", "decompose", str(photo / "photo.png"), "--mask",
                   str(photo / "mask.png"), "--out", str(photo / "out")])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.splitlines()[-1] == \
        "layerlift: error: internal error: RuntimeError: first line second line"


def test_a_multi_line_engine_warning_is_one_line(photo, capsys, monkeypatch):
    import layerlift.inference.api

    real = layerlift.inference.api.decompose

    def warn_then_run(*args, **kwargs):
        warnings.warn("out of GPU memory\nretrying with fp8", RuntimeWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(layerlift.inference.api, "decompose", warn_then_run)
    rc = cli.main(["decompose", str(photo / "photo.png"), "--mask", str(photo / "mask.png"),
                   "--out", str(photo / "out")])
    err = capsys.readouterr().err
    assert rc == 0
    assert "layerlift: warning: out of GPU memory retrying with fp8\n" in err
