"""The CLI end to end with the classical engine: decompose, export, read back, recompose."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms
from psd_tools import PSDImage

from layerlift.inference import cli
from layerlift.inference.layers import alpha_over
from layerlift.inference.ora import read_ora

ROOT = Path(__file__).parents[2]
H, W = 96, 128
EXPECTED_FILES = ["layers.ora", "layers.psd", "logo.png", "logo_asset.png", "manifest.json",
                  "object.png", "report.json"]


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photo, mask, logo): a shaded, lightly textured surface with an opaque and a
    semi-transparent mark on it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    base = 120 + 50 * (xx / W) + 20 * np.sin(yy / 9.0)
    surface = np.stack([base, base * 0.9 + 10, base * 0.7 + 30], -1)
    surface += rng.normal(0, 2, surface.shape)
    obj = np.clip(surface, 0, 255).astype(np.uint8)
    logo = np.zeros((H, W, 4), np.uint8)
    logo[36:48, 40:90] = (200, 20, 30, 255)           # opaque bar
    logo[54:62, 40:90] = (20, 30, 180, 140)           # semi-transparent bar
    photo = alpha_over(logo, obj)
    mask = np.zeros((H, W), bool)
    mask[32:66, 36:94] = True
    return photo, mask, logo


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _sha(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def scene(tmp_path):
    photo, mask, logo = _scene()
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "photo.mask.png")
    return tmp_path, photo, mask


def _leftovers(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(".")]


def test_decompose_with_mask_exports_every_layer_format(scene, capsys):
    d, photo, mask = scene
    before = _sha(d / "photo.png")
    out = d / "result"
    rc = cli.main(["decompose", str(d / "photo.png"), "--mask", str(d / "photo.mask.png"),
                   "--out", str(out), "--seed", "3"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert str(out) in captured.out
    assert sorted(os.listdir(out)) == EXPECTED_FILES
    assert _sha(d / "photo.png") == before and not _leftovers(d)

    obj = np.asarray(Image.open(out / "object.png"))
    logo = np.asarray(Image.open(out / "logo.png"))
    assert obj.shape == (H, W, 3) and logo.shape == (H, W, 4)
    np.testing.assert_array_equal(obj[~mask], photo[~mask])     # bit for bit outside the mask
    assert (logo[~mask][:, 3] == 0).all()
    np.testing.assert_array_equal(alpha_over(logo, obj), photo)   # the cycle is exact

    report = json.loads((out / "report.json").read_text())
    assert report["engine"] == "classical" and report["settings"]["seed"] == 3
    assert report["input"]["mask_pixels"] == int(mask.sum())
    assert {"load_s", "decompose_s", "export_s"} <= set(report["timings"])
    assert report["cycle_error"] == 0.0 and report["cycle_psnr"] is None   # inf in JSON

    psd = PSDImage.open(out / "layers.psd")
    assert [layer.name for layer in reversed(list(psd))] == ["Logo", "Object"]  # top first
    logo_layer = list(psd)[1]
    x0, y0, x1, y1 = logo_layer.bbox
    np.testing.assert_array_equal(np.asarray(logo_layer.topil()), logo[y0:y1, x0:x1])
    assert _psnr(np.asarray(psd.composite())[..., :3], photo) >= 40.0   # psd-tools' rounding
    np.testing.assert_array_equal(np.asarray(psd.topil())[..., :3], photo)  # merged image

    with zipfile.ZipFile(out / "layers.ora") as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    layers, _extra = read_ora(out / "layers.ora")
    assert [layer.name for layer in layers] == ["Logo", "Object"]
    np.testing.assert_array_equal(alpha_over(layers[0].rgba, layers[1].rgba[..., :3]), photo)

    from pyora import Project

    project = Project.load(str(out / "layers.ora"))
    by_name = {layer.name: np.asarray(layer.get_image_data()) for layer in project.iter_layers}
    np.testing.assert_array_equal(by_name["Logo"], logo)
    np.testing.assert_array_equal(by_name["Object"][..., :3], obj)

    manifest = json.loads((out / "manifest.json").read_text())
    assert [(e["name"], e["file"]) for e in manifest["layers"]] == \
        [("Logo", "logo.png"), ("Object", "object.png")]


def test_box_default_out_and_rerun_replaces(scene, capsys):
    d, photo, mask = scene
    args = ["decompose", str(d / "photo.png"), "--box", "36,32,94,66"]
    assert cli.main(args) == 0
    out = d / "photo.layers"
    assert sorted(os.listdir(out)) == EXPECTED_FILES
    first = json.loads((out / "report.json").read_text())
    assert first["input"]["box"] == [36, 32, 94, 66]
    (out / "object.png").write_bytes(b"stale")  # an earlier run's file gets replaced
    assert cli.main(args + ["--seed", "7"]) == 0, capsys.readouterr().err
    assert sorted(os.listdir(out)) == EXPECTED_FILES
    assert json.loads((out / "report.json").read_text())["settings"]["seed"] == 7
    assert np.asarray(Image.open(out / "object.png")).shape == (H, W, 3)
    assert not _leftovers(d)


def test_box_with_grabcut(scene, capsys):
    d, photo, mask = scene
    rc = cli.main(["decompose", str(d / "photo.png"), "--box", "36,32,94,66", "--grabcut",
                   "--out", str(d / "gc")])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((d / "gc" / "report.json").read_text())
    assert report["input"]["grabcut"] is True
    assert 0 < report["input"]["mask_pixels"] <= 58 * 34


def _save_awkward(kind: str, photo: np.ndarray, path_stem: Path) -> tuple[Path, tuple[int, int]]:
    """Write the photo in an awkward but valid way; returns the path and the upright size."""
    im = Image.fromarray(photo)
    size = (H, W)
    if kind == "grayscale":
        path = path_stem.with_suffix(".png")
        im.convert("L").save(path)
    elif kind == "cmyk-jpeg":
        path = path_stem.with_suffix(".jpg")
        im.convert("CMYK").save(path, quality=95)
    elif kind == "palette":
        path = path_stem.with_suffix(".png")
        im.convert("P").save(path)
    elif kind == "16-bit":
        path = path_stem.with_suffix(".png")
        Image.fromarray(photo[..., 1].astype(np.uint16) * 257).save(path)
    elif kind == "rgba":
        path = path_stem.with_suffix(".png")
        Image.fromarray(np.dstack([photo, np.full((H, W), 200, np.uint8)]), "RGBA").save(path)
    elif kind == "exif-rotated":
        path = path_stem.with_suffix(".jpg")
        exif = im.getexif()
        exif[0x0112] = 8  # rotate 90 CCW to display
        im.save(path, exif=exif.tobytes(), quality=95)
        size = (W, H)
    elif kind == "webp":
        path = path_stem.with_suffix(".webp")
        im.save(path, quality=90)
    elif kind == "tiff":
        path = path_stem.with_suffix(".tiff")
        im.save(path)
    elif kind == "bmp":
        path = path_stem.with_suffix(".bmp")
        im.save(path)
    elif kind == "icc-srgb":
        path = path_stem.with_suffix(".jpg")
        im.save(path, icc_profile=ImageCms.ImageCmsProfile(
            ImageCms.createProfile("sRGB")).tobytes(), quality=95)
    else:
        raise AssertionError(kind)
    return path, size


@pytest.mark.parametrize("kind", ["grayscale", "cmyk-jpeg", "palette", "16-bit", "rgba",
                                  "exif-rotated", "webp", "tiff", "bmp", "icc-srgb"])
def test_awkward_valid_photos_work(tmp_path, capsys, kind):
    photo, _mask, _logo = _scene()
    path, (h, w) = _save_awkward(kind, photo, tmp_path / "photo")
    out = tmp_path / "out"
    rc = cli.main(["decompose", str(path), "--box", "36,32,90,66", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    obj = np.asarray(Image.open(out / "object.png"))
    assert obj.shape == (h, w, 3)
    assert np.asarray(Image.open(out / "logo.png")).shape == (h, w, 4)


def test_compose_back_in_place_and_with_a_quad(scene, capsys):
    d, photo, mask = scene
    out = d / "layers"
    assert cli.main(["decompose", str(d / "photo.png"), "--mask", str(d / "photo.mask.png"),
                     "--out", str(out)]) == 0
    rc = cli.main(["compose", "--object", str(out / "object.png"), "--logo",
                   str(out / "logo.png"), "--out", str(d / "again.png")])
    assert rc == 0, capsys.readouterr().err
    again = np.asarray(Image.open(d / "again.png"))
    # A logo in place is taken as printed: Logo over Object rebuilds the photo.
    assert np.abs(again.astype(int) - photo).max() <= 1
    quad = np.array([[10, 10], [60, 14], [58, 40], [12, 36]])
    rc = cli.main(["compose", "--object", str(out / "object.png"), "--logo",
                   str(out / "logo_asset.png"), "--quad", ",".join(map(str, quad.ravel())),
                   "--out", str(d / "moved.png")])
    assert rc == 0, capsys.readouterr().err
    moved = np.asarray(Image.open(d / "moved.png")).astype(int)
    obj = np.asarray(Image.open(out / "object.png")).astype(int)
    inside = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 1)
    assert np.abs(moved - obj)[inside.astype(bool)].mean() > 20  # the logo landed there
    far = np.ones((H, W), bool)
    far[:50, :70] = False
    assert np.array_equal(moved[far], obj[far])                  # and nowhere else
    assert not _leftovers(d)


def test_real_process_decompose_and_no_torch(scene):
    """The CLI in its own process: exit 0, and neither torch nor Qt is imported."""
    d, _photo, _mask = scene
    code = (
        "import sys\n"
        "from layerlift.inference.cli import main\n"
        f"rc = main(['decompose', {str(d / 'photo.png')!r}, '--mask', "
        f"{str(d / 'photo.mask.png')!r}, '--out', {str(d / 'sub')!r}])\n"
        "heavy = [m for m in ('torch', 'diffusers', 'PySide6') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(d / "sub")) == EXPECTED_FILES


def test_help_is_light(tmp_path):
    """`layerlift --help` imports neither torch, Qt nor the export stack."""
    code = (
        "import sys\n"
        "from layerlift.cli import main\n"
        "rc = main(['--help'])\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'psd_tools', 'PySide6') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    for command in ("decompose", "compose", "batch", "models", "train", "gui"):
        assert command in proc.stdout


def _visible(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


def test_batch_from_a_list_with_a_box(tmp_path, capsys):
    photo, _mask, _logo = _scene()
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(photo).save(tmp_path / name / "shot.jpg", quality=95)
    (tmp_path / "list.txt").write_text("# two shots with the same name\na/shot.jpg\nb/shot.jpg\n")
    rc = cli.main(["batch", str(tmp_path / "list.txt"), "--box", "36,32,94,66",
                   "--out", str(tmp_path / "all")])
    captured = capsys.readouterr()
    assert rc == 0, captured
    assert "2 done, 0 failed" in captured.out
    assert _visible(tmp_path / "all") == ["manifest.jsonl", "shot", "shot-2"]
    for name in ("shot", "shot-2"):  # each folder as decompose writes it
        assert sorted(os.listdir(tmp_path / "all" / name)) == EXPECTED_FILES
    reports = [json.loads((tmp_path / "all" / d / "report.json").read_text())["input"]["image"]
               for d in ("shot", "shot-2")]
    assert [Path(r).parent.name for r in reports] == ["a", "b"]


def test_batch_keeps_photos_with_one_stem_apart(tmp_path, capsys):
    photo, _mask, _logo = _scene()
    Image.fromarray(photo).save(tmp_path / "shot.jpg", quality=95)
    Image.fromarray(photo).save(tmp_path / "shot.png")
    rc = cli.main(["batch", str(tmp_path / "shot.jpg"), str(tmp_path / "shot.png"),
                   "--box", "36,32,94,66", "--out", str(tmp_path / "out")])
    assert rc == 0, capsys.readouterr()
    reports = [json.loads((tmp_path / "out" / d / "report.json").read_text())["input"]["image"]
               for d in ("shot", "shot-2")]
    assert [Path(r).name for r in reports] == ["shot.jpg", "shot.png"]


def _alpha(folder: Path) -> np.ndarray:
    return np.asarray(Image.open(folder / "logo.png"))[..., 3]


def test_exact_mask_fills_every_masked_pixel_and_the_report_has_a_confidence(scene, capsys):
    from layerlift.inference.confidence import confidence_words

    d, _photo, mask = scene
    args = ["decompose", str(d / "photo.png"), "--mask", str(d / "photo.mask.png")]
    assert cli.main(args + ["--out", str(d / "loose")]) == 0
    assert cli.main(args + ["--out", str(d / "exact"), "--exact-mask"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    # A loose mask keeps the surface it does not need; an exact one is mark everywhere.
    assert not (_alpha(d / "loose")[mask] > 0).all()
    assert (_alpha(d / "exact")[mask] > 0).all()
    for name, exact in (("loose", False), ("exact", True)):
        report = json.loads((d / name / "report.json").read_text())
        assert report["settings"]["exact_mask"] is exact
        assert 0.0 <= report["confidence"] <= 1.0 and "confidence" not in report["meta"]
        assert report["cycle_error"] is not None
    assert f"confidence {report['confidence'] * 100:.0f} %" in last
    assert confidence_words(report["confidence"]) in last


def test_batch_with_exact_mask(tmp_path, capsys):
    photo, mask, _logo = _scene()
    (tmp_path / "in").mkdir()
    Image.fromarray(photo).save(tmp_path / "in" / "shot.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "in" / "shot.mask.png")
    out = tmp_path / "out"
    rc = cli.main(["batch", str(tmp_path / "in"), "--exact-mask", "--out", str(out)])
    assert rc == 0, capsys.readouterr()
    assert (_alpha(out / "shot")[mask] > 0).all()
    report = json.loads((out / "shot" / "report.json").read_text())
    assert report["settings"]["exact_mask"] is True
    (item,) = [json.loads(t) for t in (out / "manifest.jsonl").read_text().splitlines()]
    assert item["status"] == "ok" and item["confidence"] == report["confidence"]
    assert 0.0 <= item["confidence"] <= 1.0
