"""Layered export: PSD, OpenRaster, PNG folder; each read back and recomposed."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from psd_tools import PSDImage

from layerlift.inference import export, ora
from layerlift.inference.contract import Layers
from layerlift.inference.errors import InputError
from layerlift.inference.layers import alpha_over


def _layers(h: int = 48, w: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured object and a logo with opaque, semi-transparent and empty parts."""
    rng = np.random.default_rng(seed)
    obj = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    logo = np.zeros((h, w, 4), np.uint8)
    logo[10:20, 12:30] = (230, 20, 40, 255)
    logo[22:30, 12:40, :3] = (10, 40, 200)
    logo[22:30, 12:40, 3] = rng.integers(1, 255, (8, 28), dtype=np.uint8)
    return obj, logo


def _export_layers(obj, logo) -> list[export.ExportLayer]:
    return export.layers_from(Layers(object=obj, logo=logo))


def test_flatten_is_alpha_over_for_an_opaque_base():
    obj, logo = _layers()
    flat = export.flatten(_export_layers(obj, logo))
    assert np.abs(flat.astype(int) - alpha_over(logo, obj)).max() <= 1


def test_flatten_honours_visibility_opacity_and_white_background():
    obj, logo = _layers()
    base = np.dstack([obj, np.full(obj.shape[:2], 255, np.uint8)])
    hidden = [export.ExportLayer("Logo", logo, visible=False), export.ExportLayer("Object", base)]
    np.testing.assert_array_equal(export.flatten(hidden), obj)
    only_logo = [export.ExportLayer("Logo", logo)]
    flat = export.flatten(only_logo)
    assert (flat[0, 0] == 255).all()  # transparent -> white
    half = [export.ExportLayer("Logo", logo, opacity=0.5), export.ExportLayer("Object", base)]
    logo_half = logo.copy()
    logo_half[..., 3] = np.rint(logo[..., 3] * 0.5)
    assert np.abs(export.flatten(half).astype(int) - alpha_over(logo_half, obj)).max() <= 1


def test_layer_size_mismatch_is_refused():
    obj, logo = _layers()
    with pytest.raises(ValueError, match="64x48"):
        export.flatten([export.ExportLayer("a", logo), export.ExportLayer("b", logo[:10])])


def test_psd_roundtrip_with_psd_tools(tmp_path):
    obj, logo = _layers()
    path = tmp_path / "layers.psd"
    export.write_psd(path, _export_layers(obj, logo))
    assert os.listdir(tmp_path) == ["layers.psd"]
    psd = PSDImage.open(path)
    assert psd.size == (64, 48)
    assert [layer.name for layer in psd] == ["Object", "Logo"]  # psd-tools lists bottom first
    obj_layer, logo_layer = list(psd)
    # The logo is stored cropped to its pixels at an offset, with real transparency.
    x0, y0, x1, y1 = logo_layer.bbox
    assert (x0, y0, x1, y1) == (12, 10, 40, 30)
    stored = np.asarray(logo_layer.topil())
    assert stored.shape == (20, 28, 4)
    np.testing.assert_array_equal(stored, logo[y0:y1, x0:x1])
    assert logo_layer.mask is None or not logo_layer.has_mask()
    np.testing.assert_array_equal(np.asarray(obj_layer.topil())[..., :3], obj)
    expected = alpha_over(logo, obj).astype(int)
    composite = np.asarray(psd.composite())[..., :3].astype(int)
    assert np.abs(composite - expected).max() <= 2
    merged = np.asarray(psd.topil())[..., :3].astype(int)  # the stored merged image
    assert np.abs(merged - expected).max() <= 2


def test_psd_layer_names_in_any_script(tmp_path):
    obj, logo = _layers()
    names = ["Логотип ✓ 🎉", "x" * 300]
    layers = [export.ExportLayer(n, lay.rgba) for n, lay in
              zip(names, _export_layers(obj, logo), strict=True)]
    export.write_psd(tmp_path / "a.psd", layers)
    assert [layer.name for layer in PSDImage.open(tmp_path / "a.psd")] == ["x" * 255, names[0]]


def test_psd_keeps_visibility_and_opacity(tmp_path):
    obj, logo = _layers()
    layers = _export_layers(obj, logo)
    layers[0].visible = False
    layers[1].opacity = 0.5
    export.write_psd(tmp_path / "a.psd", layers)
    obj_layer, logo_layer = list(PSDImage.open(tmp_path / "a.psd"))
    assert not logo_layer.visible and obj_layer.visible
    assert obj_layer.opacity == 128


def test_ora_structure_and_pyora_read_back(tmp_path):
    from pyora import Project

    obj, logo = _layers()
    path = tmp_path / "layers.ora"
    export.write_ora(path, _export_layers(obj, logo))
    with zipfile.ZipFile(path) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"image/openraster"
        names = z.namelist()
        assert {"stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png"} <= set(names)
        stack = z.read("stack.xml").decode()
        assert stack.index('name="Logo"') < stack.index('name="Object"')  # top first
    with open(path, "rb") as f:
        assert f.read(38)[30:38] == b"mimetype"  # the first local header names it, at offset 30

    project = Project.load(str(path))
    assert project.dimensions == (64, 48)
    by_name = {layer.name: layer for layer in project.iter_layers}
    assert list(by_name) == ["Object", "Logo"]  # pyora iterates bottom first
    np.testing.assert_array_equal(np.asarray(by_name["Logo"].get_image_data()), logo)
    np.testing.assert_array_equal(np.asarray(by_name["Object"].get_image_data())[..., :3], obj)
    merged = Image.open(io.BytesIO(Project.extract_composite(str(path))))
    merged = np.asarray(merged)[..., :3].astype(int)
    assert np.abs(merged - alpha_over(logo, obj)).max() <= 1
    thumb = Image.open(io.BytesIO(Project.extract_thumbnail(str(path))))
    assert max(thumb.size) <= 256


def test_ora_thumbnail_is_at_most_256(tmp_path):
    obj = np.zeros((300, 600, 3), np.uint8)
    logo = np.zeros((300, 600, 4), np.uint8)
    logo[5:9, 5:9] = 255
    export.write_ora(tmp_path / "a.ora", _export_layers(obj, logo))
    with zipfile.ZipFile(tmp_path / "a.ora") as z, z.open("Thumbnails/thumbnail.png") as f:
        assert Image.open(f).size == (256, 128)


def test_read_ora_roundtrip_with_extra_files(tmp_path):
    obj, logo = _layers()
    layers = _export_layers(obj, logo)
    layers[0].opacity = 0.25
    layers[1].visible = False
    extra = {"project.json": b'{"v": 1}', "masks/mask.png": b"\x89PNG..."}
    export.write_ora(tmp_path / "p.ora", layers, extra=extra)
    with zipfile.ZipFile(tmp_path / "p.ora") as z:
        assert "layerlift/project.json" in z.namelist()
    back, back_extra = ora.read_ora(tmp_path / "p.ora")
    assert back_extra == extra
    assert [(b.name, b.visible, b.opacity) for b in back] == \
        [("Logo", True, 0.25), ("Object", False, 1.0)]
    np.testing.assert_array_equal(back[0].rgba, logo)
    np.testing.assert_array_equal(back[1].rgba[..., :3], obj)


def test_read_ora_places_offset_layers(tmp_path):
    # An ORA written by another program: a small layer at an offset, nested in a stack.
    small = np.zeros((4, 5, 4), np.uint8)
    small[...] = (1, 2, 3, 255)
    from layerlift.inference.imageio import encode_png

    stack = ('<?xml version="1.0"?><image w="20" h="10"><stack>'
             '<stack name="g" opacity="0.5" visibility="hidden">'
             '<layer name="s" src="data/s.png" x="3" y="2" opacity="0.8"/></stack>'
             '<layer name="t" src="data/s.png" x="18" y="-1"/></stack></image>')
    with zipfile.ZipFile(tmp_path / "o.ora", "w") as z:
        z.writestr("mimetype", "image/openraster")
        z.writestr("stack.xml", stack)
        z.writestr("data/s.png", encode_png(small))
    (layer, edge), extra = ora.read_ora(tmp_path / "o.ora")
    assert extra == {} and layer.rgba.shape == (10, 20, 4)
    assert layer.rgba[..., 3].sum() == 20 * 255 and (layer.rgba[2:6, 3:8] == small).all()
    assert not layer.visible and layer.opacity == pytest.approx(0.4)  # from its group
    assert edge.visible and edge.rgba[..., 3].sum() == 2 * 3 * 255  # clipped at the corner
    assert (edge.rgba[0:3, 18:20] == small[:3, :2]).all()


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_read_ora_rejects_non_ora(tmp_path, content):
    (tmp_path / "x.ora").write_bytes(content)
    with pytest.raises(InputError, match="OpenRaster"):
        ora.read_ora(tmp_path / "x.ora")


def test_ora_extra_names_must_stay_inside(tmp_path):
    obj, logo = _layers()
    with pytest.raises(ValueError, match="bad name"):
        export.write_ora(tmp_path / "a.ora", _export_layers(obj, logo), extra={"../x": b""})
    assert os.listdir(tmp_path) == []


def test_png_folder_with_manifest(tmp_path):
    obj, logo = _layers()
    folder = tmp_path / "pngs"
    export.write_png_folder(folder, _export_layers(obj, logo))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [entry["name"] for entry in manifest["layers"]] == ["Logo", "Object"]
    assert manifest["width"] == 64 and manifest["height"] == 48
    # What a script reading the folder keys on.
    assert (manifest["format"], manifest["version"], manifest["order"]) == \
        ("layerlift-layers", 1, "top first")
    assert all(entry["visible"] and entry["opacity"] == 1.0 for entry in manifest["layers"])
    files = {entry["name"]: folder / entry["file"] for entry in manifest["layers"]}
    assert sorted(os.listdir(folder)) == ["logo.png", "manifest.json", "object.png"]
    got_logo = np.asarray(Image.open(files["Logo"]))
    got_obj = np.asarray(Image.open(files["Object"]).convert("RGB"))
    np.testing.assert_array_equal(got_logo, logo)
    assert np.abs(alpha_over(got_logo, got_obj).astype(int) - alpha_over(logo, obj)).max() == 0
    # A second export replaces the first; nothing else is left beside it.
    export.write_png_folder(folder, _export_layers(obj[::-1].copy(), logo))
    assert os.listdir(tmp_path) == ["pngs"]
    np.testing.assert_array_equal(np.asarray(Image.open(files["Object"])), obj[::-1])


def test_png_folder_refuses_a_folder_with_other_files(tmp_path):
    obj, logo = _layers()
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="did not write"):
        export.write_png_folder(tmp_path, _export_layers(obj, logo))
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_export_layers_writes_every_file_and_recomposes(tmp_path):
    obj, logo = _layers()
    image = alpha_over(logo, obj)
    files = export.export_layers(tmp_path, image, Layers(object=obj, logo=logo))
    assert sorted(os.listdir(tmp_path)) == sorted(files)
    got_obj = np.asarray(Image.open(tmp_path / "object.png"))
    got_logo = np.asarray(Image.open(tmp_path / "logo.png"))
    assert got_obj.shape == (48, 64, 3) and got_logo.shape == (48, 64, 4)
    np.testing.assert_array_equal(alpha_over(got_logo, got_obj), image)
    asset = np.asarray(Image.open(tmp_path / "logo_asset.png"))
    # Cropped tight round the logo's alpha, which it keeps as it is (its colour is the ink:
    # see test_logo_asset_is_the_ink_with_the_shadow_divided_out).
    np.testing.assert_array_equal(asset[..., 3], logo[10:30, 12:40, 3])
    assert asset.shape == (20, 28, 4)
    (ora_logo, ora_obj), _ = ora.read_ora(tmp_path / "layers.ora")
    np.testing.assert_array_equal(alpha_over(ora_logo.rgba, ora_obj.rgba[..., :3]), image)
    psd = PSDImage.open(tmp_path / "layers.psd")
    assert np.abs(np.asarray(psd.composite())[..., :3].astype(int) - image).max() <= 2


def test_psd_merged_image_comes_from_flatten(tmp_path, monkeypatch):
    """The fast path: psd-tools' own (slow) composite is not run on save."""
    import psd_tools.composite

    def slow(*args, **kwargs):
        raise AssertionError("psd-tools composited the document")

    monkeypatch.setattr(psd_tools.composite, "composite", slow)
    obj, logo = _layers()
    export.write_psd(tmp_path / "a.psd", _export_layers(obj, logo))
    monkeypatch.undo()
    merged = np.asarray(PSDImage.open(tmp_path / "a.psd").topil())[..., :3]
    np.testing.assert_array_equal(merged, alpha_over(logo, obj))


def test_read_ora_written_by_pyora(tmp_path):
    """Another program's ORA: a group, an offset and a leading '/' in the layer paths."""
    from pyora import Project

    project = Project.new(40, 30)
    background = np.zeros((30, 40, 4), np.uint8)
    background[...] = (10, 20, 30, 255)
    project.add_layer(Image.fromarray(background, "RGBA"), "/background")
    project.add_group("/group")
    mark = np.zeros((5, 6, 4), np.uint8)
    mark[...] = (200, 0, 0, 255)
    project.add_layer(Image.fromarray(mark, "RGBA"), "/group/logo", offsets=(7, 4), opacity=0.5)
    project.save(str(tmp_path / "p.ora"))
    (logo, bg), extra = ora.read_ora(tmp_path / "p.ora")
    assert (logo.name, logo.opacity, bg.name) == ("logo", 0.5, "background")
    assert (logo.rgba[4:9, 7:13] == mark).all() and logo.rgba[..., 3].sum() == 30 * 255
    np.testing.assert_array_equal(bg.rgba, background)
    flat = export.flatten([logo, bg])
    assert tuple(flat[5, 8]) == (105, 10, 15) and tuple(flat[0, 0]) == (10, 20, 30)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 3), h=st.integers(1, 12),
       w=st.integers(1, 12), name=st.text(min_size=1, max_size=8))
def test_ora_and_png_folder_roundtrip_property(tmp_path_factory, seed, n, h, w, name):
    """Any stack of layers comes back from ORA and a PNG folder pixel for pixel; PSD keeps
    the names."""
    rng = np.random.default_rng(seed)
    layers = [export.ExportLayer(f"{name}{i}", rng.integers(0, 256, (h, w, 4), dtype=np.uint8),
                                 visible=bool(rng.integers(0, 2)),
                                 opacity=float(rng.integers(0, 101)) / 100)
              for i in range(n)]
    folder = tmp_path_factory.mktemp("prop")
    export.write_ora(folder / "a.ora", layers)
    back, _ = ora.read_ora(folder / "a.ora")
    assert [(b.name, b.visible) for b in back] == \
        [(export.xml_safe(a.name), a.visible) for a in layers]
    assert [b.opacity for b in back] == pytest.approx([a.opacity for a in layers], abs=1e-4)
    for a, b in zip(layers, back, strict=True):
        np.testing.assert_array_equal(a.rgba, b.rgba)
    psd = PSDImage.open(_write(export.write_psd, folder / "a.psd", layers))
    assert [layer.name for layer in reversed(list(psd))] == [a.name for a in layers]
    export.write_png_folder(folder / "pngs", layers)
    manifest = json.loads((folder / "pngs" / "manifest.json").read_text())
    for a, entry in zip(layers, manifest["layers"], strict=True):
        assert entry["name"] == a.name
        got = np.asarray(Image.open(folder / "pngs" / entry["file"]).convert("RGBA"))
        np.testing.assert_array_equal(got, a.rgba)


def _write(writer, path, layers):
    writer(path, layers)
    return path


@pytest.mark.parametrize("light", [1.0, 0.5])
def test_logo_asset_is_the_ink_with_the_shadow_divided_out(tmp_path, light):
    """A logo printed in a shadow band at `light` times the surface's typical light: the
    asset (its ink) is the printed colour over `light`, with the printed alpha, cropped tight;
    in the surface's typical light (1.0) it is the printed logo itself."""
    h, w = 120, 160
    obj = np.full((h, w, 3), (200, 180, 160), np.uint8)
    obj[40:80] = np.rint(obj[40:80] * light).astype(np.uint8)   # one third of the surface
    logo = np.zeros((h, w, 4), np.uint8)
    logo[50:62, 60:100] = (60, 40, 20, 255)
    logo[64:70, 60:100] = (60, 40, 20, 128)
    export.export_layers(tmp_path, alpha_over(logo, obj), Layers(object=obj, logo=logo))
    asset = np.asarray(Image.open(tmp_path / "logo_asset.png"))
    assert asset.shape == (20, 40, 4)
    np.testing.assert_array_equal(asset[..., 3], logo[50:70, 60:100, 3])
    printed = asset[..., 3] > 0
    ink = np.array([60, 40, 20]) / light
    assert np.abs(asset[printed][:, :3].astype(float) - ink).max() <= 2


@pytest.mark.parametrize("readable", [True, False])
def test_psd_bands_shared_with_the_object_layer_hold_the_right_pixels(tmp_path, monkeypatch,
                                                                       readable):
    """Bands of a few rows: the merged image copies the Object layer's code outside the logo
    (from the file when it can be read back, else encodes them), and the bands that the logo
    covers are encoded from the merged pixels."""
    from layerlift.inference import psd

    monkeypatch.setattr(psd, "BAND_BYTES", 64 * 3)         # 3 rows per band
    obj, logo = _layers()
    buf = io.BytesIO()
    if not readable:
        monkeypatch.setattr(buf, "readable", lambda: False)
    export._write_psd(buf, _export_layers(obj, logo))
    doc = PSDImage.open(io.BytesIO(buf.getvalue()))
    np.testing.assert_array_equal(np.asarray(doc.topil())[..., :3], alpha_over(logo, obj))
    np.testing.assert_array_equal(np.asarray(list(doc)[0].topil())[..., :3], obj)


def test_psd_rows_as_literals_or_runs_decode_to_the_pixels():
    """Photo-like bands (few runs) are cut into literal packets; bands with runs, or one row
    repeated, go through the run-finding codec; psd-tools decodes each to the same rows."""
    from psd_tools.compression import decode_rle

    from layerlift.inference import psd

    rng = np.random.default_rng(5)
    noisy = rng.integers(0, 256, (6, 300), dtype=np.uint8)
    runs = np.repeat(rng.integers(0, 256, (6, 30), dtype=np.uint8), 10, axis=1)
    flat = np.full((6, 300), 9, np.uint8)
    for rows, literal in ((noisy, True), (runs, False), (flat, False), (noisy[:, :128], True),
                          (noisy[:, :1], None)):
        counts, data = psd._encode_band(rows)
        n, w = rows.shape
        assert len(counts) == 2 * n
        if literal is not None:
            assert (len(data) > w * n) == literal             # literals are never smaller
        assert decode_rle(counts + data, w, n, 8, 1) == rows.tobytes()


def test_the_logo_asset_is_de_shaded_on_its_window_as_on_the_whole_photo(tmp_path):
    """export_layers de-shades the logo on the window its shading is measured over; the
    asset is the one the whole photo gives."""
    from layerlift.inference.layers import logo_asset
    from layerlift.inference.shading import deshade_logo

    h, w = 300, 400
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    obj = np.clip(np.dstack([90 + 0.3 * xx, 120 + 0.2 * yy, 140 + 0.1 * xx]), 0, 255)
    obj = obj.astype(np.uint8)
    logo = np.zeros((h, w, 4), np.uint8)
    logo[140:160, 200:240] = (30, 60, 200, 255)
    logo[150:158, 205:230, 3] = 120
    layers = Layers(object=obj, logo=logo)
    export.export_layers(tmp_path, obj, layers)
    written = np.asarray(Image.open(tmp_path / "logo_asset.png"))
    np.testing.assert_array_equal(written, logo_asset(deshade_logo(logo, obj))[0])


def _with_a_window():
    """An opaque canvas-size layer under a window layer placed at (12, 10)."""
    obj, logo = _layers()
    window = logo[10:30, 12:40].copy()
    layers = [export.ExportLayer("Logo", window, offset=(12, 10)),
              export.ExportLayer("Object", np.dstack([obj, np.full(obj.shape[:2], 255,
                                                                   np.uint8)]))]
    return obj, logo, layers


def test_ora_stack_xml_is_the_openraster_layout(tmp_path):
    """What other painting programs read: <image> holding one <stack> of <layer>s (top
    first), each with its file, offset, opacity, visibility and blend spelled as the
    OpenRaster spec does (readers match "hidden" and "visible" exactly)."""
    import xml.etree.ElementTree as ET

    obj, logo = _layers()
    layers = _export_layers(obj, logo)
    layers[0].opacity, layers[1].visible = 0.25, False
    export.write_ora(tmp_path / "s.ora", layers)
    with zipfile.ZipFile(tmp_path / "s.ora") as z:
        root = ET.fromstring(z.read("stack.xml"))
        names = set(z.namelist())
    assert root.tag == "image" and root.attrib == {"version": "0.0.3", "w": "64", "h": "48"}
    assert [child.tag for child in root] == ["stack"]
    assert [el.attrib for el in root[0]] == [
        {"name": "Logo", "src": "data/logo.png", "x": "0", "y": "0", "opacity": "0.2500",
         "visibility": "visible", "composite-op": "svg:src-over"},
        {"name": "Object", "src": "data/object.png", "x": "0", "y": "0", "opacity": "1.0000",
         "visibility": "hidden", "composite-op": "svg:src-over"}]
    assert {"data/logo.png", "data/object.png"} <= names


def test_a_window_layer_is_stored_at_its_offset_in_ora_and_psd(tmp_path):
    obj, logo, layers = _with_a_window()
    np.testing.assert_array_equal(export.flatten(layers), alpha_over(logo, obj))
    export.write_ora(tmp_path / "w.ora", layers)
    with zipfile.ZipFile(tmp_path / "w.ora") as z:
        stack = z.read("stack.xml").decode()
        small = np.asarray(Image.open(io.BytesIO(z.read("data/logo.png"))))
    assert 'x="12" y="10"' in stack and small.shape == (20, 28, 4)
    back, _extra = ora.read_ora(tmp_path / "w.ora")
    np.testing.assert_array_equal(back[0].rgba, logo)                # placed on the canvas
    export.write_psd(tmp_path / "w.psd", layers)
    psd = PSDImage.open(tmp_path / "w.psd")
    logo_layer = list(psd)[1]
    assert logo_layer.bbox == (12, 10, 40, 30)
    np.testing.assert_array_equal(np.asarray(logo_layer.topil()), logo[10:30, 12:40])
    np.testing.assert_array_equal(np.asarray(psd.topil())[..., :3], alpha_over(logo, obj))


def test_a_png_folder_gets_window_layers_at_canvas_size(tmp_path):
    _obj, logo, layers = _with_a_window()
    export.write_png_folder(tmp_path / "f", layers)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "f" / "logo.png")), logo)


def test_a_window_must_fit_on_the_canvas():
    _obj, _logo, layers = _with_a_window()
    layers[0].offset = (50, 10)                                    # 28 wide at x 50 of 64
    with pytest.raises(ValueError, match="does not fit"):
        export.flatten(layers)
    with pytest.raises(ValueError, match="whole canvas"):
        export.flatten(layers[:1])
