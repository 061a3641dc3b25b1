"""The rest of an opaque print (engines/classical/ink.py): a solid part of the print's ink
inside the mask joins the part found; surface of that colour reaching past the mask's
edge, and thin runs of it, do not."""

from __future__ import annotations

import cv2
import numpy as np

from layerlift.inference.engines.classical.ink import ink_completion


def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, mask, found part): a light grey surface, a black disc found, and in the mask
    a second black disc, a black band running out of the mask and a 1 px black line."""
    rng = np.random.default_rng(1)
    img = np.full((200, 200, 3), 0.7, np.float32) + rng.normal(0, 0.01, (200, 200, 3))
    found = np.zeros((200, 200), np.uint8)
    cv2.circle(found, (70, 100), 20, 1, -1)
    ink = found.copy()
    cv2.circle(ink, (130, 100), 12, 1, -1)               # the part standing apart
    cv2.rectangle(ink, (60, 5), (140, 50), 1, -1)         # surface: runs out of the mask
    cv2.line(ink, (40, 160), (160, 160), 1, 1)            # a thin crevice
    img[ink > 0] = 0.05
    mask = np.zeros((200, 200), np.uint8)
    cv2.rectangle(mask, (30, 30), (170, 175), 1, -1)
    return img.astype(np.float32), mask > 0, found > 0


def test_the_part_apart_joins_and_nothing_else():
    img, mask, found = scene()
    grown = ink_completion(img, mask, found, found)
    assert grown[100, 130] and grown[100, 118]           # the second disc, to its edge
    assert not grown[40, 100]                             # the band crossing the mask's edge
    assert not grown[160, 100]                            # the thin line
    assert grown[found].all()


def test_a_surface_of_another_colour_adds_nothing():
    img, mask, found = scene()
    img[~found] = 0.7                                     # only the found disc is ink
    assert (ink_completion(img, mask, found, found) == found).all()


def test_a_thin_textured_run_of_the_ink_colour_does_not_join_a_thin_print():
    # A print of thin strokes (8 px), and in the mask a 4 px wide crevice of the ink's mean
    # colour but grainy: too thin to have pixels off its edge, it must still be judged flat
    # or not (it is not) over its whole width.
    rng = np.random.default_rng(2)
    img = np.full((200, 200, 3), 0.7, np.float32) + rng.normal(0, 0.01, (200, 200, 3))
    found = np.zeros((200, 200), np.uint8)
    cv2.rectangle(found, (40, 60), (160, 67), 1, -1)
    img[found > 0] = 0.05
    crevice = np.zeros((200, 200), bool)
    crevice[120:124, 40:160] = True
    grain = np.where(rng.random((200, 200)) < 0.5, 0.03, 0.07).astype(np.float32)
    img[crevice] = grain[crevice][:, None]
    mask = np.zeros((200, 200), bool)
    mask[30:170, 20:180] = True
    grown = ink_completion(img.astype(np.float32), mask, found > 0, found > 0)
    assert not grown[crevice].any()
