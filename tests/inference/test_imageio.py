"""Loading photos, masks and logos; boxes; atomic writes."""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from layerlift.inference import imageio
from layerlift.inference.errors import InputError


def _photo(h: int = 40, w: int = 60, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims a huge size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))


# --- a hand-built matrix/TRC ICC profile with Adobe RGB (1998) primaries, gamma 2.2 -----------

_ADOBE_D50 = np.array([[0.6097, 0.2053, 0.1492],   # columns: R, G, B colorants (D50, XYZ)
                       [0.3111, 0.6257, 0.0632],
                       [0.0195, 0.0609, 0.7446]])
_XYZ_D50_TO_SRGB = np.array([[3.1338561, -1.6168667, -0.4906146],
                             [-0.9787684, 1.9161415, 0.0334540],
                             [0.0719453, -0.2289914, 1.4052427]])


def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def adobe_like_icc() -> bytes:
    desc_text = b"Test Adobe-like RGB\0"
    desc = (b"desc" + b"\0" * 4 + struct.pack(">I", len(desc_text)) + desc_text
            + b"\0" * 8 + b"\0" * 3 + b"\0" * 67)
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(2.2 * 256)) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz_tag(*_ADOBE_D50[:, 0])), (b"gXYZ", _xyz_tag(*_ADOBE_D50[:, 1])),
            (b"bXYZ", _xyz_tag(*_ADOBE_D50[:, 2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", b"text" + b"\0" * 4 + b"none\0\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def _adobe_to_srgb(rgb: np.ndarray) -> np.ndarray:
    """Independent reference: Adobe-like gamma 2.2 -> XYZ D50 -> sRGB (Bradford D50) -> encode."""
    lin = (rgb.astype(np.float64) / 255.0) ** 2.2
    srgb_lin = np.clip(lin @ _ADOBE_D50.T @ _XYZ_D50_TO_SRGB.T, 0, 1)
    enc = np.where(srgb_lin <= 0.0031308, 12.92 * srgb_lin,
                   1.055 * srgb_lin ** (1 / 2.4) - 0.055)
    return enc * 255.0


# --- awkward valid photos ---------------------------------------------------------------------


def test_rgb_png_is_read_exactly(tmp_path):
    rgb = _photo()
    Image.fromarray(rgb).save(tmp_path / "a.png")
    out = imageio.load_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (40, 60, 3)
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("fmt, suffix, kwargs", [
    ("WEBP", ".webp", {"lossless": True}),
    ("TIFF", ".tif", {}),
    ("BMP", ".bmp", {}),
])
def test_lossless_formats(tmp_path, fmt, suffix, kwargs):
    rgb = _photo()
    path = tmp_path / f"a{suffix}"
    Image.fromarray(rgb).save(path, fmt, **kwargs)
    np.testing.assert_array_equal(imageio.load_image(path), rgb)


def test_grayscale_becomes_rgb(tmp_path):
    g = _photo()[..., 0]
    Image.fromarray(g, "L").save(tmp_path / "g.png")
    out = imageio.load_image(tmp_path / "g.png")
    assert out.shape == (40, 60, 3)
    np.testing.assert_array_equal(out[..., 1], g)


def test_16bit_grayscale_png(tmp_path):
    g16 = np.random.default_rng(1).integers(0, 65536, (30, 20), dtype=np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    out = imageio.load_image(tmp_path / "g16.png")
    assert out.dtype == np.uint8 and out.shape == (30, 20, 3)
    np.testing.assert_array_equal(out[..., 0], np.rint(g16 / 257.0).astype(np.uint8))


def test_float_tiff_in_unit_range(tmp_path):
    f = np.random.default_rng(2).random((10, 12)).astype(np.float32)
    Image.fromarray(f, "F").save(tmp_path / "f.tif")
    out = imageio.load_image(tmp_path / "f.tif")
    np.testing.assert_array_equal(out[..., 0], np.rint(f * 255).astype(np.uint8))


def test_cmyk_jpeg(tmp_path):
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:, :16] = (220, 40, 30)
    rgb[:, 16:] = (30, 60, 200)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    out = imageio.load_image(tmp_path / "c.jpg")
    assert out.shape == (32, 32, 3)
    # Pillow's naive CMYK round trip is lossless up to JPEG error: the colours survive.
    assert np.abs(out[8, 4].astype(int) - rgb[8, 4]).max() < 12
    assert np.abs(out[8, 28].astype(int) - rgb[8, 28]).max() < 12


def test_palette_png_with_transparency_goes_over_white(tmp_path):
    pal = Image.new("P", (4, 2))
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putdata([0, 1, 0, 1, 1, 0, 1, 0])
    pal.info["transparency"] = 1
    pal.save(tmp_path / "p.png", transparency=1)
    out = imageio.load_image(tmp_path / "p.png")
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 1]) == (255, 255, 255)  # the transparent index, composited over white


def test_rgba_is_composited_over_white(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 255)
    rgba[0, 1] = (0, 0, 0, 0)
    rgba[0, 2] = (100, 0, 200, 128)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = imageio.load_image(tmp_path / "a.png")
    assert tuple(out[0, 0]) == (0, 0, 0)
    assert tuple(out[0, 1]) == (255, 255, 255)
    a = 128 / 255
    expect = np.rint(np.array([100, 0, 200]) * a + 255 * (1 - a))
    np.testing.assert_array_equal(out[0, 2], expect)


def test_exif_orientation_is_applied(tmp_path):
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:10, :10] = 255  # a white block in the stored top-left corner
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(tmp_path / "r.jpg", exif=exif.tobytes(), quality=95)
    out = imageio.load_image(tmp_path / "r.jpg")
    assert out.shape == (60, 40, 3)
    # Rotated 90 degrees clockwise, the stored top-left corner is now the top-right one.
    assert out[:10, -10:].mean() > 200 and out[:10, :10].mean() < 50


def test_srgb_profile_keeps_pixels(tmp_path):
    rgb = _photo()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(rgb).save(tmp_path / "s.png", icc_profile=icc)
    np.testing.assert_array_equal(imageio.load_image(tmp_path / "s.png"), rgb)


def test_wide_gamut_profile_is_converted_to_srgb(tmp_path):
    rgb = np.array([[[128, 200, 100], [200, 60, 40], [128, 128, 128], [20, 90, 180]]], np.uint8)
    Image.fromarray(rgb).save(tmp_path / "adobe.png", icc_profile=adobe_like_icc())
    out = imageio.load_image(tmp_path / "adobe.png").astype(np.float64)
    expect = _adobe_to_srgb(rgb)
    assert np.abs(out - expect).max() <= 3.0, (out, expect)
    assert np.abs(out - rgb).max() > 10  # it really converted


def test_broken_profile_is_ignored(tmp_path, caplog):
    rgb = _photo()
    Image.fromarray(rgb).save(tmp_path / "b.png", icc_profile=b"not a profile" * 20)
    np.testing.assert_array_equal(imageio.load_image(tmp_path / "b.png"), rgb)
    assert "colour profile" in caplog.text


def test_mpo_or_multiframe_first_frame(tmp_path):
    frames = [Image.fromarray(_photo(seed=s)) for s in (3, 4)]
    frames[0].save(tmp_path / "m.tif", save_all=True, append_images=frames[1:])
    np.testing.assert_array_equal(imageio.load_image(tmp_path / "m.tif"), _photo(seed=3))


# --- bad photos -------------------------------------------------------------------------------


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def _jpeg_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "missing.png", "not found"),
    (lambda d: d, "folder"),
    (lambda d: _write(d / "e.png", b""), "empty"),
    (lambda d: _write(d / "t.png", b"hello, not a picture\n"), "not an image"),
    (lambda d: _write(d / "t.png", _png_bytes(_photo())[:300]), "truncated"),
    (lambda d: _write(d / "t.jpg", _jpeg_bytes(_photo())[:400]), "truncated"),
    (lambda d: _write(d / "bomb.png", bomb_png()), "too large"),
    (lambda d: _write(d / "bomb2.png", bomb_png(16_000, 16_000)), "too large"),
])
def test_bad_photos_raise_input_error(tmp_path, make, words):
    with pytest.raises(InputError) as err:
        imageio.load_image(make(tmp_path))
    message = str(err.value)
    assert words in message and "\n" not in message


def test_unsupported_format(tmp_path):
    Image.fromarray(_photo()).save(tmp_path / "a.ppm")
    with pytest.raises(InputError, match="PPM"):
        imageio.load_image(tmp_path / "a.ppm")


# --- masks and logos --------------------------------------------------------------------------


def test_mask_from_grey_threshold(tmp_path):
    g = np.zeros((10, 12), np.uint8)
    g[2:5, 3:7] = 200
    g[6, 6] = 127  # just below the threshold
    g[7, 7] = 128
    Image.fromarray(g).save(tmp_path / "m.png")
    mask = imageio.load_mask(tmp_path / "m.png", (10, 12, 3))
    assert mask.dtype == bool and mask.sum() == 13 and mask[7, 7] and not mask[6, 6]


def test_mask_from_alpha_channel(tmp_path):
    rgba = np.zeros((10, 12, 4), np.uint8)  # black everywhere: the grey would say "empty"
    rgba[..., 3] = 0
    rgba[1:3, 1:4, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    mask = imageio.load_mask(tmp_path / "m.png", (10, 12))
    assert mask.sum() == 6 and mask[1:3, 1:4].all()


def test_mask_opaque_rgba_uses_grey(tmp_path):
    rgba = np.full((10, 12, 4), 255, np.uint8)
    rgba[..., :3] = 0
    rgba[4:6, 4:6, :3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    assert imageio.load_mask(tmp_path / "m.png", (10, 12)).sum() == 4


@pytest.mark.parametrize("value, shape, words", [
    (0, (10, 12), "empty"),
    (255, (11, 12), "but the photo is 12x11"),
])
def test_bad_masks(tmp_path, value, shape, words):
    g = np.full((10, 12), value, np.uint8)
    if words.startswith("but"):
        g[0, 0] = 0
    Image.fromarray(g).save(tmp_path / "m.png")
    with pytest.raises(InputError, match=words):
        imageio.load_mask(tmp_path / "m.png", shape)


def test_load_rgba_keeps_alpha_and_fills_opaque(tmp_path):
    rgba = np.random.default_rng(5).integers(0, 256, (8, 9, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "l.png")
    np.testing.assert_array_equal(imageio.load_rgba(tmp_path / "l.png"), rgba)
    Image.fromarray(rgba[..., :3]).save(tmp_path / "o.png")
    out = imageio.load_rgba(tmp_path / "o.png")
    assert out.shape == (8, 9, 4) and (out[..., 3] == 255).all()


# --- boxes ------------------------------------------------------------------------------------


def test_parse_box():
    assert imageio.parse_box("1,2,30,40") == (1, 2, 30, 40)
    assert imageio.parse_box(" 1, 2 ,30,40 ") == (1, 2, 30, 40)


@pytest.mark.parametrize("text, words", [
    ("1,2,3", "4 whole numbers"), ("a,b,c,d", "4 whole numbers"), ("1.5,2,3,4", "4 whole"),
    ("", "4 whole"), ("5,5,5,9", "no area"), ("9,1,2,5", "no area"),
])
def test_parse_box_errors(text, words):
    with pytest.raises(InputError, match=words):
        imageio.parse_box(text)


def test_box_to_mask_is_the_box():
    mask = imageio.box_to_mask((2, 3, 6, 5), (10, 12))
    assert mask.shape == (10, 12) and mask.sum() == 8 and mask[3:5, 2:6].all()
    # A box over the whole photo (a tiled watermark) is allowed; GrabCut has no background
    # to learn from there, so the box itself is the mask.
    image = np.zeros((10, 12, 3), np.uint8)
    assert imageio.box_to_mask((0, 0, 12, 10), (10, 12), image, refine=True).all()


@pytest.mark.parametrize("box, words", [
    ((0, 0, 13, 5), "outside"), ((-1, 0, 3, 3), "outside"), ((3, 3, 3, 8), "no area"),
])
def test_box_to_mask_errors(box, words):
    with pytest.raises(InputError, match=words):
        imageio.box_to_mask(box, (10, 12))


@pytest.mark.parametrize("k", [1, 2])   # 2: a box over 64 px, where the margin grows with it
def test_grabcut_refines_a_box_to_the_mark(k):
    rng = np.random.default_rng(0)
    image = (rng.normal(150, 6, (120 * k, 160 * k, 3))).clip(0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:120 * k, :160 * k]
    disc = (yy - 60 * k) ** 2 + (xx - 80 * k) ** 2 < (18 * k) ** 2
    image[disc] = (200, 20, 30)
    box = (50 * k, 30 * k, 110 * k, 90 * k)
    plain = imageio.box_to_mask(box, image.shape)
    refined = imageio.box_to_mask(box, image.shape, image, refine=True)
    assert refined.sum() < 0.6 * plain.sum()
    assert refined[disc].mean() > 0.95          # the mark is covered
    assert not refined[~plain].any()            # never outside the box


# --- atomic writes ----------------------------------------------------------------------------


def test_save_png_and_jpeg_roundtrip(tmp_path):
    rgb = _photo()
    imageio.save_png(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(imageio.load_image(tmp_path / "a.png"), rgb)
    imageio.save_jpeg(tmp_path / "a.jpg", rgb, quality=95)
    assert np.abs(imageio.load_image(tmp_path / "a.jpg").astype(int) - rgb).mean() < 12
    assert sorted(os.listdir(tmp_path)) == ["a.jpg", "a.png"]  # no temp files left


def test_protected_path_is_refused(tmp_path):
    photo = tmp_path / "photo.png"
    imageio.save_png(photo, _photo())
    before = photo.read_bytes()
    with pytest.raises(InputError, match="overwrite the input"):
        imageio.save_png(photo, np.zeros((4, 4, 3), np.uint8), protect=[photo])
    with pytest.raises(InputError, match="overwrite the input"):
        imageio.atomic_write_bytes(tmp_path / "." / "photo.png", b"x", protect=[photo])
    assert photo.read_bytes() == before


def test_write_into_missing_or_file_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    for target in (tmp_path / "nope" / "a.bin", tmp_path / "file" / "a.bin"):
        with pytest.raises(InputError, match="cannot write"):
            imageio.atomic_write_bytes(target, b"data")
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_atomic_dir_replaces_an_earlier_output(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "a.png").write_text("old")
    with imageio.atomic_dir(target, replace_ok=["a.png"]) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        (tmp / "a.png").write_text("new")
    assert (target / "a.png").read_text() == "new"
    assert os.listdir(tmp_path) == ["out"]


def test_atomic_dir_refuses_foreign_files_and_cleans_up_on_error(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "thesis.docx").write_text("precious")
    with pytest.raises(InputError, match="did not write"):
        with imageio.atomic_dir(target, replace_ok=["a.png"]):
            pass
    assert (target / "thesis.docx").read_text() == "precious"
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        with imageio.atomic_dir(fresh) as tmp:
            (tmp / "half.png").write_text("half")
            raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no fresh/, no temp folder


def test_written_files_get_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    imageio.atomic_write_bytes(tmp_path / "a.bin", b"x")
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(tmp_path / "a.bin", 0o640)
    imageio.atomic_write_bytes(tmp_path / "a.bin", b"y")  # an existing file keeps its mode
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o640
    with imageio.atomic_dir(tmp_path / "d"):
        pass
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o777 & ~umask


_SMALL_FILES = {}


def _small_file(fmt: str) -> bytes:
    if fmt not in _SMALL_FILES:
        buf = io.BytesIO()
        Image.fromarray(_photo(12, 16)).save(buf, fmt)
        _SMALL_FILES[fmt] = buf.getvalue()
    return _SMALL_FILES[fmt]


@settings(max_examples=40, deadline=None)
@given(fmt=st.sampled_from(["PNG", "JPEG", "WEBP", "TIFF", "BMP"]),
       cuts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       keep=st.floats(0.0, 1.0))
def test_damaged_files_load_or_raise_input_error(tmp_path_factory, fmt, cuts, keep):
    """A damaged file either loads as an HxWx3 uint8 array or raises InputError, never else."""
    data = bytearray(_small_file(fmt))
    for pos, value in cuts:
        data[pos % len(data)] = value
    data = bytes(data[: max(1, int(len(data) * keep))])
    path = tmp_path_factory.mktemp("damaged") / f"x.{fmt.lower()}"
    path.write_bytes(data)
    try:
        image = imageio.load_image(path)
    except InputError as e:
        assert "\n" not in str(e)
    else:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def test_atomic_file_leaves_the_old_file_when_the_writer_fails(tmp_path):
    from layerlift.inference.imageio import atomic_file

    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(path) as f:
        f.write(b"new, half")
        raise RuntimeError("encoder died")
    assert path.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [path]
    with atomic_file(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and sorted(tmp_path.iterdir()) == [path]


def test_ora_streamed_to_its_file_equals_the_in_memory_one_and_fails_cleanly(tmp_path,
                                                                           monkeypatch):
    from layerlift.inference import export, ora

    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (40, 60, 4), dtype=np.uint8)
    layers = [export.ExportLayer("Logo", rgba), export.ExportLayer("Object", rgba | 255)]
    path = tmp_path / "x.ora"
    export.write_ora(path, layers, {"note.txt": b"hi"})
    back, extra = ora.read_ora(path)
    (tmp_path / "mem.ora").write_bytes(export.ora_bytes(layers, {"note.txt": b"hi"}))
    again, again_extra = ora.read_ora(tmp_path / "mem.ora")
    (tmp_path / "mem.ora").unlink()
    assert extra == again_extra == {"note.txt": b"hi"}
    for a, b, c in zip(back, again, layers, strict=True):
        assert a.name == b.name == c.name and (a.rgba == c.rgba).all() and (b.rgba == c.rgba).all()

    def broken_png(*_args):
        raise OSError("disk full")
    monkeypatch.setattr(export, "_write_layer_png", broken_png)
    with pytest.raises(InputError, match="disk full"):
        export.write_ora(path, layers)
    assert sorted(tmp_path.iterdir()) == [path] and ora.read_ora(path)[1] == extra


def test_a_library_error_is_folded_into_one_short_line():
    """What goes into our messages from a decoder's error: one line, at most 120 characters,
    a cut one ending in "..."; an error without text is named by its type."""
    long = ValueError("bad  chunk\n" + "x" * 200)
    text = imageio._short(long)
    assert len(text) == 120 and text == ("bad chunk " + "x" * 107 + "...")
    assert imageio._short(ValueError("y" * 120)) == "y" * 120
    assert imageio._short(EOFError()) == "EOFError"


def test_a_bool_mask_is_saved_as_a_black_and_white_png(tmp_path):
    mask = np.zeros((6, 9), bool)
    mask[2:4, 3:7] = True
    imageio.save_png(tmp_path / "mask.png", mask)
    with Image.open(tmp_path / "mask.png") as im:
        assert im.mode == "L"
        np.testing.assert_array_equal(np.asarray(im), np.where(mask, 255, 0))
    np.testing.assert_array_equal(imageio.load_mask(tmp_path / "mask.png", mask.shape), mask)
