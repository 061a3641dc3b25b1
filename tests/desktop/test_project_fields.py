"""A project keeps every field of every layer: saved, reopened, the same document."""

from __future__ import annotations

import numpy as np
import pytest

from layerlift.desktop.document import LOGO, OBJECT, ORIGINAL, Document, Layer, rgb_to_rgba
from layerlift.desktop.project import open_project, save_project


def _document() -> Document:
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    obj = rgb_to_rgba(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8))
    asset = rng.integers(0, 256, (12, 20, 4), dtype=np.uint8)
    ink = rng.integers(0, 256, (12, 20, 4), dtype=np.uint8)
    ink[..., 3] = asset[..., 3]
    quad = np.array([[10.5, 8.0], [31.0, 9.5], [30.0, 22.0], [11.0, 21.25]])
    layers = [
        Layer("Brand mark", LOGO, asset=asset, ink=ink, quad=quad, opacity=0.4,
              tint=(12, 200, 34), tint_strength=0.65),
        Layer("Clean", OBJECT, rgba=obj, visible=False, opacity=0.75),
        Layer("Original", ORIGINAL, rgba=rgb_to_rgba(image), visible=False),
    ]
    mask = np.zeros((60, 80), np.uint8)
    mask[5:25, 8:35] = 255
    mask[6, 9] = 130                                  # a soft brush edge
    return Document(image, path="/photos/p.jpg", mask=mask, layers=layers,
                    meta={"engine": "classical", "cycle_error": 0.0, "seed": 3})


def test_every_layer_field_survives_save_and_open(tmp_path):
    doc = _document()
    save_project(doc, tmp_path / "p.ora", {"seed": 3})
    back, settings = open_project(tmp_path / "p.ora")
    assert settings == {"seed": 3}
    assert len(back.layers) == len(doc.layers)
    for saved, opened in zip(doc.layers, back.layers, strict=True):
        assert (opened.name, opened.kind, opened.visible) == (saved.name, saved.kind,
                                                               saved.visible)
        assert abs(opened.opacity - saved.opacity) <= 1 / 255, saved.name
        assert opened.tint == saved.tint, saved.name
        assert opened.tint_strength == saved.tint_strength, saved.name
        for field in ("asset", "ink", "quad"):
            a, b = getattr(saved, field), getattr(opened, field)
            assert (a is None) == (b is None), (saved.name, field)
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=f"{saved.name}.{field}")
        np.testing.assert_array_equal(opened.render(back.shape), saved.render(doc.shape),
                                      err_msg=saved.name)
    # The Object is held as a window over the Original's pixels, as after a decomposition.
    clean = back.layer(OBJECT)
    assert clean.rgba is None and clean.base is back.layer(ORIGINAL).rgba
    np.testing.assert_array_equal(back.image, doc.image)
    np.testing.assert_array_equal(back.mask, doc.mask)
    assert back.meta == doc.meta and back.path == doc.path
    # What the canvas shows and exports from the reopened logo: tinted, as before.
    np.testing.assert_array_equal(back.layers[0].render(back.shape),
                                  doc.layers[0].render(doc.shape))


def test_an_untinted_logo_stays_untinted(tmp_path):
    doc = _document()
    doc.layers[0].tint, doc.layers[0].tint_strength = None, 0.0
    save_project(doc, tmp_path / "p.ora")
    back, _ = open_project(tmp_path / "p.ora")
    assert back.layers[0].tint is None and back.layers[0].tint_strength == 0.0


def test_a_foreign_ora_is_protected_like_a_photo(tmp_path):
    """Someone else's layered file opens as a photo: exports and saves never overwrite it."""
    import pytest

    from layerlift.desktop.project import check_target, export
    from layerlift.inference.errors import InputError
    from layerlift.inference.export import ExportLayer, write_ora

    rgba = np.full((20, 30, 4), 200, np.uint8)
    path = tmp_path / "theirs.ora"
    write_ora(path, [ExportLayer("Only", rgba)])
    before = path.read_bytes()
    doc, _ = open_project(path)
    assert doc.path == str(path.resolve())
    for target in (path, tmp_path / "." / "theirs.ora"):
        with pytest.raises(InputError, match="overwrit"):
            check_target(doc, target)
        with pytest.raises(InputError):
            save_project(doc, target)
    with pytest.raises(InputError):
        export(doc, path, "ora")
    assert path.read_bytes() == before


def _rewritten(good, path, change) -> object:
    """A copy of the project `good` at `path` with change(name, data) -> data applied to
    every file in it."""
    import zipfile

    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, change(item.filename, src.read(item.filename)))
    return path


def _with_project_json(good, path, edit) -> object:
    import json

    def change(name, data):
        return json.dumps(edit(json.loads(data))).encode() if name.endswith(
            "project.json") else data
    return _rewritten(good, path, change)


def test_a_damaged_project_is_refused_with_its_name(tmp_path):
    import pytest

    from layerlift.inference.errors import InputError

    good = tmp_path / "good.ora"
    save_project(_document(), good)
    damaged = _rewritten(good, tmp_path / "damaged.ora",
                         lambda name, data: b"{not json" if name.endswith("project.json")
                         else data)
    # (the message names the file by its path)
    with pytest.raises(InputError, match=r"(^|/)damaged\.ora: the Layerlift project data is "
                                         r"damaged \(not JSON\)$"):
        open_project(damaged)

    def fewer_layers(project):
        project["layers"] = project["layers"][:1]
        return project
    fewer = _with_project_json(good, tmp_path / "fewer.ora", fewer_layers)
    with pytest.raises(InputError, match=r"(^|/)fewer\.ora: layers do not match the project data$"):
        open_project(fewer)
    broken_asset = _rewritten(good, tmp_path / "asset.ora",
                              lambda name, data: data[:40] if name.endswith("asset-0.png")
                              else data)
    with pytest.raises(InputError, match=r"asset\.ora: layerlift/asset-0\.png is not a picture"):
        open_project(broken_asset)
    broken_ink = _rewritten(good, tmp_path / "ink.ora",
                            lambda name, data: data[:40] if name.endswith("ink-0.png")
                            else data)
    with pytest.raises(InputError, match=r"ink\.ora: layerlift/ink-0\.png is not a picture"):
        open_project(broken_ink)
    from layerlift.inference.imageio import encode_png
    small_ink = encode_png(np.zeros((3, 3, 4), np.uint8))
    other_size = _rewritten(good, tmp_path / "size.ora",
                            lambda name, data: small_ink if name.endswith("ink-0.png")
                            else data)
    with pytest.raises(InputError, match=r"(^|/)size\.ora: the logo's ink does not match its "
                                         "asset$"):
        open_project(other_size)


def test_a_project_saved_before_the_ink_existed_opens_without_ink(tmp_path):
    good = tmp_path / "good.ora"
    save_project(_document(), good)

    def no_ink(project):
        for entry in project["layers"]:
            entry.pop("ink", None)
        return project
    old = _with_project_json(good, tmp_path / "old.ora", no_ink)
    back, _ = open_project(old)
    logo = back.layers[0]
    assert logo.ink is None and logo.asset is not None
    np.testing.assert_array_equal(logo.shown_ink(), logo.shown_asset())   # the asset stands in


def test_a_layer_name_xml_cannot_hold_comes_back_whole(tmp_path):
    """stack.xml holds an XML-safe copy of each name; the project keeps the name itself."""
    doc = _document()
    doc.layers[0].name = "Logo \x07 v2"
    save_project(doc, tmp_path / "p.ora")
    back, _ = open_project(tmp_path / "p.ora")
    assert back.layers[0].name == "Logo \x07 v2"


def test_meta_from_numpy_and_inf_is_stored_as_plain_json(tmp_path):
    from pathlib import Path

    doc = _document()
    doc.meta = {"confidence": np.float32(0.25), "window": np.array([1, 2, 3]),
                "cycle_psnr": float("inf"), "timings": {"total_s": np.float64(0.5)},
                "model": Path("/models/flux")}
    save_project(doc, tmp_path / "p.ora")
    back, _ = open_project(tmp_path / "p.ora")
    assert back.meta == {"confidence": 0.25, "window": [1, 2, 3], "cycle_psnr": "inf",
                         "timings": {"total_s": 0.5}, "model": "/models/flux"}


def test_odd_project_data_opens_with_defaults_or_a_named_error(tmp_path):
    import pytest

    from layerlift.inference.errors import InputError

    good = tmp_path / "good.ora"
    save_project(_document(), good, {"seed": 3})

    def odd_types(project):
        project.update(meta=["not", "a", "dict"], settings="seed=3", photo=5)
        return project
    back, settings = open_project(_with_project_json(good, tmp_path / "odd.ora", odd_types))
    assert back.meta == {} and settings == {} and back.path is None

    def no_original(project):
        for entry in project["layers"]:
            if entry["kind"] == ORIGINAL:
                entry["kind"] = "layer"
        return project
    with pytest.raises(InputError, match=r"(^|/)none\.ora: the project has no Original layer$"):
        open_project(_with_project_json(good, tmp_path / "none.ora", no_original))


def test_the_logo_and_the_mask_are_stored_as_windows(tmp_path):
    """Projects keep the logo and the mask as offset layers (what differs from nothing only
    in a window), the Object complete for other apps."""
    import zipfile

    from PIL import Image

    from layerlift.inference.ora import OraFile

    doc = _document()
    save_project(doc, tmp_path / "p.ora")
    with OraFile(tmp_path / "p.ora") as ora:
        placed = {e.name: (e.x, e.y, ora.picture_size(e.member)) for e in ora.layers}
    assert placed["Brand mark"] == (10, 8, (21, 14))               # the quad's box
    assert placed["Layerlift mask"] == (8, 5, (27, 20))            # the mask's extent
    assert placed["Clean"] == (0, 0, (80, 60))
    with zipfile.ZipFile(tmp_path / "p.ora") as z:
        merged = np.asarray(Image.open(z.open("mergedimage.png")))
    expected = doc.layers[0].render(doc.shape)                     # only the logo is shown
    a = expected[..., 3:4].astype(float) * 0.4 / 255
    white = np.rint(expected[..., :3] * a + 255 * (1 - a))
    assert np.abs(merged.astype(int) - white).max() <= 1


def _set(path, value):
    """An edit of project.json: the value at `path` (keys and list indexes) replaced."""
    def edit(project):
        if not path:
            return value
        target = project
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return project
    return edit


# Each damaged field of project.json, and the reason the refusal gives for it.
Q = "layer 0's quad is not 4 corners of finite numbers"
DAMAGED_FIELDS = [
    ((), ["layers"], "no list of layers"),
    (("layers",), {"0": {}}, "no list of layers"),
    (("mask_layer",), 7, "mask_layer is not a name"),
    (("layers", 1), "Clean", "layer 1 is not an object"),
    (("layers", 0, "name"), 5, "layer 0's name is not text"),
    (("layers", 2, "kind"), ["original"], "layer 2's kind is not text"),
    (("layers", 0, "asset"), 3, "layer 0's asset is not a file name"),
    (("layers", 0, "ink"), {"file": "ink-0.png"}, "layer 0's ink is not a file name"),
    (("layers", 0, "quad"), [[0, 0], [1, 0], [1, 1]], Q),
    (("layers", 0, "quad"), [0, 0, 1, 0, 1, 1, 0, 1e8], Q),
    (("layers", 0, "quad"), [0, 0, 1, 0, 1, 1, 0, True], Q),
    (("layers", 0, "bend"), 100.5, "layer 0's bend is not between -100 and 100"),
    (("layers", 0, "bend"), "flat", "layer 0's bend is not between -100 and 100"),
    (("layers", 0, "tint"), "red", "layer 0's tint is not a colour"),
    (("layers", 0, "tint"), [255, 0], "layer 0's tint is not a colour"),
    (("layers", 0, "tint"), [255, 0, 256], "layer 0's tint is not a colour"),
    (("layers", 0, "tint"), [-1, 0, 0], "layer 0's tint is not a colour"),
    (("layers", 0, "tint_strength"), 1.5, "layer 0's tint_strength is not between 0 and 1"),
    (("layers", 0, "tint_strength"), -0.1, "layer 0's tint_strength is not between 0 and 1"),
]


@pytest.mark.parametrize("path, value, reason", DAMAGED_FIELDS,
                         ids=[reason for _, _, reason in DAMAGED_FIELDS])
def test_a_damaged_field_is_refused_with_its_reason(tmp_path, path, value, reason):
    """The refusal names the file and says which field is off, so a user can tell a damaged
    project from a bug."""
    import re

    from layerlift.inference.errors import InputError

    good = tmp_path / "good.ora"
    save_project(_document(), good)
    bad = _with_project_json(good, tmp_path / "bad.ora", _set(path, value))
    with pytest.raises(InputError) as refused:
        open_project(bad)
    assert re.fullmatch(rf"(.*/)?bad\.ora: the Layerlift project data is damaged "
                        rf"\({re.escape(reason)}\)", str(refused.value)), refused.value


def test_a_project_nested_too_deeply_is_refused_as_damaged(tmp_path):
    from layerlift.inference.errors import InputError

    good = tmp_path / "good.ora"
    save_project(_document(), good)
    deep = _rewritten(good, tmp_path / "deep.ora",
                      lambda name, data: b"[" * 100_000 + b"]" * 100_000
                      if name.endswith("project.json") else data)
    with pytest.raises(InputError, match=r"deep\.ora: the Layerlift project data is damaged "
                                         r"\(nested too deeply\)$"):
        open_project(deep)


def test_fields_older_projects_lack_take_their_defaults(tmp_path):
    """A quad as 8 numbers, no bend, a tint without a strength, a layer without a kind."""
    good = tmp_path / "good.ora"
    doc = _document()
    save_project(doc, good)

    def older(project):
        logo, clean = project["layers"][0], project["layers"][1]
        logo["quad"] = [v for corner in logo["quad"] for v in corner]
        del logo["bend"], logo["tint_strength"]
        del clean["kind"]
        return project
    back, _ = open_project(_with_project_json(good, tmp_path / "old.ora", older))
    logo, clean = back.layers[0], back.layers[1]
    np.testing.assert_array_equal(logo.quad, doc.layers[0].quad)
    assert logo.bend == 0.0 and logo.tint == (12, 200, 34) and logo.tint_strength == 1.0
    assert clean.kind == "layer"


def test_a_project_too_large_to_open_says_what_it_would_hold(tmp_path):
    """Refused before any picture is decoded, naming what the memory would be for."""
    from layerlift.inference.errors import InputError
    from layerlift.inference.export import ExportLayer, write_ora
    from layerlift.inference.ora import Limits

    small = Limits(memory=64 * 1024, ratio=1)
    save_project(_document(), tmp_path / "p.ora")
    with pytest.raises(InputError, match=r"p\.ora: opening it would take about .* of memory "
                                         r"for 4 layers on a 80x60 canvas and its logo, far"):
        open_project(tmp_path / "p.ora", small)
    write_ora(tmp_path / "theirs.ora", [ExportLayer("Only", np.zeros((60, 80, 4), np.uint8))])
    with pytest.raises(InputError, match=r"theirs\.ora: opening it would take about .* of "
                                         r"memory for 1 layer on a 80x60 canvas, far"):
        open_project(tmp_path / "theirs.ora", small)
