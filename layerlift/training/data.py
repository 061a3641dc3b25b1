"""Training data: sample folders and freshly generated samples, augmented, cut to the crop.

A sample folder holds `composite.png, mask.png, object.png, logo.png` (the layout the core's
generator writes). Every example is cut twice, as the flux engine cuts at inference, and
resized to S x S: the decompose panels around the user's mask, the compose panels around the
logo's support (alpha > 0).

Augmentation touches all panels the same way, so composite = logo over object still holds:
a horizontal flip, a random crop margin (the logo's scale in the panel), and a colour jitter
that is one affine map per channel (alpha-over commutes with it).

Which samples a step sees, and how they are augmented, depends only on (seed, step): a resumed
run sees exactly the data the uninterrupted run saw.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from layerlift.inference.crop import CropBox, extract, working_crop
from layerlift.inference.engines.flux.engine import compose_crop
from layerlift.inference.errors import InputError
from layerlift.inference.triptych import logo_panel

SAMPLE_FILES = ("composite.png", "mask.png", "object.png", "logo.png")
STREAM_SALT = 7919          # separates streamed generator seeds from the run's own seed
MARGIN_RANGE = (0.15, 0.6)  # crop margin (fraction of the mask's long side) when augmenting
DEFAULT_MARGIN = 0.25       # the engine's margin


@dataclass
class Sample:
    """One full-size training sample (photo coordinates)."""

    composite: np.ndarray   # HxWx3 uint8
    object: np.ndarray      # HxWx3 uint8
    logo: np.ndarray        # HxWx4 uint8, straight alpha, in place
    mask: np.ndarray        # HxW bool
    name: str = ""


@dataclass
class Panels:
    """A sample cut to one crop box, S x S: what one triptych is built from."""

    composite: np.ndarray   # SxSx3 uint8
    logo_panel: np.ndarray  # SxSx3 uint8, the logo on flat white
    object: np.ndarray      # SxSx3 uint8
    alpha: np.ndarray       # SxS float32 in [0, 1], the logo's opacity
    box: CropBox            # the window in (possibly flipped) photo coordinates


@dataclass
class Example:
    """One sample as the engine cuts it: decompose panels around the user's mask, compose
    panels around the logo's support. Their boxes let the cycle term move panels between."""

    decompose: Panels
    mask: np.ndarray        # SxS bool, the user's mask in the decompose crop (its fill region)
    compose: Panels
    support: np.ndarray     # SxS bool, where the logo is in the compose crop (its fill region)
    name: str = ""


def _read_png(path: Path, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def read_sample(folder: str | Path) -> Sample:
    """One sample folder; all four images must exist and have the same size."""
    folder = Path(folder)
    missing = [f for f in SAMPLE_FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"sample folder {folder} lacks {', '.join(missing)}")
    composite = _read_png(folder / "composite.png", "RGB")
    obj = _read_png(folder / "object.png", "RGB")
    logo = _read_png(folder / "logo.png", "RGBA")
    mask = _read_png(folder / "mask.png", "L") > 127
    for name, arr in (("object", obj), ("logo", logo), ("mask", mask)):
        if arr.shape[:2] != composite.shape[:2]:
            raise InputError(f"{folder}: {name}.png is not the size of composite.png")
    if not mask.any():
        raise InputError(f"{folder}: mask.png is empty")
    return Sample(composite, obj, logo, mask, name=str(folder))


def data_root(root: str, what: str) -> Path:
    """`root` as a Path; InputError when it is not a folder."""
    path = Path(root)
    if not path.is_dir():
        raise InputError(f"{what} folder not found: {root}")
    return path


def folders_holding(root: Path, files: tuple[str, ...]) -> list[Path]:
    """Every folder under `root` (itself included) that holds all of `files`, sorted (a
    stable order)."""
    first, *rest = files
    return sorted({p.parent for p in root.rglob(first)
                   if all((p.parent / f).is_file() for f in rest)})


def find_sample_folders(roots: list[str]) -> list[Path]:
    """Every folder under `roots` that holds a composite.png, sorted (a stable order)."""
    found: list[Path] = []
    for root in roots:
        folders = folders_holding(data_root(root, "data"), ("composite.png",))
        if not folders:
            raise InputError(f"no samples (composite.png, mask.png, object.png, logo.png) "
                             f"under {root}")
        found.extend(folders)
    return found


def stream_size(resolution: int) -> int:
    """Side of the generated photos: their working crop is about half the photo, so 2 S
    gives crops of about S pixels (no upscaling)."""
    return 2 * resolution


def generated_sample(seed: int, size: int = 512) -> Sample:
    """A fresh sample from the core's synthetic generator (inference.synth)."""
    try:
        from layerlift.inference.synth import generate_triplet
    except ImportError:
        raise InputError("streaming needs the synthetic generator (inference.synth), "
                         "which is not installed here") from None
    t = generate_triplet(seed, size=size)
    mask = np.asarray(t.mask).astype(bool)
    return Sample(t.composite, t.object, t.logo, mask, name=f"generated:{seed}")


def make_example(sample: Sample, size: int, rng: np.random.Generator | None = None) -> Example:
    """Cut `sample` to its working crop at S x S; augment when `rng` is given."""
    composite, obj, logo, mask = sample.composite, sample.object, sample.logo, sample.mask
    margin = DEFAULT_MARGIN
    if rng is not None:
        if rng.random() < 0.5:
            composite, obj, logo, mask = (np.ascontiguousarray(a[:, ::-1])
                                          for a in (composite, obj, logo, mask))
        margin = float(rng.uniform(*MARGIN_RANGE))
    def cut(box: CropBox) -> Panels:
        return Panels(composite=extract(composite, box, size),
                      logo_panel=logo_panel(logo, box, size),   # as the engine's compose
                      object=extract(obj, box, size),
                      alpha=extract(logo[..., 3], box, size).astype(np.float32) / 255.0,
                      box=box)

    box = working_crop(mask, margin=margin)
    # the flux engine's compose crop; a sample without any logo falls back to the mask's
    compose_box = compose_crop(logo, margin) if (logo[..., 3] > 0).any() else box
    ex = Example(
        decompose=cut(box),
        mask=extract(mask, box, size),
        compose=cut(compose_box),
        # as the flux engine's compose: alpha > 0 at photo scale, cut and resized as a mask
        support=extract(logo[..., 3] > 0, compose_box, size),
        name=sample.name,
    )
    for region in (ex.mask, ex.support):
        if not region.any():  # a tiny region can vanish when shrunk; keep the centre pixel
            region[size // 2, size // 2] = True
    if rng is not None:
        ex = _jitter_colour(ex, rng)
    return ex


def _jitter_colour(ex: Example, rng: np.random.Generator) -> Example:
    """One affine map per channel (gain g, offset o) on composite, object and logo colour,
    the same on both crops.

    The logo panel is a*L + 255*(1-a); its logo colour becomes g*L + o while the white stays
    white: panel' = g*(panel - 255*(1-a)) + o*a + 255*(1-a).
    """
    gain = rng.uniform(0.8, 1.2, size=3).astype(np.float32)
    offset = rng.uniform(-20, 20, size=3).astype(np.float32)

    def apply(img: np.ndarray) -> np.ndarray:
        return img.astype(np.float32) * gain + offset

    def jitter(p: Panels) -> Panels:
        a = p.alpha[..., None]
        white_part = 255.0 * (1.0 - a)
        panel = (p.logo_panel.astype(np.float32) - white_part) * gain + offset * a + white_part
        return Panels(composite=_to_u8(apply(p.composite)), logo_panel=_to_u8(panel),
                      object=_to_u8(apply(p.object)), alpha=p.alpha, box=p.box)

    return replace(ex, decompose=jitter(ex.decompose), compose=jitter(ex.compose))


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


class DataSource:
    """The examples of each step, a pure function of (seed, step).

    Folder samples are visited in epochs, each a fresh permutation from (seed, epoch); with
    `stream` > 0 that fraction of the picks is a new generator sample instead.
    """

    def __init__(self, folders: list[Path], size: int, seed: int, stream: float = 0.0,
                 augment: bool = True, cache_size: int = 128) -> None:
        if not folders and stream <= 0:
            raise InputError("no training data")
        self.folders = folders
        self.size = size
        self.seed = seed
        self.stream = stream if folders else 1.0
        self.augment = augment
        # A few hundred full-size samples at most: a big set would not fit in memory, and
        # reading four PNGs costs far less than a training step on a GPU.
        self._cache: OrderedDict[int, Sample] = OrderedDict()
        self._cache_size = cache_size

    def __len__(self) -> int:
        return len(self.folders)

    def sample(self, index: int) -> Sample:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        sample = read_sample(self.folders[index])
        if self._cache_size > 0:
            self._cache[index] = sample
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return sample

    def folder_index(self, position: int) -> int:
        """The folder sample at position `position` of the endless epoch sequence."""
        n = len(self.folders)
        epoch, offset = divmod(position, n)
        order = np.random.default_rng([self.seed, 1, epoch]).permutation(n)
        return int(order[offset])

    def batch(self, step: int, micro: int, batch_size: int, grad_accum: int) -> list[Example]:
        """The examples of micro-batch `micro` of optimizer step `step`."""
        rng = np.random.default_rng([self.seed, 2, step, micro])
        examples = []
        for j in range(batch_size):
            position = (step * grad_accum + micro) * batch_size + j
            if self.stream > 0 and (not self.folders or rng.random() < self.stream):
                gen_seed = int(np.random.default_rng([self.seed, STREAM_SALT, position])
                               .integers(0, 2**31 - 1))
                sample = generated_sample(gen_seed, size=stream_size(self.size))
            else:
                sample = self.sample(self.folder_index(position))
            examples.append(make_example(sample, self.size, rng if self.augment else None))
        return examples

    def fixed_set(self, count: int) -> list[Example]:
        """A fixed, unaugmented set for the logged fixed_set_loss: the first folder samples
        (training samples, so not held out), or generator samples with fixed seeds when
        training only on streamed data."""
        if self.folders:
            picks = [self.sample(i) for i in range(min(count, len(self.folders)))]
        else:
            picks = [generated_sample(10_000 + i, size=stream_size(self.size))
                     for i in range(count)]
        return [make_example(s, self.size, None) for s in picks]
