"""The band PNG encoder: valid PNGs (read back by Pillow), bands shared only where the pixels
the band's code depends on are the same, and the same bytes with or without threads."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from layerlift.inference import png


def _read(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    im.load()
    return np.asarray(im)


def _png(encoder: png.Encoder, array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    encoder.write(buf, array)
    return buf.getvalue()


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 1, 3), (9, 13, 3), (40, 11, 4),
                                   (257, 3, 4)])
def test_round_trip(shape):
    a = np.random.default_rng(len(shape)).integers(0, 256, shape, dtype=np.uint8)
    back = _read(_png(png.Encoder(band_bytes=50), a))
    assert back.shape == a.shape and np.array_equal(back, a)


def test_a_strided_view_is_written_as_its_pixels():
    rgba = np.random.default_rng(0).integers(0, 256, (30, 20, 4), dtype=np.uint8)
    assert np.array_equal(_read(_png(png.Encoder(band_bytes=64), rgba[..., :3])),
                          rgba[..., :3])


def test_adler32_combine_matches_zlib():
    a, b = b"layerlift" * 999, bytes(range(256)) * 300
    assert png.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)
    assert png.adler32_combine(1, zlib.adler32(b), len(b)) == zlib.adler32(b)


def test_threads_give_the_same_bytes():
    a = np.random.default_rng(1).integers(0, 256, (120, 50, 3), dtype=np.uint8)
    with png.Encoder(band_bytes=1000, threads=3) as threaded:
        assert _png(threaded, a) == _png(png.Encoder(band_bytes=1000), a)


def test_equal_bands_are_compressed_once(monkeypatch):
    calls = []
    real = png._deflate
    monkeypatch.setattr(png, "_deflate", lambda f, level: calls.append(f.shape) or real(f, level))
    photo = np.random.default_rng(2).integers(0, 256, (100, 10, 3), dtype=np.uint8)
    encoder = png.Encoder(band_bytes=300)                 # 10 rows per band, 10 bands
    _png(encoder, photo)
    assert len(calls) == 10
    merged = photo.copy()
    merged[43:47, 2:5] = 7                                # inside band 4 only
    data = _png(encoder, merged)
    assert len(calls) == 11
    assert np.array_equal(_read(data), merged)


def test_a_change_in_the_row_above_a_band_is_not_shared():
    """Up-filtered rows depend on the row above: the band after a changed last row must be
    compressed again (sharing it would decode wrong pixels)."""
    photo = np.random.default_rng(3).integers(0, 256, (40, 10, 3), dtype=np.uint8)
    encoder = png.Encoder(band_bytes=300)
    _png(encoder, photo)
    changed = photo.copy()
    changed[9] = 255 - changed[9]                         # the last row of band 0
    assert np.array_equal(_read(_png(encoder, changed)), changed)


def test_repeated_rows_are_compressed_once_per_band_size(monkeypatch):
    calls = []
    real = png._deflate
    monkeypatch.setattr(png, "_deflate", lambda f, level: calls.append(f.shape) or real(f, level))
    logo = np.zeros((200, 10, 4), np.uint8)
    logo[95:105, 3:6] = (200, 10, 10, 255)
    data = _png(png.Encoder(band_bytes=400), logo)        # 10 rows per band, 20 bands
    assert np.array_equal(_read(data), logo)
    assert len(calls) == 3                                # the zero band, bands 9 and 10


def test_bad_arrays_are_refused():
    for bad in (np.zeros((3, 3), np.float32), np.zeros((3, 3, 2), np.uint8),
                np.zeros((0, 4, 3), np.uint8)):
        with pytest.raises(ValueError):
            _png(png.Encoder(), bad)
