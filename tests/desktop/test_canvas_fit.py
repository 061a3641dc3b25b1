"""Fit in window (Ctrl+0) shows the whole photo as large as the canvas allows."""

from __future__ import annotations

import pytest

from layerlift.inference.imageio import save_png
from tests.desktop.conftest import make_photo


def _expected_zoom(canvas) -> float:
    view, scene = canvas.viewport(), canvas.sceneRect()
    return min(view.width() / scene.width(), view.height() / scene.height())


def _shown(canvas):
    return canvas.mapFromScene(canvas.sceneRect()).boundingRect()


@pytest.mark.parametrize("size", [(180, 240), (1500, 2000), (2400, 300)])
def test_fit_fills_the_canvas_along_the_tighter_side(window, tmp_path, size):
    path = tmp_path / "p.png"
    save_png(path, make_photo(*size))
    assert window.open_path(str(path))
    canvas = window.canvas
    canvas.set_zoom(3.0)
    window.act["fit"].trigger()
    expected = _expected_zoom(canvas)
    # Qt's fitInView keeps a margin of a few pixels: within 2 % of the exact ratio.
    assert canvas.zoom() == pytest.approx(expected, rel=0.02)
    shown, view = _shown(canvas), canvas.viewport()
    assert shown.width() <= view.width() + 2 and shown.height() <= view.height() + 2
    assert max(shown.width() / view.width(), shown.height() / view.height()) >= 0.97
    assert window.status.zoom_label.text() == f"{canvas.zoom() * 100:.0f} %"
