"""select_mark (one click selects the logo) and the CLI's `select` and `decompose --point`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from layerlift.inference import cli
from layerlift.inference.errors import InputError
from layerlift.inference.select import select_mark
from layerlift.resources.sample import make_sample

H, W = 240, 320
INK = (40, 50, 140)


def surface(seed: int = 0, h: int = H, w: int = W) -> np.ndarray:
    """A shaded beige surface with a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    base = 190 + 25 * (xx / w) - 15 * (yy / h)
    rgb = np.stack([base, base * 0.93, base * 0.8], -1) + rng.normal(0, 3, (h, w, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def two_part_mark(photo: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
    """Two separate parts of one ink (a letter pair): a block and a bar beside it."""
    mark = np.zeros(photo.shape[:2], bool)
    mark[100 + dy:150 + dy, 130 + dx:160 + dx] = True
    mark[110 + dy:150 + dy, 168 + dx:182 + dx] = True
    photo[mark] = INK
    return mark


def covered(mask: np.ndarray, mark: np.ndarray) -> float:
    return float((mask & mark).sum() / mark.sum())


def box_area(mark: np.ndarray) -> int:
    ys, xs = np.nonzero(mark)
    return int((np.ptp(ys) + 1) * (np.ptp(xs) + 1))


def test_covers_both_parts_of_a_mark_from_one_click():
    photo = surface()
    mark = two_part_mark(photo)
    mask = select_mark(photo, [(145, 125)])
    assert covered(mask, mark) == 1.0
    assert mask.sum() < 2.0 * box_area(mark)  # a small margin, little else


def test_covers_both_inks_of_a_two_tone_emblem():
    photo = surface(1)
    mark = np.zeros((H, W), bool)
    mark[90:150, 120:200] = True
    photo[90:150, 120:160] = (200, 30, 30)
    photo[90:150, 160:200] = (250, 210, 40)
    mask = select_mark(photo, [(140, 120)])
    assert covered(mask, mark) == 1.0
    assert mask.sum() < 2.0 * box_area(mark)


def test_does_not_flood_a_surface_of_the_inks_colour():
    photo = surface(2)
    photo[:, :115] = INK  # a stripe of the surface in the ink's colour, reaching the edges
    mark = two_part_mark(photo)
    mask = select_mark(photo, [(145, 125)])
    assert covered(mask, mark) == 1.0
    assert not mask[:, :115].any()
    assert mask.sum() < 2.0 * box_area(mark)


def watermark_on_texture(seed: int, cell: int, opacity: float = 0.45
                         ) -> tuple[np.ndarray, np.ndarray]:
    """A white semi-transparent block over a blotchy surface of all greys: the block's colour
    follows the surface under it, so a narrow colour reach keeps only fragments of it."""
    rng = np.random.default_rng(seed)
    lum = rng.uniform(40, 220, (H // cell + 1, W // cell + 1)).astype(np.float32)
    lum = cv2.resize(lum, (W, H), interpolation=cv2.INTER_LINEAR)
    photo = np.stack([lum, lum * 0.9, lum * 0.75], -1) + rng.normal(0, 3, (H, W, 3))
    mark = np.zeros((H, W), bool)
    mark[90:150, 120:200] = True
    photo[mark] = (1 - opacity) * photo[mark] + opacity * 255
    return np.clip(photo, 0, 255).astype(np.uint8), mark


@pytest.mark.parametrize("seed, cell, opacity", [(2, 4, 0.45), (3, 8, 0.45), (4, 4, 0.35),
                                                 (9, 8, 0.45), (11, 4, 0.35)])
def test_covers_a_watermark_whose_colour_follows_the_surface(seed, cell, opacity):
    # The first two fail when only a stable reach may take the part (a fragment is
    # selected); the last three when the colours that join come from the widened reach.
    photo, mark = watermark_on_texture(seed, cell, opacity)
    mask = select_mark(photo, [(160, 120)])
    # (the fragments' hull, grown by the margin, may cut a sharp corner by a pixel or two)
    assert covered(mask, mark) > 0.97
    assert mask.sum() < 3.0 * box_area(mark)


def test_a_patch_of_the_inks_colour_lighter_than_its_surroundings_does_not_join():
    grey = (85, 85, 90)  # the ink: darker than the beige it is printed on
    photo = surface(4)
    photo[:, :8] = grey                  # the ink's colour is on the surface too
    photo[:, 196:] = (15, 15, 18)        # a dark band of the product, running off the photo
    photo[90:160, 204:274] = grey        # a patch of that colour on it, within the gap
    mark = np.zeros((H, W), bool)
    mark[100:150, 130:160] = True
    mark[110:150, 168:182] = True
    photo[mark] = grey
    mask = select_mark(photo, [(145, 125)])
    assert covered(mask, mark) == 1.0
    assert not mask[:, 204:].any()


def test_the_mask_hugs_a_tilted_mark_as_a_brushed_mask_does():
    # A bar at 45 degrees: its box is mostly surface; the mask is its hull grown by a margin.
    photo = surface(7)
    mark = np.zeros((H, W), np.uint8)
    cv2.line(mark, (100, 60), (220, 180), 1, 14)
    mark = mark.astype(bool)
    photo[mark] = INK
    mask = select_mark(photo, [(160, 120)])
    assert covered(mask, mark) > 0.99
    assert mask.sum() < 0.6 * box_area(mark)  # the box grown by the margin: 1.7 times


def lockup_on_a_two_colour_product(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An icon and its word on a band of a two-colour product: the word is in the product's
    other colour (above and below the band), so the surface round the group has it."""
    h, w = 400, 600
    rng = np.random.default_rng(seed)
    other = (170, 150, 200)
    photo = np.empty((h, w, 3), np.float32)
    photo[:] = (200, 185, 160)
    photo[:130] = photo[270:] = other
    photo += rng.normal(0, 3, photo.shape)
    mark = np.zeros((h, w), bool)
    photo[185:215, 150:180] = INK
    mark[185:215, 150:180] = True
    for x in range(190, 286, 16):  # the letters
        photo[190:212, x:x + 10] = other
        mark[190:212, x:x + 10] = True
    return np.clip(photo, 0, 255).astype(np.uint8), mark


def test_the_word_of_a_lockup_joins_along_its_row():
    # The word is neither the icon's colour nor foreign to the surface round the group; the
    # rows just above and below it lack its colour, so the group runs on along the row.
    photo, mark = lockup_on_a_two_colour_product()
    mask = select_mark(photo, [(165, 200)])
    assert covered(mask, mark) == 1.0
    assert mask.sum() < 2.5 * box_area(mark)
    assert not mask[:130].any() and not mask[270:].any()


def test_the_row_follows_a_tilted_word():
    # Each letter 4 px higher than the one before: the band follows the letters it finds.
    photo, _ = lockup_on_a_two_colour_product()
    photo[140:260, 185:] = photo[140, 185]  # the beige band, without the level word
    mark = np.zeros(photo.shape[:2], bool)
    mark[185:215, 150:180] = True
    for i, x in enumerate(range(190, 350, 16)):
        y = 190 - 4 * i
        photo[y:y + 22, x:x + 10] = (170, 150, 200)
        mark[y:y + 22, x:x + 10] = True
    mask = select_mark(photo, [(165, 200)])
    assert covered(mask, mark) == 1.0


def test_a_row_of_surface_that_runs_on_is_not_taken():
    # A stripe of a foreign colour along the mark's rows that runs past a word's length (and
    # off the photo) is surface: the row must end.
    photo = surface(8, 240, 900)
    photo[112:128, :] = (60, 150, 70)
    mark = np.zeros(photo.shape[:2], bool)
    mark[100:140, 100:130] = True
    photo[mark] = INK
    mask = select_mark(photo, [(115, 120)])
    assert covered(mask, mark) == 1.0
    assert not mask[:, 150:].any()


@pytest.mark.parametrize("dx, dy", [(37, -21), (1100, 700)])
def test_the_mask_follows_the_mark_and_the_click_when_both_shift(dx, dy):
    # A photo larger than the first window, so the window's offset counts too.
    a, b = surface(3, 1200, 1500), surface(3, 1200, 1500)
    two_part_mark(a)
    two_part_mark(b, dx=dx, dy=dy)
    mask_a = select_mark(a, [(145, 125)])
    mask_b = select_mark(b, [(145 + dx, 125 + dy)])
    ya, xa = np.nonzero(mask_a)
    yb, xb = np.nonzero(mask_b)
    for before, after, by in ((xa, xb, dx), (ya, yb, dy)):
        assert abs(before.min() + by - after.min()) <= 3
        assert abs(before.max() + by - after.max()) <= 3


def test_a_box_bounds_the_search():
    photo = surface(4)
    mark = two_part_mark(photo)
    box = (120, 90, 165, 160)  # holds the block, not the bar
    mask = select_mark(photo, [(145.5, 125.5)], box=box)
    assert covered(mask, mark & (np.arange(W) < 165)) == 1.0
    ys, xs = np.nonzero(mask)
    assert xs.min() >= 120 and xs.max() < 165 and ys.min() >= 90 and ys.max() < 160


def test_several_clicks_on_one_mark():
    photo = surface(5)
    mark = two_part_mark(photo)
    mask = select_mark(photo, [(145, 125), (175, 130)])
    assert covered(mask, mark) == 1.0


def test_a_higher_tolerance_selects_the_same_or_more_of_the_samples_patch():
    # The reaches a tolerance allows form a fixed ladder: a higher tolerance only adds wider
    # ones. (When they were its own reach narrowed in steps, 0.5 took the whole patch and 0.65
    # less of it, 0.9 a quarter.)
    photo = np.asarray(Image.open(Path(make_sample.__file__).parent / "photo.jpg")
                       .convert("RGB"))
    (cx, cy), r = make_sample.PATCH_CENTRE, make_sample.PATCH_RADIUS
    yy, xx = np.mgrid[:photo.shape[0], :photo.shape[1]]
    patch = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    shares, areas = [], []
    for tolerance in np.linspace(0.0, 1.0, 11):
        mask = select_mark(photo, [(cx, cy)], tolerance=float(tolerance))
        shares.append(covered(mask, patch))
        areas.append(int(mask.sum()))
    assert shares == sorted(shares) and areas == sorted(areas)
    assert shares[5] == 1.0  # the default takes the whole patch


@pytest.mark.parametrize("points, box, tolerance, words", [
    ([], None, 0.5, "at least one point"),
    ([(W, 10)], None, 0.5, "outside the 320x240 photo"),
    ([(float("nan"), 10)], None, 0.5, "outside"),
    ([(-1, 10)], None, 0.5, "outside"),
    ([(10, 10)], (20, 20, 60, 60), 0.5, "outside the box"),
    ([(30, 30)], (20, 20, 20, 60), 0.5, "no area"),
    ([(30, 30)], (20, 20, 400, 60), 0.5, "reaches outside"),
    ([(30, 30)], None, 1.5, "tolerance"),
])
def test_bad_points_box_or_tolerance_are_one_line(points, box, tolerance, words):
    with pytest.raises(InputError, match=words):
        select_mark(surface(), points, box=box, tolerance=tolerance)


# ---------------------------------------------------------------- CLI


@pytest.fixture
def photo_file(tmp_path):
    photo = surface(6)
    two_part_mark(photo)
    path = tmp_path / "shot.png"
    Image.fromarray(photo).save(path)
    return path


def test_select_writes_the_mask(photo_file, tmp_path, capsys):
    out = tmp_path / "masks" / "shot.mask.png"
    assert cli.main(["select", str(photo_file), "--point", "145,125", "--out", str(out)]) == 0
    written = np.asarray(Image.open(out)) > 127
    expected = select_mark(np.asarray(Image.open(photo_file)), [(145, 125)])
    assert (written == expected).all()
    assert str(out) in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["shot.mask.png"]  # no temp file left


@pytest.mark.parametrize("args, words", [
    (["--point", "a,b"], "--point must be X,Y"),
    (["--point", "145"], "--point must be X,Y"),
    (["--point", "900,10"], "outside the 320x240 photo"),
    (["--point", "145,125", "--box", "1,2,3"], "box must be"),
    (["--point", "145,125", "--tolerance", "2"], "between 0 and 1"),
])
def test_select_refusals_are_one_line_and_write_nothing(photo_file, tmp_path, capsys, args,
                                                        words):
    out = tmp_path / "m.png"
    assert cli.main(["select", str(photo_file), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not out.exists()


def test_select_refuses_to_overwrite_the_photo_or_write_a_jpeg(photo_file, capsys):
    before = photo_file.read_bytes()
    assert cli.main(["select", str(photo_file), "--point", "145,125",
                     "--out", str(photo_file)]) == 2
    assert photo_file.read_bytes() == before
    assert cli.main(["select", str(photo_file), "--point", "145,125",
                     "--out", str(photo_file.with_suffix(".jpg"))]) == 2
    assert "must end in .png" in capsys.readouterr().err


def test_decompose_from_a_click_writes_layers(photo_file, tmp_path):
    out = tmp_path / "layers"
    assert cli.main(["decompose", str(photo_file), "--point", "145,125", "--out",
                     str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["input"]["points"] == [[145.0, 125.0]]
    logo = np.asarray(Image.open(out / "logo.png"))
    assert logo[..., 3][100:150, 130:160].mean() > 200      # the block is found as mark
    assert logo[..., 3][110:150, 168:182].mean() > 200      # and the bar beside it
    for name in ("object.png", "layers.psd", "layers.ora"):
        assert (out / name).is_file()


def test_decompose_point_refusals(photo_file, tmp_path, capsys):
    out = tmp_path / "layers"
    assert cli.main(["decompose", str(photo_file), "--point", "145,125", "--box", "1,1,9,9",
                     "--out", str(out)]) == 2
    assert "not allowed with" in capsys.readouterr().err
    assert cli.main(["decompose", str(photo_file), "--box", "100,90,190,160",
                     "--tolerance", "0.3", "--out", str(out)]) == 2
    assert "--tolerance applies to --point" in capsys.readouterr().err
    assert cli.main(["decompose", str(photo_file), "--point", "145,999", "--out",
                     str(out)]) == 2
    assert "outside" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("box", [None, (700, 200, 1200, 460)])
def test_a_mark_cut_by_the_photos_edge_is_selected_to_that_edge(box):
    # A bar running off the photo's right edge: reaching the frame is not a flood (there is
    # no window left to grow into), so the whole visible bar is the selection.
    photo = surface(1, 800, 1200)
    mark = np.zeros(photo.shape[:2], bool)
    mark[300:360, 900:1200] = True
    photo[mark] = INK
    mask = select_mark(photo, [(1000, 330)], box=box)
    assert covered(mask, mark) > 0.95
    assert mask.sum() < 3 * mark.sum()


def test_a_mark_larger_than_the_first_window_grows_the_window():
    # On a large photo the first window is half the shorter side; a mark wider than that is
    # cut by the window's sides at every colour reach. That is a window too small, not a
    # flood: the window grows until the mark fits (it used to fall back to a small disc).
    photo = surface(2, 2400, 3000)
    mark = np.zeros(photo.shape[:2], bool)
    mark[900:1500, 700:2300] = True
    photo[mark] = INK
    mask = select_mark(photo, [(1500, 1200)])
    assert covered(mask, mark) > 0.95
    assert mask.sum() < 1.5 * mark.sum()


@pytest.mark.parametrize("shape, point", [((4, 6000), (3000, 1)), ((6000, 4), (1, 3000))])
def test_a_photo_a_few_pixels_thin_is_selected_without_error(shape, point):
    # (a window sampled every few pixels kept no row of a photo this thin once it had grown
    # to the photo's length: a mark running its whole length makes it grow)
    img = np.full(shape + (3,), 200, np.uint8)
    x, y = point
    if shape[0] < shape[1]:
        img[y:y + 2, 100:-100] = 30
    else:
        img[100:-100, x:x + 2] = 30
    mask = select_mark(img, [point])
    assert mask.shape == shape and mask[y, x]
