"""Big inputs (issue 12, point 3): a job whose estimate is over the memory limit is refused up
front with one line; the banded code paths that keep big inputs small give the same pixels
as the plain formulas. The memory figures themselves: tests/benchmarks/peak_memory.py."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage

from layerlift.inference import cli, export, imageio, psd, ram
from layerlift.inference.api import decompose
from layerlift.inference.contract import DecomposeRequest
from layerlift.inference.errors import InputError


def _photo(h=90, w=120):
    rng = np.random.default_rng(0)
    image = rng.integers(90, 160, (h, w, 3), dtype=np.uint8)
    image[30:50, 40:80] = (200, 30, 30)
    return image


def test_a_mask_over_the_whole_photo_is_refused_when_over_the_limit(monkeypatch):
    image = _photo()
    whole = np.ones(image.shape[:2], bool)
    decompose(DecomposeRequest(image=image, mask=whole))      # within the default limit
    monkeypatch.setenv(ram.MEMORY_ENV, "0.005")                # 5 MB
    with pytest.raises(InputError, match=r"working area is 180x180 px would take about 6 MB "
                       r"of memory, more than the 5 MB allowed; mask the logo more tightly"):
        decompose(DecomposeRequest(image=image, mask=whole))
    small = np.zeros(image.shape[:2], bool)
    small[28:52, 38:82] = True
    decompose(DecomposeRequest(image=image, mask=small))      # a tight mask still runs


def test_the_cli_refuses_it_with_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    Image.fromarray(_photo()).save(tmp_path / "p.png")
    Image.fromarray(np.full((90, 120), 255, np.uint8)).save(tmp_path / "m.png")
    monkeypatch.setenv(ram.MEMORY_ENV, "0.005")
    code = cli.main(["decompose", str(tmp_path / "p.png"), "--mask", str(tmp_path / "m.png"),
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "LAYERLIFT_MEMORY_GB" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png", "p.png"]


def test_the_memory_limit(monkeypatch):
    monkeypatch.delenv(ram.MEMORY_ENV, raising=False)
    assert 0 < ram.limit() <= ram.DEFAULT_CAP
    monkeypatch.setenv(ram.MEMORY_ENV, "12")
    assert ram.limit() == 12 * ram.GIB
    for bad in ("x", "0", "-3", "inf"):
        monkeypatch.setenv(ram.MEMORY_ENV, bad)
        with pytest.raises(InputError, match=ram.MEMORY_ENV):
            ram.limit()


@pytest.mark.parametrize("mode", ["L", "1", "RGB", "P"])
def test_mask_threshold_matches_the_luma_formula(tmp_path, mode):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    rgb[0, :3] = [(128, 128, 128), (127, 127, 127), (255, 0, 0)]
    im = Image.fromarray(rgb).convert(mode)
    im.save(tmp_path / "m.png")
    colour = np.asarray(im.convert("RGB")).astype(np.float64)
    expected = colour @ np.array([0.299, 0.587, 0.114]) >= 128 - 1e-9
    np.testing.assert_array_equal(imageio.load_mask(tmp_path / "m.png", rgb.shape), expected)


def test_flatten_in_bands_is_the_plain_blend(monkeypatch):
    rng = np.random.default_rng(2)
    layers = [export.ExportLayer("a", rng.integers(0, 256, (41, 29, 4), dtype=np.uint8),
                                 opacity=0.7),
              export.ExportLayer("b", rng.integers(0, 256, (41, 29, 4), dtype=np.uint8))]
    monkeypatch.setattr(export, "BLEND_BAND_PIXELS", 50)     # two rows a band
    out = np.full((41, 29, 3), 255.0)
    for layer in reversed(layers):
        a = layer.rgba[..., 3:4] / 255.0 * layer.opacity
        out = np.clip(np.rint(layer.rgba[..., :3] * a + out * (1 - a)), 0, 255)
    assert np.abs(export.flatten(layers).astype(int) - out).max() <= 1


def test_the_psd_is_the_same_in_bands(monkeypatch):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (50, 70, 4), dtype=np.uint8)
    rgba[:, :10, 3] = 0                                        # cropped to x 10..70
    layers = [export.ExportLayer("top", rgba), export.ExportLayer(
        "bottom", np.dstack([rng.integers(0, 256, (50, 70, 3), np.uint8),
                             np.full((50, 70), 255, np.uint8)]))]
    whole = export.psd_bytes(layers)
    monkeypatch.setattr(psd, "BAND_BYTES", 100)                # a row or two at a time
    banded = export.psd_bytes(layers)
    assert banded == whole
    top = list(PSDImage.open(io.BytesIO(banded)))[1]
    assert top.bbox == (10, 0, 70, 50)
    np.testing.assert_array_equal(np.asarray(top.topil()), rgba[:, 10:])


def test_a_psd_too_wide_for_the_format_is_refused():
    wide = export.ExportLayer("w", np.zeros((1, psd.MAX_SIDE + 1, 4), np.uint8))
    with pytest.raises(InputError, match="export OpenRaster instead"):
        export.psd_bytes([wide])
