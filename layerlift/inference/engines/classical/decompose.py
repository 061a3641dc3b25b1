"""The classical decomposition: find the mark, unblend or fill under it, solve the logo layer.

1. Working crop around the mask (time follows the logo's size, not the photo's).
2. Matte: the mark's support, opacity, colour and per-pixel alpha (matting.py).
3. Surface: untouched pixels kept exactly; semi-transparent pixels over a textured surface
   unblended, B = (I - a*L) / (1 - a); the rest of the mark filled from the surroundings by
   the fill that did best on a probe of known surface beside the mask (probe.py): smooth
   (fill.py), a repeating texture continued (texture.py), PatchMatch exemplars
   (exemplar.py), or blends of these.
4. Logo layer: colour and alpha solved from the input and the recovered surface, so that
   alpha-over(logo, object) reproduces the input.
5. Paste back into the full photo, only inside the mask.
6. Confidence: the probe's error over the filled share of the mask, as a predicted PSNR.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from layerlift.inference import ram
from layerlift.inference.contract import (
    CancelToken,
    DecomposeRequest,
    Layers,
    ProgressCallback,
    check_cancel,
    report,
)
from layerlift.inference.crop import CropBox, extract, write_window
from layerlift.inference.engines.classical.exemplar import exemplar_fill
from layerlift.inference.engines.classical.fill import fill
from layerlift.inference.engines.classical.hinted import honour_hints
from layerlift.inference.engines.classical.matting import Matte, estimate_matte, opacity_spread
from layerlift.inference.engines.classical.probe import (
    ProbeResult,
    confidence,
    predicted_mse,
    run_probe,
)
from layerlift.inference.engines.classical.regions import mask_regions
from layerlift.inference.engines.classical.smooth import blur
from layerlift.inference.engines.classical.texture import add_repeating_texture
from layerlift.inference.errors import InputError
from layerlift.inference.layers import solve_logo
from layerlift.inference.morphology import dilate

# Above this alpha a pixel is filled instead of unblended: unblending divides by (1 - a)
# and so amplifies every error in a and L.
FILL_ALPHA_OPAQUE = 0.35
FILL_ALPHA_SEMI = 0.9
STEPS = 5
# Larger crops are matted at this size (then recovered at full size): time follows the logo
# but stays bounded for very large ones.
MATTE_MAX_SIDE = 384
# The fill region reaches this far past the mark, so the fill starts from clean surface,
# not from blurred, haloed or JPEG-rung edge pixels.
FILL_GROW = 2
# The fill's error is also judged against the unblended surface when the opacity's gamut
# bounds spread this little (matting.opacity_spread).
SPREAD_TRUSTED = 0.2


@dataclass
class Recovered:
    """The surface recovered under the mark and how."""

    surface: np.ndarray            # float [0, 1], the crop's size
    filled: np.ndarray             # the pixels whose surface the fill invented
    probe: ProbeResult | None      # None when nothing was filled or no probe fitted
    fill: str | None               # the fill method used; None when nothing was filled
    # The unblended pixels' expected squared error, where unblending was weighed against a
    # fill and chose (None: unblending's error is taken as a share of the fill's).
    unblend_mse: float | None = None


@dataclass
class Region:
    """What one working crop's run found, for the report in layers.meta."""

    box: CropBox
    mask: np.ndarray               # the crop's part of the mask
    matte: Matte
    recovered: Recovered


def recover_surface(img: np.ndarray, matte: Matte, mask: np.ndarray,
                    seed: int = 0) -> Recovered:
    """The surface under the mark: untouched pixels as they are, semi-transparent ones
    unblended, the rest filled by the method the probe chose."""
    # Unblending pays where the surface has texture to recover; on a smooth surface a fill
    # is as good and does not depend on the opacity estimate. Where the texture could not
    # tell, the probe's error (and the fill's difference from what unblending shows under
    # the mark) says how good a fill would be, the opacity's error how good unblending
    # would be (a watermark on a busy photo: the fill is a smear).
    unblend = matte.opacity < 1.0 and matte.texture_informative
    filled = fill_region(matte, mask, unblend)
    probe = probe_fills(img, filled, mask, seed)
    unblend_mse = None
    first_fill = None
    if matte.opacity < 1.0 and not unblend and probe is not None:
        errors = unblend_errors(img, matte)
        unblend, first_fill = weigh_unblending(img, matte, mask, filled, probe, errors, seed)
        if unblend:
            filled = fill_region(matte, mask, unblend)
            probe = probe_fills(img, filled, mask, seed)
            blended = (matte.alpha > 0) & ~filled
            unblend_mse = float(errors[blended].mean()) if blended.any() else None
    if not filled.any():
        return Recovered(unblended(img, matte, filled), filled, None, None, unblend_mse)
    surface, used = first_fill or fill_surface(img, matte, filled, probe, seed)
    return Recovered(surface, filled, probe, used, unblend_mse)


def weigh_unblending(img: np.ndarray, matte: Matte, mask: np.ndarray, filled: np.ndarray,
                     probe: ProbeResult, errors: np.ndarray,
                     seed: int) -> tuple[bool, tuple[np.ndarray, str] | None]:
    """(does unblending err less than the fill, the fill when it was computed and kept).

    First against the probe's error alone; then, where the opacity reading is trusted,
    also against the fill's difference from what unblending shows under the mark (the
    fill is computed for that, and returned for use when the fill is kept).
    """
    unblend_filled = fill_region(matte, mask, True)
    if unblending_errs_less(errors, filled, unblend_filled, probe):
        return True, None
    changed = filled & ~unblend_filled
    # (when the opacity reading is itself in doubt, what unblending shows may be the
    # mark's own ghost, not the surface)
    if not changed.any() or opacity_spread(img, matte) > SPREAD_TRUSTED:
        return False, None
    first = fill_surface(img, matte, filled, probe, seed)
    seen = fill_error_seen(img, matte, first[0], changed)
    if unblending_errs_less(errors, filled, unblend_filled, probe, seen):
        return True, None
    return False, first


def unblended(img: np.ndarray, matte: Matte, filled: np.ndarray) -> np.ndarray:
    """img with the mark's pixels outside `filled` unblended, B = (I - a*L) / (1 - a)."""
    a = matte.alpha
    surface = img.copy()
    blend = (a > 0) & ~filled
    ab = a[blend][:, None]
    surface[blend] = np.clip((img[blend] - ab * matte.colour[blend]) / (1.0 - ab), 0.0, 1.0)
    return surface


def fill_surface(img: np.ndarray, matte: Matte, filled: np.ndarray,
                 probe: ProbeResult | None, seed: int) -> tuple[np.ndarray, str]:
    """The surface with `filled` filled by the probe's choice (the rest unblended), and the
    method used."""
    surface = unblended(img, matte, filled)
    method = probe.best() if probe is not None else DEFAULT_FILL
    fills = candidate_fills(surface, filled, ~filled, matte.alpha <= 0, seed, only=method)
    # (a method that cannot run at full size, e.g. exemplars with nothing to copy from,
    # leaves the smooth fill)
    used = method if method in fills else "smooth"
    return fills[used], used


def fill_error_seen(img: np.ndarray, matte: Matte, filled_surface: np.ndarray,
                    changed: np.ndarray) -> float:
    """The fill's squared error against the surface that unblending shows under the mark,
    over `changed`. The probe sees only the surface beside the mask, not what the mark hides
    (a rocket's body under a watermark on a night sky)."""
    if not changed.any():
        return 0.0
    _, b = capped_unblend(img, matte)
    return float(np.mean((b[changed] - filled_surface[changed]) ** 2))


def fill_region(matte: Matte, mask: np.ndarray, unblend: bool) -> np.ndarray:
    """The pixels whose surface is filled: all of an opaque or filled mark (and FILL_GROW
    past it), only the near-opaque pixels of an unblended one."""
    a = matte.alpha
    filled = a >= (FILL_ALPHA_SEMI if unblend else FILL_ALPHA_OPAQUE * matte.opacity)
    if not unblend and filled.any():
        filled = dilate(filled, FILL_GROW) & mask
    return filled


def probe_fills(img: np.ndarray, filled: np.ndarray, mask: np.ndarray,
                seed: int) -> ProbeResult | None:
    """Each fill tried on known surface beside the mask, in the filled region's shape."""
    if not filled.any():
        return None
    # The probe sees only the surface outside the mask; the real fill meets the unblended
    # pixels at its edge (known) but copies texture from untouched surface only.
    return run_probe(img, filled, ~mask,
                     lambda im, hole, known: candidate_fills(im, hole, known, known, seed))


def unblend_errors(img: np.ndarray, matte: Matte) -> np.ndarray:
    """Per pixel, unblending's expected squared error (mean over the channels) for an
    opacity read matte.opacity_error off: B = (I - a*L) / (1 - a) moves by
    dB/da = (B - L) / (1 - a) per unit of a. 0 where the mark does not reach."""
    a, b = capped_unblend(img, matte)
    err = np.mean((matte.opacity_error * (b - matte.colour) / (1.0 - a)) ** 2, axis=2)
    return np.where(matte.alpha > 0, err, 0.0)


def capped_unblend(img: np.ndarray, matte: Matte) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, surface) of the whole mark unblended, alpha capped at FILL_ALPHA_SEMI: pixels
    above it are filled either way, and the cap keeps a hint's alpha of 1 from dividing by
    zero. alpha is HxWx1."""
    a = np.minimum(matte.alpha, FILL_ALPHA_SEMI)[..., None]
    return a, np.clip((img - a * matte.colour) / (1.0 - a), 0.0, 1.0)


def unblending_errs_less(errors: np.ndarray, filled: np.ndarray, unblend_filled: np.ndarray,
                         probe: ProbeResult, seen: float = 0.0) -> bool:
    """Would unblending err less than the best fill?

    The fill's error is the probe's, or `seen` (the fill's difference from the unblended
    surface, the fill's error plus unblending's, if the two are independent) less
    unblending's expected error where that is larger. (`errors` counts only an opacity
    misread, so `seen - unblend` may overstate the fill's error a little.)

    Compared over the pixels that the choice changes: filled if the mark is filled, not if
    it is unblended (the near-opaque ones are filled either way; the fill's margin past the
    mark is left exact by unblending). The probe ran on the crop shrunk to at most
    PROBE_SIDE, which smooths a fine texture's error away a little: the comparison leans
    toward the fill on large crops.
    """
    changed = filled & ~unblend_filled
    if not changed.any():
        return False
    unblend = float(errors[changed].mean())
    return unblend < max(probe.mse[probe.best()], seen - unblend)


def candidate_fills(surface: np.ndarray, hole: np.ndarray, known: np.ndarray,
                    copy_from: np.ndarray, seed: int = 0,
                    only: str | None = None) -> dict[str, np.ndarray]:
    """The hole filled by each method (or by `only` that one) from the `known` pixels, texture
    copied from the `copy_from` ones: smooth (shading trend + membrane), repeat (a repeating
    texture continued from one period away), exemplar (PatchMatch patches of the surface),
    mixed (exemplar and smooth averaged: on a random texture, exemplars at a random phase
    double the error that the mean leaves) and detail (the exemplars' fine detail on the
    smooth fill's shading)."""
    smooth = fill(surface, hole, known)
    out = {"smooth": smooth}
    source = copy_from & ~hole
    if only in (None, "repeat"):
        repeated = add_repeating_texture(smooth, surface, hole, source)
        if repeated is not None:
            out["repeat"] = repeated
    if only in (None, "exemplar", "mixed", "detail"):
        copied = exemplar_fill(smooth, hole, source, seed)
        if copied is not None:
            out["exemplar"] = copied
            out["mixed"] = MIX * copied + (1.0 - MIX) * smooth
            # for a texture whose light changes across the hole (a gradient the patches
            # do not follow)
            out["detail"] = np.clip(blur(smooth, DETAIL_SIGMA) + copied
                                    - blur(copied, DETAIL_SIGMA), 0.0, 1.0)
    return out


MIX = 0.75
DETAIL_SIGMA = 3.0
DEFAULT_FILL = "exemplar"


def matte_at_working_size(img: np.ndarray, mask: np.ndarray) -> Matte:
    """The matte, estimated on the crop shrunk to at most MATTE_MAX_SIDE for large logos.

    Finding the mark and its opacity needs no more detail than that; the surface is then
    recovered at full size, so untouched pixels stay exact.
    """
    side = mask.shape[0]
    if side <= MATTE_MAX_SIDE:
        return estimate_matte(img, mask)
    n = MATTE_MAX_SIDE
    small = estimate_matte(cv2.resize(img, (n, n), interpolation=cv2.INTER_AREA),
                           cv2.resize(mask.astype(np.uint8), (n, n),
                                      interpolation=cv2.INTER_AREA) > 0)

    def up(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x, (side, side), interpolation=cv2.INTER_LINEAR)

    alpha = up(small.alpha) * mask
    alpha[alpha < 0.03] = 0.0
    return Matte(alpha.astype(np.float32), up(small.colour), up(small.background), alpha > 0,
                 small.opacity, small.texture_informative, small.opacity_error)


def exact_matte(img: np.ndarray, mask: np.ndarray) -> Matte:
    """The matte of a mask taken as it is: every masked pixel is opaque mark."""
    if mask.all():
        raise InputError("with --exact-mask the mask must leave some of the photo unmasked: "
                         "there is nothing to fill it from")
    return Matte(mask.astype(np.float32), img.copy(), img.copy(), mask.copy(), 1.0, False, 0.0)


class Stages:
    """Times the pipeline's stages (summed over regions), reports progress, checks cancel."""

    def __init__(self, on_progress: ProgressCallback | None, cancel: CancelToken | None,
                 total: int) -> None:
        self.on_progress, self.cancel, self.total = on_progress, cancel, total
        self.timings: dict[str, float] = {}
        self.done = 0
        self.clock = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.clock
        self.clock = now
        self.done += 1
        report(self.on_progress, self.done, self.total)
        check_cancel(self.cancel)


def decompose_classical(request: DecomposeRequest, on_progress: ProgressCallback | None,
                        cancel: CancelToken | None) -> Layers:
    check_cancel(cancel)
    image, mask = request.image, request.mask
    regions = mask_regions(mask)
    check_memory(image.shape[:2], [box for box, _ in regions])
    stages = Stages(on_progress, cancel, STEPS * len(regions))
    obj = image.copy()
    logo = np.zeros(image.shape[:2] + (4,), np.uint8)
    found = []
    for box, crop_mask in regions:
        crop = extract(image, box)
        img = crop.astype(np.float32) / 255.0
        stages.lap("crop_s")
        matte = exact_matte(img, crop_mask) if request.exact_mask else \
            matte_at_working_size(img, crop_mask)
        matte = honour_hints(matte, request.hints, box, crop_mask)
        stages.lap("matte_s")
        recovered = recover_surface(img, matte, crop_mask, request.seed)
        alpha = matte.alpha
        surface8 = np.clip(np.rint(recovered.surface * 255.0), 0, 255).astype(np.uint8)
        untouched = (alpha <= 0) | ~crop_mask
        surface8[untouched] = crop[untouched]
        stages.lap("surface_s")
        logo_crop = solve_logo(crop, surface8, alpha, crop_mask)
        stages.lap("logo_s")
        write_window(obj, surface8, box, crop_mask)
        write_window(logo, logo_crop, box, crop_mask)
        stages.lap("paste_s")
        found.append(Region(box, crop_mask, matte, recovered))
    return Layers(object=obj, logo=logo,
                  meta=describe(found, stages.timings, image.shape[:2]))


# Peak bytes per pixel of a working crop (float copies of the crop, the matte, the fills),
# measured 128-195 (full and partial masks, 3-13 MP crops), and per pixel of the photo (the
# object and logo layers, and what the CLI's export holds: 20.5 measured at 100 MP).
CROP_BYTES_PER_PIXEL = 200
PHOTO_BYTES_PER_PIXEL = 22


def check_memory(shape: tuple[int, int], boxes: list[CropBox]) -> None:
    """Refuse up front (InputError) a mask whose working crops would take more memory than
    allowed (layerlift.inference.ram); the regions run one after the other."""
    largest = max(boxes, key=lambda b: b.side)
    estimate = shape[0] * shape[1] * PHOTO_BYTES_PER_PIXEL + \
        largest.side ** 2 * CROP_BYTES_PER_PIXEL
    ram.check(estimate, f"decomposing a mask whose working area is {largest.side}x"
              f"{largest.side} px", "mask the logo more tightly (a brush or box round the "
              "mark, not the whole photo)")


def describe(found: list[Region], timings: dict[str, float],
             shape: tuple[int, int]) -> dict:
    """What the run found, for layers.meta: the largest region's matte speaks for all."""
    main = max(found, key=lambda r: int(r.mask.sum()))
    area = max(sum(int(r.mask.sum()) for r in found), 1)
    mse = sum(region_mse(r) * int(r.mask.sum()) for r in found) / area
    mark_fraction = sum(float((r.matte.alpha > 0).sum()) for r in found) / area
    return {
        "timings": timings,
        "opacity": main.matte.opacity,
        "texture_informative": main.matte.texture_informative,
        "mark_fraction": mark_fraction,
        "filled_fraction": sum(float(r.recovered.filled.sum()) for r in found) / area,
        "fill": main.recovered.fill,
        "predicted_psnr": float(10 * np.log10(1.0 / max(mse, 1e-10))),
        # Nothing found means nothing removed: whatever mark the mask holds is still there.
        "confidence": 0.0 if mark_fraction == 0 else confidence(mse),
        "filled_box": filled_box(found, shape),
        "crop": [main.box.x0, main.box.y0, main.box.side],
        "regions": len(found),
    }


def filled_box(found: list[Region], shape: tuple[int, int]) -> list[int] | None:
    """[x0, y0, x1, y1] (photo pixels, exclusive ends) round every filled pixel inside the
    photo: where the fill had to invent the surface, and so where a doubtful result is to
    be checked."""
    boxes = []
    h, w = shape
    for r in found:
        if r.recovered.filled.any():
            ys, xs = np.nonzero(r.recovered.filled)
            boxes.append((max(r.box.x0 + xs.min(), 0), max(r.box.y0 + ys.min(), 0),
                          min(r.box.x0 + xs.max() + 1, w), min(r.box.y0 + ys.max() + 1, h)))
    if not boxes:
        return None
    b = np.array(boxes)
    return [int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())]


def region_mse(r: Region) -> float:
    filled = r.recovered.filled
    blended = int(((r.matte.alpha > 0) & ~filled).sum())
    # Without a probe, the surface's own variance round the mask stands for the fill's error.
    ring = dilate(r.mask, 8) & ~r.mask
    fallback = float(r.matte.background[ring].var(axis=0).sum()) if ring.any() else 0.01
    return predicted_mse(r.recovered.probe, int(filled.sum()), blended, int(r.mask.sum()),
                         fallback, r.recovered.unblend_mse)
