"""Which photos a batch takes, and the folder under OUT each one's layers go to."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from layerlift.inference.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
MASK_SUFFIX = ".mask.png"
# Names in OUT that are the batch's own, never a photo's folder.
MANIFEST = "manifest.jsonl"
LOCK = ".batch.lock"
RESERVED = frozenset({MANIFEST, LOCK})
GLOB_CHARS = frozenset("*?[")


def is_photo_name(path: Path) -> bool:
    """A photo by its name: an image suffix, not a STEM.mask.png, not hidden."""
    name = path.name.lower()
    return (path.suffix.lower() in IMAGE_SUFFIXES and not name.endswith(MASK_SUFFIX)
            and not name.startswith("."))


def _photos_in(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and is_photo_name(f))


def _photos_listed(listing: Path) -> list[Path]:
    try:
        lines = listing.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the list {listing}: {e}") from None
    photos = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            p = Path(line)
            photos.append(p if p.is_absolute() else listing.parent / p)
    return photos


def _photos_matching(pattern: str) -> list[Path]:
    return [Path(p) for p in sorted(glob.glob(pattern, recursive=True))
            if Path(p).is_file() and is_photo_name(Path(p))]


def _photos_of(text: str) -> list[Path]:
    """The photos one argument names: a folder's (not its subfolders'), a .txt list's, a glob's
    matches, or the file itself (a missing one fails as that photo's error, later)."""
    p = Path(text)
    if p.is_dir():
        return _photos_in(p)
    if p.suffix.lower() == ".txt":
        return _photos_listed(p)
    if not p.exists() and GLOB_CHARS & set(text):
        return _photos_matching(text)
    return [p]


def collect_photos(inputs: Sequence[str | os.PathLike], out: Path) -> list[Path]:
    """Absolute paths of the photos the arguments name, each once, in the order given.

    Files under `out` are left out (a glob over a folder holding OUT would otherwise take the
    layers written there as photos). An argument that names no photo is an InputError, so a
    mistyped glob does not pass unnoticed.
    """
    out_real = Path(os.path.realpath(out))
    photos: list[Path] = []
    seen: set[Path] = set()
    for arg in inputs:
        text = os.fspath(arg)
        found = _photos_of(text)
        if not found:
            what = ("the folder" if Path(text).is_dir() else
                    "the list" if text.lower().endswith(".txt") else "the pattern")
            raise InputError(f"no photos found in {what} {text}")
        for photo in found:
            real = Path(os.path.realpath(photo))
            if real in seen or out_real in real.parents:
                continue
            seen.add(real)
            photos.append(Path(os.path.abspath(photo)))
    if not photos:
        raise InputError("no photos found in " + ", ".join(map(os.fspath, inputs)))
    return photos


def folder_names(photos: Iterable[Path], earlier: Mapping[str, str]) -> list[str]:
    """The folder under OUT for each photo: its stem, or STEM-2, STEM-3... when taken.

    `earlier` maps a photo (absolute path) to the folder a run before this one gave it (from
    the manifest): a photo keeps its folder across runs, and a new photo never takes the
    folder of one done before. Names are compared case-folded (macOS and Windows folders are
    case-insensitive).
    """
    taken = {name.casefold() for name in earlier.values()} | {n.casefold() for n in RESERVED}
    names, used = [], set()
    for photo in photos:
        name = earlier.get(str(photo))
        if name is None or name.casefold() in used:
            stem, n = photo.stem, 2
            name = stem
            while name.casefold() in taken or name.casefold() in used:
                name, n = f"{stem}-{n}", n + 1
        used.add(name.casefold())
        names.append(name)
    return names
