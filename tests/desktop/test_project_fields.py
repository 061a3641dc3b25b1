"""A project keeps every field of every layer: saved, reopened, the same document."""

from __future__ import annotations

import numpy as np

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
        for field in ("rgba", "asset", "ink", "quad"):
            a, b = getattr(saved, field), getattr(opened, field)
            assert (a is None) == (b is None), (saved.name, field)
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=f"{saved.name}.{field}")
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
