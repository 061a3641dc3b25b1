"""The user's hints: "this is mark" / "this is not mark" pixels the classical engine honours,
their validation, the hints image's colour code and `decompose --hints`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from layerlift.inference import DecomposeRequest, InputError, decompose
from layerlift.inference.cli import main
from layerlift.inference.hints import MARK, NO_HINT, NOT_MARK, load_hints
from layerlift.inference.layers import alpha_over

H, W = 200, 240


def scene():
    """A dark bar (found), a faint patch of the same ink (missed: 3.5 % opacity, under the
    texture's noise) and a dark scratch of the product's own (taken for mark), all inside
    a loose mask. Returns the photo, the true surface, the mask and the two regions."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:H, 0:W]
    surface = np.stack([150 + 0.1 * xx, 140 + 0.05 * yy, 120 + 0 * xx], -1) \
        + rng.normal(0, 1.5, (H, W, 3))
    surface = np.clip(surface, 0, 255)
    ink = np.array([30.0, 30.0, 90.0])
    img = surface.copy()
    img[80:120, 60:110] = ink
    faint = np.zeros((H, W), bool)
    faint[85:115, 140:170] = True
    img[faint] = 0.965 * img[faint] + 0.035 * ink
    scratch = np.zeros((H, W), bool)
    scratch[140:144, 70:160] = True
    img[scratch] = (60, 55, 50)
    surface[scratch] = (60, 55, 50)       # the scratch is the product's: its true surface
    mask = np.zeros((H, W), bool)
    mask[60:160, 40:190] = True
    return (np.clip(np.rint(img), 0, 255).astype(np.uint8), surface, mask, faint, scratch)


def run(img, mask, hints=None):
    return decompose(DecomposeRequest(image=img, mask=mask, hints=hints))


def assert_contract(img, mask, layers):
    assert np.array_equal(layers.object[~mask], img[~mask])
    assert not layers.logo[~mask].any()
    rebuilt = alpha_over(layers.logo, layers.object)
    assert np.abs(rebuilt.astype(int) - img)[mask].max() <= 1


def error(a, b, where):
    return float(np.abs(a[where].astype(float) - b[where]).mean())


def test_a_mark_hint_forces_in_a_part_the_engine_misses():
    img, surface, mask, faint, _ = scene()
    plain = run(img, mask)
    assert not plain.logo[..., 3][faint].any()            # missed: it stays on the object
    hints = np.zeros((H, W), np.uint8)
    hints[82:118, 137:173] = MARK                          # a loose stroke over the patch
    hinted = run(img, mask, hints)
    assert (hinted.logo[..., 3][faint] > 0).all()
    assert error(hinted.object, surface, faint) < 0.5 * error(img, surface, faint)
    assert_contract(img, mask, hinted)


def test_a_not_mark_hint_forces_out_a_surface_part_the_engine_takes():
    img, surface, mask, _, scratch = scene()
    plain = run(img, mask)
    assert (plain.logo[..., 3][scratch] > 0).mean() > 0.9      # taken for mark: filled
    assert not np.array_equal(plain.object[scratch], img[scratch])
    hints = np.zeros((H, W), np.uint8)
    hints[138:146, 66:164] = NOT_MARK
    hinted = run(img, mask, hints)
    kept = hints == NOT_MARK
    assert np.array_equal(hinted.object[kept], img[kept])       # the scratch stays
    assert not hinted.logo[..., 3][kept].any()
    bar = np.zeros((H, W), bool)
    bar[82:118, 62:108] = True
    assert (hinted.logo[..., 3][bar] > 0).all()                 # the mark still goes
    assert_contract(img, mask, hinted)


def test_hints_outside_the_mask_change_nothing():
    img, _, mask, _, _ = scene()
    hints = np.zeros((H, W), np.uint8)
    hints[:40, :] = MARK
    hints[170:, :] = NOT_MARK
    plain, hinted = run(img, mask), run(img, mask, hints)
    assert np.array_equal(plain.object, hinted.object)
    assert np.array_equal(plain.logo, hinted.logo)


def test_no_hint_everywhere_is_the_same_as_no_hints():
    img, _, mask, _, _ = scene()
    plain = run(img, mask)
    hinted = run(img, mask, np.full((H, W), NO_HINT, np.uint8))
    assert np.array_equal(plain.object, hinted.object)
    assert np.array_equal(plain.logo, hinted.logo)


@pytest.mark.parametrize("hints, message", [
    (np.zeros((H, W), bool), "uint8"),
    (np.zeros((H, W, 3), np.uint8), "uint8"),
    (np.zeros((H, W + 1), np.uint8), "241x200 but the photo is 240x200"),
    (np.full((H, W), 3, np.uint8), "the value 3"),
])
def test_bad_hints_are_refused_in_one_line(hints, message):
    img, _, mask, _, _ = scene()
    with pytest.raises(InputError, match=message) as err:
        run(img, mask, hints)
    assert "\n" not in str(err.value)


def write_hints(path, size, green=(), red=(), mode="RGB"):
    w, h = size
    rgb = np.zeros((h, w, 3), np.uint8)
    for y0, y1, x0, x1 in green:
        rgb[y0:y1, x0:x1] = (20, 220, 30)
    for y0, y1, x0, x1 in red:
        rgb[y0:y1, x0:x1] = (230, 10, 20)
    if mode == "RGBA":
        alpha = np.where(rgb.any(axis=2), 255, 0).astype(np.uint8)
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    else:
        Image.fromarray(rgb).save(path)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_the_hints_image_reads_green_as_mark_and_red_as_not_mark(tmp_path, mode):
    path = tmp_path / "hints.png"
    write_hints(path, (30, 20), green=[(2, 5, 3, 9)], red=[(10, 12, 0, 30)], mode=mode)
    hints = load_hints(path, (20, 30))
    assert hints.dtype == np.uint8 and hints.shape == (20, 30)
    assert (hints[2:5, 3:9] == MARK).all() and (hints[10:12] == NOT_MARK).all()
    assert int((hints == MARK).sum()) == 18 and int((hints == NOT_MARK).sum()) == 60


def test_white_grey_and_transparent_pixels_are_no_hint(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[0] = (255, 255, 255, 255)          # white
    rgba[1] = (128, 128, 128, 255)          # grey
    rgba[2] = (0, 255, 0, 0)                # green but transparent
    rgba[3] = (0, 255, 0, 255)              # the one hint
    path = tmp_path / "h.png"
    Image.fromarray(rgba, "RGBA").save(path)
    hints = load_hints(path, (10, 10))
    assert (hints[3] == MARK).all() and not hints[:3].any() and not hints[4:].any()


@pytest.mark.parametrize("kind, message", [
    ("size", "hints are 31x20 but the photo is 30x20"),
    ("empty", "hold no hint"),
    ("junk", "hints"),
])
def test_bad_hints_images_are_refused(tmp_path, kind, message):
    path = tmp_path / "h.png"
    if kind == "size":
        write_hints(path, (31, 20), green=[(0, 2, 0, 2)])
    elif kind == "empty":
        write_hints(path, (30, 20))
    else:
        path.write_bytes(b"not a png")
    with pytest.raises(InputError, match=message) as err:
        load_hints(path, (20, 30))
    assert "\n" not in str(err.value)


def save_scene(tmp_path):
    img, _, mask, _, _ = scene()
    Image.fromarray(img).save(tmp_path / "photo.png")
    Image.fromarray((mask * 255).astype(np.uint8)).save(tmp_path / "mask.png")
    return img, mask


def test_decompose_hints_cli_honours_them_and_reports_them(tmp_path, capsys):
    img, mask = save_scene(tmp_path)
    write_hints(tmp_path / "hints.png", (W, H), green=[(82, 118, 137, 173)],
                red=[(138, 146, 66, 164), (0, 10, 0, 10)])     # the last outside the mask
    out = tmp_path / "out"
    rc = main(["decompose", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"),
               "--hints", str(tmp_path / "hints.png"), "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["input"]["hints"]["mark_pixels"] == 36 * 36
    assert report["input"]["hints"]["not_mark_pixels"] == 8 * 98
    obj = np.asarray(Image.open(out / "object.png").convert("RGB"))
    assert np.array_equal(obj[138:146, 66:164], img[138:146, 66:164])
    logo = np.asarray(Image.open(out / "logo.png"))
    assert (logo[85:115, 140:170, 3] > 0).all()


@pytest.mark.parametrize("kind", ["missing", "size", "empty"])
def test_decompose_refuses_bad_hints_in_one_line_and_writes_nothing(tmp_path, capsys, kind):
    save_scene(tmp_path)
    hints = tmp_path / "hints.png"
    if kind == "size":
        write_hints(hints, (W + 1, H), green=[(0, 2, 0, 2)])
    elif kind == "empty":
        write_hints(hints, (W, H))
    out = tmp_path / "out"
    rc = main(["decompose", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"),
               "--hints", str(hints), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "hints" in err
    assert not out.exists()
