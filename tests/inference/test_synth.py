import json

import numpy as np
import pytest

from layerlift.inference.errors import InputError
from layerlift.inference.layers import alpha_over
from layerlift.inference.synth import (
    KINDS,
    generate_dataset,
    generate_triplet,
    read_triplet,
    write_triplet,
)
from layerlift.inference.synth.__main__ import main as synth_main
from layerlift.inference.synth.surfaces import cylinder_maps, perspective_maps

SIZE = 128


def assert_same(a, b):
    for name in ("composite", "logo", "object", "mask"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.meta == b.meta


def test_same_seed_same_case_and_seeds_differ():
    a = generate_triplet(7, SIZE)
    assert_same(a, generate_triplet(7, SIZE))
    b = generate_triplet(8, SIZE)
    assert not np.array_equal(a.composite, b.composite)


def test_forcing_the_kind_keeps_the_drawn_case():
    drawn = generate_triplet(11, SIZE)
    assert_same(drawn, generate_triplet(11, SIZE, kind=drawn.meta["kind"]))


@pytest.mark.parametrize("kind", KINDS)
def test_every_family_makes_a_consistent_triplet(kind):
    for opaque in (True, False):
        t = generate_triplet(3, SIZE, kind, opaque)
        assert t.composite.shape == t.object.shape == (SIZE, SIZE, 3)
        assert t.logo.shape == (SIZE, SIZE, 4) and t.mask.shape == (SIZE, SIZE)
        assert t.composite.dtype == t.object.dtype == t.logo.dtype == np.uint8
        assert t.mask.dtype == bool
        support = t.logo[..., 3] > 0
        assert support.sum() > 50, "the logo must be visible"
        assert not (support & ~t.mask).any(), "the mask must cover the whole logo"
        assert t.mask.sum() > support.sum(), "the mask is loose, like a user's"
        assert (t.logo[~support] == 0).all()
        assert t.meta["kind"] == kind and t.meta["opaque"] == opaque
        truth = alpha_over(t.logo, t.object)
        diff = np.abs(truth.astype(int) - t.composite.astype(int))
        if t.meta["jpeg_quality"] is None:
            assert diff.max() == 0, "composite = alpha-over(logo, object) exactly"
        else:
            mse = (diff.astype(float) ** 2).mean()
            assert 0 < mse and 10 * np.log10(255 ** 2 / mse) > 24, "JPEG only perturbs"
        # alpha = coverage x opacity: a watermark never exceeds its opacity
        top = int(t.logo[..., 3].max())
        if opaque:
            assert t.meta["opacity"] == 1.0 and top > 0.7 * 255
        else:
            assert 0.2 <= t.meta["opacity"] <= 0.7
            assert top <= round(t.meta["opacity"] * 255) + 1


def test_logo_is_printed_with_the_surface_shading():
    # On a mug the body is lit from one side: the same ink reads darker where the body is
    # darker, so logo and object brightness rise and fall together under the logo.
    found = 0
    for seed in range(30):
        t = generate_triplet(seed, 256, "mug", opaque=True)
        if t.meta["style"] != "text":
            continue
        solid = t.logo[..., 3] > 230
        if solid.sum() < 50:
            continue
        luma_logo = t.logo[..., :3].astype(float).mean(axis=2)[solid]
        luma_obj = t.object.astype(float).mean(axis=2)[solid]
        if np.ptp(luma_obj) < 30:
            continue
        assert np.corrcoef(luma_logo, luma_obj)[0, 1] > 0.5
        found += 1
        if found == 2:
            break
    assert found == 2


def test_perspective_maps_send_quad_corners_to_logo_corners():
    quad = np.array([[20.0, 30.0], [100.0, 20.0], [110.0, 90.0], [15.0, 100.0]])
    mx, my = perspective_maps(128, 60, 40, quad)
    for (x, y), (u, v) in zip(quad, [(0, 0), (60, 0), (60, 40), (0, 40)], strict=True):
        assert abs(mx[int(y), int(x)] - u) < 1e-3 and abs(my[int(y), int(x)] - v) < 1e-3


def test_cylinder_maps_foreshorten_towards_the_sides():
    mx, _ = cylinder_maps(256, 200, 50, cx=128.0, radius=100.0, ellipse=10.0, phi0=0.0,
                          level=128.0)
    row = mx[128]
    assert abs(row[128] - 100) < 1e-3            # the front of the cylinder: the logo's middle
    centre_step = row[129] - row[128]
    side_step = row[220] - row[219]
    assert side_step > 1.5 * centre_step          # near the side, one pixel covers more logo
    assert (row[:28] < 0).all()                   # beyond the silhouette: no logo


def test_write_read_roundtrip_is_atomic(tmp_path):
    t = generate_triplet(5, 96)
    folder = write_triplet(t, tmp_path / "case")
    assert sorted(p.name for p in folder.iterdir()) == [
        "composite.png", "logo.png", "mask.png", "meta.json", "object.png"]
    assert_same(t, read_triplet(folder))
    assert [p.name for p in tmp_path.iterdir()] == ["case"], "no temporary folder left"
    # writing again replaces the folder whole
    write_triplet(generate_triplet(6, 96), folder)
    assert json.loads((folder / "meta.json").read_text())["seed"] == 6


def test_read_triplet_rejects_an_incomplete_folder(tmp_path):
    with pytest.raises(InputError, match="missing"):
        read_triplet(tmp_path)


def test_dataset_and_cli(tmp_path):
    folders = generate_dataset(tmp_path / "ds", 2, seed=40, size=80)
    assert [f.name for f in folders] == ["00000", "00001"]
    assert_same(read_triplet(folders[1]), generate_triplet(41, 80))
    assert synth_main([str(tmp_path / "cli"), "--count", "2", "--seed", "40",
                       "--size", "80"]) == 0
    assert_same(read_triplet(tmp_path / "cli" / "00001"), read_triplet(folders[1]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown kind"):
        generate_triplet(0, SIZE, kind="teapot")
    with pytest.raises(ValueError, match="size"):
        generate_triplet(0, 16)


def test_missing_fonts_fall_back(monkeypatch):
    from layerlift.inference.synth import logos

    logos._font.cache_clear()
    monkeypatch.setattr(logos, "FONT_DIR", "/nonexistent")
    try:
        rng = np.random.default_rng(0)
        colours = [np.array([0.1, 0.2, 0.9], np.float32)]
        flat = logos.make_logo(rng, "text", 120, colours)
        assert flat.coverage.max() > 0.9 and flat.coverage.shape[1] == 120
    finally:
        logos._font.cache_clear()
