"""A semi-transparent mark over a busy photo: the letters the departure score missed join the
part already found, and the photo's own texture does not."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from layerlift.inference.engines.classical.matting import isophote_fill
from layerlift.inference.engines.classical.watermark import watermark_completion

OPACITY = 0.55


def watermark_case(printed: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image, the words' pixels, those of them that show, loose mask): a white watermark
    of two words, apart, over a crop of a real photograph (when `printed`; else the bare
    photo, same mask). Over the photo's white parts the watermark does not show."""
    surface = data.astronaut()[200:440, 250:490].astype(np.float32) / 255.0
    cover = np.zeros(surface.shape[:2], np.uint8)
    cv2.putText(cover, "Ze", (14, 140), cv2.FONT_HERSHEY_DUPLEX, 2.2, 255, 7, cv2.LINE_AA)
    cv2.putText(cover, "ph", (140, 140), cv2.FONT_HERSHEY_DUPLEX, 2.2, 255, 7, cv2.LINE_AA)
    a = (cover.astype(np.float32) / 255.0 * OPACITY)[..., None] if printed else 0.0
    img = (a * 1.0 + (1.0 - a) * surface).astype(np.float32)
    mask = cv2.dilate(cover, np.ones((21, 21), np.uint8)) > 0
    shows = (cover > 127) & ((1.0 - surface).max(axis=2) * OPACITY > 0.1)
    return img, cover > 0, shows, mask


def complete(img: np.ndarray, mask: np.ndarray, found: np.ndarray) -> np.ndarray:
    return watermark_completion(img, mask, found, isophote_fill(img, ~mask),
                                np.ones(3, np.float32), OPACITY)


def test_the_word_apart_from_the_found_one_joins_the_mark():
    img, cover, shows, mask = watermark_case(printed=True)
    found = shows.copy()
    found[:, 120:] = False                        # only the first word was found
    grown = complete(img, mask, found)
    second = shows.copy()
    second[:, :120] = False
    # (over the light rocket the implied alpha is too noisy: about half of the word joins)
    assert (grown & second).sum() >= 0.5 * second.sum()
    near = cv2.dilate(cover.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert (grown & mask & ~near).sum() <= 0.08 * (mask & ~near).sum()


def test_the_bare_photo_under_the_mask_is_not_taken_for_mark():
    img, _, shows, mask = watermark_case(printed=False)
    found = shows.copy()
    found[:, 120:] = False
    grown = complete(img, mask, found)
    added = grown & ~found
    assert added.sum() <= 0.05 * (mask & ~found).sum()


def test_specks_apart_from_the_mark_stay_surface_and_blots_join_it():
    img, _, shows, mask = watermark_case(printed=False)
    found = shows.copy()
    found[:, 120:] = False
    mask[160:200, 140:220] = True                   # the user brushed a little wider here
    for y, x, side in ((175, 150, 5), (175, 200, 9)):      # a speck and a blot
        img[y:y + side, x:x + side] = OPACITY + (1.0 - OPACITY) * img[y:y + side, x:x + side]
    grown = complete(img, mask, found)
    assert not grown[175:180, 150:155].any()
    assert grown[177:182, 202:207].all()
