"""The OpenRaster reader's limits (layerlift/inference/ora.py): what it reads, what it
refuses, and the memory estimate that lets a real large file open but not a small bomb."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

from layerlift.inference import ora
from layerlift.inference.errors import InputError
from tests.hostile.make_ora import layer, nested_stacks, png, small_ora, stack_xml
from tests.hostile.make_ora import ora as make_ora


def _write(tmp_path, data: bytes, name: str = "f.ora"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _opened(monkeypatch) -> list[str]:
    """Names of the zip members the reader opens from now on."""
    names: list[str] = []
    real = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        names.append(getattr(name, "filename", name))
        return real(self, name, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


def test_members_nobody_uses_are_never_read(tmp_path, monkeypatch):
    path = _write(tmp_path, small_ora({"mergedimage.png": png(mode="1", size=(20000, 12000)),
                                       "Thumbnails/thumbnail.png": b"junk",
                                       "layerlift/junk.bin": b"\0" * (1 << 20)}))
    from layerlift.desktop.project import open_project

    opened = _opened(monkeypatch)
    doc, settings = open_project(path)
    assert doc.shape == (24, 32) and settings == {}
    assert set(opened) == {"stack.xml", "data/dot.png", "data/bg.png"}


def test_a_project_reads_its_logo_not_the_layer_it_stands_for(tmp_path, monkeypatch):
    from layerlift.desktop.project import open_project
    from tests.hostile.make_ora import project_ora

    path = _write(tmp_path, project_ora())
    opened = _opened(monkeypatch)
    doc, _ = open_project(path)
    assert doc.layers[0].asset is not None
    assert "data/logo.png" not in opened and "layerlift/asset-0.png" in opened


def _one_layer(picture: bytes, side: int) -> bytes:
    return make_ora({"stack.xml": stack_xml(side, side, layer("data/a.png")),
                     "data/a.png": picture})


def test_memory_beyond_the_base_is_allowed_only_for_bytes_the_file_holds(tmp_path):
    side = 256                       # canvas 256 KB, decode 1 MB: over a 0.5 MB base
    limits = ora.Limits(memory=512 * 1024, ratio=8)
    noise = np.random.default_rng(0).integers(0, 256, (side, side, 4), np.uint8)
    real = _write(tmp_path, _one_layer(png(noise), side), "real.ora")
    layers, _ = ora.read_ora(real, limits)     # 256 KB of real pixels: allowed
    np.testing.assert_array_equal(layers[0].rgba, noise)
    bomb = _write(tmp_path, _one_layer(png(mode="RGBA", size=(side, side)), side), "bomb.ora")
    with pytest.raises(InputError, match="bomb.ora: opening it would take about .* for 1 "
                       "layer on a 256x256 canvas, far more than the .* bytes of pictures"):
        ora.read_ora(bomb, limits)
    # Raised by the setting the message names.
    assert ora.read_ora(bomb, ora.Limits(memory=4 << 20, ratio=8))[0][0].rgba.shape == \
        (side, side, 4)


def test_one_picture_for_many_layers_counts_each_canvas(tmp_path):
    side = 128
    pic = png(mode="RGBA", size=(side, side))
    one = make_ora({"stack.xml": stack_xml(side, side, layer("data/a.png")),
                    "data/a.png": pic})
    many = make_ora({"stack.xml": stack_xml(side, side, layer("data/a.png") * 40),
                     "data/a.png": pic})
    limits = ora.Limits(memory=1 << 20, ratio=8)
    ora.read_ora(_write(tmp_path, one, "one.ora"), limits)
    with pytest.raises(InputError, match="40 layers"):
        ora.read_ora(_write(tmp_path, many, "many.ora"), limits)


def test_the_memory_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(ora.MEMORY_ENV, "3.5")
    assert ora.default_limits().memory == int(3.5 * ora.GIB)
    for bad in ("lots", "-1", "nan"):
        monkeypatch.setenv(ora.MEMORY_ENV, bad)
        with pytest.raises(InputError, match=ora.MEMORY_ENV):
            ora.default_limits()


def test_nesting_and_layer_counts_are_limited(tmp_path):
    deep = _write(tmp_path, nested_stacks(10), "deep.ora")
    assert len(ora.read_ora(deep)[0]) == 1
    with pytest.raises(InputError, match="nests more than 8 deep"):
        ora.read_ora(deep, ora.Limits(depth=8))
    with pytest.raises(InputError, match="more than 1 layers"):
        ora.read_ora(_write(tmp_path, small_ora()), ora.Limits(layers=1))


def test_the_zip_directory_is_limited_before_it_is_parsed(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(50):
            z.writestr(f"f{i}", b"")
    with pytest.raises(InputError, match="lists 50 files"):
        ora.OraFile(_write(tmp_path, buf.getvalue()), ora.Limits(entries=20))


def test_a_zip64_directory_is_read(tmp_path):
    """Counts of 0xFFFF in the end record send the reader to the zip64 end record."""
    data = small_ora()
    at = data.rfind(b"PK\x05\x06")
    n, cd_size, cd_offset = struct.unpack_from("<HLL", data, at + 10)
    zip64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, cd_size,
                        cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
    end = data[at:at + 8] + struct.pack("<HH", 0xFFFF, 0xFFFF) + data[at + 12:]
    path = _write(tmp_path, data[:at] + zip64 + locator + end)
    assert len(ora.read_ora(path)[0]) == 2
    with pytest.raises(InputError, match=f"lists {n} files"):
        ora.OraFile(path, ora.Limits(entries=n - 1))


def test_offsets_place_layers_and_far_pictures_are_not_decoded(tmp_path, monkeypatch):
    pic = png(np.full((4, 4, 4), 255, np.uint8))
    data = make_ora({"stack.xml": stack_xml(10, 10, layer("data/a.png", x="8", y="-2")
                                            + layer("data/b.png", x="50", y="0")),
                     "data/a.png": pic, "data/b.png": pic})
    (inside, outside), _ = ora.read_ora(_write(tmp_path, data))
    assert inside.rgba[..., 3].sum() == 2 * 2 * 255 and outside.rgba.any() == 0


@pytest.mark.parametrize("w, h, member", [
    ("1", "&#10;", "data/a.png"),            # found by the stack.xml fuzzer: h is a newline
    ("10", "10", "data/a&#10;b.png"),         # a layer picture whose name holds a newline
])
def test_what_the_file_says_never_breaks_the_one_line_message(tmp_path, w, h, member):
    name = member.replace("&#10;", "\n")
    path = _write(tmp_path, make_ora({"stack.xml": stack_xml(w, h, layer(member)),
                                      name: b"not a picture"}))
    with pytest.raises(InputError) as refused:
        ora.read_ora(path)
    assert "\n" not in str(refused.value)


def test_a_stack_xml_in_an_unknown_encoding_is_refused_in_one_line(tmp_path):
    """Found by the project fuzzer: the XML parser raises LookupError for the encoding."""
    xml = stack_xml(10, 10, layer("data/a.png")).replace(b'"UTF-8"', b'"tf-8"')
    path = _write(tmp_path, make_ora({"stack.xml": xml,
                                      "data/a.png": png(mode="RGBA", size=(10, 10))}))
    with pytest.raises(InputError) as refused:
        ora.read_ora(path)
    assert "\n" not in str(refused.value)
