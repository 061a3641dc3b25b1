"""The cylinder bend of a placed logo asset (inference/warp.py) and its estimate from a mark's
alpha (inference/bend_estimate.py)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PIL import Image

from layerlift.inference import ComposeRequest, cli, compose
from layerlift.inference.bend_estimate import estimate_bend
from layerlift.inference.contract import BEND_LIMIT
from layerlift.inference.errors import InputError
from layerlift.inference.warp import (
    bend_for_sag,
    bend_for_top_middle,
    bend_for_width,
    bend_square,
    bent_outline,
    quad_inside_arc,
    sag_share,
    top_middle,
    unbend_square,
    warp_asset,
)

QUAD = np.array([[60, 100], [300, 100], [300, 190], [60, 190]], np.float64)
# The same logo tilted and sheared: a parallelogram (an affine placement), not a vanishing one.
PERSPECTIVE = np.array([[70, 95], [310, 110], [300, 200], [60, 185]], np.float64)
# A true perspective: no two sides parallel, the homography's last row is not (0, 0, 1).
PROJECTIVE = np.array([[120, 80], [260, 100], [320, 190], [90, 170]], np.float64)
SIZE = (400, 300)  # w, h


def badge() -> np.ndarray:
    """A red label with a white word on it: a mark with straight top and bottom edges."""
    asset = np.zeros((60, 160, 4), np.uint8)
    asset[...] = (200, 30, 30, 255)
    cv2.putText(asset, "LOGO", (10, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.8, (255, 255, 255, 255), 4)
    return asset


def flat_warp_before_bends(asset, quad, photo_size):
    """The quad warp as it was before bends existed (the classical engine's code then)."""
    w, h = photo_size
    x0 = max(int(np.floor(quad[:, 0].min())), 0)
    y0 = max(int(np.floor(quad[:, 1].min())), 0)
    x1 = min(int(np.ceil(quad[:, 0].max())), w)
    y1 = min(int(np.ceil(quad[:, 1].max())), h)
    src = asset.astype(np.float32) / 255.0
    src[..., :3] *= src[..., 3:4]
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    scale = max(sides[0], sides[2]) / src.shape[1], max(sides[1], sides[3]) / src.shape[0]
    if max(scale) < 0.5:
        nw = max(1, int(round(src.shape[1] * scale[0] * 1.5)))
        nh = max(1, int(round(src.shape[0] * scale[1] * 1.5)))
        src = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
    sh, sw = src.shape[:2]
    corners = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32) - 0.5
    dst = (quad - np.array([x0, y0]) - 0.5).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, dst)
    warped = cv2.warpPerspective(src, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped, (x0, y0, x1, y1)


def placed_alpha(asset, quad, bend) -> np.ndarray:
    premult, (x0, y0, x1, y1) = warp_asset(asset, quad, SIZE, bend)
    alpha = np.zeros(SIZE[::-1], np.uint8)
    alpha[y0:y1, x0:x1] = np.clip(np.rint(premult[..., 3] * 255), 0, 255).astype(np.uint8)
    return alpha


def top_edge(alpha: np.ndarray, columns) -> np.ndarray:
    """Row of the first pixel at least half opaque, per column."""
    return np.array([int(np.argmax(alpha[:, x] >= 128)) for x in columns])


@pytest.mark.parametrize("quad", [QUAD, PERSPECTIVE, QUAD * 0.2 + 5])
def test_bend_0_is_the_flat_warp_bit_for_bit(quad):
    asset = badge()
    new, box = warp_asset(asset, quad, SIZE, 0.0)
    old, old_box = flat_warp_before_bends(asset, quad, SIZE)
    assert box == old_box
    assert new.dtype == old.dtype and np.array_equal(new, old)


def test_compose_bend_0_equals_compose_without_a_bend():
    rng = np.random.default_rng(1)
    obj = np.clip(rng.normal(150, 20, (300, 400, 3)), 0, 255).astype(np.uint8)
    plain = compose(ComposeRequest(object=obj, logo_asset=badge(), quad=QUAD))
    flat = compose(ComposeRequest(object=obj, logo_asset=badge(), quad=QUAD, bend=0))
    bent = compose(ComposeRequest(object=obj, logo_asset=badge(), quad=QUAD, bend=30))
    assert np.array_equal(plain, flat)
    assert not np.array_equal(plain, bent)


def test_bend_keeps_the_corners_and_arcs_the_edges():
    outline = bent_outline(QUAD, 40.0, samples=8)
    np.testing.assert_allclose(outline[[0, 8, 16, 24]], QUAD, atol=1e-6)
    top_middle, bottom_middle = outline[4], outline[20]
    assert top_middle[1] < QUAD[0, 1] - 5          # bend > 0: the middle rises
    assert bottom_middle[1] < QUAD[2, 1] - 5       # the bottom edge arcs the same way
    assert bent_outline(QUAD, -40.0, samples=8)[4][1] > QUAD[0, 1] + 5


def test_unbend_inverts_bend():
    u, v = np.meshgrid(np.linspace(0, 1, 21), np.linspace(0, 1, 11))
    for bend in (-100, -35, 1, 60, 100):
        s, t = bend_square(u, v, bend, aspect=2.5)
        u2, v2 = unbend_square(s, t, bend, aspect=2.5)
        np.testing.assert_allclose(u2, u, atol=1e-9)
        np.testing.assert_allclose(v2, v, atol=1e-9)


def test_bend_foreshortens_the_sides():
    """Equal steps of the asset's width land closer together towards its sides."""
    s, _ = bend_square(np.linspace(0, 1, 11), np.zeros(11), 80, aspect=2.0)
    steps = np.diff(s)
    assert steps[0] < 0.7 * steps[5] and steps[-1] < 0.7 * steps[5]
    np.testing.assert_allclose(steps, steps[::-1], atol=1e-12)


def test_compose_cli_bend_30_moves_the_top_edge_as_an_arc(tmp_path):
    """The acceptance check: on the same quad, --bend 30 against --bend 0 moves the logo's top
    edge unevenly across its width (most in the middle, not at all at the corners); --bend 0 is
    today's flat output."""
    obj = np.full((300, 400, 3), 90, np.uint8)
    Image.fromarray(obj).save(tmp_path / "object.png")
    logo = np.zeros((60, 160, 4), np.uint8)
    logo[...] = (250, 250, 250, 255)
    Image.fromarray(logo).save(tmp_path / "logo.png")
    quad = ",".join(str(int(v)) for v in QUAD.ravel())
    outs = {}
    for bend in (None, "0", "30"):
        out = tmp_path / f"out-{bend}.png"
        argv = ["compose", "--object", str(tmp_path / "object.png"),
                "--logo", str(tmp_path / "logo.png"), "--quad", quad, "--out", str(out)]
        assert cli.main(argv + (["--bend", bend] if bend else [])) == 0
        outs[bend] = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(outs[None], outs["0"])
    columns = np.arange(62, 299, 4)
    flat = top_edge((outs["0"][..., 0] > 170).astype(np.uint8) * 255, columns)
    bent = top_edge((outs["30"][..., 0] > 170).astype(np.uint8) * 255, columns)
    assert np.all(flat == 100)
    moved = flat - bent                    # rows the top edge rose by, per column
    middle = moved[len(moved) // 2]
    assert middle >= 10 and moved[0] <= 2 and moved[-1] <= 2
    # An arc: rising steadily towards the middle from both sides.
    half = len(moved) // 2
    assert np.all(np.diff(moved[:half + 1]) >= 0) and np.all(np.diff(moved[half:]) <= 0)


@pytest.mark.parametrize("argv_tail, message", [
    (["--bend", "150"], "between -100 and 100"),
    (["--bend", "lots"], "number of percent"),
    (["--bend", "nan"], "between -100 and 100"),
])
def test_compose_cli_rejects_a_bad_bend(tmp_path, capsys, argv_tail, message):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "o.png")
    Image.fromarray(np.zeros((10, 10, 4), np.uint8)).save(tmp_path / "l.png")
    out = tmp_path / "out.png"
    argv = ["compose", "--object", str(tmp_path / "o.png"), "--logo", str(tmp_path / "l.png"),
            "--quad", "5,5,30,5,30,20,5,20", "--out", str(out)]
    assert cli.main(argv + argv_tail) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_bend_needs_a_quad(tmp_path, capsys):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "o.png")
    Image.fromarray(np.zeros((40, 40, 4), np.uint8)).save(tmp_path / "l.png")
    argv = ["compose", "--object", str(tmp_path / "o.png"), "--logo", str(tmp_path / "l.png"),
            "--bend", "20", "--out", str(tmp_path / "out.png")]
    assert cli.main(argv) == 2
    assert "--quad" in capsys.readouterr().err
    with pytest.raises(InputError, match="logo in place"):
        ComposeRequest(object=np.zeros((40, 40, 3), np.uint8),
                       logo=np.zeros((40, 40, 4), np.uint8), bend=20).validate()


def test_bent_logo_is_shaded_by_the_surface():
    """Recompose shades a bent asset from the surface as a flat one: darker where it is darker."""
    obj = np.zeros((300, 400, 3), np.uint8)
    obj[:, :200], obj[:, 200:] = 200, 100
    ink = np.full((60, 160, 4), 255, np.uint8)
    out = compose(ComposeRequest(object=obj, logo_asset=ink, quad=QUAD, bend=-40))
    assert out[150, 120].mean() > out[150, 260].mean() + 40


# ---- the estimate, on a mark wrapped with a known bend

@pytest.mark.parametrize("bend", [-80, -50, -30, -15, 0, 15, 30, 50, 80])
def test_estimate_reads_back_a_known_bend(bend):
    """Measured (this badge, upright quad): within 0.3 % at every bend here; in perspective
    within 5 %. Checked against 0.5 % and 6 %."""
    assert estimate_bend(placed_alpha(badge(), QUAD, bend)) == pytest.approx(bend, abs=0.5)
    assert estimate_bend(placed_alpha(badge(), PERSPECTIVE, bend)) == pytest.approx(bend, abs=6)


def test_estimate_works_on_the_crop_and_on_soft_alpha():
    alpha = placed_alpha(badge(), QUAD, 45)
    crop = alpha[60:200, 50:320]
    assert estimate_bend(crop) == pytest.approx(45, abs=0.5)
    soft = cv2.GaussianBlur(alpha, (0, 0), 1.5)
    assert estimate_bend(soft) == pytest.approx(45, abs=1.5)


def test_estimate_of_an_empty_or_tiny_mark():
    with pytest.raises(InputError, match="empty"):
        estimate_bend(np.zeros((50, 50), np.uint8))
    tiny = np.zeros((50, 50), np.uint8)
    tiny[20:25, 20:30] = 255
    assert estimate_bend(tiny) == 0.0


def test_a_round_mark_reads_flat():
    """A disc's or an oval's edges curve by their own shape: no bend is read into them."""
    for axes in ((40, 40), (80, 30)):
        alpha = np.zeros((100, 200), np.uint8)
        cv2.ellipse(alpha, (100, 50), axes, 0, 0, 360, 255, -1)
        assert estimate_bend(alpha) == 0.0
        # ... even when bent: a round patch on a mug still reads as its own shape.
        patch = np.zeros((80, 80, 4), np.uint8)
        cv2.circle(patch, (40, 40), 39, (255, 255, 255, 255), -1)
        assert estimate_bend(placed_alpha(patch, QUAD, 40)) == 0.0


@pytest.mark.parametrize("bend", [-60, -25, 25, 60])
def test_quad_inside_arc_places_a_bent_logo_on_the_marks_ground(bend):
    """The box of a bent mark, taken as a quad, gives back (nearly) the quad it was bent on."""
    outline = bent_outline(QUAD, bend)
    x0, y0 = outline.min(axis=0)
    x1, y1 = outline.max(axis=0)
    box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    inside = quad_inside_arc(box, bend)
    # Only the box's height is known to differ: the sag, as a share of the width, is taken
    # from the box's own aspect, a little taller than the quad's, so it lands within 1.5 px.
    np.testing.assert_allclose(inside, QUAD, atol=1.5)
    again = bent_outline(inside, bend)
    assert abs(again[:, 1].min() - y0) < 1.5 and abs(again[:, 1].max() - y1) < 1.5


def test_a_narrower_logo_covers_a_smaller_arc_of_the_same_cylinder():
    assert bend_for_width(40, 1.0) == pytest.approx(40)
    assert bend_for_width(-40, 0.5) == pytest.approx(-math.degrees(
        math.asin(0.5 * math.sin(math.radians(36)))) / 90 * 100)
    assert bend_for_width(0, 0.5) == 0.0
    assert 0 < bend_for_width(100, 0.5) < 100


def along_the_frames_row(quad: np.ndarray, point: np.ndarray, ds: float) -> np.ndarray:
    """`point` moved by `ds` of the width along its row in the quad's own frame (t kept)."""
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    to_unit = cv2.getPerspectiveTransform(quad.astype(np.float32), unit).astype(np.float64)
    s, t, w = to_unit @ np.append(point, 1.0)
    back = np.linalg.inv(to_unit) @ np.array([s / w + ds, t / w, 1.0])
    return back[:2] / back[2]


@pytest.mark.parametrize("quad", [QUAD, PERSPECTIVE, PROJECTIVE])
def test_the_top_edges_middle_is_on_the_bent_outline_and_gives_its_bend_back(quad):
    """top_middle is where the bent top edge's middle is drawn; bend_for_top_middle turns a
    point back into the bend that puts it there (the app's bend handle), clamped."""
    for bend in (-100, -37, 0, 12, 60, 100):
        middle = top_middle(quad, bend)
        np.testing.assert_allclose(middle, bent_outline(quad, bend, samples=8)[4], atol=1e-9)
        assert bend_for_top_middle(quad, middle) == pytest.approx(bend, abs=1e-9)
        # Only the height in the quad's frame counts, not how far to a side.
        side = along_the_frames_row(quad, middle, 0.2)
        assert bend_for_top_middle(quad, side) == pytest.approx(bend, abs=1e-6)
    flat = top_middle(quad, 0) - quad[0]
    edge = quad[1] - quad[0]
    assert abs(flat[0] * edge[1] - flat[1] * edge[0]) < 1e-6 * np.dot(edge, edge)  # on the edge
    if quad is not PROJECTIVE:   # (in perspective the asset's middle is not the edge's)
        np.testing.assert_allclose(top_middle(quad, 0), (quad[0] + quad[1]) / 2, atol=1e-9)
    up = (quad[0] - quad[3]) / np.linalg.norm(quad[0] - quad[3])
    # (far beyond the arc's reach, yet short of the projective quad's horizon)
    far = (quad[0] + quad[1]) / 2 + 0.5 * np.linalg.norm(quad[1] - quad[0]) * up
    assert bend_for_top_middle(quad, far) == BEND_LIMIT
    assert bend_for_top_middle(quad, (quad[2] + quad[3]) / 2 + 40 * up * -1) == -BEND_LIMIT


def test_bend_for_sag_inverts_sag_share_and_clamps():
    for bend in (-100, -50, -0.5, 0, 3, 77, 100):
        assert bend_for_sag(sag_share(bend)) == pytest.approx(bend, abs=1e-9)
    assert bend_for_sag(10.0) == BEND_LIMIT and bend_for_sag(-10.0) == -BEND_LIMIT


def test_beyond_the_quads_horizon_no_bend_fits():
    # A strong perspective: the sides meet not far above the quad (x = 200, y = 40).
    quad = np.array([[150, 90], [250, 90], [300, 140], [100, 140]], np.float64)
    assert bend_for_top_middle(quad, (200, 60)) == BEND_LIMIT      # below the horizon: up
    assert bend_for_top_middle(quad, (200, 20)) is None            # above it: nothing fits
