"""The bundled sample: a real photograph (scikit-image's astronaut) with its mission patch's
mask preloaded, so `make run` then Ctrl+Enter decomposes a real mark; and the first-run hint in
the status bar, gone after the first stroke."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel

from layerlift.desktop import canvas as tools
from layerlift.desktop.app import FIRST_RUN_HINT, create_window
from layerlift.desktop.resources import resource_path
from layerlift.inference.imageio import load_image, load_mask
from layerlift.resources.sample import make_sample
from tests.desktop.events import drag
from tests.desktop.test_jobs import run

PHOTO = resource_path("sample", "photo.jpg")
MASK = resource_path("sample", "mask.png")
CX, CY = make_sample.PATCH_CENTRE


def patch_disc(shape, radius):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (xx - CX) ** 2 + (yy - CY) ** 2 <= radius ** 2


def test_the_sample_is_the_astronaut_photo_with_the_patch_masked():
    from skimage import data

    photo = load_image(PHOTO)
    original = data.astronaut()
    assert photo.shape == original.shape == (512, 512, 3)
    mse = np.mean((photo.astype(float) - original) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 38          # the same picture, JPEG-encoded
    mask = load_mask(MASK, photo.shape[:2])
    assert np.array_equal(mask, make_sample.patch_mask(photo.shape[:2]))
    # Loose: the whole patch and a margin of suit, and nothing far from it.
    assert mask[patch_disc(mask.shape, make_sample.PATCH_RADIUS + 4)].all()
    assert not mask[~patch_disc(mask.shape, make_sample.PATCH_RADIUS + 12)].any()


def test_the_sample_licence_is_noted_beside_it():
    text = resource_path("sample", "README.md").read_text()
    assert "astronaut" in text and "public domain" in text


def start(qtbot, argv):
    _app, window = create_window(argv)
    qtbot.addWidget(window)
    qtbot.waitExposed(window)
    return window


def test_make_run_then_ctrl_enter_decomposes_the_patch(qtbot):
    """What `make run` starts (the sample with --mask), then the Ctrl+Enter action."""
    window = start(qtbot, [str(PHOTO), "--mask", str(MASK), "--no-restore"])
    assert np.array_equal(window.doc.mask_bool(), load_mask(MASK, (512, 512)))
    assert window.act["decompose"].shortcut().matches(QKeySequence("Ctrl+Return")) \
        == QKeySequence.SequenceMatch.ExactMatch

    def start_run():
        window.act["decompose"].trigger()
        return True

    assert run(window, qtbot, start_run, "decompose", timeout=60000) == "ok", window.last_error
    logo, obj = window.doc.layers[0], window.doc.layers[1]
    alpha = logo.render(window.doc.shape)[..., 3]
    inside = patch_disc(alpha.shape, make_sample.PATCH_RADIUS - 3)
    # The patch (purple, white writing) comes off as the logo ...
    assert (alpha[inside] >= 128).mean() > 0.95
    # ... and the object there is orange suit, like the suit round it.
    patch_area = obj.render(window.doc.shape)[..., :3][inside].astype(float)
    ring = patch_disc(alpha.shape, 60) & ~patch_disc(alpha.shape, 50)
    suit = window.doc.image[ring].astype(float)
    assert np.abs(np.median(patch_area, 0) - np.median(suit, 0)).max() < 40
    assert np.median(patch_area[:, 0]) > np.median(patch_area[:, 2]) + 60  # red >> blue
    window.close()


def test_gui_mask_needs_a_photo(capsys):
    with pytest.raises(SystemExit):
        create_window(["--mask", str(MASK)])
    assert "--mask needs a photo" in capsys.readouterr().err


def hint_label(window) -> QLabel | None:
    return window.statusBar().findChild(QLabel, "first-run-hint")


def test_first_run_hint_goes_after_the_first_stroke_for_good(qtbot, photo_path):
    window = start(qtbot, [str(photo_path), "--no-restore"])
    hint = hint_label(window)
    window.statusBar().clearMessage()       # "Opened photo.png" covers it for 4 s first
    assert hint is not None and hint.text() == FIRST_RUN_HINT and not hint.isHidden()
    assert "Ctrl+Enter" in FIRST_RUN_HINT and "Select (W)" in FIRST_RUN_HINT
    window.set_tool(tools.BRUSH)
    window.canvas.fit()
    drag(window.canvas, [(60, 60), (90, 70), (120, 80)])
    assert window.doc.mask_bool().any()
    assert hint.isHidden() and window.settings.first_run_hint is False
    window.undo.undo()                      # later edits do not bring it back
    assert hint.isHidden()
    window.close()
    # Saved with the settings: the next start shows no hint.
    again = start(qtbot, [str(photo_path), "--no-restore"])
    assert hint_label(again) is None
    again.close()
