"""The Qt-free document model, quad maths and settings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from layerlift.desktop.document import (
    Document,
    Layer,
    asset_on_canvas,
    fit_asset_in_quad,
    rotated_quad,
    scaled_quad,
    stroke_coverage,
    tint_rgba,
)
from layerlift.desktop.settings import Settings, load_settings, save_settings


def doc(h=100, w=120):
    return Document(np.full((h, w, 3), 200, np.uint8))


def test_new_document_has_only_the_original_and_an_empty_mask():
    d = doc()
    assert [layer.kind for layer in d.layers] == ["original"]
    assert d.mask.shape == (100, 120) and not d.mask.any()
    assert d.layers[0].rgba[..., 3].min() == 255


def test_brush_segment_covers_a_capsule_and_reports_its_rect():
    d = doc()
    events = []
    d.listeners.append(lambda e, p: events.append((e, p)))
    rect = d.paint(20, 50, 80, 50, radius=5, hardness=1.0)
    assert events == [("mask", rect)]
    x0, y0, x1, y1 = rect
    assert x0 <= 15 and x1 >= 85 and y0 <= 45 and y1 >= 55
    m = d.mask_bool()
    assert m[50, 20:81].all()                      # along the segment
    assert not m[40].any() and not m[60].any()     # beyond the radius
    assert not m[:, :13].any() and not m[:, 88:].any()


def test_soft_brush_has_partial_edge_and_eraser_removes():
    d = doc()
    d.paint(60, 50, 60, 50, radius=20, hardness=0.0)
    assert d.mask[50, 60] > 240 and 0 < d.mask[50, 72] < 255
    d.paint(60, 50, 60, 50, radius=30, hardness=1.0, erase=True)
    assert not d.mask.any()


def test_stroke_outside_the_photo_changes_nothing():
    assert stroke_coverage(-100, -100, -50, -50, 10, 1, (100, 120)) is None
    d = doc()
    assert d.paint(500, 500, 600, 600, 10, 1) is None


def test_fill_rect_is_clipped():
    d = doc()
    assert d.fill_rect((-10, 90, 20, 200)) == (0, 90, 20, 100)
    assert d.mask[90:, :20].min() == 255 and d.mask.sum() == 255 * 10 * 20


def test_warp_asset_places_the_logo_on_the_quad():
    asset = np.zeros((10, 20, 4), np.uint8)
    asset[..., 0] = 255
    asset[..., 3] = 255
    quad = np.array([[30, 40], [70, 40], [70, 60], [30, 60]], float)
    out = asset_on_canvas(asset, quad, (100, 120))
    assert out[45:55, 35:65, 3].min() == 255
    assert out[45:55, 35:65, 0].min() == 255        # no dark fringe from transparent pixels
    assert out[:35].max() == 0 and out[65:].max() == 0


def test_fit_asset_in_quad_keeps_aspect_and_centre():
    quad = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], float)
    wide = np.zeros((10, 40, 4), np.uint8)
    fitted = fit_asset_in_quad(wide, quad)
    np.testing.assert_allclose(fitted, [[0, 37.5], [100, 37.5], [100, 62.5], [0, 62.5]],
                               atol=1e-4)
    tall = np.zeros((40, 10, 4), np.uint8)       # a tall logo sits centred across the width
    np.testing.assert_allclose(fit_asset_in_quad(tall, quad),
                               [[37.5, 0], [62.5, 0], [62.5, 100], [37.5, 100]], atol=1e-4)
    rotated = rotated_quad(quad, 30)
    fitted = fit_asset_in_quad(wide, rotated)
    np.testing.assert_allclose(fitted.mean(axis=0), rotated.mean(axis=0), atol=1e-4)
    side = np.linalg.norm(fitted[1] - fitted[0]) / np.linalg.norm(fitted[3] - fitted[0])
    assert side == pytest.approx(4.0, rel=1e-4)


def test_scale_and_rotate_keep_the_centre():
    quad = np.array([[10, 10], [30, 10], [30, 20], [10, 20]], float)
    np.testing.assert_allclose(scaled_quad(quad, 2).mean(axis=0), [20, 15])
    r = rotated_quad(quad, 90)
    np.testing.assert_allclose(r[0], [25, 5], atol=1e-9)


def test_tint_recolours_but_keeps_alpha():
    asset = np.zeros((4, 4, 4), np.uint8)
    asset[..., 3] = 128
    out = tint_rgba(asset, (255, 0, 0), 1.0)
    assert (out[..., 3] == 128).all() and out[..., 0].min() > 50 and out[..., 1].max() == 0
    assert tint_rgba(asset, None, 1.0) is asset


def test_composite_respects_visibility_and_opacity():
    d = doc()
    red = np.zeros((100, 120, 4), np.uint8)
    red[..., 0] = 255
    red[..., 3] = 255
    d.set_layers([Layer("Red", "object", rgba=red, opacity=0.5)] + d.layers)
    out = d.composite()
    assert tuple(out[0, 0]) == (228, 100, 100)
    d.update_layer(0, visible=False)
    assert tuple(d.composite()[0, 0]) == (200, 200, 200)


def test_settings_round_trip_and_bad_values(tmp_path):
    path = tmp_path / "s.json"
    s = Settings(engine="flux", steps=20, brush_size=12.5)
    s.add_recent(str(tmp_path / "a.jpg"))
    save_settings(s, path)
    assert load_settings(path) == s
    path.write_text(json.dumps({"steps": "many", "brush_size": 3, "recent_files": [1],
                                "nonsense": True}))
    loaded = load_settings(path)
    assert loaded.steps == 0 and loaded.brush_size == 3.0 and loaded.recent_files == ["1"]
    path.write_text("{not json")
    assert load_settings(path) == Settings()


def test_settings_default_location_is_under_xdg_config(private_dirs):
    from layerlift.desktop.settings import settings_path
    assert str(settings_path()).startswith(str(private_dirs))


def test_mask_box_follows_edits_without_scanning_everything():
    d = doc()
    assert d.mask_box() is None
    d.paint(30, 40, 30, 40, radius=5, hardness=1.0)
    d.fill_rect((80, 10, 90, 20))
    assert d.mask_box() == (25, 10, 90, 45)
    d.paint(30, 40, 30, 40, radius=8, hardness=1.0, erase=True)
    assert d.mask_box() == (80, 10, 90, 20)
    d.fill_rect((0, 0, 120, 100), 0)
    assert d.mask_box() is None
    loaded = np.zeros((100, 120), bool)
    loaded[5:7, 100:110] = True
    d.set_mask(loaded)
    assert d.mask_box() == (100, 5, 110, 7)
    assert Document(d.image, mask=d.mask.copy()).mask_box() == (100, 5, 110, 7)


def test_stroke_backup_gives_back_the_pixels_before_the_stroke():
    from layerlift.desktop.document import StrokeBackup, union
    rng = np.random.default_rng(3)
    image = np.zeros((700, 900, 3), np.uint8)
    d = Document(image, mask=rng.integers(0, 256, (700, 900), dtype=np.uint8))
    original = d.mask.copy()
    backup = StrokeBackup(d.mask)
    rect = None
    # An L-shaped stroke over several tiles (its bbox holds tiles it never touched), then
    # an eraser pass back over part of it.
    for (x0, y0, x1, y1), erase in (((30, 40, 600, 60), False), ((600, 60, 610, 650), False),
                                    ((100, 50, 400, 50), True)):
        rect = union(rect, d.paint(x0, y0, x1, y1, 20, 0.5, erase=erase, backup=backup))
    x0, y0, x1, y1 = rect
    assert not np.array_equal(d.mask, original)
    assert np.array_equal(backup.before(rect), original[y0:y1, x0:x1])
    # Only the tiles the stroke touched were copied, not the whole mask.
    kept = sum(tile.nbytes for tile in backup.tiles.values())
    assert kept < original.nbytes * 0.6
    assert (1, 1) not in backup.tiles            # inside the bbox, never painted


def test_a_snapshot_copies_the_marked_part_of_the_mask():
    from layerlift.desktop.project import snapshot

    d = Document(np.zeros((50, 60, 3), np.uint8))
    d.fill_rect((10, 5, 30, 20))
    assert np.array_equal(snapshot(d).mask, d.mask)
    d.paint(40, 40, 45, 42, radius=3, hardness=0.5)
    copy = snapshot(d)
    assert np.array_equal(copy.mask, d.mask) and not np.shares_memory(copy.mask, d.mask)
    before = copy.mask.copy()
    d.fill_rect((0, 0, 60, 50))                      # edits after the snapshot stay out of it
    assert np.array_equal(copy.mask, before)


def test_a_snapshot_keeps_the_document_as_it_was_when_the_save_began():
    from dataclasses import replace

    from layerlift.desktop.project import snapshot

    d = Document(np.zeros((50, 60, 3), np.uint8))
    d.fill_rect((10, 5, 30, 20))
    d.fill_rect((10, 5, 30, 20), value=0)            # the extent stays; nothing is marked
    d.fill_rect((40, 30, 44, 33))
    d.put_hints((2, 3, 6, 8), np.ones((5, 4), np.uint8))
    events = []
    d.listeners.append(lambda e, p: events.append(e))
    copy = snapshot(d)
    assert copy.mask_extent == (40, 30, 44, 33)      # the tight box of what is marked
    assert copy.hints_extent == (2, 3, 6, 8) and np.array_equal(copy.hints, d.hints)
    assert not copy.listeners and copy.meta == d.meta and copy.meta is not d.meta
    # Edits after the snapshot (the user keeps working while it is written) stay out of it.
    d.put_hints((0, 0, 60, 50), np.full((50, 60), 2, np.uint8))
    d.put_layer(0, replace(d.layers[0], name="Renamed", opacity=0.5))
    d.layers.append(Layer("Extra", "original", rgba=d.layers[0].rgba))
    d.meta["engine"] = "changed"
    assert copy.hints.sum() == 20 and (copy.layers[0].name, copy.layers[0].opacity) == \
        ("Original", 1.0) and len(copy.layers) == 1 and "engine" not in copy.meta
    copy.fill_rect((0, 0, 5, 5))                     # the snapshot tells the window nothing
    assert events == ["hints", "layer"]


def test_a_window_layer_rendered_full_size_is_mapped():
    """Saves render it on the writer thread; letting go of it must not hold the GIL."""
    import mmap

    base = np.zeros((1200, 1000, 4), np.uint8)
    layer = Layer("Object", "object", base=base, patch=np.full((4, 5, 4), 9, np.uint8),
                  offset=(3, 2))
    full = layer.render((1200, 1000))
    assert full[2:6, 3:8].min() == 9 and not full[:2].any()
    while isinstance(full, np.ndarray):
        full = full.base
    assert isinstance(full, memoryview) and isinstance(full.obj, mmap.mmap)


def test_set_mask_keeps_soft_coverage_and_turns_a_bool_mask_into_255():
    d = doc()
    soft = np.zeros((100, 120), np.uint8)
    soft[10:20, 30:40] = 130                   # a soft brush edge: counts as logo, barely
    soft[40, 50] = 90                          # painted a little: not logo
    events = []
    d.listeners.append(lambda e, p: events.append((e, p)))
    d.set_mask(soft)
    np.testing.assert_array_equal(d.mask, soft)
    assert d.mask_box() == (30, 10, 40, 20) and events == [("mask", (0, 0, 120, 100))]
    d.set_mask(soft > 100)
    assert d.mask.dtype == np.uint8 and set(np.unique(d.mask)) == {0, 255}
    assert d.mask_extent == (30, 10, 40, 20)
    with pytest.raises(ValueError):
        d.set_mask(np.zeros((10, 10), bool))
